/**
 * The `cluster` workload: `deno run -A bench/cluster.ts [--quick] [--json]`
 * (also `bun bench/cluster.ts`). Starts a redis-server on a free loopback
 * port and measures, in one run:
 *
 * - per-task overhead of BullMQRunnerBackend with two local `labtech worker`
 *   processes (trivial tasks, two in flight), against the bare BullMQ job
 *   round trip (Queue.add → Worker processor → outcome pushed to a list the
 *   producer BLPOPs, two in-process workers, two in flight): target within 2×;
 * - throughput with many jobs in flight (both ways);
 * - time from `kill -9` of a worker to its recovered task finishing
 *   (lockDuration 2000 ms, stalledInterval 1000 ms).
 *
 * Prints a markdown table; `--json` prints one JSON line instead, for bench/main.ts.
 * `--runner fork|spawn|thread` picks the workers' pool (default fork); each worker has 8 slots.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { join } from "node:path";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { BullMQRunnerBackend } from "../bullmq.ts";
import { detectRuntime, Lab, setLogSink } from "../mod.ts";
import { killWorkers, startRedis, startWorker, type WorkerProcess } from "../tests/_redis.ts";
import { tempDir } from "../tests/_helpers.ts";
import { sleeper, square } from "../tests/fixtures/cluster/tasks.ts";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");
const N = quick ? 200 : 1000;
const MANY = quick ? 500 : 3000;
const IN_FLIGHT = 64;
const runnerAt = process.argv.indexOf("--runner");
const RUNNER = runnerAt === -1 ? "fork" : process.argv[runnerAt + 1]!;
const SLOTS = 8;

/** Bare BullMQ: `total` no-op jobs, `inFlight` at a time; ms per job. */
async function bareRoundTrip(url: string, total: number, inFlight: number): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const blocker = new Redis(url, { maxRetriesPerRequest: null });
  const name = `bare${inFlight}`;
  const queue = new Queue(name, { connection });
  const list = `bench:bare:${inFlight}`;
  const workers = [0, 1].map(() =>
    new Worker(name, async (job) => {
      await connection.rpush(list, String(job.data.i));
    }, { connection, concurrency: Math.max(1, inFlight / 2) })
  );
  let sent = 0;
  const add = () =>
    queue.add("j", { i: sent }, { jobId: `b${inFlight}-${sent++}`, removeOnComplete: true });
  const begin = performance.now();
  for (let i = 0; i < Math.min(inFlight, total); i++) await add();
  for (let done = 0; done < total; done++) {
    await blocker.blpop(list, 0);
    if (sent < total) await add();
  }
  const ms = (performance.now() - begin) / total;
  await Promise.all(workers.map((w) => w.close()));
  await queue.close();
  connection.disconnect();
  blocker.disconnect();
  return ms;
}

/** labtech on BullMQ: `total` trivial tasks, `inFlight` at a time; ms per task. */
async function labtechRoundTrip(url: string, total: number, inFlight: number): Promise<number> {
  const tasks = Array.from({ length: total }, (_, i) => square({ x: i + inFlight * 1e6, ms: 0 }));
  const lab = new Lab({
    storage: null,
    runner: new BullMQRunnerBackend({ connection: url }),
    maxWorkers: inFlight,
  });
  const begin = performance.now();
  await lab.runTasks(tasks, { progress: false });
  return (performance.now() - begin) / total;
}

/** Time from kill -9 of the worker running a task to that task's result arriving, in ms. */
async function recovery(url: string, workers: WorkerProcess[], dir: string): Promise<number> {
  const log = join(dir, "recovery.log");
  writeFileSync(log, "");
  const lab = new Lab({ storage: null, runner: new BullMQRunnerBackend({ connection: url }) });
  const run = lab.runTask(sleeper({ log, ms: 300 }), { progress: false });
  while (!readFileSync(log, "utf8").includes("start")) await new Promise((r) => setTimeout(r, 5));
  const child = Number(readFileSync(log, "utf8").split("\n")[0]!.split(" ")[1]);
  const stat = readFileSync(`/proc/${child}/stat`, "utf8");
  const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  const killedAt = performance.now();
  workers.find((w) => w.pid === parent)?.kill("SIGKILL");
  process.kill(child, "SIGKILL");
  await run;
  return performance.now() - killedAt;
}

async function main(): Promise<void> {
  const temp = tempDir("labtech-bench-cluster-");
  const redis = await startRedis();
  const workers: WorkerProcess[] = [];
  const previous = setLogSink(() => {});
  try {
    for (let i = 0; i < 2; i++) {
      workers.push(
        await startWorker(redis.url, {
          args: ["--concurrency", String(SLOTS), "--runner", RUNNER],
        }),
      );
    }
    // Warm up both paths (imports, pools, JIT).
    await bareRoundTrip(redis.url, 200, IN_FLIGHT);
    await labtechRoundTrip(redis.url, 200, IN_FLIGHT); // starts every slot's child
    const bare2 = await bareRoundTrip(redis.url, N, 2);
    const lab2 = await labtechRoundTrip(redis.url, N, 2);
    const bareMany = await bareRoundTrip(redis.url, MANY, IN_FLIGHT);
    const labMany = await labtechRoundTrip(redis.url, MANY, IN_FLIGHT);
    workers.push(await startWorker(redis.url, { args: ["--concurrency", "1"] }));
    const recoveredMs = await recovery(redis.url, workers, temp.dir);
    const result = {
      workload: "cluster",
      runtime: detectRuntime(),
      tasks: N,
      bareMsPerJob: bare2,
      labtechMsPerTask: lab2,
      ratio: lab2 / bare2,
      inFlight: IN_FLIGHT,
      bareJobsPerSecond: 1000 / bareMany,
      labtechTasksPerSecond: 1000 / labMany,
      killToRecoveredMs: recoveredMs,
    };
    if (json) console.log(JSON.stringify(result));
    else {
      console.log(
        `| cluster (${result.runtime}, 2 local workers) | bare BullMQ | labtech | ratio |`,
      );
      console.log("|---|---|---|---|");
      console.log(
        `| per task, 2 in flight (${N} tasks) | ${bare2.toFixed(2)} ms | ${lab2.toFixed(2)} ms | ` +
          `${result.ratio.toFixed(2)}× |`,
      );
      console.log(
        `| throughput, ${IN_FLIGHT} in flight (${MANY} tasks) | ${
          result.bareJobsPerSecond.toFixed(0)
        }/s | ${result.labtechTasksPerSecond.toFixed(0)}/s | ${
          (result.bareJobsPerSecond / result.labtechTasksPerSecond).toFixed(2)
        }× |`,
      );
      console.log(
        `| kill -9 → recovered task finished (lock 2000 ms, stalled 1000 ms) | | ${
          recoveredMs.toFixed(0)
        } ms | |`,
      );
    }
  } finally {
    setLogSink(previous);
    await killWorkers(workers);
    await redis.stop();
    temp.cleanup();
  }
}

await main();
