/**
 * The run display: a `RunObserver` that keeps per-type counts and the running
 * tasks, owns the log sink while a run is active, and hands snapshots to an
 * output (terminal, plain lines or notebook).
 */
import type { DisplayOptions } from "../core/observer.ts";
import {
  isConsoleSink,
  labLogger,
  type LogRecord,
  type LogSink,
  setLogSink,
} from "../core/logger.ts";
import type { RunObserver, TaskOutcome } from "../core/observer.ts";
import type { Runner, TaskMonitorInfo } from "../core/runner.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import type { TypeProgress } from "./progress_lines.ts";
import { resolveTopOptions, tableLines, type TableSettings } from "./task_table.ts";

/** What an output is shown. */
export interface DisplaySnapshot {
  /** When the run started (ms since the epoch). */
  startedAt: number;
  /** Now (ms since the epoch). */
  now: number;
  /** One entry per task type, in order of appearance; empty when progress is off. */
  types: readonly TypeProgress[];
  /** The task table's lines; empty when it is off or nothing runs. */
  table: readonly string[];
}

/** Where a display draws: a terminal, plain lines, or a notebook. */
export interface DisplayOutput {
  /** Shortest time between two renders, in ms. */
  readonly minIntervalMs: number;
  /** Draws the snapshot (the output may skip drawing, e.g. plain lines between reports). */
  render(snapshot: DisplaySnapshot): void;
  /** Prints one formatted log line above the display. */
  log(line: string): void;
  /** Draws the final state and releases the output. */
  end(snapshot: DisplaySnapshot): void;
}

/** How often the task table is refreshed at most (twice a second). */
export const TABLE_INTERVAL_MS = 500;

/** Formats a log record as the console sink does: `source: LEVEL: message`. */
export function formatLogRecord(record: LogRecord): string {
  return `${record.source}: ${record.level.toUpperCase()}: ${record.message}`;
}

/** A RunObserver that shows progress bars and the task table through a `DisplayOutput`. */
export class RunDisplay implements RunObserver {
  readonly #output: DisplayOutput;
  readonly #progress: boolean;
  readonly #table: TableSettings | null;
  readonly #types = new Map<string, TypeProgress>();
  readonly #clock: () => number;
  #ordered: TypeProgress[] = [];
  #tableLines: readonly string[] = [];
  #startedAt = 0;
  #lastRender = 0;
  #lastSample = -Infinity;
  // When the last task finished: a type first seen finishing started no earlier.
  #lastDoneAt = 0;
  #previousSink: LogSink | null = null;
  #broken = false;

  constructor(
    output: DisplayOutput,
    options: { progress: boolean; table: TableSettings | null; clock?: () => number },
  ) {
    this.#output = output;
    this.#progress = options.progress;
    this.#table = options.table;
    this.#clock = options.clock ?? Date.now;
  }

