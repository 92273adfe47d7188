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
  for (const [buffer, whole] of reachableBuffers(value)) {
    if (whole && !keep.has(buffer) && buffer.byteLength > 0) found.add(buffer);
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
  return new Set([...reachableBuffers(value)].map(([buffer]) => buffer));
}

// Each ArrayBuffer in `value` (not SharedArrayBuffers: those are shared, never moved), with
// whether it is reached whole (itself, or a view covering all of it); objects, arrays, Maps and
// Sets are walked without recursion, each once, up to MAX_VISITS of them.
function* reachableBuffers(value: unknown): Generator<[ArrayBuffer, boolean]> {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  let visits = 0;
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    if (++visits > MAX_VISITS) return;
    seen.add(current);
    if (current instanceof ArrayBuffer) yield [current, true];
    else if (ArrayBuffer.isView(current)) {
      const buffer = current.buffer;
      const whole = current.byteOffset === 0 && current.byteLength === buffer.byteLength;
      if (buffer instanceof ArrayBuffer) yield [buffer, whole];
    } else if (current instanceof Map) {
      for (const [k, v] of current) stack.push(k, v);
    } else if (current instanceof Set || Array.isArray(current)) {
      for (const v of current) stack.push(v);
    } else if (Object.getPrototypeOf(current) === Object.prototype) {
      for (const v of Object.values(current)) stack.push(v);
    }
  }
}
