/**
 * `ThreadRunnerBackend`: the `thread` runner backend.
 *
 * @module
 */
import type { Runner, RunnerBackend, RunnerBuildOptions } from "../core/runner.ts";

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
 * What the three worker backends share (finding task types, where caching
 * happens, crashes, heap limits) is described on `buildPoolRunner` and in
 * the README's "Runner backends".
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
 * assert.equal(runner.capacity, 32); // two workers, each with up to fifteen short tasks ahead
 * assert.equal(runner.pendingTaskCount(), 0);
 * await runner.close();
 * ```
 */
export class ThreadRunnerBackend implements RunnerBackend {
  /**
   * Builds a pool of thread workers for one run; no worker starts before a task is submitted.
   *
   * @param options The Lab's context and storage, and `maxWorkers`.
   * @returns The runner.
   */
  buildRunner(options: RunnerBuildOptions): Promise<Runner> {
    // The pool's modules load with the first run that needs them, not with the
    // library (which every worker loads again through its task module).
    return import("./_pool_strategy.ts").then((m) => m.buildPoolRunner("thread", options));
  }
}
