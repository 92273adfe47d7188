/**
 * Log lines from the Lab and from tasks. Every line goes through one sink so
 * that a progress display can print it above its bars without tearing.
 *
 * @module
 */

/**
 * Severity of a log line.
 * @example
 * ```ts
 * import { type LogLevel, type LogRecord, createLogger, setLogSink } from "./logger.ts";
 * import assert from "node:assert/strict";
 * const levels: LogLevel[] = [];
 * const previous = setLogSink((record: LogRecord) => levels.push(record.level));
 * createLogger("Fit[00]").warn("slow");
 * setLogSink(previous);
 * assert.deepEqual(levels, ["warn"]);
 * ```
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * A log line on its way to the sink.
 * @example
 * ```ts
 * import { emitLog, type LogRecord, setLogSink } from "./logger.ts";
 * import assert from "node:assert/strict";
 * const records: LogRecord[] = [];
 * const previous = setLogSink((record) => records.push(record));
 * emitLog({ level: "info", source: "Experiment[03]", message: "done" });
 * setLogSink(previous);
 * assert.equal(records[0]?.source, "Experiment[03]");
 * ```
 */
export interface LogRecord {
  level: LogLevel;
  /** Who wrote it: `labtech` or a task name such as `Experiment[03]`. */
  source: string;
  message: string;
}

/**
 * Receives every log line; replace it with {@linkcode setLogSink}.
 * @example
 * ```ts
 * import { createLogger, type LogSink, setLogSink } from "./logger.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const sink: LogSink = ({ level, source, message }) => lines.push(`${level} ${source}: ${message}`);
 * const previous = setLogSink(sink);
 * createLogger("labtech").error("boom");
 * setLogSink(previous);
 * assert.deepEqual(lines, ["error labtech: boom"]);
 * ```
 */
export type LogSink = (record: LogRecord) => void;

/**
 * Writes log lines for one source.
 * @example
 * ```ts
 * import { createLogger, type Logger, type LogRecord, setLogSink } from "./logger.ts";
 * import assert from "node:assert/strict";
 * const records: LogRecord[] = [];
 * const previous = setLogSink((record) => records.push(record));
 * const logger: Logger = createLogger("Fit[01]");
 * logger.debug("detail");
 * logger.warn("slow");
 * setLogSink(previous);
 * assert.deepEqual(records.map((r) => r.level), ["debug", "warn"]);
 * ```
 */
export interface Logger {
  /** Detail for debugging; hidden unless the sink shows it. */
  debug(message: string): void;
  /** Normal progress information. */
  info(message: string): void;
  /** Something went wrong but the run goes on. */
  warn(message: string): void;
  /** A failure. */
  error(message: string): void;
}

const consoleSink: LogSink = ({ level, source, message }) => {
  if (level === "debug") return;
  console.error(`${source}: ${level.toUpperCase()}: ${message}`);
};

let currentSink: LogSink = consoleSink;

/**
 * Replaces the sink that receives every log line.
 *
 * @param sink Receives every record from now on.
 * @returns The previous sink, to put back later.
 * @example Collect log lines in a test
 * ```ts
 * import { createLogger, setLogSink, type LogRecord } from "./logger.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: LogRecord[] = [];
 * const previous = setLogSink((record) => lines.push(record));
 * createLogger("Experiment[1]").info("hello");
 * setLogSink(previous);
 * assert.deepEqual(lines, [{ level: "info", source: "Experiment[1]", message: "hello" }]);
 * ```
 */
export function setLogSink(sink: LogSink): LogSink {
  const previous = currentSink;
  currentSink = sink;
  return previous;
}

/**
 * True when `sink` is labtech's own console sink (no custom sink installed):
 * only then does a progress display take the sink over while it runs.
 *
 * @param sink A sink, e.g. the one `setLogSink` returned.
 * @returns Whether it is the default console sink.
 * @example
 * ```ts
 * import { isConsoleSink, setLogSink } from "./logger.ts";
 * import assert from "node:assert/strict";
 * const previous = setLogSink(() => {});
 * assert.equal(isConsoleSink(previous), true);
 * assert.equal(isConsoleSink(setLogSink(previous)), false);
 * ```
 */
export function isConsoleSink(sink: LogSink): boolean {
  return sink === consoleSink;
}

/**
 * Sends one record to the current sink.
 *
 * @param record The log line.
 */
export function emitLog(record: LogRecord): void {
  currentSink(record);
}

/**
 * Makes a logger whose lines carry `source`.
 *
 * @param source Who writes: `labtech` or a task name such as `Fit[01]`.
 * @returns The logger.
 * @example
 * ```ts
 * import { createLogger, setLogSink, type LogRecord } from "./logger.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: LogRecord[] = [];
 * const previous = setLogSink((record) => lines.push(record));
 * createLogger("labtech").warn("careful");
 * setLogSink(previous);
 * assert.equal(lines[0]?.message, "careful");
 * ```
 */
export function createLogger(source: string): Logger {
  return {
    debug: (message) => currentSink({ level: "debug", source, message }),
    info: (message) => currentSink({ level: "info", source, message }),
    warn: (message) => currentSink({ level: "warn", source, message }),
    error: (message) => currentSink({ level: "error", source, message }),
  };
}

/** The Lab's own logger. */
export const labLogger: Logger = createLogger("labtech");
