/** Shared test helpers: temporary directories and log capture. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type LogRecord, setLogSink } from "../mod.ts";

/**
 * The repository root: LABTECH_REPO_ROOT, else the nearest directory above
 * this file (in tests/ or npm/esm/tests/) holding deno.json.
 */
export function repoRoot(): string {
  const fromEnv = process.env.LABTECH_REPO_ROOT;
  if (fromEnv) return fromEnv;
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here;; dir = dirname(dir)) {
    if (existsSync(join(dir, "deno.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`Cannot find deno.json above ${here}`);
  }
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "labtech-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `fn` with every log line collected instead of printed. */
export async function captureLogs<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; logs: LogRecord[] }> {
  const logs: LogRecord[] = [];
  const previous = setLogSink((record) => logs.push(record));
  try {
    return { value: await fn(), logs };
  } finally {
    setLogSink(previous);
  }
}

/** Like captureLogs, for a call expected to reject: returns the error and the logs. */
export async function captureFailure(
  fn: () => Promise<unknown>,
): Promise<{ error: Error; logs: LogRecord[] }> {
  const { value, logs } = await captureLogs(async () => {
    try {
      await fn();
    } catch (error) {
      return error as Error;
    }
    throw new Error("Expected the call to reject, but it resolved");
  });
  return { error: value, logs };
}
