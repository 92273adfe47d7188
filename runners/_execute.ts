/**
 * Runs or loads one task where it is: the body every backend shares, in the
 * Lab's thread or inside a worker.
 */
import { cacheOf } from "../caches/_default_cache.ts";
import { CacheError, CorruptEntryError, TaskNotFound } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import type { LabContext, Task, TaskResult } from "../core/task.ts";
import { NullStorage } from "../storage/null_storage.ts";
import type { Storage } from "../core/storage.ts";

/** Where a task runs: storage, the full context, and the run's stop signal. */
export interface ExecuteEnvironment {
  storage: Storage;
  context: LabContext;
  signal: AbortSignal;
  /** True when `context` is already the task's filtered context (sent so to a worker). */
  contextFiltered?: boolean;
}

/**
 * Loads `task`'s cached result when `useCache` and it is cached; otherwise
 * runs it and saves the result (unless storage is a NullStorage).
 * `onLoading` is told when a load starts, for the task table.
 *
 * @throws {CorruptEntryError} when a cached entry exists but cannot be read.
 */
export async function executeTask(
  task: Task,
  taskName: string,
  useCache: boolean,
  env: ExecuteEnvironment,
  onLoading?: () => void,
): Promise<TaskResult> {
  const cache = cacheOf(task.type);
  const nullStorage = env.storage instanceof NullStorage;
  if (useCache && !nullStorage) {
    onLoading?.();
    try {
      return await cache.loadResultWithMeta(env.storage, task);
    } catch (error) {
      if (!(error instanceof TaskNotFound)) {
        throw new CorruptEntryError(
          `Cannot load the cached result of ${task}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  }
  const definition = task.type.definition;
  const context = definition.filterContext && !env.contextFiltered
    ? definition.filterContext(task.params, env.context)
    : env.context;
  const start = new Date();
  const begin = performance.now();
  const value = await definition.run(task.params, {
    context,
    logger: createLogger(taskName),
    signal: env.signal,
    taskName,
  });
  // A task that returns after being stopped may have cut its work short: never cache that.
  if (env.signal.aborted) throw env.signal.reason;
  const result: TaskResult = { value, meta: { start, durationMs: performance.now() - begin } };
  if (!nullStorage) {
    try {
      await cache.save(env.storage, task, result);
    } catch (error) {
      if (error instanceof CacheError) throw error;
      throw new CacheError(`Cannot cache the result of ${task}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return result;
}
