/**
 * The messages between a pool and its workers (threads or subprocesses),
 * shared by both sides. Requests and replies carry the task's id; errors
 * travel as data, with their stack.
 *
 * @module
 */
import { errorClassNamed } from "../core/errors.ts";
import type { LogRecord } from "../core/logger.ts";
import type { StorageDescription } from "../core/storage.ts";
import type { LabContext, ResultMeta, TaskResult } from "../core/task.ts";

/**
 * Where a worker caches results: the description of the Lab's storage, which
 * the worker reopens with `openStorage`, or `{ kind: "null" }` when the Lab's
 * side loads and saves (a storage that cannot describe itself).
 */
export type StorageSpec = StorageDescription;

/** Main → worker, once, after the worker said it is ready. */
export interface StartupMessage {
  kind: "startup";
  /** The full context (thread, fork), or null (spawn: sent per task). */
  context: LabContext | null;
  storage: StorageSpec;
}

/** Main → worker: run (or load) one task. */
export interface RunMessage {
  kind: "run";
  id: number;
  taskName: string;
  /** Modules defining the task's type and the types nested in its parameters. */
  modules: string[];
  /**
   * Tasks the worker does not hold yet, dependencies first, as `[cacheKey,
   * refTaskText]`: nested tasks are references to tasks sent before.
   */
  tasks: Array<[string, string]>;
  /** The cache key of the task to run. */
  key: string;
  /** Results of the task's direct dependencies, by cache key. */
  deps: Array<[string, TaskResult]>;
  useCache: boolean;
  /** The filtered context (spawn), or null to use the startup context. */
  context: LabContext | null;
}

/** Main → worker: drop a run message sent ahead (pipelined) that has not started. */
export interface CancelMessage {
  kind: "cancel";
  id: number;
}

/** A message the main side sends. */
export type MainMessage = StartupMessage | RunMessage | CancelMessage;

/** An error as data: enough to rebuild a readable error on the other side. */
export interface ErrorData {
  name: string;
  message: string;
  stack: string | null;
  cause: ErrorData | null;
}

/** A message a worker sends. */
export type WorkerMessage =
  | { kind: "ready" }
  | { kind: "loading"; id: number }
  | { kind: "result"; id: number; value: unknown; meta: ResultMeta }
  | { kind: "error"; id: number; error: ErrorData }
  | { kind: "skipped"; id: number }
  | { kind: "log"; record: LogRecord }
  | { kind: "exiting"; code: number };

/** Turns anything thrown into data that survives any channel. */
export function toErrorData(error: unknown, depth = 0): ErrorData {
  if (!(error instanceof Error)) {
    return { name: "Error", message: String(error), stack: null, cause: null };
  }
  return {
    name: error.name,
    message: error.message,
    stack: error.stack ?? null,
    cause: error.cause !== undefined && depth < 4 ? toErrorData(error.cause, depth + 1) : null,
  };
}

/**
 * Rebuilds an error from data: same name, message and (remote) stack, and the
 * same class when it is labtech's or a built-in one (see `errorClassNamed`).
 */
export function fromErrorData(data: ErrorData): Error {
  const ErrorClass = errorClassNamed(data.name) ?? Error;
  const error = new ErrorClass(
    data.message,
    data.cause ? { cause: fromErrorData(data.cause) } : undefined,
  );
  error.name = data.name;
  if (data.stack !== null) error.stack = data.stack;
  return error;
}
