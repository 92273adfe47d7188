/**
 * The display end to end: a scripted run in a child process of this runtime,
 * with stderr piped (plain lines) and on a pseudo-terminal made by `script`
 * (bars redrawn in place), on the in-process and worker backends.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { detectRuntime } from "../mod.ts";
import { screenOf } from "./_vt.ts";

const runtime = detectRuntime();
const ext = import.meta.url.endsWith(".js") ? ".js" : ".ts";
const fixture = fileURLToPath(new URL(`./fixtures/observe_run${ext}`, import.meta.url));
const command = (runner: string) =>
  runtime === "deno"
    ? [process.execPath, "run", "-A", fixture, runner]
    : [process.execPath, fixture, runner];

function run(argv: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    )
  );
}

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
const hasScript = spawnSync("script", ["--version"]).status === 0;

/** Each task's lines appear once, in order: start, console output, end. */
function assertTaskLogs(
  lines: readonly string[],
  consoleAs: string | null = "ObsTrain\\[0\\d\\]: INFO: ",
): void {
  for (const i of [0, 1, 2, 3]) {
    const at = (message: string, prefix = "ObsTrain\\[0\\d\\]: INFO: ") => {
      const found = lines.flatMap((line, index) =>
        new RegExp(`^${prefix}${message}$`).test(line) ? [index] : []
      );
      assert.equal(found.length, 1, `"${message}" should appear once in:\n${lines.join("\n")}`);
      return found[0]!;
    };
    const start = at(`start ${i}`);
    const consoleLine = consoleAs === null ? start + 0.5 : at(`console ${i}`, consoleAs);
    const end = at(`end ${i}`);
    assert.ok(start < consoleLine && consoleLine < end, `order of task ${i}`);
    const name = lines[start]!.slice(0, lines[start]!.indexOf(":"));
    assert.ok(lines[end]!.startsWith(`${name}:`), "the same task name labels all its lines");
  }
}

function assertFinalBars(lines: readonly string[]): void {
  assert.ok(lines.some((l) => /^ObsTrain +4\/4 .*\| 100% {2}eta 00:00$/.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => /^ObsEval +1\/1 .*\| 100% {2}eta 00:00$/.test(l)), lines.join("\n"));
}

describe("display end to end", { timeout: 120_000 }, () => {
  for (const runner of ["serial", "thread", "spawn"]) {
    test(`${runner}: without a terminal, plain lines and no escape codes`, async () => {
      const { stdout, stderr } = await run(command(runner));
      assert.equal(stdout.trim().split("\n").at(-1), "[6]");
      assert.ok(!stderr.includes("\x1b"), `escape codes in:\n${stderr}`);
      const lines = stderr.split("\n");
      if (runner === "serial") {
        // In-process tasks write to this process's own stdout; workers' output is captured.
        const out = stdout.trim().split("\n");
        assert.deepEqual(out.slice(0, -1).sort(), [
          "console 0",
          "console 1",
          "console 2",
          "console 3",
        ]);
        assertTaskLogs(lines, null);
      } else assertTaskLogs(lines);
      assertFinalBars(lines);
    });
  }

  for (const runner of ["serial", "thread"]) {
    test(`${runner}: on a terminal, bars redraw in place below the log lines`, {
      skip: hasScript ? false : "`script` (util-linux) is not installed",
    }, async () => {
      const shell = `stty cols 150 rows 40; ${command(runner).map(quote).join(" ")}`;
      const { stdout } = await run(["script", "-qec", shell, "/dev/null"]);
      assert.ok(new RegExp("\x1b\\[\\d*A").test(stdout), "no cursor-up: not redrawn");
      assert.match(stdout, /Running tasks: \d/, "the task table was never shown");
      const screen = screenOf(stdout);
      assert.equal(screen.at(-1), "[6]");
      // What stays on screen: the log lines, then the final bars; no torn frames or table rows.
      const body = screen.slice(0, -1);
      // In-process console lines are printed above the bars too, as written.
      assertTaskLogs(body, runner === "serial" ? "" : undefined);
      assertFinalBars(body.slice(-2));
      const logs = body.slice(0, -2);
      assert.equal(logs.length, 13, body.join("\n"));
      for (const line of logs) assert.match(line, /^(Obs(Train|Eval)\[0\d\]: INFO: |console \d$)/);
    });
  }
});
