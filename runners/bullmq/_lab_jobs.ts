/**
 * Pieces of the BullMQ runner's Lab side: the data of a task's job, joining a
 * job already in flight, the "no worker" warning and errors coming back.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Queue } from "npm:bullmq@^6.7.0";
import type { Redis } from "npm:ioredis@^6.0.0";
import { CacheError, CorruptEntryError, RunnerError } from "../../core/errors.ts";
import { emitLog } from "../../core/logger.ts";
import type { Task, TaskResult } from "../../core/task.ts";
import {
  type DepSource,
  INLINE_BYTES,
  type JobData,
  keysOf,
  type OutcomeMessage,
  pack,
  VALUE_TTL_S,
} from "./_shared.ts";
import { treeOf } from "./_plan.ts";
import type { BullMQRunnerParts } from "./runner.ts";

/** A worker's RunnerError or CacheError comes back as one, so callers can tell them apart. */
export function revive(error: Error): Error {
  const Class = error.name === "RunnerError"
    ? RunnerError
    : error.name === "CacheError"
    ? CacheError
    : error.name === "CorruptEntryError"
    ? CorruptEntryError
    : null;
  if (Class === null) return error;
  const revived = new Class(
    error.message,
    error.cause === undefined ? undefined : { cause: error.cause },
  );
  revived.stack = error.stack ?? "";
  return revived;
}

/**
 * The data of `entry`'s job. Dependency results come from the shared storage
 * when workers save there, else inline or (large) through a key of this run.
 */
export async function buildJobData(
  parts: BullMQRunnerParts,
  entry: { task: Task; name: string; useCache: boolean },
  resultOf: (dep: Task) => TaskResult | undefined,
  run: { runId: string; uploaded: Set<string> },
): Promise<JobData> {
  const { task } = entry;
  const keys = keysOf(parts.prefix);
  const workersSave = parts.description !== null && !parts.storage.storesNothing;
  const deps: Array<[string, DepSource]> = [];
  for (const dep of treeOf(task).deps) {
    const result = resultOf(dep);
    if (result === undefined && entry.useCache) continue; // a cached task's deps are not run
    if (workersSave && dep.type.cache !== null) {
      deps.push([dep.cacheKey, { from: "storage" }]);
      continue;
    }
    if (result === undefined) {
      throw new RunnerError(`the result of its dependency ${dep} is missing`);
    }
    const bytes = pack(result);
    if (bytes.byteLength <= INLINE_BYTES) {
      deps.push([dep.cacheKey, { from: "inline", data: Buffer.from(bytes).toString("base64") }]);
      continue;
    }
    const key = keys.value(run.runId, dep.cacheKey);
    if (!run.uploaded.has(dep.cacheKey)) {
      await parts.redis.set(key, Buffer.from(bytes), "EX", VALUE_TTL_S);
      run.uploaded.add(dep.cacheKey);
    }
    deps.push([dep.cacheKey, { from: "key", key }]);
  }
  return {
    taskName: entry.name,
    key: task.cacheKey,
    typeName: task.type.name,
    codeVersion: task.codeVersion,
    tasks: treeOf(task).texts,
    deps,
    useCache: entry.useCache,
    context: parts.contextHash,
    storage: workersSave ? parts.description : null,
  };
}

/**
 * Registers `done` as a waiter of `jobId`, then looks at the job: in flight →
 * the outcome it already left (or null: its worker will notify us); absent or
 * finished long ago → false, and the caller adds it (a failed one is removed).
 * The waiter comes first, so a worker finishing meanwhile either notifies us
 * or left its outcome where we read it.
 */
export async function joinJob(
  redis: Redis,
  keys: ReturnType<typeof keysOf>,
  queue: Queue,
  jobId: string,
  done: string,
): Promise<OutcomeMessage | null | false> {
  const replies = await redis.multi()
    .sadd(keys.waiters(jobId), done)
    .hmget(queue.toKey(jobId), "timestamp", "finishedOn")
    .get(keys.outcome(jobId))
    .exec();
  const [timestamp, finishedOn] = (replies?.[1]?.[1] ?? [null, null]) as Array<string | null>;
  const outcome = replies?.[2]?.[1] as string | null;
  if (timestamp !== null && finishedOn === null) {
    const earlier = outcome === null ? null : JSON.parse(outcome) as OutcomeMessage;
    return earlier !== null && String(earlier.jobTimestamp) === timestamp ? earlier : null;
  }
  if (timestamp !== null) await queue.remove(jobId).catch(() => {}); // a failed job lingering
  return false;
}

/** Warns, per queue with tasks waiting, when no worker is connected to it. */
export async function warnIfNoWorker(
  parts: BullMQRunnerParts,
  queued: Map<string, number>,
  closed: () => boolean,
): Promise<void> {
  for (const [name, count] of queued) {
    let workers: number;
    try {
      workers = await parts.queue(name).getWorkersCount();
    } catch {
      continue;
    }
    if (workers > 0 || closed()) continue;
    emitLog({
      level: "warn",
      source: "BullMQ",
      message: `${count} ${count === 1 ? "task" : "tasks"} queued; no worker is connected to ` +
        `queue "${name}" at ${parts.where}; start one with: labtech worker --redis URL ` +
        `--queue ${name} --import ./tasks.ts`,
    });
  }
}

/** What Redis holds about a job: its hash fields (null when absent) and a recorded outcome. */
export async function readJob(
  redis: Redis,
  keys: ReturnType<typeof keysOf>,
  queue: Queue,
  jobId: string,
): Promise<{
  timestamp: string | null;
  finishedOn: string | null;
  failedReason: string | null;
  outcome: OutcomeMessage | null;
}> {
  const [[timestamp, finishedOn, failedReason], outcome] = await Promise.all([
    redis.hmget(queue.toKey(jobId), "timestamp", "finishedOn", "failedReason"),
    redis.get(keys.outcome(jobId)),
  ]);
  return {
    timestamp: timestamp ?? null,
    finishedOn: finishedOn ?? null,
    failedReason: failedReason ?? null,
    outcome: outcome === null ? null : JSON.parse(outcome) as OutcomeMessage,
  };
}

/** The error of a job BullMQ itself failed (its workers died too often). */
export function failedJobError(taskName: string, reason: string | null): RunnerError {
  return new RunnerError(
    /stalled/i.test(reason ?? "")
      ? `Task ${taskName} failed: the workers running it died or stopped answering too ` +
        `often (BullMQ: ${reason}); see maxStalledCount`
      : `Task ${taskName} failed in BullMQ: ${reason ?? "no reason given"}`,
  );
}
