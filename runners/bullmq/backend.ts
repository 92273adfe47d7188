/**
 * `BullMQRunnerBackend`: runs tasks on `labtech worker` processes of any
 * runtime on any machine, through BullMQ queues on Redis.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Queue } from "npm:bullmq@^6.7.0";
import { RunnerError } from "../../core/errors.ts";
import type { Runner, RunnerBackend, RunnerBuildOptions } from "../../core/runner.ts";
import { workerStorage } from "../../core/storage.ts";
import {
  checkConnection,
  CONTEXT_TTL_S,
  DEFAULT_PREFIX,
  DEFAULT_QUEUE,
  hashOf,
  keysOf,
  loadDrivers,
  openRedis,
  pack,
  type QueueSettings,
  type RedisConnection,
  whereOf,
} from "./_shared.ts";
import { BullMQRunner } from "./runner.ts";

/**
 * Options of {@linkcode BullMQRunnerBackend}.
 *
 * @example
 * ```ts
 * import type { BullMQRunnerOptions } from "./backend.ts";
 * import assert from "node:assert/strict";
 * const options: BullMQRunnerOptions = {
 *   connection: "redis://127.0.0.1:6379",
 *   queue: "default",
 *   lockDurationMs: 2000,
 *   stalledIntervalMs: 1000,
 *   maxStalledCount: 1,
 * };
 * assert.equal(options.maxStalledCount, 1);
 * ```
 */
export interface BullMQRunnerOptions {
  /** The Redis server: a URL (`redis://:password@host:6379/0`, `rediss://` for TLS) or ioredis options. */
  connection: RedisConnection;
  /** The queue tasks go to unless their `runnerOptions` name another; default `"default"`. */
  queue?: string;
  /** The BullMQ key prefix; default `"bull"`. Lab and workers must agree. */
  prefix?: string;
  /**
   * How long a worker's lock on a running job lasts without renewal, in ms.
   * Recorded for the Lab's queues; workers started afterwards use it (a
   * worker's own `--lock-duration` wins). Default: BullMQ's 30 000.
   */
  lockDurationMs?: number;
  /** How often workers look for jobs whose worker died, in ms; recorded like `lockDurationMs`. */
  stalledIntervalMs?: number;
  /**
   * How many times a job whose worker died is given to another worker before
   * it fails; recorded like `lockDurationMs`. Default 1.
   */
  maxStalledCount?: number;
  /** How often the Lab warns that tasks wait and no worker serves their queue, in ms; default 10 000. */
  noWorkerWarningMs?: number;
  /** How long to wait for Redis to answer when a run starts, in ms; default 5 000. */
  connectTimeoutMs?: number;
}

const DEFAULT_CAPACITY = 16;

