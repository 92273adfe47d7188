/**
 * The runner behind the `thread`, `spawn` and `fork` backends: a pool of
 * workers started lazily up to its size and reused across tasks, one task per
 * worker at a time plus a few sent ahead (pipelined: see `WorkerSlot`), so a
 * worker starts its next task without waiting for a round trip. What differs
 * between the backends is their `PoolStrategy`; what is sent is encoded in
 * `_task_wire.ts`.
 *
 * Where caching happens is decided here, once, from the storage's
 * `describe()`: a storage that describes itself is reopened in each worker,
 * which saves there (see `workerStorage`); one that does not is saved on the
 * Lab's side while the task still runs in a worker. Cached results are always
 * loaded on the Lab's side (the result must end up there anyway), so a fully
 * cached run starts no worker.
 *
 * @module
 */
import { RunnerError } from "../core/errors.ts";
import { emitLog } from "../core/logger.ts";
import { getTaskResult, type LabContext, type Task, type TaskResult } from "../core/task.ts";
import { type Storage, workerStorage } from "../core/storage.ts";
import { loadCachedResult, saveResult } from "./_execute.ts";
import { fromErrorData, type StorageSpec, type WorkerMessage } from "./_protocol.ts";
import { heapLimitOf } from "./_heap_limit.ts";
import type { TaskMonitorInfo } from "../core/runner.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { type TaskPlace, UsageMonitor } from "./_monitor.ts";
import { type Job, type Running, runningRecord, ShortTypes, type Slot } from "./_pool_jobs.ts";
import type { PoolStrategy } from "./_pool_strategy.ts";
import { RunnerBase } from "./_runner_base.ts";
import { encodeRun } from "./_task_wire.ts";
import { MAX_HELD, WorkerSlot } from "./_worker_slot.ts";

/** What a pool is built from. */
export interface PoolOptions {
  strategy: PoolStrategy;
  size: number;
  context: LabContext;
  storage: Storage;
  runtime: RuntimeAdapter;
}

/** Runs tasks in a pool of worker threads or subprocesses; see the thread, spawn and fork backends. */
export class PoolRunner extends RunnerBase {
  readonly capacity: number;
  /** The most workers. */
  readonly #size: number;
  readonly #strategy: PoolStrategy;
  readonly #context: LabContext;
  readonly #storage: Storage;
  /** What workers reopen: the storage's description, or nothing when the Lab's side caches. */
  readonly #spec: StorageSpec;
  /** True when workers cannot reopen the storage: the Lab's side loads and saves. */
  readonly #labSaves: boolean;
  readonly #runtime: RuntimeAdapter;
  readonly #monitor: UsageMonitor;
  readonly #slots = new Set<Slot>();
  /** Workers being ended outside `close`, which waits for them. */
  readonly #ending = new Set<Promise<unknown>>();
  #queue: Job[] = [];
  readonly #running = new Map<number, Running>();
  #nextId = 1;
  readonly #shortTypes = new ShortTypes();
  #closed = false;
  #pumpScheduled = false;

  /** @param options The backend's strategy, the pool's size, and the Lab's context and storage. */
  constructor(options: PoolOptions) {
    super();
    this.capacity = options.size * MAX_HELD;
    this.#size = options.size;
    this.#strategy = options.strategy;
    this.#context = options.context;
    this.#storage = options.storage;
    this.#runtime = options.runtime;
    this.#monitor = new UsageMonitor(options.runtime);
    const description = workerStorage(options.storage, options.strategy.worker);
    this.#labSaves = description === null;
    this.#spec = description ?? { kind: "null" };
  }

