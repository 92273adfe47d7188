import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger, type LogRecord, setLogSink } from "../mod.ts";
import type { Runner, TaskMonitorInfo } from "../mod.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { PlainLinesOutput } from "../observe/plain_lines.ts";
import { type DisplayOutput, RunDisplay } from "../observe/run_display.ts";
import { resolveTopOptions } from "../observe/task_table.ts";
import { TerminalOutput } from "../observe/terminal.ts";
import { screenOf } from "./_vt.ts";

const info = (
  name: string,
  startMs: number,
  extra: Partial<TaskMonitorInfo> = {},
): TaskMonitorInfo => ({
  name,
  status: "running",
  pid: 100,
  threadId: null,
  start: new Date(startMs),
  cpuPercent: 50,
  rssBytes: 2048,
  children: null,
  ...extra,
});

function fakeRunner(infos: () => TaskMonitorInfo[]): Runner {
  return { getTaskInfos: infos } as unknown as Runner;
}

/** Runs a scripted run (2 Train tasks, 1 Eval) through `output` with a fake clock. */
function scriptedRun(output: DisplayOutput, clock: { now: number }): void {
  const display = new RunDisplay(output, {
    progress: true,
    table: resolveTopOptions({ format: "{name} {status} {pid} {cpu} {rss}" }),
    clock: () => clock.now,
  });
  let running = [info("Train[00]", 0), info("Train[01]", 0)];
  const runner = fakeRunner(() => running);
  display.start(new Map([["Train", 2], ["Eval", 1]]));
  const log = createLogger("Train[00]");
  clock.now = 1000;
  log.info("epoch 1");
  display.update(runner);
  clock.now = 2000;
  display.taskDone("Train", { cached: true, failed: false });
  running = [info("Train[01]", 0)];
  display.update(runner);
  clock.now = 3000;
  createLogger("Train[01]").warn("slow");
  display.taskDone("Train", { cached: false, failed: false });
  running = [info("Eval[00]", 3000)];
  display.update(runner);
  clock.now = 4000;
  display.taskDone("Eval", { cached: false, failed: true });
  running = [];
  display.update(runner);
  display.end();
}

test("plain output: periodic lines, log lines as they come, no escapes", () => {
  let text = "";
  const clock = { now: 0 };
  const previous = setLogSink(() => {}); // stands in for the default console sink
  setLogSink(previous);
  scriptedRun(new PlainLinesOutput((t) => (text += t), { progressMs: 2000, tableMs: 2000 }), clock);
  assert.ok(!text.includes("\x1b"));
  assert.equal(
    text,
    [
      "Train[00]: INFO: epoch 1",
      "Train  1/2  00:02    0.50/s |############------------|  50%  eta 00:02  (1 cached)",
      "Eval   0/1  00:02    0.00/s |------------------------|   0%  eta --:--",
      "Running tasks: 1",
      "NAME      STATUS  PID CPU   RSS",
      "Train[01] running 100 50.0% 2.0 KiB",
      "Train[01]: WARN: slow",
      "Train  2/2  00:03    0.67/s |########################| 100%  eta 00:00  (1 cached)",
      "Eval   1/1  00:04    0.25/s |########################| 100%  eta 00:00  (1 failed)",
      "",
    ].join("\n"),
  );
});

test("the display owns only the default console sink and gives it back", () => {
  const records: LogRecord[] = [];
  const previous = setLogSink((r) => records.push(r));
  try {
    let text = "";
    scriptedRun(new PlainLinesOutput((t) => (text += t)), { now: 0 });
    // A custom sink keeps receiving the run's log lines, in order.
    assert.deepEqual(records.map((r) => r.message), ["epoch 1", "slow"]);
    assert.doesNotMatch(text, /epoch 1/);
  } finally {
    setLogSink(previous);
  }
});

function fakeTerminal(columns = 120): { adapter: RuntimeAdapter; output: () => string } {
  let written = "";
  const adapter = {
    write: (_stream: string, text: string) => void (written += text),
    terminalColumns: () => columns,
  } as unknown as RuntimeAdapter;
  return { adapter, output: () => written };
}

