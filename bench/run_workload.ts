/**
 * Runs one benchmark workload with one backend in this runtime and prints one
 * JSON line. `bench/main.ts` spawns it once per workload × backend × runtime.
 *
 * ```sh
 * deno run -A bench/run_workload.ts --workload trivial --backend serial --n 2000 --repeats 5
 * ```
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Lab, type RunOptions, type Task } from "../mod.ts";
import type { RunnerName } from "../runners/backends.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";
import { detectRuntime } from "../runtime/detect.ts";
import { childrenRssBytes } from "./_child_rss.ts";
import { fsLimits, ipcRoundTrip, workerRoundTrip } from "./_primitives.ts";
import { comparePeers } from "./_peers.ts";
import {
  big,
  BIG_DOUBLES,
  dependent,
  link,
  type LinkParams,
  shared,
  spin,
  spinTask,
  trivial,
} from "./_tasks.ts";

/** What the orchestrator asks for. */
export interface WorkloadArgs {
  workload: string;
  backend: RunnerName;
  n: number;
  repeats: number;
  storage: "local" | "null";
  iters: number;
  batch: number;
}

/** What a workload reports; times in milliseconds per whole run. */
export interface WorkloadResult {
  runtime: string;
  workload: string;
  backend: string;
  n: number;
  storage: string;
  fresh_ms: number[];
  cached_ms: number[];
  [extra: string]: unknown;
}

const QUIET: RunOptions = { progress: false, top: false };

function parseArgs(argv: string[]): WorkloadArgs {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (!flag.startsWith("--")) throw new TypeError(`Unexpected argument: ${flag}`);
    args[flag.slice(2)] = argv[++i] ?? "";
  }
  return {
    workload: args.workload ?? "trivial",
    backend: (args.backend ?? "serial") as RunnerName,
    n: Number(args.n ?? 2000),
    repeats: Number(args.repeats ?? 3),
    storage: args.storage === "null" ? "null" : "local",
    iters: Number(args.iters ?? 0),
    batch: Number(args.batch ?? 20),
  };
}

function tempStorage(): { dir: string; cleanup: () => void } {
  const parent = mkdtempSync(join(tmpdir(), "labtech-bench-"));
  return {
    dir: join(parent, "store"),
    cleanup: () => rmSync(parent, { recursive: true, force: true }),
  };
}

async function timed(lab: Lab, tasks: Task[], options: RunOptions = QUIET): Promise<number> {
  const t0 = performance.now();
  await lab.runTasks(tasks, options);
  return performance.now() - t0;
}

function newLab(args: WorkloadArgs, dir: string | null): Lab {
  return new Lab({ storage: dir, runner: args.backend });
}

/** Trivial tasks: fresh, then a cached reload by a new Lab with new task objects. */
async function runTrivial(args: WorkloadArgs, out: WorkloadResult): Promise<void> {
  for (let r = 0; r < args.repeats; r++) {
    const { dir, cleanup } = tempStorage();
    try {
      const store = args.storage === "null" ? null : dir;
      out.fresh_ms.push(await timed(newLab(args, store), makeTrivial(args.n)));
      if (store !== null) {
        out.cached_ms.push(await timed(newLab(args, store), makeTrivial(args.n)));
      }
    } finally {
      cleanup();
    }
  }
}

function makeTrivial(n: number): Task[] {
  return Array.from({ length: n }, (_, i) => trivial({ i }));
}

async function runFanout(args: WorkloadArgs, out: WorkloadResult): Promise<void> {
  for (let r = 0; r < args.repeats; r++) {
    const { dir, cleanup } = tempStorage();
    try {
      const dep = shared({ seed: 7 });
      const tasks = Array.from({ length: args.n }, (_, i) => dependent({ i, dep }));
      out.fresh_ms.push(await timed(newLab(args, args.storage === "null" ? null : dir), tasks));
    } finally {
      cleanup();
    }
  }
}

async function runChain(args: WorkloadArgs, out: WorkloadResult): Promise<void> {
  for (let r = 0; r < args.repeats; r++) {
    const { dir, cleanup } = tempStorage();
    try {
      let last: Task<LinkParams, number> | null = null;
      for (let i = 0; i < args.n; i++) last = link({ i, prev: last });
      const lab = newLab(args, args.storage === "null" ? null : dir);
      const t0 = performance.now();
      const result = await lab.runTask(last!, QUIET);
      out.fresh_ms.push(performance.now() - t0);
      if (result !== args.n) throw new Error(`Chain gave ${result}, expected ${args.n}`);
    } finally {
      cleanup();
    }
  }
}

