/**
 * The runner behind the `thread`, `spawn` and `fork` backends: a pool of
 * workers started lazily up to its size and reused across tasks, one task per
 * worker at a time.
 *
 * @module
 */
import { cacheOf } from "../caches/_default_cache.ts";
import { CacheError, CorruptEntryError, RunnerError, TaskNotFound } from "../core/errors.ts";
import { emitLog } from "../core/logger.ts";
import { refTaskText } from "../core/params.ts";
import {
  getTaskResult,
  type LabContext,
  type Task,
  taskDependencies,
  type TaskResult,
} from "../core/task.ts";
import { LocalStorage } from "../storage/local_storage.ts";
import { NullStorage } from "../storage/null_storage.ts";
import type { Storage } from "../core/storage.ts";
import { processUsage } from "./_proc_usage.ts";
import {
  fromErrorData,
  type RunMessage,
  type StorageSpec,
  type WorkerMessage,
} from "./_protocol.ts";
import { workerOptionsOf } from "./_runner_options.ts";
import type { Runner, TaskMonitorInfo } from "../core/runner.ts";
import { OUT_OF_MEMORY, type RuntimeAdapter, type WorkerHandle } from "../runtime/adapter.ts";
import { type Outcome, Outcomes } from "./_outcomes.ts";
import { Results } from "./_results.ts";

/** Which backend a pool serves; decides where workers run and what they are sent. */
export type PoolKind = "thread" | "spawn" | "fork";

/** What a pool is built from. */
export interface PoolOptions {
  kind: PoolKind;
  size: number;
  context: LabContext;
  storage: Storage;
  runtime: RuntimeAdapter;
}

interface Job {
  id: number;
  task: Task;
  name: string;
  useCache: boolean;
  /** The heap limit of the dedicated worker it needs, or null for a shared one. */
  heapMb: number | null;
}

interface Running extends Job {
  status: "running" | "loading";
  start: Date;
  slot: Slot | null;
  sample: { cpuMicros: number; at: number } | null;
}

interface Slot {
  handle: WorkerHandle | null;
  /** Settles once the worker has started (or failed to). */
  started: Promise<unknown>;
  ready: boolean;
  job: Running | null;
  lastName: string;
  exitCode: number | null;
  gone: boolean;
  /** The heap limit of a dedicated worker (one task, then ended), or null. */
  heapMb: number | null;
  /** The job a dedicated worker was started for, until it is ready. */
  reserved: Job | null;
  /** True once its stderr reported that it ran out of memory. */
  outOfMemory: boolean;
  /** Cache keys of the tasks this worker holds, so nested tasks are sent once, by reference. */
  known: Set<string>;
}

// What V8 (Node, Deno) writes to stderr as it dies of an exhausted heap.
const OOM_LINE = /Reached heap limit|JavaScript heap out of memory|Fatal JavaScript out of memory/;

// After the build, modules end in .js and the entries with them.
const EXT = import.meta.url.endsWith(".js") ? ".js" : ".ts";
const THREAD_ENTRY = new URL(`./_thread_entry${EXT}`, import.meta.url);
const PROCESS_ENTRY = new URL(`./_process_entry${EXT}`, import.meta.url);

const modulesOfTask = new WeakMap<Task, readonly string[]>();

/** The modules defining `task`'s type and every type nested in its parameters. */
function modulesOf(task: Task): readonly string[] {
  const cached = modulesOfTask.get(task);
  if (cached !== undefined) return cached;
  // Iterative post-order, so a deep chain of tasks needs no deep recursion.
  const stack: Array<[Task, boolean]> = [[task, false]];
  while (stack.length > 0) {
    const [current, expanded] = stack.pop()!;
    if (modulesOfTask.has(current)) continue;
    const deps = taskDependencies(current);
    if (!expanded) {
      stack.push([current, true]);
      for (const dep of deps) if (!modulesOfTask.has(dep)) stack.push([dep, false]);
      continue;
    }
    if (current.type.module === null) {
      throw new RunnerError(
        `Cannot run ${current} in a worker: the module defining task type "${current.type.name}" ` +
          `is unknown; pass module: import.meta.url to task()`,
      );
    }
    const set = new Set([current.type.module]);
    for (const dep of deps) for (const m of modulesOfTask.get(dep)!) set.add(m);
    modulesOfTask.set(current, [...set]);
  }
  return modulesOfTask.get(task)!;
}

