/**
 * What the worker pool and the worker entry need from a runtime: start a
 * thread or a subprocess, and, inside one, reach the parent. The runners
 * declare this narrow interface; each runtime adapter supplies it.
 *
 * @module
 */

/**
 * What a pool hears from a worker thread or subprocess it started.
 * @example
 * ```ts
 * import type { WorkerEvents } from "./workers.ts";
 * import assert from "node:assert/strict";
 * const heard: string[] = [];
 * const events: WorkerEvents = {
 *   message: (message) => heard.push(`message ${message}`),
 *   output: (stream, text) => heard.push(`${stream} ${text}`),
 *   exit: (reason) => heard.push(`exit: ${reason}`),
 * };
 * events.output("stdout", "hello");
 * events.exit("it exited with code 0");
 * assert.deepEqual(heard, ["stdout hello", "exit: it exited with code 0"]);
 * ```
 */
export interface WorkerEvents {
  /** A protocol message from the worker. */
  message(message: unknown): void;
  /** Text the worker process wrote to its stdout or stderr (subprocesses only). */
  output(stream: "stdout" | "stderr", text: string): void;
  /** Called once when the worker is gone; `reason` says why, for error messages. */
  exit(reason: string): void;
}

/**
 * The exit reason an adapter gives when the runtime says a worker ran out of memory.
 * @example
 * ```ts
 * import { OUT_OF_MEMORY } from "./workers.ts";
 * import assert from "node:assert/strict";
 * assert.match(`Worker died: ${OUT_OF_MEMORY}`, /out of memory/);
 * ```
 */
export const OUT_OF_MEMORY = "it ran out of memory";

/**
 * How to start one worker.
 * @example
 * ```ts
 * import type { WorkerLimits } from "./workers.ts";
 * import assert from "node:assert/strict";
 * const limits: WorkerLimits = { maxHeapMb: 256 };
 * assert.ok(limits.maxHeapMb !== null && limits.maxHeapMb > 0);
 * ```
 */
export interface WorkerLimits {
  /** Cap on the worker's JavaScript heap in MiB, or null for the runtime's default. */
  maxHeapMb: number | null;
}

/**
 * A worker thread or subprocess, as the pool drives it.
 * @example
 * ```ts
 * import type { WorkerHandle } from "./workers.ts";
 * import assert from "node:assert/strict";
 * const sent: unknown[] = [];
 * const handle: WorkerHandle = {
 *   pid: 1,
 *   threadId: null,
 *   send: (message) => void sent.push(message),
 *   terminate: () => Promise.resolve(),
 * };
 * handle.send({ kind: "run" });
 * await handle.terminate();
 * assert.deepEqual(sent, [{ kind: "run" }]);
 * ```
 */
export interface WorkerHandle {
  /** The process running the worker (for a thread: this process). */
  readonly pid: number;
  /** The worker's thread id, for threads where the runtime has one; else null. */
  readonly threadId: number | null;
  /** Sends a protocol message; structured-clone semantics. */
  send(message: unknown): void;
  /** Kills the worker; resolves once it is gone. `exit` is still called once. */
  terminate(): Promise<void>;
}

/**
 * The worker side's end of the channel to the process that started it.
 * @example
 * ```ts
 * import type { ParentChannel } from "./workers.ts";
 * import assert from "node:assert/strict";
 * const sent: unknown[] = [];
 * const channel: ParentChannel = {
 *   send: (message) => void sent.push(message),
 *   onMessage: () => {},
 *   flush: () => Promise.resolve(),
 * };
 * channel.send("ready");
 * await channel.flush();
 * assert.deepEqual(sent, ["ready"]);
 * ```
 */
export interface ParentChannel {
  /**
   * Sends a protocol message to the parent. From a thread, the buffers in
   * `transfer` move instead of being copied (they are detached here);
   * subprocesses copy anyway and ignore it.
   */
  send(message: unknown, transfer?: ArrayBuffer[]): void;
  /** Receives the parent's messages. */
  onMessage(handler: (message: unknown) => void): void;
  /** Sends `message` and waits until it has left this process (before exiting). */
  flush(): Promise<void>;
}

/**
 * Starting worker threads and subprocesses (the pool's side), and reaching
 * the parent from inside one (the worker entry's side).
 * @example
 * ```ts
 * import type { WorkerAdapter } from "./workers.ts";
 * import { loadRuntimeAdapter } from "./adapter.ts";
 * import assert from "node:assert/strict";
 * const workers: WorkerAdapter = await loadRuntimeAdapter();
 * const why = workers.heapLimitUnsupported("process");
 * assert.ok(why === null || why.length > 0);
 * ```
 */
export interface WorkerAdapter {
  /**
   * Starts a worker thread running the module at `entry`.
   * @param entry The worker module.
   * @param events Where the worker's messages, output and exit go.
   * @param limits The heap cap, if any.
   * @returns The handle that sends to and terminates the worker.
   * @throws {Error} When the runtime cannot honour `limits`.
   */
  startThread(entry: URL, events: WorkerEvents, limits: WorkerLimits): WorkerHandle;
  /**
   * Starts a subprocess of this runtime running the module at `entry`, with a
   * message channel apart from its stdout and stderr. The subprocess ends
   * itself soon after this process dies (see `connectParent`).
   * @param entry The worker module.
   * @param events Where the worker's messages, output and exit go.
   * @param limits The heap cap, if any.
   * @returns The handle that sends to and terminates the subprocess.
   * @throws {Error} (as a rejection) When the runtime cannot honour `limits`.
   */
  startProcess(entry: URL, events: WorkerEvents, limits: WorkerLimits): Promise<WorkerHandle>;
  /**
   * Why this runtime cannot cap the heap of a worker of `kind`.
   * @param kind A worker thread or a subprocess.
   * @returns The reason, or null when it can.
   */
  heapLimitUnsupported(kind: "thread" | "process"): string | null;
  /**
   * In a worker entry: the channel to the parent, for a thread or a
   * subprocess. A subprocess also starts watching its parent and ends itself
   * when the parent is gone, even while a task blocks its event loop.
   * @param kind Whether this code runs in a worker thread or a subprocess.
   * @returns The channel to the parent.
   */
  connectParent(kind: "thread" | "process"): Promise<ParentChannel>;
  /**
   * In a worker entry: calls `hook(code)` before the task's own code exits
   * the worker (`process.exit`, `Deno.exit`), so the parent learns why.
   * @param hook Called with the exit code.
   */
  onExitCall(hook: (code: number) => void): void;
}