/** Iterations of `spin` that take about `targetMs` here (best of three). */
function calibrate(targetMs: number): number {
  let iters = 100_000;
  let ms = 0;
  for (;;) {
    const t0 = performance.now();
    spin(iters);
    ms = performance.now() - t0;
    if (ms >= 50) break;
    iters *= 2;
  }
  iters = Math.round(iters * targetMs / ms);
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    spin(iters);
    best = Math.min(best, performance.now() - t0);
  }
  return Math.max(1, Math.round(iters * targetMs / best));
}

async function runCpu(args: WorkloadArgs, out: WorkloadResult): Promise<void> {
  const iters = args.iters > 0 ? args.iters : calibrate(200);
  out.iters = iters;
  for (let r = 0; r < args.repeats; r++) {
    // Distinct params per repeat and null storage: nothing is cached.
    const tasks = Array.from({ length: args.n }, (_, i) => spinTask({ i: i + r * args.n, iters }));
    out.fresh_ms.push(await timed(newLab(args, null), tasks));
  }
}

/**
 * 200 tasks returning 5 MiB each, run as `n / batch` runTasks calls of
 * `batch` roots whose results are dropped before the next call: at most
 * `batch` results are alive at once. Then the same batches reload from cache.
 */
// One batch in a frame of its own, so its results are really dropped when it returns: a
// `const` in the caller's loop stays alive in its suspended frame while it awaits the next batch
// (seen on V8: peak ÷ alive 2.6 with nothing but 10 batches of 20 arrays, 1.7 once dropped).
async function runBigBatch(
  lab: Lab,
  start: number,
  count: number,
  sample: () => void,
): Promise<number> {
  const tasks = Array.from({ length: count }, (_, k) => big({ i: start + k }));
  const t0 = performance.now();
  const results = await lab.runTasks(tasks, QUIET);
  const ms = performance.now() - t0;
  sample();
  for (const value of results.values() as Iterable<unknown>) {
    if (!(value instanceof Float64Array) || value.length !== BIG_DOUBLES) {
      throw new Error("BenchBig returned something other than its Float64Array");
    }
  }
  return ms;
}

/** Collects garbage now: Node with --expose-gc, Deno with --v8-flags=--expose-gc, Bun always. */
function collectGarbage(): void {
  const scope = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (scope.gc !== undefined) return scope.gc();
  if (scope.Bun !== undefined) return scope.Bun.gc(true);
  throw new Error(
    "No garbage collector to call: run Node with --expose-gc, Deno with " +
      "--v8-flags=--expose-gc",
  );
}

/**
 * Big results in batches; with `collect`, garbage is collected after each
 * batch (once its results are dropped), so the peak is the Lab's own use
 * with no garbage collector's lag in it: `bigcollect`.
 */
async function runBig(args: WorkloadArgs, out: WorkloadResult, collect = false): Promise<void> {
  const adapter = await loadRuntimeAdapter();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  out.baseline_rss_bytes = adapter.rssBytes();
  let peak = 0;
  // Subprocess workers hold each result while they make and save it: their memory, apart.
  const subprocesses = args.backend === "spawn" || args.backend === "fork";
  let workersPeak: number | null = null;
  const sample = () => {
    peak = Math.max(peak, adapter.rssBytes());
    const workers = subprocesses ? childrenRssBytes() : null;
    if (workers !== null) workersPeak = Math.max(workersPeak ?? 0, workers);
  };
  const timer = setInterval(sample, 20);
  try {
    for (let r = 0; r < args.repeats; r++) {
      const { dir, cleanup } = tempStorage();
      try {
        for (const phase of ["fresh", "cached"] as const) {
          const lab = newLab(args, dir);
          let total = 0;
          for (let start = 0; start < args.n; start += args.batch) {
            const count = Math.min(args.batch, args.n - start);
            total += await runBigBatch(lab, start, count, sample);
            if (collect) collectGarbage();
          }
          (phase === "fresh" ? out.fresh_ms : out.cached_ms).push(total);
        }
      } finally {
        cleanup();
      }
    }
  } finally {
    clearInterval(timer);
  }
  out.peak_rss_bytes = peak;
  out.workers_peak_rss_bytes = workersPeak;
  out.result_bytes = BIG_DOUBLES * 8;
  out.alive_bytes = Math.min(args.batch, args.n) * BIG_DOUBLES * 8;
}

/**
 * The runtime alone, for bigresult's ratio: the same batches of 20 arrays of 5 MiB, made and
 * dropped by a plain loop with no Lab, no cache and no files; a fresh pass touches them as
 * BenchBig does, a cached pass fills them whole (as a load from disk does). What it peaks at is
 * the runtime's own baseline plus its garbage collector's lag, which no library code removes.
 */
