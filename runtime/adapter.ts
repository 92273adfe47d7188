/**
 * The interface each runtime adapter supplies, and the lazy loader that picks
 * one after `detectRuntime()`. Only the adapters name runtime globals.
 *
 * @module
 */
import { detectRuntime } from "./detect.ts";

/** What a pool hears from a worker thread or subprocess it started. */
export interface WorkerEvents {
  /** A protocol message from the worker. */
  message(message: unknown): void;
  /** Text the worker process wrote to its stdout or stderr (subprocesses only). */
  output(stream: "stdout" | "stderr", text: string): void;
  /** Called once when the worker is gone; `reason` says why, for error messages. */
  exit(reason: string): void;
}

/** The exit reason an adapter gives when the runtime says a worker ran out of memory. */
export const OUT_OF_MEMORY = "it ran out of memory";

/** How to start one worker. */
export interface WorkerLimits {
  /** Cap on the worker's JavaScript heap in MiB, or null for the runtime's default. */
  maxHeapMb: number | null;
}

/** A worker thread or subprocess, as the pool drives it. */
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

/** The worker side's end of the channel to the process that started it. */
export interface ParentChannel {
  /** Sends a protocol message to the parent. */
  send(message: unknown): void;
  /** Receives the parent's messages. */
  onMessage(handler: (message: unknown) => void): void;
  /** Sends `message` and waits until it has left this process (before exiting). */
  flush(): Promise<void>;
}

/** What labtech needs from the runtime it runs on. */
export interface RuntimeAdapter {
  /** This process's id. */
  readonly pid: number;
  /** Resident memory of this process in bytes. */
  rssBytes(): number;
  /** CPU time (user + system) this process has used, in microseconds. */
  cpuMicros(): number;
  /** Calls `handler` on each SIGINT until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
  /** True when the stream is a terminal. */
  isTerminal(stream: "stdout" | "stderr"): boolean;
  /** How many tasks can usefully run in parallel: the CPUs available. */
  availableParallelism(): number;
  /** Starts a worker thread running the module at `entry`. */
  startThread(entry: URL, events: WorkerEvents, limits: WorkerLimits): WorkerHandle;
  /**
   * Starts a subprocess of this runtime running the module at `entry`, with a
   * message channel apart from its stdout and stderr.
   */
  startProcess(entry: URL, events: WorkerEvents, limits: WorkerLimits): Promise<WorkerHandle>;
  /** Why this runtime cannot cap the heap of a worker of `kind`, or null when it can. */
  heapLimitUnsupported(kind: "thread" | "process"): string | null;
  /** In a worker entry: the channel to the parent, for a thread or a subprocess. */
  connectParent(kind: "thread" | "process"): Promise<ParentChannel>;
  /**
   * In a worker entry: calls `hook(code)` before the task's own code exits
   * the worker (`process.exit`, `Deno.exit`), so the parent learns why.
   */
  onExitCall(hook: (code: number) => void): void;
  // --- Display and CLI (observe/, cli.ts) ---
  /** Writes `text` to the stream, in order with earlier writes through this call. */
  write(stream: "stdout" | "stderr", text: string): void;
  /** The stream's terminal width in columns, or null when it is not a terminal. */
  terminalColumns(stream: "stdout" | "stderr"): number | null;
  /** Deno's Jupyter kernel API when running inside one, else null. */
  jupyter(): JupyterApi | null;
  /** The command-line arguments after the script name. */
  args(): string[];
  /** Sets the code the process exits with once it ends. */
  setExitCode(code: number): void;
  // --- end display and CLI ---
}

/** The part of Deno's Jupyter API the notebook display uses (display and CLI block). */
export interface JupyterApi {
  /** Sends a Jupyter message (`display_data`, `update_display_data`) to the notebook. */
  broadcast(msgType: string, content: Record<string, unknown>): Promise<void>;
}

let loading: Promise<RuntimeAdapter> | undefined;

/**
 * The adapter for the current runtime, imported on first use.
 *
 * @example
 * ```ts
 * import { loadRuntimeAdapter } from "./adapter.ts";
 * import assert from "node:assert/strict";
 * const adapter = await loadRuntimeAdapter();
 * assert.ok(adapter.pid > 0);
 * assert.ok(adapter.availableParallelism() >= 1);
 * ```
 */
export function loadRuntimeAdapter(): Promise<RuntimeAdapter> {
  if (loading === undefined) {
    const runtime = detectRuntime();
    loading = runtime === "deno"
      ? import("./deno.ts").then((m) => m.adapter)
      : runtime === "bun"
      ? import("./bun.ts").then((m) => m.adapter)
      : import("./node.ts").then((m) => m.adapter);
  }
  return loading;
}
