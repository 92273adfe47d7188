/**
 * What a pool knows of each task it was given: its `Job` while queued, and
 * its `Running` record from when it is sent to a worker (or loaded on the
 * Lab's side) until its outcome.
 *
 * @module
 */
import type { Task, TaskType } from "../core/task.ts";
import type { MonitoredTask } from "./_monitor.ts";
import { heldDepth, type WorkerSlot } from "./_worker_slot.ts";

/** A task submitted to a pool. */
export interface Job {
  id: number;
  task: Task;
  name: string;
  useCache: boolean;
  /** The heap limit of the dedicated worker it needs, or null for a shared one. */
  heapMb: number | null;
}

/** A pool's worker, as the pool sees it. */
export type Slot = WorkerSlot<Job>;

/** A task sent to a worker (`slot`) or loading on the Lab's side (no slot). */
export interface Running extends Job, MonitoredTask {
  slot: Slot | null;
}

/**
 * The running record of `job`.
 *
 * @param job The queued task.
 * @param status Whether it runs or loads.
 * @param slot The worker it was sent to, or null.
 * @returns The record, started now.
 * @example
 * ```ts
 * import { runningRecord } from "./_pool_jobs.ts";
 * import { task } from "../core/task.ts";
 * import assert from "node:assert/strict";
 * const t = task({ name: "DocPoolJob", run: () => 1 })({});
 * const job = { id: 1, task: t, name: "DocPoolJob[0]", useCache: false, heapMb: null };
 * const running = runningRecord(job, "running", null);
 * assert.equal(running.id, 1);
 * assert.equal(running.sample, null);
 * ```
 */
export function runningRecord(job: Job, status: Running["status"], slot: Slot | null): Running {
  // Field by field: spreading `job` into a new object took several µs a task on Node 20.
  const { id, task, name, useCache, heapMb } = job;
  return { id, task, name, useCache, heapMb, status, slot, sample: null, start: new Date() };
}

/**
 * Per task type, how deep ahead its tasks may go, from how long its last task
 * to finish ran (see `heldDepth` and `WorkerSlot.takesAhead`). A type not seen
 * finishing yet counts as long: depth 0.
 *
 * @example
 * ```ts
 * import { ShortTypes } from "./_pool_jobs.ts";
 * import { task } from "../core/task.ts";
 * import assert from "node:assert/strict";
 * const quick = task({ name: "DocShortType", run: () => 1 });
 * const types = new ShortTypes();
 * assert.equal(types.depth(quick({})), 0);
 * types.record(quick({}), 0.5);
 * assert.equal(types.depth(quick({ other: 1 })), 4);
 * types.record(quick({}), 50);
 * assert.equal(types.depth(quick({})), 0);
 * ```
 */
export class ShortTypes {
  readonly #depth = new Map<TaskType, number>();

  /** Records how long `task` ran, as its worker measured it. */
  record(task: Task, durationMs: number): void {
    this.#depth.set(task.type, heldDepth(durationMs));
  }

  /** @returns How many tasks of `task`'s type a worker may hold; 0 when not known to be short. */
  depth(task: Task): number {
    return this.#depth.get(task.type) ?? 0;
  }
}
