/**
 * One worker of a pool and what the pool knows about it: whether it has
 * started, the task it runs, the tasks it holds, and why it ended.
 *
 * @module
 */
import { RunnerError } from "../core/errors.ts";
import { emitLog } from "../core/logger.ts";
import {
  OUT_OF_MEMORY,
  type RuntimeAdapter,
  type WorkerEvents,
  type WorkerHandle,
} from "../runtime/adapter.ts";
import type { PoolStrategy } from "./_pool_strategy.ts";
import type { CancelMessage } from "./_protocol.ts";

/**
 * A task of a type whose last run took less than this (a few round trips) is
 * short: short tasks go deeper ahead (see {@link WorkerSlot.takesAhead}).
 */
export const SHORT_TASK_MS = 2;

/** The most tasks a worker holds: the one it runs and up to fifteen sent ahead. */
export const MAX_HELD = 16;

// The work a worker may hold beyond the task it runs, judged by the last run of their type: the
// shorter the tasks, the more go ahead (each message then carries more), while what one worker
// holds at a run's end, when another may be idle, stays a few milliseconds.
const HELD_WORK_MS = 2;

/**
 * How many tasks of a type a worker may hold (the one it runs and those sent
 * ahead), from how long its last task ran: 0 when that is not short (one is
 * sent ahead, never more), else 4 to {@link MAX_HELD}, so that what it holds
 * stays about 2 ms of work.
 *
 * @param durationMs How long the type's last task ran, as its worker measured it.
 * @returns The depth, or 0 for a task that is not short.
 *
 * @example
 * ```ts
 * import { heldDepth, MAX_HELD } from "./_worker_slot.ts";
 * import assert from "node:assert/strict";
 * assert.equal(heldDepth(50), 0);
 * assert.equal(heldDepth(1.5), 4);
 * assert.equal(heldDepth(0.2), 10);
 * assert.equal(heldDepth(0.01), MAX_HELD);
 * ```
 */
export function heldDepth(durationMs: number): number {
  if (!(durationMs < SHORT_TASK_MS)) return 0;
  return Math.min(MAX_HELD, Math.max(4, Math.floor(HELD_WORK_MS / Math.max(durationMs, 1e-3))));
}

// What V8 (Node, Deno) writes to stderr as it dies of an exhausted heap.
const OOM_LINE = /Reached heap limit|JavaScript heap out of memory|Fatal JavaScript out of memory/;

/** What a slot tells its pool. */
export interface SlotEvents {
  /** A protocol message from the worker. */
  message(message: unknown): void;
  /** The worker is gone; `reason` as the runtime adapter gave it. */
  exit(reason: string): void;
}

/** A pool's per-worker state; `J` is the pool's record of a task. */
export class WorkerSlot<J extends { id: number; name: string }> {
  /** The worker, once it has started. */
  handle: WorkerHandle | null = null;
  /** Settles once the worker has started (or failed to). */
  started: Promise<unknown> = Promise.resolve();
  /** True once the worker said it is ready and got its start-up message. */
  ready = false;
  /** The task it runs, or null when idle. */
  job: J | null = null;
  /** Tasks sent to run after `job` (pipelining), in order; empty while `job` is null. */
  readonly ahead: J[] = [];
  /** The task it was started for (a dedicated worker), until it is ready. */
  reserved: J | null;
  /** The heap limit of a dedicated worker (one task, then ended), or null for a shared one. */
  readonly heapMb: number | null;
  /** The exit code a task called exit with, or null. */
  exitCode: number | null = null;
  /** True once it ended or is being ended. */
  gone = false;
  /** Cache keys of the tasks this worker holds, so nested tasks are sent once, by reference. */
  readonly known: Set<string> = new Set();
  #lastName: string;
  #outOfMemory = false;
  // A task sent ahead and then cancelled, until the worker answers for it (it ran or skipped
  // it): the worker may have started it, so nothing else may be sent or blamed meanwhile.
  readonly #cancelledAhead = new Set<number>();
  // Ids of the tasks it holds that are not known to be short.
  readonly #long = new Set<number>();
  // Taking short tasks until it holds their depth, from when it held #refillAt or fewer.
  #filling = true;
  #refillAt = 2;
  // Run messages not yet sent: a pump sends each worker's in one message.
  #outbox: Array<{ job: J; message: unknown }> = [];

