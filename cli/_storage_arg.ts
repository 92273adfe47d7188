/**
 * Turns the cache command's `--storage` argument into a `Storage`. This is
 * the one place that knows the kinds of storage the command can open: a new
 * kind (an `s3://bucket/prefix` URL, say) is one more branch here.
 *
 * @module
 */
import { lstatSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { StorageError } from "../core/errors.ts";
import type { Storage } from "../core/storage.ts";
import { LocalStorage } from "../storage/local_storage.ts";
import { openLmdbArgument } from "../storage/lmdb_argument.ts";
import { isS3Arg, openS3Arg } from "./_s3_arg.ts";

/** Options of `--storage` that some kinds take. */
export interface CliStorageOptions {
  /** `--endpoint`: an S3-compatible server's URL, for `s3://` storages. */
  endpoint?: string | null;
}

/** A storage opened for the cache command. */
export interface CliStorage {
  /** The entries, read and deleted through the `Storage` interface only. */
  readonly storage: Storage;
  /** Where it is, for messages: a directory or a URL. */
  readonly where: string;
  /** Bytes an entry takes, or null when this kind of storage cannot tell cheaply. */
  sizeOf(key: string): number | null;
}

/**
 * Opens the storage that `--storage` names: a LocalStorage directory, which
 * must exist, an `lmdb:PATH` database (LmdbStorage), or an
 * `s3://bucket/prefix` URL (S3Storage, credentials from the SDK's default chain).
 *
 * @param argument The `--storage` value.
 * @param options `--endpoint` for an S3-compatible server.
 * @returns The storage, where it is, and how to size an entry.
 * @throws {StorageError} when the storage does not exist.
 * @throws {RangeError} for a URL of a kind this command cannot open.
 * @example
 * ```ts
 * import { openCliStorage } from "./_storage_arg.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(openCliStorage("/no/such/dir"), /no storage directory/);
 * await assert.rejects(openCliStorage("ftp://host/x"), /Cannot open storage/);
 * ```
 */
export async function openCliStorage(
  argument: string,
  options: CliStorageOptions = {},
): Promise<CliStorage> {
  const lmdb = await openLmdbArgument(argument);
  if (lmdb !== null) return lmdb;
  if (isS3Arg(argument)) {
    return {
      storage: openS3Arg(argument, options.endpoint ?? null),
      where: argument,
      sizeOf: () => null,
    };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(argument)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== "file") {
    throw new RangeError(
      `Cannot open storage ${argument}: this command opens storage directories and s3:// URLs only ` +
        `(got a ${scheme}:// URL); pass a directory, lmdb:PATH or an s3:// URL`,
    );
  }
  const dir = resolve(scheme === undefined ? argument : new URL(argument).pathname);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new StorageError(`Cannot open storage: no storage directory at ${dir}`);
  }
  return {
    storage: new LocalStorage(dir),
    where: dir,
    sizeOf: (key) => sizeOnDisk(join(dir, key)),
  };
}

// Links are sized as links, never followed: an entry must not reach outside the storage.
function sizeOnDisk(path: string): number {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOnDisk(join(path, name)), 0);
}
