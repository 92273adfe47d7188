/** Finds the module that called into labtech, from the current stack. */
import { pathToFileURL } from "node:url";

const coreDir = new URL(".", import.meta.url).href;

/**
 * URL of the first module on the stack outside labtech's `core/` folder, or
 * null when the stack has no file frames (an eval, a REPL).
 */
export function callerModuleUrl(): string | null {
  const stack = new Error().stack ?? "";
  for (const line of stack.split("\n").slice(1)) {
    const url = frameUrl(line.trim());
    if (url !== null && !url.startsWith(coreDir)) return url;
  }
  return null;
}

// V8 (Node, Deno) and Bun write `at fn (LOCATION:line:col)` or `at LOCATION:line:col`.
const FRAME = /^at (?:.*? \()?(.+?):\d+:\d+\)?$/;

function frameUrl(line: string): string | null {
  const match = FRAME.exec(line);
  let location = match?.[1];
  if (location === undefined) return null;
  if (location.startsWith("async ")) location = location.slice(6);
  if (/^(file|https?):/.test(location)) return location;
  if (location.startsWith("/") || /^[A-Za-z]:[\\/]/.test(location)) {
    return pathToFileURL(location).href;
  }
  return null;
}
