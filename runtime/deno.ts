/** The Deno adapter: `Deno`, `node:worker_threads` threads and `Deno.Command` subprocesses. */
import { availableParallelism } from "node:os";
import nodeProcess from "node:process";
import type { ConsoleAdapter } from "./console.ts";
import type { ProcessFacts } from "./process_facts.ts";
import type { WorkerAdapter } from "./workers.ts";
import { forEachChunk, streamLines } from "./_lines.ts";
import { connectNodeThread, startNodeThread } from "./_node_thread.ts";
import { captureNodeOutput, outputMessage, routeOutput } from "./_output_capture.ts";
import { PARENT_PID_VARIABLE, parentPid, watchAfterFirstSend } from "./_parent_watch.ts";

interface DenoConn {
  setNoDelay(noDelay?: boolean): void;
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): void;
}
interface DenoChild {
  pid: number;
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  status: Promise<{ code: number; signal: string | null }>;
  kill(signal?: string): void;
}
interface DenoStream {
  isTerminal(): boolean;
  writeSync(data: Uint8Array): number;
}
interface DenoApi {
  pid: number;
  memoryUsage(): { rss: number };
  addSignalListener(signal: "SIGINT", handler: () => void): void;
  removeSignalListener(signal: "SIGINT", handler: () => void): void;
  stdout: DenoStream;
  stderr: DenoStream;
  args: string[];
  exitCode: number;
  consoleSize(): { columns: number };
  readonly jupyter: unknown;
  execPath(): string;
  exit(code?: number): never;
  env: { get(name: string): string | undefined };
  listen(options: { hostname: string; port: number }): {
    addr: { port: number };
    accept(): Promise<DenoConn>;
    close(): void;
  };
  connect(options: { hostname: string; port: number }): Promise<DenoConn>;
  Command: new (command: string, options: {
    args: string[];
    env: Record<string, string>;
    stdin: "null";
    stdout: "piped";
    stderr: "piped";
  }) => { spawn(): DenoChild };
}

const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

const NO_THREAD_HEAP_LIMIT = "Deno's worker threads take no heap limit (V8 flags apply to the " +
  "whole process); use the spawn or fork backend for one";

const startThread: WorkerAdapter["startThread"] = (entry, events, limits) => {
  if (limits.maxHeapMb !== null) throw new Error(NO_THREAD_HEAP_LIMIT);
  // node:worker_threads (which, unlike a Web Worker, stop() can end mid-loop) takes file: and
  // data: URLs only: an entry imported over http(s) is started through a data: URL importing it.
  const url = entry.protocol === "file:" || entry.protocol === "data:" ? entry : new URL(
    `data:text/javascript,${encodeURIComponent(`import ${JSON.stringify(entry.href)};`)}`,
  );
  // Deno prints these itself, so piping would print them twice.
  return startNodeThread(url, events, { maxHeapMb: null, pipeOutput: false });
};

type Frames = typeof import("./_frames.ts");
let frames: Promise<Frames> | null = null;
// The frames' encoding (msgpackr) loads only where a subprocess is started or
// served: the Lab's main thread and thread workers start sooner without it.
const loadFrames = () => frames ??= import("./_frames.ts");

/** A framed channel over a socket; writes are queued so frames never interleave. */
function framedChannel(
  { encodeFrame, FrameDecoder }: Frames,
  conn: DenoConn,
  onMessage: (message: unknown) => void,
  onEnd: () => void,
) {
  conn.setNoDelay(true); // small frames must not wait for Nagle's algorithm
  const writer = conn.writable.getWriter();
  let last: Promise<void> = Promise.resolve();
  void (async () => {
    const decoder = new FrameDecoder();
    await forEachChunk(conn.readable, (chunk) => {
      for (const message of decoder.push(chunk)) onMessage(message);
    });
    onEnd();
  })();
  return {
    send(message: unknown) {
      last = writer.write(encodeFrame(message)).catch(() => {});
    },
    flush: () => last,
  };
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch { /* already closed */ }
}

