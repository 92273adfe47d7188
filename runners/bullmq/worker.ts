/**
 * The worker side of the BullMQ backend: takes jobs from queues, rebuilds
 * their tasks from types this process imported, runs them on its slots and
 * pushes starts, usage, log lines and outcomes to each waiting Lab's list.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Job, Worker } from "npm:bullmq@^6.7.0";
import { cacheOf } from "../../caches/_default_cache.ts";
import { RunnerError } from "../../core/errors.ts";
import { emitLog, type LogRecord, setLogSink } from "../../core/logger.ts";
import { fromStored } from "../../core/params.ts";
import { findTaskType } from "../../core/registry.ts";
import type { Storage } from "../../core/storage.ts";
import {
  type LabContext,
  makeTaskWithVersion,
  setTaskResult,
  type Task,
  type TaskResult,
  type TaskType,
} from "../../core/task.ts";
import { NullStorage } from "../../storage/null_storage.ts";
import { openStorage } from "../../storage/open.ts";
import { toErrorData } from "../_protocol.ts";
import {
  checkConnection,
  DEFAULT_PREFIX,
  FINISH_SCRIPT,
  INLINE_BYTES,
  type JobData,
  keysOf,
  loadDrivers,
  openRedis,
  OUTCOME_TTL_S,
  type OutcomeMessage,
  pack,
  type QueueSettings,
  type RedisConnection,
  type RunMessage,
  START_SCRIPT,
  type StopMessage,
  unpack,
  VALUE_TTL_S,
  whereOf,
} from "./_shared.ts";
import { loadRuntimeAdapter } from "../../runtime/adapter.ts";
import { executeOnSlot, type Slot, type SlotKind, Slots, slotUsage } from "./_slots.ts";

/**
 * Options of {@linkcode startQueueWorker}.
 *
 * @example
 * ```ts
 * import type { QueueWorkerOptions } from "./worker.ts";
 * import assert from "node:assert/strict";
 * const options: QueueWorkerOptions = {
 *   connection: "redis://127.0.0.1:6379",
 *   queues: ["default", "gpu"],
 *   concurrency: 4,
 *   runner: "fork",
 *   modules: ["./tasks.ts"],
 * };
 * assert.equal(options.queues?.length, 2);
 * ```
 */
export interface QueueWorkerOptions {
  connection: RedisConnection;
  /** Queues to serve; default `["default"]`. */
  queues?: string[];
  prefix?: string;
  /** Tasks run at once, over all queues. */
  concurrency: number;
  runner?: SlotKind;
  /** The modules this process imported, for error messages. */
  modules: string[];
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  /** How this worker is named in the Lab's log; default the host name. */
  host?: string;
}

/**
 * A running worker.
 *
 * @example
 * ```ts
 * import type { QueueWorker } from "./worker.ts";
 * import assert from "node:assert/strict";
 * const closed: boolean[] = [];
 * const worker: QueueWorker = { close: (force = false) => Promise.resolve(void closed.push(force)) };
 * await worker.close();
 * assert.deepEqual(closed, [false]);
 * ```
 */
export interface QueueWorker {
  /** Stops taking jobs; `force` kills running tasks (their jobs go to other workers). */
  close(force?: boolean): Promise<void>;
}

interface Running {
  data: JobData;
  waiters: string[];
  slot: Slot | null;
  stopped: boolean;
  /** Its worker is shutting down by force: the job goes to another worker, nothing is reported. */
  handedBack: boolean;
}

const CONTEXTS_KEPT = 4;
const USAGE_EVERY_MS = 1000;
const DAY_S = 24 * 3600;

