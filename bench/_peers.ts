/**
 * What a JavaScript user would pick instead of labtech, timed side by side
 * with it in one process, alternating A/B rounds (A first on even rounds, B
 * first on odd ones) so that load from elsewhere hits both alike: `thread`
 * against piscina (Node) or tinypool (Deno, Bun), `async` against p-queue,
 * `spawn` and `fork` against the bare IPC round trip. All with `storage:
 * null`, trivial tasks and two workers.
 *
 * @module
 */
import { Lab, type Task } from "../mod.ts";
import { detectRuntime } from "../runtime/detect.ts";
import { ipcRoundTrip } from "./_primitives.ts";
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
  error?: string;
}

async function labtech(backend: string, n: number): Promise<number> {
  const lab = new Lab({ storage: null, runner: backend as "thread", maxWorkers: WORKERS });
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
  return {
    name: "tinypool",
    make: () =>
      Promise.resolve(new Tinypool({ filename, minThreads: WORKERS, maxThreads: WORKERS })),
  };
}

// A fresh pool per round, as a Lab starts its own: its start-up is part of the time.
async function poolRound(make: () => Promise<PeerPool>, n: number): Promise<number> {
  const t0 = performance.now();
  const pool = await make();
  await Promise.all(Array.from({ length: n }, (_, i) => pool.run({ i })));
  const ms = (performance.now() - t0) / n;
  await pool.destroy();
  return ms;
}

async function pQueueRound(n: number): Promise<number> {
  const { default: PQueue } = await import("p-queue");
  const t0 = performance.now();
  const queue = new PQueue({ concurrency: WORKERS });
  await Promise.all(Array.from({ length: n }, (_, i) => queue.add(() => trivialFn({ i }))));
  return (performance.now() - t0) / n;
}

async function pair(
  ours: string,
  peer: string,
  rounds: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<PeerPair> {
  const out: PeerPair = { ours, peer, ours_ms: [], peer_ms: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        out.ours_ms.push(await a());
        out.peer_ms.push(await b());
      } else {
        out.peer_ms.push(await b());
        out.ours_ms.push(await a());
      }
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
      out.push(
        await pair("thread", name, rounds, () => labtech("thread", n), () => poolRound(make, n)),
      );
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
      ),
    );
  }
  return out;
}
