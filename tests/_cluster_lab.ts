/**
 * The Lab side of the real-hosts test, run in its own network namespace by
 * tests/cluster_hosts.test.ts: runs a small pipeline on BullMQ workers with
 * an S3Storage (or, with LABTECH_TEST_WORKERS=0, locally), runs it again from
 * the cache, and prints one JSON line.
 */
import process from "node:process";
import { Lab, type RunnerBackend } from "../mod.ts";
import { S3Storage } from "../s3.ts";
import { netHop, netSum } from "./_cluster_tasks.ts";

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`Cannot run the cluster Lab: ${name} is not set`);
  return value;
};

const storage = new S3Storage({
  bucket: "cluster",
  prefix: env("LABTECH_TEST_PREFIX"),
  endpoint: env("LABTECH_TEST_S3"),
  credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
});
let runner: RunnerBackend | "serial" = "serial";
if (process.env.LABTECH_TEST_WORKERS !== "0") {
  // Loaded by URL: the BullMQ backend is an optional part of the package.
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  const { BullMQRunnerBackend } = await import(new URL(`../bullmq.${ext}`, import.meta.url).href);
  runner = new BullMQRunnerBackend({ connection: env("LABTECH_TEST_REDIS") }) as RunnerBackend;
}
const hops = [0, 1, 2, 3].map((i) => netHop({ i }));
const sum = netSum({ hops });
const results = await new Lab({ storage, runner, maxWorkers: 4 }).runTasks([sum, ...hops], {
  progress: false,
});
const again = new Lab({ storage, runner: "serial" });
const cachedBefore = (await again.cachedTasks([netHop, netSum])).length;
const reloaded = await again.runTask(netSum({ hops: [0, 1, 2, 3].map((i) => netHop({ i })) }), {
  progress: false,
});
storage.destroy();
console.log(JSON.stringify({
  hops: hops.map((hop) => results.get(hop)),
  total: (results.get(sum) as { total: number }).total,
  cachedBefore,
  reloaded: reloaded.total,
}));
