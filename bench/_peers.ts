/**
 * What a JavaScript user would pick instead of labtech, timed side by side
 * with it in one process, alternating A/B rounds (A first on even rounds, B
 * first on odd ones) so that load from elsewhere hits both alike: `thread`
 * against piscina (Node) or tinypool (Deno, Bun), `async` against p-queue,
 * `spawn` and `fork` against the bare IPC round trip. All with `storage:
 * null`, trivial tasks and two workers. Each round also times two references:
 * `serial` (the Lab's own per-task work, with no pool: the part of our time
 * that is not the pool's), ours with half the tasks (our time is a start-up,
 * which the bare IPC figures leave out, plus a cost per task) and, for spawn
 * and fork, bare IPC with two echo children kept busy (the round trip alone
 * is one message at a time, while a pool has two workers).
 *
 * @module
 */
import { Lab, type Task } from "../mod.ts";
import { detectRuntime } from "../runtime/detect.ts";
import { ipcPipelined, ipcRoundTrip } from "./_primitives.ts";
import { trivial } from "./_tasks.ts";
import trivialFn from "./_peer_fn.ts";

const EXT = import.meta.url.endsWith(".js") ? ".js" : ".ts";
const WORKERS = 2;

/** One comparison: milliseconds per task, one entry per round. */
export interface PeerPair {
  ours: string;
  peer: string;
  ours_ms: number[];
  peer_ms: number[];
  /**
   * Reference figures from the same rounds, by name: `serial` (the Lab's own
   * per-task work, no pool: what is not the pool's), `half` (ours with half
   * as many tasks: with `ours` it splits our time into the workers' start-up
   * and a per-task cost once they run), for spawn and fork `ipc2` (bare IPC
   * with as many echo children as workers, each kept busy), and for thread
   * `peer_end` (the peer pool's `destroy()`, ms per pool, left out of its time).
   */
  reference?: Record<string, number[]>;
  error?: string;
}

// A round that takes longer fails its pair instead of hanging the whole workload.
const ROUND_TIMEOUT_MS = 120_000;

function timed(what: string, round: () => Promise<number>): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish a round within ${ROUND_TIMEOUT_MS} ms`)),
      ROUND_TIMEOUT_MS,
    );
  });
  return Promise.race([round(), timeout]).finally(() => clearTimeout(timer));
}

async function labtech(backend: string, n: number): Promise<number> {
  const lab = new Lab({ storage: null, runner: backend as "serial", maxWorkers: WORKERS });
  const tasks: Task[] = Array.from({ length: n }, (_, i) => trivial({ i }));
  const t0 = performance.now();
  await lab.runTasks(tasks, { progress: false, top: false });
  return (performance.now() - t0) / n;
}

interface PeerPool {
  run(p: { i: number }): Promise<unknown>;
  destroy(): Promise<unknown>;
}

async function threadPeer(): Promise<{ name: string; make: () => Promise<PeerPool> }> {
  const filename = new URL(`./_peer_fn${EXT}`, import.meta.url).href;
  if (detectRuntime() === "node") {
    const { Piscina } = await import("piscina");
    return {
      name: "piscina",
      make: () =>
        Promise.resolve(new Piscina({ filename, minThreads: WORKERS, maxThreads: WORKERS })),
    };
  }
  const { Tinypool } = await import("tinypool");
  // On Deno a tinypool worker parked in Atomics.wait never wakes for its next task (it hangs
  // at the first one); without atomics it waits for messages on its port, which works.
  const useAtomics = detectRuntime() !== "deno";
  return {
    name: "tinypool",
    make: () =>
      Promise.resolve(
        new Tinypool({ filename, minThreads: WORKERS, maxThreads: WORKERS, useAtomics }),
      ),
  };
}

// A fresh pool per round, as a Lab starts its own: its start-up is part of the time. Its
// destroy() is not (the peer's results are there before it), but goes to `ends` (ms per pool):
// a Lab's runTasks returns once its workers have exited.
async function poolRound(
  make: () => Promise<PeerPool>,
  n: number,
  ends: number[],
): Promise<number> {
  const t0 = performance.now();
  const pool = await make();
  await Promise.all(Array.from({ length: n }, (_, i) => pool.run({ i })));
  const t1 = performance.now();
  await pool.destroy();
  ends.push(performance.now() - t1);
  return (t1 - t0) / n;
}

async function pQueueRound(n: number): Promise<number> {
  const { default: PQueue } = await import("p-queue");
  const t0 = performance.now();
  const queue = new PQueue({ concurrency: WORKERS });
  await Promise.all(Array.from({ length: n }, (_, i) => queue.add(() => trivialFn({ i }))));
  return (performance.now() - t0) / n;
}

// Rounds alternate which side goes first; references run between the two sides.
async function pair(
  ours: string,
  peer: string,
  rounds: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
  references: Record<string, () => Promise<number>> = {},
): Promise<PeerPair> {
  const out: PeerPair = { ours, peer, ours_ms: [], peer_ms: [], reference: {} };
  try {
    for (let r = 0; r < rounds; r++) {
      const sides = [
        async () => out.ours_ms.push(await timed(`labtech ${ours}`, a)),
        async () => out.peer_ms.push(await timed(peer, b)),
      ];
      if (r % 2 === 1) sides.reverse();
      await sides[0]!();
      for (const [name, round] of Object.entries(references)) {
        (out.reference![name] ??= []).push(await timed(name, round));
      }
      await sides[1]!();
    }
  } catch (error) {
    out.error = (error as Error).stack ?? String(error);
  }
  return out;
}

/**
 * Every comparison, `rounds` rounds of `n` tasks each.
 *
 * @param n Tasks per round.
 * @param rounds A/B rounds.
 * @param backends Which of labtech's backends to compare.
 * @returns One pair per backend.
 */
export async function comparePeers(
  n: number,
  rounds: number,
  backends: readonly string[],
): Promise<PeerPair[]> {
  const out: PeerPair[] = [];
  if (backends.includes("thread")) {
    let peer: { name: string; make: () => Promise<PeerPool> } | null = null;
    try {
      peer = await threadPeer();
    } catch (error) {
      out.push({
        ours: "thread",
        peer: "thread pool",
        ours_ms: [],
        peer_ms: [],
        error: String(error),
      });
    }
    if (peer !== null) {
      const { name, make } = peer;
      const ends: number[] = [];
      const result = await pair(
        "thread",
        name,
        rounds,
        () => labtech("thread", n),
        () => poolRound(make, n, ends),
        { serial: () => labtech("serial", n), half: () => labtech("thread", n / 2) },
      );
      result.reference!.peer_end = ends;
      out.push(result);
    }
  }
  if (backends.includes("async")) {
    out.push(
      await pair("async", "p-queue", rounds, () => labtech("async", n), () => pQueueRound(n)),
    );
  }
  for (const backend of ["spawn", "fork"]) {
    if (!backends.includes(backend)) continue;
    out.push(
      await pair(
        backend,
        "bare IPC round trip",
        rounds,
        () => labtech(backend, n),
        () => ipcRoundTrip(n),
        {
          serial: () => labtech("serial", n),
          half: () => labtech(backend, n / 2),
          ipc2: () => ipcPipelined(n, WORKERS),
        },
      ),
    );
  }
  return out;
}
