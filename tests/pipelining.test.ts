/**
 * Tests of the worker pools' second pass on whichever runtime runs this file:
 * a fully cached run starts no worker; each worker gets its next task before
 * its current one ends, and `cancel` drops such a task at once; a task sent
 * ahead to a worker that crashes runs on another; results' buffers cross from
 * a thread intact. The Runner invariants under pipelining are checked by
 * runner_properties.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  detectRuntime,
  Lab,
  LocalStorage,
  MemoryStorage,
  NullStorage,
  type Runner,
  type RunnerBackend,
  type RunnerName,
  type Task,
} from "../mod.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";
import { POOL_STRATEGIES, type PoolKind } from "../runners/_pool_strategy.ts";
import { PoolRunner } from "../runners/_pool.ts";
import { resolveBackend } from "../runners/backends.ts";
import { buffersIn, transferablesOf } from "../runners/_transfer.ts";
import { tempDir } from "./_helpers.ts";
import { counted, job } from "./fixtures/workers/tasks.ts";
import { buffers, buffersValue } from "./fixtures/workers/buffers.ts";

const KINDS: PoolKind[] = ["thread", "spawn", "fork"];
const quiet = { progress: false } as const;

/** A backend building the real pool of `kind`, counting the workers it starts. */
function countingBackend(kind: PoolKind): { backend: RunnerBackend; starts: () => number } {
  let starts = 0;
  const base = POOL_STRATEGIES[kind];
  const strategy = {
    ...base,
    start: (...args: Parameters<typeof base.start>) => {
      starts++;
      return base.start(...args);
    },
  };
  const backend: RunnerBackend = {
    async buildRunner({ context, storage, maxWorkers }) {
      const runtime = await loadRuntimeAdapter();
      return new PoolRunner({ strategy, size: maxWorkers ?? 2, context, storage, runtime });
    },
  };
  return { backend, starts: () => starts };
}

/** Waits until every task in `tasks` came back, returning the outcomes by task. */
async function drain(runner: Runner, count: number): Promise<Map<Task, unknown>> {
  const out = new Map<Task, unknown>();
  while (out.size < count) {
    for (const [task, outcome] of await runner.wait({ timeoutMs: 10_000 })) out.set(task, outcome);
  }
  return out;
}

