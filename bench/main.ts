/**
 * The benchmark suite: `npm run bench` =
 * `deno run -A bench/main.ts [--runtime deno|bun|node|all] [--quick]
 *   [--backends serial,async,thread,spawn,fork] [--workloads trivial,scale,...,disk,cluster]
 *   [--no-peer]
 *   [--tmpdir DIR]` (`--tmpdir`: where workloads make their storage, e.g. `/dev/shm`; default the
 *   system temp directory).
 *
 * For each runtime it spawns `bench/run_workload.ts` (Node: the same file
 * compiled with tsc) once per workload × backend, so every figure comes from
 * one invocation, side by side. It prints markdown tables, writes
 * `bench/results/latest.json`, `docs/bench_overhead.svg` and `docs/benchmarks.md`.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { WorkloadResult } from "./run_workload.ts";
import { renderSvg } from "./_svg.ts";
import { renderMarkdown, type Report } from "./_report.ts";
import { clusterSection, diskSection, type ScriptSection } from "./_script_workloads.ts";
import { sourceFiles, toBareSpecifiers } from "../scripts/npm_specifiers.ts";
import { BUILD_EXTRA } from "../scripts/build.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "node_modules", ".bin");
const NODE_BUILD = join(ROOT, ".tmp", "bench-node");
const NODE_SOURCES = join(ROOT, ".tmp", "bench-node-src");
const ALL_RUNTIMES = ["deno", "bun", "node"] as const;
const ALL_BACKENDS = ["serial", "async", "thread", "spawn", "fork"] as const;
const ALL_WORKLOADS = [
  "limits",
  "trivial",
  "scale",
  "fanout",
  "chain",
  "cpu",
  "bigresult",
  "observe",
  "peers",
  "disk",
  "cluster",
  "peer",
] as const;
const PEER_BACKENDS = ["serial", "thread", "spawn", "fork"];

/** Sizes and repeats, full and quick. */
const SIZES = {
  full: {
    limitsN: 2000,
    limitsR: 3,
    trivialN: 2000,
    trivialR: 5,
    scaleSmall: 10_000,
    scaleLarge: 100_000,
    scaleR: 3,
    scaleLargeR: 1,
    fanoutN: 10_000,
    chainN: 2000,
    workerChainN: 2000,
    graphR: 3,
    cpuN: 8,
    cpuR: 3,
    bigN: 200,
    bigBatch: 20,
    bigR: 1,
    observeN: 2000,
    observeR: 8,
    peersN: 2000,
    peersR: 6,
    peerTrivialN: 2000, // the same N as ours: Labtech's per-task cost grows with N
    peerR: 2,
    peerFanoutN: 500,
    peerChainN: 300,
    peerBigN: 20,
  },
  quick: {
    limitsN: 1000,
    limitsR: 1,
    trivialN: 2000,
    trivialR: 3,
    scaleSmall: 2_000,
    scaleLarge: 20_000,
    scaleR: 1,
    scaleLargeR: 1,
    fanoutN: 1000,
    chainN: 500,
    workerChainN: 100,
    graphR: 1,
    cpuN: 8,
    cpuR: 1,
    bigN: 60,
    bigBatch: 20,
    bigR: 1,
    observeN: 2000,
    observeR: 4,
    peersN: 2000,
    peersR: 2,
    peerTrivialN: 100,
    peerR: 1,
    peerFanoutN: 200,
    peerChainN: 100,
    peerBigN: 10,
  },
} as const;

type Runtime = typeof ALL_RUNTIMES[number];

interface Options {
  runtimes: Runtime[];
  quick: boolean;
  backends: string[];
  workloads: string[];
  tmpdir: string | null;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const runtime = value("--runtime") ?? "all";
  const runtimes = runtime === "all" ? [...ALL_RUNTIMES] : runtime.split(",") as Runtime[];
  for (const r of runtimes) {
    if (!ALL_RUNTIMES.includes(r)) throw new RangeError(`Unknown runtime: ${r}`);
  }
  const list = (flag: string, all: readonly string[]) => {
    const given = value(flag)?.split(",").filter(Boolean) ?? [...all];
    for (const item of given) {
      if (!all.includes(item)) throw new RangeError(`Unknown ${flag}: ${item}`);
    }
    return given;
  };
  const workloads = list("--workloads", ALL_WORKLOADS);
  return {
    runtimes,
    quick: argv.includes("--quick"),
    backends: list("--backends", ALL_BACKENDS),
    workloads: argv.includes("--no-peer") ? workloads.filter((w) => w !== "peer") : workloads,
    tmpdir: value("--tmpdir") ?? null,
  };
}