function positive(name: string, value: number | undefined, min = 1): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Cannot create a BullMQRunnerBackend: ${name} must be an integer of at least ${min}: ` +
        `received ${String(value)}`,
    );
  }
}

/**
 * Runs tasks as BullMQ jobs on Redis, executed by `labtech worker` processes
 * (Node, Deno or Bun, on any machine that reaches the Redis server and the
 * Lab's storage). The Lab stays the scheduler: it submits only ready tasks,
 * at most `maxWorkers` (default 16) at a time. Each worker runs each task in
 * a child process or thread of its own pool, so a busy task never loses its
 * job. Workers load dependency results from the shared storage (reopened from
 * its `describe()`) and save results there; results of uncached types, or
 * with a storage workers cannot reopen, travel through Redis. A task's
 * `runnerOptions` may carry a `bullmq` section: `queue` (a queue only some
 * workers serve, such as `"gpu"`), `priority` (1 first) and `attempts` (runs
 * allowed when it throws; default 1). When two Labs submit the same task
 * while it runs, it runs once and both receive its outcome. A worker that
 * dies mid-task hands its job to another worker (`maxStalledCount` times).
 *
 * @example
 * ```ts
 * import { BullMQRunnerBackend } from "./backend.ts";
 * import assert from "node:assert/strict";
 * const backend = new BullMQRunnerBackend({ connection: "redis://127.0.0.1:6379", queue: "gpu" });
 * assert.equal(backend.queue, "gpu");
 * assert.throws(() => new BullMQRunnerBackend({ connection: "redis://x", maxStalledCount: -1 }), RangeError);
 * ```
 */
export class BullMQRunnerBackend implements RunnerBackend {
  /** The default queue. */
  readonly queue: string;
  /** The BullMQ key prefix. */
  readonly prefix: string;
  readonly #options: BullMQRunnerOptions;

  /**
   * @param options Where Redis is, and how jobs are queued.
   * @throws {TypeError} when `connection` is missing or `queue`/`prefix` are malformed.
   * @throws {RangeError} when a number is not a positive integer.
   */
  constructor(options: BullMQRunnerOptions) {
    const connection = options?.connection;
    if (typeof connection !== "string" && (typeof connection !== "object" || connection === null)) {
      throw new TypeError(
        "Cannot create a BullMQRunnerBackend: give connection, a Redis URL or ioredis options",
      );
    }
    for (const [name, value] of [["queue", options.queue], ["prefix", options.prefix]] as const) {
      if (
        value !== undefined && (typeof value !== "string" || !/^[A-Za-z0-9_.-]{1,100}$/.test(value))
      ) {
        throw new TypeError(
          `Cannot create a BullMQRunnerBackend: ${name} must be 1 to 100 letters, digits, "_", ` +
            `"." or "-": received ${String(value)}`,
        );
      }
    }
    positive("lockDurationMs", options.lockDurationMs);
    positive("stalledIntervalMs", options.stalledIntervalMs);
    positive("maxStalledCount", options.maxStalledCount, 0);
    positive("noWorkerWarningMs", options.noWorkerWarningMs);
    positive("connectTimeoutMs", options.connectTimeoutMs);
    this.#options = { ...options };
    this.queue = options.queue ?? DEFAULT_QUEUE;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  /**
   * Connects to Redis and builds the runner for one run.
   *
   * @param options The run's context, storage and `maxWorkers`.
   * @returns A runner that submits jobs and collects their outcomes.
   * @throws {RunnerError} when Redis cannot be reached or refuses the credentials.
   */
  async buildRunner({ context, storage, maxWorkers }: RunnerBuildOptions): Promise<Runner> {
    const o = this.#options;
    const where = whereOf(o.connection);
    const drivers = await loadDrivers();
    const { Queue } = drivers;
    const redis = openRedis(drivers, o.connection);
    const blocker = openRedis(drivers, o.connection);
    const queues = new Map<string, Queue>();
    const close = async () => {
      await Promise.all([...queues.values()].map((queue) => queue.close().catch(() => {})));
      redis.disconnect();
      blocker.disconnect();
    };
    try {
      await checkConnection(redis, where, o.connectTimeoutMs ?? 5000);
      let bytes: Uint8Array;
      try {
        bytes = pack(context);
      } catch (error) {
        throw new RunnerError(
          `Cannot send the Lab's context to BullMQ workers: ${(error as Error).message}`,
          { cause: error },
        );
      }
      const keys = keysOf(this.prefix);
      const contextHash = hashOf(bytes);
      const uploadContext = async () => {
        await redis.set(keys.context(contextHash), Buffer.from(bytes), "EX", CONTEXT_TTL_S);
      };
      await uploadContext();
      const settings: QueueSettings = {};
      if (o.lockDurationMs !== undefined) settings.lockDurationMs = o.lockDurationMs;
      if (o.stalledIntervalMs !== undefined) settings.stalledIntervalMs = o.stalledIntervalMs;
      if (o.maxStalledCount !== undefined) settings.maxStalledCount = o.maxStalledCount;
      if (Object.keys(settings).length > 0) {
        await redis.hset(keys.settings(this.queue), settings as Record<string, number>);
      }
      // Cluster workers are processes: a storage one process must write is saved here.
      const description = storage.storesNothing ? null : workerStorage(storage, "process");
      return new BullMQRunner({
        capacity: maxWorkers ?? DEFAULT_CAPACITY,
        prefix: this.prefix,
        defaultQueue: this.queue,
        queue: (name) => {
          let queue = queues.get(name);
          if (queue === undefined) {
            queue = new Queue(name, { connection: redis, prefix: this.prefix });
            queue.on("error", () => {}); // ioredis reconnects; rechecks cover the gap
            queues.set(name, queue);
          }
          return queue;
        },
        redis,
        blocker,
        where,
        storage,
        description,
        contextHash,
        uploadContext,
        recheckMs: Math.min(5000, Math.max(1000, o.stalledIntervalMs ?? 5000)),
        warnEveryMs: o.noWorkerWarningMs ?? 10_000,
        close,
      });
    } catch (error) {
      await close();
      throw error;
    }
  }
}
