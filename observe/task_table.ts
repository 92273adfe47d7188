/** The live table of running tasks ("top"): options, sorting and text rows. */
import type { TopOptions } from "../core/observer.ts";
import type { TaskMonitorInfo } from "../core/runner.ts";
import { formatBytes, formatClock, formatSeconds } from "./_format.ts";

/** Fields a table can show and sort by. */
export const TABLE_FIELDS = [
  "name",
  "status",
  "pid",
  "thread",
  "start",
  "elapsed",
  "cpu",
  "rss",
  "children",
] as const;

/** One of {@linkcode TABLE_FIELDS}. */
export type TableField = typeof TABLE_FIELDS[number];

/** Resolved table options. */
export interface TableSettings {
  /** Columns, as `{field}` placeholders between literal text. */
  format: string;
  /** A field; `-field` reverses. */
  sort: string;
  /** Rows shown at most. */
  n: number;
}

/** The default columns. */
export const DEFAULT_TABLE_FORMAT =
  "{name}  {status}  {pid}  {start}  {elapsed}  {cpu}  {rss}  {children}";

const TOKEN = /\{(\w+)\}/g;

/**
 * Turns `RunOptions.top` into settings, or null when the table is off.
 *
 * @throws {RangeError} for an unknown field in `format` or `sort`, or a bad `n`.
 */
export function resolveTopOptions(top: boolean | TopOptions | undefined): TableSettings | null {
  if (top === false) return null;
  const options = top === true || top === undefined ? {} : top;
  const format = options.format ?? DEFAULT_TABLE_FORMAT;
  for (const [, field] of format.matchAll(TOKEN)) checkField("format", field!);
  const sort = options.sort ?? "start";
  checkField("sort", sort.startsWith("-") ? sort.slice(1) : sort);
  const n = options.n ?? 10;
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(
      `Cannot show the task table as top.n must be a whole number >= 0: received ${n}`,
    );
  }
  return { format, sort, n };
}

function checkField(option: string, field: string): void {
  if (!(TABLE_FIELDS as readonly string[]).includes(field)) {
    throw new RangeError(
      `Cannot show the task table as top.${option} names an unknown field: received "${field}" ` +
        `(fields: ${TABLE_FIELDS.join(", ")})`,
    );
  }
}

function sortValue(info: TaskMonitorInfo, field: string, now: number): number | string | null {
  switch (field) {
    case "name":
      return info.name;
    case "status":
      return info.status;
    case "pid":
      return info.pid;
    case "thread":
      return info.threadId;
    case "start":
      return info.start.getTime();
    case "elapsed":
      return now - info.start.getTime();
    case "cpu":
      return info.cpuPercent;
    case "rss":
      return info.rssBytes;
    default:
      return info.children;
  }
}

function cell(info: TaskMonitorInfo, field: string, now: number): string {
  switch (field) {
    case "name":
      return info.name;
    case "status":
      return info.status;
    case "pid":
      return info.pid === null ? "-" : String(info.pid);
    case "thread":
      return info.threadId === null ? "-" : String(info.threadId);
    case "start":
      return formatClock(info.start);
    case "elapsed":
      return formatSeconds((now - info.start.getTime()) / 1000);
    case "cpu":
      return info.cpuPercent === null ? "-" : `${info.cpuPercent.toFixed(1)}%`;
    case "rss":
      return formatBytes(info.rssBytes);
    default:
      return info.children === null ? "-" : String(info.children);
  }
}

// Made at the first sort: building a collator costs tens of milliseconds
// (ICU) in every process that imports the library, each worker included.
let collator: Intl.Collator | null = null;

/** Sorts a copy of `infos` by `sort` (nulls last, `-` reverses). */
export function sortInfos(
  infos: readonly TaskMonitorInfo[],
  sort: string,
  now: number,
): TaskMonitorInfo[] {
  const reverse = sort.startsWith("-");
  const field = reverse ? sort.slice(1) : sort;
  const keyed = infos.map((info) => ({ info, key: sortValue(info, field, now) }));
  keyed.sort((a, b) => {
    if (a.key === null || b.key === null) return a.key === b.key ? 0 : a.key === null ? 1 : -1;
    const order = typeof a.key === "string"
      ? (collator ??= new Intl.Collator("en", { numeric: true })).compare(a.key, String(b.key))
      : a.key - (b.key as number);
    return reverse ? -order : order;
  });
  return keyed.map((k) => k.info);
}

/**
 * The table as text lines: a title, a header and up to `n` rows. No running
 * tasks gives no lines.
 */
export function tableLines(
  infos: readonly TaskMonitorInfo[],
  settings: TableSettings,
  now: number,
): string[] {
  if (infos.length === 0 || settings.n === 0) return [];
  const shown = sortInfos(infos, settings.sort, now).slice(0, settings.n);
  const parts = settings.format.split(TOKEN); // literal, field, literal, field, ..., literal
  const fields = parts.filter((_, i) => i % 2 === 1);
  const rows = [
    fields.map((f) => f.toUpperCase()),
    ...shown.map((info) => fields.map((f) => cell(info, f, now))),
  ];
  const widths = fields.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((row) =>
    parts.map((part, i) => {
      if (i % 2 === 0) return part;
      const c = (i - 1) / 2;
      return c === fields.length - 1 && parts[i + 1] === "" ? row[c]! : row[c]!.padEnd(widths[c]!);
    }).join("").trimEnd()
  );
  const more = infos.length > shown.length ? ` (showing ${shown.length}, by ${settings.sort})` : "";
  return [`Running tasks: ${infos.length}${more}`, ...lines];
}
