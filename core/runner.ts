/**
 * The `Runner` and `RunnerBackend` interfaces: how a Lab hands tasks to a
 * backend and gets their outcomes back.
 *
 * @module
 */
import type { LabContext, ResultMeta, Task, TaskResult } from "./task.ts";
import type { Storage } from "./storage.ts";

/**
 * What a backend is given to build a runner for one `runTasks` call.
 *
 * @example
 * ```ts
 * import type { RunnerBuildOptions } from "./runner.ts";
 * import { SerialRunnerBackend } from "../runners/serial.ts";
 * import { NullStorage } from "../storage/null_storage.ts";
 * import assert from "node:assert/strict";
 * const options: RunnerBuildOptions = { context: {}, storage: new NullStorage(), maxWorkers: null };
 * const runner = await new SerialRunnerBackend().buildRunner(options);
 * assert.equal(runner.capacity, 1);
 * await runner.close();
 * ```
 */
export interface RunnerBuildOptions {
  /** The Lab's full context. */
  context: LabContext;
  /** Where results are cached; a `NullStorage` means nothing is serialised. */
  storage: Storage;
  /** The most tasks to run at once, or null for the backend's default. */
  maxWorkers: number | null;
}

/**
 * Builds runners; one of these is what `Lab`'s `runner` option names.
 *
 * @example
 * ```ts
 * import type { RunnerBackend } from "./runner.ts";
 * import { SerialRunnerBackend } from "../runners/serial.ts";
 * import { Lab } from "../lab/lab.ts";
 * import { task } from "./task.ts";
 * import assert from "node:assert/strict";
 * const built: number[] = [];
 * const backend: RunnerBackend = {
 *   buildRunner(options) {
 *     built.push(options.maxWorkers ?? 0);
 *     return new SerialRunnerBackend().buildRunner(options);
 *   },
 * };
 * const one = task({ name: "DocRunnerBackend", run: () => 1 });
 * const lab = new Lab({ storage: null, runner: backend, maxWorkers: 3 });
 * assert.equal(await lab.runTask(one({}), { progress: false }), 1);
 * assert.deepEqual(built, [3]);
 * ```
 */
export interface RunnerBackend {
  /** Builds the runner for one run. */
  buildRunner(options: RunnerBuildOptions): Runner | Promise<Runner>;
}

/**
 * One running task, for the live task table.
 *
 * @example
 * ```ts
 * import type { TaskMonitorInfo } from "./runner.ts";
 * import assert from "node:assert/strict";
 * const info: TaskMonitorInfo = {
 *   name: "Fit[03]",
 *   status: "running",
 *   pid: 4242,
 *   threadId: null,
 *   start: new Date(0),
 *   cpuPercent: 97.5,
 *   rssBytes: 2 ** 27,
 *   children: 0,
 * };
 * assert.equal(info.status, "running");
 * ```
 */
export interface TaskMonitorInfo {
  /** The task's name in logs, such as `Experiment[03]`. */
  name: string;
  /** Whether it is running or loading its cached result. */
  status: "running" | "loading";
  /** The process running it. */
  pid: number | null;
  /** The worker thread running it, when it runs in one. */
  threadId: number | null;
  /** When it started. */
  start: Date;
  /** CPU use of its process (or thread, where the runtime reports that) in percent, or null. */
  cpuPercent: number | null;
  /** Resident memory of its process in bytes, or null. */
  rssBytes: number | null;
  /** Number of child processes of its process, or null when unknown. */
  children: number | null;
}

/**
 * Runs submitted tasks. The Lab submits no more tasks than `capacity`: what
 * the runner can start plus, at most, a small bounded queue (one task per
 * worker), which `cancel` drops at once.
 *
 * @example
 * ```ts
 * import type { Runner } from "./runner.ts";
 * import { SerialRunnerBackend } from "../runners/serial.ts";
 * import { NullStorage } from "../storage/null_storage.ts";
 * import { task } from "./task.ts";
 * import assert from "node:assert/strict";
 * const runner: Runner = await new SerialRunnerBackend().buildRunner({
 *   context: {},
 *   storage: new NullStorage(),
 *   maxWorkers: null,
 * });
 * const t = task({ name: "DocRunnerInterface", run: () => "done" })({});
 * runner.submitTask(t, "DocRunnerInterface[00]", false);
 * assert.equal(runner.pendingTaskCount(), 1);
 * const [[returned, meta]] = await runner.wait({ timeoutMs: 1000 }) as [[typeof t, unknown]];
 * assert.equal(returned, t);
 * assert.ok(!(meta instanceof Error));
 * assert.equal(runner.getResult(t).value, "done");
 * runner.removeResults([t]);
 * assert.equal(runner.pendingTaskCount(), 0);
 * await runner.close();
 * ```
 */
export interface Runner {
  /**
   * Optional: the most tasks this runner accepts at once, running or queued.
   * The Lab submits no more than this (falling back to `maxWorkers`, then 1).
   * It may exceed what the runner can start by a small bounded queue (one
   * task per worker, so each worker gets its next task before its current
   * one ends), provided `cancel()` drops every queued task at once and
   * `pendingTaskCount()` stays exact.
   */
  readonly capacity?: number;
  /** Queues `task`; with `useCache` a cached result is loaded instead of running. */
  submitTask(task: Task, taskName: string, useCache: boolean): void;
  /** Resolves as soon as at least one task is done, or at the timeout with `[]`. */
  wait(options: { timeoutMs: number | null }): Promise<Array<[Task, ResultMeta | Error]>>;
  /** Cancels submitted tasks that have not started, queued ones included, at once. */
  cancel(): void;
  /** Terminates running tasks; they come back from `wait` as failed. */
  stop(): Promise<void>;
  /** Releases workers; idempotent. */
  close(): Promise<void>;
  /** Submitted, minus cancelled, minus returned by `wait`. */
  pendingTaskCount(): number;
  /** The in-memory result of a task this runner completed; throws if absent. */
  getResult(task: Task): TaskResult;
  /** Drops in-memory results; ignores unknown tasks. */
  removeResults(tasks: Task[]): void;
  /** One entry per running task. */
  getTaskInfos(): TaskMonitorInfo[];
}
