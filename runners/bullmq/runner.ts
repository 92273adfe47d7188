/**
 * The Lab side of the BullMQ backend: turns submitted tasks into BullMQ jobs
 * and the messages workers push to this run's Redis list into outcomes.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Queue } from "npm:bullmq@^6.7.0";
import type { Redis } from "npm:ioredis@^6.0.0";
import { cacheOf } from "../../caches/_default_cache.ts";
import { CacheError, CorruptEntryError, RunnerError, TaskNotFound } from "../../core/errors.ts";
import { emitLog } from "../../core/logger.ts";
import type { Runner, TaskMonitorInfo } from "../../core/runner.ts";
import type { Storage, StorageDescription } from "../../core/storage.ts";
import { getTaskResult, type Task, type TaskResult } from "../../core/task.ts";
import { fromErrorData } from "../_protocol.ts";
import { type Outcome, Outcomes } from "../_outcomes.ts";
import { Results } from "../_results.ts";
import { jobIdOf, keysOf, type RunMessage, unpack } from "./_shared.ts";
import { bullmqOptionsOf, type JobPlan } from "./_plan.ts";
import {
  buildJobData,
  failedJobError,
  joinJob,
  readJob,
  revive,
  warnIfNoWorker,
} from "./_lab_jobs.ts";

/** Everything a runner is built from; see `BullMQRunnerBackend`. */
export interface BullMQRunnerParts {
  capacity: number;
  prefix: string;
  defaultQueue: string;
  /** Queues by name, opened on first use. */
  queue: (name: string) => Queue;
  /** Commands. */
  redis: Redis;
  /** BLPOP on this run's list only. */
  blocker: Redis;
  where: string;
  storage: Storage;
  /** How workers reopen the storage, or null when the Lab loads and saves. */
  description: StorageDescription | null;
  contextHash: string;
  uploadContext: () => Promise<void>;
  recheckMs: number;
  warnEveryMs: number;
  close: () => Promise<void>;
}

interface Entry {
  task: Task;
  name: string;
  plan: JobPlan;
  useCache: boolean;
  submittedAt: number;
  started: { host: string; pid: number; at: Date } | null;
  status: "running" | "loading";
  usage: { pid: number | null; cpuPercent: number | null; rss: number | null } | null;
  resubmits: number;
  checking: boolean;
}

const MAX_RESUBMITS = 3;

/** Runs tasks as BullMQ jobs on `labtech worker` processes; see `BullMQRunnerBackend`. */
export class BullMQRunner implements Runner {
  readonly capacity: number;
  readonly #p: BullMQRunnerParts;
  readonly #keys: ReturnType<typeof keysOf>;
  readonly #runId = randomUUID();
  readonly #done: string;
  readonly #inFlight = new Map<string, Entry>();
  readonly #outcomes = new Outcomes();
  readonly #results = new Results();
  /** Dependency values this run put in Redis, by cache key. */
  readonly #uploaded = new Set<string>();
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  #closed = false;

  constructor(parts: BullMQRunnerParts) {
    this.#p = parts;
    this.capacity = parts.capacity;
    this.#keys = keysOf(parts.prefix);
    this.#done = this.#keys.done(this.#runId);
    void this.#listen();
    this.#timers.push(setInterval(() => void this.#recheck(), parts.recheckMs));
    this.#timers.push(setInterval(() => void this.#warnIfNoWorker(), parts.warnEveryMs));
  }

