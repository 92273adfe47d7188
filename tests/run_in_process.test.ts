/**
 * The Lab's own thread (serial, async) on its fast paths: a synchronous task
 * finishes without a promise, one timer serves consecutive waits, and a run
 * of synchronous tasks still lets timers in between tasks.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Lab, MemoryStorage, task } from "../mod.ts";
import { Outcomes } from "../runners/_outcomes.ts";
import { AsyncRunnerBackend } from "../runners/async.ts";
import { NullStorage } from "../storage/null_storage.ts";

const quiet = { progress: false, top: false } as const;

const syncTask = task({
  name: "RunInProcessSync",
  run: (p: { x: number }) => {
    if (p.x < 0) throw new Error(`negative ${p.x}`);
    return p.x * 2;
  },
});

const asyncTask = task({
  name: "RunInProcessAsync",
  run: async (p: { x: number }) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return p.x + 1;
  },
});

const thenableTask = task({
  name: "RunInProcessThenable",
  // A thenable that is not a Promise is awaited like one.
  run: (p: { x: number }) =>
    ({ then: (resolve: (value: number) => void) => resolve(p.x * 3) }) as unknown as Promise<
      number
    >,
});

const chained = task({
  name: "RunInProcessChained",
  run: (p: { dep: { result: number } }) => p.dep.result + 1,
});

describe("in-process runner fast paths", () => {
  for (const runner of ["serial", "async"] as const) {
    test(`${runner}: synchronous, async and thenable results, with and without storage`, async () => {
      for (const storage of [null, new MemoryStorage()]) {
        const tasks = [syncTask({ x: 1 }), asyncTask({ x: 1 }), thenableTask({ x: 1 })];
        const results = await new Lab({ storage, runner }).runTasks(tasks, quiet);
        assert.deepEqual([...results.values()], [2, 2, 3]);
        for (const t of tasks) assert.equal(typeof t.resultMeta?.durationMs, "number");
      }
    });

    test(`${runner}: a synchronous throw fails that task only, and dependents are skipped`, async () => {
      const bad = syncTask({ x: -1 });
      const good = syncTask({ x: 5 });
      const after = chained({ dep: bad });
      const lab = new Lab({ storage: null, runner, continueOnFailure: true });
      await assert.rejects(
        lab.runTasks([bad, good, after], quiet),
        (error: Error & { failed?: number; skipped?: number }) =>
          error.failed === 1 && error.skipped === 1,
      );
      assert.equal(good.result, 10);
    });

    test(`${runner}: results of dependencies reach dependents, and are released after`, async () => {
      const dep = syncTask({ x: 3 });
      const top = chained({ dep });
      const results = await new Lab({ storage: null, runner }).runTasks([top], quiet);
      assert.equal(results.get(top), 7);
      assert.throws(() => dep.result, /released/);
    });
  }

  test("a timer set during a run of synchronous tasks fires before the run ends", async () => {
    let fired = false;
    setTimeout(() => fired = true, 0);
    // Many synchronous tasks: the runner yields to the event loop between them now and then.
    const many = Array.from({ length: 5000 }, (_, x) => syncTask({ x }));
    let sawTimer = false;
    const watch = task({
      name: "RunInProcessWatch",
      run: (p: { n: number }) => (sawTimer ||= fired, p.n),
    });
    const watchers = Array.from({ length: 1000 }, (_, n) => watch({ n }));
    await new Lab({ storage: null, runner: "serial" }).runTasks([...many, ...watchers], quiet);
    assert.equal(sawTimer, true);
  });

  test("a runner's wait resolves with what finished in one batch", async () => {
    const runner = await new AsyncRunnerBackend().buildRunner({
      context: {},
      storage: new NullStorage(),
      maxWorkers: 2,
    });
    const tasks = [syncTask({ x: 7 }), syncTask({ x: 8 })];
    tasks.forEach((t, i) => runner.submitTask(t, `RunInProcessSync[0${i}]`, false));
    const outcomes = await runner.wait({ timeoutMs: null });
    assert.deepEqual(outcomes.map(([t]) => t), tasks);
    assert.equal(runner.getResult(tasks[1]!).value, 16);
    assert.equal(runner.pendingTaskCount(), 0);
    await runner.close();
  });
});

describe("Outcomes: one timer for consecutive waits", () => {
  test("a woken wait, then a wait that times out with [] and a wait that waits for ever", async () => {
    const outcomes = new Outcomes();
    const t = syncTask({ x: 1 });
    const first = outcomes.wait(60_000, 1);
    outcomes.push([t, { start: null, durationMs: null }]);
    assert.equal((await first).length, 1);
    // The long wait's timer must not hold up a short one.
    assert.deepEqual(await outcomes.wait(5, 1), []);
    // Nor may an earlier timer end a wait without a timeout.
    const endless = outcomes.wait(null, 1);
    let settled = false;
    void endless.then(() => settled = true);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(settled, false);
    outcomes.push([t, { start: null, durationMs: null }]);
    assert.equal((await endless).length, 1);
  });

  test("push without waking, then release, hands over every outcome at once", async () => {
    const outcomes = new Outcomes();
    const pending = outcomes.wait(60_000, 2);
    outcomes.push([syncTask({ x: 1 }), { start: null, durationMs: null }], false);
    outcomes.push([syncTask({ x: 2 }), { start: null, durationMs: null }], false);
    outcomes.release();
    assert.equal((await pending).length, 2);
    assert.deepEqual(await outcomes.wait(0, 0), []);
  });
});
