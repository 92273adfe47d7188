/**
 * The cache command's `--storage lmdb:PATH`: opens an {@link LmdbStorage}
 * without importing `lmdb` for any other argument.
 *
 * @module
 */
import type { Storage } from "../core/storage.ts";

/** An LMDB storage opened for the cache command (the shape of the command's `CliStorage`). */
export interface LmdbArgumentStorage {
  /** The entries. */
  readonly storage: Storage;
  /** Where it is, for messages: `lmdb:<absolute folder>`. */
  readonly where: string;
  /** Bytes an entry's record takes, or null when absent. */
  sizeOf(key: string): number | null;
}

/** The prefix that names an LMDB storage in a `--storage` argument. */
export const LMDB_PREFIX = "lmdb:";

/**
 * Opens the LMDB storage a `--storage` argument names (`lmdb:PATH`), or
 * returns null for any other argument.
 *
 * @param argument The `--storage` value.
 * @returns The storage and how to size an entry, or null when it is not `lmdb:`.
 * @throws {StorageError} when the `lmdb` package is not installed or PATH holds no database.
 * @example
 * ```ts
 * import { openLmdbArgument } from "./lmdb_argument.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await openLmdbArgument("labtech_storage"), null);
 * await assert.rejects(openLmdbArgument("lmdb:/no/such/db"), /no LMDB database/);
 * ```
 */
export async function openLmdbArgument(argument: string): Promise<LmdbArgumentStorage | null> {
  if (!argument.startsWith(LMDB_PREFIX)) return null;
  const { StorageError } = await import("../core/errors.ts");
  const { existsSync } = await import("node:fs");
  const { join, resolve } = await import("node:path");
  const path = resolve(argument.slice(LMDB_PREFIX.length));
  if (!existsSync(join(path, "data.mdb"))) {
    throw new StorageError(`Cannot open storage ${argument}: no LMDB database at ${path}`);
  }
  let module: typeof import("./lmdb_storage.ts");
  try {
    module = await import("./lmdb_storage.ts");
  } catch (error) {
    throw new StorageError(
      `Cannot open storage ${argument}: the lmdb package cannot be loaded ` +
        `(${(error as Error).message}); install it with npm install lmdb`,
      { cause: error },
    );
  }
  const storage = new module.LmdbStorage(path);
  return { storage, where: `${LMDB_PREFIX}${path}`, sizeOf: (key) => storage.sizeOf(key) };
}