  submitTask(task: Task, taskName: string, useCache: boolean): void {
    if (this.#closed) throw new RunnerError(`Cannot submit ${taskName}: the runner is closed`);
    let plan: JobPlan;
    try {
      plan = {
        ...bullmqOptionsOf(task, taskName, this.#p.defaultQueue),
        jobId: jobIdOf(task.cacheKey),
      };
    } catch (error) {
      this.#outcomes.push([task, error as Error]);
      return;
    }
    const entry: Entry = {
      task,
      name: taskName,
      plan,
      useCache,
      submittedAt: Date.now(),
      started: null,
      status: useCache ? "loading" : "running",
      usage: null,
      resubmits: 0,
      checking: false,
    };
    this.#inFlight.set(task.cacheKey, entry);
    if (useCache && this.#p.description === null && !this.#p.storage.storesNothing) {
      this.#loadHere(entry);
    } else void this.#add(entry);
  }

  // A storage workers cannot reopen (MemoryStorage, a custom one): cached results load here.
  #loadHere(entry: Entry): void {
    entry.started = { host: "(this Lab)", pid: 0, at: new Date() };
    cacheOf(entry.task.type).loadResultWithMeta(this.#p.storage, entry.task).then(
      (result) => this.#succeed(entry, result),
      (error: unknown) => {
        if (this.#inFlight.get(entry.task.cacheKey) !== entry) return;
        if (error instanceof TaskNotFound) {
          entry.useCache = false;
          entry.started = null;
          void this.#add(entry);
          return;
        }
        this.#fail(
          entry,
          new CorruptEntryError(
            `Cannot load the cached result of ${entry.task}: ${(error as Error).message}`,
            { cause: error },
          ),
        );
      },
    );
  }

  // Joins the job for this cache key when one is in flight, else adds it. The waiter is
  // registered first, so a worker finishing meanwhile either notifies us or left its outcome.
  async #add(entry: Entry): Promise<void> {
    const { jobId, queue: queueName } = entry.plan;
    try {
      const queue = this.#p.queue(queueName);
      const data = await buildJobData(
        this.#p,
        entry,
        (dep) => getTaskResult(dep) ?? this.#results.find(dep),
        { runId: this.#runId, uploaded: this.#uploaded },
      );
      const joined = await joinJob(this.#p.redis, this.#keys, queue, jobId, this.#done);
      if (joined !== false) {
        if (joined !== null) await this.#onMessage(joined);
        return;
      }
      await queue.add(entry.task.type.name, data, {
        jobId,
        priority: entry.plan.priority,
        attempts: entry.plan.attempts,
        removeOnComplete: true,
        removeOnFail: { age: 3600 },
      });
    } catch (error) {
      this.#fail(
        entry,
        new RunnerError(
          `Cannot submit ${entry.name} to BullMQ queue "${queueName}" at ${this.#p.where}: ${
            (error as Error).message
          }`,
          { cause: error },
        ),
      );
    }
  }

  // BLPOP on this run's list, then drain what else is there in one LPOP.
  async #listen(): Promise<void> {
    while (!this.#closed) {
      let raw: string[] = [];
      try {
        const popped = await this.#p.blocker.blpop(this.#done, 1);
        if (popped === null) continue;
        raw = [popped[1]];
        const more = await this.#p.blocker.lpop(this.#done, 200);
        if (more !== null) raw.push(...more);
      } catch (error) {
        if (this.#closed) return;
        emitLog({ level: "debug", source: "BullMQ", message: `waiting for outcomes: ${error}` });
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      for (const text of raw) {
        try {
          await this.#onMessage(JSON.parse(text) as RunMessage);
        } catch (error) {
          emitLog({ level: "warn", source: "BullMQ", message: `bad message: ${error}` });
        }
      }
    }
  }

  async #onMessage(message: RunMessage): Promise<void> {
    const entry = this.#inFlight.get(message.key);
    if (entry === undefined) return; // cancelled, stopped, or already done
    switch (message.kind) {
      case "start":
        entry.started = { host: message.host, pid: message.pid, at: new Date() };
        entry.status = entry.useCache ? "loading" : "running";
        return;
      case "usage":
        entry.usage = message;
        entry.status = message.status;
        if (entry.started === null) entry.started = { host: "?", pid: 0, at: new Date() };
        return;
      case "log":
        emitLog({
          level: message.level,
          source: `${entry.name}@${message.host}`,
          message: message.message,
        });
        return;
      case "outcome":
        if (!message.ok) {
          this.#fail(entry, revive(fromErrorData(message.error)));
          return;
        }
        try {
          const bytes = "inline" in message.value
            ? Buffer.from(message.value.inline, "base64")
            : await this.#p.redis.getBuffer(message.value.key);
          if (bytes === null) throw new Error("its value expired in Redis before the Lab read it");
          const { value } = unpack(bytes) as { value: unknown };
          const meta = {
            start: message.meta.start === null ? null : new Date(message.meta.start),
            durationMs: message.meta.durationMs,
          };
          const result = { value, meta };
          if (this.#p.description === null && !this.#p.storage.storesNothing) {
            await this.#saveHere(entry, result);
          }
          this.#succeed(entry, result);
        } catch (error) {
          this.#fail(
            entry,
            error instanceof CacheError ? error : new RunnerError(
              `Cannot receive the result of ${entry.name} from ${message.host}: ${
                (error as Error).message
              }`,
              { cause: error },
            ),
          );
        }
    }
  }

