/**
 * What the scheduler and the resource monitor need to know about this
 * process: its id, memory, CPU time, how many CPUs it may use, and Ctrl-C.
 *
 * @module
 */

/**
 * This process, as the Lab and the runners' monitor see it.
 * @example
 * ```ts
 * import type { ProcessFacts } from "./process_facts.ts";
 * import { loadRuntimeAdapter } from "./adapter.ts";
 * import assert from "node:assert/strict";
 * const facts: ProcessFacts = await loadRuntimeAdapter();
 * assert.ok(facts.pid > 0);
 * assert.ok(facts.rssBytes() > 0);
 * assert.ok(facts.availableParallelism() >= 1);
 * const stop = facts.onInterrupt(() => {});
 * stop();
 * ```
 */
export interface ProcessFacts {
  /** This process's id. */
  readonly pid: number;
  /**
   * Resident memory of this process.
   * @returns Bytes.
   */
  rssBytes(): number;
  /**
   * CPU time (user + system) this process has used.
   * @returns Microseconds.
   */
  cpuMicros(): number;
  /**
   * How many tasks can usefully run in parallel.
   * @returns The CPUs available to this process.
   */
  availableParallelism(): number;
  /**
   * Calls `handler` on each SIGINT until the returned function is called.
   * @param handler Called on each Ctrl-C.
   * @returns A function that removes the handler.
   */
  onInterrupt(handler: () => void): () => void;
}
