/**
 * `AsyncRunnerBackend`: many awaiting tasks in the calling thread.
 *
 * @module
 */
import type { Runner, RunnerBackend, RunnerBuildOptions } from "../core/runner.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";

/** How many tasks the async backend awaits at once when `maxWorkers` is not given. */
export const DEFAULT_ASYNC_WORKERS = 64;

/**
 * Runs up to `maxWorkers` (default 64) async tasks at once in the calling
 * thread: for I/O-bound work such as requests to a model API. CPU-bound
 * tasks gain nothing here; use `thread`, `spawn` or `fork`. Tasks'
 * `runnerOptions` are ignored by design: a heap limit needs a worker of its own.
 *
 * @example
 * ```ts
 * import { AsyncRunnerBackend } from "./async.ts";
 * import { MemoryStorage } from "../storage/memory_storage.ts";
 * import assert from "node:assert/strict";
 *
 * const runner = await new AsyncRunnerBackend().buildRunner({
 *   context: {},
 *   storage: new MemoryStorage(),
 *   maxWorkers: 8,
 * });
 * assert.equal(runner.capacity, 8);
 * await runner.close();
 * ```
 */
export class AsyncRunnerBackend implements RunnerBackend {
  async buildRunner({ context, storage, maxWorkers }: RunnerBuildOptions): Promise<Runner> {
    // Loaded with the first run that needs it, not with the library (see thread.ts).
    const { InProcessRunner } = await import("./in_process_runner.ts");
    return new InProcessRunner({
      capacity: maxWorkers ?? DEFAULT_ASYNC_WORKERS,
      storage,
      context,
      runtime: await loadRuntimeAdapter(),
    });
  }
}
