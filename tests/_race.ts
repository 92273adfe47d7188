/** Two Labs in two real processes of this runtime, racing on the same tasks and storage. */
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { detectRuntime } from "../mod.ts";

const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** Runs a fixture of tests/fixtures/storage/ with this runtime; resolves to its stdout. */
export function runFixture(
  name: string,
  args: string[],
  onReady?: (child: ReturnType<typeof spawn>) => void,
  errors?: string[],
): Promise<string> {
  const script = fileURLToPath(new URL(`./fixtures/storage/${name}${ext}`, import.meta.url));
  const prefix = detectRuntime() === "deno" ? ["run", "-A", script] : [script];
  const child = spawn(process.execPath, [...prefix, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => {
    stdout += chunk;
    if (onReady !== undefined && stdout.includes("ready\n")) {
      const ready = onReady;
      onReady = undefined;
      ready(child);
    }
  });
  child.stderr!.on("data", (chunk) => stderr += chunk);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) {
        if (stderr !== "") errors?.push(stderr);
        resolve(stdout);
      } else reject(new Error(`${name} exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

/**
 * Starts fixtures that each print "ready", fires them all at once when all are
 * ready, and returns how many operations failed in each (its last line).
 */
export async function inStep(runs: [name: string, args: string[]][]): Promise<number[]> {
  const waiting: ReturnType<typeof spawn>[] = [];
  const fire = (child: ReturnType<typeof spawn>) => {
    waiting.push(child);
    if (waiting.length === runs.length) { for (const c of waiting) c.stdin!.end("go\n"); }
  };
  const errors: string[] = [];
  const outputs = await Promise.all(
    runs.map(([name, args]) => runFixture(name, args, fire, errors)),
  );
  const failed = outputs.map((out) => JSON.parse(out.trim().split("\n").at(-1)!).failed as number);
  // A fixture that failed says why on stderr: show it beside the counts.
  if (failed.some((count) => count !== 0)) {
    console.error(
      `in step: failed ${JSON.stringify(failed)}:\n${errors.join("\n").slice(0, 4000)}`,
    );
  }
  return failed;
}

/** Two Labs racing on the same `n` tasks; how many tasks failed in each. */
export function race(kind: "local" | "lmdb", path: string, n: number): Promise<number[]> {
  const args = [kind, path, String(n)];
  return inStep([["race", args], ["race", args]]);
}
