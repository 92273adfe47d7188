/**
 * The bare primitives the backends are built on, timed on their own: a
 * Worker message round trip, a subprocess IPC round trip, and the file
 * writes and reads of one cache entry. They are the floor each backend's
 * per-task overhead is compared with.
 *
 * @module
 */
import { fork } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Packr } from "msgpackr";
import { detectRuntime } from "../runtime/detect.ts";

// Sources run as .ts on Deno and Bun, as compiled .js on Node.
const EXT = import.meta.url.endsWith(".js") ? ".js" : ".ts";
const MESSAGE = {
  type: "run",
  id: 0,
  key: "BenchTrivial__0123456789abcdef0123456789abcdef01234567",
};

interface Port {
  send(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
  close(): Promise<void> | void;
}

async function pingPong(port: Port, rounds: number): Promise<number> {
  let resolveRound: () => void = () => {};
  port.onMessage(() => resolveRound());
  const round = (id: number) =>
    new Promise<void>((resolve) => {
      resolveRound = resolve;
      port.send({ ...MESSAGE, id });
    });
  for (let i = 0; i < 50; i++) await round(i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await round(i);
  const ms = (performance.now() - t0) / rounds;
  await port.close();
  return ms;
}

/** Milliseconds per postMessage round trip with a Worker thread (Web Worker, or worker_threads on Node). */
export async function workerRoundTrip(rounds: number): Promise<number> {
  const url = new URL(`./_echo_worker${EXT}`, import.meta.url);
  if (detectRuntime() === "node") {
    const { Worker } = await import("node:worker_threads");
    const worker = new Worker(fileURLToPath(url));
    await new Promise((resolve) => worker.once("online", resolve));
    return pingPong({
      send: (m) => worker.postMessage(m),
      onMessage: (h) => worker.on("message", h),
      close: async () => void await worker.terminate(),
    }, rounds);
  }
  const worker = new Worker(url, { type: "module" });
  await new Promise<void>((resolve) => {
    worker.onmessage = () => resolve();
    worker.postMessage(MESSAGE);
  });
  return pingPong({
    send: (m) => worker.postMessage(m),
    onMessage: (h) => worker.onmessage = (e) => h(e.data),
    close: () => worker.terminate(),
  }, rounds);
}

interface BunSubprocess {
  send(message: unknown): void;
  kill(): void;
  exited: Promise<number>;
}
interface BunApi {
  spawn(cmd: string[], options: { ipc(message: unknown): void; stdio: string[] }): BunSubprocess;
}

interface DenoApi {
  execPath(): string;
  Command: new (cmd: string, options: {
    args: string[];
    stdin: "piped";
    stdout: "piped";
    stderr: "inherit";
  }) => {
    spawn(): {
      stdin: WritableStream<Uint8Array>;
      stdout: AsyncIterable<Uint8Array>;
      status: Promise<unknown>;
    };
  };
}

/**
 * Starts an echo subprocess of this runtime, answered once: `child_process.fork`
 * on Node, `Bun.spawn` with `ipc` on Bun, JSON lines over `Deno.Command` pipes
 * on Deno.
 */
async function echoChild(): Promise<Port> {
  const child = fileURLToPath(new URL(`./_echo_child${EXT}`, import.meta.url));
  const runtime = detectRuntime();
  if (runtime === "node") {
    const proc = fork(child, [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
    await new Promise((resolve) => {
      proc.once("message", resolve);
      proc.send(MESSAGE);
    });
    return {
      send: (m) => proc.send(m as object),
      onMessage: (h) => void proc.on("message", h),
      close: () => void proc.kill(),
    };
  }
  if (runtime === "bun") {
    const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;
    let handler: (m: unknown) => void = () => {};
    let ready: () => void = () => {};
    const started = new Promise<void>((resolve) => ready = resolve);
    const proc = Bun.spawn([process.execPath, child], {
      ipc: (m) => {
        ready();
        handler(m);
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    proc.send(MESSAGE);
    await started;
    return {
      send: (m) => proc.send(m),
      onMessage: (h) => handler = h,
      close: () => proc.kill(),
    };
  }
  const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", child],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  });
  const proc = command.spawn();
  const writer = proc.stdin.getWriter();
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let handler: (m: unknown) => void = () => {};
  let buffer = "";
  const reading = (async () => {
    for await (const chunk of proc.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        handler(JSON.parse(line));
      }
    }
  })();
  await new Promise<void>((resolve) => {
    handler = () => resolve();
    void writer.write(encoder.encode(JSON.stringify(MESSAGE) + "\n"));
  });
  return {
    send: (m) => void writer.write(encoder.encode(JSON.stringify(m) + "\n")),
    onMessage: (h) => handler = h,
    close: async () => {
      await writer.close();
      await reading;
      await proc.status;
    },
  };
}

/**
 * Milliseconds per message round trip with a subprocess of this runtime, one
 * message at a time (see `echoChild` for the channel on each runtime).
 */
export async function ipcRoundTrip(rounds: number): Promise<number> {
  return pingPong(await echoChild(), rounds);
}

/**
 * Milliseconds per message with `children` echo subprocesses, each sent its
 * next message as soon as its last one comes back: the throughput of bare
 * IPC with as many workers as a pool, the floor of spawn and fork with that
 * many workers.
 */
export async function ipcPipelined(total: number, children: number): Promise<number> {
  const ports = await Promise.all(Array.from({ length: children }, () => echoChild()));
  let sent = 0;
  let received = 0;
  let t0 = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => done = resolve);
  const measured = 50 * children; // the first messages warm up
  for (const port of ports) {
    port.onMessage(() => {
      received++;
      if (received === measured) t0 = performance.now();
      if (received === total + measured) done();
      else if (sent < total + measured) port.send({ ...MESSAGE, id: sent++ });
    });
  }
  for (const port of ports) port.send({ ...MESSAGE, id: sent++ });
  await finished;
  const ms = (performance.now() - t0) / total;
  await Promise.all(ports.map((port) => port.close()));
  return ms;
}

/**
 * Milliseconds per entry to write what the cache writes for a trivial task
 * (a small msgpack file and metadata.json into a hidden folder renamed into
 * place), and to check, read and decode it again.
 */
export function fsLimits(count: number): { writeMs: number; readMs: number } {
  const dir = mkdtempSync(join(tmpdir(), "labtech-bench-fs-"));
  const packr = new Packr({ structuredClone: true, mapsAsObjects: false, moreTypes: true });
  const encoder = new TextEncoder();
  const key = (i: number) => `BenchTrivial__${i.toString(16).padStart(40, "0")}`;
  try {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const k = key(i);
      const metadata = JSON.stringify({
        labtechVersion: "0.1.0",
        cacheFormat: "structured/1",
        cacheKey: k,
        dataFile: "data.msgpack",
        task: { name: "BenchTrivial", codeVersion: null, params: { i } },
        start: new Date().toISOString(),
        durationMs: 0.01,
        runtime: detectRuntime(),
      });
      const temp = join(dir, `.tmp-${k}`);
      mkdirSync(temp);
      writeFileSync(join(temp, "data.msgpack"), packr.pack(i));
      writeFileSync(join(temp, "metadata.json"), encoder.encode(metadata));
      renameSync(temp, join(dir, k));
    }
    const t1 = performance.now();
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const entry = join(dir, key(i));
      if (!statSync(entry).isDirectory()) throw new Error("missing entry");
      const metadata = JSON.parse(
        new TextDecoder().decode(readFileSync(join(entry, "metadata.json"))),
      );
      sum += packr.unpack(readFileSync(join(entry, metadata.dataFile))) as number;
    }
    const t2 = performance.now();
    if (sum !== (count * (count - 1)) / 2) throw new Error("fs limit read back wrong values");
    return { writeMs: (t1 - t0) / count, readMs: (t2 - t1) / count };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
