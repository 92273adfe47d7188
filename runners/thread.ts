/**
 * `ThreadRunnerBackend`: the `thread` runner backend.
 *
 * @module
 */
import { PoolRunner } from "./_pool.ts";
import type { Runner, RunnerBackend, RunnerBuildOptions } from "../core/runner.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";

/**
 * Runs tasks in a pool of worker threads (Node `worker_threads`, Web `Worker` on
 * Deno and Bun), started lazily up to `maxWorkers` (default: the number of CPUs)
 * and reused across tasks. Each worker receives the Lab's full context once
 * (values are structured-cloned; SharedArrayBuffers in it are shared, not
 * copied) and each task's dependency results with the task. Results and
 * caching happen in the worker; the result value comes back to the Lab.
 * The task table reports threads with their process's CPU and memory:
 * runtimes give no per-thread figures. Console output of a task is captured;
 * on Deno and Bun, raw writes to stdout from a thread are not.
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
