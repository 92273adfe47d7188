/**
 * `LmdbStorage`: cache entries as records of one LMDB database, for sweeps of
 * many small results. Needs the `lmdb` package (an optional peer dependency).
 *
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { RootDatabase } from "npm:lmdb@^3.5.6";
import { StorageError, TaskNotFound } from "../core/errors.ts";
import {
  isValidKey,
  type Storage,
  type StorageDescription,
  validateName,
} from "../core/storage.ts";
import { encodeEntry, fileOfEntry, withFile } from "./_entry_record.ts";
import { registerStorageKind } from "./open.ts";

/** How an {@link LmdbStorage} commits. */
export interface LmdbStorageOptions {
  /**
   * Wait until each commit is on the disk (fsync) before a write resolves:
   * one sync per write. Default false: a write
   * resolves once committed (visible to every process, safe if the process is
   * killed) and reaches the disk when the OS writes it back, as LocalStorage's
   * files do.
   */
  readonly durable?: boolean;
}

type Database = RootDatabase<Uint8Array, string>;

// Loaded here rather than imported, so that `labtech/lmdb` imports without the optional
// package and says what to install when a storage is first used.
let lmdb: typeof import("npm:lmdb@^3.5.6") | null = null;
let lmdbMissing: unknown = null;
try {
  lmdb = await import("npm:lmdb@^3.5.6");
} catch (error) {
  lmdbMissing = error;
}

const reasonOf = (error: unknown) => (error as Error).message;

// Opening an environment in lmdb 3.5.6 sets the lock file's last-transaction id
// from the data file without holding LMDB's writer lock (mdb_env_open2), so a
// process that opens the database while another commits can roll that id back;
// the next commit then builds on a stale tree and damages the file
// (MDB_BAD_TXN "mdb_page_touch no parent"). Opening the database and every
// write therefore take turns through an empty write transaction on a second,
// dataless environment in the same folder: LMDB's own writer lock, across
// processes and threads. It never commits, so the same flaw cannot reach it.
// Closing the database also takes a turn, and the turns environment stays
// open until the process exits: LMDB's last user destroys the lock file's
// mutexes on closing, and a process opening it at that moment is left with
// broken mutexes (every transaction then fails).
const TURNS_FILE = "writers.mdb";
const turnsByFile = new Map<string, { db: Database; inode: number }>();

// The process's turns environment for a database folder; reopened when the
// folder was deleted and made again (a new file), so that turns stay shared.
function turnsOf(folder: string, open: NonNullable<typeof lmdb>["open"]): Database {
  const file = join(folder, TURNS_FILE);
  const known = turnsByFile.get(file);
  if (known !== undefined && statSync(file, { throwIfNoEntry: false })?.ino === known.inode) {
    return known.db;
  }
  const db = open<Uint8Array, string>({
    path: file,
    noSubdir: true,
    encoding: "binary",
    noSync: true, // it never commits
  });
  turnsByFile.set(file, { db, inode: statSync(file).ino });
  return db;
}

/**
 * Keeps each entry as one record (all its files) in an LMDB database in the
 * folder `path` (`data.mdb` and `lock.mdb`, and `writers.mdb` with its lock,
 * which orders writers). An entry is written in one transaction, so it is
 * complete or absent; several processes and threads may read and write one
 * database at once. A small entry takes a
 * few hundred bytes instead of a folder and two files, and a write costs tens
 * of microseconds instead of several file-system calls: pick it for sweeps of
 * many small results on one machine. Keep {@link LocalStorage} for readable
 * folders, large results, or a storage on a network filesystem (LMDB must not
 * be shared over NFS).
 *
 * Importing this module registers the `"lmdb"` kind with `openStorage`, so a
 * worker that imported it reopens the storage from `describe()`.
 *
 * @example
 * ```ts
 * import { LmdbStorage } from "./lmdb_storage.ts";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const storage = new LmdbStorage(join(mkdtempSync(join(tmpdir(), "lt-")), "results"));
 * await storage.writeEntry("k1", new Map([["a.txt", new TextEncoder().encode("hi")]]));
 * assert.deepEqual(await storage.findKeys(), ["k1"]);
 * assert.equal(new TextDecoder().decode(await storage.read("k1", "a.txt")), "hi");
 * await storage.delete("k1");
 * assert.equal(await storage.exists("k1"), false);
 * await storage.close();
 * ```
 */
