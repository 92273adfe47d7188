/**
 * Test helpers for the cluster suite: a real redis-server on a free loopback
 * port (no persistence), and `labtech worker` subprocesses of any runtime.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { BullMQRunnerBackend } from "../bullmq.ts";
import { detectRuntime } from "../mod.ts";
import { repoRoot } from "./_helpers.ts";

/** The redis-server binary, or null when it is not installed. */
export function redisServerPath(): string | null {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim() ||
      null;
  } catch {
    return null;
  }
}

/**
 * Why the cluster suite cannot run here, or null when it can. Without
 * redis-server it prints one loud line; under CI=true the caller must fail.
 */
export function clusterSkipReason(): string | null {
  if (redisServerPath() !== null) return null;
  const reason = "redis-server is not installed (apt-get install redis-server)";
  console.error(`\n!!! CLUSTER SUITE SKIPPED: ${reason} !!!\n`);
  return reason;
}

/** True when a skip must fail the run instead. */
export function skipsFail(): boolean {
  return process.env.CI === "true" || process.env.CI === "1";
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A running redis-server. */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops it; resolves once it exited. */
  stop(): Promise<void>;
  /** Stops it and starts a fresh one (no data) on the same port. */
  restart(): Promise<void>;
}

async function launch(port: number, password: string | null): Promise<ChildProcess> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (password !== null) args.push("--requirepass", password);
  const child = spawn(redisServerPath()!, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to accept connections/.test(output)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

function ended(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts redis-server on a free loopback port, optionally with a password. */
export async function startRedis(options: { password?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const password = options.password ?? null;
  let child = await launch(port, password);
  const auth = password === null ? "" : `:${password}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill("SIGKILL");
      await ended(child);
    },
    async restart() {
      child.kill("SIGKILL");
      await ended(child);
      child = await launch(port, password);
    },
  };
}

/** A `labtech worker` subprocess. */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything it wrote to stderr and stdout so far. */
  output(): string;
  /** Resolves with its exit code (or signal name) once it exited. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

type Runtime = "node" | "deno" | "bun";

const compiled = import.meta.url.endsWith(".js");

/** The command that runs `labtech worker` on `runtime` (default: this one). */
function workerCommand(
  runtime: Runtime,
  fixture = "cluster/tasks",
): { exe: string; args: string[]; tasks: string } {
  const root = repoRoot();
  const here = detectRuntime();
  if (runtime === "node") {
    const esm = compiled ? fileURLToPath(new URL("..", import.meta.url)) : join(root, "npm/esm");
    if (!existsSync(join(esm, "cli.js"))) {
      throw new Error(`Cannot start a Node worker: no npm build in ${esm}; run the build first`);
    }
    return {
      exe: here === "node" ? process.execPath : "node",
      args: [join(esm, "cli.js")],
      tasks: join(esm, `tests/fixtures/${fixture}.js`),
    };
  }
  // Deno and Bun run the TypeScript sources.
  const exe = here === runtime ? process.execPath : join(root, "node_modules/.bin", runtime);
  const cli = join(root, "cli.ts");
  return {
    exe,
    args: runtime === "deno" ? ["run", "-A", cli] : [cli],
    tasks: join(root, `tests/fixtures/${fixture}.ts`),
  };
}

/** The runtime this test runs on, as a worker runtime. */
export function thisRuntime(): Runtime {
  return detectRuntime();
}

/**
 * Starts `labtech worker --redis URL --import <cluster tasks>` and resolves
 * once it serves its queues (or rejects with its output if it exits first).
 */
export async function startWorker(
  url: string,
  options: {
    runtime?: Runtime;
    args?: string[];
    imports?: string[];
    env?: Record<string, string>;
    /** The fixture module to import, under tests/fixtures/ without extension. */
    fixture?: string;
  } = {},
): Promise<WorkerProcess> {
  const { exe, args, tasks } = workerCommand(options.runtime ?? thisRuntime(), options.fixture);
  const imports = options.imports ?? [tasks];
  const argv = [
    ...args,
    "worker",
    "--redis",
    url,
    ...imports.flatMap((m) => ["--import", m]),
    "--lock-duration",
    "2000",
    "--stalled-interval",
    "1000",
    ...(options.args ?? []),
  ];
  const child = spawn(exe, argv, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  let output = "";
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1))
  );
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/serving /.test(output)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then((code) =>
      reject(new Error(`worker exited (${code}) before serving:\n${output}`))
    );
  });
  return {
    child,
    pid: child.pid!,
    output: () => output,
    exited,
    // process.kill, not child.kill: Deno's child_process then reports the signal as the
    // cause of any later exit, even a clean one.
    kill: (signal = "SIGTERM") => {
      try {
        process.kill(child.pid!, signal);
      } catch { /* already gone */ }
    },
  };
}

/** Stops workers (SIGKILL) and waits until they are gone. */
export async function killWorkers(workers: WorkerProcess[]): Promise<void> {
  for (const worker of workers) worker.kill("SIGKILL");
  await Promise.all(workers.map((worker) => worker.exited));
}

/**
 * For the runner property tests: a redis-server and one worker (2 slots)
 * serving the worker fixtures, and the backend that reaches them.
 */
export async function startPropertyCluster(): Promise<{
  backend: BullMQRunnerBackend;
  stop: () => Promise<void>;
}> {
  const redis = await startRedis();
  try {
    const worker = await startWorker(redis.url, {
      fixture: "workers/tasks",
      args: ["--concurrency", "2"],
    });
    return {
      backend: new BullMQRunnerBackend({ connection: redis.url }),
      stop: async () => {
        await killWorkers([worker]);
        await redis.stop();
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}
