/**
 * The logic of `labtech cache list|clear`: reads a LocalStorage directory's
 * `metadata.json` files without importing any task code, and never fails on a
 * corrupt entry.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { LocalStorage } from "../storage/local_storage.ts";
import { formatBytes, formatSeconds, truncate } from "../observe/_format.ts";

/** Where the CLI writes. */
export interface CliIO {
  /** Normal output (stdout). */
  out(text: string): void;
  /** Errors and usage (stderr). */
  err(text: string): void;
}

/** One cache entry as the CLI lists it. */
export interface CacheEntryInfo {
  /** The entry's cache key (its folder name). */
  key: string;
  /** The task type's name. */
  type: string;
  /** A short summary of the parameters, or null for a corrupt entry. */
  params: string | null;
  /** When the result was produced (ISO 8601), or null. */
  start: string | null;
  /** How long producing it took, in ms, or null. */
  durationMs: number | null;
  /** Bytes on disk. */
  sizeBytes: number;
  /** Why the entry cannot be read, or null when it can. */
  corrupt: string | null;
}

const USAGE = `Usage:
  labtech cache list  --storage DIR [--type NAME]
  labtech cache clear --storage DIR (--type NAME | --all)

Lists or removes cached results in a labtech storage directory.
`;

const TAG = "$labtech";

