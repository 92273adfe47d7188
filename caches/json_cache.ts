/**
 * `JsonCache`: results as readable JSON.
 *
 * @module
 */
import type { Task } from "../core/task.ts";
import { checkEncodable } from "./_encodable.ts";
import { FileCache } from "./_file_cache.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Stores results as JSON, for results people want to read or load from other
 * tools. Values JSON cannot hold (undefined, NaN, bigint, Map, ...) are refused
 * with a CacheError.
 *
 * @example
 * ```ts
 * import { JsonCache } from "./json_cache.ts";
 * import { MemoryStorage } from "../storage/memory_storage.ts";
 * import { task } from "../core/task.ts";
 * import assert from "node:assert/strict";
 *
 * const cache = new JsonCache();
 * const storage = new MemoryStorage();
 * const t = task({ name: "DocJson", run: () => 0 })({});
 * await cache.save(storage, t, { value: { a: [1, 2] }, meta: { start: null, durationMs: 1 } });
 * assert.deepEqual((await cache.loadResultWithMeta(storage, t)).value, { a: [1, 2] });
 * ```
 */
export class JsonCache extends FileCache {
  protected readonly format = "json/1";
  protected readonly dataFile = "data.json";

  protected encode(value: unknown, task: Task): Uint8Array {
    checkEncodable(value, "json", task);
    return encoder.encode(JSON.stringify(value));
  }

  protected decode(data: Uint8Array): unknown {
    return JSON.parse(decoder.decode(data));
  }
}
