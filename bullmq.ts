/**
 * `labtech/bullmq`: run a Lab's tasks on a cluster of `labtech worker`
 * processes through BullMQ queues on Redis. Loads `bullmq` and `ioredis`
 * (optional peer dependencies), so only code that imports this subpath needs them.
 *
 * @example
 * ```ts
 * import { BullMQRunnerBackend } from "./bullmq.ts";
 * import assert from "node:assert/strict";
 * const runner = new BullMQRunnerBackend({ connection: "redis://127.0.0.1:6379" });
 * assert.equal(runner.queue, "default");
 * ```
 *
 * @module
 */
export { BullMQRunnerBackend, type BullMQRunnerOptions } from "./runners/bullmq/backend.ts";
export {
  type QueueWorker,
  type QueueWorkerOptions,
  startQueueWorker,
} from "./runners/bullmq/worker.ts";
export type { RedisConnection } from "./runners/bullmq/_shared.ts";
