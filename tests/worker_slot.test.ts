/**
 * Why a pool worker ended, as its slot says it: under a TypeScript loader that
 * does not reach worker threads (tsx on Node), the reason says why and what to do.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { WorkerSlot } from "../runners/_worker_slot.ts";

test("a worker thread that cannot load a .ts entry says why and what to do", () => {
  const slot = new WorkerSlot<{ id: number; name: string }>(null, null);
  const reason = 'it failed: Unknown file extension ".ts" for /lab/runners/_thread_entry.ts';
  const said = slot.exitReason(reason);
  assert.ok(said.startsWith(`${reason}; Node cannot load the TypeScript worker entry`), said);
  assert.match(said, /such as tsx/);
  assert.match(said, /use the spawn or fork backend, run the compiled JavaScript build/);
  assert.equal(slot.exitReason("it was killed (SIGKILL)"), "it was killed (SIGKILL)");
});
