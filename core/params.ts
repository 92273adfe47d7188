/**
 * Task parameters: validation, deep freezing, canonical identity text and the
 * reversible JSON form stored in cache metadata.
 *
 * @module
 */
import { TaskError } from "./errors.ts";

/** Marks objects that are tasks, without importing the Task class (no import cycle). */
export const TASK_BRAND: unique symbol = Symbol.for("labtech.task");

/** The parts of a task that parameter handling needs. */
export interface TaskLike {
  readonly [TASK_BRAND]: true;
  readonly cacheKey: string;
  readonly params: unknown;
  readonly codeVersion: string | null;
  readonly type: { readonly name: string };
}

/** True when `value` is a labtech task. */
export function isTaskLike(value: unknown): value is TaskLike {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[TASK_BRAND] === true;
}

/** Reserved key that tags non-JSON values in identity and stored forms. */
const TAG = "$labtech";

/** The result of validating parameters: a frozen copy and the nested tasks found. */
export interface NormalizedParams<P> {
  params: P;
  dependencies: TaskLike[];
}

/**
 * Validates `params`, returns a deeply frozen copy (with `-0` made `0`) and the
 * distinct tasks nested anywhere inside it.
 *
 * @throws {TaskError} naming the path of the first value that is not allowed.
 */
export function normalizeParams<P>(params: P, taskName: string): NormalizedParams<P> {
  const dependencies: TaskLike[] = [];
  const seenTasks = new Set<TaskLike>();
  const ancestors = new Set<object>();
  const refuse = (path: string, what: string): never => {
    throw new TaskError(
      `Cannot make ${taskName} task as ${path} is ${what}: parameters may only be null, ` +
        `booleans, finite numbers, strings, bigints, arrays, plain objects and tasks`,
    );
  };
  const visit = (value: unknown, path: string): unknown => {
    switch (typeof value) {
      case "string":
      case "boolean":
      case "bigint":
        return value;
      case "number":
        if (!Number.isFinite(value)) return refuse(path, String(value));
        return Object.is(value, -0) ? 0 : value;
      case "undefined":
        return refuse(path, "undefined");
      case "function":
        return refuse(path, "a function");
      case "symbol":
        return refuse(path, "a symbol");
    }
    if (value === null) return null;
    const object = value as object;
    if (isTaskLike(object)) {
      if (!seenTasks.has(object)) {
        seenTasks.add(object);
        dependencies.push(object);
      }
      return object;
    }
    if (ancestors.has(object)) {
      return refuse(path, "a reference to one of its own containers (a cycle)");
    }
    const proto = Object.getPrototypeOf(object);
    if (Object.getOwnPropertySymbols(object).length > 0) {
      return refuse(path, "an object with symbol keys");
    }
    ancestors.add(object);
    let copy: unknown;
    if (Array.isArray(object)) {
      if (proto !== Array.prototype) refuse(path, "an Array subclass");
      const items = new Array(object.length);
      for (let i = 0; i < object.length; i++) {
        if (!(i in object)) refuse(`${path}[${i}]`, "a hole in a sparse array");
        items[i] = visit(object[i], `${path}[${i}]`);
      }
      copy = Object.freeze(items);
    } else if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(object)) {
        out[key] = visit((object as Record<string, unknown>)[key], memberPath(path, key));
      }
      copy = Object.freeze(out);
    } else {
      const kind = (proto?.constructor as { name?: string } | undefined)?.name || "unknown";
      copy = refuse(path, `an instance of ${kind}`);
    }
    ancestors.delete(object);
    return copy;
  };
  if (
    typeof params !== "object" || params === null || Array.isArray(params) || isTaskLike(params)
  ) {
    refuse("params", "not a plain object");
  }
  return { params: visit(params, "params") as P, dependencies };
}

function memberPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Canonical identity text of normalised parameters: sorted keys, tagged
 * bigints, nested tasks by their cache key (a Merkle hash, so identity stays
 * linear in the size of a deep chain of tasks).
 */
export function identityText(value: unknown): string {
  return encode(value, (task) => `{"${TAG}":"task","key":${JSON.stringify(task.cacheKey)}}`);
}

