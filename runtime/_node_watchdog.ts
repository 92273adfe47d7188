/**
 * The watchdog of a worker subprocess on Node and Bun (see `_parent_watch.ts`),
 * run as a `node:worker_threads` thread whose `workerData` names the parent's
 * pid: it polls the parent pid and kills this whole process with SIGKILL once
 * the parent is gone (the child is then adopted, so its parent pid changes).
 * A module of its own so that only subprocesses load `node:worker_threads`
 * for it: Bun takes several milliseconds to load it in each thread worker.
 *
 * @module
 */
import process from "node:process";
import { workerData } from "node:worker_threads";

const POLL_MS = 250;

const parent = (workerData as { watchParent?: unknown } | null)?.watchParent;
if (typeof parent === "number") {
  const check = () => {
    if (process.ppid !== parent) process.kill(process.pid, "SIGKILL");
  };
  check();
  setInterval(check, POLL_MS);
}
