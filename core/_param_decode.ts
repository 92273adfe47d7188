/**
 * Parameter walks that read rather than validate: rebuilding parameters from
 * their stored form, and the short display text. Both iterative, like the
 * walks in `params.ts`, so any depth is fine.
 */
import { TaskError } from "./errors.ts";
import { isTaskLike, putOwn, TAG } from "./_param_util.ts";

/** One stored container being rebuilt. */
interface DecodeFrame {
  source: Record<string, unknown> | unknown[];
  keys: string[] | null;
  index: number;
  out: Record<string, unknown> | unknown[];
  slot: string | number;
  /** Set for a stored task: its copy holds only `params`, then the task is made. */
  task?: { name: string; codeVersion: string | null };
}

/**
 * Rebuilds parameters from their stored JSON form. Nested tasks are made by
 * `makeTask`, which looks their type up by name among task types already
 * defined in this process: nothing named in the data is imported or evaluated.
 * Task references (from `refTaskText`) are looked up with `resolveRef`.
 */
export function fromStored(
  json: unknown,
  makeTask: (name: string, codeVersion: string | null, params: unknown) => unknown,
  resolveRef?: (key: string) => unknown,
): unknown {
  const stack: DecodeFrame[] = [];
  const open = (
    source: DecodeFrame["source"],
    slot: string | number,
    extra?: Partial<DecodeFrame>,
  ) => {
    const keys = Array.isArray(source) ? null : Object.keys(source);
    const out = keys === null ? new Array((source as unknown[]).length) : {};
    stack.push({ source, keys, index: 0, out, slot, ...extra });
  };
  // Returns the decoded value, or `stack` after opening a frame for a container.
  const decode = (value: unknown, slot: string | number): unknown => {
    if (typeof value !== "object" || value === null) return value;
    if (Array.isArray(value)) return open(value, slot), stack;
    const record = value as Record<string, unknown>;
    if (!Object.hasOwn(record, TAG)) return open(record, slot), stack;
    switch (record[TAG]) {
      case "bigint":
        return BigInt(record.value as string);
      case "ref":
        if (resolveRef === undefined) {
          throw new TaskError("Cannot read stored parameters: a task reference needs a resolver");
        }
        return resolveRef(record.key as string);
      case "task": {
        const task = {
          name: record.name as string,
          codeVersion: (record.codeVersion as string | null) ?? null,
        };
        stack.push({
          source: { params: record.params },
          keys: ["params"],
          index: 0,
          out: {},
          slot,
          task,
        });
        return stack;
      }
      case "object":
        // The user's own object had a "$labtech" key: decode its fields without tag lookup.
        return open(record.value as Record<string, unknown>, slot), stack;
      default:
        throw new TaskError(`Cannot read stored parameters: unknown tag ${String(record[TAG])}`);
    }
  };
  let result = decode(json, 0);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const count = frame.keys === null ? (frame.source as unknown[]).length : frame.keys.length;
    if (frame.index === count) {
      stack.pop();
      const value = frame.task === undefined ? frame.out : makeTask(
        frame.task.name,
        frame.task.codeVersion,
        (frame.out as Record<string, unknown>).params,
      );
      const parent = stack[stack.length - 1];
      if (parent === undefined) result = value;
      else putOwn(parent.out, frame.slot, value);
      continue;
    }
    const index = frame.index++;
    const slot = frame.keys === null ? index : frame.keys[index]!;
    const value = decode((frame.source as Record<string | number, unknown>)[slot], slot);
    if (value !== stack) putOwn(frame.out, slot, value);
  }
  return result;
}

/** One container being displayed. */
interface DisplayFrame {
  value: object;
  keys: string[] | null;
  index: number;
  close: string;
}

/** Short readable text of a parameter value, for `Task.toString()`. */
export function displayText(root: unknown): string {
  const parts: string[] = [];
  const stack: DisplayFrame[] = [];
  const write = (value: unknown): void => {
    if (typeof value === "bigint") parts.push(`${value}n`);
    else if (typeof value !== "object" || value === null) parts.push(`${JSON.stringify(value)}`);
    else if (isTaskLike(value)) parts.push(String(value));
    else if (Array.isArray(value)) {
      parts.push("[");
      stack.push({ value, keys: null, index: 0, close: "]" });
    } else {
      parts.push("{");
      stack.push({ value, keys: Object.keys(value), index: 0, close: "}" });
    }
  };
  write(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const count = frame.keys === null ? (frame.value as unknown[]).length : frame.keys.length;
    if (frame.index === count) {
      parts.push(frame.close);
      stack.pop();
      continue;
    }
    const index = frame.index++;
    if (index > 0) parts.push(", ");
    if (frame.keys === null) write((frame.value as unknown[])[index]);
    else {
      const key = frame.keys[index]!;
      parts.push(`${key}: `);
      write((frame.value as Record<string, unknown>)[key]);
    }
  }
  return parts.join("");
}
