/**
 * What the display and the command line need from a runtime: write to the
 * terminal, know its size, reach a notebook, read arguments, set the exit
 * code. `observe/` and `cli.ts` declare this; each runtime adapter supplies it.
 *
 * @module
 */

/**
 * The part of Deno's Jupyter API the notebook display uses.
 * @example
 * ```ts
 * import type { JupyterApi } from "./console.ts";
 * import assert from "node:assert/strict";
 * const sent: string[] = [];
 * const jupyter: JupyterApi = {
 *   broadcast: (msgType) => Promise.resolve(void sent.push(msgType)),
 * };
 * await jupyter.broadcast("display_data", { data: {} });
 * assert.deepEqual(sent, ["display_data"]);
 * ```
 */
export interface JupyterApi {
  /** Sends a Jupyter message (`display_data`, `update_display_data`) to the notebook. */
  broadcast(msgType: string, content: Record<string, unknown>): Promise<void>;
}

/**
 * The console as the display and the command line use it.
 * @example
 * ```ts
 * import type { ConsoleAdapter } from "./console.ts";
 * import { loadRuntimeAdapter } from "./adapter.ts";
 * import assert from "node:assert/strict";
 * const console: ConsoleAdapter = await loadRuntimeAdapter();
 * const columns = console.terminalColumns("stdout");
 * assert.equal(columns === null, !console.isTerminal("stdout"));
 * assert.ok(Array.isArray(console.args()));
 * ```
 */
export interface ConsoleAdapter {
  /**
   * Writes `text` to the stream, in order with earlier writes through this call.
   * @param stream Standard output or standard error.
   * @param text What to write, as is.
   */
  write(stream: "stdout" | "stderr", text: string): void;
  /**
   * The stream's terminal width.
   * @param stream Standard output or standard error.
   * @returns The width in columns, or null when the stream is not a terminal.
   */
  terminalColumns(stream: "stdout" | "stderr"): number | null;
  /**
   * Whether the stream is a terminal.
   * @param stream Standard output or standard error.
   * @returns True when it is.
   */
  isTerminal(stream: "stdout" | "stderr"): boolean;
  /**
   * Deno's Jupyter kernel API.
   * @returns The API when running inside a kernel, else null.
   */
  jupyter(): JupyterApi | null;
  /**
   * The command-line arguments.
   * @returns The arguments after the script name.
   */
  args(): string[];
  /**
   * Sets the code the process exits with once it ends.
   * @param code The exit code.
   */
  setExitCode(code: number): void;
}
