/**
 * Ends a worker subprocess soon after the process that started it dies, even
 * while a task blocks its event loop: a small thread polls the parent's pid
 * and kills its own process with SIGKILL once the parent is gone (the child
 * is then adopted, so its parent pid changes). That thread's code is
 * `_node_watchdog.ts` (`_deno_watchdog.ts` on Deno).
 *
 * @module
 */
import process from "node:process";
import { nodeBuiltin } from "./_builtin.ts";

const EXT = import.meta.url.endsWith(".js") ? ".js" : ".ts";

/** The environment variable that tells a worker subprocess its parent's pid. */
export const PARENT_PID_VARIABLE = "LABTECH_PARENT_PID";

/**
 * The environment a worker subprocess is started with, naming this process as its parent.
 * @returns This process's environment plus {@link PARENT_PID_VARIABLE}.
 * @example
 * ```ts
 * import { childEnv, PARENT_PID_VARIABLE } from "./_parent_watch.ts";
 * import process from "node:process";
 * import assert from "node:assert/strict";
 * assert.equal(childEnv()[PARENT_PID_VARIABLE], String(process.pid));
 * ```
 */
export function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined) env[name] = value;
  }
  env[PARENT_PID_VARIABLE] = String(process.pid);
  return env;
}

/**
 * The parent's pid, as the adapter that started this subprocess said it.
 * @param env Where it is read from.
 * @returns The pid, or null when the process was not started by an adapter.
 * @example
 * ```ts
 * import { PARENT_PID_VARIABLE, parentPid } from "./_parent_watch.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parentPid({ [PARENT_PID_VARIABLE]: "42" }), 42);
 * assert.equal(parentPid({}), null);
 * ```
 */
export function parentPid(env: Record<string, string | undefined>): number | null {
  const parent = Number(env[PARENT_PID_VARIABLE]);
  return Number.isInteger(parent) && parent > 0 ? parent : null;
}

/**
 * In a worker subprocess: starts the watchdog thread. Does nothing when the
 * parent did not say its pid (the process was not started by an adapter).
 * @param env Where the parent's pid is read from.
 * @returns True when a watchdog was started.
 * @example
 * ```ts
 * import { watchParent } from "./_parent_watch.ts";
 * import assert from "node:assert/strict";
 * // Not started by an adapter: no parent pid, no watchdog.
 * assert.equal(watchParent({}), false);
 * ```
 */
export function watchParent(
  env: Record<string, string | undefined> = process.env,
): boolean {
  const parent = parentPid(env);
  if (parent === null) return false;
  // Loaded here, in subprocesses only: thread workers load this module too (Bun: several ms).
  const { Worker } = nodeBuiltin<typeof import("node:worker_threads")>("node:worker_threads");
  const entry = new URL(`./_node_watchdog${EXT}`, import.meta.url);
  const watchdog = new Worker(entry, { workerData: { watchParent: parent } });
  // Unwatched, the worker may outlive the Lab if the Lab is killed, but it can still run tasks.
  watchdog.on("error", (error) => {
    process.stderr.write(
      `labtech: the worker's watchdog did not start: ${(error as Error).message}\n`,
    );
  });
  watchdog.unref();
  return true;
}

/**
 * In a worker subprocess: wraps the channel's `send` so that the watchdog
 * starts right after the first message (the worker's "ready") has been sent.
 * Starting it costs a thread's start-up, which would otherwise delay that
 * message; no task can run before it, so a task that blocks is still watched.
 * @param send The channel's own send.
 * @param env Where the parent's pid is read from.
 * @param watch What starts the watchdog (a runtime's own kind of thread).
 * @returns The send to use instead.
 * @example
 * ```ts
 * import { watchAfterFirstSend } from "./_parent_watch.ts";
 * import assert from "node:assert/strict";
 * const sent: unknown[] = [];
 * const send = watchAfterFirstSend((m: unknown) => void sent.push(m), {});
 * send("ready");
 * assert.deepEqual(sent, ["ready"]);
 * ```
 */
export function watchAfterFirstSend<A extends unknown[]>(
  send: (...args: A) => void,
  env: Record<string, string | undefined> = process.env,
  watch: (env: Record<string, string | undefined>) => boolean = watchParent,
): (...args: A) => void {
  let watching = false;
  return (...args: A) => {
    send(...args);
    if (watching) return;
    watching = true;
    watch(env);
  };
}
