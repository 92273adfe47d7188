/**
 * Cache entries as the cache command sees them: read through the `Storage`
 * interface and the file caches' own metadata reader, never importing task
 * code, and never failing on a corrupt entry.
 *
 * @module
 */
import { readMetadata, typeNameOfKey } from "../caches/_metadata.ts";
import type { CliStorage } from "./_storage_arg.ts";

/** One cache entry as the CLI lists it. */
export interface CacheEntryInfo {
  /** The entry's cache key. */
  key: string;
  /** The task type's name as stored in the entry (for a corrupt entry: from its key). */
  type: string;
  /** The task type's code version, or null when it has none (or the entry is corrupt). */
  codeVersion: string | null;
  /** The stored parameters (tasks and bigints in their tagged form), or null when corrupt. */
  params: Record<string, unknown> | null;
  /** When the result was produced (ISO 8601), or null. */
  start: string | null;
  /** How long producing it took, in ms, or null. */
  durationMs: number | null;
  /** Bytes it takes, or null when the storage cannot tell. */
  sizeBytes: number | null;
  /** Why the entry cannot be read, or null when it can. */
  corrupt: string | null;
}

/** Which entries a command applies to. */
export interface EntryFilter {
  /** Only entries whose stored type name is exactly this. */
  type: string | null;
  /** Only entries with this code version (`null` selects entries without one); undefined: any. */
  codeVersion?: string | null | undefined;
}

/**
 * Reads one entry's metadata through the storage; a corrupt entry comes back
 * with `corrupt` set.
 *
 * @param cs The opened storage.
 * @param key The entry's key.
 * @returns What the listing shows of it.
 */
export async function readEntry(cs: CliStorage, key: string): Promise<CacheEntryInfo> {
  const info: CacheEntryInfo = {
    key,
    type: typeNameOfKey(key) ?? key,
    codeVersion: null,
    params: null,
    start: null,
    durationMs: null,
    sizeBytes: cs.sizeOf(key),
    corrupt: null,
  };
  try {
    const meta = await readMetadata(cs.storage, key);
    info.type = meta.task.name;
    info.codeVersion = typeof meta.task.codeVersion === "string" ? meta.task.codeVersion : null;
    const params = meta.task.params;
    info.params = typeof params === "object" && params !== null
      ? params as Record<string, unknown>
      : {};
    info.start = typeof meta.start === "string" ? meta.start : null;
    info.durationMs = typeof meta.durationMs === "number" ? meta.durationMs : null;
  } catch (error) {
    info.corrupt = (error as { name?: string }).name === "TaskNotFound"
      ? "no metadata.json"
      : (error as Error).message.replace(/^Cannot read cache entry \S+: /, "");
  }
  return info;
}

/**
 * The entries of a storage that match `filter`, matched by the stored type
 * name (so `A` never takes `A__b`'s entries).
 *
 * @param cs The opened storage.
 * @param filter Which entries.
 * @returns The entries, in key order.
 */
export async function listEntries(cs: CliStorage, filter: EntryFilter): Promise<CacheEntryInfo[]> {
  const entries: CacheEntryInfo[] = [];
  for (const key of await cs.storage.findKeys()) {
    const entry = await readEntry(cs, key);
    if (filter.type !== null && entry.type !== filter.type) continue;
    if (filter.codeVersion !== undefined) {
      if (entry.corrupt !== null || entry.codeVersion !== filter.codeVersion) continue;
    }
    entries.push(entry);
  }
  return entries;
}

/** Entry counts by type name, for "no such type" messages. */
export function countByType(entries: readonly CacheEntryInfo[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  return new Map([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
