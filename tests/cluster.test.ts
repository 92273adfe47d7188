/**
 * The BullMQ cluster backend end to end: a real redis-server on loopback and
 * `labtech worker` subprocesses of this runtime running the fixture tasks.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BullMQRunnerBackend } from "../bullmq.ts";
import { Lab, LocalStorage, RunnerError } from "../mod.ts";
import { captureFailure, captureLogs, tempDir } from "./_helpers.ts";
import {
  clusterSkipReason,
  killWorkers,
  type RedisServer,
  skipsFail,
  startRedis,
  startWorker,
  type WorkerProcess,
} from "./_redis.ts";
import { big, counted, flaky, onGpu, square, sumBig, total } from "./fixtures/cluster/tasks.ts";
import { runWorkerCli } from "../cli/worker.ts";

const skip = clusterSkipReason();

function backend(url: string, extra: Record<string, unknown> = {}): BullMQRunnerBackend {
  return new BullMQRunnerBackend({
    connection: url,
    lockDurationMs: 2000,
    stalledIntervalMs: 1000,
    noWorkerWarningMs: 300,
    ...extra,
  });
}

/** The messages of an error and its causes, to match a cause's text. */
function causeText(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown) => {
    if (!(e instanceof Error) || seen.has(e)) return;
    seen.add(e);
    parts.push(`${e.name}: ${e.message}`);
    visit(e.cause);
    for (const inner of (e as { causes?: unknown[] }).causes ?? []) {
      visit(Array.isArray(inner) ? inner[1] : inner);
    }
    for (const inner of (e as { errors?: unknown[] }).errors ?? []) visit(inner);
  };
  visit(error);
  return parts.join("\n");
}

if (skip !== null && skipsFail()) {
  test("the cluster suite runs under CI", () => {
    assert.fail(`the cluster suite cannot run under CI: ${skip}`);
  });
}

