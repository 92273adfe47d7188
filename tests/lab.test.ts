import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { describe, test } from "node:test";
import {
  Lab,
  LabError,
  MemoryStorage,
  type RunnerBackend,
  type RunObserver,
  SerialRunnerBackend,
  type Storage,
  type Task,
  task,
  type TaskType,
} from "../mod.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";
import { captureFailure, captureLogs, tempDir } from "./_helpers.ts";

type Num = Task<{ n: number }, number>;
const calls: string[] = [];
const source = task({
  name: "LabTestSource",
  run: (p: { n: number }) => (calls.push(`source ${p.n}`), p.n),
});
const double = task({
  name: "LabTestDouble",
  run: (p: { x: Num }) => (calls.push(`double ${p.x.params.n}`), p.x.result * 2),
});
const sum = task({
  name: "LabTestSum",
  run: (p: { parts: Num[] }) => p.parts.reduce((total, part) => total + part.result, 0),
});
const fails = task({
  name: "LabTestFails",
  run: (p: { n: number }): number => {
    throw new Error(`boom ${p.n}`);
  },
});

const quiet = { progress: false } as const;

for (const runner of ["serial", "async"] as const) {
  describe(`Lab with the ${runner} runner`, () => {
    const lab = (storage: Storage | null | string = new MemoryStorage(), extra = {}) =>
      new Lab({ storage, runner, ...extra });

    test("runs dependencies first and returns results keyed by the tasks passed in", async () => {
      calls.length = 0;
      const tasks = [
        double({ x: source({ n: 1 }) }),
        double({ x: source({ n: 2 }) }),
        source({ n: 3 }),
      ];
      const results = await lab().runTasks(tasks, quiet);
      assert.deepEqual([...results.keys()], tasks);
      assert.deepEqual([...results.values()], [2, 4, 3]);
      assert.ok(calls.indexOf("source 1") < calls.indexOf("double 1"));
      assert.ok(tasks[0]!.resultMeta!.start instanceof Date);
      assert.equal(typeof tasks[0]!.resultMeta!.durationMs, "number");
    });

    test("a task repeated under many objects runs once and every object gets its result", async () => {
      calls.length = 0;
      const a = source({ n: 7 });
      const b = source({ n: 7 });
      const viaA = double({ x: a });
      const viaB = double({ x: b });
      const results = await lab().runTasks(
        [viaA, viaB, sum({ parts: [a, b, source({ n: 7 })] })],
        quiet,
      );
      assert.deepEqual(calls.filter((c) => c === "source 7"), ["source 7"]);
      assert.deepEqual(calls.filter((c) => c === "double 7"), ["double 7"]);
      assert.equal(viaA.result, 14);
      assert.equal(viaB.result, 14);
      assert.equal([...results.values()][2], 21);
    });

    test("cached tasks load instead of running and their dependencies are not touched", async () => {
      const storage = new MemoryStorage();
      calls.length = 0;
      await lab(storage).runTasks([double({ x: source({ n: 5 }) })], quiet);
      assert.deepEqual(calls, ["source 5", "double 5"]);
      calls.length = 0;
      const again = double({ x: source({ n: 5 }) });
      const results = await lab(storage).runTasks([again], quiet);
      assert.deepEqual(calls, []);
      assert.equal(results.get(again), 10);
      assert.equal(again.params.x.resultMeta, null, "the dependency was neither run nor loaded");
      calls.length = 0;
      await lab(storage).runTasks([again], { ...quiet, bustCache: true });
      assert.deepEqual(calls, ["source 5", "double 5"]);
    });

    test("a dependency's result is released once no pending dependent needs it", async () => {
      const shared = source({ n: 11 });
      const root = double({ x: shared });
      await lab().runTasks([root, source({ n: 12 })], quiet);
      assert.equal(root.result, 22);
      assert.throws(() => shared.result, /released|not been run/);
      const kept = source({ n: 13 });
      await lab().runTasks([double({ x: kept }), kept], quiet);
      assert.equal(kept.result, 13, "a task passed in keeps its result");
    });

    test("continueOnFailure skips dependents of a failure, runs the rest, and throws a LabError", async () => {
      calls.length = 0;
      const broken = fails({ n: 1 });
      const dependent = double({ x: broken as unknown as Num });
      const grand = double({ x: dependent as unknown as Num });
      const fine = double({ x: source({ n: 20 }) });
      const { error, logs } = await captureFailure(() => lab().runTasks([grand, fine], quiet));
      assert.ok(error instanceof LabError);
      assert.equal(error.failed, 1);
      assert.equal(error.skipped, 2);
      assert.equal(error.causes[0]![1].message, "boom 1");
      assert.equal(fine.result, 40);
      assert.ok(!calls.some((c) => c.startsWith("double 1")), "dependents never run");
      assert.ok(logs.some((l) => l.level === "error" && l.message.includes("boom 1")));
    });

    test("without continueOnFailure the first failure cancels what has not started", async () => {
      calls.length = 0;
      const tasks = [
        fails({ n: 2 }),
        ...Array.from({ length: 20 }, (_, i) => source({ n: 100 + i })),
      ];
      const { error } = await captureFailure(() =>
        lab(new MemoryStorage(), { continueOnFailure: false, maxWorkers: 2 }).runTasks(tasks, quiet)
      );
      assert.ok(error instanceof LabError);
      assert.equal(error.failed, 1);
      const ran = calls.filter((c) => c.startsWith("source 1")).length;
      assert.ok(ran < 20, `only tasks already started may finish (ran ${ran})`);
      assert.equal(error.skipped, 20 - ran);
    });

    test("maxParallel limits how many of a type run at once", async () => {
      let running = 0;
      let peak = 0;
      const slow = task({
        name: `LabTestSlow_${runner}`,
        maxParallel: 2,
        run: async (p: { i: number }) => {
          peak = Math.max(peak, ++running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running--;
          return p.i;
        },
      });
      await lab(null, { maxWorkers: 6 }).runTasks(
        Array.from({ length: 8 }, (_, i) => slow({ i })),
        quiet,
      );
      assert.equal(peak, runner === "serial" ? 1 : 2);
    });

    test("context reaches tasks through filterContext and is not part of identity", async () => {
      const seen: unknown[] = [];
      const reader = task({
        name: `LabTestContext_${runner}`,
        filterContext: (p: { key: string }, context) => ({
          value: (context.data as Record<string, number>)[p.key],
        }),
        run: (
          _p: { key: string },
          ctx,
        ) => (seen.push(ctx.context, ctx.taskName), ctx.context.value),
      });
      const t = reader({ key: "b" });
      const before = t.cacheKey;
      const results = await lab(null, { context: { data: { a: 1, b: 2 } } }).runTasks([t], quiet);
      assert.equal(results.get(t), 2);
      assert.deepEqual(seen, [{ value: 2 }, `LabTestContext_${runner}[00]`]);
      assert.equal(t.cacheKey, before);
    });

    test("task loggers carry the task's name", async () => {
      const talker = task({
        name: `LabTestLogger_${runner}`,
        run: (_p: Record<string, never>, ctx) => ctx.logger.info("hello from the task"),
      });
      const { logs } = await captureLogs(() => lab(null).runTasks([talker({})], quiet));
      assert.ok(
        logs.some((l) =>
          l.source === `LabTestLogger_${runner}[00]` && l.message === "hello from the task"
        ),
      );
    });

    test("an aborted signal cancels tasks not yet started and reports the interruption", async () => {
      const controller = new AbortController();
      let started = 0;
      const waiter = task({
        name: `LabTestAbort_${runner}`,
        run: async (p: { i: number }) => {
          started++;
          if (started === 1) controller.abort();
          await new Promise((resolve) => setTimeout(resolve, 2));
          return p.i;
        },
      });
      const storage = new MemoryStorage();
      const tasks = Array.from({ length: 10 }, (_, i) => waiter({ i }));
      const { error, logs } = await captureFailure(() =>
        lab(storage, { maxWorkers: 2 }).runTasks(tasks, { ...quiet, signal: controller.signal })
      );
      assert.ok(error instanceof LabError);
      assert.match(error.message, /interrupted/);
      assert.ok(started < 10);
      assert.equal(error.skipped, 10 - started);
      assert.equal((await storage.findKeys()).length, started, "completed results are cached");
      assert.ok(logs.some((l) => /Interrupted/.test(l.message)));
    });

    test("storage: null serialises nothing", async () => {
      const { dir, cleanup } = tempDir();
      const cwd = process.cwd();
      try {
        process.chdir(dir);
        const odd = task({ name: `LabTestNoSerialise_${runner}`, run: () => ({ fn: () => 1 }) });
        const results = await lab(null).runTasks([odd({})], quiet);
        assert.equal(typeof (results.get(odd({})) ?? [...results.values()][0])?.fn, "function");
        assert.deepEqual(readdirSync(dir), []);
      } finally {
        process.chdir(cwd);
        cleanup();
      }
    });
  });
}

describe("Lab input checks", () => {
  test("a non-task in tasks is refused before anything runs", async () => {
    calls.length = 0;
    await assert.rejects(
      new Lab({ storage: null }).runTasks([source({ n: 1 }), { n: 1 } as unknown as Num], quiet),
      (e: Error) => e instanceof LabError && /tasks\[1\] is not a task/.test(e.message),
    );
    assert.deepEqual(calls, []);
  });

  test("a stale codeVersion at any depth is refused, naming the task", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const versioned = task({
        name: "LabTestVersioned",
        codeVersion: "v1",
        run: (p: { n: number }) => p.n,
      });
      const lab = new Lab({ storage: dir });
      await lab.runTasks([versioned({ n: 1 })], quiet);
      const [stale] = await lab.cachedTasks([versioned]);
      // Simulate a task stored by an older version of the code.
      const { makeTaskWithVersion } = await import("../core/task.ts");
      const old = makeTaskWithVersion(versioned as TaskType, stale!.params, "v0");
      await assert.rejects(
        lab.runTasks([double({ x: old as unknown as Num })], quiet),
        (e: Error) =>
          e instanceof LabError &&
          /LabTestVersioned\(n=1\).*codeVersion "v0".*"v1"/.test(e.message),
      );
    } finally {
      cleanup();
    }
  });

  test("bad options are refused with clear errors", () => {
    assert.throws(() => new Lab({ storage: null, maxWorkers: 0 }), RangeError);
    assert.throws(() => new Lab({ storage: 42 as unknown as string }), TypeError);
    assert.rejects(
      new Lab({ storage: null, runner: "gpu" as "serial" }).runTasks([], quiet),
      TypeError,
    );
  });

  test("the default storage is ./labtech_storage, with a warning", async () => {
    const { dir, cleanup } = tempDir();
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      const { value: lab, logs } = await captureLogs(() => Promise.resolve(new Lab()));
      assert.ok(logs.some((l) => l.level === "warn" && /labtech_storage/.test(l.message)));
      await lab.runTasks([source({ n: 77 })], quiet);
      assert.ok(existsSync(`${dir}/labtech_storage/${source({ n: 77 }).cacheKey}/metadata.json`));
      assert.equal(await lab.isCached(source({ n: 77 })), true);
      await lab.uncacheTasks([source({ n: 77 })]);
      assert.equal(await lab.isCached(source({ n: 77 })), false);
    } finally {
      process.chdir(cwd);
      cleanup();
    }
  });

  test("a deep chain runs without recursion limits", async () => {
    const link = task({ name: "LabTestLink", run: (p: { prev: Task | null; i: number }) => p.i });
    let t = link({ prev: null, i: 0 });
    for (let i = 1; i < 20_000; i++) t = link({ prev: t, i });
    assert.equal(await new Lab({ storage: null }).runTask(t, quiet), 19_999);
  });
});

