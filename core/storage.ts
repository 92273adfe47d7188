/**
 * The `Storage` interface: where cached results live.
 *
 * @module
 */
import { StorageError } from "./errors.ts";

/**
 * Where cache entries live: one entry per cache key, a few named files each.
 *
 * A storage may add `writeEntry` to write a whole entry atomically; caches use
 * it when present, so an entry becomes visible only once complete.

 * @example
 * ```ts
 * import type { Storage } from "./storage.ts";
 * import { MemoryStorage } from "../storage/memory_storage.ts";
 * import assert from "node:assert/strict";
 * const storage: Storage = new MemoryStorage();
 * await storage.write("Fit__abc", "data.json", new TextEncoder().encode("1"));
 * assert.deepEqual(await storage.findKeys(), ["Fit__abc"]);
 * assert.equal(new TextDecoder().decode(await storage.read("Fit__abc", "data.json")), "1");
 * await storage.delete("Fit__abc");
 * assert.equal(await storage.exists("Fit__abc"), false);
 * ```
 */
export interface Storage {
  /** Keys of every complete entry. */
  findKeys(): Promise<string[]>;
  /** True when an entry for `key` exists. */
  exists(key: string): Promise<boolean>;
  /** The bytes of one file of an entry. */
  read(key: string, filename: string): Promise<Uint8Array>;
  /** Writes one file of an entry. */
  write(key: string, filename: string, data: Uint8Array): Promise<void>;
  /** Removes an entry and all its files; no-op when absent. */
  delete(key: string): Promise<void>;
  /** Optional: writes all files of an entry at once, replacing any old entry atomically. */
  writeEntry?(key: string, files: ReadonlyMap<string, Uint8Array>): Promise<void>;
  /**
   * Optional, beside `writeEntry`: the same, with each file given as byte
   * arrays written one after another, so a large value is written from where
   * it lives instead of first being copied into one buffer. Caches use it
   * when present, else join the parts and call `writeEntry`.
   */
  writeEntryParts?(key: string, files: ReadonlyMap<string, readonly Uint8Array[]>): Promise<void>;
  /**
   * Optional: reads one file of an entry into buffers the caller allocates
   * once the file's size is known: `allocate(size)` returns byte arrays whose
   * lengths add up to `size`, filled in order. A cache uses it to read a
   * large value straight into the array it returns, without a copy.
   * Rejects as `read` does (TaskNotFound when absent).
   */
  readInto?(
    key: string,
    filename: string,
    allocate: (byteLength: number) => readonly Uint8Array[],
  ): Promise<void>;
  /**
   * Optional: a plain description from which another thread, process or
   * machine reopens this storage (`openStorage`). Workers then load and save
   * results themselves; without it (or when it returns null) loading and
   * saving happen on the Lab's side.
   */
  describe?(): StorageDescription | null;
  /**
   * Optional: true when the Lab's process should be its only writer (a
   * storage whose writers queue for one lock, as LmdbStorage's do, or that
   * cannot take writers in several processes). Subprocess workers then send
   * their results to the Lab, which saves them; worker threads share the
   * Lab's process and save themselves.
   */
  readonly oneWriterProcess?: boolean;
  /** Optional: true for a storage that keeps nothing, so results are never serialised. */
  readonly storesNothing?: boolean;
  /**
   * Optional: true when `write` and `writeEntry` are done with the bytes they
   * were given once they resolve (written or copied), so a cache may reuse its buffer.
   */
  readonly copiesOnWrite?: boolean;
}

/**
 * A plain, JSON-serialisable description of a storage that can be reopened
 * elsewhere: `kind` names the opener (`"local"`, `"null"`, or one a module
 * registered with `registerStorageKind`), the rest are its options.
 *
 * @example
 * ```ts
 * import type { StorageDescription } from "./storage.ts";
 * import { LocalStorage } from "../storage/local_storage.ts";
 * import assert from "node:assert/strict";
 * const description: StorageDescription | null = new LocalStorage("lab_storage").describe();
 * assert.equal(description?.kind, "local");
 * assert.equal(JSON.parse(JSON.stringify(description)).kind, "local");
 * ```
 */
export interface StorageDescription {
  /** Which opener turns it back into a storage. */
  readonly kind: string;
  /** The opener's options: plain data only. */
  readonly [option: string]: unknown;
}

/**
 * What a worker reopens to save results itself, or null when the Lab's side
 * saves them: a storage without a description, or one that wants the Lab's
 * process as its only writer (`oneWriterProcess`) when the worker is a subprocess.
 *
 * @param storage The Lab's storage.
 * @param worker Where the worker runs: a thread of the Lab's process, or a process of its own.
 * @returns The description to reopen, or null.
 *
 * @example
 * ```ts
 * import { workerStorage } from "./storage.ts";
 * import { LocalStorage } from "../storage/local_storage.ts";
 * import assert from "node:assert/strict";
 * assert.equal(workerStorage(new LocalStorage("lab_storage"), "process")?.kind, "local");
 * ```
 */
export function workerStorage(
  storage: Storage,
  worker: "thread" | "process",
): StorageDescription | null {
  if (storage.oneWriterProcess === true && worker === "process") return null;
  return storage.describe?.() ?? null;
}

/**
 * Joins byte parts into one new array (what `writeEntryParts` callers and
 * storages do when a file must be one buffer).
 *
 * @param parts The parts, in order.
 * @returns A new array holding their bytes.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./storage.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

/**
 * Checks that a key or filename is one plain path segment, so nothing escapes
 * the storage location.
 *
 * @throws {StorageError} naming the value and what is allowed.
 *
 * @example
 * ```ts
 * import { validateName } from "./storage.ts";
 * import assert from "node:assert/strict";
 * validateName("key", "Experiment__abc");
 * assert.throws(() => validateName("key", "../etc"), /Cannot use key/);
 * ```
 */
export function validateName(what: "key" | "filename", value: string): void {
  if (typeof value !== "string" || !SAFE_NAME.test(value)) {
    throw new StorageError(
      `Cannot use ${what} ${JSON.stringify(value)}: it must be 1 to 255 letters, digits, ` +
        `"_", "." or "-" and not start with "." or "-", so it stays inside the storage`,
    );
  }
}

/**
 * True when `key` is a valid storage key (see {@linkcode validateName}): for
 * storages that list what they hold and skip anything else.
 *
 * @param key A name found in the storage.
 * @returns Whether it can be an entry's key.
 * @example
 * ```ts
 * import { isValidKey } from "./storage.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isValidKey("Fit__abc"), true);
 * assert.equal(isValidKey(".tmp-1"), false);
 * ```
 */
export function isValidKey(key: string): boolean {
  return typeof key === "string" && SAFE_NAME.test(key);
}