describe("BullMQ cluster with two workers", { skip: skip ?? false, timeout: 90_000 }, () => {
  let redis: RedisServer;
  let workers: WorkerProcess[] = [];
  let temp: { dir: string; cleanup: () => void };

  // Starting workers takes seconds on a loaded machine: well past Bun's default hook timeout.
  before(async () => {
    temp = tempDir("labtech-cluster-");
    redis = await startRedis();
    workers = await Promise.all([
      startWorker(redis.url, { args: ["--concurrency", "2"] }),
      startWorker(redis.url, { args: ["--concurrency", "2"] }),
    ]);
  }, { timeout: 60_000 });

  after(async () => {
    await killWorkers(workers);
    await redis?.stop();
    temp?.cleanup();
  }, { timeout: 60_000 });

  test("a pipeline gives serial's results, and a rerun loads them without running", async () => {
    const storage = join(temp.dir, "pipeline");
    const log = join(temp.dir, "pipeline.log");
    writeFileSync(log, "");
    const parts = [1, 2, 3, 4, 5].map((x) => square({ x, ms: 20 }));
    const tasks = [
      total({ parts }),
      total({ parts: parts.slice(0, 2) }),
      counted({ x: 7, log, ms: 0 }),
    ];
    const context = { offset: 100 };
    const serial = await new Lab({ storage: null, context, runner: "serial" })
      .runTasks(tasks, { progress: false });
    writeFileSync(log, ""); // the serial run counted once
    const lab = new Lab({ storage, context, runner: backend(redis.url), maxWorkers: 4 });
    const { value: remote, logs } = await captureLogs(() =>
      lab.runTasks(tasks, { progress: false })
    );
    assert.deepEqual([...remote.values()], [...serial.values()]);
    assert.deepEqual([...remote.values()], [155, 105, 7]);
    // Task log lines and console output reach this log, labelled with the task and the host.
    assert.ok(
      logs.some((r) => /^ClusterSquare\[\d+\]@/.test(r.source) && r.message === "squaring 3"),
    );
    assert.ok(
      logs.some((r) => /^ClusterSquare\[\d+\]@/.test(r.source) && /printed 3/.test(r.message)),
    );
    assert.equal(readFileSync(log, "utf8").trim().split("\n").length, 1);
    // Rerun: everything loads from storage; the counted task does not run again.
    const again = await new Lab({ storage, context, runner: backend(redis.url) })
      .runTasks(tasks, { progress: false });
    assert.deepEqual([...again.values()], [155, 105, 7]);
    assert.equal(readFileSync(log, "utf8").trim().split("\n").length, 1);
    assert.deepEqual((await new LocalStorage(storage).findKeys()).length, 8);
  });

  test("an uncached result too large to travel inline reaches its dependent", async () => {
    const n = 50_000;
    const lab = new Lab({ storage: join(temp.dir, "big"), runner: backend(redis.url) });
    const result = await lab.runTask(sumBig({ big: big({ n }) }), { progress: false });
    assert.equal(result, (n * (n - 1)) / 2);
  });

  test("with storage: null, dependency results travel through Redis", async () => {
    const parts = [1, 2].map((x) => square({ x, ms: 0 }));
    const lab = new Lab({ storage: null, context: { offset: 1 }, runner: backend(redis.url) });
    assert.equal(await lab.runTask(total({ parts }), { progress: false }), 6);
  });

  test("an unknown type fails with an error naming it", async () => {
    const { unknownToWorkers } = await import("./fixtures/cluster/extra.ts");
    const lab = new Lab({ storage: null, runner: backend(redis.url), continueOnFailure: false });
    const { error } = await captureFailure(() =>
      lab.runTask(unknownToWorkers({}), { progress: false })
    );
    assert.match(
      causeText(error),
      /task type "ClusterUnknownToWorkers" is not defined by the modules this worker imported/,
    );
  });

  test("a wrong Redis password fails the run with an error naming the cause", async () => {
    const guarded = await startRedis({ password: "right" });
    try {
      const bad = guarded.url.replace(":right@", ":wrong@");
      const lab = new Lab({ storage: null, runner: backend(bad, { connectTimeoutMs: 3000 }) });
      await assert.rejects(
        lab.runTask(square({ x: 1, ms: 0 }), { progress: false }),
        (error: Error) =>
          error instanceof RunnerError &&
          /Cannot connect to Redis at 127\.0\.0\.1:\d+: WRONGPASS.*password/.test(error.message),
      );
    } finally {
      await guarded.stop();
    }
  });

  test("runnerOptions.bullmq: a task goes to its queue; attempts retry a task that throws", async () => {
    const gpu = await startWorker(redis.url, {
      args: ["--queue", "gpu", "--concurrency", "1"],
      env: { LABTECH_TEST_WORKER: "gpu-worker" },
    });
    workers.push(gpu);
    const lab = new Lab({ storage: null, runner: backend(redis.url) });
    assert.deepEqual(
      [...(await lab.runTasks([onGpu({ i: 0 }), onGpu({ i: 1 })], { progress: false })).values()],
      ["gpu-worker", "gpu-worker"],
    );
    const log = join(temp.dir, "flaky.log");
    writeFileSync(log, "");
    assert.equal(
      await lab.runTask(flaky({ log, failures: 2, attempts: 3 }), { progress: false }),
      3,
    );
    const once = join(temp.dir, "flaky_once.log");
    writeFileSync(once, "");
    const { error } = await captureFailure(() =>
      new Lab({ storage: null, runner: backend(redis.url), continueOnFailure: false })
        .runTask(flaky({ log: once, failures: 1, attempts: 1 }), { progress: false })
    );
    assert.match(causeText(error), /flaky run 1 failed/);
    assert.equal(readFileSync(once, "utf8").trim().split("\n").length, 1);
  });

  test("malformed runnerOptions.bullmq fail that task with a TypeError or RangeError", async () => {
    const { task } = await import("../mod.ts");
    const odd = task({
      name: "ClusterOddOptions",
      runnerOptions: (p: { bad: string }) => ({
        bullmq: p.bad === "key"
          ? { gpus: 1 }
          : p.bad === "queue"
          ? { queue: "a:b" }
          : { attempts: 0 },
      }),
      run: () => 1,
    });
    const runner = await backend(redis.url).buildRunner({
      context: {},
      storage: new LocalStorage(join(temp.dir, "odd")),
      maxWorkers: 3,
    });
    try {
      for (const bad of ["key", "queue", "attempts"]) {
        runner.submitTask(odd({ bad }), `Odd[${bad}]`, false);
      }
      const outcomes = await runner.wait({ timeoutMs: 1000 });
      assert.deepEqual(outcomes.map(([, e]) => (e as Error).name), [
        "TypeError",
        "TypeError",
        "RangeError",
      ]);
      assert.match(String(outcomes[0]![1]), /"bullmq" has an unknown key: received "gpus"/);
    } finally {
      await runner.close();
    }
  });
});

describe("labtech worker command line", () => {
  const run = async (args: string[]) => {
    let out = "";
    let err = "";
    const code = await runWorkerCli(args, { out: (t) => out += t, err: (t) => err += t });
    return { code, out, err };
  };

  test("--help documents every flag", async () => {
    const { code, out } = await run(["--help"]);
    assert.equal(code, 0);
    for (
      const flag of [
        "--redis",
        "--import",
        "--queue",
        "--concurrency",
        "--runner",
        "--prefix",
        "--lock-duration",
        "--stalled-interval",
        "--max-stalled-count",
        "--host",
        "--help",
      ]
    ) assert.ok(out.includes(flag), `--help does not document ${flag}`);
  });

  test("bad usage exits 2 with a message; a module that fails to import exits 1", async () => {
    assert.match((await run([])).err, /give --redis URL and at least one --import MODULE/);
    assert.equal((await run(["--redis", "redis://127.0.0.1:1"])).code, 2);
    assert.equal(
      (await run(["--redis", "redis://x", "--import", "./a.ts", "--runner", "ray"])).code,
      2,
    );
    assert.equal(
      (await run(["--redis", "redis://x", "--import", "./a.ts", "--concurrency", "0"])).code,
      2,
    );
    const missing = await run(["--redis", "redis://x", "--import", "./no/such/module.ts"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /Cannot start the worker: cannot import \.\/no\/such\/module\.ts/);
  });
});
