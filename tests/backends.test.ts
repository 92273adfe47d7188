/**
 * End-to-end tests of the thread, spawn and fork backends through a Lab, on
 * whichever runtime runs this file: pipelines, dedup, context, maxParallel,
 * failure isolation (throw, exit, kill), cancel, stop, logs, and task types
 * defined beside the Lab.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  detectRuntime,
  Lab,
  LabError,
  type LogRecord,
  MemoryStorage,
  RunnerError,
  type RunnerName,
  setLogSink,
} from "../mod.ts";
import { resolveBackend } from "../runners/backends.ts";
import { captureFailure, captureLogs, tempDir } from "./_helpers.ts";
import { besideUnguarded } from "./fixtures/workers/beside_unguarded.ts";
import {
  big,
  bigSum,
  contextKeys,
  counted,
  exclusive,
  hog,
  job,
  limited,
  link,
  reader,
  sabWriter,
  sum,
  where,
} from "./fixtures/workers/tasks.ts";

const BACKENDS: RunnerName[] = ["thread", "spawn", "fork"];
const quiet = { progress: false } as const;
const runtime = detectRuntime();

/** Resolves on the first log record matching `predicate`, while the sink is installed. */
function logLatch(predicate: (record: LogRecord) => boolean): {
  seen: Promise<void>;
  restore: () => void;
  logs: LogRecord[];
} {
  const logs: LogRecord[] = [];
  let release!: () => void;
  const seen = new Promise<void>((resolve) => release = resolve);
  const previous = setLogSink((record) => {
    logs.push(record);
    if (predicate(record)) release();
  });
  return { seen, logs, restore: () => setLogSink(previous) };
}

