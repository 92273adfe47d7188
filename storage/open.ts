/**
 * Reopens a storage from the description its `describe()` gave, in a worker
 * thread, a subprocess or on another machine.
 *
 * @module
 */
import { StorageError } from "../core/errors.ts";
import type { Storage, StorageDescription } from "../core/storage.ts";
import { LocalStorage } from "./local_storage.ts";
import { NullStorage } from "./null_storage.ts";

/** Turns a description back into a storage. */
export type StorageOpener = (description: StorageDescription) => Storage | Promise<Storage>;

const openers = new Map<string, StorageOpener>([
  ["local", (description) => new LocalStorage(String(description.dir))],
  ["null", () => new NullStorage()],
]);

// The library's own storages with optional peer dependencies register themselves when imported;
// their modules are fixed here (never taken from a description), so reopening one needs no import
// by the user, and a worker never imports a path it was sent.
const builtIn = new Map<string, () => Promise<unknown>>([
  ["lmdb", () => import("./lmdb_storage.ts")],
  ["s3", () => import("./s3_storage.ts")],
]);

/**
 * Teaches `openStorage` a new kind of description. A module that defines a
 * storage (such as S3Storage) registers its kind when imported, so a worker
 * that imported it can reopen such storages; nothing is imported on demand.
 *
 * @param kind The `kind` its descriptions carry.
 * @param opener Rebuilds a storage from one of its descriptions.
 * @throws {TypeError} when `kind` is empty or `opener` is not a function.
 *
 * @example
 * ```ts
 * import { openStorage, registerStorageKind } from "./open.ts";
 * import { MemoryStorage } from "./memory_storage.ts";
 * import assert from "node:assert/strict";
 * const shared = new MemoryStorage();
 * registerStorageKind("doc-memory", () => shared);
 * assert.equal(await openStorage({ kind: "doc-memory" }), shared);
 * ```
 */
export function registerStorageKind(kind: string, opener: StorageOpener): void {
  if (typeof kind !== "string" || kind === "" || typeof opener !== "function") {
    throw new TypeError("Cannot register a storage kind: give a non-empty kind and a function");
  }
  openers.set(kind, opener);
}

/**
 * Rebuilds the storage a description came from. The library's own kinds
 * (`local`, `null`, `lmdb`, `s3`) open without further imports; another kind
 * needs the module that registered it imported first.
 *
 * @param description What a storage's `describe()` returned.
 * @returns A storage over the same entries.
 * @throws {StorageError} when no opener is registered for the description's kind.
 *
 * @example
 * ```ts
 * import { openStorage } from "./open.ts";
 * import { LocalStorage } from "./local_storage.ts";
 * import assert from "node:assert/strict";
 * const original = new LocalStorage("doc_open_storage");
 * const reopened = await openStorage(original.describe());
 * assert.ok(reopened instanceof LocalStorage);
 * assert.equal(reopened.dir, original.dir);
 * ```
 */
export async function openStorage(description: StorageDescription): Promise<Storage> {
  const kind = description?.kind;
  if (!openers.has(kind)) await builtIn.get(kind)?.();
  const opener = openers.get(kind);
  if (opener === undefined) {
    throw new StorageError(
      `Cannot open a storage of kind ${JSON.stringify(description?.kind)}: no opener is ` +
        `registered for it; import the module that provides that storage first ` +
        `(known kinds: ${[...new Set([...openers.keys(), ...builtIn.keys()])].join(", ")})`,
    );
  }
  return await opener(description);
}
