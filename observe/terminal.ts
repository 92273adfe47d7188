/**
 * Output for terminals: one cli-progress bar per task type and the task table
 * below them, redrawn in place; log lines are printed above the bars.
 *
 * cli-progress draws through a small stream object that writes with the
 * runtime adapter, so the same code runs on Node, Deno and Bun.
 */
import cliProgress from "npm:cli-progress@^3.12.0";
import { format } from "node:util";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { truncate } from "./_format.ts";
import {
  type LineLayout,
  lineLayout,
  progressLine,
  type TypeProgress,
  UNICODE_BAR,
} from "./progress_lines.ts";
import type { DisplayOutput, DisplaySnapshot } from "./run_display.ts";

type Bar = cliProgress.SingleBar;

interface TypePayload {
  kind: "type";
  progress: TypeProgress;
  layout: LineLayout;
}

interface RowPayload {
  kind: "row";
  line: string;
}

/** Bars redraw at most ten times a second. */
const FRAME_MS = 100;

/**
 * Columns left free at the end of every drawn line. A line that filled the
 * row would leave the cursor waiting to wrap, and the `^C` a terminal echoes
 * on Ctrl-C would then wrap onto a new row that the redraw does not know of.
 */
const RESERVED_COLUMNS = 3;

// Erase from the cursor to the end of the screen: the old bars and table go
// before log lines are printed where they were, whatever the lines' length.
const ERASE_BELOW = "\x1b[J";

function formatLine(_options: unknown, params: cliProgress.Params, payload: object): string {
  const p = payload as TypePayload | RowPayload;
  const width = Math.max(1, params.maxWidth - RESERVED_COLUMNS);
  if (p.kind === "row") return truncate(p.line, width);
  return progressLine(p.progress, p.layout, Date.now(), UNICODE_BAR, width);
}

/** Draws progress bars and the task table in place on a terminal. */
export class TerminalOutput implements DisplayOutput {
  readonly minIntervalMs: number = FRAME_MS;
  readonly #multibar: cliProgress.MultiBar;
  readonly #bars = new Map<TypeProgress, Bar>();
  #rows: Bar[] = [];
  #lastDraw = 0;
  #restoreConsole: (() => void) | null = null;

  constructor(adapter: RuntimeAdapter) {
    const stream = {
      isTTY: true,
      get columns(): number {
        return adapter.terminalColumns("stderr") ?? 80;
      },
      write(text: string): boolean {
        adapter.write("stderr", text);
        return true;
      },
    };
    this.#multibar = new cliProgress.MultiBar({
      stream: stream as unknown as NodeJS.WritableStream,
      format: formatLine,
      fps: 1000 / FRAME_MS,
      // Redraw every line each frame: log lines printed above shift the bars down.
      forceRedraw: true,
      // Keep the terminal's own wrapping (log lines may be long); bars are cut to the width.
      linewrap: true,
      hideCursor: false,
      gracefulExit: false,
    });
  }

  // In-process tasks (serial, async) print with console.*: print those lines
  // above the bars too, so they do not tear the display. Restored at the end.
  #captureConsole(): () => void {
    const target = console as unknown as Record<string, (...args: unknown[]) => void>;
    const methods = ["log", "info", "warn", "error", "debug"];
    const saved = methods.map((m) => target[m]!);
    for (const m of methods) {
      target[m] = (...args: unknown[]) => {
        for (const line of format(...args).split("\n")) this.log(line);
      };
    }
    return () => methods.forEach((m, i) => (target[m] = saved[i]!));
  }

  render(s: DisplaySnapshot): void {
    // Captured at the first draw, not when built: a run that fails before it starts leaves the console alone.
    this.#restoreConsole ??= this.#captureConsole();
    const layout = lineLayout(s.types);
    const newTypes = s.types.filter((t) => !this.#bars.has(t));
    // New bars go below the table unless the rows are made again after them.
    if (newTypes.length > 0) this.#setRowCount(0);
    for (const p of s.types) {
      const payload: TypePayload = { kind: "type", progress: p, layout };
      const bar = this.#bars.get(p);
      if (bar === undefined) {
        this.#bars.set(p, this.#multibar.create(p.total, p.done, payload));
        continue;
      }
      if (bar.getTotal() !== p.total) bar.setTotal(p.total);
      bar.update(p.done, payload);
    }
    this.#setRowCount(s.table.length);
    s.table.forEach((line, i) => this.#rows[i]!.update(0, { kind: "row", line }));
    this.#draw();
  }

  log(line: string): void {
    this.#multibar.log(`${ERASE_BELOW}${line}\n`);
    if (Date.now() - this.#lastDraw >= FRAME_MS) this.#draw();
  }

  end(s: DisplaySnapshot): void {
    this.render(s);
    this.#restoreConsole?.();
    this.#restoreConsole = () => {};
    this.#multibar.stop();
  }

  #draw(): void {
    this.#lastDraw = Date.now();
    this.#multibar.update();
  }

  #setRowCount(count: number): void {
    while (this.#rows.length < count) {
      this.#rows.push(this.#multibar.create(1, 0, { kind: "row", line: "" }));
    }
    while (this.#rows.length > count) this.#multibar.remove(this.#rows.pop()!);
  }
}
