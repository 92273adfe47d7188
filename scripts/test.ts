/**
 * The whole test suite, as `npm test` and CI run it:
 *
 *   layers -> lint -> fmt -> check -> publish (dry run) -> build -> deno -> bun -> node
 *
 * Static checks: `deno lint`, `deno fmt --check`, `deno check --doc` (code and
 * JSDoc examples, once: the test step then runs with `--no-check`), `deno publish
 * --dry-run`, then the npm build (tsc against Node 20's library). Then the
 * test files under `tests/` on each runtime: `deno test -A --doc` (JSDoc
 * examples too), `bun test --isolate`, and `node --test` over the compiled
 * tests in `npm/esm/tests/`. Stops at the first failing step unless
 * `--keep-going`. Ends with one plain line, `N passed, N failed` (every
 * test counted on each runtime, each static check counted as one).
 *
 * Usage: `deno run -A scripts/test.ts [--keep-going] [--no-static] [FILTER]`
 *
 * - `FILTER`: only tests whose name contains it (deno `--filter`, bun `-t`,
 *   node `--test-name-pattern`); implies `--no-static`.
 * - `LABTECH_TEST_RUNTIMES=deno,bun,node`: the runtimes to test on (default all).
 * - `LABTECH_TEST_STEP_TIMEOUT`: seconds before a step is killed (default 900).
 *
 * Every child process gets `node_modules/.bin` first on PATH (so tests that
 * spawn `deno` or `bun` find them), `LABTECH_REPO_ROOT`, `LABTECH_NPM_DIR`
 * (the fresh build) and, for the test steps, `LABTECH_EXPECT_RUNTIME`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { delimiter, join, relative } from "node:path";
import process from "node:process";
import { ROOT } from "./build.ts";

type Runtime = "deno" | "bun" | "node";
const RUNTIMES: Runtime[] = ["deno", "bun", "node"];

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

interface StepResult {
  name: string;
  ok: boolean;
  seconds: number;
  counts: Counts | null;
  note: string;
}

const args = process.argv.slice(2);
const keepGoing = args.includes("--keep-going");
const filter = args.find((arg) => !arg.startsWith("--"));
const runStatic = !args.includes("--no-static") && filter === undefined;
const stepTimeoutMs = Number(process.env.LABTECH_TEST_STEP_TIMEOUT ?? 900) * 1000;

const requested = (process.env.LABTECH_TEST_RUNTIMES ?? RUNTIMES.join(","))
  .split(",").map((name) => name.trim()).filter((name) => name !== "");
const unknownRuntimes = requested.filter((name) => !RUNTIMES.includes(name as Runtime));
const runtimes = RUNTIMES.filter((name) => requested.includes(name));

const BIN = join(ROOT, "node_modules", ".bin");
const NPM_DIR = join(ROOT, "npm");
const baseEnv: Record<string, string> = {
  ...process.env as Record<string, string>,
  PATH: `${BIN}${delimiter}${process.env.PATH ?? ""}`,
  LABTECH_REPO_ROOT: ROOT,
  LABTECH_NPM_DIR: NPM_DIR,
  DENO_NO_UPDATE_CHECK: "1",
  LABTECH_TEST_HARNESS: "1",
};

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Runs a command with output streamed through; resolves with its exit code and output. */
function exec(
  cmd: string,
  cmdArgs: string[],
  env: Record<string, string> = baseEnv,
): Promise<{ code: number; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: process.platform !== "win32",
    });
    let output = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        // The whole process group: test runners leave workers and subprocesses behind.
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, stepTimeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: 127, output: `${output}\n${error.message}`, timedOut });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output: output.replace(ANSI, ""), timedOut });
    });
  });
}

function lastMatch(text: string, pattern: RegExp): RegExpExecArray | null {
  let match: RegExpExecArray | null = null;
  for (const m of text.matchAll(new RegExp(pattern.source, pattern.flags + "g"))) match = m;
  return match;
}

const num = (value: string | undefined) => Number(value ?? 0);

