/**
 * Maps the runner names a Lab accepts to backend classes.
 *
 * @module
 */
import { AsyncRunnerBackend } from "./async.ts";
import type { RunnerBackend } from "../core/runner.ts";
import { SerialRunnerBackend } from "./serial.ts";

/**
 * The runner names a Lab accepts.
 *
 * @example
 * ```ts
 * import type { RunnerName } from "./backends.ts";
 * import { Lab } from "../lab/lab.ts";
 * import assert from "node:assert/strict";
 * const runner: RunnerName = "thread";
 * assert.equal(new Lab({ storage: null, runner }).runner, "thread");
 * ```
 */
export type RunnerName = "serial" | "async" | "thread" | "spawn" | "fork";

const BACKENDS: Record<RunnerName, () => Promise<RunnerBackend>> = {
  serial: () => Promise.resolve(new SerialRunnerBackend()),
  async: () => Promise.resolve(new AsyncRunnerBackend()),
  thread: () => import("./thread.ts").then((m) => new m.ThreadRunnerBackend()),
  spawn: () => import("./spawn.ts").then((m) => new m.SpawnRunnerBackend()),
  fork: () => import("./fork.ts").then((m) => new m.ForkRunnerBackend()),
};

/**
 * The backend for a runner option: a name or a backend object.
 *
 * @throws {TypeError} for anything else.
 */
export function resolveBackend(runner: RunnerName | RunnerBackend): Promise<RunnerBackend> {
  if (typeof runner === "string" && Object.hasOwn(BACKENDS, runner)) return BACKENDS[runner]();
  if (typeof runner === "object" && runner !== null && typeof runner.buildRunner === "function") {
    return Promise.resolve(runner);
  }
  throw new TypeError(
    `Cannot use runner ${JSON.stringify(runner)}: use "serial", "async", "thread", "spawn", ` +
      `"fork" or an object with a buildRunner method`,
  );
}
