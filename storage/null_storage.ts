// Methods are async without awaiting so that every error, validation included, rejects.
// deno-lint-ignore-file require-await
/**
 * `NullStorage`: stores nothing.
 *
 * @module
 */
import { TaskNotFound } from "../core/errors.ts";
import type { Storage, StorageDescription } from "../core/storage.ts";

/**
 * Stores nothing and finds nothing. A Lab with `storage: null` uses it and
 * skips serialisation entirely.
 *
 * @example
 * ```ts
 * import { NullStorage } from "./null_storage.ts";
 * import assert from "node:assert/strict";
 *
 * const storage = new NullStorage();
 * await storage.write("k", "f", new Uint8Array());
 * assert.equal(await storage.exists("k"), false);
 * ```
 */
export class NullStorage implements Storage {
  /** Always true: a NullStorage keeps nothing, so results are never serialised. */
  readonly storesNothing = true;

  /**
   * Describes this storage for a worker, which reopens it as a NullStorage.
   *
   * @returns `{ kind: "null" }`.
   */
  describe(): StorageDescription {
    return { kind: "null" };
  }

  async findKeys(): Promise<string[]> {
    return [];
  }
  async exists(_key: string): Promise<boolean> {
    return false;
  }
  async read(key: string, filename: string): Promise<Uint8Array> {
    return Promise.reject(
      new TaskNotFound(`Cannot read ${filename} of ${key}: NullStorage stores nothing`),
    );
  }
  async write(_key: string, _filename: string, _data: Uint8Array): Promise<void> {
  }
  async delete(_key: string): Promise<void> {
  }
}
