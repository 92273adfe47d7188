/**
 * `ForkRunnerBackend`: the `fork` runner backend.
 *
 * @module
 */
import type { Runner, RunnerBackend, RunnerBuildOptions } from "../core/runner.ts";

/**
 * Runs tasks in a pool of subprocesses of the same runtime (Node
 * `child_process.fork`, `Deno.Command`, `Bun.spawn` with `ipc`), started
 * lazily up to `maxWorkers` (default: the number of CPUs) and reused across
 * tasks. Each subprocess receives the Lab's full context once, when it starts,
 * and each task only its dependency results. JavaScript runtimes cannot fork a
 * running process, so the context is sent rather than inherited. A task's
 * stdout and stderr reach the Lab's log, labelled with its name.
 *
 * What the three worker backends share (finding task types, where caching
 * happens, crashes, heap limits) is described on `buildPoolRunner` and in
 * the README's "Runner backends".
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
 * assert.equal(runner.capacity, 32); // two workers, each with up to fifteen short tasks ahead
 * assert.equal(runner.pendingTaskCount(), 0);
 * await runner.close();
 * ```
 */
export class ForkRunnerBackend implements RunnerBackend {
  /**
   * Builds a pool of fork workers for one run; no worker starts before a task is submitted.
   *
   * @param options The Lab's context and storage, and `maxWorkers`.
   * @returns The runner.
   */
  buildRunner(options: RunnerBuildOptions): Promise<Runner> {
    // The pool's modules load with the first run that needs them, not with the
    // library (which every worker loads again through its task module).
    return import("./_pool_strategy.ts").then((m) => m.buildPoolRunner("fork", options));
  }
}
