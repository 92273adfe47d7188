/**
 * `StructuredCache`: the default cache, a compact binary format.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Packr } from "npm:msgpackr@^2.1.4";
import { CacheError } from "../core/errors.ts";
import type { Task, TaskResult } from "../core/task.ts";
import type { Storage } from "../core/storage.ts";
import { checkEncodable } from "./_encodable.ts";
import { FileCache } from "./_file_cache.ts";

// Records keep plain objects apart from Maps; structuredClone adds Set, Date,
// RegExp, typed arrays and shared references; int64AsType keeps bigints bigints.
const PACKR_OPTIONS = {
  structuredClone: true,
  mapsAsObjects: false,
  int64AsType: "bigint",
  moreTypes: true,
} as const;

// msgpackr loads at the first save or load, not with the library: a worker or
// a Lab that caches nothing starts sooner without it.
let msgpackr: Promise<typeof import("npm:msgpackr@^2.1.4")> | null = null;

/** Size of a new pack buffer; msgpackr grows it as a result needs. */
const NEW_BUFFER_BYTES = 8192;
/** Pack buffers kept for reuse: a large result's buffer would otherwise be garbage per save. */
const SPARE_BUFFERS = 2;

/**
 * Stores results as MessagePack (msgpackr): round-trips objects, arrays, Map,
 * Set, Date, bigint, typed arrays, undefined and NaN; refuses functions,
 * symbols and class instances with a CacheError rather than losing them.
 * Entries written by any runtime are read by the other two.
 *
 * @example
 * ```ts
 * import { StructuredCache } from "./structured_cache.ts";
 * import { MemoryStorage } from "../storage/memory_storage.ts";
 * import { task } from "../core/task.ts";
 * import assert from "node:assert/strict";
 *
 * const cache = new StructuredCache();
 * const storage = new MemoryStorage();
 * const t = task({ name: "DocStructured", run: () => 0 })({});
 * const value = new Map([["n", 1n]]);
 * await cache.save(storage, t, { value, meta: { start: null, durationMs: 1 } });
 * const loaded = await cache.loadResultWithMeta(storage, t);
 * assert.deepEqual(loaded.value, value);
 * ```
 */
export class StructuredCache extends FileCache {
  protected readonly format = "structured/1";
  protected readonly dataFile = "data.msgpack";
  #packr!: Packr; // set by #load() before the first encode or decode
  readonly #spare: Buffer[] = [];

  protected encode(value: unknown, task: Task): Uint8Array {
    checkEncodable(value, "structured", task);
    // Each save packs into a buffer of its own, so bytes another save is still
    // writing are never overwritten; a written one is reused (see written()).
    this.#packr.useBuffer(this.#spare.pop() ?? Buffer.allocUnsafeSlow(NEW_BUFFER_BYTES));
    try {
      return this.#packr.pack(value);
    } catch (error) {
      throw new CacheError(`Cannot cache the result of ${task}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  // A storage that `copiesOnWrite` (LocalStorage, MemoryStorage) is done with
  // the bytes, so the buffer can take the next result; another might keep them.
  protected override written(data: Uint8Array, storage: Storage): void {
    if (storage.copiesOnWrite !== true) return;
    if (this.#spare.length < SPARE_BUFFERS) this.#spare.push(Buffer.from(data.buffer));
  }

  protected decode(data: Uint8Array): unknown {
    return this.#packr.unpack(data);
  }

  override async save(storage: Storage, task: Task, result: TaskResult<unknown>): Promise<void> {
    if (this.#packr === undefined) await this.#load();
    return super.save(storage, task, result);
  }

  override async loadResultWithMeta(storage: Storage, task: Task): Promise<TaskResult<unknown>> {
    if (this.#packr === undefined) await this.#load();
    return super.loadResultWithMeta(storage, task);
  }

  async #load(): Promise<void> {
    const { Packr } = await (msgpackr ??= import("npm:msgpackr@^2.1.4"));
    this.#packr ??= new Packr(PACKR_OPTIONS);
  }
}
