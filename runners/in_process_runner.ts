/**
 * The runner behind the `serial` and `async` backends: tasks run in the
 * Lab's own thread, up to `capacity` awaiting at once.
 *
 * @module
 */
import { RunnerError } from "../core/errors.ts";
import type { LabContext, Task, TaskResult } from "../core/task.ts";
import type { Storage } from "../core/storage.ts";
import { executeTask } from "./_execute.ts";
import type { Runner, TaskMonitorInfo } from "../core/runner.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { type Outcome, Outcomes } from "./_outcomes.ts";
import { Results } from "./_results.ts";

interface Job {
  task: Task;
  name: string;
  useCache: boolean;
}

interface Running extends Job {
  status: "running" | "loading";
  start: Date;
  /** Process CPU time (µs) sampled at or shortly before the start, and when (ms, performance.now). */
  cpuAtStart: number;
  cpuSampledAt: number;
}

// Reading process CPU time costs tens of µs on Deno (over half of a trivial
// task's overhead), so task starts share one sample per this many ms.
const CPU_SAMPLE_MS = 10;

/** Runs tasks in the calling thread; see `SerialRunnerBackend` and `AsyncRunnerBackend`. */
export class InProcessRunner implements Runner {
  readonly capacity: number;
  readonly #storage: Storage;
  readonly #context: LabContext;
  readonly #runtime: RuntimeAdapter;
  readonly #abort = new AbortController();
  readonly #queue: Job[] = [];
  #queueHead = 0;
  readonly #running = new Set<Running>();
  readonly #outcomes = new Outcomes();
  readonly #results = new Results();
  #pumpScheduled = false;
  #cpuSample = { micros: 0, at: -Infinity };

  constructor(options: {
    capacity: number;
    storage: Storage;
    context: LabContext;
    runtime: RuntimeAdapter;
  }) {
    this.capacity = options.capacity;
    this.#storage = options.storage;
    this.#context = options.context;
    this.#runtime = options.runtime;
  }

  submitTask(task: Task, taskName: string, useCache: boolean): void {
    this.#queue.push({ task, name: taskName, useCache });
    if (!this.#pumpScheduled) {
      this.#pumpScheduled = true;
      queueMicrotask(() => this.#pump());
    }
  }

  #pump(): void {
    this.#pumpScheduled = false;
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
      cpuAtStart: 0,
      cpuSampledAt: 0,
    };
    const now = performance.now();
    if (now - this.#cpuSample.at >= CPU_SAMPLE_MS) {
      this.#cpuSample = { micros: this.#runtime.cpuMicros(), at: now };
    }
    running.cpuAtStart = this.#cpuSample.micros;
    running.cpuSampledAt = this.#cpuSample.at;
    this.#running.add(running);
    const env = { storage: this.#storage, context: this.#context, signal: this.#abort.signal };
    executeTask(job.task, job.name, job.useCache, env, () => running.status = "loading").then(
      (result) => {
        if (!this.#running.delete(running)) return; // stopped: already reported as failed
        this.#results.set(job.task, result);
        this.#finish([job.task, result.meta]);
      },
      (error: unknown) => {
        if (!this.#running.delete(running)) return;
        this.#finish([job.task, error instanceof Error ? error : new Error(String(error))]);
      },
    );
  }

  #finish(outcome: Outcome): void {
    this.#outcomes.push(outcome);
    this.#pump();
  }

  wait({ timeoutMs }: { timeoutMs: number | null }): Promise<Outcome[]> {
    return this.#outcomes.wait(timeoutMs, this.pendingTaskCount());
  }

  cancel(): void {
    this.#queue.length = 0;
    this.#queueHead = 0;
  }

  stop(): Promise<void> {
    this.cancel();
    this.#abort.abort(new RunnerError("The Lab stopped running tasks"));
    // Code in this thread cannot be killed: its outcome is reported now and ignored later.
    for (const running of [...this.#running]) {
      this.#running.delete(running);
      this.#outcomes.push([
        running.task,
        new RunnerError(`Stopped ${running.name} while it was running`),
      ]);
    }
    this.#outcomes.release();
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  pendingTaskCount(): number {
    return this.#queue.length - this.#queueHead + this.#running.size + this.#outcomes.size;
  }

  getResult(task: Task): TaskResult {
    return this.#results.get(task);
  }

  removeResults(tasks: Task[]): void {
    this.#results.remove(tasks);
  }

  getTaskInfos(): TaskMonitorInfo[] {
    const now = performance.now();
    const cpu = this.#runtime.cpuMicros();
    const rss = this.#runtime.rssBytes();
    return [...this.#running].map((running) => {
      // CPU used since the sample, over the wall time since that same sample.
      const wallMicros = (now - running.cpuSampledAt) * 1000;
      return {
        name: running.name,
        status: running.status,
        pid: this.#runtime.pid,
        threadId: null,
        start: running.start,
        // Whole-process figures: tasks in one thread cannot be told apart.
        cpuPercent: wallMicros > 0 ? ((cpu - running.cpuAtStart) / wallMicros) * 100 : null,
        rssBytes: rss,
        children: null,
      };
    });
  }
}
