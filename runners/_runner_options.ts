/**
 * Reads and checks a task's runner options for the worker backends.
 *
 * @module
 */
import type { Task } from "../core/task.ts";

/** The worker backends' option sections, checked whichever of them runs the task. */
const SECTIONS = ["thread", "spawn", "fork"] as const;
const KEYS = new Set(["maxHeapMb"]);

/** A worker backend's options for one task, checked and with defaults. */
export interface WorkerOptions {
  /** The heap limit in MiB for a dedicated worker, or null to use the shared pool. */
  maxHeapMb: number | null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The options of `kind`'s section of `task`'s `runnerOptions(params)`.
 *
 * @throws {TypeError} when the options, a worker section or a key in it is malformed.
 * @throws {RangeError} when a limit is not a positive integer.
 */
export function workerOptionsOf(task: Task, kind: (typeof SECTIONS)[number]): WorkerOptions {
  const make = task.type.definition.runnerOptions;
  if (make === undefined) return { maxHeapMb: null };
  const options: unknown = make(task.params);
  if (!isPlainObject(options)) {
    throw new TypeError(
      `Cannot read the runner options of ${task} as runnerOptions must return a plain object: ` +
        `received ${String(options)}`,
    );
  }
  let chosen: WorkerOptions = { maxHeapMb: null };
  for (const section of SECTIONS) {
    const value = options[section];
    if (value === undefined) continue;
    if (!isPlainObject(value)) {
      throw new TypeError(
        `Cannot read the runner options of ${task} as "${section}" must be a plain object: ` +
          `received ${String(value)}`,
      );
    }
    for (const key of Object.keys(value)) {
      if (!KEYS.has(key)) {
        throw new TypeError(
          `Cannot read the runner options of ${task} as "${section}" has an unknown key: ` +
            `received "${key}" (known: ${[...KEYS].join(", ")})`,
        );
      }
    }
    const maxHeapMb = value.maxHeapMb;
    if (maxHeapMb !== undefined && typeof maxHeapMb !== "number") {
      throw new TypeError(
        `Cannot read the runner options of ${task} as ${section}.maxHeapMb must be a number: ` +
          `received ${typeof maxHeapMb}`,
      );
    }
    if (maxHeapMb !== undefined && !(Number.isInteger(maxHeapMb) && maxHeapMb > 0)) {
      throw new RangeError(
        `Cannot read the runner options of ${task} as ${section}.maxHeapMb must be a positive ` +
          `integer: received ${String(maxHeapMb)}`,
      );
    }
    if (section === kind) chosen = { maxHeapMb: maxHeapMb ?? null };
  }
  return chosen;
}
