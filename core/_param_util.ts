/** Small shared pieces of parameter handling: the task brand, key paths, own-key writes. */

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
export const TAG = "$labtech";

/** `path.key`, `path["odd key"]` or `path[3]`. */
export function ownKeyPath(path: string, slot: string | number): string {
  if (typeof slot === "number") return `${path}[${slot}]`;
  return /^[A-Za-z_$][\w$]*$/.test(slot) ? `${path}.${slot}` : `${path}[${JSON.stringify(slot)}]`;
}

/**
 * Sets `out[slot]` as an own data property. Plain assignment would call a
 * setter inherited from `Object.prototype` instead: `__proto__` would change
 * the copy's prototype (Node, Bun) rather than add the key (Deno, which has
 * no such setter), and the key would vanish from identity.
 */
export function putOwn(
  out: unknown[] | Record<string, unknown>,
  slot: string | number,
  value: unknown,
): void {
  if (typeof slot === "string" && slot in Object.prototype) {
    Object.defineProperty(out, slot, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else (out as Record<string | number, unknown>)[slot] = value;
}

/** What a value is, for messages: `undefined`, `a number (3)`, `an array`, `a TypeError: boom`. */
export function receivedText(value: unknown): string {
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "number":
    case "bigint":
    case "boolean":
      return `a ${typeof value} (${String(value)})`;
    case "string":
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)})`;
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
  }
  if (value === null) return "null";
  try {
    if (isTaskLike(value)) return `a task (${String(value)})`;
    if (Array.isArray(value)) return "an array";
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    const name = (Object.getPrototypeOf(value)?.constructor as { name?: string } | undefined)?.name;
    return name ? `an instance of ${name}` : "an object";
  } catch {
    return "an object that cannot be inspected (a revoked proxy?)";
  }
}
