/** Finds the module that defines a task type, from the current stack. */
import { pathToFileURL } from "node:url";

const coreDir = new URL(".", import.meta.url).href;

/** One stack frame: its file (a URL or path), and whether it belongs to a named function. */
interface Frame {
  file: string;
  named: boolean;
}

/**
 * URL of the module whose code is defining a task type: the innermost frame
 * outside labtech's `core/` folder that is a module's top level (or another
 * nameless function such as a callback), else the innermost frame outside
 * `core/`; null when the stack has no file frames (an eval, a REPL).
 *
 * Why not simply the caller of `task()`: JavaScriptCore (Bun) does proper tail
 * calls, so a helper that ends with `return task({...})` leaves no frame, and
 * "the caller" would be the helper's module on Node and Deno but its caller's
 * module on Bun. A module's top level is never a tail call, and it is also
 * the module a worker must import to define the type again.
 */
export function callerModuleUrl(): string | null {
  let fallback: string | null = null;
  for (const frame of stackFrames()) {
    const url = fileUrl(frame.file);
    if (url === null || url.startsWith(coreDir)) continue;
    if (!frame.named) return url;
    fallback ??= url;
  }
  return fallback;
}

/** The current stack's frames, innermost first, from V8/JSC call sites or, failing that, text. */
function stackFrames(): Frame[] {
  const ErrorClass = Error as ErrorConstructor & {
    prepareStackTrace?: (error: Error, sites: CallSite[]) => unknown;
    stackTraceLimit: number;
  };
  const { prepareStackTrace, stackTraceLimit } = ErrorClass;
  const holder: { stack?: unknown } = {};
  try {
    ErrorClass.stackTraceLimit = 200;
    ErrorClass.prepareStackTrace = (_error, sites) =>
      sites.map((site) => ({ file: site.getFileName() ?? "", named: !!site.getFunctionName() }));
    Error.captureStackTrace(holder);
    // V8 formats lazily, on first read: read while our formatter is installed.
    const frames = holder.stack;
    if (Array.isArray(frames)) return frames as Frame[];
  } catch {
    // A locked-down Error: read the text form below.
  } finally {
    restore(ErrorClass, "prepareStackTrace", prepareStackTrace);
    restore(ErrorClass, "stackTraceLimit", stackTraceLimit);
  }
  return textFrames(String(new Error().stack ?? ""));
}

function restore(target: object, key: string, value: unknown): void {
  try {
    if ((target as Record<string, unknown>)[key] !== value) {
      (target as Record<string, unknown>)[key] = value;
    }
  } catch {
    // Not writable: it was never changed.
  }
}

/** The parts of a V8-style call site used here. */
interface CallSite {
  getFileName(): string | null | undefined;
  getFunctionName(): string | null | undefined;
}

// V8 (Node, Deno) and Bun write `at fn (LOCATION:line:col)` or `at LOCATION:line:col`.
const FRAME = /^at (?:async )?(?:(.*?) \()?(.+?):\d+:\d+\)?$/;

function textFrames(stack: string): Frame[] {
  const frames: Frame[] = [];
  for (const line of stack.split("\n").slice(1)) {
    const match = FRAME.exec(line.trim());
    // `Type.<anonymous>` is V8's text for a nameless function called on a receiver.
    if (match !== null) {
      frames.push({ file: match[2]!, named: !!match[1] && !match[1].endsWith("<anonymous>") });
    }
  }
  return frames;
}

function fileUrl(location: string): string | null {
  if (location.startsWith("async ")) location = location.slice(6);
  if (/^(file|https?):/.test(location)) return location;
  if (location.startsWith("/") || /^[A-Za-z]:[\\/]/.test(location)) {
    return pathToFileURL(location).href;
  }
  return null;
}
