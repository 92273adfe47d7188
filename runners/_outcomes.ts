/** Finished tasks not yet returned by `Runner.wait`, shared by every runner. */
import type { ResultMeta, Task } from "../core/task.ts";

/** A finished task: its result's metadata, or the error it failed with. */
export type Outcome = [Task, ResultMeta | Error];

/**
 * Collects outcomes and hands them to the one pending `wait`, which resolves
 * as soon as there is at least one, or at its timeout with `[]`.
 */
export class Outcomes {
  #done: Outcome[] = [];
  #wake: (() => void) | null = null;

  /** How many outcomes wait to be returned. */
  get size(): number {
    return this.#done.length;
  }

  /** Adds an outcome and wakes the pending wait. */
  push(outcome: Outcome): void {
    this.#done.push(outcome);
    this.#wake?.();
  }

  /** Resolves the pending wait now, with whatever there is (perhaps nothing). */
  release(): void {
    this.#wake?.();
  }

  /**
   * Every outcome so far, as soon as there is one; `[]` at the timeout, or at
   * once when `pending` (the runner's pendingTaskCount) is 0.
   */
  wait(timeoutMs: number | null, pending: number): Promise<Outcome[]> {
    if (this.#done.length > 0 || pending === 0) return Promise.resolve(this.#take());
    return new Promise((resolve) => {
      const timer = timeoutMs === null ? undefined : setTimeout(() => {
        this.#wake = null;
        resolve(this.#take());
      }, timeoutMs);
      this.#wake = () => {
        this.#wake = null;
        clearTimeout(timer);
        resolve(this.#take());
      };
    });
  }

  #take(): Outcome[] {
    const done = this.#done;
    this.#done = [];
    return done;
  }
}
