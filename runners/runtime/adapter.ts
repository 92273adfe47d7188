/**
 * The interface each runtime adapter supplies, and the lazy loader that picks
 * one after `detectRuntime()`. Only the adapters name runtime globals.
 *
 * @module
 */
import { detectRuntime } from "./detect.ts";

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

/** The part of Deno's Jupyter API the notebook display uses. */
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
