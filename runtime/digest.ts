/**
 * Hex digests of text (cache keys, names), the same bytes on every runtime:
 * Bun's own `Bun.CryptoHasher` on Bun, where loading `node:crypto` takes
 * about 10 ms in each new worker (most of a worker's module loading there),
 * and `node:crypto` elsewhere, loaded at the first digest.
 *
 * @module
 */
import { nodeBuiltin } from "./_builtin.ts";

/** The algorithms {@link hexDigest} computes. */
export type DigestAlgorithm = "sha1" | "sha256";

interface Hasher {
  update(text: string): Hasher;
  digest(encoding: "hex"): string;
}

const BunHasher = (globalThis as {
  Bun?: { CryptoHasher: new (algorithm: DigestAlgorithm) => Hasher };
}).Bun?.CryptoHasher;

let nodeCrypto: { createHash(algorithm: DigestAlgorithm): Hasher } | null = null;

/**
 * The hex digest of `text`'s UTF-8 bytes.
 *
 * @param algorithm `sha1` or `sha256`.
 * @param text The text.
 * @returns Lowercase hex.
 * @example
 * ```ts
 * import { hexDigest } from "./digest.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hexDigest("sha1", "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
 * assert.equal(hexDigest("sha1", "é").length, 40);
 * ```
 */
export function hexDigest(algorithm: DigestAlgorithm, text: string): string {
  if (BunHasher !== undefined) return new BunHasher(algorithm).update(text).digest("hex");
  nodeCrypto ??= nodeBuiltin<NonNullable<typeof nodeCrypto>>("node:crypto");
  return nodeCrypto.createHash(algorithm).update(text).digest("hex");
}