/**
 * Stored JSON text of normalised parameters: like {@linkcode identityText} but
 * nested tasks are written out in full so they can be rebuilt from storage.
 */
export function storedText(value: unknown): string {
  return encode(value, storedTaskText);
}

const storedTaskTexts = new WeakMap<TaskLike, string>();

/** Stored JSON text of a whole task, memoised: a task is immutable. */
export function storedTaskText(task: TaskLike): string {
  let text = storedTaskTexts.get(task);
  if (text === undefined) {
    text = `{"${TAG}":"task","name":${JSON.stringify(task.type.name)},"codeVersion":${
      JSON.stringify(task.codeVersion)
    },"params":${storedText(task.params)}}`;
    storedTaskTexts.set(task, text);
  }
  return text;
}

/**
 * Like {@linkcode storedTaskText}, but nested tasks are references by cache key
 * (`{"$labtech":"ref","key":...}`): for a receiver that already holds them, so
 * sending a deep chain costs one level per task.
 */
export function refTaskText(task: TaskLike): string {
  return `{"${TAG}":"task","name":${JSON.stringify(task.type.name)},"codeVersion":${
    JSON.stringify(task.codeVersion)
  },"params":${
    encode(task.params, (nested) => `{"${TAG}":"ref","key":${JSON.stringify(nested.cacheKey)}}`)
  }}`;
}

function encode(value: unknown, taskText: (task: TaskLike) => string): string {
  switch (typeof value) {
    case "bigint":
      return `{"${TAG}":"bigint","value":"${value.toString()}"}`;
    case "object":
      break;
    default:
      return JSON.stringify(value);
  }
  if (value === null) return "null";
  if (isTaskLike(value)) return taskText(value);
  if (Array.isArray(value)) return `[${value.map((item) => encode(item, taskText)).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const body = `{${
    keys.map((k) => `${JSON.stringify(k)}:${encode(record[k], taskText)}`).join(",")
  }}`;
  return TAG in record ? `{"${TAG}":"object","value":${body}}` : body;
}

/**
 * Rebuilds parameters from their stored JSON form. Nested tasks are made by
 * `makeTask`, which looks their type up by name among task types already
 * defined in this process: nothing named in the data is imported or evaluated.
 * Task references (from {@linkcode refTaskText}) are looked up with `resolveRef`.
 */
export function fromStored(
  json: unknown,
  makeTask: (name: string, codeVersion: string | null, params: unknown) => unknown,
  resolveRef?: (key: string) => unknown,
): unknown {
  if (Array.isArray(json)) return json.map((item) => fromStored(item, makeTask, resolveRef));
  if (typeof json !== "object" || json === null) return json;
  const record = json as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (TAG in record) {
    switch (record[TAG]) {
      case "bigint":
        return BigInt(record.value as string);
      case "task":
        return makeTask(
          record.name as string,
          (record.codeVersion as string | null) ?? null,
          fromStored(record.params, makeTask, resolveRef),
        );
      case "ref":
        if (resolveRef === undefined) {
          throw new TaskError("Cannot read stored parameters: a task reference needs a resolver");
        }
        return resolveRef(record.key as string);
      case "object": {
        // The user's own object had a "$labtech" key: decode its fields without tag lookup.
        const inner = record.value as Record<string, unknown>;
        for (const key of Object.keys(inner)) {
          out[key] = fromStored(inner[key], makeTask, resolveRef);
        }
        return out;
      }
      default:
        throw new TaskError(`Cannot read stored parameters: unknown tag ${String(record[TAG])}`);
    }
  }
  for (const key of Object.keys(record)) out[key] = fromStored(record[key], makeTask, resolveRef);
  return out;
}

/** Short readable text of a parameter value, for `Task.toString()`. */
export function displayText(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  if (isTaskLike(value)) return String(value);
  if (Array.isArray(value)) return `[${value.map(displayText).join(", ")}]`;
  const entries = Object.entries(value).map(([k, v]) => `${k}: ${displayText(v)}`);
  return `{${entries.join(", ")}}`;
}
