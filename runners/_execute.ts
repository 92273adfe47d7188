/**
 * Task execution in two halves, "load cached" and "run and save", used
 * wherever a task runs: the Lab's thread (serial, async), a pool worker, the
 * Lab's side of a pool whose storage workers cannot reopen, or a cluster
 * worker. Nothing here knows about pools or messages.
 *
 * @module
 */
import { cacheOf } from "../caches/_default_cache.ts";
import { CacheError, CorruptEntryError, TaskNotFound } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import type { LabContext, Task, TaskResult } from "../core/task.ts";
import type { Storage } from "../core/storage.ts";

/**
 * Loads `task`'s cached result from `storage`.
 *
 * @param task The task whose entry to read.
 * @param storage Where it is cached; a storage that `storesNothing` holds nothing.
 * @returns The result with its metadata, or null when it is not cached.
 * @throws {CorruptEntryError} when an entry exists but cannot be read.
 */
export async function loadCachedResult(task: Task, storage: Storage): Promise<TaskResult | null> {
  if (storage.storesNothing === true) return null;
  try {
    return await cacheOf(task.type).loadResultWithMeta(storage, task);
  } catch (error) {
    if (error instanceof TaskNotFound) return null;
    throw new CorruptEntryError(
      `Cannot load the cached result of ${task}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The context `task` runs with: its type's `filterContext` applied to the
 * Lab's full context, or the full context without one. The one place the
 * filter is applied, whether the task runs here or in a worker.
 *
 * @param task The task about to run.
 * @param context The Lab's full context.
 * @returns What the task's `run` receives as `ctx.context`.
 */
export function taskContext(task: Task, context: LabContext): LabContext {
  const filter = task.type.definition.filterContext;
  return filter ? filter(task.params, context) : context;
}

/** What `runAndSave` runs a task with. */
export interface RunEnvironment {
  /** Where the result is saved; nothing is saved when it `storesNothing`. */
  storage: Storage;
  /** The Lab's full context, or the task's own when `contextIsFiltered`. */
  context: LabContext;
  /** Fires when the Lab stops running tasks; a result finished after it is not saved. */
  signal: AbortSignal;
  /** True when `context` is already `taskContext(task, ...)` (sent so to a worker). */
  contextIsFiltered?: boolean;
}

/**
 * Runs `task` (its dependencies' results must be set) and saves its result.
 *
 * @param task The task to run.
 * @param taskName Its name in logs, such as `Experiment[03]`.
 * @param env The storage, context and stop signal.
 * @returns The result, saved unless the storage stores nothing.
 * @throws whatever the task's `run` throws, the signal's reason when it was
 *   stopped, or a {CacheError} when the result cannot be saved.
 */
export async function runAndSave(
  task: Task,
  taskName: string,
  env: RunEnvironment,
): Promise<TaskResult> {
  return await runTaskNow(task, taskName, env);
}

/**
 * `runAndSave` without the promise when none is needed: a synchronous `run`
 * whose result is not saved (the storage stores nothing) returns its result
 * at once, and what it throws is thrown at once. The Lab's own thread runs
 * tasks this way, so that a trivial task costs no microtasks.
 *
 * @param task The task to run.
 * @param taskName Its name in logs, such as `Experiment[03]`.
 * @param env The storage, context and stop signal.
 * @returns The result, or a promise of it when `run` is async or the result is saved.
 * @throws as `runAndSave` rejects, when `run` throws synchronously.
 */
export function runTaskNow(
  task: Task,
  taskName: string,
  env: RunEnvironment,
): TaskResult | Promise<TaskResult> {
  const context = env.contextIsFiltered === true ? env.context : taskContext(task, env.context);
  const start = new Date();
  const begin = performance.now();
  const value = task.type.definition.run(task.params, {
    context,
    logger: createLogger(taskName),
    signal: env.signal,
    taskName,
  });
  if (isThenable(value)) {
    return Promise.resolve(value).then((awaited) => finishRun(task, awaited, start, begin, env));
  }
  return finishRun(task, value, start, begin, env);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

function finishRun(
  task: Task,
  value: unknown,
  start: Date,
  begin: number,
  env: RunEnvironment,
): TaskResult | Promise<TaskResult> {
  // A task that returns after being stopped may have cut its work short: never cache that.
  if (env.signal.aborted) throw env.signal.reason;
  const result: TaskResult = { value, meta: { start, durationMs: performance.now() - begin } };
  if (env.storage.storesNothing === true) return result;
  return saveResult(task, result, env.storage).then(() => result);
}

/**
 * Saves `result` as `task`'s cached result, unless `storage` stores nothing.
 *
 * @param task The task that produced it.
 * @param result Its value and metadata.
 * @param storage Where to save it.
 * @throws {CacheError} when the value cannot be encoded or written.
 */
export async function saveResult(task: Task, result: TaskResult, storage: Storage): Promise<void> {
  if (storage.storesNothing === true) return;
  try {
    await cacheOf(task.type).save(storage, task, result);
  } catch (error) {
    if (error instanceof CacheError) throw error;
    throw new CacheError(`Cannot cache the result of ${task}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Loads `task`'s cached result when `useCache` and it is cached; else runs it
 * and saves the result. `onLoading` is told when a load starts.
 *
 * @param task The task to load or run.
 * @param taskName Its name in logs.
 * @param useCache Whether to look for a cached result first.
 * @param env The storage, context and stop signal.
 * @param onLoading Told when a load starts, for the task table.
 * @returns The loaded or computed result.
 * @throws {CorruptEntryError} when a cached entry exists but cannot be read;
 *   otherwise as `runAndSave`.
 */
export async function loadOrRun(
  task: Task,
  taskName: string,
  useCache: boolean,
  env: RunEnvironment,
  onLoading?: () => void,
): Promise<TaskResult> {
  if (useCache && env.storage.storesNothing !== true) {
    onLoading?.();
    const cached = await loadCachedResult(task, env.storage);
    if (cached !== null) return cached;
  }
  return await runAndSave(task, taskName, env);
}
