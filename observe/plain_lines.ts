/**
 * Output for streams that are not terminals (CI logs, pipes, files): nothing
 * is redrawn; progress and the task table are printed as plain lines now and
 * then, and log lines as they come.
 */
import { ASCII_BAR, lineLayout, progressLine, type TypeProgress } from "./progress_lines.ts";
import type { DisplayOutput, DisplaySnapshot } from "./run_display.ts";

/** How often plain output reports. */
export interface PlainIntervals {
  /** Progress lines of types that advanced, at most this often (ms). */
  progressMs: number;
  /** The task table, at most this often (ms). */
  tableMs: number;
}

/** Defaults: progress every 5 s, the task table every 30 s. */
export const PLAIN_INTERVALS: PlainIntervals = { progressMs: 5000, tableMs: 30000 };

/** Prints plain, periodic lines through `write`. */
export class PlainLinesOutput implements DisplayOutput {
  readonly minIntervalMs: number;
  readonly #write: (text: string) => void;
  readonly #intervals: PlainIntervals;
  readonly #reported = new Map<TypeProgress, number>();
  #lastProgress: number | null = null;
  #lastTable: number | null = null;

  constructor(write: (text: string) => void, intervals: PlainIntervals = PLAIN_INTERVALS) {
    this.#write = write;
    this.#intervals = intervals;
    this.minIntervalMs = Math.min(intervals.progressMs, intervals.tableMs);
  }

  render(s: DisplaySnapshot): void {
    // The first report comes one interval after the start, not at once.
    this.#lastProgress ??= s.now;
    this.#lastTable ??= s.now;
    const out: string[] = [];
    if (s.now - this.#lastProgress >= this.#intervals.progressMs) {
      this.#lastProgress = s.now;
      out.push(...this.#progressLines(s));
    }
    if (s.table.length > 0 && s.now - this.#lastTable >= this.#intervals.tableMs) {
      this.#lastTable = s.now;
      out.push(...s.table);
    }
    if (out.length > 0) this.#write(out.join("\n") + "\n");
  }

  log(line: string): void {
    this.#write(line + "\n");
  }

  end(s: DisplaySnapshot): void {
    const lines = this.#progressLines(s);
    if (lines.length > 0) this.#write(lines.join("\n") + "\n");
  }

  // Lines for types that advanced since their last line.
  #progressLines(s: DisplaySnapshot): string[] {
    const layout = lineLayout(s.types);
    const lines: string[] = [];
    for (const p of s.types) {
      if (this.#reported.get(p) === p.done) continue;
      this.#reported.set(p, p.done);
      lines.push(progressLine(p, layout, s.now, ASCII_BAR));
    }
    return lines;
  }
}
