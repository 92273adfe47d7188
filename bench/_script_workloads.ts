/**
 * Workloads that are scripts of their own, each measuring several things
 * side by side and printing a markdown table: `disk` (bench/disk_entries.ts:
 * entries on the ordinary disk, every runtime in one run) and `cluster`
 * (bench/cluster.ts: BullMQ on a local Redis, per runtime that runs workers
 * from source). `bench/main.ts` runs them and adds their tables to the report.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

/** One script run: its table, or why there is none. */
export interface ScriptSection {
  /** The section's heading. */
  title: string;
  /** The markdown the script printed (its table), or a line saying it failed. */
  markdown: string;
}

function runScript(root: string, cmd: string, args: string[], timeoutMs: number): string {
  const result = spawnSync(cmd, args, { cwd: root, encoding: "utf8", timeout: timeoutMs });
  // The table, and any note in italics after it (e.g. a peer that could not run).
  const table = (result.stdout ?? "").split("\n").filter((line) => /^[|_]/.test(line));
  if (result.status === 0 && table.length > 0) {
    return table.join("\n").replace(/\n_/, "\n\n_");
  }
  const why = result.error?.message ?? (result.stderr ?? "").trim().split("\n").at(-1) ?? "";
  return `_Not measured: \`${[cmd, ...args].join(" ")}\` failed (${why || result.status})._`;
}

/**
 * Entries on the machine's ordinary disk: the bare entry write against
 * LocalStorage, LmdbStorage and a Lab using each, every runtime in one run,
 * and Python Labtech's fresh serial per-task time in the same run.
 */
export function diskSection(
  root: string,
  options: { bin: string; n: number; rounds: number; dir: string },
): ScriptSection {
  const args = ["run", "-A", "bench/disk_entries.ts", "--n", String(options.n)];
  args.push("--rounds", String(options.rounds), "--dir", options.dir);
  return {
    title: `Entries on disk (${options.dir}), every runtime side by side, ms per entry`,
    markdown: runScript(root, join(options.bin, "deno"), args, 30 * 60_000),
  };
}

/** The cluster workload on one runtime: per-task overhead, throughput, recovery after kill -9. */
export function clusterSection(
  root: string,
  options: { bin: string; runtime: "deno" | "bun"; quick: boolean },
): ScriptSection {
  const args = options.runtime === "deno"
    ? ["run", "-A", "bench/cluster.ts"]
    : ["bench/cluster.ts"];
  if (options.quick) args.push("--quick");
  return {
    title: `Cluster (BullMQ on a local Redis, two workers) on ${options.runtime}`,
    markdown: runScript(root, join(options.bin, options.runtime), args, 15 * 60_000),
  };
}
