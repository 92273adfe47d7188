/**
 * Why a pool worker ended, as its slot says it: under a TypeScript loader that
 * does not reach worker threads (tsx on Node), the reason says why and what to do.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RuntimeAdapter, WorkerEvents } from "../runtime/adapter.ts";
import type { PoolStrategy } from "../runners/_pool_strategy.ts";
import { heldDepth, MAX_HELD, SHORT_TASK_MS, WorkerSlot } from "../runners/_worker_slot.ts";

test("a worker thread that cannot load a .ts entry says why and what to do", () => {
  const slot = new WorkerSlot<{ id: number; name: string }>(null, null);
  const reason = 'it failed: Unknown file extension ".ts" for /lab/runners/_thread_entry.ts';
  const said = slot.exitReason(reason);
  assert.ok(said.startsWith(`${reason}; Node cannot load the TypeScript worker entry`), said);
  assert.match(said, /such as tsx/);
  assert.match(said, /use the spawn or fork backend, run the compiled JavaScript build/);
  assert.equal(slot.exitReason("it was killed (SIGKILL)"), "it was killed (SIGKILL)");
});

type Job = { id: number; name: string };
const jobs = (from: number, to: number): Job[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, name: `T${from + i}` }));

/** A ready slot whose worker records what it is sent, and refuses messages marked bad. */
function readySlot(): { slot: WorkerSlot<Job>; sent: unknown[] } {
  const slot = new WorkerSlot<Job>(null, null);
  const sent: unknown[] = [];
  slot.handle = {
    pid: 1,
    threadId: null,
    send(message) {
      const all = Array.isArray(message) ? message : [message];
      if (all.some((m) => (m as { bad?: boolean }).bad)) throw new Error("cannot be cloned");
      sent.push(message);
    },
    terminate: () => Promise.resolve(),
  };
  slot.ready = true;
  return { slot, sent };
}

/**
 * Sends queued jobs to `slot` while it takes them, as a pool's pump does (an
 * idle worker takes one, then tasks go ahead, paired when another follows);
 * returns how many it took.
 */
function fill(slot: WorkerSlot<Job>, queue: Job[], depth: number): number {
  let taken = 0;
  while (queue.length > 0 && (slot.idleShared || slot.takesAhead(depth, queue.length > 1))) {
    const job = queue.shift()!;
    slot.send(job, { id: job.id }, depth);
    taken++;
  }
  return taken;
}

test("a worker holds one task ahead; short tasks behind short ones go three ahead, two per message", () => {
  const { slot, sent } = readySlot();
  const queue = jobs(1, 12);
  // Tasks not known to be short: the one it runs and one ahead, sent together.
  assert.equal(fill(slot, queue, 0), 2);
  assert.deepEqual(slot.flush(), []);
  assert.deepEqual(sent, [[{ id: 1 }, { id: 2 }]]);
  sent.length = 0;
  // A short task goes one ahead of a long one, never deeper behind it.
  slot.finished(1);
  assert.equal(fill(slot, queue, 4), 1);
  slot.flush();
  assert.deepEqual(sent, [{ id: 3 }]);
  sent.length = 0;
  // Behind short tasks only: up to four held, the rest in one message.
  slot.finished(2);
  assert.equal(fill(slot, queue, 4), 3);
  slot.flush();
  assert.deepEqual(sent, [[{ id: 4 }, { id: 5 }, { id: 6 }]]);
  sent.length = 0;
  // Holding three, it takes nothing until it is down to two, then two at once.
  slot.finished(3);
  assert.equal(fill(slot, queue, 4), 0);
  slot.finished(4);
  assert.equal(fill(slot, queue, 4), 2);
  slot.flush();
  assert.deepEqual(sent, [[{ id: 7 }, { id: 8 }]]);
  sent.length = 0;
  // A long task waits for a worker with nothing ahead, so no worker idles at a run's end
  // while another holds a queue behind a long task.
  assert.equal(slot.takesAhead(0, true), false);
  for (const id of [5, 6, 7]) slot.finished(id);
  assert.equal(fill(slot, queue, 0), 1);
  assert.equal(fill(slot, queue, 4), 0, "nothing more behind a long task");
  slot.flush();
  assert.deepEqual(sent, [{ id: 9 }]);
  sent.length = 0;
  // Cancel drops every task sent ahead at once, and tells the worker to skip each.
  assert.deepEqual(slot.dropAhead(true).map((j) => j.id), [9]);
  assert.deepEqual(sent, [{ kind: "cancel", id: 9 }]);
  assert.equal(slot.takesAhead(4, true), false, "nothing more until the worker answers for 9");
  assert.equal(slot.settled(9), true);
  assert.equal(slot.takesAhead(4, true), true);
});

test("the shorter a type's tasks, the more go ahead: at most sixteen held, refilled at half", () => {
  const { slot, sent } = readySlot();
  const queue = jobs(1, 40);
  assert.equal(fill(slot, queue, heldDepth(0.01)), MAX_HELD);
  assert.deepEqual(slot.flush(), []);
  assert.deepEqual(sent, [jobs(1, 16).map((job) => ({ id: job.id }))]);
  sent.length = 0;
  for (let id = 1; id <= 7; id++) slot.finished(id);
  assert.equal(fill(slot, queue, heldDepth(0.01)), 0, "holding nine: not yet");
  slot.finished(8);
  assert.equal(fill(slot, queue, heldDepth(0.01)), 8);
  slot.flush();
  assert.deepEqual(sent, [jobs(17, 24).map((job) => ({ id: job.id }))]);
  // Tasks of about a millisecond go four deep: a worker never holds much more than that of work.
  assert.equal(heldDepth(1), 4);
  assert.equal(heldDepth(SHORT_TASK_MS), 0);
});

test("a message that cannot be sent fails its own task only; the rest still go", () => {
  const { slot, sent } = readySlot();
  slot.send({ id: 1, name: "T1" }, { id: 1 }, 4);
  slot.send({ id: 2, name: "T2" }, { id: 2, bad: true }, 4);
  slot.send({ id: 3, name: "T3" }, { id: 3 }, 4);
  const failed = slot.flush();
  assert.deepEqual(failed.map(([job, error]) => [job.id, (error as Error).message]), [
    [2, "Cannot send T2 to its worker: cannot be cloned"],
  ]);
  assert.deepEqual(sent, [{ id: 1 }, { id: 3 }]);
  assert.equal(slot.job?.id, 1);
  assert.deepEqual(slot.ahead.map((j) => j.id), [3]);
});

test("a worker's event handlers let go of the pool once it has exited", async () => {
  // A runtime may keep a finished worker's streams, and the handlers given to it, for a while:
  // through them the pool (and every result it holds) must not stay reachable.
  const slot = new WorkerSlot<Job>(null, null);
  let held: WorkerEvents | null = null;
  const strategy = {
    start: (_runtime: unknown, events: WorkerEvents) => {
      held = events;
      return Promise.resolve({
        pid: 1,
        threadId: null,
        send() {},
        terminate: () => Promise.resolve(),
      });
    },
  } as unknown as PoolStrategy;
  const got: unknown[] = [];
  const exits: string[] = [];
  slot.start(strategy, {} as RuntimeAdapter, {
    message: (message) => got.push(message),
    exit: (reason) => exits.push(reason),
  }, () => false);
  await slot.started;
  const events = held! as WorkerEvents;
  events.message({ kind: "ready" });
  events.exit("it exited with code 0");
  events.message({ kind: "late" });
  events.exit("it exited again");
  assert.deepEqual(got, [{ kind: "ready" }]);
  assert.deepEqual(exits, ["it exited with code 0"]);
});
