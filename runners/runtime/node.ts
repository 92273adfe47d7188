/** The Node adapter: `node:process` and friends. */
import process from "node:process";
import type { RuntimeAdapter } from "./adapter.ts";

/** Node's implementation of the runtime adapter. */
export const adapter: RuntimeAdapter = {
  pid: process.pid,
  rssBytes: () => process.memoryUsage.rss(),
  cpuMicros: () => {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  },
  onInterrupt(handler) {
    process.on("SIGINT", handler);
    return () => void process.off("SIGINT", handler);
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