describe(`worker pools, second pass, on ${detectRuntime()}`, () => {
  for (const kind of KINDS) {
    for (const storageKind of ["local", "memory"] as const) {
      test(`${kind}: a fully cached run (${storageKind} storage) starts no worker`, async () => {
        const { dir, cleanup } = tempDir();
        try {
          const storage = storageKind === "local" ? new LocalStorage(dir) : new MemoryStorage();
          const tasks = [1, 2, 3].map((x) => counted({ x, log: join(dir, "runs.log") }));
          const first = countingBackend(kind);
          const lab = new Lab({ storage, runner: first.backend, maxWorkers: 2 });
          assert.deepEqual([...(await lab.runTasks(tasks, quiet)).values()], [1, 2, 3]);
          assert.ok(first.starts() > 0, "the first run started workers");
          const again = countingBackend(kind);
          const cachedLab = new Lab({ storage, runner: again.backend, maxWorkers: 2 });
          const fresh = [1, 2, 3].map((x) => counted({ x, log: join(dir, "runs.log") }));
          assert.deepEqual([...(await cachedLab.runTasks(fresh, quiet)).values()], [1, 2, 3]);
          assert.equal(again.starts(), 0, "a cached run started a worker");
          const runs = readFileSync(join(dir, "runs.log"), "utf8").trim().split("\n").sort();
          assert.deepEqual(runs, ["1", "2", "3"], "each task ran once");
        } finally {
          cleanup();
        }
      });
    }

    test(`${kind}: a worker holds a task ahead, and cancel drops it at once`, async () => {
      const { dir, cleanup } = tempDir();
      const runner = await (await resolveBackend(kind as RunnerName)).buildRunner({
        context: {},
        storage: new NullStorage(),
        maxWorkers: 1,
      });
      try {
        assert.equal(
          runner.capacity,
          16,
          "the one it runs and up to fifteen short tasks sent ahead",
        );
        const log = join(dir, "runs.log");
        writeFileSync(log, "");
        const warm = job({ x: 0, ms: 0, fail: null });
        runner.submitTask(warm, "Warm", false);
        await drain(runner, 1);
        const slow = job({ x: 1, ms: 300, fail: null });
        const ahead = counted({ x: 2, log });
        runner.submitTask(slow, "Slow", false);
        runner.submitTask(ahead, "Ahead", false);
        await Promise.resolve(); // the pool sends both in a microtask
        assert.equal(runner.pendingTaskCount(), 2);
        runner.cancel();
        assert.equal(runner.pendingTaskCount(), 1, "cancel dropped the task sent ahead at once");
        const outcomes = await drain(runner, 1);
        assert.deepEqual([...outcomes.keys()], [slow]);
        assert.equal(runner.pendingTaskCount(), 0);
        // The worker runs in order: had it run the cancelled task, it would be in the log first.
        const after = counted({ x: 3, log });
        runner.submitTask(after, "After", false);
        await drain(runner, 1);
        assert.equal(readFileSync(log, "utf8"), "3\n");
        assert.deepEqual(runner.getTaskInfos(), []);
      } finally {
        await runner.close();
        cleanup();
      }
    });

    test(`${kind}: a cancelled task the worker had already started is never blamed on another`, async () => {
      const runner = await (await resolveBackend(kind as RunnerName)).buildRunner({
        context: {},
        storage: new NullStorage(),
        maxWorkers: 1,
      });
      try {
        const warm = job({ x: 30, ms: 0, fail: null });
        runner.submitTask(warm, "Warm", false);
        await drain(runner, 1);
        const first = job({ x: 31, ms: 0, fail: null });
        const crash = job({ x: 32, ms: 600, fail: "exit" });
        runner.submitTask(first, "First", false);
        runner.submitTask(crash, "Crash", false);
        await Promise.resolve(); // the pool sends both in a microtask
        // Hold this thread while the worker finishes `first` and starts `crash`: the pool still
        // sees `crash` as sent ahead when it is cancelled.
        const until = performance.now() + 400;
        while (performance.now() < until) { /* busy */ }
        runner.cancel();
        const after = job({ x: 33, ms: 0, fail: null });
        runner.submitTask(after, "After", false);
        const outcomes = await drain(runner, 2);
        assert.deepEqual(new Set(outcomes.keys()), new Set([first, after]));
        assert.ok(!(outcomes.get(after) instanceof Error), String(outcomes.get(after)));
        assert.equal(runner.getResult(after).value, 33);
        assert.equal(runner.pendingTaskCount(), 0);
      } finally {
        await runner.close();
      }
    });

    test(`${kind}: a task sent ahead to a worker that crashes runs on another`, async () => {
      const runner = await (await resolveBackend(kind as RunnerName)).buildRunner({
        context: {},
        storage: new NullStorage(),
        maxWorkers: 1,
      });
      try {
        const warm = job({ x: 10, ms: 0, fail: null });
        runner.submitTask(warm, "Warm", false);
        await drain(runner, 1);
        const crash = job({ x: 11, ms: 50, fail: "exit" });
        const next = job({ x: 12, ms: 0, fail: null });
        runner.submitTask(crash, "Crash", false);
        runner.submitTask(next, "Next", false);
        const outcomes = await drain(runner, 2);
        assert.match((outcomes.get(crash) as Error).message, /exit.*code 7/);
        assert.ok(!(outcomes.get(next) instanceof Error), String(outcomes.get(next)));
        assert.equal(runner.getResult(next).value, 12);
        assert.equal(runner.pendingTaskCount(), 0);
      } finally {
        await runner.close();
      }
    });

    test(`${kind}: results with buffers arrive intact and equal`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const lab = new Lab({ storage: new LocalStorage(dir), runner: kind, maxWorkers: 1 });
        // Run, then loaded from the cache: the same values both times.
        for (let round = 0; round < 2; round++) {
          const tasks = [4, 4096].map((n) => buffers({ n }));
          const values = await lab.runTasks(tasks, quiet);
          for (const t of tasks) {
            const { buffer, ...rest } = values.get(t) as Record<string, unknown>;
            assert.deepEqual(rest, buffersValue(t.params.n));
            assert.equal(new TextDecoder().decode(buffer as Uint8Array), "pooled");
          }
        }
      } finally {
        cleanup();
      }
    });
  }

  test("only buffers a view covers whole are transferred, each once, never the kept ones", () => {
    const value = buffersValue(8);
    const found = transferablesOf({ value, again: value });
    const nested = value.nested as Map<string, unknown>;
    const expected = [
      (value.floats as Float64Array).buffer,
      (nested.get("bytes") as Uint8Array).buffer,
      ((nested.get("list") as unknown[])[1] as Int32Array).buffer,
      ([...(value.set as Set<Uint16Array>)][0]!).buffer,
      (value.pooled as Uint8Array).buffer,
      value.raw,
    ];
    assert.equal(found.length, expected.length);
    for (const buffer of expected) assert.ok(found.includes(buffer as ArrayBuffer));
    assert.ok(!found.includes((value.part as Uint8Array).buffer as ArrayBuffer));
    const kept = transferablesOf(value, buffersIn({ context: value.floats }));
    assert.ok(!kept.includes((value.floats as Float64Array).buffer as ArrayBuffer));
    assert.equal(kept.length, expected.length - 1);
  });
});
