/**
 * `SpawnRunnerBackend`: the `spawn` runner backend.
 *
 * @module
 */
import { PoolRunner } from "./_pool.ts";
import type { Runner, RunnerBackend, RunnerBuildOptions } from "../core/runner.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";

/**
 * Runs tasks in a pool of fresh subprocesses of the same runtime (Node
 * `child_process`, `Deno.Command`, `Bun.spawn`), started lazily up to
 * `maxWorkers` (default: the number of CPUs) and reused across tasks. Nothing
 * is inherited: each task is sent its filtered context (its type's
 * `filterContext`, else the whole context) and its dependency results.
 * Results and caching happen in the subprocess; the result value comes back.
 * A task's stdout and stderr reach the Lab's log, labelled with its name, and
 * the task table shows each subprocess's own CPU and memory (Linux).
 *
 * Task types are found by importing the module that defined them (`task()`'s
 * `module`, found from its call site); a module that runs a Lab when imported
 * fails at once with a LabError saying how to guard it. With a MemoryStorage
 * or a custom Storage, which workers cannot reach, cached results are loaded
 * and new ones saved on the Lab's side. A task that throws, exits or crashes
 * fails alone with a RunnerError saying what happened; its worker is replaced.
 * A task whose `runnerOptions` give this backend's section a `maxHeapMb` runs
 * on a worker of its own with that heap limit (see `WorkerRunnerOptions`).
 *
 * @example
 * ```ts
 * import { SpawnRunnerBackend } from "./spawn.ts";
 * import { NullStorage } from "../storage/null_storage.ts";
 * import assert from "node:assert/strict";
 *
 * const runner = await new SpawnRunnerBackend().buildRunner({
 *   context: {},
 *   storage: new NullStorage(),
 *   maxWorkers: 2,
 * });
 * assert.equal(runner.capacity, 2);
 * assert.equal(runner.pendingTaskCount(), 0);
 * await runner.close();
 * ```
 */
export class SpawnRunnerBackend implements RunnerBackend {
  async buildRunner({ context, storage, maxWorkers }: RunnerBuildOptions): Promise<Runner> {
    const runtime = await loadRuntimeAdapter();
    return new PoolRunner({
      kind: "spawn",
      size: maxWorkers ?? runtime.availableParallelism(),
      context,
      storage,
      runtime,
    });
  }
}
