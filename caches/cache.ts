/**
 * The `Cache` interface: how a task's result is encoded and found in storage.
 *
 * @module
 */
import type { Task, TaskResult, TaskType } from "../core/task.ts";
import type { Storage } from "../storage/storage.ts";

/** Decides the format of cached results; `Storage` decides where they live. */
export interface Cache {
  /** The storage key of `task`'s entry. */
  cacheKey(task: Task): string;
  /** True when `storage` holds a result for `task`. */
  isCached(storage: Storage, task: Task): Promise<boolean>;
  /** Writes `result` for `task`; nothing is written when it cannot be encoded. */
  save(storage: Storage, task: Task, result: TaskResult<unknown>): Promise<void>;
  /** Rebuilds the task stored under `key`; throws `TaskNotFound` when absent. */
  loadTask(storage: Storage, type: TaskType, key: string): Promise<Task>;
  /** Reads the result and its metadata for `task`. */
  loadResultWithMeta(storage: Storage, task: Task): Promise<TaskResult<unknown>>;
  /** Removes `task`'s entry. */
  delete(storage: Storage, task: Task): Promise<void>;
}
