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
import { checkEncodable, TYPED_ARRAYS } from "./_encodable.ts";
import { FileCache, type RawEncoding } from "./_file_cache.ts";

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
/** Pack buffers kept for reuse: a small result's buffer would otherwise be garbage per save. */
const SPARE_BUFFERS = 2;
/** A larger pack buffer is not kept: holding it would cost more memory than it saves time. */
const MAX_SPARE_BYTES = 1 << 20;
/** A typed array this large is written from where it lives, after a header of its own. */
const RAW_MIN_BYTES = 1 << 16;

// msgpackr's typed-array extension: "t", then the type's index in TYPED_ARRAYS, then the bytes.
const EXT32 = 0xc9;
const TYPED_ARRAY_EXT = 0x74;
/** Bytes before the raw bytes: ext32 marker, length, extension type, array type. */
const RAW_HEAD_BYTES = 7;

// The exact bytes msgpackr writes for a large typed array (it reads them back as such).
function rawEncoding(value: unknown): RawEncoding | null {
  if (!ArrayBuffer.isView(value) || value.byteLength < RAW_MIN_BYTES) return null;
  const code = TYPED_ARRAYS.indexOf(Object.getPrototypeOf(value)?.constructor);
  if (code < 0 || !(value.buffer instanceof ArrayBuffer)) return null;
  const head = new Uint8Array(RAW_HEAD_BYTES);
  head[0] = EXT32;
  new DataView(head.buffer).setUint32(1, value.byteLength + 1);
  head[5] = TYPED_ARRAY_EXT;
  head[6] = code;
  return { head, body: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) };
}

// Bytes a value's typed arrays and ArrayBuffers take, to size a pack buffer once.
function bufferBytes(value: unknown): number {
  let total = 0;
  const seen = new Set<object>();
  const stack = [value];
  while (stack.length > 0 && seen.size < 10_000) {
    const item = stack.pop();
    if (typeof item !== "object" || item === null || seen.has(item)) continue;
    seen.add(item);
    if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer) total += item.byteLength;
    else if (item instanceof Map) { for (const [k, v] of item) stack.push(k, v); }
    else if (item instanceof Set || Array.isArray(item)) stack.push(...item);
    else if (Object.getPrototypeOf(item) === Object.prototype) stack.push(...Object.values(item));
  }
  return total;
}

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

  protected encode(value: unknown, task: Task): Uint8Array | RawEncoding {
    checkEncodable(value, "structured", task);
    // A large typed array is not copied: a header, then its own bytes.
    const raw = rawEncoding(value);
    if (raw !== null) return raw;
    // Each save packs into a buffer of its own, so bytes another save is still
    // writing are never overwritten; a written one is reused (see written()).
    // A value holding large arrays gets a buffer of its size at once, where
    // msgpackr would grow one step by step, copying it each time.
    const needed = bufferBytes(value) + NEW_BUFFER_BYTES;
    const spare = this.#spare.pop();
    this.#packr.useBuffer(
      spare !== undefined && spare.byteLength >= needed ? spare : Buffer.allocUnsafeSlow(needed),
    );
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
  // A large buffer is let go, so one large result does not stay alive as garbage.
  protected override written(data: Uint8Array, storage: Storage): void {
    if (storage.copiesOnWrite !== true || data.buffer.byteLength > MAX_SPARE_BYTES) return;
    if (this.#spare.length < SPARE_BUFFERS) this.#spare.push(Buffer.from(data.buffer));
  }

  // The raw bytes were read into an array of their own: view them, no copy.
  protected override decodeRaw(head: Uint8Array, body: Uint8Array): unknown {
    const Type = TYPED_ARRAYS[head[6]!];
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (
      head.byteLength !== RAW_HEAD_BYTES || head[0] !== EXT32 || head[5] !== TYPED_ARRAY_EXT ||
      Type === undefined || view.getUint32(1) !== body.byteLength + 1 ||
      body.byteOffset !== 0 || body.byteLength % Type.BYTES_PER_ELEMENT !== 0
    ) {
      return undefined;
    }
    return new Type(body.buffer as ArrayBuffer);
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