  /**
   * @param reserved The task a dedicated worker is started for, or null.
   * @param heapMb Its heap limit, or null for a shared worker.
   */
  constructor(reserved: J | null, heapMb: number | null) {
    this.reserved = reserved;
    this.heapMb = heapMb;
    this.#lastName = reserved?.name ?? "labtech worker";
  }

  /** True for a shared worker that is ready and runs nothing. */
  get idleShared(): boolean {
    return this.ready && this.job === null && this.#cancelledAhead.size === 0 &&
      this.heapMb === null;
  }

  /**
   * @param id A task's id.
   * @returns True when that task was sent ahead and has not started yet.
   */
  holdsAhead(id: number): boolean {
    return this.ahead.some((job) => job.id === id);
  }

  /**
   * Whether a shared worker that runs a task takes one more sent ahead: one
   * ahead always, so it starts its next task without waiting for a round
   * trip; more only for a short task behind short ones, up to its depth (see
   * {@link heldDepth}), refilled once it is down to half of that, several in
   * one message. A long task never waits behind a queue, nor a queue behind a
   * long task: no worker idles at a run's end while another holds work.
   *
   * @param depth The task's depth from {@link heldDepth}; 0 when it is not known to be short.
   * @param paired Whether another task can follow it in the same message.
   * @returns True when the pool should send it here now.
   */
  takesAhead(depth: number, paired: boolean): boolean {
    if (!this.ready || this.job === null || this.#cancelledAhead.size > 0) return false;
    if (this.heapMb !== null) return false;
    if (this.ahead.length === 0) return true;
    if (depth === 0 || this.#long.size > 0 || !this.#filling) return false;
    if (this.ahead.length + 1 >= depth) return false;
    return paired || this.#outbox.length % 2 === 1;
  }

  /**
   * The task `id` finished: the next one (if any) becomes the running one.
   *
   * @param id The finished task's id.
   * @returns The task that now runs, or undefined when `id` is not the running task.
   */
  finished(id: number): J | null | undefined {
    if (this.job?.id !== id) return undefined;
    this.#long.delete(id);
    this.job = this.ahead.shift() ?? null;
    if (this.job !== null) this.#lastName = this.job.name;
    if (this.ahead.length + 1 <= this.#refillAt) this.#filling = true;
    return this.job;
  }

  /**
   * The worker answered for task `id` (a result, an error or a skip).
   *
   * @param id The task it answered for.
   * @returns True when `id` was the cancelled task sent ahead: the worker is free again.
   */
  settled(id: number): boolean {
    return this.#cancelledAhead.delete(id) && this.#cancelledAhead.size === 0;
  }

  /** True for a shared worker still starting, which will take a task when ready. */
  get startingShared(): boolean {
    return !this.ready && this.heapMb === null && this.job === null;
  }

  /**
   * Starts the worker; its output becomes log lines labelled with its task's name.
   *
   * @param strategy The backend's way to start it.
   * @param runtime The runtime adapter.
   * @param events Where its messages and its end go.
   * @param shouldEnd Asked once it has started: true ends it at once (the pool closed meanwhile).
   */
  start(
    strategy: PoolStrategy,
    runtime: RuntimeAdapter,
    events: SlotEvents,
    shouldEnd: () => boolean,
  ): void {
    const workerEvents = this.#workerEvents(events);
    const started = strategy.start(runtime, workerEvents, { maxHeapMb: this.heapMb });
    this.started = started.then((handle) => {
      this.handle = handle;
      if (shouldEnd() || this.gone) return handle.terminate();
    }, (error: unknown) => workerEvents.exit(`it could not start: ${(error as Error).message}`));
  }

  // What the runtime calls. It may hold a finished worker's streams, and their listeners, a while
  // after the worker exits: built apart from start() (whose closures would share its scope) and
  // letting go of the pool at exit, they keep no result alive past the run.
  #workerEvents(events: SlotEvents): WorkerEvents {
    let to: SlotEvents | null = events;
    return {
      message: (message) => to?.message(message),
      output: (stream, line) => {
        if (stream === "stderr" && OOM_LINE.test(line)) this.#outOfMemory = true;
        emitLog({
          level: stream === "stderr" ? "warn" : "info",
          source: this.job?.name ?? this.#lastName,
          message: line,
        });
      },
      exit: (reason) => {
        const last = to;
        to = null;
        last?.exit(reason);
      },
    };
  }

  /**
   * Gives it a task to run, at once when idle, else after those it holds; the
   * message goes out with the next `flush`.
   *
   * @param job The task's record.
   * @param message The run message.
   * @param depth The task's depth from {@link heldDepth}; 0 when it is not known to be short.
   */
  send(job: J, message: unknown, depth: number): void {
    if (depth === 0) this.#long.add(job.id);
    const queued = this.job !== null;
    if (queued) this.ahead.push(job);
    else {
      this.job = job;
      this.#lastName = job.name;
      this.#filling = true;
    }
    if (depth > 0 && this.ahead.length + 1 >= depth) {
      this.#filling = false;
      this.#refillAt = depth >> 1;
    }
    this.#outbox.push({ job, message });
  }

  /**
   * Sends what `send` queued, in one message when there are several.
   *
   * @returns The tasks whose message could not be sent, each with why; they are no longer held.
   */
  flush(): Array<[J, RunnerError]> {
    const out = this.#outbox;
    this.#outbox = [];
    if (out.length === 0) return [];
    try {
      this.handle!.send(out.length === 1 ? out[0]!.message : out.map((o) => o.message));
      return [];
    } catch {
      // One of them cannot be sent (a value that cannot be cloned): find it, send the rest.
      const failed: Array<[J, RunnerError]> = [];
      for (const { job, message } of out) {
        try {
          this.handle!.send(message);
        } catch (error) {
          const why = `Cannot send ${job.name} to its worker: ${(error as Error).message}`;
          failed.push([job, new RunnerError(why, { cause: error })]);
          this.#forget(job);
          this.known.clear();
        }
      }
      return failed;
    }
  }

  #forget(job: J): void {
    this.#long.delete(job.id);
    if (this.job === job) this.job = this.ahead.shift() ?? null;
    else this.ahead.splice(this.ahead.indexOf(job), 1);
  }

  /**
   * Forgets the tasks sent ahead; with `cancel`, tells the worker to skip
   * them (it may have started one already: then its result is ignored).
   *
   * @param cancel Whether to tell the worker.
   * @returns The tasks it forgot, in the order they were sent.
   */
  dropAhead(cancel = false): J[] {
    const ahead = this.ahead.splice(0);
    for (const job of ahead) this.#long.delete(job.id);
    if (ahead.length === 0 || !cancel || this.gone) return ahead;
    // Their messages may have carried tasks the worker will now never hold: send them again.
    this.known.clear();
    try {
      for (const job of ahead) {
        this.handle?.send({ kind: "cancel", id: job.id } satisfies CancelMessage);
        this.#cancelledAhead.add(job.id);
      }
    } catch { /* a worker that cannot be reached runs nothing more */ }
    return ahead;
  }

  /**
   * Ends the worker (or, still starting, once it has started).
   *
   * @returns Once it is gone.
   */
  end(): Promise<unknown> {
    this.gone = true;
    return this.handle !== null ? this.handle.terminate() : this.started;
  }

  /**
   * Why the worker ended, for an error message.
   *
   * @param reason The runtime adapter's reason.
   * @returns An exit the task called, running out of memory (with the limit), or `reason`.
   */
  exitReason(reason: string): string {
    if (this.exitCode !== null) return `the task called exit with code ${this.exitCode}`;
    if (this.#outOfMemory || reason === OUT_OF_MEMORY) {
      return `${OUT_OF_MEMORY}${
        this.heapMb === null ? "" : ` (its heap limit is ${this.heapMb} MB)`
      }`;
    }
    if (/Unknown file extension "\.ts"/.test(reason)) return `${reason}; ${TS_IN_THREADS}`;
    return reason;
  }
}

// Node loads a TypeScript worker entry only through a loader, and a loader that runs the Lab's
// script (such as tsx) does not reach worker threads; subprocesses get Node's flags, loader too.
const TS_IN_THREADS = "Node cannot load the TypeScript worker entry in a worker thread, as the " +
  "TypeScript loader running this script (such as tsx) does not apply to worker threads: use " +
  "the spawn or fork backend, run the compiled JavaScript build, or run on Deno or Bun";