const startProcess: WorkerAdapter["startProcess"] = async (entry, events, limits) => {
  const codec = loadFrames(); // loads while the child starts
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const token = crypto.randomUUID();
  const heap = limits.maxHeapMb === null
    ? []
    : [`--v8-flags=--max-old-space-size=${limits.maxHeapMb}`];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", ...heap, entry.href],
    env: {
      LABTECH_CHANNEL: `${listener.addr.port}:${token}`,
      [PARENT_PID_VARIABLE]: String(Deno.pid),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([
    streamLines(child.stdout, (line) => events.output("stdout", line)),
    streamLines(child.stderr, (line) => events.output("stderr", line)),
  ]);
  const status = child.status.then(async (s) => {
    closeQuietly(listener);
    await output;
    return s;
  });
  let channel: { send(message: unknown): void } | null = null;
  const pending: unknown[] = [];
  const route = routeOutput(events);
  const gone = status.then(({ code, signal }) => {
    route.end();
    events.exit(signal ? `it was killed by ${signal}` : `it exited with code ${code}`);
  });
  let frames: Frames;
  try {
    frames = await codec;
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  void (async () => {
    // The first connection that presents the token is the child's; then the listener closes.
    for (;;) {
      const conn = await listener.accept().catch(() => null);
      if (conn === null) return;
      let authenticated = false;
      const framed = framedChannel(frames, conn, (message) => {
        if (authenticated) return route.message(message);
        if (message !== token) return conn.close();
        authenticated = true;
        channel = framed;
        closeQuietly(listener);
        for (const m of pending.splice(0)) framed.send(m);
      }, () => {});
    }
  })();
  return {
    pid: child.pid,
    threadId: null,
    send: (message) => channel === null ? pending.push(message) : channel.send(message),
    terminate: () => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      return gone;
    },
  };
};

/** In a worker subprocess: raw writes travel on the channel (see _output_capture.ts). */
function captureDenoOutput(send: (message: unknown) => void): void {
  for (const stream of ["stdout", "stderr"] as const) {
    const target = Deno[stream] as DenoStream & { write(data: Uint8Array): Promise<number> };
    target.writeSync = (data) => {
      send(outputMessage(stream, new Uint8Array(data)));
      return data.length;
    };
    target.write = (data) => Promise.resolve(target.writeSync(data));
  }
  captureNodeOutput(nodeProcess, send);
}

// After the build, modules end in .js, the watchdog's with them.
const EXT = import.meta.url.endsWith(".js") ? ".js" : ".ts";
const WebWorker = (globalThis as unknown as {
  Worker: new (url: URL, options: { type: "module"; name: string }) => unknown;
}).Worker;

/** Starts the subprocess's watchdog as a Web Worker (see _deno_watchdog.ts for why). */
function watchParentFromWebWorker(env: Record<string, string | undefined>): boolean {
  const parent = parentPid(env);
  if (parent === null) return false;
  new WebWorker(new URL(`./_deno_watchdog${EXT}`, import.meta.url), {
    type: "module",
    name: String(parent),
  });
  return true;
}

const connectParent: WorkerAdapter["connectParent"] = async (kind) => {
  if (kind === "thread") return connectNodeThread();
  const [port, token] = (Deno.env.get("LABTECH_CHANNEL") ?? "").split(":");
  const codec = loadFrames(); // loads while this connects
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  let handler: (message: unknown) => void = () => {};
  const framed = framedChannel(await codec, conn, (m) => handler(m), () => Deno.exit(0));
  framed.send(token);
  const send = watchAfterFirstSend(framed.send, nodeProcess.env, watchParentFromWebWorker);
  captureDenoOutput(send);
  return { send, onMessage: (h) => handler = h, flush: framed.flush };
};

const encoder = new TextEncoder();
const denoConsole: ConsoleAdapter = {
  write(stream, text) {
    const data = encoder.encode(text);
    for (let at = 0; at < data.length;) at += Deno[stream].writeSync(data.subarray(at));
  },
  terminalColumns(stream) {
    if (!Deno[stream].isTerminal()) return null;
    try {
      return Deno.consoleSize().columns;
    } catch {
      return 80;
    }
  },
  jupyter() {
    try {
      // A getter that throws outside `deno jupyter`.
      return (Deno.jupyter ?? null) as ReturnType<ConsoleAdapter["jupyter"]>;
    } catch {
      return null;
    }
  },
  args: () => [...Deno.args],
  setExitCode: (code) => void (Deno.exitCode = code),
  isTerminal: (stream) => Deno[stream].isTerminal(),
};

/** Deno's implementation of the runtime adapter. */
export const adapter: WorkerAdapter & ConsoleAdapter & ProcessFacts = {
  ...denoConsole,
  pid: Deno.pid,
  rssBytes: () => Deno.memoryUsage().rss,
  cpuMicros: () => {
    // Deno has no process CPU-time call; node:process's cpuUsage is its own implementation of one.
    const usage = nodeProcess.cpuUsage();
    return usage.user + usage.system;
  },
  onInterrupt(handler) {
    Deno.addSignalListener("SIGINT", handler);
    return () => Deno.removeSignalListener("SIGINT", handler);
  },
  availableParallelism,
  startThread,
  startProcess,
  heapLimitUnsupported: (kind) => kind === "thread" ? NO_THREAD_HEAP_LIMIT : null,
  connectParent,
  onExitCall(hook) {
    const exit = Deno.exit.bind(Deno);
    Deno.exit = (code?: number): never => {
      hook(code ?? 0);
      return exit(code);
    };
  },
};