function log(line: string): void {
  process.stderr.write(line + "\n");
}

function binary(name: string): string {
  const local = join(BIN, name);
  return existsSync(local) ? local : name;
}

/** Compiles the workload script and everything it imports for Node, with tsc. */
function buildForNode(): string | null {
  mkdirSync(NODE_BUILD, { recursive: true });
  // Node cannot import the sources' `npm:` specifiers: compile a copy with bare ones.
  for (const file of sourceFiles(ROOT)) {
    mkdirSync(dirname(join(NODE_SOURCES, file)), { recursive: true });
    writeFileSync(
      join(NODE_SOURCES, file),
      toBareSpecifiers(readFileSync(join(ROOT, file), "utf8")),
    );
  }
  writeFileSync(
    join(NODE_BUILD, "tsconfig.json"),
    JSON.stringify({
      extends: "../../tsconfig.build.json",
      compilerOptions: {
        rootDir: "../bench-node-src",
        outDir: ".",
        declaration: false,
        noEmitOnError: true,
      },
      files: [
        "../bench-node-src/bench/run_workload.ts",
        "../bench-node-src/bench/_echo_worker.ts",
        "../bench-node-src/bench/_echo_child.ts",
        "../bench-node-src/bench/_peer_fn.ts",
        // Modules loaded only by URL (the subprocess watchdogs), as the npm build ships them.
        ...BUILD_EXTRA.map((file) => `../bench-node-src/${file}`),
      ],
      include: ["../bench-node-src/runners/**/*.ts", "../bench-node-src/observe/**/*.ts"],
    }),
  );
  const result = spawnSync(binary("tsc"), ["-p", join(NODE_BUILD, "tsconfig.json")], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (result.status !== 0) return `tsc failed: ${(result.stdout + result.stderr).slice(0, 2000)}`;
  return null;
}

function command(runtime: Runtime): string[] {
  if (runtime === "deno") {
    return [process.execPath, "run", "-A", join(ROOT, "bench", "run_workload.ts")];
  }
  if (runtime === "bun") return [binary("bun"), join(ROOT, "bench", "run_workload.ts")];
  return ["node", join(NODE_BUILD, "bench", "run_workload.js")];
}

/** Runs one workload in a fresh process of `runtime`; errors come back in the result. */
function runWorkload(runtime: Runtime, args: Record<string, string | number>): WorkloadResult {
  const [cmd, ...rest] = command(runtime);
  const flags = Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)]);
  if (String(args.workload).startsWith("big")) {
    if (runtime === "node") rest.unshift("--expose-gc");
    if (runtime === "deno") rest.splice(-1, 0, "--v8-flags=--expose-gc");
  }
  const started = performance.now();
  const result = spawnSync(cmd!, [...rest, ...flags], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 600_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  const line = result.stdout?.trim().split("\n").pop() ?? "";
  let parsed: WorkloadResult;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = {
      runtime,
      workload: String(args.workload),
      backend: String(args.backend ?? ""),
      n: Number(args.n ?? 0),
      storage: String(args.storage ?? "local"),
      fresh_ms: [],
      cached_ms: [],
      error: `exit ${result.status ?? result.signal}: ${
        (result.error?.message ?? "") + (result.stderr ?? "").slice(-1500)
      }`,
    };
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  log(
    `  ${runtime} ${args.workload} ${args.backend ?? ""} n=${args.n} ${
      args.storage ?? ""
    } (${secs}s)` +
      (parsed.error ? `  ERROR: ${String(parsed.error).split("\n")[0]}` : ""),
  );
  return parsed;
}

/** Whether a backend's module exists in this checkout. */
function backendAvailable(backend: string): boolean {
  return existsSync(join(ROOT, "runners", `${backend}.ts`));
}

// ---------- the Python Labtech peer ----------

interface PeerSetup {
  python: string;
  env: Record<string, string>;
  version: string;
}

function findPeer(): PeerSetup | string {
  const src = process.env.LABTECH_SRC ??
    (existsSync("/opt/labtech-src/labtech") ? "/opt/labtech-src" : "");
  const pythonPath = [src, process.env.PYTHONPATH ?? ""].filter(Boolean).join(":");
  const env = { ...process.env, PYTHONPATH: pythonPath } as Record<string, string>;
  // bench/peer/README.md: Labtech's dependencies are installed for /usr/bin/python3.
  const candidates = [process.env.LABTECH_PYTHON, "/usr/bin/python3", "python3"].filter(Boolean);
  const failures: string[] = [];
  for (const python of candidates as string[]) {
    const probe = spawnSync(python, ["-c", "import labtech; print(labtech.__version__)"], {
      env,
      encoding: "utf8",
    });
    if (probe.status === 0) return { python, env, version: probe.stdout.trim() };
    failures.push(
      `${python}: ${(probe.stderr ?? probe.error?.message ?? "").trim().split("\n").pop()}`,
    );
  }
  return `python3 -c "import labtech" failed (PYTHONPATH=${pythonPath || "unset"}): ${
    failures.join("; ")
  }`;
}

