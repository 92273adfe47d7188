/**
 * The worker side's execution slots: each runs one task at a time in a child
 * process or thread of our own pool (the fork, spawn or thread backend), so
 * a task that computes never blocks the BullMQ worker's lock renewal, and
 * stopping one task kills only its child.
 *
 * @module
 */
import type { Runner, RunnerBackend, TaskMonitorInfo } from "../../core/runner.ts";
import type { Storage } from "../../core/storage.ts";
import type { LabContext, Task, TaskResult } from "../../core/task.ts";
import { ForkRunnerBackend } from "../fork.ts";
import { SpawnRunnerBackend } from "../spawn.ts";
import { ThreadRunnerBackend } from "../thread.ts";

/** Which pool runs the tasks of a worker. */
export type SlotKind = "fork" | "spawn" | "thread";

/** One execution slot: a one-worker pool bound to a run's context and storage. */
export interface Slot {
  runner: Runner | null;
  /** Which context and storage the runner was built with. */
  binding: string | null;
}

const BACKENDS: Record<SlotKind, () => RunnerBackend> = {
  fork: () => new ForkRunnerBackend(),
  spawn: () => new SpawnRunnerBackend(),
  thread: () => new ThreadRunnerBackend(),
};

/** A fixed number of slots handed out one job at a time. */
export class Slots {
  readonly #kind: SlotKind;
  readonly #free: Slot[] = [];
  readonly #all: Slot[] = [];
  readonly #waiting: Array<(slot: Slot) => void> = [];

  constructor(kind: SlotKind, size: number) {
    this.#kind = kind;
    for (let i = 0; i < size; i++) {
      const slot = { runner: null, binding: null };
      this.#free.push(slot);
      this.#all.push(slot);
    }
  }

  /** A free slot whose runner serves `binding`, rebuilt when it served another run. */
  async acquire(
    binding: string,
    build: () => { context: LabContext; storage: Storage },
  ): Promise<Slot> {
    const slot = this.#free.pop() ??
      await new Promise<Slot>((resolve) => this.#waiting.push(resolve));
    try {
      if (slot.binding !== binding || slot.runner === null) {
        const old = slot.runner;
        slot.runner = null;
        slot.binding = null;
        await old?.close();
        slot.runner = await BACKENDS[this.#kind]().buildRunner({ ...build(), maxWorkers: 1 });
        slot.binding = binding;
      }
    } catch (error) {
      this.release(slot);
      throw error;
    }
    return slot;
  }

  /**
   * Kills the task running on `slot` (it comes back failed) and marks the
   * slot's pool for replacement: a killed child may still look idle to its
   * pool for a moment, and the next task must not be handed to it.
   */
  stopTask(slot: Slot | null): void {
    if (slot?.runner == null) return;
    slot.binding = null;
    void slot.runner.stop();
  }

  /** Gives a slot back. */
  release(slot: Slot): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(slot);
    else this.#free.push(slot);
  }

  /** Ends every slot's pool. */
  async close(): Promise<void> {
    await Promise.all(this.#all.map((slot) => slot.runner?.close()));
  }
}

/**
 * Runs or loads `task` on a slot's pool and returns its result: the one place
 * the worker calls the shared execution (the pool runs `executeTask` in its
 * child), so changes to that split land here.
 *
 * @throws {Error} what the task threw, or a RunnerError when its child died.
 */
export async function executeOnSlot(
  slot: Slot,
  task: Task,
  taskName: string,
  useCache: boolean,
): Promise<TaskResult> {
  const runner = slot.runner!;
  runner.submitTask(task, taskName, useCache);
  for (;;) {
    for (const [done, outcome] of await runner.wait({ timeoutMs: null })) {
      if (outcome instanceof Error) throw outcome;
      const result = runner.getResult(done);
      runner.removeResults([done]);
      return result;
    }
  }
}

/** What the slot's pool reports about its running task, if any. */
export function slotUsage(slot: Slot): TaskMonitorInfo | null {
  return slot.runner?.getTaskInfos()[0] ?? null;
}