  async #saveHere(entry: Entry, result: TaskResult): Promise<void> {
    try {
      await cacheOf(entry.task.type).save(this.#p.storage, entry.task, result);
    } catch (error) {
      if (error instanceof CacheError) throw error;
      throw new CacheError(
        `Cannot cache the result of ${entry.task}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  #succeed(entry: Entry, result: TaskResult): void {
    if (this.#inFlight.get(entry.task.cacheKey) !== entry) return;
    this.#inFlight.delete(entry.task.cacheKey);
    this.#results.set(entry.task, result);
    this.#outcomes.push([entry.task, result.meta]);
  }

  #fail(entry: Entry, error: Error): void {
    if (this.#inFlight.get(entry.task.cacheKey) !== entry) return;
    this.#inFlight.delete(entry.task.cacheKey);
    this.#outcomes.push([entry.task, error]);
  }

  // Outcomes can be lost (a worker killed, Redis restarted): look at the jobs themselves.
  #recheck(): void {
    const due = Date.now() - this.#p.recheckMs;
    for (const entry of [...this.#inFlight.values()]) {
      if (entry.submittedAt > due || entry.checking || entry.started?.pid === 0) continue;
      entry.checking = true;
      void this.#recheckOne(entry).finally(() => entry.checking = false);
    }
  }

  async #recheckOne(entry: Entry): Promise<void> {
    const { jobId, queue: queueName } = entry.plan;
    const queue = this.#p.queue(queueName);
    const job = await readJob(this.#p.redis, this.#keys, queue, jobId).catch(() => null);
    // Null: Redis is unreachable; ioredis reconnects and the next check sees the jobs.
    if (job === null || this.#inFlight.get(entry.task.cacheKey) !== entry) return;
    if (job.timestamp !== null && job.finishedOn === null) return; // waiting or running
    if (job.timestamp === null && job.outcome !== null) return await this.#onMessage(job.outcome);
    if (job.timestamp !== null && Number(job.finishedOn) >= entry.submittedAt) {
      await queue.remove(jobId).catch(() => {});
      return this.#fail(entry, failedJobError(entry.name, job.failedReason));
    }
    // The job is gone without an outcome (Redis lost it), or an old failure is in its way.
    if (++entry.resubmits > MAX_RESUBMITS) {
      return this.#fail(
        entry,
        new RunnerError(
          `Task ${entry.name} failed: its BullMQ job vanished from Redis at ${this.#p.where} ` +
            `${MAX_RESUBMITS} times without an outcome; check that Redis keeps its data`,
        ),
      );
    }
    emitLog({
      level: "warn",
      source: entry.name,
      message: `its job is no longer in Redis at ${this.#p.where}; submitting it again`,
    });
    await this.#p.uploadContext().catch(() => {});
    entry.submittedAt = Date.now();
    entry.started = null;
    this.#uploaded.clear();
    await this.#add(entry);
  }

