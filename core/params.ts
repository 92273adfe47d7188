/**
 * Task parameters: validation, deep freezing, canonical identity text and the
 * reversible JSON form stored in cache metadata.
 *
 * Every walk here is iterative (an explicit stack), so parameters nest to any
 * depth without overflowing the call stack, and every copy defines keys as own
 * properties, so a key such as `"__proto__"` is data like any other.
 *
 * @module
 */
import { TaskError } from "./errors.ts";
import { isTaskLike, ownKeyPath, putOwn, receivedText, TAG, type TaskLike } from "./_param_util.ts";

export { isTaskLike, TASK_BRAND, type TaskLike } from "./_param_util.ts";
export { displayText, fromStored } from "./_param_decode.ts";

/** The result of validating parameters: a frozen copy and the nested tasks found. */
export interface NormalizedParams<P> {
  params: P;
  dependencies: TaskLike[];
}

const ALLOWED = "parameters may only be null, booleans, finite numbers, strings, bigints, " +
  "arrays, plain objects and tasks";
const HIDDEN = "identity covers only enumerable own properties and array items, " +
  "so make it a plain property of a plain object or remove it";

/** One container being copied: its source, the keys left to visit and its copy. */
interface CopyFrame {
  source: object;
  /** Own enumerable keys of a plain object, or null for an array. */
  keys: string[] | null;
  count: number;
  index: number;
  out: unknown[] | Record<string, unknown>;
  /** Where the copy goes in the parent frame's copy. */
  slot: string | number;
}

/** Marks a container whose copy is still being built on the stack. */
const OPEN: unique symbol = Symbol("open");

/**
 * Validates `params`, returns a deeply frozen copy (with `-0` made `0`) and the
 * distinct tasks nested anywhere inside it.
 *
 * @throws {TaskError} naming the path of the first value that is not allowed,
 * or of a getter or proxy that threw while being read.
 */