async function runBigBare(args: WorkloadArgs, out: WorkloadResult): Promise<void> {
  const adapter = await loadRuntimeAdapter();
  (globalThis as { gc?: () => void }).gc?.();
  out.baseline_rss_bytes = adapter.rssBytes();
  let peak = 0;
  const sample = () => peak = Math.max(peak, adapter.rssBytes());
  const timer = setInterval(sample, 20);
  const batch = async (start: number, count: number, whole: boolean) => {
    const t0 = performance.now();
    const arrays: Float64Array[] = [];
    for (let k = 0; k < count; k++) {
      const values = new Float64Array(BIG_DOUBLES);
      if (whole) values.fill(start + k);
      else for (let j = 0; j < values.length; j += 4096) values[j] = start + k + j;
      arrays.push(values);
      // One turn of the event loop per array, as a task run by the Lab gets.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    sample();
    return arrays.length > 0 ? performance.now() - t0 : 0;
  };
  try {
    for (let r = 0; r < args.repeats; r++) {
      for (const phase of ["fresh", "cached"] as const) {
        let total = 0;
        for (let start = 0; start < args.n; start += args.batch) {
          total += await batch(start, Math.min(args.batch, args.n - start), phase === "cached");
        }
        (phase === "fresh" ? out.fresh_ms : out.cached_ms).push(total);
      }
    }
  } finally {
    clearInterval(timer);
  }
  out.peak_rss_bytes = peak;
  out.result_bytes = BIG_DOUBLES * 8;
  out.alive_bytes = Math.min(args.batch, args.n) * BIG_DOUBLES * 8;
}

/** Serial trivial tasks with progress and the task table on vs off, alternating. */
async function runObserve(args: WorkloadArgs, out: WorkloadResult): Promise<void> {
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 0; r < args.repeats; r++) {
    for (const show of r % 2 === 0 ? [false, true] : [true, false]) {
      const { dir, cleanup } = tempStorage();
      try {
        const store = args.storage === "null" ? null : dir;
        const ms = await timed(newLab(args, store), makeTrivial(args.n), {
          progress: show,
          top: show,
        });
        (show ? on : off).push(ms);
      } finally {
        cleanup();
      }
    }
  }
  out.fresh_ms = off;
  out.on_ms = on;
}

async function runLimits(args: WorkloadArgs, out: WorkloadResult): Promise<void> {
  const rounds = args.n;
  out.worker_rt_ms = [];
  out.ipc_rt_ms = [];
  out.fs_write_ms = [];
  out.fs_read_ms = [];
  for (let r = 0; r < args.repeats; r++) {
    (out.worker_rt_ms as number[]).push(await workerRoundTrip(rounds));
    (out.ipc_rt_ms as number[]).push(await ipcRoundTrip(rounds));
    const fs = fsLimits(rounds);
    (out.fs_write_ms as number[]).push(fs.writeMs);
    (out.fs_read_ms as number[]).push(fs.readMs);
  }
  out.ipc_kind = ipcKind();
}

function ipcKind(): string {
  const runtime = detectRuntime();
  return runtime === "node"
    ? "child_process.fork"
    : runtime === "bun"
    ? "Bun.spawn ipc"
    : "Deno.Command pipes";
}

/** labtech against piscina/tinypool, p-queue and the bare IPC round trip, alternating. */
async function runPeers(args: WorkloadArgs, out: WorkloadResult): Promise<void> {
  const backends = args.backend.split(",");
  out.pairs = await comparePeers(args.n, args.repeats, backends);
}

const WORKLOADS: Record<string, (args: WorkloadArgs, out: WorkloadResult) => Promise<void>> = {
  peers: runPeers,
  trivial: runTrivial,
  scale: runTrivial,
  fanout: runFanout,
  chain: runChain,
  cpu: runCpu,
  bigresult: runBig,
  bigcollect: (args, out) => runBig(args, out, true),
  bigbare: runBigBare,
  observe: runObserve,
  limits: runLimits,
  calibrate: (_args, out) => {
    out.iters = calibrate(200);
    return Promise.resolve();
  },
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const out: WorkloadResult = {
    runtime: detectRuntime(),
    workload: args.workload,
    backend: args.backend,
    n: args.n,
    storage: args.storage,
    fresh_ms: [],
    cached_ms: [],
  };
  const workload = WORKLOADS[args.workload];
  try {
    if (workload === undefined) throw new TypeError(`Unknown workload: ${args.workload}`);
    await workload(args, out);
  } catch (error) {
    out.error = (error as Error).stack ?? String(error);
  }
  process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
}

await main();
