import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger, type LogRecord, setLogSink } from "../mod.ts";
import type { Runner, TaskMonitorInfo } from "../mod.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { PlainLinesOutput } from "../observe/plain_lines.ts";
import { type DisplayOutput, type DisplaySnapshot, RunDisplay } from "../observe/run_display.ts";
import { progressFigures } from "../observe/progress_lines.ts";
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
      "Eval   0/1  00:00       ?/s |------------------------|   0%  eta --:--",
      "Running tasks: 1",
      "NAME      STATUS  PID CPU   RSS",
      "Train[01] running 100 50.0% 2.0 KiB",
      "Train[01]: WARN: slow",
      "Train  2/2  00:03    0.67/s |########################| 100%  eta 00:00  (1 cached)",
      "Eval   1/1  00:01    1.00/s |########################| 100%  eta 00:00  (1 failed)",
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
  const types = [
    { name: "Train", total: 2, done: 0, cached: 0, failed: 0, finishedAt: null, startedAt: 0 },
  ];
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

for (const returns of ["a promise", "undefined (as in a real kernel)", "a rejection"]) {
  test(`notebook output: one display updated in place, logs as stream messages; broadcast returns ${returns}`, async () => {
    const { NotebookOutput } = await import("../observe/notebook.ts");
    const sent: Array<[string, Record<string, unknown>]> = [];
    const jupyter = {
      broadcast: (type: string, content: Record<string, unknown>) => {
        sent.push([type, content]);
        return (returns === "a promise"
          ? Promise.resolve()
          : returns === "a rejection"
          ? Promise.reject(new Error("closed"))
          : undefined) as Promise<void>;
      },
    };
    scriptedRun(new NotebookOutput(jupyter), { now: 0 });
    const displays = sent.filter(([type]) => type !== "stream");
    assert.deepEqual(displays.map(([type]) => type), [
      "display_data",
      ...Array(displays.length - 1).fill("update_display_data"),
    ]);
    const ids = new Set(
      displays.map(([, c]) => (c.transient as { display_id: string }).display_id),
    );
    assert.equal(ids.size, 1);
    const last = displays.at(-1)![1].data as Record<string, string>;
    assert.match(last["text/html"]!, /<progress value="2" max="2">/);
    assert.match(last["text/plain"]!, /^Train +2\/2 /);
    assert.deepEqual(sent.filter(([type]) => type === "stream").map(([, c]) => c), [
      { name: "stderr", text: "Train[00]: INFO: epoch 1\n" },
      { name: "stderr", text: "Train[01]: WARN: slow\n" },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 0)); // a rejection would surface here
  });
}

test("a display that throws is turned off and gives the log lines back", () => {
  const records: string[] = [];
  const failing: DisplayOutput = {
    minIntervalMs: 0,
    render: () => {
      throw new TypeError("Cannot read properties of undefined (reading 'catch')");
    },
    log: () => assert.fail("the broken display must not receive log lines"),
    end: () => assert.fail("the broken display is not drawn again"),
  };
  // Stands in for the default console sink: swap it for a recording one only after.
  const previous = setLogSink(() => {});
  setLogSink(previous);
  const display = new RunDisplay(failing, { progress: true, table: null, clock: () => 0 });
  display.start(new Map([["T", 1]]));
  const current = setLogSink((r) => records.push(`${r.source}: ${r.message}`));
  try {
    createLogger("T[00]").info("after the failure");
    display.end();
    assert.deepEqual(records, ["T[00]: after the failure"]);
    assert.equal(current, previous, "the console sink was restored at once");
  } finally {
    setLogSink(previous);
  }
});

test("notebook: true outside Deno's Jupyter kernel is refused before anything runs", async () => {
  const { createRunDisplay } = await import("../observe/run_display.ts");
  const adapter = { jupyter: () => null, isTerminal: () => false } as unknown as RuntimeAdapter;
  await assert.rejects(
    createRunDisplay({ options: { notebook: true }, adapter }),
    (e: Error) => e instanceof TypeError && /not running in Deno's Jupyter kernel/.test(e.message),
  );
  assert.notEqual(await createRunDisplay({ options: { notebook: false }, adapter }), null);
});

/** A display output that keeps every snapshot it is shown. */
function snapshots(): { output: DisplayOutput; last: () => DisplaySnapshot } {
  const seen: DisplaySnapshot[] = [];
  const output: DisplayOutput = {
    minIntervalMs: 0,
    render: (snapshot) => void seen.push(structuredClone(snapshot)),
    log: () => {},
    end: (snapshot) => void seen.push(structuredClone(snapshot)),
  };
  return { output, last: () => seen.at(-1)! };
}

