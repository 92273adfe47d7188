// Methods are async without awaiting so that every error, validation included, rejects.
// deno-lint-ignore-file require-await
/**
 * `LocalStorage`: cache entries as folders in a local directory.
 *
 * @module
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { StorageError, TaskNotFound } from "../core/errors.ts";
import {
  isValidKey,
  type Storage,
  type StorageDescription,
  validateName,
} from "../core/storage.ts";
import { isStale, ownPid, TEMP_PREFIX, tempName } from "./_temp_names.ts";

// Links are never followed: an entry must not read or list anything outside the directory.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);
// A file of a new work folder: ours alone, so it must not exist yet.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL |
  (constants.O_NOFOLLOW ?? 0);
// Where a file is read first: most entry files fit, and then one read takes the whole file (a read
// of a regular file that returns less than it asked for has reached its end), with no fstat, whose
// Stats object (four Dates) costs several reads on Deno. Shared: it is used synchronously.
const SCRATCH = new Uint8Array(64 * 1024);
// A rename onto an entry that is there already (a folder, or a plain file or a link).
const TAKEN = new Set(["ENOTEMPTY", "EEXIST", "EPERM", "ENOTDIR", "EISDIR"]);

const codeOf = (error: unknown) => (error as { code?: string }).code;
// The system's reason, with its code first as Node words it (Deno's writeSync gives only
// "No space left on device (os error 28)").
const reasonOf = (error: unknown) => {
  const { message } = error as Error;
  const code = codeOf(error);
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message;
};

/**
 * Stores each entry as `<dir>/<key>/<filename>`. Entries are written into a
 * hidden folder beside them and renamed into place, so a crash never leaves an
 * entry that exists but cannot be read. The directory gets a `.gitignore`.
 *
 * Safe for several processes and threads writing one directory: work folders
 * are named by host, pid and random bytes, a writer removes only what it
 * made, and the second writer of an entry succeeds (last one wins). Work
 * folders of writers that died are removed when the directory is next listed
 * or first written. Symbolic links are never followed: an entry that is a
 * link, holds one, or is a plain file is treated as absent or corrupt and is
 * replaced by the next write. Nothing is fsynced: an entry survives the
 * process being killed, and a power loss may leave a corrupt entry, which is
 * skipped with a warning and run again.
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
  #swept = false;
  // Keys this storage has seen as real folders (not links), by its last listing, a check or a
  // read: reading their files skips the entry's lstat, which costs more than the open on Deno
  // and was a third of a cached load there. A folder swapped for a link since then would be
  // followed; only a process writing into this directory at that moment could do that, and it
  // could write any result there anyway. Holds at most one listing's names (which the Lab holds
  // too while it runs) plus the entries checked or read since.
  #folders = new Set<string>();

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

  async #ensureDir(): Promise<void> {
    await ownPid();
    try {
      mkdirSync(this.dir, { recursive: true });
      const ignore = join(this.dir, ".gitignore");
      if (!existsSync(ignore)) writeFileSync(ignore, "# Created by labtech: cached results\n*\n");
    } catch (error) {
      throw new StorageError(`Cannot create storage directory ${this.dir}: ${reasonOf(error)}`, {
        cause: error,
      });
    }
    this.#ready = true;
    if (!this.#swept) this.#sweep(readdirSync(this.dir));
  }

  // Removes work folders whose writer is gone; a folder another process is
  // removing at the same moment is simply already gone.
  #sweep(names: readonly string[]): void {
    this.#swept = true;
    const now = Date.now();
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(this.dir, name);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (stat !== undefined && isStale(name, stat.mtimeMs, now)) {
        try {
          rmSync(path, { recursive: true, force: true });
        } catch {
          // Not ours to insist on: the next listing tries again.
        }
      }
    }
  }

  /**
   * Keys of the complete entries: folders with a valid key as name. Links,
   * plain files and work folders are left out, never followed. Lists the
   * directory once, and removes work folders that dead writers left behind.
   *
   * @returns The keys, sorted.
   * @throws {StorageError} when the directory cannot be read.
   */
  async findKeys(): Promise<string[]> {
    let entries;
    try {
      entries = readdirSync(this.dir, { withFileTypes: true });
    } catch (error) {
      if (codeOf(error) === "ENOENT") return [];
      throw new StorageError(`Cannot list storage directory ${this.dir}: ${reasonOf(error)}`, {
        cause: error,
      });
    }
    if (!this.#swept) {
      await ownPid();
      this.#sweep(entries.map((entry) => entry.name));
    }
    const keys: string[] = [];
    for (const entry of entries) {
      if (entry.isDirectory() && !entry.name.startsWith(".") && isValidKey(entry.name)) {
        keys.push(entry.name);
      }
    }
    this.#folders = new Set(keys);
    return keys.sort();
  }

  /**
   * @param key The entry's key.
   * @returns True when `<dir>/<key>` is a folder (not a link or a file).
   * @throws {StorageError} for an invalid key.
   */
  async exists(key: string): Promise<boolean> {
    validateName("key", key);
    const stat = lstatSync(join(this.dir, key), { throwIfNoEntry: false });
    const folder = stat?.isDirectory() ?? false;
    if (folder) this.#folders.add(key);
    else this.#folders.delete(key);
    return folder;
  }

  /**
   * Reads one file of an entry, without following links.
   *
   * @param key The entry's key.
   * @param filename The file in it.
   * @returns Its bytes.
   * @throws {TaskNotFound} when the entry or file is absent.
   * @throws {StorageError} when it cannot be read, or the entry or file is a link.
   */
  async read(key: string, filename: string): Promise<Uint8Array> {
    return this.#withFile(key, filename, (fd) => {
      let bytes = new Uint8Array(0);
      readParts(fd, (size) => [bytes = new Uint8Array(size)]);
      return bytes;
    });
  }

  /**
   * Reads one file of an entry into the buffers `allocate` returns for its
   * size (see `Storage.readInto`), without following links.
   *
   * @param key The entry's key.
   * @param filename The file in it.
   * @param allocate Given the file's size, returns byte arrays of that total length.
   * @throws {TaskNotFound} when the entry or file is absent.
   * @throws {StorageError} as `read` does, or when the file is shorter than its size said.
   */
  async readInto(
    key: string,
    filename: string,
    allocate: (byteLength: number) => readonly Uint8Array[],
  ): Promise<void> {
    this.#withFile(key, filename, (fd) => readParts(fd, allocate));
  }

  // Opens an entry's file without following links, runs `use` on it, and closes it.
  #withFile<T>(key: string, filename: string, use: (fd: number) => T): T {
    validateName("key", key);
    validateName("filename", filename);
    const entry = join(this.dir, key);
    let fd: number | undefined;
    try {
      if (!this.#folders.has(key)) {
        const stat = lstatSync(entry, { throwIfNoEntry: false });
        if (stat === undefined) throw Object.assign(new Error("no such entry"), { code: "ENOENT" });
        if (!stat.isDirectory()) {
          throw new Error("the entry is not a folder (a link or a file): links are never followed");
        }
        this.#folders.add(key);
      }
      fd = openSync(join(entry, filename), READ_FLAGS);
      return use(fd);
    } catch (error) {
      this.#folders.delete(key);
      if (codeOf(error) === "ENOENT") {
        throw new TaskNotFound(`Cannot read ${filename} of ${key}: not in ${this.dir}`, {
          cause: error,
        });
      }
      const why = codeOf(error) === "ELOOP"
        ? "it is a symbolic link, and links are never followed"
        : reasonOf(error);
      throw new StorageError(`Cannot read ${filename} of ${key} in ${this.dir}: ${why}`, {
        cause: error,
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /**
   * Writes one file of an entry in place (the file itself atomically).
   *
   * @param key The entry's key.
   * @param filename The file in it.
   * @param data Its bytes.
   * @throws {StorageError} when it cannot be written, with the system's reason.
   */
  async write(key: string, filename: string, data: Uint8Array): Promise<void> {
    validateName("key", key);
    validateName("filename", filename);
    if (!this.#ready) await this.#ensureDir();
    const temp = join(this.dir, tempName());
    const entry = join(this.dir, key);
    try {
      const stat = lstatSync(entry, { throwIfNoEntry: false });
      if (stat !== undefined && !stat.isDirectory()) this.#remove(entry, `${temp}-del`);
      mkdirSync(entry, { recursive: true });
      writeFileSync(temp, data);
      renameSync(temp, join(entry, filename));
    } catch (error) {
      rmSync(temp, { force: true });
      throw new StorageError(
        `Cannot write ${filename} of ${key} in ${this.dir}: ${reasonOf(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Writes a whole entry aside and renames it into place, replacing any old
   * entry (or a file or link where the entry should be). When another writer
   * puts the same entry in place meanwhile, theirs stays and this succeeds.
   *
   * @param key The entry's key.
   * @param files Its files by name.
   * @throws {StorageError} when it cannot be written, with the system's reason
   * (`ENOSPC: no space left on device`, say).
   */
  async writeEntry(key: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    return this.writeEntryParts(key, new Map([...files].map(([name, data]) => [name, [data]])));
  }

  /**
   * `writeEntry` with each file given as parts written one after another
   * (no joined copy), so a large value is written without being joined.
   *
   * @param key The entry's key.
   * @param files Its files by name, each as its parts in order.
   * @throws {StorageError} as `writeEntry` does.
   */
  async writeEntryParts(
    key: string,
    files: ReadonlyMap<string, readonly Uint8Array[]>,
  ): Promise<void> {
    validateName("key", key);
    for (const filename of files.keys()) validateName("filename", filename);
    if (!this.#ready) await this.#ensureDir();
    const temp = join(this.dir, tempName());
    try {
      mkdirSync(temp);
      for (const [filename, parts] of files) writeParts(join(temp, filename), parts);
      this.#publish(temp, join(this.dir, key));
    } catch (error) {
      rmSync(temp, { recursive: true, force: true });
      throw new StorageError(`Cannot write entry ${key} in ${this.dir}: ${reasonOf(error)}`, {
        cause: error,
      });
    }
  }

  // Renames a complete entry into place. A folder cannot be renamed over a
  // non-empty one, so an old entry is first moved aside under a name of ours;
  // if the second rename still finds the place taken, another writer has just
  // put a complete entry there: that is a success, and ours is dropped.
  #publish(temp: string, target: string): void {
    const old = `${temp}-old`;
    let movedAside = false;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        renameSync(temp, target);
        break;
      } catch (error) {
        if (!TAKEN.has(codeOf(error) ?? "")) throw error;
        if (attempt > 0) {
          rmSync(temp, { recursive: true, force: true });
          break;
        }
        try {
          renameSync(target, old);
          movedAside = true;
        } catch (moveError) {
          // Another writer moved it first: try our rename again.
          if (codeOf(moveError) !== "ENOENT") throw moveError;
        }
      }
    }
    if (movedAside) rmSync(old, { recursive: true, force: true });
  }

  // Moves a path aside under a name of ours and removes it (links themselves, never their targets).
  #remove(path: string, aside: string): void {
    try {
      renameSync(path, aside);
    } catch (error) {
      if (codeOf(error) === "ENOENT") return;
      throw error;
    }
    rmSync(aside, { recursive: true, force: true });
  }

  /**
   * Removes an entry, whatever is at its place (a folder, a file, a link).
   *
   * @param key The entry's key.
   * @throws {StorageError} when it cannot be removed.
   */
  async delete(key: string): Promise<void> {
    validateName("key", key);
    this.#folders.delete(key);
    const target = join(this.dir, key);
    if (lstatSync(target, { throwIfNoEntry: false }) === undefined) return;
    await ownPid();
    try {
      this.#remove(target, join(this.dir, `${tempName()}-del`));
    } catch (error) {
      throw new StorageError(`Cannot delete entry ${key} in ${this.dir}: ${reasonOf(error)}`, {
        cause: error,
      });
    }
  }
}

// Reads the open file `fd` whole into the arrays `allocate` returns for its size. The first bytes
// go through SCRATCH (all of a small file); a larger one is read on, in order (no position: Deno's
// node:fs seeks there and back for each positioned read).
function readParts(fd: number, allocate: (byteLength: number) => readonly Uint8Array[]): void {
  const first = readSync(fd, SCRATCH, 0, SCRATCH.byteLength, null);
  const size = first < SCRATCH.byteLength ? first : fstatSync(fd).size;
  let position = 0;
  for (const part of allocate(size)) {
    for (let done = 0; done < part.byteLength;) {
      const wanted = part.byteLength - done;
      let got: number;
      if (position < first) {
        got = Math.min(first - position, wanted);
        part.set(SCRATCH.subarray(position, position + got), done);
      } else got = readSync(fd, part, done, wanted, null);
      if (got === 0) throw new Error(`the file ended at byte ${position} of ${size}`);
      done += got;
      position += got;
    }
  }
  if (position !== size) throw new Error(`read ${position} bytes of ${size}`);
}

// Creates `path` (which must not exist) holding `parts` one after another. One write per part,
// not writev: Deno's writevSync joins the parts into a new buffer first (a copy of a large value).
function writeParts(path: string, parts: readonly Uint8Array[]): void {
  if (parts.length === 1) return writeFileSync(path, parts[0]!);
  const fd = openSync(path, CREATE_FLAGS, 0o666);
  try {
    for (const part of parts) {
      for (let at = 0; at < part.byteLength;) at += writeSync(fd, part, at, part.byteLength - at);
    }
  } finally {
    closeSync(fd);
  }
}
