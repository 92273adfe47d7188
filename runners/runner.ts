/**
 * The `Runner` and `RunnerBackend` interfaces: how a Lab hands tasks to a
 * backend and gets their outcomes back.
 *
 * @module
 */
import type { LabContext, ResultMeta, Task, TaskResult } from "../core/task.ts";
import type { Storage } from "../storage/storage.ts";

/** What a backend is given to build a runner for one `runTasks` call. */
export interface RunnerBuildOptions {
  /** The Lab's full context. */
  context: LabContext;
  /** Where results are cached; a `NullStorage` means nothing is serialised. */
  storage: Storage;
  /** The most tasks to run at once, or null for the backend's default. */
  maxWorkers: number | null;
}

/** Builds runners; one of these is what `Lab`'s `runner` option names. */
export interface RunnerBackend {
  /** Builds the runner for one run. */
  buildRunner(options: RunnerBuildOptions): Runner | Promise<Runner>;
}

/** One running task, for the live task table. */
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
 * Runs submitted tasks. The Lab submits no more tasks than the runner can
 * start, so `cancel` takes effect at once.
 */
export interface Runner {
  /**
   * Optional: the most tasks this runner starts at once. The Lab submits no
   * more than this (falling back to `maxWorkers`, then 1).
   */
  readonly capacity?: number;
  /** Queues `task`; with `useCache` a cached result is loaded instead of running. */
  submitTask(task: Task, taskName: string, useCache: boolean): void;
  /** Resolves as soon as at least one task is done, or at the timeout with `[]`. */
  wait(options: { timeoutMs: number | null }): Promise<Array<[Task, ResultMeta | Error]>>;
  /** Cancels submitted tasks that have not started. */
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
