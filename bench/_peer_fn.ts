/**
 * The trivial function the peer pools (piscina, tinypool) run in their
 * workers: the same work as `BenchTrivial`'s `run`.
 *
 * @module
 */

/** Returns `i`. */
export default function trivialFn(p: { i: number }): number {
  return p.i;
}
