// Methods are async without awaiting so that every error, validation included, rejects.
// deno-lint-ignore-file require-await
/**
 * `LocalStorage`: cache entries as folders in a local directory.
 *
 * @module
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { StorageError, TaskNotFound } from "../core/errors.ts";
import { type Storage, type StorageDescription, validateName } from "../core/storage.ts";

let tempCounter = 0;

/**
 * Stores each entry as `<dir>/<key>/<filename>`. Entries are written into a
 * hidden folder beside them and renamed into place, so a crash never leaves an
 * entry that exists but cannot be read. The directory gets a `.gitignore`.
 *
 * Small synchronous file calls are used on purpose: they cost a few
 * microseconds, where a promise-based call costs tens.
 *
 * @example
 * ```ts
 * import { LocalStorage } from "./local_storage.ts";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const storage = new LocalStorage(join(mkdtempSync(join(tmpdir(), "lt-")), "store"));
 * await storage.writeEntry("k1", new Map([["a.txt", new TextEncoder().encode("hi")]]));
 * assert.deepEqual(await storage.findKeys(), ["k1"]);
 * assert.equal(new TextDecoder().decode(await storage.read("k1", "a.txt")), "hi");
 * await storage.delete("k1");
 * assert.equal(await storage.exists("k1"), false);
 * ```
 */
export class LocalStorage implements Storage {
  /** The absolute directory holding the entries. */
  readonly dir: string;
  /** True: the bytes are on disk once a write resolves. */
  readonly copiesOnWrite = true;
  #ready = false;

  /** @param dir Directory for the entries; made (with a `.gitignore`) on first write. */
  constructor(dir: string) {
    if (typeof dir !== "string" || dir === "") {
      throw new TypeError("Cannot create LocalStorage as dir must be a non-empty string");
    }
    this.dir = resolve(dir);
  }

  /**
   * Describes this storage for a worker or another machine, which reopens it
   * from its directory (for a shared filesystem, the same path everywhere).
   *
   * @returns `{ kind: "local", dir }` with the absolute directory.
   */
  describe(): StorageDescription {
    return { kind: "local", dir: this.dir };
  }

  #ensureDir(): void {
    if (this.#ready) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      const ignore = join(this.dir, ".gitignore");
      if (!existsSync(ignore)) writeFileSync(ignore, "# Created by labtech: cached results\n*\n");
    } catch (error) {
      throw new StorageError(`Cannot create storage directory ${this.dir}`, { cause: error });
    }
    this.#ready = true;
  }

  #tempPath(key: string): string {
    return join(this.dir, `.tmp-${key}-${Date.now().toString(36)}-${(tempCounter++).toString(36)}`);
  }

  async findKeys(): Promise<string[]> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return [];
      throw new StorageError(`Cannot list storage directory ${this.dir}`, { cause: error });
    }
    return names.filter((name) => !name.startsWith(".")).sort();
  }

  async exists(key: string): Promise<boolean> {
    validateName("key", key);
    return Promise.resolve(
      statSync(join(this.dir, key), { throwIfNoEntry: false })?.isDirectory() ?? false,
    );
  }

  async read(key: string, filename: string): Promise<Uint8Array> {
    validateName("key", key);
    validateName("filename", filename);
    try {
      return readFileSync(join(this.dir, key, filename));
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") {
        throw new TaskNotFound(`Cannot read ${filename} of ${key}: not in ${this.dir}`, {
          cause: error,
        });
      }
      throw new StorageError(`Cannot read ${filename} of ${key} in ${this.dir}`, { cause: error });
    }
  }

  async write(key: string, filename: string, data: Uint8Array): Promise<void> {
    validateName("key", key);
    validateName("filename", filename);
    this.#ensureDir();
    const temp = this.#tempPath(key);
    try {
      mkdirSync(join(this.dir, key), { recursive: true });
      writeFileSync(temp, data);
      renameSync(temp, join(this.dir, key, filename));
    } catch (error) {
      rmSync(temp, { force: true });
      throw new StorageError(`Cannot write ${filename} of ${key} in ${this.dir}`, { cause: error });
    }
  }

  async writeEntry(key: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    validateName("key", key);
    for (const filename of files.keys()) validateName("filename", filename);
    this.#ensureDir();
    const temp = this.#tempPath(key);
    const target = join(this.dir, key);
    try {
      mkdirSync(temp);
      for (const [filename, data] of files) writeFileSync(join(temp, filename), data);
      this.#replace(temp, target);
    } catch (error) {
      rmSync(temp, { recursive: true, force: true });
      throw new StorageError(`Cannot write entry ${key} in ${this.dir}`, { cause: error });
    }
  }

  // Moves a complete entry into place; an old entry is moved aside first (a
  // directory cannot be renamed over a non-empty one) and then removed.
  #replace(temp: string, target: string): void {
    try {
      renameSync(temp, target);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "EPERM") throw error;
      const old = `${temp}-old`;
      renameSync(target, old);
      renameSync(temp, target);
      rmSync(old, { recursive: true, force: true });
    }
  }

  async delete(key: string): Promise<void> {
    validateName("key", key);
    const target = join(this.dir, key);
    if (!existsSync(target)) return;
    const trash = `${this.#tempPath(key)}-deleted`;
    try {
      renameSync(target, trash);
      rmSync(trash, { recursive: true, force: true });
    } catch (error) {
      throw new StorageError(`Cannot delete entry ${key} in ${this.dir}`, { cause: error });
    }
  }
}