/** Pass/fail counts from each runner's own summary line(s); null when there is none. */
function parseCounts(runtime: Runtime, output: string): Counts | null {
  if (runtime === "deno") {
    // "ok | 12 passed (3 steps) | 0 failed | 2 ignored (1 step) (2s)"
    const m = lastMatch(
      output,
      /(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored(?: \((\d+) steps?\))?)?/,
    );
    if (!m) return null;
    return {
      passed: num(m[1]) + num(m[2]),
      failed: num(m[3]) + num(m[4]),
      skipped: num(m[5]) + num(m[6]),
    };
  }
  if (runtime === "bun") {
    const pass = lastMatch(output, /^\s*(\d+) pass$/m);
    if (!pass) return null;
    const fail = lastMatch(output, /^\s*(\d+) fail$/m);
    const errors = lastMatch(output, /^\s*(\d+) errors?$/m);
    const skip = lastMatch(output, /^\s*(\d+) skip$/m);
    const todo = lastMatch(output, /^\s*(\d+) todo$/m);
    return {
      passed: num(pass[1]),
      failed: num(fail?.[1]) + num(errors?.[1]),
      skipped: num(skip?.[1]) + num(todo?.[1]),
    };
  }
  const pass = lastMatch(output, /^ℹ pass (\d+)$/m);
  if (!pass) return null;
  return {
    passed: num(pass[1]),
    failed: num(lastMatch(output, /^ℹ fail (\d+)$/m)?.[1]) +
      num(lastMatch(output, /^ℹ cancelled (\d+)$/m)?.[1]),
    skipped: num(lastMatch(output, /^ℹ skipped (\d+)$/m)?.[1]) +
      num(lastMatch(output, /^ℹ todo (\d+)$/m)?.[1]),
  };
}

/** Files under `dir` (absolute) whose name ends with `suffix`, sorted. */
function findFiles(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(suffix))
    .map((file) => join(dir, file))
    .sort();
}

const hasTs = (dir: string) => findFiles(join(ROOT, dir), ".ts").length > 0;

const results: StepResult[] = [];

function banner(name: string, detail: string) {
  console.log(`\n=== ${name}: ${detail}`);
}

async function staticStep(name: string, cmd: string, cmdArgs: string[]): Promise<boolean> {
  banner(name, [cmd, ...cmdArgs].join(" "));
  const started = performance.now();
  const { code, timedOut } = await exec(cmd, cmdArgs);
  const ok = code === 0;
  results.push({
    name,
    ok,
    seconds: (performance.now() - started) / 1000,
    counts: null,
    note: timedOut ? "timed out" : ok ? "" : `exit code ${code}`,
  });
  return ok;
}

async function testStep(runtime: Runtime): Promise<boolean> {
  let cmd: string;
  let cmdArgs: string[];
  if (runtime === "deno") {
    cmd = "deno";
    // --no-check: the static `check` step type-checks every file and JSDoc example once;
    // without it `deno test` checks each worker entry again every time a test starts a worker.
    cmdArgs = ["test", "-A", "--doc", "--no-check", ...(filter ? ["--filter", filter] : [])];
  } else if (runtime === "bun") {
    cmd = "bun";
    // --isolate: a fresh global object and module registry per file, as deno and node give.
    // --timeout: bun's default per-test timeout is 5 s.
    cmdArgs = [
      "test",
      "--isolate",
      "--timeout",
      "300000",
      "./tests/",
      ...(filter ? ["-t", filter] : []),
    ];
  } else {
    cmd = "node";
    const files = findFiles(join(NPM_DIR, "esm", "tests"), ".test.js");
    if (files.length === 0) {
      results.push({
        name: runtime,
        ok: false,
        seconds: 0,
        counts: null,
        note: "no compiled tests",
      });
      return false;
    }
    cmdArgs = [
      "--test",
      "--test-reporter=spec",
      "--test-timeout=300000",
      ...(filter ? [`--test-name-pattern=${filter}`] : []),
      ...files.map((file) => relative(ROOT, file)),
    ];
  }
  banner(runtime, [cmd, ...cmdArgs].join(" "));
  const started = performance.now();
  const { code, output, timedOut } = await exec(cmd, cmdArgs, {
    ...baseEnv,
    LABTECH_EXPECT_RUNTIME: runtime,
  });
  const counts = parseCounts(runtime, output);
  let note = "";
  if (timedOut) note = `timed out after ${stepTimeoutMs / 1000}s`;
  else if (code !== 0 && (counts === null || counts.failed === 0)) {
    note = `exit code ${code} outside any test (load or type-check error?)`;
  } else if (code === 0 && counts === null) note = "no summary line found";
  const ok = code === 0 && !timedOut;
  results.push({
    name: runtime,
    ok,
    seconds: (performance.now() - started) / 1000,
    counts: counts && !ok && counts.failed === 0 ? { ...counts, failed: 1 } : counts,
    note,
  });
  return ok;
}

