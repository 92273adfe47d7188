/**
 * The `Cache` interface: how a task's result is encoded and found in storage.
 *
 * @module
 */
import type { Task, TaskResult, TaskType } from "./task.ts";
import type { Storage } from "./storage.ts";

/**
 * Decides the format of cached results; `Storage` decides where they live.
 *
 * @example
 * ```ts
 * import type { Cache } from "./cache.ts";
 * import { JsonCache } from "../caches/json_cache.ts";
 * import { MemoryStorage } from "../storage/memory_storage.ts";
 * import { task } from "./task.ts";
 * import assert from "node:assert/strict";
 * const cache: Cache = new JsonCache();
 * const storage = new MemoryStorage();
 * const t = task({ name: "DocCacheInterface", run: () => 0 })({});
 * await cache.save(storage, t, { value: [1, 2], meta: { start: null, durationMs: 0 } });
 * assert.equal(await cache.isCached(storage, t), true);
 * assert.equal((await cache.loadTask(storage, t.type, t.cacheKey)).cacheKey, t.cacheKey);
 * await cache.delete(storage, t);
 * assert.equal(await cache.isCached(storage, t), false);
 * ```
 */
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
