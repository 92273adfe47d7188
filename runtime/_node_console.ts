/**
 * The console and the process facts through Node's `process` object, which
 * Node and Bun share: one copy for both adapters.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import type { ConsoleAdapter } from "./console.ts";
import type { ProcessFacts } from "./process_facts.ts";

interface NodeStyleStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

/** The part of Node's `process` (as Node and Bun have it) these helpers use. */
export interface NodeStyleProcess {
  pid: number;
  stdout: NodeStyleStream;
  stderr: NodeStyleStream;
  argv: string[];
  exitCode?: number | string | null | undefined;
  memoryUsage: { rss(): number };
  cpuUsage(): { user: number; system: number };
  on(event: "SIGINT", handler: () => void): unknown;
  off(event: "SIGINT", handler: () => void): unknown;
  exit(code?: number): never;
}

/**
 * The console of a Node-style process.
 * @param process Node's `process` (Bun's is the same shape).
 * @returns The console part of a runtime adapter.
 * @example
 * ```ts
 * import { nodeConsole } from "./_node_console.ts";
 * import process from "node:process";
 * import assert from "node:assert/strict";
 * const console = nodeConsole(process);
 * assert.deepEqual(console.args(), process.argv.slice(2));
 * assert.equal(console.jupyter(), null);
 * ```
 */
export function nodeConsole(process: NodeStyleProcess): ConsoleAdapter {
  return {
    write: (stream, text) => void process[stream].write(text),
    terminalColumns: (stream) => process[stream].isTTY ? process[stream].columns ?? 80 : null,
    isTerminal: (stream) => process[stream].isTTY === true,
    jupyter: () => null,
    args: () => process.argv.slice(2),
    setExitCode: (code) => void (process.exitCode = code),
  };
}

/**
 * The facts of a Node-style process, and its exit hook.
 * @param process Node's `process` (Bun's is the same shape).
 * @returns The process facts and `onExitCall` of a runtime adapter.
 * @example
 * ```ts
 * import { nodeProcessFacts } from "./_node_console.ts";
 * import process from "node:process";
 * import assert from "node:assert/strict";
 * const facts = nodeProcessFacts(process);
 * assert.equal(facts.pid, process.pid);
 * assert.ok(facts.cpuMicros() > 0);
 * ```
 */
export function nodeProcessFacts(
  process: NodeStyleProcess,
): ProcessFacts & { onExitCall(hook: (code: number) => void): void } {
  return {
    pid: process.pid,
    rssBytes: () => process.memoryUsage.rss(),
    cpuMicros: () => {
      const usage = process.cpuUsage();
      return usage.user + usage.system;
    },
    availableParallelism,
    onInterrupt(handler) {
      process.on("SIGINT", handler);
      return () => void process.off("SIGINT", handler);
    },
    onExitCall(hook) {
      const exit = process.exit.bind(process);
      process.exit = (code?: number): never => {
        hook(code ?? Number(process.exitCode ?? 0));
        return exit(code);
      };
    },
  };
}
