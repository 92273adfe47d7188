/**
 * Task types the benchmark workloads run. They live in their own module so
 * that worker backends (thread, spawn, fork) can import them by name.
 *
 * @module
 */
import { type Task, task } from "../mod.ts";

/** Doubles per big result: 655,360 × 8 bytes = 5 MiB. */
export const BIG_DOUBLES = 655_360;

/** A pure-JS CPU-bound loop; the same code is used to calibrate it. */
export function spin(iters: number): number {
  let acc = 0;
  for (let k = 0; k < iters; k++) acc = (acc + k * k) % 1_000_003;
  return acc;
}

/** Returns its parameter: measures pure per-task overhead. */
export const trivial = task({
  name: "BenchTrivial",
  run: (p: { i: number }) => p.i,
});

/** The one shared dependency of the fan-out workload. */
export const shared = task({
  name: "BenchShared",
  run: (p: { seed: number }) => p.seed,
});

/** A dependent of `shared`. */
export const dependent = task({
  name: "BenchDependent",
  run: (p: { i: number; dep: Task<{ seed: number }, number> }) => p.dep.result + p.i,
});

/** One link of the deep chain; `prev` is null for the first. */
export interface LinkParams {
  i: number;
  prev: Task<LinkParams, number> | null;
}

/** A link of the deep chain: one more than the previous link. */
export const link = task({
  name: "BenchLink",
  run: (p: LinkParams): number => (p.prev === null ? 0 : p.prev.result) + 1,
});

/** About 200 ms of pure-JS CPU work (iters calibrated per runtime). */
export const spinTask = task({
  name: "BenchSpin",
  run: (p: { i: number; iters: number }) => spin(p.iters) + p.i,
});

/** Returns a 5 MiB Float64Array. */
export const big = task({
  name: "BenchBig",
  run: (p: { i: number }) => {
    const values = new Float64Array(BIG_DOUBLES);
    for (let k = 0; k < values.length; k += 4096) values[k] = p.i + k;
    return values;
  },
});
