/**
 * CPU and memory figures for the task table, shared by every runner: one way
 * to sample CPU time and turn two samples into a percentage.
 *
 * @module
 */
import type { TaskMonitorInfo } from "../core/runner.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import { processUsage } from "./_proc_usage.ts";

/** CPU time (µs) a process had used at a moment (ms, `performance.now()`). */
export interface CpuSample {
  cpuMicros: number;
  at: number;
}

/** A running task as the monitor sees it. */
export interface MonitoredTask {
  name: string;
  status: "running" | "loading";
  start: Date;
  /** The sample its CPU percentage is measured from, or null before the first. */
  sample: CpuSample | null;
}

/**
 * Where a task runs: this process (`"here"`: a thread or the Lab's own, which
 * cannot be told apart from the process), another process (`"process"`:
 * its own figures, from `/proc` on Linux), or not yet anywhere.
 */
export interface TaskPlace {
  usage: "here" | "process" | "none";
  pid: number;
  threadId: number | null;
}

// Reading process CPU time costs tens of µs on Deno (over half of a trivial
// task's overhead), so task starts share one sample per this many ms.
const START_SAMPLE_MS = 10;

/** Samples CPU time and memory for a runner's `getTaskInfos`. */
export class UsageMonitor {
  readonly #runtime: RuntimeAdapter;
  #startSample: CpuSample = { cpuMicros: 0, at: -Infinity };

  /** @param runtime The adapter that reads this process's figures. */
  constructor(runtime: RuntimeAdapter) {
    this.#runtime = runtime;
  }

  /**
   * A sample of this process for a task starting now; starts within a few
   * milliseconds of each other share one, since a sample is not free.
   *
   * @param now `performance.now()`, when the caller has it already.
   * @returns The shared sample (do not modify it).
   */
  startSample(now: number = performance.now()): CpuSample {
    if (now - this.#startSample.at >= START_SAMPLE_MS) {
      this.#startSample = { cpuMicros: this.#runtime.cpuMicros(), at: now };
    }
    return this.#startSample;
  }

  /**
   * One entry per task, with CPU use since each task's `sample`.
   *
   * @param tasks The running tasks.
   * @param placeOf Where each one runs.
   * @param since `"start"` keeps each task's sample (CPU since it started);
   *   `"lastLook"` replaces it with this look's (CPU since the last look).
   * @returns The task table's rows.
   */
  infos<T extends MonitoredTask>(
    tasks: Iterable<T>,
    placeOf: (task: T) => TaskPlace,
    since: "start" | "lastLook",
  ): TaskMonitorInfo[] {
    const now = performance.now();
    let here: { cpuMicros: number; rssBytes: number } | null = null;
    const out: TaskMonitorInfo[] = [];
    for (const task of tasks) {
      const place = placeOf(task);
      const usage = place.usage === "here"
        ? here ??= { cpuMicros: this.#runtime.cpuMicros(), rssBytes: this.#runtime.rssBytes() }
        : place.usage === "process"
        ? processUsage(place.pid)
        : null;
      let cpuPercent: number | null = null;
      if (usage !== null) {
        cpuPercent = cpuPercentSince(task.sample, { cpuMicros: usage.cpuMicros, at: now });
        if (since === "lastLook") task.sample = { cpuMicros: usage.cpuMicros, at: now };
      }
      out.push({
        name: task.name,
        status: task.status,
        pid: place.pid,
        threadId: place.threadId,
        start: task.start,
        cpuPercent,
        rssBytes: usage?.rssBytes ?? null,
        children: null,
      });
    }
    return out;
  }
}

/** CPU use between two samples in percent of one core, or null when no time passed. */
function cpuPercentSince(from: CpuSample | null, to: CpuSample): number | null {
  if (from === null || to.at <= from.at) return null;
  return ((to.cpuMicros - from.cpuMicros) / ((to.at - from.at) * 1000)) * 100;
}
