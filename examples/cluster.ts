/**
 * The sweep of examples/sweep.ts on a local "cluster": one command starts a
 * Redis server, two `labtech worker`s on two different runtimes (Deno and
 * Bun), runs the sweep through them with BullMQRunnerBackend, and stops
 * everything again. Results are cached in ./lab_storage_cluster (a
 * LocalStorage every worker on this machine reaches, as NFS would on a real
 * cluster); run it twice and the second run loads them all.
 *
 *   deno run -A examples/cluster.ts      (Lab and one worker on Deno, one on Bun)
 *   bun examples/cluster.ts              (Lab and one worker on Bun, one on Deno)
 *
 * Needs `redis-server` on PATH (Debian: apt-get install redis-server) and
 * both `deno` and `bun` (node_modules/.bin has them after npm install).
 * See docs/cluster.md for a cluster of real machines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Lab } from "../mod.ts";
import { BullMQRunnerBackend } from "../bullmq.ts";
import { dataset, ridgeFit } from "./sweep_tasks.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const isDeno = "Deno" in globalThis;
const isBun = "Bun" in globalThis;
if (!isDeno && !isBun) {
  console.error("Run this example with Deno or Bun: its workers import the .ts task module.");
  process.exit(2);
}

/** A runtime's binary: this process's own, else node_modules/.bin's, else PATH's. */
function binary(name: "deno" | "bun"): string {
  if ((name === "deno") === isDeno) return process.execPath;
  const local = join(root, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

/** A free loopback port. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a child; resolves once its output matches `ready`. */
function start(label: string, command: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Uint8Array) => {
      output += chunk.toString();
      if (ready.test(output)) resolve(child);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (error) => reject(new Error(`Cannot start ${label}: ${error.message}`)));
    child.once("exit", (code) => reject(new Error(`${label} exited (${code}):\n${output}`)));
  });
}

const children: ChildProcess[] = [];

/** Stops the workers first (they finish their tasks), then Redis. */
async function stopAll(): Promise<void> {
  for (const child of children.slice().reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}

const port = await freePort();
const redis = `redis://127.0.0.1:${port}`;
const tasksModule = join(root, "examples", "sweep_tasks.ts");
const cli = join(root, "cli.ts");
try {
  await start("redis-server", [
    "redis-server",
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--save",
    "",
    "--appendonly",
    "no",
  ], /Ready to accept connections/);
  const worker = (runtime: "deno" | "bun") => [
    binary(runtime),
    ...(runtime === "deno" ? ["run", "-A"] : []),
    cli,
    "worker",
    "--redis",
    redis,
    "--import",
    tasksModule,
    "--concurrency",
    "2",
    "--host",
    `${runtime}-worker`,
  ];
  await Promise.all([
    start("the Deno worker", worker("deno"), /serving/),
    start("the Bun worker", worker("bun"), /serving/),
  ]);
  console.log(`Redis on ${redis}; a Deno and a Bun worker serve the queue "default".`);

  const data = dataset({ samples: 2000, noise: 0.3, seed: 42 });
  const tasks = [1, 3, 5, 7, 9].flatMap((degree) =>
    [0, 1e-6, 1e-3, 1e-1].map((lambda) => ridgeFit({ data, degree, lambda }))
  );
  const lab = new Lab({
    storage: join(root, "lab_storage_cluster"),
    runner: new BullMQRunnerBackend({ connection: redis }),
    maxWorkers: 4,
  });
  const cached = (await Promise.all(tasks.map((t) => lab.isCached(t)))).filter(Boolean).length;
  console.log(`Sweep of ${tasks.length} fits: ${cached} already cached.`);
  const started = performance.now();
  const results = await lab.runTasks(tasks);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const best = [...results].reduce((a, b) => (b[1].testRmse < a[1].testRmse ? b : a));
  console.log(`Best: ${best[0]} with test RMSE ${best[1].testRmse.toFixed(4)}`);
  console.log(
    cached === tasks.length
      ? `All ${tasks.length} results were loaded from ./lab_storage_cluster in ${seconds}s.`
      : `Ran ${tasks.length - cached} fits on the cluster in ${seconds}s; run again to load them.`,
  );
} finally {
  await stopAll();
}