function runPeer(setup: PeerSetup, args: Record<string, string | number>): Record<string, unknown> {
  const storage = join(tmpdir(), "labtech-bench-peer");
  const flags = Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const started = performance.now();
  const result = spawnSync(
    setup.python,
    [join(ROOT, "bench", "peer", "labtech_peer.py"), ...flags, "--storage", storage],
    { env: setup.env, encoding: "utf8", timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
  );
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(result.stdout.trim().split("\n").pop() ?? "");
  } catch {
    parsed = {
      ...args,
      fresh_ms: [],
      cached_ms: [],
      error: `exit ${result.status}: ${(result.stderr ?? "").slice(-800)}`,
    };
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  log(
    `  python ${args.workload} ${args.backend} n=${args.n} (${secs}s)${
      parsed.error ? `  ERROR: ${String(parsed.error).split("\n")[0]}` : ""
    }`,
  );
  return parsed;
}

// ---------- orchestration ----------

function machine(): { nproc: number; cpu: string; date: string } {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match) cpu = match[1]!;
  } catch { /* not Linux */ }
  return { nproc: cpus().length, cpu, date: new Date().toISOString() };
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  // Children (and the Python peer) make their temporary storage under TMPDIR.
  if (options.tmpdir !== null) process.env.TMPDIR = resolve(options.tmpdir);
  const size = options.quick ? SIZES.quick : SIZES.full;
  const started = performance.now();
  const report: Report = {
    machine: machine(),
    quick: options.quick,
    runtimes: options.runtimes,
    backends: options.backends,
    sizes: size,
    results: [],
    peer: [],
    skipped: [],
    versions: {},
    tmpdir: tmpdir(),
  };
  const backends = options.backends.filter((b) => {
    if (backendAvailable(b)) return true;
    report.skipped.push(`backend ${b}: not available (runners/${b}.ts is missing)`);
    log(`backend ${b}: not available (runners/${b}.ts is missing); skipping it`);
    return false;
  });
  const inProcess = backends.filter((b) => b === "serial" || b === "async");
  const has = (w: string) => options.workloads.includes(w);

  for (const runtime of options.runtimes) {
    if (runtime === "node") {
      log("Compiling bench/run_workload.ts for Node with tsc into .tmp/bench-node/ ...");
      const failure = buildForNode();
      if (failure !== null) {
        report.skipped.push(`runtime node: ${failure}`);
        log(`runtime node skipped: ${failure}`);
        continue;
      }
    }
    const version = spawnSync(command(runtime)[0]!, ["--version"], { encoding: "utf8" });
    report.versions[runtime] = (version.stdout ?? "").trim().split("\n")[0] ?? "?";
    log(`== ${runtime} ${report.versions[runtime]}`);
    const run = (args: Record<string, string | number>) =>
      report.results.push(runWorkload(runtime, args));
    if (has("limits")) run({ workload: "limits", n: size.limitsN, repeats: size.limitsR });
    if (has("trivial")) {
      for (const backend of backends) {
        run({
          workload: "trivial",
          backend,
          n: size.trivialN,
          repeats: size.trivialR,
          storage: "local",
        });
      }
      for (const backend of inProcess) {
        run({
          workload: "trivial",
          backend,
          n: size.trivialN,
          repeats: size.trivialR,
          storage: "null",
        });
      }
    }
    if (has("scale")) {
      for (const backend of inProcess) {
        for (const storage of ["local", "null"]) {
          for (const n of [size.scaleSmall, size.scaleLarge]) {
            const repeats = n === size.scaleLarge ? size.scaleLargeR : size.scaleR;
            run({ workload: "scale", backend, n, repeats, storage });
          }
        }
      }
    }
    for (const workload of ["fanout", "chain"] as const) {
      if (!has(workload)) continue;
      const n = workload === "fanout" ? size.fanoutN : size.chainN;
      for (const backend of backends) {
        run({ workload, backend, n, repeats: size.graphR, storage: "local" });
      }
    }
    if (has("cpu")) {
      const calibration = runWorkload(runtime, { workload: "calibrate" });
      const iters = Number(calibration.iters ?? 0);
      for (const backend of backends) {
        run({ workload: "cpu", backend, n: size.cpuN, repeats: size.cpuR, iters });
      }
    }
    if (has("bigresult")) {
      // The runtime alone (no Lab), the reference for the ratio's garbage-collector lag.
      run({ workload: "bigbare", n: size.bigN, batch: size.bigBatch, repeats: size.bigR });
      for (const backend of backends) {
        run({
          workload: "bigresult",
          backend,
          n: size.bigN,
          batch: size.bigBatch,
          repeats: size.bigR,
        });
      }
      // Serial and thread again, collecting garbage after each batch: the Lab's own peak.
      for (const backend of backends.filter((b) => b === "serial" || b === "thread")) {
        run({
          workload: "bigcollect",
          backend,
          n: size.bigN,
          batch: size.bigBatch,
          repeats: size.bigR,
        });
      }
    }
    const pooled = backends.filter((b) => b !== "serial");
    if (has("peers") && pooled.length > 0) {
      // One process, alternating labtech and its peer round by round.
      run({ workload: "peers", backend: pooled.join(","), n: size.peersN, repeats: size.peersR });
    }
    if (has("observe") && backends.includes("serial")) {
      run({
        workload: "observe",
        backend: "serial",
        n: size.observeN,
        repeats: size.observeR,
        storage: "local",
      });
    }
  }

  if (has("peer")) {
    const setup = findPeer();
    if (typeof setup === "string") {
      report.skipped.push(`peer: skipped: ${setup}`);
      log(`peer skipped: ${setup}`);
    } else {
      log(`== Python Labtech ${setup.version} (${setup.python})`);
      report.versions.labtech = `Labtech ${setup.version} (${setup.python})`;
      const peerRun = (args: Record<string, string | number>) =>
        report.peer.push(runPeer(setup, args));
      for (const backend of PEER_BACKENDS) {
        peerRun({ workload: "trivial", backend, n: size.peerTrivialN, repeats: size.peerR });
      }
      for (const backend of PEER_BACKENDS) {
        peerRun({ workload: "fanout", backend, n: size.peerFanoutN, repeats: 1 });
        peerRun({ workload: "chain", backend, n: size.peerChainN, repeats: 1 });
        peerRun({ workload: "cpu", backend, n: size.cpuN, repeats: 1 });
        peerRun({ workload: "bigresult", backend, n: size.peerBigN, repeats: 1 });
      }
    }
  }

  // Scripts that measure several runtimes or servers side by side on their own.
  const sections: ScriptSection[] = [];
  if (has("disk")) {
    log("== disk: entries on the ordinary disk, every runtime side by side");
    const dir = options.tmpdir ?? tmpdir();
    sections.push(diskSection(ROOT, { bin: BIN, n: size.trivialN, rounds: size.trivialR, dir }));
  }
  if (has("cluster")) {
    for (const runtime of options.runtimes) {
      if (runtime === "node") continue; // workers run the TypeScript sources: Deno and Bun
      log(`== cluster on ${runtime}`);
      sections.push(clusterSection(ROOT, { bin: BIN, runtime, quick: options.quick }));
    }
  }

  report.totalSeconds = (performance.now() - started) / 1000;
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(
    join(ROOT, "bench", "results", "latest.json"),
    JSON.stringify(report, null, 2) + "\n",
  );
  const rendered = renderMarkdown(report);
  const { svgData } = rendered;
  const tables = [rendered.tables, ...sections.map((s) => `### ${s.title}\n\n${s.markdown}\n`)]
    .join("\n");
  process.stdout.write(tables + "\n");
  mkdirSync(join(ROOT, "docs"), { recursive: true });
  writeFileSync(join(ROOT, "docs", "bench_overhead.svg"), renderSvg(svgData, report));
  const docs = readFileSync(join(ROOT, "bench", "_benchmarks_intro.md"), "utf8");
  writeFileSync(join(ROOT, "docs", "benchmarks.md"), docs.trimEnd() + "\n\n" + tables + "\n");
  // Keep docs/benchmarks.md as `deno fmt --check` (part of npm test) wants it.
  spawnSync(process.execPath, ["fmt", "--quiet", join(ROOT, "docs", "benchmarks.md")], {
    cwd: ROOT,
  });
  log(
    `Done in ${
      report.totalSeconds.toFixed(0)
    } s: bench/results/latest.json, docs/benchmarks.md, docs/bench_overhead.svg`,
  );
}

main();
