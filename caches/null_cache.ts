/**
 * `NullCache`: never caches.
 *
 * @module
 */
import { TaskNotFound } from "../core/errors.ts";
import type { Task, TaskResult, TaskType } from "../core/task.ts";
import type { Storage } from "../core/storage.ts";
import type { Cache } from "../core/cache.ts";

/**
 * Never stores or finds anything: tasks of a type with `cache: null` always run.
 *
 * @example
 * ```ts
 * import { NullCache } from "./null_cache.ts";
 * import { MemoryStorage } from "../storage/memory_storage.ts";
 * import { task } from "../core/task.ts";
 * import assert from "node:assert/strict";
 *
 * const t = task({ name: "DocNullCache", run: () => 1 })({});
 * const cache = new NullCache();
 * await cache.save(new MemoryStorage(), t, { value: 1, meta: { start: null, durationMs: 0 } });
 * assert.equal(await cache.isCached(new MemoryStorage(), t), false);
 * ```
 */
export class NullCache implements Cache {
  cacheKey(task: Task): string {
    return task.cacheKey;
  }
  isCached(_storage: Storage, _task: Task): Promise<boolean> {
    return Promise.resolve(false);
  }
  save(_storage: Storage, _task: Task, _result: TaskResult<unknown>): Promise<void> {
    return Promise.resolve();
  }
  loadTask(_storage: Storage, _type: TaskType, key: string): Promise<Task> {
    return Promise.reject(new TaskNotFound(`Cannot load task ${key}: NullCache stores nothing`));
  }
  loadResultWithMeta(_storage: Storage, task: Task): Promise<TaskResult<unknown>> {
    return Promise.reject(new TaskNotFound(`Cannot load ${task}: NullCache stores nothing`));
  }
  delete(_storage: Storage, _task: Task): Promise<void> {
    return Promise.resolve();
  }
}
