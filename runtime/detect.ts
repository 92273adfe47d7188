/**
 * The one place that decides which JavaScript runtime is running.
 *
 * @module
 */

/**
 * A runtime labtech supports.

 * @example
 * ```ts
 * import { detectRuntime, type RuntimeName } from "./detect.ts";
 * import assert from "node:assert/strict";
 * const runtime: RuntimeName = detectRuntime();
 * assert.ok(["node", "deno", "bun"].includes(runtime));
 * ```
 */
export type RuntimeName = "node" | "deno" | "bun";

let detected: RuntimeName | undefined;

/**
 * Which runtime is running this code, decided once and remembered.
 *
 * @returns `"deno"`, `"bun"` or `"node"`.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "./detect.ts";
 * import assert from "node:assert/strict";
 * assert.ok(["node", "deno", "bun"].includes(detectRuntime()));
 * ```
 */
export function detectRuntime(): RuntimeName {
  if (detected === undefined) {
    const global = globalThis as { Deno?: unknown; Bun?: unknown };
    // Bun and Deno both define `process` for Node compatibility, so test them first.
    detected = global.Deno !== undefined ? "deno" : global.Bun !== undefined ? "bun" : "node";
  }
  return detected;
}
