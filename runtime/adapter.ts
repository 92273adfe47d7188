/**
 * Everything labtech needs from the runtime it runs on, as one object, and
 * the lazy loader that picks the adapter after `detectRuntime()`. The parts
 * are declared by their consumers' needs: `workers.ts` (runners),
 * `console.ts` (display and CLI), `process_facts.ts` (Lab and monitor).
 * Only the adapters name runtime globals.
 *
 * @module
 */
import type { ConsoleAdapter } from "./console.ts";
import { detectRuntime } from "./detect.ts";
import type { ProcessFacts } from "./process_facts.ts";
import type { WorkerAdapter } from "./workers.ts";

export * from "./console.ts";
export * from "./process_facts.ts";
export * from "./workers.ts";

/**
 * What labtech needs from the runtime it runs on: each part as its consumer declares it.
 * @example
 * ```ts
 * import type { RuntimeAdapter } from "./adapter.ts";
 * import { loadRuntimeAdapter } from "./adapter.ts";
 * import assert from "node:assert/strict";
 * const adapter: RuntimeAdapter = await loadRuntimeAdapter();
 * assert.equal(typeof adapter.startProcess, "function");
 * assert.equal(typeof adapter.write, "function");
 * assert.ok(adapter.cpuMicros() >= 0);
 * ```
 */
export interface RuntimeAdapter extends WorkerAdapter, ConsoleAdapter, ProcessFacts {}

let loading: Promise<RuntimeAdapter> | undefined;

/**
 * The adapter for the current runtime, imported on first use.
 * @returns The same adapter on every call.
 * @example
 * ```ts
 * import { loadRuntimeAdapter } from "./adapter.ts";
 * import assert from "node:assert/strict";
 * const adapter = await loadRuntimeAdapter();
 * assert.ok(adapter.pid > 0);
 * assert.equal(await loadRuntimeAdapter(), adapter);
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