/**
 * Connects to Redis and serves jobs until closed. Task types must already be
 * defined in this process (the `labtech worker` command imports the modules
 * named on its command line); nothing a job says is ever imported.
 *
 * @param options Where Redis is, which queues to serve and how many tasks to run at once.
 * @returns The worker; `close()` it to stop.
 * @throws {RunnerError} when Redis cannot be reached.
 *
 * @example
 * ```ts
 * import { startQueueWorker } from "./worker.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(
 *   startQueueWorker({ connection: "redis://127.0.0.1:1", concurrency: 1, modules: [] }),
 *   /Cannot connect to Redis at 127\.0\.0\.1:1/,
 * );
 * ```
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const keys = keysOf(prefix);
  const host = options.host ?? hostname();
  const where = whereOf(options.connection);
  const drivers = await loadDrivers();
  const redis = openRedis(drivers, options.connection);
  const subscriber = openRedis(drivers, options.connection);
  try {
    await checkConnection(redis, where, 5000);
  } catch (error) {
    redis.disconnect();
    subscriber.disconnect();
    throw error;
  }
  const { pid } = await loadRuntimeAdapter();
  const slots = new Slots(options.runner ?? "fork", options.concurrency);
  const running = new Map<string, Running>();
  const contexts = new Map<string, LabContext>();
  const storages = new Map<string, Promise<Storage>>();

  const push = (targets: string[], message: RunMessage) => {
    if (targets.length === 0) return Promise.resolve();
    const multi = redis.multi();
    const text = JSON.stringify(message);
    for (const target of targets) multi.rpush(target, text).expire(target, DAY_S);
    return multi.exec().catch(() => {});
  };

  // Task log lines (the pool names them by task) go to the Labs waiting for that task.
  const local = setLogSink((record: LogRecord) => {
    for (const job of running.values()) {
      if (job.data.taskName !== record.source) continue;
      void push(job.waiters, {
        kind: "log",
        key: job.data.key,
        host,
        level: record.level,
        message: record.message,
      });
      return;
    }
    local(record);
  });

  const fetchContext = async (hash: string): Promise<LabContext> => {
    let context = contexts.get(hash);
    if (context === undefined) {
      const bytes = await redis.getBuffer(keys.context(hash));
      if (bytes === null) {
        throw new RunnerError(`Cannot find the Lab's context in Redis at ${where} (it expired)`);
      }
      context = unpack(bytes) as LabContext;
      if (contexts.size >= CONTEXTS_KEPT) contexts.delete(contexts.keys().next().value!);
      contexts.set(hash, context);
    }
    return context;
  };

  const fetchStorage = (data: JobData): Promise<Storage> => {
    if (data.storage === null) return Promise.resolve(new NullStorage());
    const text = JSON.stringify(data.storage);
    let storage = storages.get(text);
    if (storage === undefined) {
      storage = openStorage(data.storage);
      storages.set(text, storage);
      storage.catch(() => storages.delete(text));
    }
    return storage.catch((error) => {
      throw new RunnerError(
        `Cannot open the Lab's storage on worker ${host}: ${(error as Error).message}`,
        { cause: error },
      );
    });
  };

  const findType = (name: string, taskName: string): TaskType => {
    const type = findTaskType<TaskType>(name);
    if (type !== undefined) return type;
    throw new RunnerError(
      `Cannot run ${taskName} on worker ${host}: task type "${name}" is not defined by the ` +
        `modules this worker imported (${options.modules.join(", ")}); start the worker with ` +
        `--import naming the module that defines it`,
    );
  };

  const rebuild = (data: JobData): { task: Task; held: Map<string, Task> } => {
    const type = findType(data.typeName, data.taskName);
    if (type.codeVersion !== data.codeVersion) {
      throw new RunnerError(
        `Cannot run ${data.taskName} on worker ${host}: the Lab and this worker run different ` +
          `code for task type "${data.typeName}" (code version ${
            JSON.stringify(data.codeVersion)
          } in the Lab, ${JSON.stringify(type.codeVersion)} here); run the same code on both sides`,
      );
    }
    const held = new Map<string, Task>();
    const make = (name: string, codeVersion: string | null, params: unknown) =>
      makeTaskWithVersion(findType(name, data.taskName), params, codeVersion);
    const resolve = (key: string) => {
      const task = held.get(key);
      if (task === undefined) {
        throw new RunnerError(`Cannot rebuild ${data.taskName}: ${key} is unknown`);
      }
      return task;
    };
    for (const [key, text] of data.tasks) {
      const task = fromStored(JSON.parse(text), make, resolve) as Task;
      if (task.cacheKey !== key) {
        throw new RunnerError(
          `Cannot run ${data.taskName} on worker ${host}: ${task} has cache key ${task.cacheKey} ` +
            `here but ${key} in the Lab; the two sides run different code`,
        );
      }
      held.set(key, task);
    }
    return { task: resolve(data.key), held };
  };

  const loadDeps = async (data: JobData, held: Map<string, Task>, storage: Storage) => {
    const loaded: Task[] = [];
    for (const [key, source] of data.deps) {
      const dep = held.get(key)!;
      let result: TaskResult;
      try {
        if (source.from === "storage") {
          result = await cacheOf(dep.type).loadResultWithMeta(storage, dep);
        } else {
          const bytes = source.from === "inline"
            ? Buffer.from(source.data, "base64")
            : await redis.getBuffer(source.key);
          if (bytes === null) throw new Error("it is no longer in Redis");
          result = unpack(bytes) as TaskResult;
        }
      } catch (error) {
        throw new RunnerError(
          `Cannot run ${data.taskName} on worker ${host}: cannot load the result of its ` +
            `dependency ${dep}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      setTaskResult(dep, result);
      loaded.push(dep);
    }
    return loaded;
  };

  const run = async (job: Running): Promise<TaskResult> => {
    const { data } = job;
    const { task, held } = rebuild(data);
    const [context, storage] = await Promise.all([fetchContext(data.context), fetchStorage(data)]);
    const deps = await loadDeps(data, held, storage);
    try {
      const binding = `${data.context} ${JSON.stringify(data.storage)}`;
      job.slot = await slots.acquire(binding, () => ({ context, storage }));
      try {
        if (job.stopped) throw new RunnerError(`Stopped ${data.taskName} while it was starting`);
        return await executeOnSlot(job.slot, task, data.taskName, data.useCache);
      } finally {
        slots.release(job.slot);
        job.slot = null;
      }
    } finally {
      for (const dep of deps) setTaskResult(dep, null);
    }
  };

  const processJob = async (job: Job<JobData>): Promise<void> => {
    const jobId = job.id!;
    const waitersKey = keys.waiters(jobId);
    const data = job.data;
    const start = JSON.stringify({ kind: "start", key: data.key, host, pid });
    const waiters = await redis.eval(START_SCRIPT, 1, waitersKey, start, DAY_S) as string[];
    if (waiters.length === 0) return; // every Lab that wanted it cancelled it
    const entry: Running = { data, waiters, slot: null, stopped: false, handedBack: false };
    running.set(jobId, entry);
    const ticker = setInterval(async () => {
      entry.waiters = await redis.smembers(waitersKey).catch(() => entry.waiters);
      const usage = entry.slot === null ? null : slotUsage(entry.slot);
      if (usage === null) return;
      void push(entry.waiters, {
        kind: "usage",
        key: data.key,
        pid: usage.pid,
        cpuPercent: usage.cpuPercent,
        rss: usage.rssBytes,
        status: usage.status,
      });
    }, USAGE_EVERY_MS);
    let outcome: OutcomeMessage;
    const base = { kind: "outcome" as const, key: data.key, host, jobTimestamp: job.timestamp };
    try {
      const result = await run(entry);
      const bytes = pack({ value: result.value });
      let value: { inline: string } | { key: string };
      if (bytes.byteLength <= INLINE_BYTES) {
        value = { inline: Buffer.from(bytes).toString("base64") };
      } else {
        value = { key: keys.value(`${jobId}-${randomUUID()}`, data.key) };
        await redis.set(value.key, Buffer.from(bytes), "EX", VALUE_TTL_S);
      }
      const meta = {
        start: result.meta.start === null ? null : new Date(result.meta.start).toISOString(),
        durationMs: result.meta.durationMs,
      };
      outcome = { ...base, ok: true, meta, value };
    } catch (error) {
      // Never settles: the lock lapses as the process exits, and another worker takes the job.
      if (entry.handedBack) return new Promise<void>(() => {});
      const attempts = job.opts.attempts ?? 1;
      if (!entry.stopped && !(error instanceof RunnerError) && job.attemptsMade + 1 < attempts) {
        void push(entry.waiters, {
          kind: "log",
          key: data.key,
          host,
          level: "warn",
          message: `attempt ${job.attemptsMade + 1} of ${attempts} failed (${
            (error as Error).message
          }); trying again`,
        });
        throw error;
      }
      outcome = { ...base, ok: false, error: toErrorData(error) };
    } finally {
      clearInterval(ticker);
      running.delete(jobId);
    }
    if (entry.stopped || entry.handedBack) return; // no Lab waits for it, or another worker will
    // The outcome is readable before waiters are taken, so a Lab joining now finds one or the other.
    await redis.eval(
      FINISH_SCRIPT,
      2,
      keys.outcome(jobId),
      waitersKey,
      JSON.stringify(outcome),
      OUTCOME_TTL_S,
      DAY_S,
    );
  };

  // A Lab that stops publishes the jobs it no longer waits for; one nobody waits for is killed.
  subscriber.on("message", (_channel: string, text: string) => {
    let message: StopMessage;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    for (const jobId of message.jobIds) {
      const entry = running.get(jobId);
      if (entry === undefined) continue;
      entry.waiters = entry.waiters.filter((w) => w !== message.done);
      void redis.scard(keys.waiters(jobId)).then((left) => {
        if (left > 0 || entry.stopped) return;
        entry.stopped = true;
        slots.stopTask(entry.slot);
      });
    }
  });
  await subscriber.subscribe(keys.stopChannel);

  const workers: Worker[] = [];
  for (const queue of options.queues ?? ["default"]) {
    const recorded = await redis.hgetall(keys.settings(queue)) as Record<string, string>;
    const setting = (name: keyof QueueSettings, own: number | undefined, fallback: number) =>
      own ?? (recorded[name] !== undefined ? Number(recorded[name]) : fallback);
    const worker = new drivers.Worker<JobData>(queue, processJob, {
      connection: redis,
      prefix,
      concurrency: options.concurrency,
      lockDuration: setting("lockDurationMs", options.lockDurationMs, 30_000),
      stalledInterval: setting("stalledIntervalMs", options.stalledIntervalMs, 30_000),
      maxStalledCount: setting("maxStalledCount", options.maxStalledCount, 1),
    });
    worker.on(
      "error",
      (error: Error) =>
        emitLog({ level: "warn", source: "labtech worker", message: String(error) }),
    );
    workers.push(worker);
  }

  return {
    async close(force = false) {
      if (force) {
        for (const entry of running.values()) {
          entry.handedBack = true;
          slots.stopTask(entry.slot);
        }
      }
      // A forced close does not wait for BullMQ (whose close waits for the handed-back jobs);
      // the caller exits the process, and the jobs' locks lapse.
      const closing = Promise.all(workers.map((worker) => worker.close(force)));
      if (!force) await closing;
      await slots.close();
      setLogSink(local);
      subscriber.disconnect();
      redis.disconnect();
    },
  };
}