/**
 * The tasks a worker must rebuild to run `task`, dependencies first, each as
 * `[cacheKey, refTaskText]`, skipping (and then adding to) `known`.
 */
function unknownTasks(task: Task, known: Set<string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const stack: Array<[Task, boolean]> = [[task, false]];
  while (stack.length > 0) {
    const [current, expanded] = stack.pop()!;
    if (known.has(current.cacheKey)) continue;
    if (expanded) {
      known.add(current.cacheKey);
      out.push([current.cacheKey, refTaskText(current)]);
      continue;
    }
    stack.push([current, true]);
    for (const dep of taskDependencies(current)) {
      if (!known.has(dep.cacheKey)) stack.push([dep, false]);
    }
  }
  return out;
}

/** Runs tasks in a pool of worker threads or subprocesses; see the thread, spawn and fork backends. */
export class PoolRunner implements Runner {
  readonly capacity: number;
  readonly #kind: PoolKind;
  readonly #context: LabContext;
  readonly #storage: Storage;
  readonly #spec: StorageSpec;
  /** True when the worker cannot reach the storage: the main side loads and saves. */
  readonly #mainSaves: boolean;
  readonly #runtime: RuntimeAdapter;
  readonly #slots = new Set<Slot>();
  /** Workers being ended outside `close`, which waits for them. */
  readonly #ending = new Set<Promise<unknown>>();
  #queue: Job[] = [];
  readonly #running = new Map<number, Running>();
  readonly #outcomes = new Outcomes();
  readonly #results = new Results();
  #nextId = 1;
  #closed = false;
  #pumpScheduled = false;

  constructor(options: PoolOptions) {
    this.capacity = options.size;
    this.#kind = options.kind;
    this.#context = options.context;
    this.#storage = options.storage;
    this.#runtime = options.runtime;
    if (options.storage instanceof NullStorage) {
      this.#spec = { kind: "none" };
      this.#mainSaves = false;
    } else if (options.storage.constructor === LocalStorage) {
      this.#spec = { kind: "local", dir: (options.storage as LocalStorage).dir };
      this.#mainSaves = false;
    } else {
      this.#spec = { kind: "none" };
      this.#mainSaves = true;
    }
  }

