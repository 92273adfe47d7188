/**
 * What the Lab side and the worker side of the BullMQ backend share: Redis
 * key names, job ids, the job data, the messages workers push to a run's
 * list, and the value codec (MessagePack, as StructuredCache writes it).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Packr } from "npm:msgpackr@^2.1.4";
import type { Queue, Worker } from "npm:bullmq@^6.7.0";
import type { Redis, RedisOptions } from "npm:ioredis@^6.0.0";
import { RunnerError } from "../../core/errors.ts";
import type { StorageDescription } from "../../core/storage.ts";
import type { ErrorData } from "../_protocol.ts";

/**
 * A Redis URL (`redis://`, `rediss://` for TLS) or ioredis options.
 *
 * @example
 * ```ts
 * import type { RedisConnection } from "./_shared.ts";
 * import assert from "node:assert/strict";
 * const url: RedisConnection = "rediss://:secret@redis.example:6380/0";
 * const options: RedisConnection = { host: "10.0.0.5", port: 6379, password: "secret" };
 * assert.equal(typeof url, "string");
 * assert.equal(typeof options, "object");
 * ```
 */
export type RedisConnection = string | RedisOptions;

/** Values up to this many bytes travel inside a message; larger ones in a key of their own. */
export const INLINE_BYTES = 64 * 1024;
/** How long a large value waits in Redis for the Lab to fetch it. */
export const VALUE_TTL_S = 3600;
/** How long an outcome stays readable for a Lab that joined a job as it finished. */
export const OUTCOME_TTL_S = 60;
/** How long a run's context stays in Redis after the last run that used it started. */
export const CONTEXT_TTL_S = 24 * 3600;
/** The default queue name. */
export const DEFAULT_QUEUE = "default";
/** The default BullMQ key prefix. */
export const DEFAULT_PREFIX = "bull";

/** Key names, all under the BullMQ prefix so one `prefix` separates deployments. */
export function keysOf(prefix: string): {
  context: (hash: string) => string;
  waiters: (jobId: string) => string;
  outcome: (jobId: string) => string;
  done: (runId: string) => string;
  value: (owner: string, cacheKey: string) => string;
  settings: (queue: string) => string;
  stopChannel: string;
} {
  const base = `${prefix}:labtech`;
  return {
    context: (hash) => `${base}:ctx:${hash}`,
    waiters: (jobId) => `${base}:waiters:${jobId}`,
    outcome: (jobId) => `${base}:outcome:${jobId}`,
    done: (runId) => `${base}:run:${runId}`,
    value: (owner, cacheKey) => `${base}:val:${owner}:${cacheKey}`,
    settings: (queue) => `${base}:settings:${queue}`,
    stopChannel: `${base}:stop`,
  };
}

/** A job id derived from a cache key: no ':' and never all digits, as BullMQ requires. */
export function jobIdOf(cacheKey: string): string {
  return `lt-${createHash("sha1").update(cacheKey).digest("hex")}`;
}

/** SHA-1 hex of bytes: content addresses for contexts. */
export function hashOf(bytes: Uint8Array): string {
  return createHash("sha1").update(bytes).digest("hex");
}

const packr = new Packr({
  structuredClone: true,
  mapsAsObjects: false,
  int64AsType: "bigint",
  moreTypes: true,
});

/** Encodes a value for Redis. */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes what `pack` wrote. */
export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Where a worker finds a dependency's result. */
export type DepSource =
  | { from: "storage" }
  | { from: "inline"; data: string }
  | { from: "key"; key: string };

/** The data of one BullMQ job: everything a worker needs, plain JSON. */
export interface JobData {
  /** The submitting Lab's name for the task, such as `Experiment[03]`. */
  taskName: string;
  key: string;
  typeName: string;
  codeVersion: string | null;
  /** The task and every task nested in it, dependencies first, as `[cacheKey, refTaskText]`. */
  tasks: Array<[string, string]>;
  deps: Array<[string, DepSource]>;
  useCache: boolean;
  /** The hash of the run's context (key `context(hash)`). */
  context: string;
  /** Where the worker loads and saves, or null when the Lab does. */
  storage: StorageDescription | null;
}

/** A finished job, as the worker reports it. */
export type OutcomeMessage =
  & {
    kind: "outcome";
    key: string;
    host: string;
    /** The BullMQ job's creation time, so a Lab joining a job can tell its outcome from an older one. */
    jobTimestamp: number;
  }
  & (
    | {
      ok: true;
      meta: { start: string | null; durationMs: number | null };
      value: { inline: string } | { key: string };
    }
    | { ok: false; error: ErrorData }
  );

