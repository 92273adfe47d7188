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