  submitTask(task: Task, taskName: string, useCache: boolean): void {
    if (this.#closed) throw new RunnerError(`Cannot submit ${taskName}: the runner is closed`);
    let heapMb: number | null;
    try {
      heapMb = this.#heapLimitOf(task, taskName);
    } catch (error) {
      this.#outcomes.push([task, error instanceof Error ? error : new Error(String(error))]);
      return;
    }
    const job = { id: this.#nextId++, task, name: taskName, useCache, heapMb };
    if (useCache && this.#mainSaves) {
      this.#loadHere(job);
      return;
    }
    this.#queue.push(job);
    this.#schedulePump();
  }

  // The task's runnerOptions for this backend, checked; fails it when the limit cannot be kept.
  #heapLimitOf(task: Task, taskName: string): number | null {
    const { maxHeapMb } = workerOptionsOf(task, this.#kind);
    if (maxHeapMb === null) return null;
    const unsupported = this.#runtime.heapLimitUnsupported(
      this.#kind === "thread" ? "thread" : "process",
    );
    if (unsupported !== null) {
      throw new RunnerError(
        `Cannot run ${taskName} with ${this.#kind}.maxHeapMb ${maxHeapMb}: ${unsupported}`,
      );
    }
    return maxHeapMb;
  }

  // A storage workers cannot reach (MemoryStorage, a custom one): load here.
  #loadHere(job: Job): void {
    const running: Running = {
      ...job,
      status: "loading",
      start: new Date(),
      slot: null,
      sample: null,
    };
    this.#running.set(job.id, running);
    cacheOf(job.task.type).loadResultWithMeta(this.#storage, job.task).then(
      (result) => this.#succeed(running, result),
      (error: unknown) => {
        if (!this.#running.has(job.id)) return;
        if (error instanceof TaskNotFound) {
          this.#running.delete(job.id);
          this.#queue.push({ ...job, useCache: false });
          this.#schedulePump();
          return;
        }
        this.#fail(
          running,
          new CorruptEntryError(
            `Cannot load the cached result of ${job.task}: ${(error as Error).message}`,
            { cause: error },
          ),
        );
      },
    );
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  // Queued jobs in order: a shared job takes an idle shared worker, or waits for
  // one starting, or starts one; a job with a heap limit starts a dedicated
  // worker, ending an idle shared one when the pool is full.
  #pump(): void {
    if (this.#closed) return;
    const queue = this.#queue;
    this.#queue = [];
    let starting = 0; // shared workers starting up: each will take a job when ready
    for (const slot of this.#slots) {
      if (!slot.ready && slot.heapMb === null && slot.job === null) starting++;
    }
    const waiting: Job[] = [];
    for (const job of queue) {
      if (job.heapMb !== null) {
        if (this.#slots.size < this.capacity || this.#retireIdle()) this.#startWorker(job);
        else waiting.push(job);
        continue;
      }
      const idle = this.#idleShared();
      if (idle !== null) this.#dispatch(idle, job);
      else {
        waiting.push(job);
        if (starting > 0) starting--;
        else if (this.#slots.size < this.capacity) this.#startWorker(null);
      }
    }
    this.#queue = [...waiting, ...this.#queue];
  }

  #idleShared(): Slot | null {
    for (const slot of this.#slots) {
      if (slot.ready && slot.job === null && slot.heapMb === null) return slot;
    }
    return null;
  }

  // Ends an idle shared worker to make room; false when there is none.
  #retireIdle(): boolean {
    const slot = this.#idleShared();
    if (slot === null) return false;
    this.#retire(slot);
    return true;
  }

  // Ends a worker that runs nothing; `close` waits for it.
  #retire(slot: Slot): void {
    slot.gone = true;
    this.#slots.delete(slot);
    const ending = slot.handle !== null ? slot.handle.terminate() : slot.started;
    this.#ending.add(ending);
    void ending.finally(() => this.#ending.delete(ending));
  }

  #startWorker(reserved: Job | null): void {
    const slot: Slot = {
      handle: null,
      started: Promise.resolve(),
      ready: false,
      job: null,
      lastName: reserved?.name ?? "labtech worker",
      exitCode: null,
      gone: false,
      heapMb: reserved?.heapMb ?? null,
      reserved,
      outOfMemory: false,
      known: new Set(),
    };
    this.#slots.add(slot);
    const events = {
      message: (message: unknown) => this.#onMessage(slot, message as WorkerMessage),
      output: (stream: "stdout" | "stderr", line: string) => {
        if (stream === "stderr" && OOM_LINE.test(line)) slot.outOfMemory = true;
        emitLog({
          level: stream === "stderr" ? "warn" as const : "info" as const,
          source: slot.job?.name ?? slot.lastName,
          message: line,
        });
      },
      exit: (reason: string) => this.#onExit(slot, reason),
    };
    const limits = { maxHeapMb: slot.heapMb };
    const started = this.#kind === "thread"
      ? new Promise<WorkerHandle>((resolve) =>
        resolve(this.#runtime.startThread(THREAD_ENTRY, events, limits))
      )
      : this.#runtime.startProcess(PROCESS_ENTRY, events, limits);
    slot.started = started.then((handle) => {
      slot.handle = handle;
      if (this.#closed || slot.gone) return handle.terminate();
    }, (error: unknown) => this.#onExit(slot, `it could not start: ${(error as Error).message}`));
  }

  #onMessage(slot: Slot, message: WorkerMessage): void {
    switch (message.kind) {
      case "ready":
        slot.handle!.send({
          kind: "startup",
          context: this.#kind === "spawn" ? null : this.#context,
          storage: this.#spec,
        });
        slot.ready = true;
        if (slot.reserved !== null) {
          const job = slot.reserved;
          slot.reserved = null;
          this.#dispatch(slot, job);
          if (slot.job === null) this.#retire(slot); // it failed before it reached the worker
        }
        this.#pump();
        return;
      case "loading": {
        const running = this.#running.get(message.id);
        if (running !== undefined) running.status = "loading";
        return;
      }
      case "result":
      case "error": {
        const running = this.#running.get(message.id);
        if (running === undefined || running.slot !== slot) return; // stopped meanwhile
        slot.job = null;
        if (slot.heapMb !== null) this.#retire(slot); // a dedicated worker serves one task
        // After a failure the worker forgets the tasks it held, so both sides start afresh.
        if (message.kind === "error") slot.known.clear();
        if (message.kind === "error") this.#fail(running, fromErrorData(message.error));
        else this.#complete(running, { value: message.value, meta: message.meta });
        this.#pump();
        return;
      }
      case "log":
        emitLog(message.record);
        return;
      case "exiting":
        slot.exitCode = message.code;
        // A Web Worker that exits may say nothing more: end it so its task is reported.
        if (this.#kind === "thread") void slot.handle?.terminate();
    }
  }

  #onExit(slot: Slot, reason: string): void {
    if (slot.gone) return;
    slot.gone = true;
    this.#slots.delete(slot);
    const running = slot.job;
    slot.job = null;
    const where = this.#kind === "thread" ? "worker thread" : "worker process";
    const limit = slot.heapMb === null ? "" : ` (its heap limit is ${slot.heapMb} MB)`;
    const why = slot.exitCode !== null
      ? `the task called exit with code ${slot.exitCode}`
      : slot.outOfMemory || reason === OUT_OF_MEMORY
      ? `${OUT_OF_MEMORY}${limit}`
      : reason;
    if (slot.reserved !== null && !this.#closed) {
      this.#outcomes.push([
        slot.reserved.task,
        new RunnerError(`Cannot start a ${where} to run ${slot.reserved.name}: ${why}`),
      ]);
      slot.reserved = null;
    } else if (running !== null && this.#running.get(running.id) === running) {
      this.#fail(
        running,
        new RunnerError(`Task ${running.name} failed: its ${where} ended while running it: ${why}`),
      );
    } else if (!slot.ready && slot.heapMb === null && !this.#closed && this.#queue.length > 0) {
      // A worker that dies before it is ready would die again: fail a task rather than loop.
      const job = this.#queue.shift()!;
      this.#outcomes.push([
        job.task,
        new RunnerError(`Cannot start a ${where} to run ${job.name}: ${why}`),
      ]);
    }
    this.#pump();
  }

  #dispatch(slot: Slot, job: Job): void {
    const running: Running = { ...job, status: "running", start: new Date(), slot, sample: null };
    this.#running.set(job.id, running);
    let message: RunMessage;
    try {
      message = this.#runMessage(job, slot);
    } catch (error) {
      this.#fail(running, error instanceof Error ? error : new Error(String(error)));
      this.#schedulePump();
      return;
    }
    slot.job = running;
    slot.lastName = job.name;
    try {
      slot.handle!.send(message);
    } catch (error) {
      slot.job = null;
      slot.known.clear();
      this.#fail(
        running,
        new RunnerError(`Cannot send ${job.name} to its worker: ${(error as Error).message}`, {
          cause: error,
        }),
      );
      this.#schedulePump();
    }
  }

  #runMessage(job: Job, slot: Slot): RunMessage {
    const { task } = job;
    const deps: Array<[string, TaskResult]> = [];
    for (const dep of taskDependencies(task)) {
      const result = getTaskResult(dep) ?? this.#results.find(dep);
      if (result === undefined && job.useCache) continue; // a cached task's deps are not run
      if (result === undefined) {
        throw new RunnerError(
          `Cannot run ${job.name}: the result of its dependency ${dep} is missing`,
        );
      }
      deps.push([dep.cacheKey, result]);
    }
    const filter = task.type.definition.filterContext;
    return {
      kind: "run",
      id: job.id,
      taskName: job.name,
      modules: [...modulesOf(task)],
      tasks: unknownTasks(task, slot.known),
      key: task.cacheKey,
      deps,
      useCache: job.useCache,
      context: this.#kind !== "spawn"
        ? null
        : filter
        ? filter(task.params, this.#context)
        : this.#context,
    };
  }

  #complete(running: Running, result: TaskResult): void {
    if (!this.#mainSaves || this.#storage instanceof NullStorage) {
      this.#succeed(running, result);
      return;
    }
    // The worker cannot reach this storage: save here before reporting success.
    cacheOf(running.task.type).save(this.#storage, running.task, result).then(
      () => this.#succeed(running, result),
      (error: unknown) =>
        this.#fail(
          running,
          error instanceof CacheError ? error : new CacheError(
            `Cannot cache the result of ${running.task}: ${(error as Error).message}`,
            { cause: error },
          ),
        ),
    );
  }

  #succeed(running: Running, result: TaskResult): void {
    if (this.#running.get(running.id) !== running) return;
    this.#running.delete(running.id);
    this.#results.set(running.task, result);
    this.#outcomes.push([running.task, result.meta]);
  }

  #fail(running: Running, error: Error): void {
    if (this.#running.get(running.id) !== running) return;
    this.#running.delete(running.id);
    this.#outcomes.push([running.task, error]);
  }

  wait({ timeoutMs }: { timeoutMs: number | null }): Promise<Outcome[]> {
    return this.#outcomes.wait(timeoutMs, this.pendingTaskCount());
  }

  cancel(): void {
    this.#queue = [];
    for (const slot of [...this.#slots]) {
      if (slot.reserved === null) continue;
      slot.reserved = null;
      this.#retire(slot);
    }
  }

  // Piscina's order: report the running task as failed, then end and replace its worker.
  async stop(): Promise<void> {
    this.cancel();
    const ending: Array<Promise<void>> = [];
    for (const running of [...this.#running.values()]) {
      this.#fail(running, new RunnerError(`Stopped ${running.name} while it was running`));
      const slot = running.slot;
      if (slot !== null) {
        slot.job = null;
        if (slot.handle !== null) ending.push(slot.handle.terminate());
      }
    }
    await Promise.all(ending);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    const ending: Array<Promise<unknown>> = [];
    for (const slot of this.#slots) {
      slot.reserved = null;
      if (slot.handle !== null) ending.push(slot.handle.terminate());
      else {
        slot.gone = true; // terminated as soon as it has started
        ending.push(slot.started);
      }
    }
    await Promise.all([...ending, ...this.#ending]);
  }

  pendingTaskCount(): number {
    let reserved = 0;
    for (const slot of this.#slots) if (slot.reserved !== null) reserved++;
    return this.#queue.length + reserved + this.#running.size + this.#outcomes.size;
  }

  getResult(task: Task): TaskResult {
    return this.#results.get(task);
  }

  removeResults(tasks: Task[]): void {
    this.#results.remove(tasks);
  }

  // Subprocesses: their own CPU and RSS since the last look. Threads share
  // this process, so they get its figures: the best the runtimes offer.
  getTaskInfos(): TaskMonitorInfo[] {
    const now = performance.now();
    const here = this.#kind === "thread"
      ? { cpuMicros: this.#runtime.cpuMicros(), rssBytes: this.#runtime.rssBytes() }
      : null;
    return [...this.#running.values()].map((running) => {
      const handle = running.slot?.handle ?? null;
      const usage = here ?? (handle !== null ? processUsage(handle.pid) : null);
      let cpuPercent: number | null = null;
      if (usage !== null) {
        const last = running.sample;
        if (last !== null && now > last.at) {
          cpuPercent = ((usage.cpuMicros - last.cpuMicros) / ((now - last.at) * 1000)) * 100;
        }
        running.sample = { cpuMicros: usage.cpuMicros, at: now };
      }
      return {
        name: running.name,
        status: running.status,
        pid: handle?.pid ?? this.#runtime.pid,
        threadId: handle?.threadId ?? null,
        start: running.start,
        cpuPercent,
        rssBytes: usage?.rssBytes ?? null,
        children: null,
      };
    });
  }
}
