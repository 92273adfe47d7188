/**
 * `ForkRunnerBackend`: the `fork` runner backend.
 *
 * @module
 */
import { PoolRunner } from "./_pool.ts";
import type { Runner, RunnerBackend, RunnerBuildOptions } from "../core/runner.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";

/**
 * Runs tasks in a pool of subprocesses of the same runtime (Node
 * `child_process.fork`, `Deno.Command`, `Bun.spawn` with `ipc`), started
 * lazily up to `maxWorkers` (default: the number of CPUs) and reused across
 * tasks. Each subprocess receives the Lab's full context once, when it starts,
 * and each task only its dependency results. JavaScript runtimes cannot fork a
 * running process, so the context is sent rather than inherited. A task's
 * stdout and stderr reach the Lab's log, labelled with its name.
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
 * import { ForkRunnerBackend } from "./fork.ts";
 * import { NullStorage } from "../storage/null_storage.ts";
 * import assert from "node:assert/strict";
 *
 * const runner = await new ForkRunnerBackend().buildRunner({
 *   context: {},
 *   storage: new NullStorage(),
 *   maxWorkers: 2,
 * });
 * assert.equal(runner.capacity, 2);
 * assert.equal(runner.pendingTaskCount(), 0);
 * await runner.close();
 * ```
 */
export class ForkRunnerBackend implements RunnerBackend {
  async buildRunner({ context, storage, maxWorkers }: RunnerBuildOptions): Promise<Runner> {
    const runtime = await loadRuntimeAdapter();
    return new PoolRunner({
      kind: "fork",
      size: maxWorkers ?? runtime.availableParallelism(),
      context,
      storage,
      runtime,
    });
  }
}