async function main(): Promise<number> {
  if (unknownRuntimes.length > 0) {
    console.error(
      `Cannot test on runtime ${JSON.stringify(unknownRuntimes[0])}: use deno, bun or node`,
    );
    return 2;
  }
  const started = performance.now();
  const steps: Array<[string, () => Promise<boolean>]> = [];
  if (runStatic) {
    // Every library folder by name, so `--doc` checks the JSDoc examples of every module.
    const checkTargets = [
      ...readdirSync(ROOT).filter((name) => name.endsWith(".ts")),
      ...[
        ...["runtime", "core", "storage", "caches", "runners", "observe", "lab", "cli"],
        ...["tests", "bench", "examples", "scripts"],
      ].filter(hasTs).map((dir) => `${dir}/`),
    ];
    steps.push(
      ["layers", () => staticStep("layers", "deno", ["run", "-A", "scripts/check_layers.ts"])],
      ["lint", () => staticStep("lint", "deno", ["lint"])],
      ["fmt", () => staticStep("fmt", "deno", ["fmt", "--check"])],
      ["check", () => staticStep("check", "deno", ["check", "--doc", ...checkTargets])],
      ["publish", () => staticStep("publish", "deno", ["publish", "--dry-run", "--allow-dirty"])],
    );
  }
  // The build runs before the tests: node tests run from it, packaging tests pack it.
  steps.push(["build", () => staticStep("build", "deno", ["run", "-A", "scripts/build.ts"])]);
  for (const runtime of runtimes) steps.push([runtime, () => testStep(runtime)]);

  let stopped = false;
  for (const [name, step] of steps) {
    if (stopped) {
      results.push({
        name,
        ok: false,
        seconds: 0,
        counts: null,
        note: "not run (an earlier step failed)",
      });
      continue;
    }
    if (!(await step()) && !keepGoing) stopped = true;
  }

  let passed = 0;
  let failed = 0;
  console.log("\n=== summary");
  for (const r of results) {
    const notRun = r.note.startsWith("not run");
    const status = notRun ? "-" : r.ok ? "ok" : "FAIL";
    let detail = "";
    if (r.counts) {
      passed += r.counts.passed;
      failed += r.counts.failed;
      detail = `${r.counts.passed} passed, ${r.counts.failed} failed, ${r.counts.skipped} skipped`;
    } else if (!notRun) {
      if (r.ok) passed += 1;
      else failed += 1;
    }
    const time = notRun ? "" : `${r.seconds.toFixed(1)}s`;
    console.log(
      `  ${r.name.padEnd(8)} ${status.padEnd(5)} ${time.padStart(7)}  ${
        [detail, r.note].filter(Boolean).join("; ")
      }`,
    );
  }
  const allOk = results.every((r) => r.ok);
  console.log(`  total ${((performance.now() - started) / 1000).toFixed(1)}s`);
  if (!allOk && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed`);
  return allOk ? 0 : 1;
}

// `deno test` loads every file named test.ts as a test module: run only as the main module, and
// never inside a run of this harness (a test that re-ran it would recurse).
if (import.meta.main) {
  if (process.env.LABTECH_TEST_HARNESS === "1") {
    console.error("Cannot run scripts/test.ts: it is already running (LABTECH_TEST_HARNESS=1)");
    process.exit(2);
  }
  process.exit(await main());
}
