/**
 * Checks a result before it leaves a worker: structured clone copies class
 * instances as plain objects, so a value whose class would be lost must fail
 * its task rather than arrive changed.
 *
 * @module
 */
import { RunnerError } from "../core/errors.ts";

// Classes whose instances structured clone rebuilds as themselves, beside the
// built-in typed arrays (whose constructors extend TypedArray directly).
const KEPT: ReadonlySet<unknown> = new Set([
  Object,
  Array,
  Map,
  Set,
  Date,
  RegExp,
  ArrayBuffer,
  SharedArrayBuffer,
  DataView,
  Error,
  TypeError,
  RangeError,
]);
const TypedArray = Object.getPrototypeOf(Uint8Array);

/**
 * Throws unless every object in `value` is of a class structured clone keeps.
 *
 * @param value The result a worker is about to send.
 * @param taskName The task's name, for the message.
 * @throws {RunnerError} naming the path of the first instance that would lose its class.
 */
export function checkResultCrossing(value: unknown, taskName: string): void {
  const seen = new Set<object>();
  const stack: Array<[unknown, string]> = [[value, "result"]];
  while (stack.length > 0) {
    const [item, path] = stack.pop()!;
    if (typeof item !== "object" || item === null || seen.has(item)) continue;
    seen.add(item);
    const proto = Object.getPrototypeOf(item);
    const ctor = proto === null ? Object : proto.constructor;
    if (!KEPT.has(ctor) && Object.getPrototypeOf(ctor ?? Object) !== TypedArray) {
      throw new RunnerError(
        `Cannot send the result of ${taskName} back from its worker: ${path} is an instance ` +
          `of ${ctor?.name || "an unknown class"}, which would arrive as a plain object ` +
          `without its class; return plain data (objects, arrays, Map, Set, Date, typed ` +
          `arrays) and rebuild the instance where it is used, or run this task type on the ` +
          `serial or async backend`,
      );
    }
    // Only objects can lose a class: primitives are not walked (a large array of numbers is cheap).
    const entries: Iterable<[unknown, unknown]> = ctor === Array || ctor === Object
      ? Object.entries(item)
      : ctor === Map
      ? item as Map<unknown, unknown>
      : ctor === Set
      ? [...(item as Set<unknown>)].entries()
      : [];
    for (const [key, entry] of entries) {
      if (typeof entry === "object" && entry !== null) {
        stack.push([entry, ctor === Object ? `${path}.${key}` : `${path}[${String(key)}]`]);
      }
    }
  }
}
