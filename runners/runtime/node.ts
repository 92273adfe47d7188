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
};