  /**
   * Queues `task`; with `useCache` its cached result is loaded instead of running it.
   *
   * @param task The task, whose dependencies have results.
   * @param taskName Its name in logs, such as `Experiment[03]`.
   * @param useCache Whether to load its cached result.
   * @throws {RunnerError} when the runner is closed.
   */
  submitTask(task: Task, taskName: string, useCache: boolean): void {
    if (this.#closed) throw new RunnerError(`Cannot submit ${taskName}: the runner is closed`);
    let heapMb: number | null;
    try {
      heapMb = heapLimitOf(this.#strategy, this.#runtime, task, taskName);
    } catch (error) {
      this.outcomes.push([task, error instanceof Error ? error : new Error(String(error))]);
      return;
    }
    const job = { id: this.#nextId++, task, name: taskName, useCache, heapMb };
    if (useCache && this.#storage.storesNothing !== true) {
      this.#loadHere(job);
      return;
    }
    this.#queue.push(job);
    this.#schedulePump();
  }

  // Loads here (no worker needed), else runs in a worker.
  #loadHere(job: Job): void {
    const running = this.#track(job, "loading", null);
    loadCachedResult(job.task, this.#storage).then(
      (result) => {
        if (result !== null) this.#succeed(running, result);
        else if (this.#running.get(job.id) === running) {
          this.#running.delete(job.id);
          this.#queue.push({ ...job, useCache: false });
          this.#schedulePump();
        }
      },
      (error: Error) => this.#fail(running, error),
    );
  }

  #track(job: Job, status: Running["status"], slot: Slot | null): Running {
    const running = runningRecord(job, status, slot);
    this.#running.set(job.id, running);
    return running;
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
    for (const slot of this.#slots) if (slot.startingShared) starting++;
    const waiting: Job[] = [];
    for (const [i, job] of queue.entries()) {
      if (job.heapMb !== null) {
        if (this.#slots.size < this.#size || this.#retireIdle()) this.#startWorker(job);
        else waiting.push(job);
        continue;
      }
      // An idle worker, else one starting or to start, else one to send it ahead to.
      const growing = starting > 0 || this.#slots.size < this.#size;
      const pair = queue.length - i > 1;
      const depth = this.#shortTypes.depth(job.task);
      const slot = this.#slotWhere((s) => s.idleShared) ??
        (growing ? null : this.#slotWhere((s) => s.takesAhead(depth, pair)));
      if (slot !== null) this.#dispatch(slot, job);
      else {
        waiting.push(job);
        if (starting > 0) starting--;
        else if (this.#slots.size < this.#size) this.#startWorker(null);
      }
    }
    this.#queue = this.#queue.length === 0 ? waiting : waiting.concat(this.#queue);
    for (const slot of this.#slots) this.#flush(slot);
  }

  #slotWhere(test: (slot: Slot) => boolean): Slot | null {
    for (const slot of this.#slots) if (test(slot)) return slot;
    return null;
  }

  // Ends an idle shared worker to make room; false when there is none.
  #retireIdle(): boolean {
    const slot = this.#slotWhere((s) => s.idleShared);
    if (slot !== null) this.#retire(slot);
    return slot !== null;
  }

  // Ends a worker that runs nothing; `close` waits for it.
  #retire(slot: Slot): void {
    this.#slots.delete(slot);
    const ending = slot.end();
    this.#ending.add(ending);
    void ending.finally(() => this.#ending.delete(ending));
  }

  #startWorker(reserved: Job | null): void {
    const slot: Slot = new WorkerSlot(reserved, reserved?.heapMb ?? null);
    this.#slots.add(slot);
    slot.start(this.#strategy, this.#runtime, {
      message: (message) => this.#onMessage(slot, message as WorkerMessage),
      exit: (reason) => this.#onExit(slot, reason),
    }, () => this.#closed);
  }

  #onMessage(slot: Slot, message: WorkerMessage): void {
    switch (message.kind) {
      case "ready":
        try {
          slot.handle!.send({
            kind: "startup",
            context: this.#strategy.startupContext(this.#context),
            storage: this.#spec,
          });
        } catch (error) {
          // Checked when the pool was built; never let a channel's throw reach the host.
          this.#onExit(slot, `its start-up message could not be sent: ${(error as Error).message}`);
          void slot.end();
          return;
        }
        slot.ready = true;
        if (slot.reserved !== null) {
          this.#dispatch(slot, slot.reserved);
          slot.reserved = null;
          this.#flush(slot);
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
        const ran = message.kind === "result" ? message.meta.durationMs : null;
        if (ran !== null && running !== undefined) this.#shortTypes.record(running.task, ran);
        const now = slot.finished(message.id);
        if (now === undefined) { // cancelled or stopped meanwhile
          if (slot.settled(message.id)) this.#pump();
          return;
        }
        const promoted = now === null ? undefined : this.#running.get(now.id);
        if (promoted !== undefined) promoted.start = new Date();
        if (running === undefined || running.slot !== slot) {
          this.#pump();
          return;
        }
        if (slot.heapMb !== null) this.#retire(slot); // a dedicated worker serves one task
        if (message.kind === "error") {
          // A failed rebuild may have left tasks unheld: resend them from now on.
          slot.known.clear();
          this.#fail(running, fromErrorData(message.error));
        } else this.#complete(running, { value: message.value, meta: message.meta });
        this.#pump();
        return;
      }
      case "skipped": // a cancelled task it had not started
        if (slot.settled(message.id)) this.#pump();
        return;
      case "log":
        emitLog(message.record);
        return;
      case "exiting":
        slot.exitCode = message.code;
        this.#strategy.exiting(slot.handle);
    }
  }

  #onExit(slot: Slot, reason: string): void {
    if (slot.gone) return;
    slot.gone = true;
    this.#slots.delete(slot);
    const running = slot.job === null ? undefined : this.#running.get(slot.job.id);
    slot.job = null;
    for (const next of slot.dropAhead().reverse()) { // never started: run on another worker
      if (!this.#running.delete(next.id) || this.#closed) continue;
      const { id, task, name, useCache, heapMb } = next;
      this.#queue.unshift({ id, task, name, useCache, heapMb });
    }
    const where = this.#strategy.label;
    const why = slot.exitReason(reason);
    if (slot.reserved !== null && !this.#closed) {
      this.outcomes.push([
        slot.reserved.task,
        new RunnerError(`Cannot start a ${where} to run ${slot.reserved.name}: ${why}`),
      ]);
      slot.reserved = null;
    } else if (running !== undefined && running.slot === slot) {
      this.#fail(
        running,
        new RunnerError(`Task ${running.name} failed: its ${where} ended while running it: ${why}`),
      );
    } else if (!slot.ready && slot.heapMb === null && !this.#closed && this.#queue.length > 0) {
      // A worker that dies before it is ready would die again: fail a task rather than loop.
      const job = this.#queue.shift()!;
      this.outcomes.push([
        job.task,
        new RunnerError(`Cannot start a ${where} to run ${job.name}: ${why}`),
      ]);
    }
    this.#pump();
  }

  #dispatch(slot: Slot, job: Job): void {
    const running = this.#track(job, "running", slot);
    try {
      const message = encodeRun(
        {
          id: job.id,
          task: job.task,
          taskName: job.name,
          useCache: job.useCache,
          context: this.#strategy.runContext(job.task, job.name, this.#context),
        },
        slot.known,
        (dep) => getTaskResult(dep) ?? this.results.find(dep),
      );
      slot.send(job, message, this.#shortTypes.depth(job.task));
    } catch (error) {
      this.#fail(running, error instanceof Error ? error : new Error(String(error)));
      this.#schedulePump();
    }
  }

  // Sends what was dispatched to `slot`; a task whose message cannot be sent fails.
  #flush(slot: Slot): void {
    for (const [job, error] of slot.flush()) {
      const running = this.#running.get(job.id);
      if (running !== undefined) this.#fail(running, error);
      this.#schedulePump();
    }
  }

  #complete(running: Running, result: TaskResult): void {
    if (!this.#labSaves || this.#storage.storesNothing === true) {
      this.#succeed(running, result);
      return;
    }
    // The worker cannot reach this storage: save here before reporting success.
    saveResult(running.task, result, this.#storage).then(
      () => this.#succeed(running, result),
      (error: Error) => this.#fail(running, error),
    );
  }

