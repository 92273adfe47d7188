/**
 * How a task travels to a pool worker, both halves: `encodeRun` (the pool's
 * side) says which modules define its types, sends each task a worker does not
 * hold yet once (nested tasks by reference) and adds its dependencies'
 * results; `TaskRebuilder` (the worker's side) imports those modules and
 * rebuilds the task from that.
 *
 * @module
 */
import { RunnerError } from "../core/errors.ts";
import { refTaskText } from "../core/params.ts";
import { findTaskType } from "../core/registry.ts";
import {
  type LabContext,
  setTaskResult,
  type Task,
  taskDependencies,
  type TaskResult,
  type TaskType,
} from "../core/task.ts";
import { type StoredTask, taskFromStored } from "../core/_stored_task.ts";
import { setWorkerState } from "../core/_worker_guard.ts";
import type { RunMessage } from "./_protocol.ts";

/** One task to send, as the pool knows it. */
export interface RunRequest {
  id: number;
  task: Task;
  taskName: string;
  useCache: boolean;
  /** The task's filtered context (spawn), or null to use the worker's startup context. */
  context: LabContext | null;
}

/**
 * The message that has a worker run `request.task`.
 *
 * @param request The task, its id and name.
 * @param known Cache keys of the tasks the worker holds; the ones sent are added.
 * @param resultOf The in-memory result of a dependency, if any.
 * @returns The message to send.
 * @throws {RunnerError} when a type's module is unknown or a needed dependency result is missing.
 */
export function encodeRun(
  request: RunRequest,
  known: Set<string>,
  resultOf: (dep: Task) => TaskResult | undefined,
): RunMessage {
  const { task } = request;
  const deps: Array<[string, TaskResult]> = [];
  for (const dep of taskDependencies(task)) {
    const result = resultOf(dep);
    if (result === undefined && request.useCache) continue; // a cached task's deps are not run
    if (result === undefined) {
      throw new RunnerError(
        `Cannot run ${request.taskName}: the result of its dependency ${dep} is missing`,
      );
    }
    deps.push([dep.cacheKey, result]);
  }
  const modules = [...modulesOf(task)];
  return {
    kind: "run",
    id: request.id,
    taskName: request.taskName,
    modules,
    tasks: unknownTasks(task, known),
    key: task.cacheKey,
    deps,
    useCache: request.useCache,
    context: request.context,
  };
}

const modulesOfTask = new WeakMap<Task, readonly string[]>();

/** The modules defining `task`'s type and every type nested in its parameters. */
function modulesOf(task: Task): readonly string[] {
  const cached = modulesOfTask.get(task);
  if (cached !== undefined) return cached;
  const { module } = task.type;
  if (module !== null && taskDependencies(task).length === 0) return [module]; // most tasks
  // Iterative post-order, so a deep chain of tasks needs no deep recursion.
  const stack: Array<[Task, boolean]> = [[task, false]];
  while (stack.length > 0) {
    const [current, expanded] = stack.pop()!;
    if (modulesOfTask.has(current)) continue;
    const deps = taskDependencies(current);
    if (!expanded) {
      stack.push([current, true]);
      for (const dep of deps) if (!modulesOfTask.has(dep)) stack.push([dep, false]);
      continue;
    }
    if (current.type.module === null) {
      throw new RunnerError(
        `Cannot run ${current} in a worker: the module defining task type "${current.type.name}" ` +
          `is unknown; pass module: import.meta.url to task()`,
      );
    }
    const set = new Set([current.type.module]);
    for (const dep of deps) for (const m of modulesOfTask.get(dep)!) set.add(m);
    modulesOfTask.set(current, [...set]);
  }
  return modulesOfTask.get(task)!;
}

/**
 * The tasks a worker must rebuild to run `task`, dependencies first, each as
 * `[cacheKey, refTaskText]`, skipping `known`. The dependencies sent are added
 * to `known` (the worker holds them); `task` itself is not, as the worker
 * drops it after its run: a later task that depends on it sends it again.
 */
