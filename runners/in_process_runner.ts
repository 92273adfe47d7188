/**
 * The runner behind the `serial` and `async` backends: tasks run in the
 * Lab's own thread, up to `capacity` awaiting at once.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { RunnerError } from "../core/errors.ts";
import type { LabContext, Task } from "../core/task.ts";
import type { Storage } from "../core/storage.ts";
import { loadOrRun } from "./_execute.ts";
import type { TaskMonitorInfo } from "../core/runner.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { type MonitoredTask, UsageMonitor } from "./_monitor.ts";
import type { Outcome } from "./_outcomes.ts";
import { RunnerBase } from "./_runner_base.ts";

interface Job {
  task: Task;
  name: string;
  useCache: boolean;
}

interface Running extends Job, MonitoredTask {}

// A synchronous task never yields: between tasks, at least this often, the
// runner lets the event loop run, so that a Ctrl-C (a signal handler) and
// timers get in before the next task starts.
const YIELD_EVERY_MS = 5;

/** Runs tasks in the calling thread; see `SerialRunnerBackend` and `AsyncRunnerBackend`. */
export class InProcessRunner extends RunnerBase {
  readonly capacity: number;
  readonly #storage: Storage;
  readonly #context: LabContext;
  readonly #pid: number;
  readonly #monitor: UsageMonitor;
  readonly #abort = new AbortController();
  readonly #queue: Job[] = [];
  #queueHead = 0;
  readonly #running = new Set<Running>();
  #pumpScheduled = false;
  #lastYield = performance.now();

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
    this.#context = options.context;
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
    this.#queue.push({ task, name: taskName, useCache });
    if (!this.#pumpScheduled) {
      this.#pumpScheduled = true;
      queueMicrotask(() => this.#pump());
    }
  }

  #pump(): void {
    this.#pumpScheduled = false;
    const startable = this.#running.size < this.capacity && this.#queueHead < this.#queue.length;
    if (startable && performance.now() - this.#lastYield >= YIELD_EVERY_MS) {
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
    while (this.#running.size < this.capacity && this.#queueHead < this.#queue.length) {
      const job = this.#queue[this.#queueHead++]!;
      this.#start(job);
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    }
  }

  #start(job: Job): void {
    const running: Running = {
      ...job,
      status: "running",
      start: new Date(),
      sample: this.#monitor.startSample(),
    };
    this.#running.add(running);
    const env = { storage: this.#storage, context: this.#context, signal: this.#abort.signal };
    loadOrRun(job.task, job.name, job.useCache, env, () => running.status = "loading").then(
      (result) => {
        if (!this.#running.delete(running)) return; // stopped: already reported as failed
        this.results.set(job.task, result);
        this.#finish([job.task, result.meta]);
      },
      (error: unknown) => {
        if (!this.#running.delete(running)) return;
        this.#finish([job.task, error instanceof Error ? error : new Error(String(error))]);
      },
    );
  }

  #finish(outcome: Outcome): void {
    this.outcomes.push(outcome);
    this.#pump();
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
    for (const running of [...this.#running]) {
      this.#running.delete(running);
      this.outcomes.push([
        running.task,
        new RunnerError(`Stopped ${running.name} while it was running`),
      ]);
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
    return this.#queue.length - this.#queueHead + this.#running.size + this.outcomes.size;
  }

  /**
   * One row per running task, with this process's figures (tasks in one
   * thread cannot be told apart) and CPU use since the task started.
   *
   * @returns The rows.
   */
  getTaskInfos(): TaskMonitorInfo[] {
    const place = { usage: "here", pid: this.#pid, threadId: null } as const;
    return this.#monitor.infos(this.#running, () => place, "start");
  }
}
