/**
 * `SpawnRunnerBackend`: the `spawn` runner backend.
 *
 * @module
 */
import { PoolRunner } from "./_pool.ts";
import type { Runner, RunnerBackend, RunnerBuildOptions } from "./runner.ts";
import { loadRuntimeAdapter } from "./runtime/adapter.ts";

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
