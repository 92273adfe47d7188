/**
 * Deno's watchdog for a worker subprocess (see `_parent_watch.ts`), run as a
 * Web Worker: Deno starts a `node:worker_threads` thread synchronously and
 * takes about twice as long for it (it boots the Node compatibility layer),
 * which delayed every subprocess's first task. The watchdog is never
 * terminated, so the reason the thread backend avoids Web Workers does not
 * apply. Its name is the parent's pid.
 *
 * @module
 */

interface DenoWatch {
  readonly ppid: number;
  readonly pid: number;
  kill(pid: number, signal: "SIGKILL"): void;
}

const POLL_MS = 250;

const scope = globalThis as unknown as { name?: string; Deno?: DenoWatch };
const parent = Number(scope.name);
const deno = scope.Deno;
// Only inside the Web Worker that deno.ts starts, whose name is the parent's pid.
if (deno !== undefined && Number.isInteger(parent) && parent > 0) {
  const check = () => {
    if (deno.ppid !== parent) deno.kill(deno.pid, "SIGKILL");
  };
  check();
  setInterval(check, POLL_MS);
}
