/**
 * The interface through which a run reports progress to a display.
 *
 * @module
 */
import type { Runner } from "./runner.ts";

/**
 * How one task ended, for progress counts.
 * @example
 * ```ts
 * import type { TaskOutcome } from "./observer.ts";
 * import assert from "node:assert/strict";
 * const outcomes: TaskOutcome[] = [{ cached: true, failed: false }, { cached: false, failed: true }];
 * const cached = outcomes.filter((o) => o.cached).length;
 * assert.equal(cached, 1);
 * ```
 */
export interface TaskOutcome {
  /** Its result was loaded from the cache. */
  cached: boolean;
  /** It failed. */
  failed: boolean;
}

/**
 * Receives a run's progress; the progress bars and task table implement it.
 * @example
 * ```ts
 * import type { RunObserver, TaskOutcome } from "./observer.ts";
 * import assert from "node:assert/strict";
 * const done: string[] = [];
 * const observer: RunObserver = {
 *   start: (totals) => done.push(`start ${[...totals.values()].join()}`),
 *   add: () => {},
 *   taskDone: (type: string, outcome: TaskOutcome) => done.push(`${type} ${outcome.cached}`),
 *   update: () => {},
 *   end: () => done.push("end"),
 * };
 * observer.start(new Map([["Fit", 1]]));
 * observer.taskDone("Fit", { cached: false, failed: false });
 * observer.end();
 * assert.deepEqual(done, ["start 1", "Fit false", "end"]);
 * ```
 */
export interface RunObserver {
  /**
   * The run starts with this many tasks per type name, dependencies first.
   *
   * @param totals Task counts by type name.
   */
  start(totals: ReadonlyMap<string, number>): void;
  /**
   * More tasks joined the run (a corrupt cache entry's dependencies).
   *
   * @param more Added task counts by type name.
   */
  add(more: ReadonlyMap<string, number>): void;
  /**
   * A task finished: ran, loaded from the cache, or failed.
   *
   * @param typeName Its task type's name.
   * @param outcome Whether it was cached or failed.
   */
  taskDone(typeName: string, outcome: TaskOutcome): void;
  /**
   * Called often while waiting.
   *
   * @param runner The run's runner; `runner.getTaskInfos()` lists the running tasks.
   */
  update(runner: Runner): void;
  /** The run ended (successfully or not); called exactly once after `start`. */
  end(): void;
}

/**
 * Options of the live task table.
 * @example
 * ```ts
 * import type { TopOptions } from "./observer.ts";
 * import { Lab } from "../lab/lab.ts";
 * import { task } from "./task.ts";
 * import assert from "node:assert/strict";
 * const top: TopOptions = { format: "{name} {status} {cpu}", sort: "-cpu", n: 5 };
 * const one = task({ name: "DocTopOptions", run: () => 1 });
 * assert.equal(await new Lab({ storage: null }).runTask(one({}), { progress: false, top }), 1);
 * ```
 */
export interface TopOptions {
  /** Columns to show, e.g. `"{name} {status} {pid} {cpu} {rss}"`. */
  format?: string;
  /** Field to sort by; prefix `-` for reverse. Default: oldest first. */
  sort?: string;
  /** How many rows to show (default 10). */
  n?: number;
}

/**
 * What a run shows while it goes: the display options of `RunOptions`.
 * @example
 * ```ts
 * import type { DisplayOptions } from "./observer.ts";
 * import { Lab } from "../lab/lab.ts";
 * import { task } from "./task.ts";
 * import assert from "node:assert/strict";
 * const quiet: DisplayOptions = { progress: false, top: false };
 * const one = task({ name: "DocDisplayOptions", run: () => 1 });
 * assert.equal(await new Lab({ storage: null }).runTask(one({}), quiet), 1);
 * ```
 */
export interface DisplayOptions {
  /** Show progress (default true). */
  progress?: boolean;
  /** Show the live task table (default true), or its options. */
  top?: boolean | TopOptions;
  /** Show progress as a notebook display (default: detected, in Deno's Jupyter kernel). */
  notebook?: boolean;
}
