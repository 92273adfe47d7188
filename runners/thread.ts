/**
 * `ThreadRunnerBackend`: the `thread` runner backend.
 *
 * @module
 */
import { PoolRunner } from "./_pool.ts";
import type { Runner, RunnerBackend, RunnerBuildOptions } from "./runner.ts";
import { loadRuntimeAdapter } from "./runtime/adapter.ts";

/**
 * Runs tasks in a pool of worker threads (Node `worker_threads`, Web `Worker` on
 * Deno and Bun), started lazily up to `maxWorkers` (default: the number of CPUs)
 * and reused across tasks. Each worker receives the Lab's full context once
 * (values are structured-cloned; SharedArrayBuffers in it are shared, not
 * copied) and each task's dependency results with the task. Results and
 * caching happen in the worker; the result value comes back to the Lab.
 *
 * Task types are found by importing the module that defined them (see
 * `task()`'s `module`). The task table reports threads with their process's
 * CPU and memory: runtimes give no per-thread figures.
 *
 * @example
 * ```ts
 * import { ThreadRunnerBackend } from "./thread.ts";
 * import { NullStorage } from "../storage/null_storage.ts";
 * import assert from "node:assert/strict";
 *
 * const runner = await new ThreadRunnerBackend().buildRunner({
 *   context: {},
 *   storage: new NullStorage(),
 *   maxWorkers: 2,
 * });
 * assert.equal(runner.capacity, 2);
 * assert.equal(runner.pendingTaskCount(), 0);
 * await runner.close();
 * ```
 */
export class ThreadRunnerBackend implements RunnerBackend {
  async buildRunner({ context, storage, maxWorkers }: RunnerBuildOptions): Promise<Runner> {
    const runtime = await loadRuntimeAdapter();
    return new PoolRunner({
      kind: "thread",
      size: maxWorkers ?? runtime.availableParallelism(),
      context,
      storage,
      runtime,
    });
  }
}
