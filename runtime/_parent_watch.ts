/**
 * Ends a worker subprocess soon after the process that started it dies, even
 * while a task blocks its event loop: a small thread polls the parent's pid
 * and kills its own process with SIGKILL once the parent is gone (the child
 * is then adopted, so its parent pid changes). This module is also that
 * thread's code, so that no extra file needs shipping.
 *
 * @module
 */
import process from "node:process";
import { isMainThread, Worker, workerData } from "node:worker_threads";

/** The environment variable that tells a worker subprocess its parent's pid. */
export const PARENT_PID_VARIABLE = "LABTECH_PARENT_PID";

const POLL_MS = 250;

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
  const watchdog = new Worker(new URL(import.meta.url), { workerData: { watchParent: parent } });
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

// In the watchdog thread: poll, and kill this whole process once the parent is gone.
const job = isMainThread ? null : (workerData as { watchParent?: unknown } | null)?.watchParent;
if (typeof job === "number") {
  const check = () => {
    if (process.ppid !== job) process.kill(process.pid, "SIGKILL");
  };
  check();
  setInterval(check, POLL_MS);
}
