/** The Deno adapter: the `Deno` namespace. */
import type { JupyterApi, RuntimeAdapter } from "./adapter.ts";

interface DenoApi {
  pid: number;
  memoryUsage(): { rss: number };
  addSignalListener(signal: "SIGINT", handler: () => void): void;
  removeSignalListener(signal: "SIGINT", handler: () => void): void;
  stdout: DenoStream;
  stderr: DenoStream;
  args: string[];
  exitCode: number;
  consoleSize(): { columns: number; rows: number };
  readonly jupyter: JupyterApi;
}

interface DenoStream {
  isTerminal(): boolean;
  writeSync(data: Uint8Array): number;
}

const encoder = new TextEncoder();

const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
// Deno has no process CPU-time call; node:process's cpuUsage is its own implementation of one.
const { cpuUsage } = await import("node:process");

/** Deno's implementation of the runtime adapter. */
export const adapter: RuntimeAdapter = {
  pid: Deno.pid,
  rssBytes: () => Deno.memoryUsage().rss,
  cpuMicros: () => {
    const usage = cpuUsage();
    return usage.user + usage.system;
  },
  onInterrupt(handler) {
    Deno.addSignalListener("SIGINT", handler);
    return () => Deno.removeSignalListener("SIGINT", handler);
  },
  isTerminal: (stream) => Deno[stream].isTerminal(),
  // --- Display and CLI (observe/, cli.ts) ---
  write(stream, text) {
    const data = encoder.encode(text);
    for (let at = 0; at < data.length;) at += Deno[stream].writeSync(data.subarray(at));
  },
  terminalColumns(stream) {
    if (!Deno[stream].isTerminal()) return null;
    try {
      return Deno.consoleSize().columns;
    } catch {
      return 80;
    }
  },
  jupyter() {
    try {
      return Deno.jupyter; // a getter that throws outside `deno jupyter`
    } catch {
      return null;
    }
  },
  args: () => [...Deno.args],
  setExitCode: (code) => void (Deno.exitCode = code),
  // --- end display and CLI ---
};