/** Short text of a stored parameter value: tasks as `Name(k=v)`, bigints as `5n`. */
export function summarizeStored(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(summarizeStored).join(", ")}]`;
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? String(value);
  const record = value as Record<string, unknown>;
  if (record[TAG] === "bigint") return `${String(record.value)}n`;
  if (record[TAG] === "task") return `${String(record.name)}(${summarizeParams(record.params)})`;
  const inner = record[TAG] === "object" ? record.value as Record<string, unknown> : record;
  return `{${Object.keys(inner).map((k) => `${k}: ${summarizeStored(inner[k])}`).join(", ")}}`;
}

function summarizeParams(params: unknown): string {
  if (typeof params !== "object" || params === null) return "";
  const record = params as Record<string, unknown>;
  return Object.keys(record).map((k) => `${k}=${summarizeStored(record[k])}`).join(", ");
}

function sizeOf(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

/** Reads one entry's metadata; a corrupt entry comes back with `corrupt` set. */
export function readEntry(dir: string, key: string): CacheEntryInfo {
  const split = key.indexOf("__");
  const info: CacheEntryInfo = {
    key,
    type: split > 0 ? key.slice(0, split) : key,
    params: null,
    start: null,
    durationMs: null,
    sizeBytes: sizeOf(join(dir, key)),
    corrupt: null,
  };
  try {
    const meta = JSON.parse(readFileSync(join(dir, key, "metadata.json"), "utf8"));
    const task = meta?.task;
    if (typeof task !== "object" || task === null || typeof task.name !== "string") {
      throw new Error("metadata.json has no task");
    }
    info.type = task.name;
    info.params = summarizeParams(task.params);
    info.start = typeof meta.start === "string" ? meta.start : null;
    info.durationMs = typeof meta.durationMs === "number" ? meta.durationMs : null;
  } catch (error) {
    const code = (error as { code?: string }).code;
    info.corrupt = code === "ENOENT" ? "no metadata.json" : (error as Error).message;
  }
  return info;
}

/** The entries of a storage directory, optionally only those of one task type. */
export async function listEntries(
  dir: string,
  type: string | null = null,
): Promise<CacheEntryInfo[]> {
  const keys = await new LocalStorage(dir).findKeys();
  const entries: CacheEntryInfo[] = [];
  for (const key of keys) {
    if (!statSync(join(dir, key), { throwIfNoEntry: false })?.isDirectory()) continue;
    const entry = readEntry(dir, key);
    if (type === null || entry.type === type || key.startsWith(`${type}__`)) entries.push(entry);
  }
  return entries;
}

function formatDuration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatSeconds(ms / 1000);
}

/** The listing as aligned text lines with a header and a total. */
export function formatEntries(entries: readonly CacheEntryInfo[]): string[] {
  const rows = [["TYPE", "PARAMS", "START", "DURATION", "SIZE"]];
  for (const e of entries) {
    rows.push([
      e.type,
      e.corrupt !== null ? `(corrupt: ${truncate(e.corrupt, 40)})` : truncate(e.params ?? "", 60),
      e.start?.replace(/\.\d+Z$/, "Z") ?? "-",
      formatDuration(e.durationMs),
      formatBytes(e.sizeBytes),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd());
  const total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
  const corrupt = entries.filter((e) => e.corrupt !== null).length;
  lines.push(
    `${entries.length} entr${entries.length === 1 ? "y" : "ies"}, ${formatBytes(total)}` +
      (corrupt > 0 ? ` (${corrupt} corrupt)` : ""),
  );
  return lines;
}

interface ParsedArgs {
  command: string | null;
  storage: string | null;
  type: string | null;
  all: boolean;
  help: boolean;
}

function parseArgs(args: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { command: null, storage: null, type: null, all: false, help: false };
  const rest = [...args];
  if (rest[0] === "cache") rest.shift();
  else if (rest.length > 0 && !rest[0]!.startsWith("-")) {
    throw new RangeError(`unknown command "${rest[0]}"`);
  }
  while (rest.length > 0) {
    const arg = rest.shift()!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => {
      const v = inline ?? rest.shift();
      if (v === undefined || v === "") throw new RangeError(`${flag} needs a value`);
      return v;
    };
    if (flag === "--storage") parsed.storage = value();
    else if (flag === "--type") parsed.type = value();
    else if (flag === "--all") parsed.all = true;
    else if (flag === "--help" || flag === "-h") parsed.help = true;
    else if (!flag.startsWith("-") && parsed.command === null) parsed.command = flag;
    else throw new RangeError(`unknown argument "${arg}"`);
  }
  return parsed;
}

/**
 * Runs `labtech cache list|clear` with `args` (the words after `labtech`).
 *
 * @returns The exit code: 0 on success, 1 when the storage cannot be read, 2 for misuse.
 *
 * @example
 * ```ts
 * import { runCacheCli } from "./cache_cli.ts";
 * import assert from "node:assert/strict";
 * const out: string[] = [];
 * const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
 * assert.equal(await runCacheCli(["cache", "list"], io), 2); // --storage is required
 * assert.match(out.join(""), /--storage/);
 * ```
 */
export async function runCacheCli(args: readonly string[], io: CliIO): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(args);
  } catch (error) {
    io.err(`labtech: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    io.out(USAGE);
    return 0;
  }
  if (parsed.command !== "list" && parsed.command !== "clear") {
    io.err(`labtech: expected "cache list" or "cache clear"\n\n${USAGE}`);
    return 2;
  }
  if (parsed.storage === null) {
    io.err(`labtech: --storage DIR is required\n\n${USAGE}`);
    return 2;
  }
  const dir = resolve(parsed.storage);
  if (!existsSync(dir)) {
    io.err(`labtech: no storage directory at ${dir}\n`);
    return 1;
  }
  try {
    if (parsed.command === "list") {
      io.out(formatEntries(await listEntries(dir, parsed.type)).join("\n") + "\n");
      return 0;
    }
    if (parsed.type === null && !parsed.all) {
      io.err(`labtech: cache clear needs --type NAME (or --all to clear everything)\n`);
      return 2;
    }
    const entries = await listEntries(dir, parsed.type);
    const storage = new LocalStorage(dir);
    for (const entry of entries) await storage.delete(entry.key);
    const what = parsed.type === null ? "" : ` of type ${parsed.type}`;
    io.out(
      `Removed ${entries.length} entr${entries.length === 1 ? "y" : "ies"}${what} from ${dir}\n`,
    );
    return 0;
  } catch (error) {
    io.err(`labtech: ${(error as Error).message}\n`);
    return 1;
  }
}
