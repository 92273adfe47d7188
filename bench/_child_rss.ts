/**
 * The memory of this process's subprocesses, for the bigresult workload on
 * spawn and fork: their workers hold each result while they run and save it,
 * which the Lab process's own RSS does not show.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/**
 * Sums the resident memory of this process's direct children, from `/proc`
 * (Linux; each thread lists the children it started, and runtimes start them
 * from different threads). Children that exit while it reads are skipped.
 *
 * @returns Bytes, or null where `/proc` is not there.
 *
 * @example
 * ```ts
 * import { childrenRssBytes } from "./_child_rss.ts";
 * const bytes = childrenRssBytes();
 * console.log(bytes === null ? "no /proc here" : `${bytes} bytes in children`);
 * ```
 */
export function childrenRssBytes(): number | null {
  let threads: string[];
  try {
    threads = readdirSync("/proc/self/task");
  } catch {
    return null;
  }
  let total = 0;
  for (const thread of threads) {
    for (const pid of readOr(`/proc/self/task/${thread}/children`).split(/\s+/)) {
      if (pid === "") continue;
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(readOr(`/proc/${pid}/status`));
      if (rss !== null) total += Number(rss[1]) * 1024;
    }
  }
  return total;
}

// A /proc file's text, or "" when it is gone.
function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
