/**
 * `SerialRunnerBackend`: one task at a time in the calling thread.
 *
 * @module
 */
import type { Runner, RunnerBackend, RunnerBuildOptions } from "../core/runner.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";

/**
 * Runs tasks one at a time in the calling thread: nothing is copied, and
 * debuggers and stack traces see the task's own code. Tasks' `runnerOptions`
 * are ignored by design: a heap limit needs a worker of its own.
 *
 * @example
 * ```ts
 * import { SerialRunnerBackend } from "./serial.ts";
 * import { MemoryStorage } from "../storage/memory_storage.ts";
 * import assert from "node:assert/strict";
 *
 * const runner = await new SerialRunnerBackend().buildRunner({
 *   context: {},
 *   storage: new MemoryStorage(),
 *   maxWorkers: null,
 * });
 * assert.equal(runner.pendingTaskCount(), 0);
 * await runner.close();
 * ```
 */
export class SerialRunnerBackend implements RunnerBackend {
  async buildRunner({ context, storage }: RunnerBuildOptions): Promise<Runner> {
    // Loaded with the first run that needs it, not with the library (see thread.ts).
    const { InProcessRunner } = await import("./in_process_runner.ts");
    return new InProcessRunner({
      capacity: 1,
      storage,
      context,
      runtime: await loadRuntimeAdapter(),
    });
  }
}