test("time left per type comes from that type's own rate since it started", () => {
  const clock = { now: 0 };
  const { output, last } = snapshots();
  const display = new RunDisplay(output, { progress: true, table: null, clock: () => clock.now });
  let running: TaskMonitorInfo[] = [info("Load[00]", 0)];
  const runner = fakeRunner(() => running);
  display.start(new Map([["Load", 10], ["Fit", 4], ["Quick", 2]]));
  for (let i = 1; i <= 10; i++) {
    clock.now = i * 1000;
    display.taskDone("Load", { cached: false, failed: false });
    running = i < 10 ? [info(`Load[0${i}]`, i * 1000)] : [info("Fit[00]", 10_000)];
    display.update(runner);
  }
  clock.now = 11_000;
  display.taskDone("Quick", { cached: false, failed: false }); // never seen: since the last done
  display.taskDone("Fit", { cached: false, failed: false }); // seen running since 10 s
  display.update(runner);
  const byName = new Map(last().types.map((p) => [p.name, progressFigures(p, clock.now)]));
  assert.equal(byName.get("Load")!.elapsedSeconds, 10);
  // One Fit task in its first second: 3 left at 1/s, not at 1 per 11 s of run.
  assert.deepEqual(
    [byName.get("Fit")!.elapsedSeconds, byName.get("Fit")!.remainingSeconds],
    [1, 3],
  );
  assert.deepEqual([byName.get("Quick")!.perSecond, byName.get("Quick")!.remainingSeconds], [1, 1]);
  display.end();
});

test("count columns are padded so the bars of every type line up", () => {
  let text = "";
  const display = new RunDisplay(new PlainLinesOutput((t) => (text += t)), {
    progress: true,
    table: null,
    clock: () => 0,
  });
  display.start(new Map([["A", 5], ["LongerName", 100], ["B", 12]]));
  display.taskDone("LongerName", { cached: false, failed: false });
  display.taskDone("A", { cached: false, failed: false });
  display.taskDone("B", { cached: false, failed: false });
  display.end();
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.map((l) => l.indexOf("|")), Array(3).fill(lines[0]!.indexOf("|")));
  assert.match(lines[0]!, /^A {11} {4}1\/5 /);
});

for (const columns of [50, 80]) {
  test(`terminal at ${columns} columns: no residue after wrapped and multi-line logs and a Ctrl-C echo`, () => {
    const { adapter, output } = fakeTerminal(columns);
    const terminal = new TerminalOutput(adapter);
    const started = Date.now();
    const types = [
      {
        name: "Train",
        total: 12,
        done: 0,
        cached: 0,
        failed: 0,
        finishedAt: null,
        startedAt: started,
      },
      {
        name: "Evaluate",
        total: 3,
        done: 0,
        cached: 0,
        failed: 0,
        finishedAt: null,
        startedAt: null,
      },
    ] as Array<DisplaySnapshot["types"][number]>;
    const table = (n: number) => [
      `Running tasks: ${n}`,
      "NAME       STATUS   PID    START     ELAPSED  CPU     RSS       CHILDREN",
      ...Array.from(
        { length: n },
        (_, i) => `Train[0${i}]  running  4242  12:00:00  00:01    99.0%   56.6 MiB  -`,
      ),
    ];
    const snap = (n: number) => ({ startedAt: started, now: Date.now(), types, table: table(n) });
    const long = `Train[00]: INFO: ${"a long line that goes on ".repeat(6)}end`;
    const multi =
      "labtech: ERROR: Task Train[01] failed: Error: boom\n    at run (tasks.ts:3:9)\n    at x";
    terminal.render(snap(3));
    terminal.log(long);
    terminal.render(snap(3));
    types[0]!.done = 5;
    terminal.log(multi);
    terminal.render(snap(2));
    let raw = output() + "^C"; // what the terminal echoes at the cursor on Ctrl-C
    terminal.log("labtech: WARN: Interrupted: cancelling tasks not yet started");
    types[0]!.done = 12;
    types[0]!.finishedAt = Date.now();
    terminal.render(snap(1));
    terminal.end({ ...snap(0), table: [] });
    raw += output().slice(raw.length - 2);
    const wrap = (line: string) =>
      line.match(new RegExp(`.{1,${columns}}`, "g"))!.map((row) => row.trimEnd());
    const logRows = [
      long,
      ...multi.split("\n"),
      "labtech: WARN: Interrupted: cancelling tasks not yet started",
    ]
      .flatMap(wrap);
    const screen = screenOf(raw, columns);
    assert.deepEqual(screen.slice(0, logRows.length), logRows, screen.join("\n"));
    const bars = screen.slice(logRows.length);
    assert.equal(bars.length, 2, screen.join("\n"));
    assert.match(bars[0]!, /^Train {5}12\/12 .*\|█+\| 100% {2}eta 00:00$/);
    assert.match(bars[1]!, /^Evaluate {4}0\/3 .*\|░+\| {3}0% {2}eta --:--$/);
    for (const bar of bars) assert.ok(bar.length <= columns - 3, bar);
  });
}
