/**
 * The error classes labtech throws for conditions callers may want to catch.
 *
 * Misuse of an API (a wrong argument type or range) throws the built-in
 * `TypeError` or `RangeError`; everything else derives from {@linkcode LabtechError}.
 *
 * @module
 */

/**
 * Base class of every labtech domain error.
 *
 * @example Catch any labtech error
 * ```ts
 * import { LabtechError, TaskError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new TaskError("Cannot make task: bad params");
 * assert.ok(error instanceof LabtechError);
 * assert.equal(error.name, "TaskError");
 * ```
 */
export class LabtechError extends Error {
  /**
   * @param message Sentence-case description, details after a colon.
   * @param options Standard error options; `cause` keeps the underlying error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A task could not be defined, made or run (invalid parameters, a duplicate
 * task type name, a result that is not available).
 *
 * @example
 * ```ts
 * import { TaskError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new TaskError("x").name, "TaskError");
 * ```
 */
export class TaskError extends LabtechError {}

/**
 * A cache could not encode, decode or find a result.
 *
 * @example
 * ```ts
 * import { CacheError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new CacheError("x").name, "CacheError");
 * ```
 */
export class CacheError extends LabtechError {}

/**
 * A cached task that was asked for is not in storage.
 *
 * @example
 * ```ts
 * import { CacheError, TaskNotFound } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.ok(new TaskNotFound("x") instanceof CacheError);
 * ```
 */
export class TaskNotFound extends CacheError {}

/**
 * A storage backend refused or failed an operation (an unsafe key, an I/O error).
 *
 * @example
 * ```ts
 * import { StorageError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new StorageError("x").name, "StorageError");
 * ```
 */
export class StorageError extends LabtechError {}

/**
 * A runner backend failed: a worker crashed, exited or was stopped.
 *
 * @example
 * ```ts
 * import { RunnerError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new RunnerError("x").name, "RunnerError");
 * ```
 */
export class RunnerError extends LabtechError {}

/**
 * A value could not be serialised or deserialised (task parameters in
 * metadata, a message between processes).
 *
 * @example
 * ```ts
 * import { SerializationError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new SerializationError("x").name, "SerializationError");
 * ```
 */
export class SerializationError extends LabtechError {}

/**
 * A Lab run was refused before it started, or finished with failures.
 *
 * `failed` and `skipped` count the tasks that failed and the dependents that
 * were never run because of them; `causes` keeps each failure's error.
 *
 * @example
 * ```ts
 * import { LabError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new LabError("2 tasks failed", { failed: 2, skipped: 1, causes: [] });
 * assert.equal(error.failed, 2);
 * assert.equal(error.skipped, 1);
 * ```
 */
export class LabError extends LabtechError {
  /** Number of tasks whose run failed. */
  readonly failed: number;
  /** Number of tasks skipped because a dependency failed or the run was cancelled. */
  readonly skipped: number;
  /** The failures, as `[taskName, error]` pairs, in the order they happened. */
  readonly causes: ReadonlyArray<readonly [string, Error]>;

  /**
   * @param message What went wrong.
   * @param details Counts and causes of the failures.
   */
  constructor(
    message: string,
    details: {
      failed?: number;
      skipped?: number;
      causes?: ReadonlyArray<readonly [string, Error]>;
      cause?: unknown;
    } = {},
  ) {
    const first = details.causes?.[0]?.[1];
    super(message, { cause: details.cause ?? first });
    this.failed = details.failed ?? 0;
    this.skipped = details.skipped ?? 0;
    this.causes = details.causes ?? [];
  }
}

/**
 * A cached entry exists but cannot be read (corrupt or half-written). The Lab
 * warns, treats the entry as absent and runs the task instead.
 *
 * @example
 * ```ts
 * import { CacheError, CorruptEntryError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.ok(new CorruptEntryError("x") instanceof CacheError);
 * ```
 */
export class CorruptEntryError extends CacheError {}

/** A class of error that can be rebuilt from a message and standard options. */
export type ErrorClass = new (message: string, options?: ErrorOptions) => Error;

// Labtech's classes and the built-in ones, by name: what an error that crossed
// a worker boundary as data is rebuilt as, so it keeps its class.
const ERROR_CLASSES: ReadonlyMap<string, ErrorClass> = new Map(
  [
    LabtechError,
    TaskError,
    CacheError,
    TaskNotFound,
    StorageError,
    RunnerError,
    SerializationError,
    CorruptEntryError,
    LabError,
    Error,
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
  ].map((error: ErrorClass) => [error.name, error]),
);

/**
 * The labtech or built-in error class named `name`, for rebuilding an error
 * that crossed a worker boundary as data with the same class.
 *
 * @param name An error's `name`, such as `"CorruptEntryError"`.
 * @returns The class, or undefined for a name that is not labtech's or built in.
 *
 * @example
 * ```ts
 * import { CorruptEntryError, errorClassNamed } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const Rebuilt = errorClassNamed("CorruptEntryError") ?? Error;
 * const error = new Rebuilt("Cannot load the cached result of Fit(x=1): truncated");
 * assert.ok(error instanceof CorruptEntryError);
 * assert.equal(errorClassNamed("MyOwnError"), undefined);
 * ```
 */
export function errorClassNamed(name: string): ErrorClass | undefined {
  return ERROR_CLASSES.get(name);
}
