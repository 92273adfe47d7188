/**
 * The logic of `labtech cache list|clear`: reads a storage's entries through
 * the `Storage` interface and the file caches' metadata reader, without
 * importing any task code, and never fails on a corrupt entry.
 *
 * @module
 */
import { type CacheEntryInfo, countByType, type EntryFilter, listEntries } from "./_entries.ts";
import { formatEntries } from "./_listing.ts";
import { type CliStorage, openCliStorage } from "./_storage_arg.ts";

export type { CacheEntryInfo } from "./_entries.ts";
export { summarizeStored } from "./_listing.ts";

/**
 * Where the CLI writes.
 * @example
 * ```ts
 * import { type CliIO, runCacheCli } from "./cache_cli.ts";
 * import assert from "node:assert/strict";
 * let out = "";
 * const io: CliIO = { out: (t) => (out += t), err: (t) => (out += t) };
 * assert.equal(await runCacheCli(["--help"], io), 0);
 * assert.match(out, /cache clear/);
 * ```
 */
export interface CliIO {
  /** Normal output (stdout). */
  out(text: string): void;
  /** Errors and usage (stderr). */
  err(text: string): void;
}

const USAGE = `Usage:
  labtech cache list  --storage DIR|lmdb:PATH|s3://BUCKET/PREFIX [--type NAME] [--code-version V]
  labtech cache clear --storage DIR|lmdb:PATH|s3://BUCKET/PREFIX (--type NAME [--code-version V] | --all)

Lists or removes cached results in a labtech storage directory.
Entries are matched by the task type name stored in each entry.
  --code-version V   only entries whose task type had codeVersion V
                     (--code-version= selects entries without one);
                     e.g. clear the stale v1 results of a type now at v2
`;

interface ParsedArgs {
  command: string | null;
  storage: string | null;
  endpoint: string | null;
  type: string | null;
  codeVersion: string | null | undefined;
  all: boolean;
  help: boolean;
}

function parseArgs(args: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = {
    command: null,
    storage: null,
    endpoint: null,
    type: null,
    codeVersion: undefined,
    all: false,
    help: false,
  };
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
    const value = (allowEmpty = false) => {
      const v = inline ?? rest.shift();
      if (v === undefined || (v === "" && !allowEmpty)) {
        throw new RangeError(`${flag} needs a value`);
      }
      return v;
    };
    if (flag === "--storage") parsed.storage = value();
    else if (flag === "--endpoint") parsed.endpoint = value();
    else if (flag === "--type") parsed.type = value();
    else if (flag === "--code-version") parsed.codeVersion = value(true) || null;
    else if (flag === "--all") parsed.all = true;
    else if (flag === "--help" || flag === "-h") parsed.help = true;
    else if (!flag.startsWith("-") && parsed.command === null) parsed.command = flag;
    else throw new RangeError(`unknown argument "${arg}"`);
  }
  return parsed;
}

/** The entries a command applies to; reports an unknown type with the types there are. */
async function selectEntries(
  cs: CliStorage,
  filter: EntryFilter,
  io: CliIO,
): Promise<CacheEntryInfo[] | null> {
  const entries = await listEntries(cs, filter);
  if (entries.length > 0 || filter.type === null) return entries;
  const all = await listEntries(cs, { type: null });
  if (all.some((e) => e.type === filter.type)) return entries; // the type is there, not this version
  const types = [...countByType(all)].map(([type, n]) => `${type} (${n})`).join(", ");
  io.err(
    `labtech: no entries of type ${filter.type} found in ${cs.where}; ` +
      (types === "" ? "the storage is empty\n" : `types found: ${types}\n`),
  );
  return null;
}

/**
 * Runs `labtech cache list|clear` with `args` (the words after `labtech`).
 *
 * @param args The command line after `labtech`, e.g. `["cache", "list", "--storage", "dir"]`.
 * @param io Where output and errors go.
 * @returns The exit code: 0 on success, 1 when the storage cannot be read or
 *   has no entries of the type asked for, 2 for misuse.
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
  if (parsed.command === "clear" && parsed.type === null && !parsed.all) {
    io.err(`labtech: cache clear needs --type NAME (or --all to clear everything)\n`);
    return 2;
  }
  if (parsed.all && (parsed.type !== null || parsed.codeVersion !== undefined)) {
    io.err(`labtech: cache clear --all takes no --type or --code-version\n`);
    return 2;
  }
  let cs: CliStorage;
  try {
    cs = await openCliStorage(parsed.storage, { endpoint: parsed.endpoint });
  } catch (error) {
    io.err(`labtech: ${(error as Error).message}\n`);
    return error instanceof RangeError ? 2 : 1;
  }
  try {
    const filter: EntryFilter = { type: parsed.type, codeVersion: parsed.codeVersion };
    const entries = await selectEntries(cs, filter, io);
    if (entries === null) return 1;
    if (parsed.command === "list") {
      io.out(formatEntries(entries).join("\n") + "\n");
      return 0;
    }
    for (const entry of entries) await cs.storage.delete(entry.key);
    const what = (parsed.type === null ? "" : ` of type ${parsed.type}`) +
      (parsed.codeVersion === undefined
        ? ""
        : ` with code version ${parsed.codeVersion ?? "(none)"}`);
    io.out(
      `Removed ${entries.length} entr${
        entries.length === 1 ? "y" : "ies"
      }${what} from ${cs.where}\n`,
    );
    return 0;
  } catch (error) {
    io.err(`labtech: ${(error as Error).message}\n`);
    return 1;
  }
}