for (const backend of BACKENDS) {
  const isProcess = backend !== "thread";
  // Where a worker's heap can be capped; elsewhere a limit fails its task with a RunnerError.
  const heapLimited = runtime === "node" || (runtime === "deno" && isProcess);
  const noLimit = /Cannot run WorkerLimited\[00\] with \w+\.maxHeapMb 256: .*no( hard)? heap limit/;

  describe(`${backend} backend on ${runtime}`, () => {
    test("runs a pipeline once per distinct task, reuses workers, caches in LocalStorage", async () => {
      const { dir, cleanup } = tempDir();
      try {
        const log = join(dir, "runs.log");
        writeFileSync(log, "");
        const lab = new Lab({ storage: join(dir, "store"), runner: backend, maxWorkers: 2 });
        const deps = [1, 2, 3].map((x) => counted({ x, log }));
        const tasks = [
          sum({ deps, add: 10 }),
          sum({ deps: [1, 2, 3].map((x) => counted({ x, log })), add: 10 }),
          counted({ x: 1, log }),
          ...[0, 1, 2, 3, 4, 5].map((i) => where({ i })),
        ];
        const first = await lab.runTasks(tasks, quiet);
        assert.deepEqual([...first.values()].slice(0, 3), [16, 16, 1]);
        assert.deepEqual(readFileSync(log, "utf8").trim().split("\n").sort(), ["1", "2", "3"]);
        const pids = new Set([...first.values()].slice(3).map((r) => (r as { pid: number }).pid));
        assert.ok(pids.size <= 2, `ran on ${pids.size} processes`);
        if (isProcess) assert.ok(!pids.has(process.pid));
        else assert.deepEqual([...pids], [process.pid]);
        const second = await lab.runTasks(tasks, quiet);
        assert.deepEqual([...second.values()].slice(0, 3), [16, 16, 1]);
        assert.equal(readFileSync(log, "utf8").trim().split("\n").length, 3, "ran again");
        assert.equal(await lab.isCached(deps[0]!), true);
      } finally {
        cleanup();
      }
    });

    test("a MemoryStorage is loaded and saved on the Lab's side", async () => {
      const storage = new MemoryStorage();
      const lab = new Lab({ storage, runner: backend, maxWorkers: 2 });
      const tasks = [4, 5].map((x) => job({ x, ms: 0, fail: null }));
      assert.deepEqual([...(await lab.runTasks(tasks, quiet)).values()], [4, 5]);
      assert.equal(await lab.isCached(tasks[0]!), true);
      assert.deepEqual([...(await lab.runTasks(tasks, quiet)).values()], [4, 5]);
    });

    test("hands a large dependency result to its dependent", async () => {
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 2 });
      const n = 655_360; // 5 MiB of doubles
      assert.deepEqual(await lab.runTask(bigSum({ data: big({ n }) }), quiet), [n, n - 1]);
    });

    test("runs a deep chain, sending each task to a worker once", async () => {
      let last = link({ prev: null });
      for (let i = 1; i < 1500; i++) last = link({ prev: last });
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 2 });
      assert.equal(await lab.runTask(last, quiet), 1499);
    });

    test("filters the context per task and labels output with the task's name", async () => {
      const lab = new Lab({
        storage: null,
        runner: backend,
        maxWorkers: 1,
        context: { a: 1, b: { nested: [2] } },
      });
      const { value, logs } = await captureLogs(() =>
        lab.runTasks([reader({ key: "a" }), contextKeys({})], quiet)
      );
      assert.deepEqual([...value.values()], [{ keys: ["value"], value: 1 }, ["a", "b"]]);
      const lines = logs.filter((r) => r.source === "WorkerReader[00]").map((r) => r.message);
      assert.ok(lines.includes("reading a"), `console line missing: ${lines}`);
      assert.ok(lines.includes("context keys value"), `logger line missing: ${lines}`);
      // Web Workers (Deno, Bun) share the process's stdout: only the console is captured.
      if (isProcess || runtime === "node") {
        await waitFor(() => logs.some((r) => r.message === "raw a"));
      }
    });

    if (!isProcess) {
      test("shares a SharedArrayBuffer in the context instead of copying it", async () => {
        const sab = new SharedArrayBuffer(4);
        const lab = new Lab({ storage: null, runner: backend, maxWorkers: 1, context: { sab } });
        assert.equal(await lab.runTask(sabWriter({}), quiet), true);
        assert.equal(Atomics.load(new Int32Array(sab), 0), 42);
      });
    }

    test("keeps a type's maxParallel", async () => {
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 3 });
      const results = await lab.runTasks([0, 1, 2].map((i) => exclusive({ i })), quiet);
      const spans = [...results.values()].sort((a, b) => a[0]! - b[0]!);
      for (let i = 1; i < spans.length; i++) {
        assert.ok(spans[i]![0]! >= spans[i - 1]![1]!, `overlap: ${JSON.stringify(spans)}`);
      }
    });

    test("a task that throws, exits or is killed fails alone; the pool goes on", async () => {
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 1 });
      const failures = [
        job({ x: 1, ms: 0, fail: "exit" }),
        job({ x: 2, ms: 0, fail: null }),
        job({ x: 3, ms: 0, fail: "throw" }),
        job({ x: 4, ms: 0, fail: null }),
        ...(isProcess
          ? [job({ x: 5, ms: 0, fail: "kill" }), job({ x: 6, ms: 0, fail: null })]
          : []),
      ];
      const { error } = await captureFailure(() => lab.runTasks(failures, quiet));
      assert.ok(error instanceof LabError);
      assert.equal(error.failed, isProcess ? 3 : 2);
      const byName = new Map(error.causes.map(([name, cause]) => [name, cause]));
      assert.match(byName.get("WorkerJob[00]")!.message, /ended while running it.*exit.*code 7/);
      assert.ok(byName.get("WorkerJob[00]") instanceof RunnerError);
      assert.equal(byName.get("WorkerJob[02]")!.name, "TypeError");
      assert.equal(byName.get("WorkerJob[02]")!.message, "job 3 threw");
      assert.match(byName.get("WorkerJob[02]")!.stack ?? "", /tasks\.(ts|js)/);
      if (isProcess) assert.match(byName.get("WorkerJob[04]")!.message, /SIGKILL|killed/);
      assert.equal(failures[1]!.result, 2);
      assert.equal(failures[3]!.result, 4);
      if (isProcess) assert.equal(failures[5]!.result, 6);
    });

    test("a task that runs out of memory fails alone, saying so; the pool goes on", async () => {
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 1 });
      const tasks = [hog({ mb: 64 }), job({ x: 2, ms: 0, fail: null })] as const;
      const { error } = await captureFailure(() => lab.runTasks([...tasks], quiet));
      assert.ok(error instanceof LabError);
      assert.equal(error.failed, 1);
      const [name, cause] = error.causes[0]!;
      assert.equal(name, "WorkerHog[00]");
      assert.ok(cause instanceof RunnerError);
      if (heapLimited) {
        assert.match(cause.message, /ended while running it: it ran out of memory/);
        assert.match(cause.message, /\(its heap limit is 64 MB\)/);
      } else {
        assert.match(cause.message, /Cannot run WorkerHog\[00\] with \w+\.maxHeapMb 64: /);
      }
      assert.equal(tasks[1].result, 2);
    });

    test("runnerOptions: a limited task gets a worker of its own; bad options fail it", async () => {
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 1 });
      const [before, after] = [where({ i: 10 }), where({ i: 11 })];
      const own = limited({ options: { [backend]: { maxHeapMb: 256 } } });
      const others = limited({ options: { serial: { anything: 1 }, custom: { gpus: 1 } } });
      const tasks = [
        before,
        own,
        limited({ options: { fork: { maxHeap: 256 } } }),
        limited({ options: { spawn: { maxHeapMb: 0 } } }),
        others,
        after,
      ];
      const { error } = await captureFailure(() => lab.runTasks(tasks, quiet));
      assert.ok(error instanceof LabError);
      assert.equal(error.failed, heapLimited ? 2 : 3);
      const byName = new Map(error.causes.map(([name, cause]) => [name, cause]));
      const unknown = byName.get("WorkerLimited[01]")!;
      assert.ok(unknown instanceof TypeError);
      assert.match(unknown.message, /"fork" has an unknown key: received "maxHeap"/);
      const zero = byName.get("WorkerLimited[02]")!;
      assert.ok(zero instanceof RangeError);
      assert.match(zero.message, /spawn\.maxHeapMb must be a positive integer: received 0/);
      const shared = [before.result.pid, after.result.pid, others.result];
      if (heapLimited) {
        if (isProcess) assert.ok(!shared.includes(own.result), `ran on a shared worker`);
        else assert.equal(own.result, process.pid);
      } else {
        assert.ok(byName.get("WorkerLimited[00]") instanceof RunnerError);
        assert.match(byName.get("WorkerLimited[00]")!.message, noLimit);
      }
    });

    test("an abort cancels tasks not started and lets running ones finish", async () => {
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 1 });
      const tasks = [1, 2, 3].map((x) => job({ x, ms: 200, fail: null }));
      const controller = new AbortController();
      const latch = logLatch((r) => r.message === "started 1");
      void latch.seen.then(() => controller.abort());
      try {
        await assert.rejects(
          lab.runTasks(tasks, { ...quiet, signal: controller.signal }),
          (error: LabError) => error.failed === 0 && error.skipped === 2,
        );
      } finally {
        latch.restore();
      }
      assert.equal(tasks[0]!.result, 1);
    });

    test("stop() ends a running task, which comes back failed; close() leaves nothing", async () => {
      const runner = await (await resolveBackend(backend)).buildRunner({
        context: {},
        storage: new MemoryStorage(),
        maxWorkers: 2,
      });
      const latch = logLatch((r) => r.message === "started 9");
      try {
        const long = job({ x: 9, ms: 60_000, fail: null });
        runner.submitTask(long, "WorkerJob[09]", false);
        assert.equal(runner.pendingTaskCount(), 1);
        await latch.seen;
        const [info] = runner.getTaskInfos();
        assert.equal(info?.name, "WorkerJob[09]");
        assert.equal(info?.status, "running");
        if (isProcess) assert.notEqual(info?.pid, process.pid);
        assert.ok(info?.start instanceof Date);
        const began = Date.now();
        await runner.stop();
        const outcomes = await runner.wait({ timeoutMs: 5_000 });
        assert.equal(outcomes.length, 1);
        assert.match((outcomes[0]![1] as Error).message, /Stopped WorkerJob\[09\]/);
        assert.ok(Date.now() - began < 5_000);
        assert.equal(runner.pendingTaskCount(), 0);
        assert.deepEqual(runner.getTaskInfos(), []);
      } finally {
        latch.restore();
        await runner.close();
        await runner.close();
      }
    });

    test("a task type beside an unguarded Lab fails at once, saying how to fix it", async () => {
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 1 });
      const { error } = await captureFailure(() =>
        lab.runTasks([besideUnguarded({ x: 1 })], quiet)
      );
      assert.ok(error instanceof LabError);
      assert.match(error.causes[0]![1].message, /Cannot create a Lab inside a labtech worker/);
      assert.match(error.causes[0]![1].message, /import\.meta\.main/);
    });

    test("a task type beside a guarded Lab in the main script works", async () => {
      const ext = import.meta.url.endsWith(".js") ? ".js" : ".ts";
      const script = fileURLToPath(
        new URL(`./fixtures/workers/beside_main${ext}`, import.meta.url),
      );
      const args = runtime === "deno" ? ["run", "-A", script, backend] : [script, backend];
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          args,
          { timeout: 60_000 },
          (error, out, err) => error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
        )
      );
      assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1)!), [1, 4, 9]);
    });
  });
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error("Timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