  #succeed(running: Running, result: TaskResult): void {
    if (this.#running.get(running.id) !== running) return;
    this.#running.delete(running.id);
    this.results.set(running.task, result);
    this.outcomes.push([running.task, result.meta]);
  }

  #fail(running: Running, error: Error): void {
    if (this.#running.get(running.id) !== running) return;
    this.#running.delete(running.id);
    this.outcomes.push([running.task, error]);
  }

  /** Cancels the submitted tasks that have not started, ending workers started for them. */
  cancel(): void {
    this.#queue = [];
    for (const slot of this.#slots) {
      // A late result of one of them is ignored.
      for (const next of slot.dropAhead(true)) this.#running.delete(next.id);
    }
    for (const slot of [...this.#slots]) {
      if (slot.reserved === null) continue;
      slot.reserved = null;
      this.#retire(slot);
    }
  }

  /**
   * Ends the running tasks, in piscina's order: each is reported as failed,
   * then its worker is ended (and replaced when more tasks come).
   *
   * @returns Once their workers are gone.
   */
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

  /**
   * Ends every worker; idempotent.
   *
   * @returns Once every worker is gone.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    const ending: Array<Promise<unknown>> = [];
    for (const slot of this.#slots) {
      slot.reserved = null;
      if (slot.handle !== null) ending.push(slot.handle.terminate());
      else ending.push(slot.end()); // terminated as soon as it has started
    }
    await Promise.all([...ending, ...this.#ending]);
  }

  /**
   * How many tasks are submitted and neither cancelled nor returned by `wait`.
   *
   * @returns The count.
   */
  pendingTaskCount(): number {
    let reserved = 0;
    for (const slot of this.#slots) if (slot.reserved !== null) reserved++;
    return this.#queue.length + reserved + this.#running.size + this.outcomes.size;
  }

  /**
   * One row per running or loading task. Subprocesses report their own CPU and
   * RSS since the last look; threads share this process, so they get its
   * figures: the best the runtimes offer.
   *
   * @returns The rows.
   */
  getTaskInfos(): TaskMonitorInfo[] {
    const own = this.#strategy.worker === "thread" ? "here" : "process";
    const placeOf = (running: Running): TaskPlace => {
      const handle = running.slot?.handle ?? null;
      return {
        usage: own === "here" || handle !== null ? own : "none",
        pid: handle?.pid ?? this.#runtime.pid,
        threadId: handle?.threadId ?? null,
      };
    };
    const started = [...this.#running.values()].filter((r) => !r.slot?.holdsAhead(r.id));
    return this.#monitor.infos(started, placeOf, "lastLook");
  }
}