/** What workers push to a run's list. */
export type RunMessage =
  | { kind: "start"; key: string; host: string; pid: number }
  | {
    kind: "usage";
    key: string;
    pid: number | null;
    cpuPercent: number | null;
    rss: number | null;
    status: "running" | "loading";
  }
  | {
    kind: "log";
    key: string;
    host: string;
    level: "debug" | "info" | "warn" | "error";
    message: string;
  }
  | OutcomeMessage;

/** A stop request the Lab publishes: these jobs no longer interest run `done`. */
export interface StopMessage {
  done: string;
  jobIds: string[];
}

/** Per-queue settings a Lab records for workers that start later. */
export interface QueueSettings {
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
}

/** The optional peer packages, loaded on first use. */
export interface Drivers {
  Redis: typeof Redis;
  Queue: typeof Queue;
  Worker: typeof Worker;
}

let drivers: Promise<Drivers> | null = null;

/**
 * Loads `bullmq` and `ioredis`, the optional peers: only a run or a worker
 * that uses them needs them installed, and importing `labtech/bullmq` works
 * without them.
 *
 * @throws {RunnerError} naming the packages to install when they are missing.
 */
export function loadDrivers(): Promise<Drivers> {
  drivers ??= Promise.all([import("npm:bullmq@^6.7.0"), import("npm:ioredis@^6.0.0")]).then(
    ([bullmq, ioredis]) => ({ Redis: ioredis.Redis, Queue: bullmq.Queue, Worker: bullmq.Worker }),
    (error: Error) => {
      drivers = null;
      throw new RunnerError(
        `Cannot use the BullMQ backend: the optional packages bullmq and ioredis cannot be ` +
          `loaded (${error.message}); install them: npm install bullmq ioredis`,
        { cause: error },
      );
    },
  );
  return drivers;
}

/** Opens an ioredis client; BullMQ needs `maxRetriesPerRequest: null`. */
export function openRedis(
  { Redis }: Drivers,
  connection: RedisConnection,
  name?: string,
): Redis {
  const extra = { maxRetriesPerRequest: null, ...(name ? { connectionName: name } : {}) } as const;
  // ioredis's option types fight exactOptionalPropertyTypes: the object is plain options.
  const options = { ...(typeof connection === "string" ? {} : connection), ...extra };
  const redis = typeof connection === "string"
    ? new Redis(connection, extra)
    : new (Redis as unknown as new (options: unknown) => Redis)(options);
  // ioredis reconnects by itself; callers that care listen too (see checkConnection).
  redis.on("error", () => {});
  return redis;
}

/** `host:port` of a connection, for messages (never its password). */
export function whereOf(connection: RedisConnection): string {
  if (typeof connection === "string") {
    try {
      const url = new URL(connection);
      return `${url.hostname}:${url.port || 6379}`;
    } catch {
      return "the given Redis URL";
    }
  }
  return `${connection.host ?? "localhost"}:${connection.port ?? 6379}`;
}

/**
 * Waits until `redis` answers PING, or fails with the last connection error.
 * ioredis retries forever; this turns that into one clear failure.
 */
export async function checkConnection(
  redis: Redis,
  where: string,
  timeoutMs: number,
): Promise<void> {
  let last: Error | null = null;
  const onError = (error: Error) => last = error;
  redis.on("error", onError);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(last ?? new Error(`no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    const cause = (error as Error).message;
    const hint = /WRONGPASS|NOAUTH|AUTH/i.test(cause)
      ? "check the password in the URL (redis://:PASSWORD@host:port)"
      : "check the URL and that redis-server is running and reachable";
    throw new RunnerError(`Cannot connect to Redis at ${where}: ${cause}; ${hint}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    redis.off("error", onError);
  }
}

// One round trip each. They push to the Labs' lists by name (not declared keys), so they
// need one Redis server, not Redis Cluster.
/** Pushes the start message to every waiter; returns the waiters (none: every Lab cancelled). */
export const START_SCRIPT = `
local waiters = redis.call('SMEMBERS', KEYS[1])
for _, list in ipairs(waiters) do
  redis.call('RPUSH', list, ARGV[1])
  redis.call('EXPIRE', list, ARGV[2])
end
return waiters`;
/** Records the outcome, then takes the waiters and pushes it to each. */
export const FINISH_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local waiters = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
for _, list in ipairs(waiters) do
  redis.call('RPUSH', list, ARGV[1])
  redis.call('EXPIRE', list, ARGV[3])
end
return #waiters`;
