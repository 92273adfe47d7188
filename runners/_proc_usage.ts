/**
 * CPU time and resident memory of another process, read from `/proc` where
 * the OS has it (Linux); null elsewhere.
 *
 * @module
 */
import { readFileSync } from "node:fs";

const TICK_MICROS = 10_000; // USER_HZ is 100 on every Linux labtech runs on.
const PAGE_BYTES = 4096;

/** `{ cpuMicros, rssBytes }` of process `pid`, or null when it cannot be read. */
export function processUsage(pid: number): { cpuMicros: number; rssBytes: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after the command name, which may hold spaces, inside parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuMicros: cpuTicks * TICK_MICROS, rssBytes: rssPages * PAGE_BYTES };
  } catch {
    return null;
  }
}
