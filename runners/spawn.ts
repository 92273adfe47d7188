/**
 * `SpawnRunnerBackend`: the `spawn` runner backend.
 *
 * @module
 */
import type { Runner, RunnerBackend, RunnerBuildOptions } from "../core/runner.ts";

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
 * What the three worker backends share (finding task types, where caching
 * happens, crashes, heap limits) is described on `buildPoolRunner` and in
 * the README's "Runner backends".
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
 * assert.equal(runner.capacity, 32); // two workers, each with up to fifteen short tasks ahead
 * assert.equal(runner.pendingTaskCount(), 0);
 * await runner.close();
 * ```
 */
export class SpawnRunnerBackend implements RunnerBackend {
  /**
   * Builds a pool of spawn workers for one run; no worker starts before a task is submitted.
   *
   * @param options The Lab's context and storage, and `maxWorkers`.
   * @returns The runner.
   */
  buildRunner(options: RunnerBuildOptions): Promise<Runner> {
    // The pool's modules load with the first run that needs them, not with the
    // library (which every worker loads again through its task module).
    return import("./_pool_strategy.ts").then((m) => m.buildPoolRunner("spawn", options));
  }
}
