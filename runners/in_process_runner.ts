/**
 * The runner behind the `serial` and `async` backends: tasks run in the
 * Lab's own thread, up to `capacity` awaiting at once.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { RunnerError } from "../core/errors.ts";
import type { LabContext, Task, TaskResult } from "../core/task.ts";
import type { Storage } from "../core/storage.ts";
import { loadOrRun, type RunEnvironment, runTaskNow } from "./_execute.ts";
import type { TaskMonitorInfo } from "../core/runner.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { type CpuSample, UsageMonitor } from "./_monitor.ts";
import type { Outcome } from "./_outcomes.ts";
import { RunnerBase } from "./_runner_base.ts";

/** A submitted task; the same object while it runs, to allocate once per task. */
interface Job {
  task: Task;
  name: string;
  useCache: boolean;
  status: "running" | "loading";
  /** When it started (`Date.now()`), or 0 before then. */
  startMs: number;
  sample: CpuSample | null;
  /** Its index in `#running` while it runs, else -1. */
  slot: number;
  /** Start order, for listing running tasks in it. */
  seq: number;
}

// A synchronous task never yields: between tasks, at least this often, the
// runner lets the event loop run, so that a Ctrl-C (a signal handler) and
// timers get in before the next task starts.
const YIELD_EVERY_MS = 5;

/** Runs tasks in the calling thread; see `SerialRunnerBackend` and `AsyncRunnerBackend`. */
export class InProcessRunner extends RunnerBase {
  readonly capacity: number;
  readonly #storage: Storage;
  readonly #pid: number;
  readonly #monitor: UsageMonitor;
  readonly #abort = new AbortController();
  readonly #env: RunEnvironment;
  readonly #queue: Job[] = [];
  #queueHead = 0;
  /** Unordered; a job knows its slot, so removing one is a swap (cheaper than a Set). */
  readonly #running: Job[] = [];
  #pumpScheduled = false;
  #started = 0;
  #pumping = false;
  #lastYield = performance.now();
  readonly #pumpSoon = () => this.#pump();

  /**
   * @param options `capacity`: tasks awaited at once; `storage` and `context`:
   *   the Lab's; `runtime`: the adapter, for CPU and memory figures.
   */
  constructor(options: {
    capacity: number;
    storage: Storage;
    context: LabContext;
    runtime: RuntimeAdapter;
  }) {
    super();
    this.capacity = options.capacity;
    this.#storage = options.storage;
    this.#env = { storage: options.storage, context: options.context, signal: this.#abort.signal };
    this.#pid = options.runtime.pid;
    this.#monitor = new UsageMonitor(options.runtime);
  }

