/**
 * Names of LocalStorage's hidden work folders, unique across hosts, processes
 * and threads, and the rule that decides which ones a dead writer left behind.
 *
 * A name is `.tmp-<host>-<pid>-<nonce>-<n>[-old|-del]`: `host` is a hash of
 * the host name (a pid means nothing on another machine sharing the folder),
 * `nonce` is random per module instance (so per thread), `n` counts up.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";
import { hexDigest } from "../runtime/digest.ts";

/** Every work folder starts with this; entries never do (keys cannot start with "."). */
export const TEMP_PREFIX = ".tmp-";

/** A work folder this old is abandoned whoever owns it: no entry takes a day to write. */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

const HOST = hexDigest("sha256", hostname()).slice(0, 8);
// Web Crypto, global on every runtime (node:crypto would cost Bun workers a slow load).
const NONCE = Array.from(
  crypto.getRandomValues(new Uint8Array(6)),
  (b) => b.toString(16).padStart(2, "0"),
)
  .join("");
const OWNED = /^\.tmp-([0-9a-f]{8})-(\d+)-[0-9a-f]+-[0-9a-z]+(?:-old|-del)?$/;
// /proc tells whether a pid is alive without signalling it (Linux); elsewhere only age counts.
const HAS_PROC = existsSync("/proc/self/stat");

let pid: number | undefined;
let counter = 0;

/** This process's pid, asked of the runtime adapter once. */
export async function ownPid(): Promise<number> {
  return pid ??= (await loadRuntimeAdapter()).pid;
}

/** A fresh work-folder name; call after `ownPid()` has resolved once. */
export function tempName(): string {
  return `${TEMP_PREFIX}${HOST}-${pid ?? 0}-${NONCE}-${(counter++).toString(36)}`;
}

/**
 * True when a work folder can be removed: its writer, a process of this host,
 * is gone, or it is older than {@link STALE_AFTER_MS} (older name formats and
 * other hosts' folders go by age only).
 */
export function isStale(name: string, modifiedMs: number, nowMs: number): boolean {
  if (nowMs - modifiedMs > STALE_AFTER_MS) return true;
  const owned = OWNED.exec(name);
  if (owned === null || owned[1] !== HOST || !HAS_PROC) return false;
  const owner = Number(owned[2]);
  return owner !== pid && owner > 0 && !existsSync(`/proc/${owner}`);
}
