/**
 * Output for Deno's Jupyter kernel: progress bars and the task table as one
 * HTML display that is updated in place; log lines go to the cell's stderr
 * stream, sent through the kernel.
 */
import type { JupyterApi } from "../runtime/adapter.ts";
import { formatRate, formatSeconds } from "./_format.ts";
import { ASCII_BAR, lineLayout, progressFigures, progressLine } from "./progress_lines.ts";
import type { DisplayOutput, DisplaySnapshot } from "./run_display.ts";

/** Notebook updates are messages to the front end: at most two a second. */
const UPDATE_MS = 500;

let displayCounter = 0;

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** The display's HTML: a row per task type, then the task table. */
export function notebookHtml(s: DisplaySnapshot): string {
  const rows = s.types.map((p) => {
    const f = progressFigures(p, s.now);
    const extra = [p.cached ? `${p.cached} cached` : "", p.failed ? `${p.failed} failed` : ""]
      .filter(Boolean).join(", ");
    return `<tr><td style="text-align:left">${
      escapeHtml(p.name)
    }</td><td>${p.done}/${p.total}</td>` +
      `<td>${formatSeconds(f.elapsedSeconds)}</td><td>${formatRate(f.perSecond)}</td>` +
      `<td><progress value="${p.done}" max="${Math.max(1, p.total)}"></progress></td>` +
      `<td>${f.percent}%</td><td>eta ${formatSeconds(f.remainingSeconds)}</td>` +
      `<td>${escapeHtml(extra)}</td></tr>`;
  }).join("");
  const table = s.table.length > 0
    ? `<pre style="margin-top:0.5em">${escapeHtml(s.table.join("\n"))}</pre>`
    : "";
  return `<div class="labtech-progress"><table>${rows}</table>${table}</div>`;
}

/** Plain-text fallback of the display. */
export function notebookText(s: DisplaySnapshot): string {
  const layout = lineLayout(s.types);
  return [...s.types.map((p) => progressLine(p, layout, s.now, ASCII_BAR)), ...s.table]
    .join("\n");
}

/**
 * Sends a message through the kernel and never lets it fail the run: in a real
 * kernel `broadcast` may return undefined rather than its declared promise,
 * or throw, or reject.
 */
export function sendToKernel(
  jupyter: JupyterApi,
  type: string,
  content: Record<string, unknown>,
): void {
  try {
    const sent: unknown = jupyter.broadcast(type, content);
    if (typeof (sent as PromiseLike<void> | undefined)?.then === "function") {
      (sent as PromiseLike<void>).then(undefined, () => {});
    }
  } catch {
    // A display that cannot be sent is not worth failing a run for.
  }
}

/** Shows a run in a notebook cell, updating one display in place. */
export class NotebookOutput implements DisplayOutput {
  readonly minIntervalMs: number = UPDATE_MS;
  readonly #jupyter: JupyterApi;
  readonly #displayId = `labtech-${Date.now().toString(36)}-${displayCounter++}`;
  #shown = false;

  constructor(jupyter: JupyterApi) {
    this.#jupyter = jupyter;
  }

  render(s: DisplaySnapshot): void {
    const content = {
      data: { "text/html": notebookHtml(s), "text/plain": notebookText(s) },
      metadata: {},
      transient: { display_id: this.#displayId },
    };
    const type = this.#shown ? "update_display_data" : "display_data";
    this.#shown = true;
    sendToKernel(this.#jupyter, type, content);
  }

  // Through the kernel as the cell's stderr stream: a raw write to the
  // process's stderr never reaches the cell.
  log(line: string): void {
    sendToKernel(this.#jupyter, "stream", { name: "stderr", text: line + "\n" });
  }

  end(s: DisplaySnapshot): void {
    this.render(s);
  }
}
