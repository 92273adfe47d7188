/**
 * Which `ArrayBuffer`s of a result a worker thread can hand over instead of
 * copying: a worker no longer needs a result once it is cached, so each
 * buffer found in it (typed arrays, DataViews, plain ArrayBuffers, at any
 * depth in objects, arrays, Maps and Sets) moves in the `postMessage`
 * transfer list. A view that covers only part of its buffer (a Node Buffer
 * cut from the shared pool) is copied as before: moving it would move
 * whatever else lives in that buffer.
 *
 * @module
 */

/** Values looked at before giving up: beyond that a result is copied, not walked. */
const MAX_VISITS = 10_000;

/**
 * The buffers of `value` that can be transferred, each once.
 *
 * @param value A task's result.
 * @param keep Buffers the worker still needs (its context's): never listed.
 * @returns The buffers to list in `postMessage`'s transfer list.
 * @example
 * ```ts
 * import { transferablesOf } from "./_transfer.ts";
 * import assert from "node:assert/strict";
 * const whole = new Float64Array(4);
 * const part = new Uint8Array(new ArrayBuffer(16), 8, 4);
 * const found = transferablesOf({ whole, nested: new Map([["k", [whole, part]]]) });
 * assert.deepEqual(found, [whole.buffer]);
 * ```
 */
export function transferablesOf(
  value: unknown,
  keep: ReadonlySet<ArrayBuffer> = new Set(),
): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  let visits = 0;
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    if (++visits > MAX_VISITS) return [...found];
    seen.add(current);
    if (current instanceof ArrayBuffer) {
      if (!keep.has(current) && current.byteLength > 0) found.add(current);
    } else if (ArrayBuffer.isView(current)) {
      const buffer = current.buffer;
      const whole = current.byteOffset === 0 && current.byteLength === buffer.byteLength;
      if (whole && buffer instanceof ArrayBuffer) stack.push(buffer);
    } else if (current instanceof Map) {
      for (const [k, v] of current) stack.push(k, v);
    } else if (current instanceof Set || Array.isArray(current)) {
      for (const v of current) stack.push(v);
    } else if (Object.getPrototypeOf(current) === Object.prototype) {
      for (const v of Object.values(current)) stack.push(v);
    }
  }
  return [...found];
}

/**
 * Every ArrayBuffer reachable in `value` (whole or in part), for `keep`.
 *
 * @param value The worker's context.
 * @returns The buffers.
 * @example
 * ```ts
 * import { buffersIn } from "./_transfer.ts";
 * import assert from "node:assert/strict";
 * const data = new Uint8Array(new ArrayBuffer(16), 8, 4);
 * assert.ok(buffersIn({ data }).has(data.buffer as ArrayBuffer));
 * ```
 */
export function buffersIn(value: unknown): Set<ArrayBuffer> {
  const out = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  let visits = 0;
  while (stack.length > 0 && visits++ < MAX_VISITS) {
    const current = stack.pop();
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    seen.add(current);
    if (current instanceof ArrayBuffer) out.add(current);
    else if (ArrayBuffer.isView(current)) {
      if (current.buffer instanceof ArrayBuffer) out.add(current.buffer);
    } else if (current instanceof Map) {
      for (const [k, v] of current) stack.push(k, v);
    } else if (current instanceof Set || Array.isArray(current)) {
      for (const v of current) stack.push(v);
    } else if (Object.getPrototypeOf(current) === Object.prototype) {
      for (const v of Object.values(current)) stack.push(v);
    }
  }
  return out;
}
