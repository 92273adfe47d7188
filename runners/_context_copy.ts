/**
 * Checks, before any worker starts, that the context a pool must copy to its
 * workers can be copied: a value structured clone refuses (a function, a
 * symbol, a stream) would otherwise fail inside a message channel.
 *
 * @module
 */
import { LabError, RunnerError } from "../core/errors.ts";
import type { LabContext } from "../core/task.ts";

/**
 * Throws unless the whole context a backend copies to every worker (thread,
 * fork) can be structured-cloned.
 *
 * @param context The Lab's context.
 * @param backend The backend's name, for the message.
 * @throws {LabError} naming the first key path that cannot be copied, and the fixes.
 */
export function checkContextCopyable(context: LabContext, backend: string): void {
  const refused = refusal(context);
  if (refused === null) return;
  throw new LabError(
    `Cannot run tasks on the ${backend} backend: ${refused.path} cannot be copied to its ` +
      `workers (${refused.error.message}), and ${backend} copies the whole context to every ` +
      `worker, whatever filterContext keeps; remove it from the Lab's context, use the ` +
      `spawn backend (which sends each task only what its filterContext returns), or share ` +
      `data through a SharedArrayBuffer`,
    { cause: refused.error },
  );
}

/**
 * Throws unless the filtered context sent with one task (spawn) can be
 * structured-cloned.
 *
 * @param context What the task's filterContext returned.
 * @param taskName The task's name, for the message.
 * @throws {RunnerError} naming the first key path that cannot be copied, and the fix.
 */
export function checkTaskContextCopyable(context: LabContext, taskName: string): void {
  const refused = refusal(context);
  if (refused === null) return;
  throw new RunnerError(
    `Cannot send ${taskName} to its worker process: ${refused.path} in its filtered context ` +
      `cannot be copied (${refused.error.message}); have its type's filterContext return ` +
      `only data that structured clone copies (no functions, symbols or handles)`,
    { cause: refused.error },
  );
}

function refusal(context: LabContext): { path: string; error: Error } | null {
  try {
    if (onlyPrimitives(context)) return null; // the usual filtered context: no clone to try
    structuredClone(context);
    return null;
  } catch (error) {
    return { path: uncloneablePath(context, "context") ?? "context", error: error as Error };
  }
}

// True for a plain object whose values are all primitives structured clone copies.
function onlyPrimitives(context: LabContext): boolean {
  if (Object.getPrototypeOf(context) !== Object.prototype) return false;
  for (const key in context) {
    const value = context[key];
    const type = typeof value;
    if (type === "function" || type === "symbol" || (type === "object" && value !== null)) {
      return false;
    }
  }
  return true;
}

// The deepest path to a value that cannot be cloned, walking plain containers.
function uncloneablePath(root: unknown, rootPath: string): string | null {
  const seen = new Set<object>();
  const stack: Array<[unknown, string]> = [[root, rootPath]];
  let found: string | null = null;
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === "function" || typeof value === "symbol") return path;
    if (typeof value !== "object" || value === null || seen.has(value)) continue;
    seen.add(value);
    try {
      structuredClone(value);
      continue;
    } catch {
      found = path; // refused: look for the part inside that is refused
    }
    const children: Array<[unknown, string]> = value instanceof Map
      ? [...value].map(([key, item]) => [item, `${path}.get(${JSON.stringify(key)})`])
      : Object.entries(value).map(([key, item]) => [item, `${path}.${key}`]);
    for (const child of children.reverse()) stack.push(child);
  }
  return found;
}