  /**
   * Queues `task`; with `useCache` its cached result is loaded instead of running it.
   *
   * @param task The task, whose dependencies have results.
   * @param taskName Its name in logs, such as `Experiment[03]`.
   * @param useCache Whether to load its cached result.
   */
  submitTask(task: Task, taskName: string, useCache: boolean): void {
    this.#queue.push({
      task,
      name: taskName,
      useCache,
      status: "running",
      startMs: 0,
      sample: null,
      slot: -1,
      seq: 0,
    });
    if (!this.#pumpScheduled) {
      this.#pumpScheduled = true;
      queueMicrotask(this.#pumpSoon);
    }
  }

  #pump(): void {
    this.#pumpScheduled = false;
    if (this.#pumping) return; // a task finished synchronously inside the loop below
    const startable = this.#running.length < this.capacity && this.#queueHead < this.#queue.length;
    if (!startable) return;
    const now = performance.now();
    if (now - this.#lastYield >= YIELD_EVERY_MS) {
      this.#pumpScheduled = true;
      // Twice: from an I/O callback, Node runs the first immediate before it polls again.
      setImmediate(() =>
        setImmediate(() => {
          this.#lastYield = performance.now();
          this.#pump();
        })
      );
      return;
    }
    this.#pumping = true;
    let finished = false;
    while (this.#running.length < this.capacity && this.#queueHead < this.#queue.length) {
      finished = this.#start(this.#queue[this.#queueHead++]!, now) || finished;
    }
    this.#pumping = false;
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    }
    // Tasks that finished synchronously reach the Lab's wait together.
    if (finished) this.outcomes.release();
  }

  // Starts `job`; true when it finished at once (its outcome is pushed without waking `wait`).
  #start(job: Job, now: number): boolean {
    job.startMs = Date.now();
    job.sample = this.#monitor.startSample(now);
    job.seq = this.#started++;
    job.slot = this.#running.length;
    this.#running.push(job);
    let pending: TaskResult | Promise<TaskResult>;
    try {
      pending = job.useCache && this.#storage.storesNothing !== true
        ? loadOrRun(job.task, job.name, true, this.#env, () => job.status = "loading")
        : runTaskNow(job.task, job.name, this.#env);
    } catch (error) {
      return this.#failed(job, error, false);
    }
    if (pending instanceof Promise) {
      pending.then(
        (result) => this.#succeeded(job, result, true),
        (error: unknown) => this.#failed(job, error, true),
      );
      return false;
    }
    return this.#succeeded(job, pending, false);
  }

  #succeeded(job: Job, result: TaskResult, later: boolean): boolean {
    if (!this.#remove(job)) return false; // stopped: already reported as failed
    this.results.set(job.task, result);
    return this.#finish([job.task, result.meta], later);
  }

  #failed(job: Job, error: unknown, later: boolean): boolean {
    if (!this.#remove(job)) return false;
    return this.#finish(
      [job.task, error instanceof Error ? error : new Error(String(error))],
      later,
    );
  }

  // False when `job` no longer runs (stopped).
  #remove(job: Job): boolean {
    if (job.slot === -1) return false;
    const last = this.#running.pop()!;
    if (last !== job) {
      this.#running[job.slot] = last;
      last.slot = job.slot;
    }
    job.slot = -1;
    return true;
  }

  #finish(outcome: Outcome, later: boolean): boolean {
    this.outcomes.push(outcome, later);
    if (later) this.#pump();
    return true;
  }

  /** Cancels the submitted tasks that have not started. */
  cancel(): void {
    this.#queue.length = 0;
    this.#queueHead = 0;
  }

  /**
   * Fires the tasks' stop signal and reports each running task as failed at
   * once: code in this thread cannot be killed, so a late outcome is ignored.
   *
   * @returns At once.
   */
  stop(): Promise<void> {
    this.cancel();
    this.#abort.abort(new RunnerError("The Lab stopped running tasks"));
    const stopped = this.#running.splice(0).sort((a, b) => a.seq - b.seq);
    for (const job of stopped) {
      job.slot = -1;
      this.outcomes.push(
        [job.task, new RunnerError(`Stopped ${job.name} while it was running`)],
        false,
      );
    }
    this.outcomes.release();
    return Promise.resolve();
  }

  /**
   * Nothing to release: tasks run in this thread.
   *
   * @returns At once.
   */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * How many tasks are submitted and neither cancelled nor returned by `wait`.
   *
   * @returns The count.
   */
  pendingTaskCount(): number {
    return this.#queue.length - this.#queueHead + this.#running.length + this.outcomes.size;
  }

  /**
   * One row per running task, with this process's figures (tasks in one
   * thread cannot be told apart) and CPU use since the task started.
   *
   * @returns The rows.
   */
  getTaskInfos(): TaskMonitorInfo[] {
    const place = { usage: "here", pid: this.#pid, threadId: null } as const;
    const rows = [...this.#running].sort((a, b) => a.seq - b.seq).map((job) => ({
      name: job.name,
      status: job.status,
      start: new Date(job.startMs),
      sample: job.sample,
    }));
    return this.#monitor.infos(rows, () => place, "start");
  }
}