  start(totals: ReadonlyMap<string, number>): void {
    this.#startedAt = this.#lastRender = this.#lastDoneAt = this.#clock();
    this.#previousSink = setLogSink((record) => {
      if (record.level !== "debug") this.#safely(() => this.#output.log(formatLogRecord(record)));
    });
    // A custom sink (a test's, a file logger) keeps its lines; only console output is ours.
    if (!isConsoleSink(this.#previousSink)) {
      setLogSink(this.#previousSink);
      this.#previousSink = null;
    }
    this.add(totals);
    this.#safely(() => this.#output.render(this.#snapshot(this.#startedAt)));
  }

  add(more: ReadonlyMap<string, number>): void {
    if (!this.#progress) return;
    for (const [name, total] of more) {
      let p = this.#types.get(name);
      if (p === undefined) {
        p = { name, total: 0, done: 0, cached: 0, failed: 0, finishedAt: null, startedAt: null };
        this.#types.set(name, p);
        this.#ordered = [...this.#ordered, p];
      }
      p.total += total;
      if (p.done < p.total) p.finishedAt = null;
    }
  }

  taskDone(typeName: string, outcome: TaskOutcome): void {
    const p = this.#types.get(typeName);
    if (p === undefined) return;
    const now = this.#clock();
    // Not seen running (too quick for a sample): it started after the last task before it ended.
    p.startedAt ??= this.#lastDoneAt;
    this.#lastDoneAt = now;
    p.done++;
    if (outcome.cached) p.cached++;
    if (outcome.failed) p.failed++;
    if (p.done >= p.total) p.finishedAt = now;
  }

  update(runner: Runner): void {
    const now = this.#clock();
    if ((this.#table !== null || this.#progress) && now - this.#lastSample >= TABLE_INTERVAL_MS) {
      this.#lastSample = now;
      const infos = runner.getTaskInfos();
      if (this.#table !== null) this.#tableLines = tableLines(infos, this.#table, now);
      this.#noteStarts(infos);
    }
    if (now - this.#lastRender >= this.#output.minIntervalMs) {
      this.#lastRender = now;
      this.#safely(() => this.#output.render(this.#snapshot(now)));
    }
  }

  end(): void {
    this.#tableLines = [];
    this.#safely(() => this.#output.end(this.#snapshot(this.#clock())));
    this.#restoreSink();
  }

  #restoreSink(): void {
    if (this.#previousSink !== null) setLogSink(this.#previousSink);
    this.#previousSink = null;
  }

  // A display that fails must not fail the run, nor keep the log lines it took over.
  #safely(draw: () => void): void {
    if (this.#broken) return;
    try {
      draw();
    } catch (error) {
      this.#broken = true;
      this.#restoreSink();
      labLogger.warn(`The progress display failed and is off for this run: ${error}`);
    }
  }

  // A type starts when its first task starts (names are `Type[NN]`).
  #noteStarts(infos: readonly TaskMonitorInfo[]): void {
    for (const info of infos) {
      const p = this.#types.get(info.name.slice(0, info.name.lastIndexOf("[")));
      const start = info.start.getTime();
      if (p !== undefined && (p.startedAt === null || start < p.startedAt)) p.startedAt = start;
    }
  }

  #snapshot(now: number): DisplaySnapshot {
    return { startedAt: this.#startedAt, now, types: this.#ordered, table: this.#tableLines };
  }
}

/** Options for choosing an output; the intervals are for tests. */
export interface DisplayChoice {
  /** The run's options. */
  options: DisplayOptions;
  /** The runtime adapter. */
  adapter: RuntimeAdapter;
}

/**
 * Builds the display a run asks for, or null when both progress and the task
 * table are off. Notebook (Deno's Jupyter kernel, or `notebook: true`), else a
 * terminal when stderr is one, else plain periodic lines.
 *
 * @throws {RangeError} for malformed `top` options.
 * @throws {TypeError} for `notebook: true` outside Deno's Jupyter kernel.
 */
export async function createRunDisplay(
  { options, adapter }: DisplayChoice,
): Promise<RunDisplay | null> {
  const progress = options.progress !== false;
  const table = resolveTopOptions(options.top);
  if (!progress && table === null) return null;
  let output: DisplayOutput;
  const jupyter = options.notebook === false ? null : adapter.jupyter();
  if (options.notebook === true && jupyter === null) {
    throw new TypeError(
      "Cannot show the notebook display: this is not running in Deno's Jupyter kernel; " +
        "leave notebook unset to choose the display automatically, or set it to false",
    );
  }
  if (jupyter !== null) {
    const { NotebookOutput } = await import("./notebook.ts");
    output = new NotebookOutput(jupyter);
  } else if (adapter.isTerminal("stderr")) {
    const { TerminalOutput } = await import("./terminal.ts");
    output = new TerminalOutput(adapter);
  } else {
    const { PlainLinesOutput } = await import("./plain_lines.ts");
    output = new PlainLinesOutput((text) => adapter.write("stderr", text));
  }
  return new RunDisplay(output, { progress, table });
}
