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
  /** Where results are cached; one that `storesNothing` (NullStorage) means nothing is serialised. */
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
  /**
   * Builds the runner for one run.
   *
   * @param options The Lab's context and storage, and `maxWorkers`.
   * @returns The runner, or a promise of it.
   * @throws {LabError} (or rejects) when the run cannot start on this backend.
   */
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
  /** The machine running it, for backends that run tasks elsewhere (such as BullMQ workers). */
  host?: string | null;
}

/**
 * Runs submitted tasks. The Lab submits no more tasks than `capacity`: what
 * the runner can start plus, at most, a small bounded queue (a few tasks per
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
   * It may exceed what the runner can start by a small bounded queue (a few
   * tasks per worker, so each worker gets its next task before its current
   * one ends), provided `cancel()` drops every queued task at once and
   * `pendingTaskCount()` stays exact.
   */
  readonly capacity?: number;
  /**
   * Queues `task`; with `useCache` a cached result is loaded instead of running.
   *
   * @param task The task; the results of its dependencies are set.
   * @param taskName Its name in logs, such as `Experiment[03]`.
   * @param useCache Whether to load its cached result instead of running it.
   */
  submitTask(task: Task, taskName: string, useCache: boolean): void;
  /**
   * Resolves as soon as at least one task is done, or at the timeout with `[]`.
   *
   * @param options `timeoutMs`: when to resolve with `[]` (null: never).
   * @returns Each finished task with its result's metadata or its error; never rejects.
   */
  wait(options: { timeoutMs: number | null }): Promise<Array<[Task, ResultMeta | Error]>>;
  /** Cancels submitted tasks that have not started, queued ones included, at once. */
  cancel(): void;
  /**
   * Terminates running tasks; they come back from `wait` as failed.
   *
   * @returns Once they are terminated.
   */
  stop(): Promise<void>;
  /**
   * Releases workers; idempotent.
   *
   * @returns Once every worker is gone.
   */
  close(): Promise<void>;
  /**
   * Submitted, minus cancelled, minus returned by `wait`.
   *
   * @returns The count.
   */
  pendingTaskCount(): number;
  /**
   * The in-memory result of a task this runner completed.
   *
   * @param task The task.
   * @returns Its value and metadata.
   * @throws {RunnerError} when the runner holds no result for it.
   */
  getResult(task: Task): TaskResult;
  /**
   * Drops in-memory results; ignores unknown tasks.
   *
   * @param tasks The tasks whose results are no longer needed.
   */
  removeResults(tasks: Task[]): void;
  /**
   * One entry per running task.
   *
   * @returns The task table's rows.
   */
  getTaskInfos(): TaskMonitorInfo[];
}