export class LmdbStorage implements Storage {
  /** True: a write copies the bytes into the database before it returns. */
  readonly copiesOnWrite = true;
  /** True: subprocess workers leave saving to the Lab (writers take turns, so more would queue). */
  readonly oneWriterProcess = true;
  /** The absolute folder holding the database. */
  readonly path: string;
  /** True when writes wait for the disk (see {@link LmdbStorageOptions.durable}). */
  readonly durable: boolean;
  #db: Database | null = null;
  #turns: Database | null = null; // see TURNS_FILE

  /**
   * @param path Folder for the database; made on first write.
   * @param options How it commits.
   * @throws {TypeError} when `path` is not a non-empty string.
   */
  constructor(path: string, options: LmdbStorageOptions = {}) {
    if (typeof path !== "string" || path === "") {
      throw new TypeError("Cannot create LmdbStorage as path must be a non-empty string");
    }
    this.path = resolve(path);
    this.durable = options.durable === true;
  }

  /**
   * Describes this storage for a worker thread or subprocess of this machine.
   *
   * @returns `{ kind: "lmdb", path, durable }`.
   */
  describe(): StorageDescription {
    return { kind: "lmdb", path: this.path, durable: this.durable };
  }

  // Opens the database; null when it does not exist and `create` is false,
  // so reading an absent storage makes nothing.
  #open(create: boolean): Database | null {
    if (this.#db !== null) return this.#db;
    if (!create && !existsSync(join(this.path, "data.mdb"))) return null;
    if (lmdb === null) {
      throw new StorageError(
        `Cannot open LMDB storage ${this.path}: the lmdb package cannot be loaded ` +
          `(${reasonOf(lmdbMissing)}); install it beside labtech (npm install lmdb)`,
        { cause: lmdbMissing },
      );
    }
    const open = lmdb.open;
    try {
      this.#turns = turnsOf(this.path, open);
      this.#db = this.#inTurn(() =>
        open<Uint8Array, string>({
          path: this.path,
          encoding: "binary",
          compression: false,
          noSync: !this.durable,
          // A durable write syncs inside its own turn, not later on lmdb's thread.
          overlappingSync: false,
          noSubdir: false, // lmdb would take a path with a dot in its name for a file's
        })
      );
    } catch (error) {
      throw new StorageError(`Cannot open LMDB storage ${this.path}: ${reasonOf(error)}`, {
        cause: error,
      });
    }
    return this.#db;
  }

  /**
   * Keys of every entry, in one pass over the database's keys.
   *
   * @returns The keys, sorted; keys that are not valid entry keys are left out.
   * @throws {StorageError} when the database cannot be read.
   */
  findKeys(): Promise<string[]> {
    return this.#attempt("list the entries of", () => {
      const db = this.#open(false);
      if (db === null) return [];
      const keys: string[] = [];
      for (const key of db.getKeys()) {
        if (typeof key === "string" && isValidKey(key)) keys.push(key);
      }
      return keys.sort();
    });
  }

  /**
   * @param key The entry's key.
   * @returns True when the entry exists.
   * @throws {StorageError} for an invalid key or an unreadable database.
   */
  exists(key: string): Promise<boolean> {
    return this.#attempt(`check entry ${key} in`, () => {
      validateName("key", key);
      return this.#open(false)?.doesExist(key) ?? false;
    });
  }

  /**
   * @param key The entry's key.
   * @param filename The file in it.
   * @returns A copy of the file's bytes.
   * @throws {TaskNotFound} when the entry or file is absent.
   * @throws {StorageError} when the record is damaged or cannot be read.
   */
  read(key: string, filename: string): Promise<Uint8Array> {
    return this.#attempt(`read ${filename} of ${key} in`, () => {
      validateName("key", key);
      validateName("filename", filename);
      const record = this.#open(false)?.getBinaryFast(key);
      const data = record === undefined ? undefined : fileOfEntry(record, filename);
      if (data === undefined) {
        throw new TaskNotFound(`Cannot read ${filename} of ${key}: not in ${this.path}`);
      }
      return data;
    });
  }

  /**
   * Writes one file of an entry, keeping its other files (one transaction).
   *
   * @param key The entry's key.
   * @param filename The file in it.
   * @param data Its bytes.
   * @throws {StorageError} when it cannot be written, with LMDB's reason.
   */
  async write(key: string, filename: string, data: Uint8Array): Promise<void> {
    await this.#commit(`write ${filename} of ${key} in`, (db) => {
      validateName("key", key);
      validateName("filename", filename);
      db.transactionSync(() => {
        let old: Uint8Array | undefined = db.getBinary(key);
        try {
          if (old !== undefined) fileOfEntry(old, filename);
        } catch {
          old = undefined; // a damaged record is replaced, not merged
        }
        db.putSync(key, withFile(old, filename, data));
      });
    });
  }

  /**
   * Writes a whole entry in one transaction, replacing any old one.
   *
   * @param key The entry's key.
   * @param files Its files by name.
   * @throws {StorageError} when it cannot be written, with LMDB's reason.
   */
  async writeEntry(key: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    validateName("key", key);
    for (const filename of files.keys()) validateName("filename", filename);
    const record = encodeEntry(files);
    await this.#commit(`write entry ${key} in`, (db) => db.putSync(key, record));
  }

  /**
   * Removes an entry; no-op when absent.
   *
   * @param key The entry's key.
   * @throws {StorageError} when it cannot be removed.
   */
  async delete(key: string): Promise<void> {
    validateName("key", key);
    if (!(await this.exists(key))) return;
    await this.#commit(`delete entry ${key} in`, (db) => db.removeSync(key));
  }

  /**
   * Bytes an entry's record takes (its files and their names), or null when absent.
   *
   * @param key The entry's key.
   * @returns The record's size in bytes.
   */
  sizeOf(key: string): number | null {
    validateName("key", key);
    return this.#open(false)?.getBinaryFast(key)?.length ?? null;
  }

  /**
   * Bytes the database takes on disk (the data file; LMDB reuses freed pages
   * rather than shrinking it).
   *
   * @returns Its size in bytes, 0 when it does not exist.
   */
  diskBytes(): number {
    return statSync(join(this.path, "data.mdb"), { throwIfNoEntry: false })?.size ?? 0;
  }

  /**
   * Flushes every commit to the disk and closes the database; the storage
   * reopens it on next use.
   */
  async close(): Promise<void> {
    const db = this.#db;
    if (db === null) return;
    this.#db = null;
    // `sync` (mdb_env_sync) is in lmdb's JavaScript but not its typings.
    const syncable = db as unknown as { sync(done: (error?: Error) => void): void };
    await new Promise<void>((done) => syncable.sync(() => done()));
    // With every write synchronous and synced, lmdb closes at once: in the turn.
    await this.#inTurn(() => db.close());
  }

  // Runs a read; every error, validation included, rejects rather than throws.
  #attempt<T>(what: string, action: () => T): Promise<T> {
    try {
      return Promise.resolve(action());
    } catch (error) {
      if (error instanceof StorageError || error instanceof TaskNotFound) {
        return Promise.reject(error);
      }
      return Promise.reject(
        new StorageError(`Cannot ${what} ${this.path}: ${reasonOf(error)}`, { cause: error }),
      );
    }
  }

  // Runs `action` holding the write turn (see TURNS_FILE).
  #inTurn<T>(action: () => T): T {
    let result: T | undefined;
    this.#turns!.transactionSync(() => {
      result = action();
    });
    return result as T;
  }

  // Runs a write in its turn; a durable one resolves once its commit is on the disk.
  #commit(what: string, action: (db: Database) => unknown): Promise<void> {
    return this.#attempt(what, () => {
      const db = this.#open(true)!;
      this.#inTurn(() => action(db));
    });
  }
}

registerStorageKind(
  "lmdb",
  (description) =>
    new LmdbStorage(String(description.path), { durable: description.durable === true }),
);
