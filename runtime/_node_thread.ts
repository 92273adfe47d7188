/**
 * Worker threads through `node:worker_threads`, for Node and for Deno. Deno
 * uses them rather than its Web Workers because a terminated Web Worker stuck
 * in a synchronous loop keeps running forever (Deno 2.9), while a
 * `node:worker_threads` worker is stopped at once.
 *
 * @module
 */
import process from "node:process";
import { parentPort, Worker } from "node:worker_threads";
import {
  OUT_OF_MEMORY,
  type ParentChannel,
  type WorkerEvents,
  type WorkerHandle,
} from "./workers.ts";
import { lineSplitter } from "./_lines.ts";

/** How a runtime's `node:worker_threads` is driven. */
export interface NodeThreadOptions {
  /** Cap on the worker's heap in MiB, or null; only where the runtime enforces it. */
  maxHeapMb: number | null;
  /** Pipe the worker's stdout and stderr to `events.output` (where the runtime does it once). */
  pipeOutput: boolean;
}

/**
 * Calls `events.output` with each line of a Node stream.
 * @param stream The stream, or null when there is none.
 * @param name Which of the worker's streams it is.
 * @param events Where the lines go.
 * @example
 * ```ts
 * import { pipeLines } from "./_node_thread.ts";
 * import { Readable } from "node:stream";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const stream = Readable.from([new TextEncoder().encode("a\nb")]);
 * pipeLines(stream, "stdout", { message() {}, exit() {}, output: (_, text) => lines.push(text) });
 * await new Promise((resolve) => stream.on("end", resolve));
 * assert.deepEqual(lines, ["a", "b"]);
 * ```
 */
export function pipeLines(
  stream: NodeJS.ReadableStream | null,
  name: "stdout" | "stderr",
  events: WorkerEvents,
): void {
  if (stream === null) return;
  const lines = lineSplitter((line) => events.output(name, line));
  stream.on("data", (chunk: Uint8Array) => lines.push(chunk));
  stream.on("end", () => lines.end());
}

/**
 * Starts a `node:worker_threads` worker running the module at `entry`.
 * @param entry The worker module.
 * @param events Where the worker's messages, output and exit go.
 * @param options The heap cap and whether to pipe the output.
 * @returns The handle; `terminate()` stops even a worker in a synchronous loop.
 * @example
 * ```ts
 * import { startNodeThread } from "./_node_thread.ts";
 * import assert from "node:assert/strict";
 * const code = "for (;;) {}";
 * const entry = new URL(`data:text/javascript,${encodeURIComponent(code)}`);
 * const reasons: string[] = [];
 * const handle = startNodeThread(entry, {
 *   message() {},
 *   output() {},
 *   exit: (reason) => reasons.push(reason),
 * }, { maxHeapMb: null, pipeOutput: false });
 * await handle.terminate();
 * assert.equal(reasons.length, 1);
 * ```
 */
export function startNodeThread(
  entry: URL,
  events: WorkerEvents,
  options: NodeThreadOptions,
): WorkerHandle {
  const worker = new Worker(entry, {
    stdout: options.pipeOutput,
    stderr: options.pipeOutput,
    ...(options.maxHeapMb === null
      ? {}
      : { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } }),
  });
  let reason: string | null = null;
  if (options.pipeOutput) {
    pipeLines(worker.stdout, "stdout", events);
    pipeLines(worker.stderr, "stderr", events);
  }
  worker.on("message", (message) => events.message(message));
  worker.on("error", (error: Error & { code?: string }) => {
    reason ??= error.code === "ERR_WORKER_OUT_OF_MEMORY"
      ? OUT_OF_MEMORY
      : `it threw ${error.stack ?? error}`;
  });
  const gone = new Promise<void>((resolve) => {
    worker.on("exit", (code) => {
      events.exit(reason ?? `it exited with code ${code}`);
      resolve();
    });
  });
  return {
    pid: process.pid,
    threadId: worker.threadId,
    send: (message) => worker.postMessage(message),
    terminate: () => worker.terminate().then(() => gone),
  };
}

/**
 * In a `node:worker_threads` worker: the channel to the thread that started it.
 * @returns The channel over `parentPort`.
 * @throws {Error} When not running in such a worker.
 * @example
 * ```ts
 * import { connectNodeThread } from "./_node_thread.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => connectNodeThread(), /not a worker thread/);
 * ```
 */
export function connectNodeThread(): ParentChannel {
  const port = parentPort;
  if (port === null) throw new Error("Cannot connect to the parent: this is not a worker thread");
  return {
    send: (message, transfer) => port.postMessage(message, transfer ?? []),
    onMessage: (handler) => void port.on("message", handler),
    flush: () => Promise.resolve(),
  };
}
