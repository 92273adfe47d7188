/**
 * Marks a worker's state on `globalThis`, so that a module that runs a Lab
 * when imported fails at once inside a worker instead of running it again.
 *
 * @module
 */
import { LabError } from "./errors.ts";

const KEY = Symbol.for("labtech.workerState");

/** What a labtech worker is doing: importing a module, running a task, or idle. */
export type WorkerState =
  | { state: "importing"; module: string }
  | { state: "running" }
  | { state: "idle" };

/** Records what this worker is doing; called only by the worker entry. */
export function setWorkerState(state: WorkerState): void {
  (globalThis as Record<symbol, unknown>)[KEY] = state;
}

/**
 * Throws when a Lab is created inside a labtech worker outside a task: that
 * means a module imported to find task types runs a Lab at import time.
 *
 * @throws {LabError} saying how to fix the module.
 */
export function assertNotImportingInWorker(): void {
  const current = (globalThis as Record<symbol, unknown>)[KEY] as WorkerState | undefined;
  if (current === undefined || current.state === "running") return;
  const where = current.state === "importing" ? current.module : "a module it imported";
  throw new LabError(
    `Cannot create a Lab inside a labtech worker: ${where} runs a Lab when a worker imports it ` +
      `to find its task types, which would run the Lab again. Define task types in their own ` +
      `module, or run the Lab only in the main module: guard it with \`if (import.meta.main)\` ` +
      `(Deno, Bun, Node 24+) or \`if (process.argv[1] === fileURLToPath(import.meta.url))\` (Node)`,
  );
}
