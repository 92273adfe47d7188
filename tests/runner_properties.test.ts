/**
 * Model-based property tests of every runner backend (serial, async, thread,
 * spawn, fork) on whichever runtime runs this file. Random sequences of
 * submit (random durations, results, throws and crashes), wait (random
 * timeouts), cancel, pendingTaskCount, getResult and removeResults drive a
 * Runner directly; the design's invariants are checked after every step and
 * after draining.
 *
 * `LABTECH_PBT_RUNS` sets the runs per backend (default 6); `LABTECH_PBT_SEED`
 * replays a seed, which fast-check prints on failure; `LABTECH_PBT_SLACK_MS`
 * is how late a wait may return (default 500).
 */
import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import fc from "fast-check";
import { detectRuntime, MemoryStorage, NullStorage, type Runner, type Task } from "../mod.ts";
import { resolveBackend, type RunnerName } from "../runners/backends.ts";
import { setLogSink } from "../core/logger.ts";
import { type Failure, job } from "./fixtures/workers/tasks.ts";
import { redisServerPath, startPropertyCluster } from "./_redis.ts";

const RUNS = Number(process.env.LABTECH_PBT_RUNS ?? 6);
const SEED = process.env.LABTECH_PBT_SEED ? Number(process.env.LABTECH_PBT_SEED) : undefined;
/** How late `wait` may resolve after its timeout: timers on a loaded 2-core CI machine. */
const SLACK_MS = Number(process.env.LABTECH_PBT_SLACK_MS ?? 500);
/** Per backend: generous, as a run with crashes restarts workers (Bun's default is 5 s). */
const TIMEOUT_MS = 60_000 + RUNS * 5_000;

interface Spec {
  x: number;
  ms: number;
  fail: Failure;
}

interface Model {
  capacity: number;
  specs: Map<Task, Spec>;
  returned: Set<Task>;
  succeeded: Set<Task>;
  removed: Set<Task>;
  /** Unreturned when cancel() was called: each may have been cancelled. */
  cancelCandidates: Set<Task>;
  cancelled: number;
}

interface Real {
  runner: Runner;
}

let nextX = 0;
let stats = { runs: 0, submitted: 0, returned: 0, cancelled: 0 };

function expectedPending(m: Model): number {
  return m.specs.size - m.returned.size - m.cancelled;
}

function checkPending(m: Model, r: Real): void {
  assert.equal(r.runner.pendingTaskCount(), expectedPending(m), "pendingTaskCount");
}

function checkOutcome(m: Model, task: Task, outcome: unknown): void {
  const spec = m.specs.get(task);
  assert.ok(spec !== undefined, `wait returned a task never submitted: ${task}`);
  assert.ok(!m.returned.has(task), `wait returned ${task} twice`);
  if (spec.fail === null) {
    assert.ok(!(outcome instanceof Error), `${task} failed: ${(outcome as Error)?.message}`);
  } else {
    assert.ok(outcome instanceof Error, `${task} should have failed`);
    const message = (outcome as Error).message;
    if (spec.fail === "throw") assert.equal(message, `job ${spec.x} threw`);
    if (spec.fail === "exit") assert.match(message, /exit.*code 7/);
    if (spec.fail === "kill") assert.match(message, /SIGKILL|killed/);
  }
}

class Submit implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number, readonly fail: Failure) {}
  check(m: Readonly<Model>): boolean {
    return expectedPending(m as Model) < m.capacity;
  }
  run(m: Model, r: Real): Promise<void> {
    const spec = { x: nextX++, ms: this.ms, fail: this.fail };
    const task = job(spec);
    r.runner.submitTask(task, `WorkerJob[${spec.x}]`, false);
    m.specs.set(task, spec);
    checkPending(m, r);
    return Promise.resolve();
  }
  toString(): string {
    return `submit(${this.ms}ms, ${this.fail})`;
  }
}

class Wait implements fc.AsyncCommand<Model, Real> {
  constructor(readonly timeoutMs: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const began = performance.now();
    let outcomes;
    try {
      outcomes = await r.runner.wait({ timeoutMs: this.timeoutMs });
    } catch (error) {
      assert.fail(`wait rejected instead of returning the error as a value: ${error}`);
    }
    const took = performance.now() - began;
    assert.ok(took <= this.timeoutMs + SLACK_MS, `wait(${this.timeoutMs}) took ${took} ms`);
    for (const [task, outcome] of outcomes) {
      checkOutcome(m, task, outcome);
      m.returned.add(task);
      if (!(outcome instanceof Error)) m.succeeded.add(task);
    }
    checkPending(m, r);
  }
  toString(): string {
    return `wait(${this.timeoutMs})`;
  }
}

class Cancel implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): Promise<void> {
    const before = r.runner.pendingTaskCount();
    r.runner.cancel();
    const dropped = before - r.runner.pendingTaskCount();
    assert.ok(dropped >= 0, "cancel added pending tasks");
    for (const task of m.specs.keys()) {
      if (!m.returned.has(task)) m.cancelCandidates.add(task);
    }
    m.cancelled += dropped;
    checkPending(m, r);
    return Promise.resolve();
  }
  toString(): string {
    return "cancel()";
  }
}

