/**
 * Ctrl-C on a real process: the first SIGINT cancels tasks not yet started and
 * waits for the running one (whose result is cached); a second stops it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { detectRuntime } from "../mod.ts";
import { tempDir } from "./_helpers.ts";

const runtime = detectRuntime();
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const script = fileURLToPath(new URL(`./fixtures/interrupt/run${ext}`, import.meta.url));

interface Outcome {
  outcome: string;
  message?: string;
  failed?: number;
  skipped?: number;
}

/** Starts the script, sends SIGINT once the first task has started (and again after `secondAfterMs`). */
async function interrupt(
  runner: string,
  dir: string,
  firstMs: number,
  secondAfterMs: number | null,
  sync = false,
) {
  const args = runtime === "deno" ? ["run", "-A", script] : [script];
  const child = spawn(process.execPath, [...args, runner, dir, String(firstMs)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, INTERRUPT_SYNC: sync ? "1" : "0" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => stdout += chunk);
  child.stderr!.on("data", (chunk) => stderr += chunk);
  const exited = new Promise<string>((resolve) =>
    child.on("exit", (code, signal) => resolve(`${code} ${signal}`))
  );
  const begin = Date.now();
  while (!existsSync(join(dir, "started-0"))) {
    if (Date.now() - begin > 30_000) {
      child.kill("SIGKILL");
      throw new Error(`the first task never started:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.kill(child.pid!, "SIGINT");
  if (secondAfterMs !== null) {
    await new Promise((resolve) => setTimeout(resolve, secondAfterMs));
    process.kill(child.pid!, "SIGINT");
  }
  const code = await exited;
  const seconds = (Date.now() - begin) / 1000;
  const last = stdout.trim().split("\n").at(-1) ?? "";
  // Deno's node:child_process reports a signal sent to the child as the cause of its exit even
  // when the child handled it and exited normally (and ignores a second child.kill, hence
  // process.kill above), so there the printed outcome is the proof.
  if (runtime !== "deno") {
    assert.equal(code, "0 null", `the script should end normally:\n${stdout}\n${stderr}`);
  }
  return { outcome: JSON.parse(last) as Outcome, stderr, seconds };
}

for (const runner of ["serial", "thread", "fork"]) {
  describe(`SIGINT on the ${runner} runner`, () => {
    // A synchronous task never yields: the in-process runners yield between tasks instead.
    for (const sync of runner === "serial" ? [false, true] : [false]) {
      const what = sync ? " (synchronous tasks)" : "";
      test(`the first cancels tasks not started and waits for the running one${what}`, async () => {
        const { dir, cleanup } = tempDir();
        try {
          const { outcome, stderr } = await interrupt(runner, dir, 1_500, null, sync);
          assert.equal(outcome.outcome, "LabError");
          assert.match(outcome.message!, /interrupted/);
          assert.equal(outcome.failed, 0);
          assert.equal(outcome.skipped, 4);
          assert.match(stderr, /Interrupted: cancelling tasks not yet started/);
          const started = readdirSync(dir).filter((name) => name.startsWith("started-"));
          assert.deepEqual(started, ["started-0"]);
          const stored = readdirSync(join(dir, "store")).filter((name) => !name.startsWith("."));
          assert.equal(stored.length, 1, "the task that was running finished and was cached");
        } finally {
          cleanup();
        }
      });
    }

    test("a second stops the running task", async () => {
      const { dir, cleanup } = tempDir();
      try {
        const { outcome, stderr, seconds } = await interrupt(runner, dir, 60_000, 300);
        assert.equal(outcome.outcome, "LabError");
        assert.match(outcome.message!, /interrupted/);
        assert.equal(outcome.failed, 1, "the stopped task counts as failed");
        assert.equal(outcome.skipped, 4);
        assert.match(stderr, /Interrupted again: stopping running tasks/);
        // One line per stopped task, no stack trace: the run's LabError is the summary.
        assert.match(stderr, /Stopped InterruptSleeper\[00\] while it was running/);
        assert.doesNotMatch(stderr, /^\s+at /m);
        assert.ok(seconds < 30, `stopping took ${seconds}s`);
        const store = join(dir, "store");
        const stored = existsSync(store)
          ? readdirSync(store).filter((n) => !n.startsWith("."))
          : [];
        assert.deepEqual(stored, [], "a stopped task's result is not cached");
      } finally {
        cleanup();
      }
    });
  });
}
