/** In-memory results of the tasks a runner completed, shared by every runner. */
import { RunnerError } from "../core/errors.ts";
import type { Task, TaskResult } from "../core/task.ts";

/** Results by cache key, until the Lab releases them with `remove`. */
export class Results {
  readonly #byKey = new Map<string, TaskResult>();

  /** Keeps `task`'s result. */
  set(task: Task, result: TaskResult): void {
    this.#byKey.set(task.cacheKey, result);
  }

  /** `task`'s result, or undefined. */
  find(task: Task): TaskResult | undefined {
    return this.#byKey.get(task.cacheKey);
  }

  /**
   * `task`'s result, for `Runner.getResult`.
   *
   * @throws {RunnerError} when this runner holds no result for it.
   */
  get(task: Task): TaskResult {
    const result = this.#byKey.get(task.cacheKey);
    if (result === undefined) {
      throw new RunnerError(`Cannot get the result of ${task}: this runner holds no result for it`);
    }
    return result;
  }

  /** Drops the results of `tasks`; unknown tasks are ignored. */
  remove(tasks: Task[]): void {
    for (const task of tasks) this.#byKey.delete(task.cacheKey);
  }
}
