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
  // One timer serves consecutive waits: a wait that is answered soon (the
  // usual case) costs no timer of its own. It is cleared once no wait follows.
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #deadline = 0;
  /** When `#timer` fires (`Date.now()` time). */
  #timerAt = 0;
  #slice = 0;
  #checkQueued = false;

  /** How many outcomes wait to be returned. */
  get size(): number {
    return this.#done.length;
  }

  /**
   * Adds an outcome and wakes the pending wait.
   *
   * @param outcome The finished task.
   * @param wake False to leave the wait asleep: the caller adds more and then calls `release`.
   */
  push(outcome: Outcome, wake = true): void {
    this.#done.push(outcome);
    if (wake) this.#wake?.();
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
      this.#wake = () => {
        this.#wake = null;
        resolve(this.#take());
        if (this.#timer !== undefined && !this.#checkQueued) {
          this.#checkQueued = true;
          queueMicrotask(this.#clearIfIdle);
        }
      };
      if (timeoutMs === null) {
        this.#deadline = Infinity;
        return;
      }
      this.#deadline = Date.now() + timeoutMs;
      this.#slice = timeoutMs;
      if (this.#timer !== undefined && this.#timerAt <= this.#deadline) return;
      clearTimeout(this.#timer);
      this.#timerAt = this.#deadline;
      this.#timer = setTimeout(this.#onTimer, timeoutMs);
    });
  }

  // Runs after the woken waiter's next step: a waiter that waits again keeps the timer.
  readonly #clearIfIdle = () => {
    this.#checkQueued = false;
    if (this.#wake === null && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  };

  readonly #onTimer = () => {
    this.#timer = undefined;
    if (this.#wake === null || this.#deadline === Infinity) return;
    // Capped: Date.now() is cheaper than performance.now() on Deno, but the wall clock may jump.
    const left = Math.min(this.#deadline - Date.now(), this.#slice);
    if (left <= 0) this.#wake();
    else {
      this.#timerAt = this.#deadline;
      this.#timer = setTimeout(this.#onTimer, left);
    }
  };

  #take(): Outcome[] {
    const done = this.#done;
    this.#done = [];
    return done;
  }
}
