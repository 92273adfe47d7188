/**
 * Task types and tasks: `task(def)` defines a type, calling the type makes a
 * task for one set of parameters.
 *
 * @module
 */
import { hexDigest } from "../runtime/digest.ts";
import type { Cache } from "./cache.ts";
import { callerModuleUrl } from "./_call_site.ts";
import { TaskError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { displayText, identityText, normalizeParams, TASK_BRAND, type TaskLike } from "./params.ts";
import { registerTaskType } from "./registry.ts";
import type { RunnerOptions } from "./runner_options.ts";

// Re-exported: the per-task runner options are part of a task type's definition.
export type { RunnerOptions, WorkerRunnerOptions } from "./runner_options.ts";

/**
 * Values shared with every task of a run; never part of a task's identity.

 * @example
 * ```ts
 * import { type LabContext, task } from "./task.ts";
 * import { Lab } from "../lab/lab.ts";
 * import assert from "node:assert/strict";
 * const context: LabContext = { scale: 10 };
 * const scaled = task({
 *   name: "DocLabContext",
 *   run: (p: { x: number }, ctx) => p.x * (ctx.context.scale as number),
 * });
 * const lab = new Lab({ storage: null, context });
 * assert.equal(await lab.runTask(scaled({ x: 2 }), { progress: false }), 20);
 * ```
 */
export type LabContext = Record<string, unknown>;

/**
 * When a result was produced and how long it took.

 * @example
 * ```ts
 * import { type ResultMeta, task } from "./task.ts";
 * import { Lab } from "../lab/lab.ts";
 * import assert from "node:assert/strict";
 * const t = task({ name: "DocResultMeta", run: () => 1 })({});
 * await new Lab({ storage: null }).runTask(t, { progress: false });
 * const meta: ResultMeta = t.resultMeta!;
 * assert.ok(meta.start instanceof Date);
 * assert.equal(typeof meta.durationMs, "number");
 * ```
 */
export interface ResultMeta {
  /** When the run started, or null when unknown. */
  start: Date | null;
  /** How long the run took in milliseconds, or null when unknown. */
  durationMs: number | null;
}

/**
 * A task's result with its metadata.

 * @example
 * ```ts
 * import type { TaskResult } from "./task.ts";
 * import assert from "node:assert/strict";
 * const result: TaskResult<number> = { value: 42, meta: { start: null, durationMs: null } };
 * assert.equal(result.value, 42);
 * ```
 */
export interface TaskResult<R = unknown> {
  /** The value `run()` returned. */
  value: R;
  /** When and how long. */
  meta: ResultMeta;
}

/**
 * What `run()` receives beside its parameters. `C` types `ctx.context`:
 * annotate `ctx: TaskContext<MyContext>` to read it without casts.

 * @example
 * ```ts
 * import { task, type TaskContext } from "./task.ts";
 * import { Lab } from "../lab/lab.ts";
 * import assert from "node:assert/strict";
 * const seen: string[] = [];
 * const named = task({
 *   name: "DocTaskContext",
 *   run: (_p: Record<string, never>, ctx: TaskContext) => {
 *     seen.push(ctx.taskName);
 *     return ctx.signal.aborted;
 *   },
 * });
 * assert.equal(await new Lab({ storage: null }).runTask(named({}), { progress: false }), false);
 * assert.deepEqual(seen, ["DocTaskContext[00]"]);
 * ```
 */
export interface TaskContext<C extends object = LabContext> {
  /** The Lab's context, after the type's `filterContext`. */
  context: C;
  /** Logs lines that carry this task's name. */
  logger: Logger;
  /** Fires when the Lab stops running tasks. */
  signal: AbortSignal;
  /** This task's name in logs, such as `Experiment[03]`. */
  taskName: string;
}

/**
 * What `task()` takes. `P` is the parameters' type, `R` the result's, `C` the
 * Lab context the type needs and `F` what `run` sees as `ctx.context` (the
 * result of `filterContext`, else `C`).
 *
 * `P` is inferred from `run`'s annotated parameters only, so writing
 * `filterContext` or `runnerOptions` first never widens it. Their own
 * parameter is typed from `run` when `run` comes first; when they come first,
 * annotate it (TypeScript types functions in an object in order).
 *
 * @example
 * ```ts
 * import { task, type TaskDefinition } from "./task.ts";
 * import assert from "node:assert/strict";
 * const definition: TaskDefinition<{ n: number }, number> = {
 *   name: "DocTaskDefinition",
 *   codeVersion: "v2",
 *   maxParallel: 1,
 *   run: (p) => p.n + 1,
 * };
 * const type = task(definition);
 * assert.equal(type.maxParallel, 1);
 * assert.equal(type({ n: 1 }).codeVersion, "v2");
 * ```
 */
export interface TaskDefinition<P, R, C extends object = LabContext, F extends object = C> {
  /**
   * Stable identity: part of every cache key. Letters, digits, `_`, `.` and
   * `-`, without `__` and not ending with `_` (cache keys are `<name>__<hash>`).
   */
  name: string;
  /** Bump when `run()` changes its results, so old cached results are not reused. */
  codeVersion?: string;
  /** At most this many tasks of this type run at once. */
  maxParallel?: number;
  /** How results are stored: default `StructuredCache`; null never caches. */
  cache?: Cache | null;
  /** Narrows the Lab's context to what this task needs (and what is sent to workers). */
  filterContext?: (params: P, context: C) => F;
  /** Options for runner backends, per task, keyed by backend name: see {@linkcode RunnerOptions}. */
  runnerOptions?: (params: P) => RunnerOptions;
  /** URL of the module that defines this type, for workers; found from the call site if omitted. */
  module?: string;
  /** Computes the result; may be async. */
  run(params: P, ctx: TaskContext<F>): R | Promise<R>;
}

/**
 * What `task()` accepts: a {@linkcode TaskDefinition} whose `filterContext`
 * and `runnerOptions` take `Q`, inferred separately from `P` (and checked to
 * accept `P`), so that `P` comes from `run` whatever the property order.
 */
type TaskDefinitionInput<P, R, C extends object, F extends object, Q> =
  & Omit<TaskDefinition<P, R, C, F>, "filterContext" | "runnerOptions">
  & {
    /** Narrows the Lab's context to what this task needs (and what is sent to workers). */
    filterContext?: (params: Q, context: C) => F;
    /** Options for runner backends, per task, keyed by backend name. */
    runnerOptions?: (params: Q) => RunnerOptions;
  };

/**
 * A task type: call it with parameters to make a task. `C` is the Lab
 * context its tasks need: a `Lab<C2>` runs them when `C2` provides `C`.

 * @example
 * ```ts
 * import { task, type TaskType } from "./task.ts";
 * import assert from "node:assert/strict";
 * const double: TaskType<{ x: number }, number> = task({
 *   name: "DocTaskType",
 *   run: (p: { x: number }) => p.x * 2,
 * });
 * assert.equal(double.name, "DocTaskType");
 * assert.equal(String(double({ x: 3 })), "DocTaskType(x=3)");
 * ```
 */
// Defaults are `any` so that any task type or task fits where no type is named.
// deno-lint-ignore no-explicit-any
export interface TaskType<P = any, R = any, in C extends object = any> {
  /** Makes the task for `params` (validated and deeply frozen). */
  (params: P): Task<P, R, C>;
  /** The type's name, part of every cache key. */
  readonly name: string;
  /** The current code version, or null. */
  readonly codeVersion: string | null;
  /** The most tasks of this type that may run at once, or null for no limit. */
  readonly maxParallel: number | null;
  /** The type's cache: undefined means the default `StructuredCache`. */
  readonly cache: Cache | null | undefined;
  /** URL of the module that defines the type, or null when it could not be found. */
  readonly module: string | null;
  /** The definition passed to `task()`. */
  // deno-lint-ignore no-explicit-any
  readonly definition: TaskDefinition<P, R, C, any>;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

let attach: (task: Task, result: TaskResult | null) => void;
let read: (task: Task) => TaskResult | null;
let depsOf: (task: Task) => readonly Task[];
const texts = new WeakMap<Task, string>();

/**
 * One task: a task type applied to one set of parameters (`C`: the Lab
 * context it needs, as on its {@linkcode TaskType}).
 *
 * Make tasks by calling their {@linkcode TaskType}; never construct directly.
 *
 * @example
 * ```ts
 * import { task } from "./task.ts";
 * import assert from "node:assert/strict";
 *
 * const square = task({ name: "DocSquare", run: (p: { x: number }) => p.x * p.x });
 * const t = square({ x: 3 });
 * assert.equal(t.toString(), "DocSquare(x=3)");
 * assert.ok(t.cacheKey.startsWith("DocSquare__"));
 * assert.ok(t.equals(square({ x: 3 })));
 * ```
 */
// deno-lint-ignore no-explicit-any
export class Task<P = any, R = any, in C extends object = any> implements TaskLike {
  /** Brands tasks for parameter handling. */
  declare readonly [TASK_BRAND]: true;
  /** The type this task belongs to. */
  readonly type: TaskType<P, R, C>;
  /** Deeply frozen, normalised parameters. */
  readonly params: Readonly<P>;
  /** `<name>__<sha1 hex>` of the canonical identity. */
  readonly cacheKey: string;
  /** The code version this task was made (or stored) with. */
  readonly codeVersion: string | null;
  #result: TaskResult<R> | null = null;
  // A field, not a WeakMap: a run of 100,000 tasks would make every GC walk 100,000 ephemerons.
  #dependencies: readonly Task[];

  static {
    Object.defineProperty(this.prototype, TASK_BRAND, { value: true });
    attach = (task, result) => {
      task.#result = result;
    };
    read = (task) => task.#result;
    depsOf = (task) => task.#dependencies;
  }

  /** @internal Use the task type instead. */
  constructor(type: TaskType<P, R, C>, params: P, codeVersion: string | null) {
    const normalized = normalizeParams(params, type.name);
    this.type = type;
    this.params = normalized.params;
    this.codeVersion = codeVersion;
    const identity = `{"codeVersion":${JSON.stringify(codeVersion)},"name":${
      JSON.stringify(type.name)
    },"params":${identityText(normalized.params)}}`;
    this.cacheKey = `${type.name}__${hexDigest("sha1", identity)}`;
    this.#dependencies = normalized.dependencies as Task[];
  }

  /**
   * The result once the task has run or been loaded.
   *
   * @throws {TaskError} when no result is available.
   */
  get result(): R {
    const result = this.#result;
    if (result === null) {
      throw new TaskError(
        `Cannot read the result of ${this}: it has not been run or loaded ` +
          `(use lab.runTasks), or it was released after its dependents finished`,
      );
    }
    return result.value;
  }

  /** When the result was produced and how long it took, or null before then. */
  get resultMeta(): ResultMeta | null {
    return this.#result?.meta ?? null;
  }

  /** True when `other` is a task with the same cache key. */
  equals(other: unknown): boolean {
    return other instanceof Task && other.cacheKey === this.cacheKey;
  }

  /** Readable form: `Experiment(base=2, power=3)`. */
  toString(): string {
    // Memoised: a task is immutable, and a deep chain would otherwise rebuild every level.
    let text = texts.get(this);
    if (text === undefined) {
      const params = this.params as Record<string, unknown>;
      const args = Object.keys(params).map((key) => `${key}=${displayText(params[key])}`);
      text = `${this.type.name}(${args.join(", ")})`;
      texts.set(this, text);
    }
    return text;
  }
}

/** Sets (or with null, clears) the in-memory result of a task object. */
export function setTaskResult(task: Task, result: TaskResult | null): void {
  attach(task, result);
}

/** The in-memory result of a task object, or null (also once released). */
export function getTaskResult(task: Task): TaskResult | null {
  const result = read(task);
  return result !== null && RELEASED in result ? null : result;
}

// Marks a result whose value was released; its metadata stays readable.
const RELEASED = Symbol("released");

/** Drops the in-memory result value of a task object, keeping its `resultMeta`. */
export function releaseTaskResult(task: Task): void {
  const result = read(task);
  if (result === null || RELEASED in result) return;
  attach(task, {
    [RELEASED]: true,
    meta: result.meta,
    get value(): never {
      throw new TaskError(
        `Cannot read the result of ${task}: it was released after its dependents finished; ` +
          `pass it to runTasks itself to keep its result`,
      );
    },
  } as TaskResult);
}

/** The distinct tasks nested in a task's parameters. */
export function taskDependencies(task: Task): readonly Task[] {
  return depsOf(task);
}

/**
 * Defines a task type.
 *
 * @param definition The type's name, `run` function and options.
 * @returns A task type: call it with parameters to make tasks.
 * @throws {TaskError} when another type already has this name.
 * @throws {TypeError} when the name, `run` or an option is malformed.
 *
 * @example
 * ```ts
 * import { task } from "./task.ts";
 * import assert from "node:assert/strict";
 *
 * const power = task({
 *   name: "DocPower",
 *   codeVersion: "v1",
 *   run: (p: { base: number; power: number }) => p.base ** p.power,
 * });
 * const t = power({ base: 2, power: 3 });
 * assert.equal(power.name, "DocPower");
 * assert.equal(t.codeVersion, "v1");
 * assert.ok(Object.isFrozen(t.params));
 * ```
 */
export function task<
  P,
  R,
  Q extends P = P,
  F extends object = LabContext,
  C extends object = F,
>(definition: TaskDefinitionInput<P, R, C, F, Q>): TaskType<P, R, C> {
  const { name, codeVersion, maxParallel, module } = definition;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(
      `Cannot define task type as its name must be letters, digits, "_", "." or "-": received ${
        JSON.stringify(name)
      }`,
    );
  }
  if (name.includes("__") || name.endsWith("_")) {
    // Cache keys are `<name>__<hash>`: the first "__" must be the separator.
    throw new TypeError(
      `Cannot define task type "${name}" as its name contains "__" or ends with "_", and "__" ` +
        `separates the name from the hash in cache keys; rename it, such as "${
          name.replace(/_+/g, "_").replace(/_$/, "")
        }"`,
    );
  }
  if (typeof definition.run !== "function") {
    throw new TypeError(`Cannot define task type "${name}" as run must be a function`);
  }
  if (codeVersion !== undefined && typeof codeVersion !== "string") {
    throw new TypeError(`Cannot define task type "${name}" as codeVersion must be a string`);
  }
  for (const option of ["filterContext", "runnerOptions"] as const) {
    if (definition[option] !== undefined && typeof definition[option] !== "function") {
      throw new TypeError(`Cannot define task type "${name}" as ${option} must be a function`);
    }
  }
  if (maxParallel !== undefined && !(Number.isInteger(maxParallel) && maxParallel >= 1)) {
    throw new RangeError(
      `Cannot define task type "${name}" as maxParallel must be a positive integer: received ${maxParallel}`,
    );
  }
  const type = ((params: P) => new Task(type, params, type.codeVersion)) as TaskType<P, R, C>;
  Object.defineProperties(type, {
    name: { value: name },
    codeVersion: { value: codeVersion ?? null, enumerable: true },
    maxParallel: { value: maxParallel ?? null, enumerable: true },
    cache: { value: definition.cache, enumerable: true },
    module: { value: module ?? callerModuleUrl(), enumerable: true },
    definition: { value: definition },
  });
  registerTaskType(type);
  return type;
}

/**
 * Makes a task with a given (possibly stale) code version: used when rebuilding
 * tasks from storage.
 */
export function makeTaskWithVersion<P, R>(
  type: TaskType<P, R>,
  params: P,
  codeVersion: string | null,
): Task<P, R> {
  return new Task(type, params, codeVersion);
}
