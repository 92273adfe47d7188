// Methods are async without awaiting so that every error, validation included, rejects.
// deno-lint-ignore-file require-await
/**
 * `MemoryStorage`: cache entries kept in this process's memory.
 *
 * @module
 */
import { TaskNotFound } from "../core/errors.ts";
import { concatBytes, type Storage, validateName } from "../core/storage.ts";

/**
 * Keeps entries in a Map: for tests, notebooks and runs whose results need
 * not outlive the process. Entries are still serialised by the cache, and the
 * bytes are copied (a Node Buffer's `slice()` would only make a view).
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./memory_storage.ts";
 * import assert from "node:assert/strict";
 *
 * const storage = new MemoryStorage();
 * await storage.write("k", "data.bin", new Uint8Array([1]));
 * assert.equal(await storage.exists("k"), true);
 * assert.deepEqual(await storage.read("k", "data.bin"), new Uint8Array([1]));
 * ```
 */
export class MemoryStorage implements Storage {
  /** True: a write keeps a copy of the bytes, never the caller's buffer. */
  readonly copiesOnWrite = true;
  readonly #entries = new Map<string, Map<string, Uint8Array>>();

  async findKeys(): Promise<string[]> {
    return [...this.#entries.keys()].sort();
  }

  async exists(key: string): Promise<boolean> {
    validateName("key", key);
    return this.#entries.has(key);
  }

  async read(key: string, filename: string): Promise<Uint8Array> {
    validateName("key", key);
    validateName("filename", filename);
    const data = this.#entries.get(key)?.get(filename);
    if (data === undefined) {
      return Promise.reject(
        new TaskNotFound(`Cannot read ${filename} of ${key}: not in memory storage`),
      );
    }
    return data;
  }

  async write(key: string, filename: string, data: Uint8Array): Promise<void> {
    validateName("key", key);
    validateName("filename", filename);
    let entry = this.#entries.get(key);
    if (entry === undefined) this.#entries.set(key, entry = new Map());
    entry.set(filename, new Uint8Array(data));
  }

  writeEntry(key: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    return this.writeEntryParts(key, new Map([...files].map(([name, data]) => [name, [data]])));
  }

  /**
   * `writeEntry` with each file given as parts: they are joined into the one
   * copy this storage keeps anyway, so a large value is copied once.
   */
  async writeEntryParts(
    key: string,
    files: ReadonlyMap<string, readonly Uint8Array[]>,
  ): Promise<void> {
    validateName("key", key);
    for (const filename of files.keys()) validateName("filename", filename);
    this.#entries.set(key, new Map([...files].map(([name, parts]) => [name, concatBytes(parts)])));
  }

  async delete(key: string): Promise<void> {
    validateName("key", key);
    this.#entries.delete(key);
  }
}
