/**
 * Faults of the BullMQ cluster backend, each on a fresh redis-server with its
 * own `labtech worker` subprocesses: killed workers, tasks that block their
 * thread, stop, a Redis restart, no worker, stale code, an unreachable
 * storage, two Labs, and workers of all three runtimes on one queue.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, test } from "node:test";
import { BullMQRunnerBackend } from "../bullmq.ts";
import { Lab, type LogRecord, MemoryStorage, RunnerError, setLogSink, type Task } from "../mod.ts";
import type { StorageDescription } from "../core/storage.ts";
import { tempDir } from "./_helpers.ts";
import {
  clusterSkipReason,
  killWorkers,
  type RedisServer,
  skipsFail,
  startRedis,
  startWorker,
  type WorkerProcess,
} from "./_redis.ts";
import { busy, counted, sleeper, versioned, where } from "./fixtures/cluster/tasks.ts";

const skip = clusterSkipReason();
const options = { skip: skip ?? false, timeout: 60_000 };

if (skip !== null && skipsFail()) {
  test("the cluster fault suite runs under CI", () => assert.fail(`cannot run under CI: ${skip}`));
}

interface Cluster {
  redis: RedisServer;
  workers: WorkerProcess[];
  dir: string;
  backend: (extra?: Record<string, unknown>) => BullMQRunnerBackend;
}

async function withCluster(
  workerCount: number,
  fn: (cluster: Cluster) => Promise<void>,
  workerArgs: string[] = ["--concurrency", "1"],
): Promise<void> {
  const temp = tempDir("labtech-faults-");
  const redis = await startRedis();
  const workers: WorkerProcess[] = [];
  try {
    for (let i = 0; i < workerCount; i++) {
      workers.push(await startWorker(redis.url, { args: workerArgs }));
    }
    await fn({
      redis,
      workers,
      dir: temp.dir,
      backend: (extra = {}) =>
        new BullMQRunnerBackend({
          connection: redis.url,
          lockDurationMs: 2000,
          stalledIntervalMs: 1000,
          noWorkerWarningMs: 300,
          ...extra,
        }),
    });
  } finally {
    await killWorkers(workers);
    await redis.stop();
    temp.cleanup();
  }
}

// One cluster for the tests that leave their workers alive; the Redis restart test comes last.
let shared: Promise<Cluster> | null = null;
let releaseShared: () => void = () => {};
let sharedDone: Promise<void> = Promise.resolve();

function withShared(fn: (cluster: Cluster) => Promise<void>): Promise<void> {
  shared ??= new Promise<Cluster>((resolve, reject) => {
    const released = new Promise<void>((release) => releaseShared = release);
    sharedDone = withCluster(2, async (cluster) => {
      resolve(cluster);
      await released;
    }).catch(reject);
  });
  return shared.then(fn);
}

after(async () => {
  releaseShared();
  await sharedDone;
}, { timeout: 30_000 });

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [];
}

/** Resolves once `check` holds, polling a file the tasks write (no fixed sleeps). */
async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The worker whose process is the parent of `pid` (the task's child). */
function parentWorker(workers: WorkerProcess[], pid: number): WorkerProcess {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  const worker = workers.find((w) => w.pid === ppid);
  assert.ok(worker !== undefined, `no worker is the parent of ${pid} (parent ${ppid})`);
  return worker;
}

function killTaskAndWorker(workers: WorkerProcess[], childPid: number): WorkerProcess {
  const worker = parentWorker(workers, childPid);
  worker.kill("SIGKILL");
  try {
    process.kill(childPid, "SIGKILL");
  } catch { /* gone with its parent */ }
  return worker;
}

test(
  "kill -9 of a worker mid-task: recovered on another, completes once, cached once",
  options,
  async () => {
    await withCluster(2, async ({ workers, dir, backend }) => {
      const log = join(dir, "sleep.log");
      const storage = join(dir, "storage");
      const lab = new Lab({ storage, runner: backend() });
      const t = sleeper({ log, ms: 1500 });
      const running = lab.runTask(t, { progress: false });
      await until(() => lines(log).length === 1, "the task to start");
      const first = Number(lines(log)[0]!.split(" ")[1]);
      killTaskAndWorker(workers, first);
      assert.equal(await running, 1);
      const log2 = lines(log);
      assert.deepEqual(log2.map((l) => l.split(" ")[0]), ["start", "start", "end"]);
      assert.notEqual(log2[1]!.split(" ")[1], String(first));
      assert.deepEqual(await lab.cachedTasks([sleeper]).then((ts) => ts.length), 1);
    });
  },
);

test("a second death of the same task fails it with a RunnerError", options, async () => {
  await withCluster(2, async ({ redis, workers, dir, backend }) => {
    const log = join(dir, "sleep.log");
    const runner = await backend().buildRunner({
      context: {},
      storage: new MemoryStorage(),
      maxWorkers: 1,
    });
    try {
      const t = sleeper({ log, ms: 10_000 });
      runner.submitTask(t, "ClusterSleeper[00]", false);
      await until(() => lines(log).length === 1, "the first start");
      killTaskAndWorker(workers, Number(lines(log)[0]!.split(" ")[1]));
      await until(() => lines(log).length === 2, "the recovered start");
      killTaskAndWorker(workers, Number(lines(log)[1]!.split(" ")[1]));
      workers.push(await startWorker(redis.url, { args: ["--concurrency", "1"] })); // checks stalls
      let outcomes: Array<[Task, unknown]> = [];
      while (outcomes.length === 0) outcomes = await runner.wait({ timeoutMs: 1000 });
      const [, error] = outcomes[0]!;
      assert.ok(error instanceof RunnerError, String(error));
      assert.match(error.message, /ClusterSleeper\[00\] failed: the workers running it died/);
      assert.equal(lines(log).length, 2);
    } finally {
      await runner.close();
    }
  });
});

test("a task that blocks its thread far past the lock duration runs once", options, async () => {
  await withShared(async ({ dir, backend }) => {
    const log = join(dir, "busy.log");
    const lab = new Lab({ storage: null, runner: backend() });
    assert.equal(await lab.runTask(busy({ log, ms: 5000 }), { progress: false }), "done");
    assert.equal(lines(log).length, 1);
  });
});

test("stop ends remote tasks within a second and caches nothing from them", options, async () => {
  await withShared(async ({ dir, backend }) => {
    const log = join(dir, "stop.log");
    const storage = new MemoryStorage();
    const runner = await backend().buildRunner({ context: {}, storage, maxWorkers: 2 });
    try {
      const tasks = [0, 1].map((i) => sleeper({ log, ms: 5000 + i }));
      tasks.forEach((t, i) => runner.submitTask(t, `ClusterSleeper[0${i}]`, false));
      await until(() => lines(log).length === 2, "both tasks to start");
      // The task table shows where each remote task runs: host, the child's pid, CPU and RSS.
      await until(
        () =>
          runner.getTaskInfos().filter((i) => i.rssBytes !== null && i.cpuPercent !== null)
            .length === 2,
        "usage reports",
      );
      const pids = lines(log).map((line) => Number(line.split(" ")[1])).sort();
      const infos = runner.getTaskInfos();
      assert.deepEqual(infos.map((info) => info.pid).sort(), pids);
      for (const info of infos) {
        assert.equal(info.host, hostname());
        assert.equal(info.status, "running");
        assert.ok(info.rssBytes! > 0 && info.cpuPercent! >= 0);
      }
      const began = performance.now();
      await runner.stop();
      const outcomes: Array<[Task, unknown]> = [];
      while (outcomes.length < 2) outcomes.push(...await runner.wait({ timeoutMs: 1000 }));
      const took = performance.now() - began;
      for (const [, outcome] of outcomes) assert.match(String(outcome), /Stopped ClusterSleeper/);
      // The children die: no "end" line appears, although the tasks would end after 5 s.
      await until(() => performance.now() - began > 1000, "a second");
      assert.equal(lines(log).filter((l) => l.startsWith("end")).length, 0);
      assert.deepEqual(await storage.findKeys(), []);
      assert.ok(took < 1000, `stop took ${took} ms`);
    } finally {
      await runner.close();
    }
  });
});

test(
  "two Labs submitting the same task while it runs: it runs once, both get the result",
  options,
  async () => {
    await withShared(async ({ dir, backend }) => {
      const log = join(dir, "twice.log");
      const t = () => counted({ x: 42, log, ms: 1000 });
      const first = new Lab({ storage: null, runner: backend() }).runTask(t(), { progress: false });
      await until(() => lines(log).length === 1, "the first Lab's task to start");
      const second = new Lab({ storage: null, runner: backend() }).runTask(t(), {
        progress: false,
      });
      assert.deepEqual(await Promise.all([first, second]), [42, 42]);
      assert.equal(lines(log).length, 1);
    });
  },
);

test("workers of Node, Deno and Bun serve one queue in one run", options, async () => {
  const redis = await startRedis();
  const workers: WorkerProcess[] = [];
  try {
    for (const runtime of ["node", "deno", "bun"] as const) {
      workers.push(await startWorker(redis.url, { runtime, args: ["--concurrency", "1"] }));
    }
    const lab = new Lab({
      storage: null,
      runner: new BullMQRunnerBackend({ connection: redis.url }),
      maxWorkers: 3,
    });
    const results = await lab.runTasks([0, 1, 2].map((i) => where({ i, ms: 1500 })), {
      progress: false,
    });
    assert.deepEqual([...results.values()].sort(), ["bun", "deno", "node"]);
  } finally {
    await killWorkers(workers);
    await redis.stop();
  }
});

test(
  "Redis restarted mid-run: the run carries on or fails clearly; nothing completed is lost",
  options,
  async () => {
    await withShared(async ({ redis, dir, backend }) => {
      const log = join(dir, "restart.log");
      const storage = join(dir, "storage");
      const tasks = [0, 1, 2, 3, 4, 5].map((x) => counted({ x, log, ms: 400 }));
      const lab = new Lab({ storage, runner: backend(), maxWorkers: 2 });
      const run = lab.runTasks(tasks, { progress: false }).then(
        (results) => [...results.values()],
        (error: Error) => error,
      );
      await until(() => lines(log).length >= 3, "some tasks to run");
      await redis.restart();
      const outcome = await run;
      if (outcome instanceof Error) assert.match(outcome.message, /Redis|failed/);
      else assert.deepEqual(outcome, [0, 1, 2, 3, 4, 5]);
      const completed = (await lab.cachedTasks([counted])).length;
      const before = lines(log).length;
      const again = await new Lab({ storage, runner: backend(), maxWorkers: 2 })
        .runTasks(tasks, { progress: false });
      assert.deepEqual([...again.values()], [0, 1, 2, 3, 4, 5]);
      // Only what had not completed ran again.
      assert.equal(lines(log).length - before, 6 - completed);
    });
  },
);

test(
  "with no worker listening the Lab says so, and an interrupt ends the run",
  options,
  async () => {
    await withCluster(0, async ({ dir, backend }) => {
      const records: LogRecord[] = [];
      let warned: () => void = () => {};
      const warning = new Promise<void>((resolve) => warned = resolve);
      const previous = setLogSink((record) => {
        records.push(record);
        if (/no worker is connected to queue "default"/.test(record.message)) warned();
      });
      try {
        const controller = new AbortController();
        const lab = new Lab({ storage: null, runner: backend() });
        const run = lab.runTask(counted({ x: 1, log: join(dir, "never.log"), ms: 0 }), {
          progress: false,
          signal: controller.signal,
        });
        await warning;
        controller.abort();
        await assert.rejects(run, /interrupted/i);
        const message = records.find((r) => /no worker/.test(r.message))!.message;
        assert.match(
          message,
          /^1 task queued; no worker is connected to queue "default" at 127\.0\.0\.1:\d+/,
        );
      } finally {
        setLogSink(previous);
      }
    });
  },
);

test(
  "a stale codeVersion and an unreachable storage each fail with an error naming the cause",
  options,
  async () => {
    const temp = tempDir("labtech-faults-");
    const redis = await startRedis();
    const workers: WorkerProcess[] = [];
    try {
      workers.push(await startWorker(redis.url, { env: { LABTECH_TEST_CODE_VERSION: "v0" } }));
      const backend = new BullMQRunnerBackend({ connection: redis.url });
      const runner = await backend.buildRunner({
        context: {},
        storage: new MemoryStorage(),
        maxWorkers: 2,
      });
      try {
        runner.submitTask(versioned({ x: 1 }), "ClusterVersioned[00]", false);
        const [, stale] = (await waitOne(runner))[0]!;
        assert.match(
          String(stale),
          /the Lab and this worker run different code for task type "ClusterVersioned" \(code version "v1" in the Lab, "v0" here\)/,
        );
      } finally {
        await runner.close();
      }
      class Unreachable extends MemoryStorage {
        describe(): StorageDescription {
          return { kind: "cluster-test-unreachable" };
        }
      }
      const other = await backend.buildRunner({
        context: {},
        storage: new Unreachable(),
        maxWorkers: 2,
      });
      try {
        other.submitTask(where({ i: 0, ms: 0 }), "ClusterWhere[00]", false);
        const [, error] = (await waitOne(other))[0]!;
        assert.match(
          String(error),
          /Cannot open the Lab's storage on worker .*: Cannot open a storage of kind "cluster-test-unreachable"/,
        );
      } finally {
        await other.close();
      }
    } finally {
      await killWorkers(workers);
      await redis.stop();
      temp.cleanup();
    }
  },
);

async function waitOne(
  runner: { wait(o: { timeoutMs: number }): Promise<Array<[Task, unknown]>> },
) {
  let outcomes: Array<[Task, unknown]> = [];
  while (outcomes.length === 0) outcomes = await runner.wait({ timeoutMs: 1000 });
  return outcomes;
}

test("SIGTERM: a worker finishes its running task, then exits", options, async () => {
  await withCluster(1, async ({ workers, dir, backend }) => {
    const log = join(dir, "term.log");
    const lab = new Lab({ storage: null, runner: backend() });
    const run = lab.runTask(sleeper({ log, ms: 1500 }), { progress: false });
    await until(() => lines(log).length === 1, "the task to start");
    workers[0]!.kill("SIGTERM");
    assert.equal(await run, 1);
    assert.equal(await workers[0]!.exited, 0);
    assert.deepEqual(lines(log).map((line) => line.split(" ")[0]), ["start", "end"]);
  });
});

test("a second SIGTERM hands the running task back: another worker runs it", options, async () => {
  await withCluster(2, async ({ workers, dir, backend }) => {
    const log = join(dir, "handback.log");
    const lab = new Lab({ storage: null, runner: backend() });
    const run = lab.runTask(sleeper({ log, ms: 1500 }), { progress: false });
    await until(() => lines(log).length === 1, "the task to start");
    const first = parentWorker(workers, Number(lines(log)[0]!.split(" ")[1]));
    first.kill("SIGTERM");
    await until(() => /finishing running tasks/.test(first.output()), "the first signal");
    first.kill("SIGTERM");
    assert.equal(await first.exited, 130);
    assert.equal(await run, 1);
    const seen = lines(log);
    assert.deepEqual(seen.map((line) => line.split(" ")[0]), ["start", "start", "end"]);
    assert.notEqual(seen[1]!.split(" ")[1], seen[0]!.split(" ")[1]);
  });
});