export function normalizeParams<P>(params: P, taskName: string): NormalizedParams<P> {
  const dependencies: TaskLike[] = [];
  const seenTasks = new Set<TaskLike>();
  const ancestors = new Set<object>();
  const stack: CopyFrame[] = [];
  let refusal: TaskError | undefined;
  // Paths are built only when something is refused: a deep walk never pays for them.
  const pathTo = (slot?: string | number): string => {
    let path = "params";
    for (let i = 1; i < stack.length; i++) path = ownKeyPath(path, stack[i]!.slot);
    return slot === undefined ? path : ownKeyPath(path, slot);
  };
  const refuse = (slot: string | number | undefined, what: string, fix = ALLOWED): never => {
    refusal = new TaskError(`Cannot make ${taskName} task as ${pathTo(slot)} is ${what}: ${fix}`);
    throw refusal;
  };
  const rethrow = (error: unknown, slot: string | number | undefined): never => {
    if (error === refusal) throw error;
    throw new TaskError(
      `Cannot make ${taskName} task as reading ${pathTo(slot)} threw ${receivedText(error)}: ` +
        `parameters must be plain data (no getters that throw, no revoked proxies)`,
      { cause: error },
    );
  };

  // Returns the normalised value, or OPEN after pushing a frame for a container.
  const convert = (value: unknown, slot: string | number | undefined): unknown => {
    switch (typeof value) {
      case "string":
      case "boolean":
      case "bigint":
        return value;
      case "number":
        if (!Number.isFinite(value)) return refuse(slot, String(value));
        return Object.is(value, -0) ? 0 : value;
      case "undefined":
        return refuse(slot, "undefined");
      case "function":
        return refuse(slot, "a function");
      case "symbol":
        return refuse(slot, "a symbol");
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
      return refuse(slot, "a reference to one of its own containers (a cycle)");
    }
    const proto = Object.getPrototypeOf(object);
    if (Object.getOwnPropertySymbols(object).length > 0) {
      return refuse(slot, "an object with symbol keys");
    }
    const names = Object.getOwnPropertyNames(object);
    let frame: CopyFrame;
    if (Array.isArray(object)) {
      if (proto !== Array.prototype) refuse(slot, "an Array subclass");
      const count = object.length;
      if (names.length !== count + 1) {
        const extra = names.find((name) => name !== "length" && !isIndex(name, count));
        if (extra !== undefined) {
          stack.push({ source: object, keys: null, count, index: 0, out: [], slot: slot ?? "" });
          refuse(extra, "an extra property of an array", HIDDEN);
        }
      }
      frame = {
        source: object,
        keys: null,
        count,
        index: 0,
        out: new Array(count),
        slot: slot ?? "",
      };
    } else if (proto === Object.prototype || proto === null) {
      const keys = Object.keys(object);
      if (names.length !== keys.length) {
        const hidden = names.find((name) =>
          !Object.prototype.propertyIsEnumerable.call(object, name)
        )!;
        stack.push({ source: object, keys, count: 0, index: 0, out: {}, slot: slot ?? "" });
        refuse(hidden, "a non-enumerable property", HIDDEN);
      }
      frame = { source: object, keys, count: keys.length, index: 0, out: {}, slot: slot ?? "" };
    } else {
      const kind = (proto?.constructor as { name?: string } | undefined)?.name || "unknown";
      return refuse(slot, `an instance of ${kind}`);
    }
    ancestors.add(object);
    stack.push(frame);
    return OPEN;
  };

  let root: unknown;
  try {
    if (
      typeof params !== "object" || params === null || Array.isArray(params) ||
      isTaskLike(params)
    ) {
      refuse(
        undefined,
        `not a plain object (received ${receivedText(params)})`,
        `call the task type with an object of parameters, such as ${taskName}({})`,
      );
    }
    root = convert(params, undefined);
  } catch (error) {
    rethrow(error, undefined);
  }
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.index === frame.count) {
      stack.pop();
      ancestors.delete(frame.source);
      Object.freeze(frame.out);
      const parent = stack[stack.length - 1];
      if (parent === undefined) root = frame.out;
      else putOwn(parent.out, frame.slot, frame.out);
      continue;
    }
    const index = frame.index++;
    const slot = frame.keys === null ? index : frame.keys[index]!;
    try {
      if (frame.keys === null && !(index in frame.source)) refuse(slot, "a hole in a sparse array");
      const value = convert((frame.source as Record<string | number, unknown>)[slot], slot);
      if (value !== OPEN) putOwn(frame.out, slot, value);
    } catch (error) {
      // A refusal from a child frame pushed above has its own path already.
      while (stack[stack.length - 1] !== frame) stack.pop();
      rethrow(error, slot);
    }
  }
  return { params: root as P, dependencies };
}

function isIndex(name: string, length: number): boolean {
  const n = Number(name);
  return Number.isInteger(n) && n >= 0 && n < length && String(n) === name;
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

/** One container being written: its items or sorted keys and how far we are. */
interface EncodeFrame {
  value: object;
  keys: string[] | null;
  count: number;
  index: number;
  close: string;
}

function encode(root: unknown, taskText: (task: TaskLike) => string): string {
  // Appending to one string (a rope in V8 and JavaScriptCore) beats joining parts.
  let text = "";
  const stack: EncodeFrame[] = [];
  const write = (value: unknown): void => {
    switch (typeof value) {
      case "bigint":
        text += `{"${TAG}":"bigint","value":"${value.toString()}"}`;
        return;
      case "object":
        break;
      default:
        text += `${JSON.stringify(value)}`;
        return;
    }
    if (value === null) text += "null";
    else if (isTaskLike(value)) text += taskText(value);
    else if (Array.isArray(value)) {
      text += "[";
      stack.push({ value, keys: null, count: value.length, index: 0, close: "]" });
    } else {
      const keys = Object.keys(value).sort();
      // The user's own "$labtech" key is wrapped so it cannot pass for a tag.
      const tagged = Object.hasOwn(value, TAG);
      text += tagged ? `{"${TAG}":"object","value":{` : "{";
      stack.push({ value, keys, count: keys.length, index: 0, close: tagged ? "}}" : "}" });
    }
  };
  write(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.index === frame.count) {
      text += frame.close;
      stack.pop();
      continue;
    }
    const index = frame.index++;
    if (index > 0) text += ",";
    if (frame.keys === null) write((frame.value as unknown[])[index]);
    else {
      const key = frame.keys[index]!;
      text += `${JSON.stringify(key)}:`;
      write((frame.value as Record<string, unknown>)[key]);
    }
  }
  return text;
}
