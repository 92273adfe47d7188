/**
 * The one reader of an entry's `metadata.json`: parses it and checks its
 * shape. Used by the file caches (which also check the format) and by the
 * cache command (which lists entries of every format).
 *
 * @module
 */
import { CacheError } from "../core/errors.ts";
import type { Storage } from "../core/storage.ts";

/** The name of the metadata file in every entry. */
export const METADATA_FILE = "metadata.json";

/** What `metadata.json` holds. */
export interface EntryMetadata {
  /** The library version that wrote it. */
  labtechVersion: string;
  /** The cache format, with a version: `structured/1`. */
  cacheFormat: string;
  /** The entry's key, repeated: a copied or renamed folder does not match. */
  cacheKey: string;
  /** The data file's name. */
  dataFile: string;
  /** The serialised task: its type's name, code version and stored parameters. */
  task: { name: string; codeVersion: string | null; params: unknown };
  /** When the result was produced (ISO 8601), or null. */
  start: string | null;
  /** How long producing it took, in ms, or null. */
  durationMs: number | null;
  /** The runtime that produced it. */
  runtime: string;
  /**
   * Set when the data file holds one typed array: where its raw bytes start,
   * after the format's header, so a reader may load them straight into the
   * array. Absent in entries of other values and of older versions.
   */
  rawDataAt?: number;
}

const decoder = new TextDecoder();

/**
 * Parses the bytes of `key`'s `metadata.json` and checks its shape.
 *
 * @param key The entry's key, which the metadata must repeat.
 * @param bytes The file's bytes.
 * @returns The metadata.
 * @throws {CacheError} when it is not JSON, is for another key or names no task type.
 * @example
 * ```ts
 * import { parseMetadata } from "./_metadata.ts";
 * import assert from "node:assert/strict";
 * const text = '{"cacheKey":"Fit__1","cacheFormat":"json/1","task":{"name":"Fit","params":{}}}';
 * assert.equal(parseMetadata("Fit__1", new TextEncoder().encode(text)).task.name, "Fit");
 * assert.throws(() => parseMetadata("Fit__2", new TextEncoder().encode(text)), /another key/);
 * ```
 */
export function parseMetadata(key: string, bytes: Uint8Array): EntryMetadata {
  let metadata: EntryMetadata;
  try {
    metadata = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new CacheError(`Cannot read cache entry ${key}: its metadata.json is not valid JSON`, {
      cause: error,
    });
  }
  if (metadata?.cacheKey !== key) {
    throw new CacheError(`Cannot read cache entry ${key}: its metadata.json is for another key`);
  }
  if (typeof metadata.task?.name !== "string") {
    throw new CacheError(`Cannot read cache entry ${key}: its metadata.json names no task type`);
  }
  return metadata;
}

/**
 * Reads and checks `key`'s `metadata.json` from `storage`.
 *
 * @param storage Where the entry is.
 * @param key The entry's key.
 * @returns The metadata.
 * @throws {CacheError} when the file is malformed (see `parseMetadata`).
 * @throws {TaskNotFound} (from the storage) when the entry or its metadata is missing.
 * @example
 * ```ts
 * import { readMetadata } from "./_metadata.ts";
 * import { Lab } from "../lab/lab.ts";
 * import { task } from "../core/task.ts";
 * import { MemoryStorage } from "../storage/memory_storage.ts";
 * import assert from "node:assert/strict";
 * const storage = new MemoryStorage();
 * const t = task({ name: "DocReadMetadata", run: (p: { x: number }) => p.x })({ x: 1 });
 * await new Lab({ storage }).runTask(t, { progress: false });
 * assert.deepEqual((await readMetadata(storage, t.cacheKey)).task.params, { x: 1 });
 * ```
 */
export async function readMetadata(storage: Storage, key: string): Promise<EntryMetadata> {
  return parseMetadata(key, await storage.read(key, METADATA_FILE));
}

const KEY_SHAPE = /^(.+)__[0-9a-f]{40}$/;

/**
 * The type name a key of the standard shape `<name>__<sha1 hex>` was made
 * from (exact even when the name itself contains `__`), or null for a key of
 * another shape.
 *
 * @param key A cache key.
 * @returns The type name, or null.
 * @example
 * ```ts
 * import { typeNameOfKey } from "./_metadata.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeNameOfKey(`A__b__${"0".repeat(40)}`), "A__b");
 * assert.equal(typeNameOfKey("A__corrupt"), null);
 * ```
 */
export function typeNameOfKey(key: string): string | null {
  return KEY_SHAPE.exec(key)?.[1] ?? null;
}
