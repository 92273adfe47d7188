/** The Deno adapter: the `Deno` namespace. */
import type { RuntimeAdapter } from "./adapter.ts";

interface DenoApi {
  pid: number;
  memoryUsage(): { rss: number };
  addSignalListener(signal: "SIGINT", handler: () => void): void;
  removeSignalListener(signal: "SIGINT", handler: () => void): void;
  stdout: { isTerminal(): boolean };
  stderr: { isTerminal(): boolean };
}

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
};
