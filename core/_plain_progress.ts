/** A plain-text progress report: a line per task type as it advances. */
import type { Runner } from "../runners/runner.ts";
import { labLogger } from "./logger.ts";
import type { RunObserver, TaskOutcome } from "./observer.ts";

interface Counts {
  total: number;
  done: number;
  cached: number;
  failed: number;
}

const REPORT_EVERY_MS = 2000;

/** Prints each type's done/total every two seconds and once at the end. */
export class PlainProgress implements RunObserver {
  readonly #counts = new Map<string, Counts>();
  #started = 0;
  #lastReport = 0;

  start(totals: ReadonlyMap<string, number>): void {
    this.#started = this.#lastReport = Date.now();
    this.add(totals);
  }

  add(more: ReadonlyMap<string, number>): void {
    for (const [name, total] of more) {
      const counts = this.#counts.get(name) ?? { total: 0, done: 0, cached: 0, failed: 0 };
      counts.total += total;
      this.#counts.set(name, counts);
    }
  }

  taskDone(typeName: string, outcome: TaskOutcome): void {
    const counts = this.#counts.get(typeName);
    if (counts === undefined) return;
    counts.done++;
    if (outcome.cached) counts.cached++;
    if (outcome.failed) counts.failed++;
  }

  update(_runner: Runner): void {
    if (Date.now() - this.#lastReport >= REPORT_EVERY_MS) this.#report();
  }

  end(): void {
    this.#report();
  }

  #report(): void {
    this.#lastReport = Date.now();
    const elapsed = ((this.#lastReport - this.#started) / 1000).toFixed(1);
    for (const [name, c] of this.#counts) {
      const extra = [c.cached ? `${c.cached} from cache` : "", c.failed ? `${c.failed} failed` : ""]
        .filter(Boolean).join(", ");
      labLogger.info(
        `${name}: ${c.done}/${c.total} done in ${elapsed}s${extra ? ` (${extra})` : ""}`,
      );
    }
  }
}
