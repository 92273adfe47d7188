/**
 * Per-task overhead of the progress display and task table (issue 5): 2,000
 * trivial tasks run with both off, with plain-line output (stderr not a
 * terminal) and with the terminal output (cli-progress, drawing to a sink
 * that discards), side by side, alternating, median of the rounds.
 *
 * Usage: `deno run -A bench/display_overhead.ts [runner] [rounds]` (also `bun`,
 * and `node` on the build). Prints one JSON line per mode and the overheads.
 *
 * @module
 */
import process from "node:process";
import { Lab, type RunnerName, type RunObserver, task } from "../mod.ts";
import { loadRuntimeAdapter, type RuntimeAdapter } from "../runtime/adapter.ts";
import { RunDisplay } from "../observe/run_display.ts";
import { PlainLinesOutput } from "../observe/plain_lines.ts";
import { resolveTopOptions } from "../observe/task_table.ts";
import { TerminalOutput } from "../observe/terminal.ts";

const N = 2000;
const runner = (process.argv[2] ?? "serial") as RunnerName;
const rounds = Number(process.argv[3] ?? 7);

const trivial = task({ name: "BenchDisplayTrivial", run: (p: { i: number; r: number }) => p.i });
const adapter = await loadRuntimeAdapter();
const discard = { ...adapter, write: () => {}, terminalColumns: () => 120 } as RuntimeAdapter;

type Mode = "off" | "plain" | "terminal";
function observerFor(mode: Exclude<Mode, "off">): RunObserver {
  const table = resolveTopOptions(true);
  const output = mode === "plain" ? new PlainLinesOutput(() => {}) : new TerminalOutput(discard);
  return new RunDisplay(output, { progress: true, table });
}

async function once(mode: Mode, round: number): Promise<number> {
  const lab = new Lab({ storage: null, runner, maxWorkers: 4 });
  const tasks = Array.from({ length: N }, (_, i) => trivial({ i, r: round }));
  const started = performance.now();
  await lab.runTasks(
    tasks,
    mode === "off" ? { progress: false, top: false } : { observer: observerFor(mode) },
  );
  return (performance.now() - started) / N * 1000; // µs per task
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const times: Record<Mode, number[]> = { off: [], plain: [], terminal: [] };
await once("off", -1); // warm up
for (let r = 0; r < rounds; r++) {
  for (const mode of ["off", "plain", "terminal"] as const) times[mode].push(await once(mode, r));
}
const off = median(times.off);
for (const mode of ["off", "plain", "terminal"] as const) {
  const us = median(times[mode]);
  console.log(JSON.stringify({
    bench: "display_overhead",
    runtime: (await import("../mod.ts")).detectRuntime(),
    runner,
    mode,
    tasks: N,
    usPerTaskMedian: Number(us.toFixed(2)),
    overheadPercent: Number(((us / off - 1) * 100).toFixed(1)),
  }));
}