class GetResults implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): Promise<void> {
    for (const task of m.succeeded) {
      if (m.removed.has(task)) {
        assert.throws(() => r.runner.getResult(task), /holds no result/);
      } else {
        const result = r.runner.getResult(task);
        assert.equal(result.value, m.specs.get(task)!.x);
        assert.ok(typeof result.meta.durationMs === "number");
      }
    }
    checkPending(m, r);
    return Promise.resolve();
  }
  toString(): string {
    return "getResult(*)";
  }
}

class RemoveResults implements fc.AsyncCommand<Model, Real> {
  constructor(readonly every: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): Promise<void> {
    const chosen = [...m.succeeded].filter((_, i) => i % this.every === 0);
    r.runner.removeResults([...chosen, job({ x: -1, ms: 0, fail: null })]); // unknown: ignored
    for (const task of chosen) m.removed.add(task);
    checkPending(m, r);
    return Promise.resolve();
  }
  toString(): string {
    return `removeResults(every ${this.every})`;
  }
}

async function drain(m: Model, r: Real): Promise<void> {
  await new Cancel().run(m, r);
  const until = Date.now() + 20_000;
  while (r.runner.pendingTaskCount() > 0) {
    assert.ok(Date.now() < until, "tasks still pending 20 s after cancel");
    await new Wait(1_000).run(m, r);
  }
  checkPending(m, r);
  // A cancelled task never came back; every other one came back exactly once.
  for (const task of m.specs.keys()) {
    if (!m.returned.has(task)) assert.ok(m.cancelCandidates.has(task), `${task} was lost`);
  }
  assert.equal(m.specs.size - m.returned.size, m.cancelled, "cancelled count");
  assert.deepEqual(r.runner.getTaskInfos(), [], "a task is still running after draining");
}

async function warmUp(runner: Runner): Promise<void> {
  const tasks = [0, 1].map(() => job({ x: nextX++, ms: 0, fail: null }));
  for (const task of tasks) runner.submitTask(task, "warm-up", false);
  let returned = 0;
  while (returned < tasks.length) returned += (await runner.wait({ timeoutMs: 10_000 })).length;
  runner.removeResults(tasks);
  assert.equal(runner.pendingTaskCount(), 0);
}

function failures(backend: RunnerName | "bullmq"): Failure[] {
  if (backend === "spawn" || backend === "fork" || backend === "bullmq") {
    return [null, null, "throw", "exit", "kill"];
  }
  if (backend === "thread") return [null, null, "throw", "exit"];
  return [null, null, "throw"];
}

// BullMQ on a real redis-server and one worker, when redis-server is installed.
const BACKENDS: Array<RunnerName | "bullmq"> = ["serial", "async", "thread", "spawn", "fork"]
  .concat(redisServerPath() === null ? [] : ["bullmq"]) as Array<RunnerName | "bullmq">;

describe(`runner invariants on ${detectRuntime()}`, () => {
  for (const backend of BACKENDS) {
    test(
      `${backend}: every invariant holds after every step`,
      { timeout: TIMEOUT_MS },
      async () => {
        const submit = fc.tuple(
          fc.integer({ min: 0, max: 30 }),
          fc.constantFrom(...failures(backend)),
        )
          .map(([ms, fail]) => new Submit(ms, fail));
        const wait = fc.integer({ min: 0, max: 150 }).map((timeout) => new Wait(timeout));
        const commands = [
          submit,
          submit,
          submit,
          wait,
          wait,
          fc.constant(new Cancel()),
          fc.constant(new GetResults()),
          fc.integer({ min: 1, max: 3 }).map((every) => new RemoveResults(every)),
        ];
        stats = { runs: 0, submitted: 0, returned: 0, cancelled: 0 };
        const cluster = backend === "bullmq" ? await startPropertyCluster() : null;
        const previous = setLogSink(() => {});
        try {
          await fc.assert(
            fc.asyncProperty(
              fc.commands(commands, { maxCommands: 30, size: "max" }),
              fc.boolean(),
              fc.boolean(),
              async (cmds, memory, warm) => {
                const runner =
                  await (cluster?.backend ?? await resolveBackend(backend as RunnerName))
                    .buildRunner({
                      context: { shared: 1 },
                      storage: memory ? new MemoryStorage() : new NullStorage(),
                      maxWorkers: 2,
                    });
                const model: Model = {
                  capacity: runner.capacity ?? 2,
                  specs: new Map(),
                  returned: new Set(),
                  succeeded: new Set(),
                  removed: new Set(),
                  cancelCandidates: new Set(),
                  cancelled: 0,
                };
                const real = { runner };
                // Half the runs start with every worker up, so that tasks start within the waits.
                if (warm) await warmUp(runner);
                try {
                  await fc.asyncModelRun(() => ({ model, real }), cmds);
                  await drain(model, real);
                  stats.runs++;
                  stats.submitted += model.specs.size;
                  stats.returned += model.returned.size;
                  stats.cancelled += model.cancelled;
                } finally {
                  await runner.close();
                }
              },
            ),
            { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true },
          );
        } finally {
          setLogSink(previous);
          await cluster?.stop();
        }
        if (process.env.LABTECH_PBT_STATS) console.log(backend, stats);
      },
    );
  }
});
