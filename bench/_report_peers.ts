/**
 * The "peers" section of the benchmark report: labtech's worker backends
 * against what a JavaScript user would pick instead, measured side by side
 * in one process (see `_peers.ts`).
 *
 * @module
 */
import { fmt, median, table } from "./_report.ts";
import type { PeerPair } from "./_peers.ts";
import type { WorkloadResult } from "./run_workload.ts";

/** The most ours ÷ peer may be, per backend. */
const TARGETS: Record<string, number> = { thread: 1.2, async: 1.2, spawn: 1.5, fork: 1.5 };

/**
 * The section's lines, and a target check per backend and runtime.
 *
 * @param results Every workload result of the run.
 * @param check Records a target as met or not.
 * @returns The Markdown lines, or none when no peers ran.
 */
export function renderPeers(
  results: readonly WorkloadResult[],
  check: (ok: boolean | null, text: string) => void,
): string[] {
  const rows: string[][] = [];
  let n = 0;
  for (const r of results) {
    if (r.workload !== "peers" || r.error) continue;
    n = r.n;
    for (const p of (r.pairs ?? []) as PeerPair[]) {
      const ours = median(p.ours_ms), peer = median(p.peer_ms);
      const ratio = ours !== null && peer !== null && peer > 0 ? ours / peer : null;
      const target = TARGETS[p.ours] ?? 1.2;
      const serial = median(p.reference?.serial ?? []);
      const ipc2 = median(p.reference?.ipc2 ?? []);
      const half = median(p.reference?.half ?? []);
      const peerEnd = median(p.reference?.peer_end ?? []);
      // T(n) = start-up + n × warm and T(n/2) = start-up + n/2 × warm, per task: ours and half.
      const warm = ours === null || half === null ? null : 2 * ours - half;
      const startup = ours === null || warm === null ? null : (ours - warm) * r.n;
      rows.push([
        r.runtime,
        p.ours,
        p.peer,
        fmt(ours, 4),
        fmt(peer, 4),
        fmt(ratio, 3),
        fmt(serial, 4),
        fmt(warm, 4),
        fmt(startup, 0),
        ipc2 === null ? "" : fmt(ipc2, 4),
        ipc2 === null || ours === null ? "" : fmt(ours / ipc2, 3),
        peerEnd === null ? "" : fmt(peerEnd, 1),
      ]);
      if (p.error) rows.at(-1)![5] = `error: ${p.error.split("\n")[0]}`;
      check(
        ratio === null ? null : ratio <= target,
        `peers/${r.runtime} ${p.ours} ÷ ${p.peer} ≤ ${target}: ${fmt(ratio, 3)}`,
      );
    }
  }
  if (rows.length === 0) return [];
  return [
    `\n### Peers: ${n} trivial tasks, 2 workers, \`storage: null\`, alternating A/B rounds (ms per task)\n`,
    table([
      "runtime",
      "labtech",
      "peer",
      "labtech",
      "peer",
      "labtech ÷ peer",
      "serial (the Lab alone)",
      "labtech once started",
      "labtech start-up (ms)",
      "bare IPC, 2 children",
      "labtech ÷ that",
      "peer's destroy() (ms)",
    ], rows),
    "\nThe serial column is the Lab's own per-task work with no pool, timed in the same rounds:" +
    " what of labtech's time is not the pool's. Labtech's time splits into its workers' start-up" +
    " and a cost per task once they run, from rounds with half the tasks in the same run" +
    " (T(n) = start-up + n × per task); the bare IPC figures leave their children's start-up" +
    " out. Bare IPC with 2 children keeps two echo" +
    " subprocesses busy at once, as a pool of two does; the round trip is one at a time." +
    " Labtech's time ends when its workers have exited (runTasks waits for them); the thread" +
    " peer's ends with its last result, and its destroy() is shown apart.\n",
  ];
}
