/**
 * Per-task options for runner backends, returned by a task type's
 * `runnerOptions(params)`.
 *
 * @module
 */

/**
 * Options for a task run by a worker backend (`thread`, `spawn`, `fork`).
 *
 * @example
 * ```ts
 * import type { WorkerRunnerOptions } from "./runner_options.ts";
 * import assert from "node:assert/strict";
 *
 * const options: WorkerRunnerOptions = { maxHeapMb: 256 };
 * assert.equal(options.maxHeapMb, 256);
 * ```
 */
export interface WorkerRunnerOptions {
  /**
   * Runs the task on a worker of its own, started with its JavaScript heap
   * capped at this many MiB (a positive integer), counted against the pool's
   * size and ended after the task. A task that exceeds it fails alone with a
   * RunnerError saying it ran out of memory. Enforced by Node threads
   * (`resourceLimits.maxOldGenerationSizeMb`), Node subprocesses
   * (`--max-old-space-size`) and Deno subprocesses
   * (`--v8-flags=--max-old-space-size`). Deno's Web Workers take no heap limit
   * and Bun's JavaScriptCore has no hard heap cap: there the task fails with a
   * RunnerError saying so, rather than running unbounded.
   */
  maxHeapMb?: number;
}

/**
 * Options a task gives runner backends, keyed by backend name, like Labtech's
 * `runner_options()`. The `thread`, `spawn` and `fork` sections are checked
 * when a worker backend is handed the task: an unknown key is a TypeError and
 * a non-positive limit a RangeError, which fail that task. The `serial` and
 * `async` backends run tasks in the Lab's own thread and ignore all options
 * by design. A custom backend reads its own key.
 *
 * @example
 * ```ts
 * import type { RunnerOptions } from "./runner_options.ts";
 * import assert from "node:assert/strict";
 *
 * const options: RunnerOptions = { spawn: { maxHeapMb: 256 }, myBackend: { gpus: 1 } };
 * assert.equal(options.spawn?.maxHeapMb, 256);
 * ```
 */
export interface RunnerOptions {
  /** Options for the `thread` backend. */
  thread?: WorkerRunnerOptions;
  /** Options for the `spawn` backend. */
  spawn?: WorkerRunnerOptions;
  /** Options for the `fork` backend. */
  fork?: WorkerRunnerOptions;
  /** Options for other (custom) backends, by name. */
  [backend: string]: unknown;
}
