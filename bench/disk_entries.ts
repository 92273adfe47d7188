/**
 * Cache entries on a real disk, every runtime side by side in one run:
 *
 * - `bare`: the bare entry write (a folder, two files, a rename: `fsLimits`);
 * - `writeEntry`: `LocalStorage.writeEntry` of the same bytes;
 * - `lab local` / `lab lmdb`: fresh `serial` per-task time of trivial tasks
 *   with LocalStorage / LmdbStorage (what a user sees);
 * - `lmdb put` / `sqlite put`: one small record per commit, no fsync, in LMDB
 *   and in SQLite (WAL, synchronous=NORMAL: better-sqlite3 on Node,
 *   `node:sqlite` on Deno, `bun:sqlite` on Bun: better-sqlite3 loads on Node only);
 * - bytes per entry on disk (allocated blocks, as `du` counts them);
 * - `Labtech`: Python Labtech's fresh `serial` per-task time on as many trivial
 *   tasks (its LocalStorage, bench/peer/labtech_peer.py), and `Labtech ÷ lab
 *   lmdb`, the median of each round's ratio (issue 10 asks for at least 10).
 *   Left out, with a note, when `import labtech` fails (`LABTECH_SRC`,
 *   `LABTECH_PYTHON`; default /opt/labtech-src and /usr/bin/python3).
 *
 * A round is one fresh process per runtime and one Labtech run, in a rotating order;
 * inside it the steps take turns every 250 entries, so they see the same disk
 * load. Figures are medians of rounds. `cpu` columns are the process's CPU
 * time (user + system) per entry, which a busy machine disturbs less than wall time.
 *
 * ```sh
 * deno run -A bench/disk_entries.ts [--runtime all|deno,bun,node] [--n 2000] [--rounds 5] [--dir /tmp]
 * ```
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { diskBytes } from "./_disk_bytes.ts";
import { fileURLToPath } from "node:url";
import { Lab, LocalStorage, type Storage } from "../mod.ts";
import { LmdbStorage } from "../lmdb.ts";
import { detectRuntime } from "../runtime/detect.ts";
import { trivial } from "./_tasks.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const NODE_BUILD = join(ROOT, ".tmp", "bench-disk-node");

/** Figures by name. */
export type Figures = Record<string, number>;

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** The median of the rounds that measured something (a failed Labtech run is NaN); NaN if none. */
const finiteMedian = (xs: number[]) => {
  const kept = xs.filter(Number.isFinite);
  return kept.length === 0 ? Number.NaN : median(kept);
};

/** The bare entry write, as `fsLimits` in _primitives.ts does it, of entries `from`..`to` in `dir`. */
function bareWrite(dir: string, from: number, to: number, files: Map<string, Uint8Array>): void {
  mkdirSync(dir, { recursive: true });
  for (let i = from; i < to; i++) {
    const temp = join(dir, `.tmp-${i}`);
    mkdirSync(temp);
    for (const [name, data] of files) writeFileSync(join(temp, name), data);
    renameSync(temp, join(dir, `K${i}`));
  }
}

/** Fresh trivial tasks `from`..`to` on `serial`. */
async function labRun(storage: Storage | null, from: number, to: number): Promise<void> {
  const tasks = Array.from({ length: to - from }, (_, k) => trivial({ i: from + k }));
  await new Lab({ storage, runner: "serial" }).runTasks(tasks, { progress: false, top: false });
}

interface Sqlite {
  exec(sql: string): unknown;
  prepare(sql: string): { run(...args: unknown[]): unknown };
  close(): unknown;
}

async function openSqlite(path: string): Promise<Sqlite> {
  const runtime = detectRuntime();
  // Names in variables: each module exists on one runtime only.
  const moduleName = runtime === "bun"
    ? "bun:sqlite"
    : runtime === "deno"
    ? "node:sqlite"
    : "better-sqlite3";
  const module = await import(moduleName);
  const Database = runtime === "deno" ? module.DatabaseSync : (module.default ?? module.Database);
  const db = new Database(path) as Sqlite;
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  db.exec("CREATE TABLE e (k TEXT PRIMARY KEY, v BLOB)");
  return db;
}

