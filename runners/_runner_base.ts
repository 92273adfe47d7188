/**
 * What every labtech runner does alike: collecting outcomes for `wait` and
 * holding completed results until the Lab releases them.
 *
 * @module
 */
import type { Runner, TaskMonitorInfo } from "../core/runner.ts";
import type { Task, TaskResult } from "../core/task.ts";
import { type Outcome, Outcomes } from "./_outcomes.ts";
import { Results } from "./_results.ts";

/** The shared half of the serial/async and pool runners; subclasses start and stop tasks. */
export abstract class RunnerBase implements Runner {
  /** Finished tasks not yet returned by `wait`. */
  protected readonly outcomes: Outcomes = new Outcomes();
  /** Results of the tasks that succeeded, until `removeResults`. */
  protected readonly results: Results = new Results();

  /** The most tasks this runner accepts at once, running or queued. */
  abstract readonly capacity: number;

  /**
   * Queues `task`; with `useCache` its cached result is loaded instead of running it.
   *
   * @param task The task, whose dependencies have results.
   * @param taskName Its name in logs, such as `Experiment[03]`.
   * @param useCache Whether to load its cached result.
   * @throws {RunnerError} when the runner is closed.
   */
  abstract submitTask(task: Task, taskName: string, useCache: boolean): void;

  /** Cancels the submitted tasks that have not started. */
  abstract cancel(): void;

  /**
   * Ends the running tasks; each comes back from `wait` as failed.
   *
   * @returns Once they are ended.
   */
  abstract stop(): Promise<void>;

  /**
   * Releases the runner's workers; idempotent.
   *
   * @returns Once every worker is gone.
   */
  abstract close(): Promise<void>;

  /**
   * How many tasks are submitted and neither cancelled nor returned by `wait`.
   *
   * @returns The count.
   */
  abstract pendingTaskCount(): number;

  /**
   * One row per running (or loading) task, for the task table.
   *
   * @returns The rows.
   */
  abstract getTaskInfos(): TaskMonitorInfo[];

  /**
   * The finished tasks, as soon as at least one is done.
   *
   * @param options `timeoutMs`: when to give up and resolve with `[]` (null: never).
   * @returns Each finished task with its result's metadata or its error; never rejects.
   */
  wait({ timeoutMs }: { timeoutMs: number | null }): Promise<Outcome[]> {
    return this.outcomes.wait(timeoutMs, this.pendingTaskCount());
  }

  /**
   * The result of a task this runner completed.
   *
   * @param task The task.
   * @returns Its value and metadata.
   * @throws {RunnerError} when this runner holds no result for it.
   */
  getResult(task: Task): TaskResult {
    return this.results.get(task);
  }

  /**
   * Drops the results of `tasks`; unknown tasks are ignored.
   *
   * @param tasks The tasks whose results are no longer needed.
   */
  removeResults(tasks: Task[]): void {
    this.results.remove(tasks);
  }
}