describe("Lab run lifecycle", () => {
  /** A backend that counts runners built and closed; `onBuild` runs inside buildRunner. */
  function countingBackend(onBuild: () => void = () => {}) {
    const counts = { built: 0, closed: 0 };
    const backend = {
      async buildRunner(options: Parameters<RunnerBackend["buildRunner"]>[0]) {
        counts.built++;
        const inner = await new SerialRunnerBackend().buildRunner(options);
        onBuild();
        const close = inner.close.bind(inner);
        inner.close = () => (counts.closed++, close());
        return inner;
      },
    };
    return { backend, counts };
  }

  test("an aborted signal is refused before any runner is built", async () => {
    const { backend, counts } = countingBackend();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      new Lab({ storage: null, runner: backend }).runTasks([source({ n: 1 })], {
        ...quiet,
        signal: controller.signal,
      }),
      (e: Error) => e instanceof LabError && /already aborted/.test(e.message),
    );
    assert.deepEqual(counts, { built: 0, closed: 0 });
  });

  test("a runner is closed when the run fails between building and running", async () => {
    const controller = new AbortController();
    // Aborted while the runner is being built: refused after building, before running.
    const { backend, counts } = countingBackend(() => controller.abort());
    calls.length = 0;
    await assert.rejects(
      new Lab({ storage: null, runner: backend }).runTasks([source({ n: 2 })], {
        ...quiet,
        signal: controller.signal,
      }),
      (e: Error) =>
        e instanceof LabError && /signal was aborted while the runner started/.test(e.message),
    );
    assert.deepEqual(counts, { built: 1, closed: 1 });
    assert.deepEqual(calls, []);
    // And on success and on failure alike.
    await new Lab({ storage: null, runner: backend }).runTasks([source({ n: 3 })], quiet);
    await assert.rejects(
      new Lab({ storage: null, runner: backend }).runTasks([fails({ n: 1 })], quiet),
      LabError,
    );
    assert.deepEqual(counts, { built: 3, closed: 3 });
  });

  test("a custom observer receives the run, dependencies first, and no built-in display is drawn", async () => {
    const adapter = await loadRuntimeAdapter();
    const { write, isTerminal } = adapter;
    let drawn = "";
    adapter.write = (stream, text) =>
      void (stream === "stderr" ? (drawn += text) : write(stream, text));
    adapter.isTerminal = () => true;
    try {
      const events: string[] = [];
      const observer: RunObserver = {
        start: (totals) =>
          events.push(`start ${[...totals].map(([t, n]) => `${t}=${n}`).join(" ")}`),
        add: (more) => events.push(`add ${[...more.keys()].join(" ")}`),
        taskDone: (type, outcome) => events.push(`done ${type} cached=${outcome.cached}`),
        update: () => {},
        end: () => events.push("end"),
      };
      const tasks = [sum({ parts: [source({ n: 1 }), source({ n: 2 })] })];
      await new Lab({ storage: null }).runTasks(tasks, { observer });
      assert.deepEqual(events, [
        "start LabTestSource=2 LabTestSum=1",
        "done LabTestSource cached=false",
        "done LabTestSource cached=false",
        "done LabTestSum cached=false",
        "end",
      ]);
      assert.equal(drawn, "");
      // The same run without an observer draws on the (pretend) terminal.
      await new Lab({ storage: null }).runTasks(tasks, { top: false });
      assert.match(drawn, /LabTestSum/);
    } finally {
      adapter.write = write;
      adapter.isTerminal = isTerminal;
    }
  });

  test("cachedTasks matches entries by the stored type name, never a key prefix", async () => {
    const storage = new MemoryStorage();
    const a = task({ name: "LabTestPrefix", run: (p: { n: number }) => p.n });
    const lab = new Lab({ storage });
    await lab.runTasks([a({ n: 1 }), a({ n: 2 })], quiet);
    const encoder = new TextEncoder();
    // An entry of a type named "LabTestPrefix__b" (as an older version could write).
    const other = `LabTestPrefix__b__${"e".repeat(40)}`;
    await storage.write(other, "data.json", encoder.encode("1"));
    await storage.write(
      other,
      "metadata.json",
      encoder.encode(JSON.stringify({
        cacheKey: other,
        cacheFormat: "json/1",
        dataFile: "data.json",
        task: { name: "LabTestPrefix__b", codeVersion: null, params: { n: 3 } },
        start: null,
        durationMs: 1,
      })),
    );
    // And a half-written entry of LabTestPrefix itself: skipped with a warning.
    const broken = `LabTestPrefix__${"d".repeat(40)}`;
    await storage.write(broken, "metadata.json", encoder.encode("{half"));
    const { value: found, logs } = await captureLogs(() => lab.cachedTasks([a]));
    assert.deepEqual(found.map((t) => t.params.n).sort(), [1, 2]);
    assert.deepEqual(logs.map((l) => l.message), [
      `Skipping cache entry ${broken}: Cannot read cache entry ${broken}: its metadata.json is not valid JSON`,
    ]);
  });
});