function unknownTasks(task: Task, known: Set<string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const stack: Array<[Task, boolean]> = [];
  for (const dep of taskDependencies(task)) if (!known.has(dep.cacheKey)) stack.push([dep, false]);
  while (stack.length > 0) {
    const [current, expanded] = stack.pop()!;
    if (known.has(current.cacheKey)) continue;
    if (expanded) {
      known.add(current.cacheKey);
      out.push([current.cacheKey, refTaskText(current)]);
      continue;
    }
    stack.push([current, true]);
    for (const dep of taskDependencies(current)) {
      if (!known.has(dep.cacheKey)) stack.push([dep, false]);
    }
  }
  if (!known.has(task.cacheKey)) out.push([task.cacheKey, refTaskText(task)]);
  return out;
}

/**
 * The worker's side: imports the modules a run message names and rebuilds its
 * task, holding every task it rebuilt (by cache key) so later messages refer
 * to them. The pool resends tasks after a failure, and a resent task replaces the held one.
 */
export class TaskRebuilder {
  readonly #imported = new Map<string, Promise<unknown>>();
  readonly #held = new Map<string, Task>();
  // Tasks sent to be run, not held for later messages (see `unknownTasks`).
  readonly #dropAfterRun = new Set<string>();

  /**
   * The task `message` asks to run, with its dependencies' results set.
   *
   * @param message The pool's run message.
   * @returns The rebuilt task.
   * @throws {RunnerError} when a module cannot be imported, a type is not
   *   found in them, or a task arrives with another cache key.
   */
  async rebuild(message: RunMessage): Promise<Task> {
    for (const url of message.modules) {
      try {
        await this.#import(url);
      } catch (error) {
        throw new RunnerError(
          `Cannot import ${url} in a worker to find the type of ${message.taskName}: ${
            (error as Error).message
          }`,
          { cause: error },
        );
      }
    }
    const findType = (name: string): TaskType => {
      const type = findTaskType<TaskType>(name);
      if (type !== undefined) return type;
      throw new RunnerError(
        `Cannot find task type "${name}" in a worker: importing ${message.modules.join(", ")} ` +
          `did not define it; define the type at the top level of a module and pass ` +
          `module: import.meta.url to task() if it is defined elsewhere`,
      );
    };
    const resolve = (key: string): Task => {
      const known = this.#held.get(key);
      if (known === undefined) {
        throw new RunnerError(`Cannot rebuild ${message.taskName}: task ${key} is unknown`);
      }
      return known;
    };
    const last = message.tasks.at(-1);
    if (last !== undefined && last[0] === message.key) this.#dropAfterRun.add(message.key);
    for (const [key, text] of message.tasks) {
      const stored = JSON.parse(text) as StoredTask & { name: string };
      const task = taskFromStored(findType(stored.name), stored, findType, resolve);
      if (task.cacheKey !== key) {
        throw new RunnerError(
          `Cannot rebuild ${message.taskName}: ${task} arrived with cache key ${key}`,
        );
      }
      this.#held.set(key, task);
    }
    const task = resolve(message.key);
    const deps = new Map(message.deps);
    for (const dep of taskDependencies(task)) {
      const result = deps.get(dep.cacheKey);
      if (result !== undefined) setTaskResult(dep, result);
    }
    return task;
  }

  /**
   * After the run of the task under `key`: clears the dependency results set
   * for it, so none outlives its run, and drops it unless it is held for later messages.
   */
  release(key: string): void {
    const task = this.#held.get(key);
    if (task === undefined) return;
    for (const dep of taskDependencies(task)) setTaskResult(dep, null);
    if (this.#dropAfterRun.delete(key)) this.#held.delete(key);
  }

  /** Forgets every task held: the pool sends them again after a failure. */
  forget(): void {
    this.#held.clear();
  }

  #import(url: string): Promise<unknown> {
    let loading = this.#imported.get(url);
    if (loading === undefined) {
      setWorkerState({ state: "importing", module: url });
      loading = import(url).finally(() => setWorkerState({ state: "idle" }));
      this.#imported.set(url, loading);
    }
    return loading;
  }
}
