/**
 * How tasks travel to a pool worker (`encodeRun`, `TaskRebuilder`): each task
 * a worker must hold is sent once, nested tasks by reference; a task sent only
 * to be run is not held after its run, so a worker holds no more than the
 * dependencies it may be asked for again.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Task } from "../mod.ts";
import { encodeRun, TaskRebuilder } from "../runners/_task_wire.ts";
import { counted, sum } from "./fixtures/workers/tasks.ts";

const request = (id: number, task: Task) => ({
  id,
  task,
  taskName: `T${id}`,
  useCache: false,
  context: null,
});

test("a run message sends each task the worker lacks once; the task to run is not held", async () => {
  const known = new Set<string>();
  const shared = counted({ x: 1, log: "/dev/null" });
  const first = sum({ deps: [shared], add: 10 });
  const second = sum({ deps: [shared], add: 20 });
  const results = new Map<Task, { value: unknown; meta: { start: null; durationMs: null } }>([
    [shared, { value: 1, meta: { start: null, durationMs: null } }],
  ]);
  const resultOf = (dep: Task) => results.get(dep);

  const m1 = encodeRun(request(1, first), known, resultOf);
  assert.deepEqual(m1.tasks.map(([key]) => key), [shared.cacheKey, first.cacheKey]);
  assert.deepEqual([...known], [shared.cacheKey], "the dependency is held, the task run is not");
  const m2 = encodeRun(request(2, second), known, resultOf);
  assert.deepEqual(m2.tasks.map(([key]) => key), [second.cacheKey], "the dependency by reference");

  const worker = new TaskRebuilder();
  const rebuilt1 = await worker.rebuild(m1);
  assert.equal(rebuilt1.cacheKey, first.cacheKey);
  assert.equal((rebuilt1.params.deps[0] as Task).result, 1, "its dependency's result is set");
  worker.release(m1.key);
  const rebuilt2 = await worker.rebuild(m2);
  assert.equal(rebuilt2.cacheKey, second.cacheKey);
  worker.release(m2.key);

  // The worker dropped both tasks it ran: a message naming one without sending it fails.
  await assert.rejects(worker.rebuild({ ...m1, tasks: [] }), /is unknown/);
  // A leaf run again is sent again, and the pool's side never holds it.
  const m3 = encodeRun(request(3, shared), new Set(), resultOf);
  assert.deepEqual(m3.tasks.map(([key]) => key), [shared.cacheKey]);
});