test("terminal output: bars redraw in place, log lines land above them, in order", () => {
  const { adapter, output } = fakeTerminal();
  // The real clock drives cli-progress; the fake one drives the display's throttle.
  scriptedRun(new TerminalOutput(adapter), { now: 0 });
  const raw = output();
  // deno-lint-ignore no-control-regex
  assert.match(raw, /\x1b\[\d*[AG]/); // it moved the cursor, i.e. redrew in place
  const screen = screenOf(raw);
  assert.equal(screen.length, 4, screen.join("\n"));
  assert.equal(screen[0], "Train[00]: INFO: epoch 1");
  assert.equal(screen[1], "Train[01]: WARN: slow");
  assert.match(
    screen[2]!,
    /^Train +2\/2 +\d\d:\d\d +\S+ \|█{24}\| 100% {2}eta 00:00 {2}\(1 cached\)$/,
  );
  assert.match(screen[3]!, /^Eval +1\/1 .*\|█{24}\| 100% .*\(1 failed\)$/);
});

test("terminal output: the task table shows below the bars while tasks run", () => {
  const { adapter, output } = fakeTerminal();
  const output_ = new TerminalOutput(adapter);
  const types = [{ name: "Train", total: 2, done: 0, cached: 0, failed: 0, finishedAt: null }];
  output_.render({ startedAt: 0, now: 0, types, table: ["Running tasks: 1", "NAME", "Train[00]"] });
  output_.log("labtech: INFO: hello");
  output_.render({ startedAt: 0, now: 0, types, table: ["Running tasks: 1", "NAME", "Train[00]"] });
  const screen = screenOf(output());
  assert.equal(screen[0], "labtech: INFO: hello");
  assert.match(screen[1]!, /^Train +0\/2/);
  assert.deepEqual(screen.slice(2), ["Running tasks: 1", "NAME", "Train[00]"]);
  types[0]!.done = 2;
  output_.end({ startedAt: 0, now: 0, types, table: [] });
  const final = screenOf(output());
  assert.equal(final.length, 2, final.join("\n"));
  assert.match(final[1]!, /^Train +2\/2/);
});

test("update is cheap: the table is read at most twice a second", () => {
  let reads = 0;
  const clock = { now: 0 };
  const display = new RunDisplay(new PlainLinesOutput(() => {}), {
    progress: true,
    table: resolveTopOptions(true),
    clock: () => clock.now,
  });
  const runner = fakeRunner(() => (reads++, []));
  display.start(new Map([["T", 1000]]));
  for (let i = 0; i < 1000; i++) {
    clock.now = i; // one second in 1 ms steps
    display.taskDone("T", { cached: false, failed: false });
    display.update(runner);
  }
  display.end();
  assert.equal(reads, 2);
});

test("notebook output: one display, then updates of it in place", async () => {
  const { NotebookOutput } = await import("../observe/notebook.ts");
  const sent: Array<[string, Record<string, unknown>]> = [];
  const jupyter = {
    broadcast: (type: string, content: Record<string, unknown>) => {
      sent.push([type, content]);
      return Promise.resolve();
    },
  };
  const { adapter, output } = fakeTerminal();
  scriptedRun(new NotebookOutput(jupyter, adapter), { now: 0 });
  assert.deepEqual(sent.map(([type]) => type), [
    "display_data",
    ...Array(sent.length - 1).fill("update_display_data"),
  ]);
  const ids = new Set(sent.map(([, c]) => (c.transient as { display_id: string }).display_id));
  assert.equal(ids.size, 1);
  const last = sent.at(-1)![1].data as Record<string, string>;
  assert.match(last["text/html"]!, /<progress value="2" max="2">/);
  assert.match(last["text/plain"]!, /^Train +2\/2 /);
  assert.match(output(), /^Train\[00\]: INFO: epoch 1\nTrain\[01\]: WARN: slow\n$/);
});
