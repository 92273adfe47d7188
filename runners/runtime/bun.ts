/** The Bun adapter: Bun's own `process` object. */
import type { RuntimeAdapter } from "./adapter.ts";

interface BunProcess {
  pid: number;
  memoryUsage: { rss(): number };
  cpuUsage(): { user: number; system: number };
  on(signal: "SIGINT", handler: () => void): void;
  off(signal: "SIGINT", handler: () => void): void;
  stdout: BunStream;
  stderr: BunStream;
  argv: string[];
  exitCode: number | undefined;
}

interface BunStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

const process = (globalThis as unknown as { process: BunProcess }).process;

/** Bun's implementation of the runtime adapter. */
export const adapter: RuntimeAdapter = {
  pid: process.pid,
  rssBytes: () => process.memoryUsage.rss(),
  cpuMicros: () => {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  },
  onInterrupt(handler) {
    process.on("SIGINT", handler);
    return () => process.off("SIGINT", handler);
  },
  isTerminal: (stream) => process[stream].isTTY === true,
  // --- Display and CLI (observe/, cli.ts) ---
  write: (stream, text) => void process[stream].write(text),
  terminalColumns: (stream) => process[stream].isTTY ? process[stream].columns ?? 80 : null,
  jupyter: () => null,
  args: () => process.argv.slice(2),
  setExitCode: (code) => void (process.exitCode = code),
  // --- end display and CLI ---
};