  #warnIfNoWorker(): Promise<void> {
    const queued = new Map<string, number>();
    const old = Date.now() - this.#p.warnEveryMs;
    for (const entry of this.#inFlight.values()) {
      if (entry.started !== null || entry.submittedAt > old) continue;
      queued.set(entry.plan.queue, (queued.get(entry.plan.queue) ?? 0) + 1);
    }
    return warnIfNoWorker(this.#p, queued, () => this.#closed);
  }

  wait({ timeoutMs }: { timeoutMs: number | null }): Promise<Outcome[]> {
    return this.#outcomes.wait(timeoutMs, this.pendingTaskCount());
  }

  // Jobs no worker has started are dropped at once; a worker that starts one anyway finds
  // no waiter left and skips it.
  cancel(): void {
    const dropped: Entry[] = [];
    for (const entry of [...this.#inFlight.values()]) {
      if (entry.started !== null) continue;
      this.#inFlight.delete(entry.task.cacheKey);
      dropped.push(entry);
    }
    if (dropped.length > 0) void this.#forget(dropped, false);
  }

  async #forget(entries: Entry[], stop: boolean): Promise<void> {
    const multi = this.#p.redis.multi();
    for (const entry of entries) multi.srem(this.#keys.waiters(entry.plan.jobId), this.#done);
    // Workers kill what they run for these jobs once no Lab waits for them (a cancelled job
    // may have started before the Lab heard of it).
    const jobIds = entries.map((entry) => entry.plan.jobId);
    multi.publish(this.#keys.stopChannel, JSON.stringify({ done: this.#done, jobIds }));
    try {
      await multi.exec();
      if (!stop) {
        // Unstarted jobs nobody else waits for leave the queue (a started one refuses removal).
        await Promise.all(entries.map(async (entry) => {
          const left = await this.#p.redis.scard(this.#keys.waiters(entry.plan.jobId));
          if (left === 0) await this.#p.queue(entry.plan.queue).remove(entry.plan.jobId);
        }));
      }
    } catch {
      // Best effort: workers skip jobs without waiters anyway.
    }
  }

  async stop(): Promise<void> {
    this.cancel();
    const running = [...this.#inFlight.values()];
    for (const entry of running) {
      this.#fail(entry, new RunnerError(`Stopped ${entry.name} while it was running`));
    }
    if (running.length > 0) await this.#forget(running, true);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    const left = [...this.#inFlight.values()];
    this.#inFlight.clear();
    try {
      if (left.length > 0) await this.#forget(left, true);
      const keys = [
        this.#done,
        ...[...this.#uploaded].map((k) => this.#keys.value(this.#runId, k)),
      ];
      await this.#p.redis.del(...keys);
    } catch {
      // Redis is gone: its keys expire on their own.
    }
    this.#outcomes.release();
    await this.#p.close();
  }

  pendingTaskCount(): number {
    return this.#inFlight.size + this.#outcomes.size;
  }

  getResult(task: Task): TaskResult {
    return this.#results.get(task);
  }

  removeResults(tasks: Task[]): void {
    this.#results.remove(tasks);
    const keys: string[] = [];
    for (const task of tasks) {
      if (this.#uploaded.delete(task.cacheKey)) {
        keys.push(this.#keys.value(this.#runId, task.cacheKey));
      }
    }
    if (keys.length > 0) this.#p.redis.del(...keys).catch(() => {});
  }

  getTaskInfos(): TaskMonitorInfo[] {
    const infos: TaskMonitorInfo[] = [];
    for (const entry of this.#inFlight.values()) {
      if (entry.started === null) continue;
      infos.push({
        name: entry.name,
        status: entry.status,
        pid: entry.usage?.pid ?? (entry.started.pid || null),
        threadId: null,
        start: entry.started.at,
        cpuPercent: entry.usage?.cpuPercent ?? null,
        rssBytes: entry.usage?.rss ?? null,
        children: null,
        host: entry.started.host,
      });
    }
    return infos;
  }
}
