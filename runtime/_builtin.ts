/**
 * Node built-in modules loaded when first needed rather than at import: a
 * static import costs Bun several milliseconds per module in every new
 * worker, and some (`node:crypto`, `node:worker_threads`) are needed only by
 * some processes.
 *
 * @module
 */
import { createRequire } from "node:module";
import process from "node:process";

/**
 * A Node built-in module, loaded synchronously on first use:
 * `process.getBuiltinModule` (Node 20.16+, Deno, Bun; this module may have
 * been imported by http URL, where `createRequire` refuses), else `require`.
 *
 * @param name Such as `node:crypto`.
 * @returns The module.
 * @example
 * ```ts
 * import { nodeBuiltin } from "./_builtin.ts";
 * import assert from "node:assert/strict";
 * const path = nodeBuiltin<typeof import("node:path")>("node:path");
 * assert.equal(path.join("a", "b"), "a/b");
 * ```
 */
export function nodeBuiltin<T>(name: string): T {
  const own = process as { getBuiltinModule?: (name: string) => unknown };
  return (own.getBuiltinModule?.(name) ?? createRequire(import.meta.url)(name)) as T;
}
