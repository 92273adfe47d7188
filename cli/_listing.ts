/**
 * The text of `labtech cache list`: rows sorted by type then parameters, the
 * parameters that differ between a type's entries first (what a sweep
 * varies), and the code version that tells a stale entry from a current one.
 *
 * @module
 */
import { formatBytes, formatSeconds, truncate } from "../observe/_format.ts";
import type { CacheEntryInfo } from "./_entries.ts";

const TAG = "$labtech";
/** Widest parameter summary shown; the differing parameters come first, so they stay. */
const PARAMS_WIDTH = 100;

/**
 * Short text of a stored parameter value: tasks as `Name(k=v)`, bigints as `5n`.
 *
 * @param value A value from a stored task's parameters.
 * @returns Its summary.
 * @example
 * ```ts
 * import { summarizeStored } from "./_listing.ts";
 * import assert from "node:assert/strict";
 * const stored = { $labtech: "task", name: "Fit", params: { lr: 0.1, n: { $labtech: "bigint", value: "5" } } };
 * assert.equal(summarizeStored([stored, "x"]), '[Fit(lr=0.1, n=5n), "x"]');
 * ```
 */
export function summarizeStored(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(summarizeStored).join(", ")}]`;
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? String(value);
  const record = value as Record<string, unknown>;
  if (record[TAG] === "bigint") return `${String(record.value)}n`;
  if (record[TAG] === "task") {
    return `${String(record.name)}(${summarizeParams(record.params, paramKeys(record.params))})`;
  }
  const inner = record[TAG] === "object" ? record.value as Record<string, unknown> : record;
  return `{${Object.keys(inner).map((k) => `${k}: ${summarizeStored(inner[k])}`).join(", ")}}`;
}

function paramKeys(params: unknown): string[] {
  return typeof params === "object" && params !== null ? Object.keys(params) : [];
}

function summarizeParams(params: unknown, keys: readonly string[]): string {
  const record = (typeof params === "object" && params !== null ? params : {}) as Record<
    string,
    unknown
  >;
  return keys.filter((k) => k in record).map((k) => `${k}=${summarizeStored(record[k])}`)
    .join(", ");
}

/** Parameter names of one type's entries: those whose values differ first, then the rest. */
function keyOrder(entries: readonly CacheEntryInfo[]): string[] {
  const seen = new Map<string, Set<string>>();
  for (const e of entries) {
    for (const key of Object.keys(e.params ?? {})) {
      if (!seen.has(key)) seen.set(key, new Set());
      seen.get(key)!.add(JSON.stringify(e.params![key]) ?? "undefined");
    }
  }
  const valid = entries.filter((e) => e.params !== null).length;
  const varies = (key: string) =>
    seen.get(key)!.size > 1 ||
    (valid > 1 && entries.some((e) => e.params !== null && !(key in e.params)));
  const keys = [...seen.keys()].sort();
  return [...keys.filter(varies), ...keys.filter((k) => !varies(k))];
}

const collator = new Intl.Collator("en", { numeric: true });

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return collator.compare(summarizeStored(a), summarizeStored(b));
}

/**
 * Sorts entries by type, then code version, then by each parameter in
 * `keyOrder` (numbers numerically); corrupt entries last within their type.
 */
function sortEntries(entries: readonly CacheEntryInfo[]): Array<[CacheEntryInfo, string[]]> {
  const byType = new Map<string, CacheEntryInfo[]>();
  for (const e of entries) {
    if (!byType.has(e.type)) byType.set(e.type, []);
    byType.get(e.type)!.push(e);
  }
  const out: Array<[CacheEntryInfo, string[]]> = [];
  for (const type of [...byType.keys()].sort(collator.compare)) {
    const group = byType.get(type)!;
    const keys = keyOrder(group);
    group.sort((a, b) => {
      if ((a.params === null) !== (b.params === null)) return a.params === null ? 1 : -1;
      if (a.params === null || b.params === null) return collator.compare(a.key, b.key);
      const version = collator.compare(a.codeVersion ?? "", b.codeVersion ?? "");
      if (version !== 0) return version;
      for (const key of keys) {
        const order = compareValues(a.params[key], b.params[key]);
        if (order !== 0) return order;
      }
      return collator.compare(a.key, b.key);
    });
    for (const e of group) out.push([e, keys]);
  }
  return out;
}

function formatDuration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatSeconds(ms / 1000);
}

/**
 * The listing as aligned text lines: a header, one row per entry and a total.
 *
 * @param entries The entries to list.
 * @returns The lines, without line ends.
 * @example
 * ```ts
 * import { formatEntries } from "./_listing.ts";
 * import assert from "node:assert/strict";
 * const entry = (key: string, lr: number) => ({
 *   key, type: "Fit", codeVersion: "v2", params: { data: "iris", lr }, start: null,
 *   durationMs: 1500, sizeBytes: 2048, corrupt: null,
 * });
 * const lines = formatEntries([entry("Fit__b", 0.5), entry("Fit__a", 0.1)]);
 * assert.deepEqual(lines.slice(1, 3).map((l) => l.replace(/ +/g, " ")), [
 *   "Fit v2 - 1.5 s 2.0 KiB lr=0.1, data=\"iris\"",
 *   "Fit v2 - 1.5 s 2.0 KiB lr=0.5, data=\"iris\"",
 * ]);
 * ```
 */
export function formatEntries(entries: readonly CacheEntryInfo[]): string[] {
  const rows = [["TYPE", "CODE_VERSION", "START", "DURATION", "SIZE", "PARAMS"]];
  for (const [e, keys] of sortEntries(entries)) {
    rows.push([
      e.type,
      e.codeVersion ?? "-",
      e.start?.replace(/\.\d+Z$/, "Z") ?? "-",
      formatDuration(e.durationMs),
      formatBytes(e.sizeBytes),
      e.corrupt !== null
        ? `(corrupt: ${truncate(e.corrupt, 60)})`
        : truncate(summarizeParams(e.params, keys), PARAMS_WIDTH),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd());
  const total = entries.reduce((sum, e) => sum + (e.sizeBytes ?? 0), 0);
  const sized = entries.every((e) => e.sizeBytes !== null);
  const corrupt = entries.filter((e) => e.corrupt !== null).length;
  lines.push(
    `${entries.length} entr${entries.length === 1 ? "y" : "ies"}` +
      (sized ? `, ${formatBytes(total)}` : "") + (corrupt > 0 ? ` (${corrupt} corrupt)` : ""),
  );
  return lines;
}
