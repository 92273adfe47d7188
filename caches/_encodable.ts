/** Checks a result before encoding, so a cache never silently drops or changes a value. */
import { CacheError } from "../core/errors.ts";

/** Which values a format holds beyond plain JSON. */
export type Format = "structured" | "json";

/** The typed-array types, in msgpackr's order (its typed-array extension stores the index). */
export const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;
const TYPED_ARRAY_TYPES: ReadonlySet<unknown> = new Set(TYPED_ARRAYS);

/**
 * Throws a CacheError naming the path of the first value in `value` that the
 * format cannot round-trip.
 */
export function checkEncodable(value: unknown, format: Format, task: { toString(): string }): void {
  const ancestors = new Set<object>();
  const refuse = (path: string, what: string): never => {
    throw new CacheError(
      `Cannot cache the result of ${task} as ${path} is ${what}, which the ${format} ` +
        `cache cannot store: return ${
          format === "json" ? "JSON values, or use StructuredCache" : "structured-cloneable data"
        }, or set cache: null on the task type`,
    );
  };
  const visit = (item: unknown, path: string): void => {
    switch (typeof item) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (format === "json" && !Number.isFinite(item)) refuse(path, String(item));
        return;
      case "undefined":
        if (format === "json") refuse(path, "undefined");
        return;
      case "bigint":
        if (format === "json") refuse(path, "a bigint");
        return;
      case "function":
        return refuse(path, "a function");
      case "symbol":
        return refuse(path, "a symbol");
    }
    if (item === null) return;
    const object = item as object;
    if (ancestors.has(object)) refuse(path, "a cycle");
    const proto = Object.getPrototypeOf(object);
    const ctor = proto?.constructor;
    if (format === "structured") {
      if (TYPED_ARRAY_TYPES.has(ctor) || ctor === ArrayBuffer || ctor === Date || ctor === RegExp) {
        return;
      }
    }
    ancestors.add(object);
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) visit(object[i], `${path}[${i}]`);
    } else if (proto === Object.prototype || proto === null) {
      for (const key of Object.keys(object)) {
        visit((object as Record<string, unknown>)[key], `${path}.${key}`);
      }
    } else if (format === "structured" && ctor === Map) {
      for (const [key, entry] of object as Map<unknown, unknown>) {
        visit(key, `${path}<key>`);
        visit(entry, `${path}.get(${String(key)})`);
      }
    } else if (format === "structured" && ctor === Set) {
      let i = 0;
      for (const entry of object as Set<unknown>) visit(entry, `${path}<item ${i++}>`);
    } else {
      refuse(path, `an instance of ${(ctor as { name?: string } | undefined)?.name || "unknown"}`);
    }
    ancestors.delete(object);
  };
  visit(value, "result");
}