/** Entries per step before the next step takes its turn: steps see the same disk weather. */
const CHUNK = 250;

/**
 * Runs the steps `rounds` times in `base` with `n` entries each, in this
 * runtime: medians in ms per entry (`<step>` and `<step> cpu`) and bytes per
 * entry (`local|lmdb|sqlite bytes/entry`). `bench/main.ts` may call it from
 * `run_workload.ts`.
 */
export async function measure(base: string, n: number, rounds: number): Promise<Figures> {
  const samples: Record<string, number[]> = {};
  const add = (key: string, value: number) => (samples[key] ??= []).push(value);
  const files = new Map([
    ["data.msgpack", Uint8Array.of(0xcd, 0x07, 0xd0)],
    ["metadata.json", new TextEncoder().encode("x".repeat(330))],
  ]);
  const record = new Uint8Array(360);
  for (let round = 0; round < rounds; round++) {
    const dir = mkdtempSync(join(base, "labtech-disk-"));
    const local = new LocalStorage(join(dir, "write"));
    const labLocal = new LocalStorage(join(dir, "lab"));
    const labLmdb = new LmdbStorage(join(dir, "lmdb"));
    const raw = new LmdbStorage(join(dir, "lmdb-raw"));
    let sqlite: Sqlite | null = null;
    try {
      sqlite = await openSqlite(join(dir, "sqlite.db"));
    } catch (error) {
      process.stderr.write(`sqlite: ${(error as Error).message.split("\n")[0]}\n`);
    }
    const insert = sqlite?.prepare("INSERT OR REPLACE INTO e VALUES (?, ?)");
    const steps: [string, (from: number, to: number) => unknown][] = [
      ["bare", (from, to) => bareWrite(join(dir, "bare"), from, to, files)],
      ["writeEntry", async (from, to) => {
        for (let i = from; i < to; i++) await local.writeEntry(`K${i}`, files);
      }],
      ["lab null", (from, to) => labRun(null, from, to)],
      ["lab local", (from, to) => labRun(labLocal, from, to)],
      ["lab lmdb", (from, to) => labRun(labLmdb, from, to)],
      ["lmdb put", async (from, to) => {
        for (let i = from; i < to; i++) await raw.writeEntry(`K${i}`, files);
      }],
      ["sqlite put", (from, to) => {
        for (let i = from; i < to; i++) insert?.run(`K${i}`, record);
      }],
    ];
    const wall = new Map<string, number>();
    const cpu = new Map<string, number>();
    try {
      for (let from = 0; from < n; from += CHUNK) {
        const to = Math.min(n, from + CHUNK);
        for (const [name, step] of steps) {
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          await step(from, to);
          wall.set(name, (wall.get(name) ?? 0) + performance.now() - t0);
          const used = process.cpuUsage(cpu0);
          cpu.set(name, (cpu.get(name) ?? 0) + (used.user + used.system) / 1000);
        }
      }
      for (const [name] of steps) {
        add(name, wall.get(name)! / n);
        add(`${name} cpu`, cpu.get(name)! / n);
      }
      if (sqlite === null) add("sqlite put", Number.NaN);
      await labLmdb.close();
      await raw.close();
      sqlite?.close();
      add("local bytes/entry", diskBytes(join(dir, "lab")) / n);
      add("lmdb bytes/entry", diskBytes(join(dir, "lmdb")) / n);
      add(
        "sqlite bytes/entry",
        ["sqlite.db", "sqlite.db-wal", "sqlite.db-shm"]
          .map((f) => lstatSync(join(dir, f), { throwIfNoEntry: false }))
          .reduce((sum, stat) => sum + (stat?.blocks ?? 0) * 512, 0) / n,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const out: Figures = {};
  for (const [key, xs] of Object.entries(samples)) out[key] = median(xs);
  return out;
}

/**
 * Compiles this script for Node: the sources are staged with their `npm:`
 * imports made bare (as scripts/build.ts does; Node cannot resolve `npm:`),
 * then compiled with tsc into `.tmp/bench-disk-node/out`.
 */
async function buildForNode(): Promise<void> {
  rmSync(NODE_BUILD, { recursive: true, force: true });
  const staged = join(NODE_BUILD, "src");
  // A specifier in a variable: tsc compiling this file for Node leaves scripts/ out.
  const specifiers = "../scripts/npm_specifiers.ts";
  const { sourceFiles, toBareSpecifiers } = await import(specifiers);
  for (const file of sourceFiles(ROOT) as string[]) {
    mkdirSync(dirname(join(staged, file)), { recursive: true });
    writeFileSync(join(staged, file), toBareSpecifiers(readFileSync(join(ROOT, file), "utf8")));
  }
  writeFileSync(
    join(NODE_BUILD, "tsconfig.json"),
    JSON.stringify({
      extends: join(ROOT, "tsconfig.build.json"),
      compilerOptions: { rootDir: "src", outDir: "out", declaration: false },
      files: ["src/bench/disk_entries.ts"],
      include: ["src/runners/**/*.ts"],
      exclude: ["src/runners/bullmq/**"],
    }),
  );
  const tsc = spawnSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", NODE_BUILD], {
    encoding: "utf8",
  });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
}

function runChild(runtime: string, args: string[]): Figures {
  const bin = join(ROOT, "node_modules", ".bin");
  const script = join(ROOT, "bench", "disk_entries.ts");
  const command = runtime === "deno"
    ? [join(bin, "deno"), "run", "-A", script]
    : runtime === "bun"
    ? [join(bin, "bun"), script]
    : ["node", join(NODE_BUILD, "out", "bench", "disk_entries.js")];
  const result = spawnSync(command[0]!, [...command.slice(1), "--child", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}");
}

/** How to run Python Labtech, or why it cannot run here. */
function findLabtech(): { python: string; env: Record<string, string> } | string {
  const src = process.env.LABTECH_SRC ??
    (existsSync("/opt/labtech-src/labtech") ? "/opt/labtech-src" : "");
  const env = {
    ...process.env,
    PYTHONPATH: [src, process.env.PYTHONPATH ?? ""].filter(Boolean).join(":"),
  } as Record<string, string>;
  let why = "";
  for (const python of [process.env.LABTECH_PYTHON, "/usr/bin/python3", "python3"]) {
    if (python === undefined) continue;
    const probe = spawnSync(python, ["-c", "import labtech"], { env, encoding: "utf8" });
    if (probe.status === 0) return { python, env };
    why ||= (probe.stderr ?? probe.error?.message ?? "").trim().split("\n").at(-1) ?? "";
  }
  return `import labtech failed (PYTHONPATH=${env.PYTHONPATH || "unset"}): ${why}`;
}

/** Labtech's fresh serial per-task time (ms) on `n` trivial tasks in a fresh folder of `dir`. */
function runLabtech(labtech: { python: string; env: Record<string, string> }, args: {
  n: number;
  dir: string;
}): number {
  const storage = mkdtempSync(join(args.dir, "labtech-disk-py-"));
  try {
    const peer = join(ROOT, "bench", "peer", "labtech_peer.py");
    const flags = ["--workload", "trivial", "--backend", "serial", "--n", String(args.n)];
    const result = spawnSync(labtech.python, [peer, ...flags, "--storage", storage], {
      env: labtech.env,
      encoding: "utf8",
    });
    const out = JSON.parse(result.stdout.trim().split("\n").at(-1) || "{}");
    if (out.error !== undefined || !(out.fresh_ms?.length > 0)) {
      process.stderr.write(`labtech: ${out.error ?? result.stderr.slice(-400)}\n`);
      return Number.NaN;
    }
    return out.fresh_ms[0] / args.n;
  } finally {
    rmSync(storage, { recursive: true, force: true });
  }
}

const fmt = (x: number | undefined, digits = 3) =>
  x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits);

async function main(): Promise<void> {
  const n = Number(flag("n", "2000"));
  const rounds = Number(flag("rounds", "5"));
  const dir = resolve(flag("dir", tmpdir()));
  if (process.argv.includes("--child")) {
    console.log(JSON.stringify(await measure(dir, n, rounds)));
    return;
  }
  const wanted = flag("runtime", "all");
  const runtimes = wanted === "all" ? ["deno", "bun", "node"] : wanted.split(",");
  if (runtimes.includes("node")) await buildForNode();
  const labtech = findLabtech();
  // One child per runtime and one Labtech run per round, the order rotating each round: a
  // run pays for the writeback and removal of the run before it, so a fixed order favours
  // the first.
  const args = ["--n", String(n), "--rounds", "1", "--dir", dir];
  const slots = typeof labtech === "string" ? runtimes : [...runtimes, "labtech"];
  const samples = new Map(runtimes.map((r) => [r, [] as Figures[]]));
  const labtechMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[(round + k) % slots.length]!;
      if (slot === "labtech") {
        labtechMs.push(runLabtech(labtech as Exclude<typeof labtech, string>, { n, dir }));
      } else samples.get(slot)!.push(runChild(slot, args));
    }
  }
  const results = new Map([...samples].map(([runtime, figures]) => {
    const out: Figures = {};
    for (const key of Object.keys(figures[0] ?? {})) {
      out[key] = median(figures.map((f) => f[key] ?? Number.NaN));
    }
    // Each round's ratio pairs runs made under the same machine load.
    out["labtech ÷ lab lmdb"] = finiteMedian(
      figures.map((f, round) => (labtechMs[round] ?? Number.NaN) / f["lab lmdb"]!),
    );
    return [runtime, out] as const;
  }));
  const deno = results.get("deno")?.["lab local"];
  const labtechMedian = finiteMedian(labtechMs);
  console.log(
    `\nCache entries on ${dir}: ${n} entries, median of ${rounds} rounds (ms per entry)\n`,
  );
  console.log(
    "| runtime | lab null | bare | writeEntry | lab local | ÷ bare | ÷ deno's | cpu | cpu ÷ bare's | " +
      "lab lmdb | cpu | Labtech | Labtech ÷ lab lmdb | lmdb put | sqlite put | " +
      "bytes/entry local | lmdb | sqlite |",
  );
  console.log("|" + " --- |".repeat(18));
  for (const [runtime, f] of results) {
    const local = f["lab local"]!;
    console.log(
      `| ${runtime} | ${fmt(f["lab null"])} | ${fmt(f.bare)} | ${fmt(f.writeEntry)} | ` +
        `${fmt(local)} | ${fmt(local / f.bare!, 2)} | ${deno ? fmt(local / deno, 2) : "-"} | ` +
        `${fmt(f["lab local cpu"])} | ${fmt(f["lab local cpu"]! / f["bare cpu"]!, 2)} | ` +
        `${fmt(f["lab lmdb"])} | ${fmt(f["lab lmdb cpu"])} | ${fmt(labtechMedian)} | ` +
        `${fmt(f["labtech ÷ lab lmdb"], 1)} | ${fmt(f["lmdb put"])} | ${fmt(f["sqlite put"])} | ` +
        `${fmt(f["local bytes/entry"], 0)} | ${fmt(f["lmdb bytes/entry"], 0)} | ` +
        `${fmt(f["sqlite bytes/entry"], 0)} |`,
    );
  }
  if (typeof labtech === "string") console.log(`\n_Labtech not measured: ${labtech}._`);
}

// Run as a script (Node 20 has no import.meta.main), not when imported.
if (/disk_entries\.[jt]s$/.test(process.argv[1] ?? "") || process.argv.includes("--child")) {
  await main();
}
