/**
 * The interface through which a run reports progress to a display.
 *
 * @module
 */
import type { Runner } from "../runners/runner.ts";

/** How one task ended, for progress counts. */
export interface TaskOutcome {
  /** Its result was loaded from the cache. */
  cached: boolean;
  /** It failed. */
  failed: boolean;
}

/** Receives a run's progress; the progress bars and task table implement it. */
export interface RunObserver {
  /** The run starts with this many tasks per type name. */
  start(totals: ReadonlyMap<string, number>): void;
  /** More tasks joined the run (a corrupt cache entry's dependencies). */
  add(more: ReadonlyMap<string, number>): void;
  /** A task finished. */
  taskDone(typeName: string, outcome: TaskOutcome): void;
  /** Called often while waiting; may read `runner.getTaskInfos()`. */
  update(runner: Runner): void;
  /** The run ended (successfully or not). */
  end(): void;
}
