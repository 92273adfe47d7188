/** The Bun adapter: Bun's own `process`, Web Workers and `Bun.spawn`. */
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ConsoleAdapter } from "./console.ts";
import type { ProcessFacts } from "./process_facts.ts";
import type { WorkerAdapter } from "./workers.ts";
import { streamLines } from "./_lines.ts";
import { captureNodeOutput, routeOutput } from "./_output_capture.ts";
import { childEnv, watchAfterFirstSend } from "./_parent_watch.ts";
import { nodeConsole, nodeProcessFacts } from "./_node_console.ts";

interface BunSubprocess {
  pid: number;
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  exited: Promise<number>;
  signalCode: string | null;
  send(message: unknown): void;
  kill(signal?: string): void;
}
interface BunApi {
  spawn(options: {
    cmd: string[];
    ipc(message: unknown): void;
    serialization: "advanced";
    env: Record<string, string>;
    stdin: "ignore";
    stdout: "pipe";
    stderr: "pipe";
  }): BunSubprocess;
}
interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;

// Bun accepts --max-old-space-size and BUN_JSC_gcMaxHeapSize but enforces neither
// (oven-sh/bun#34917): a limit would be silently ignored, so it is refused.
const NO_HEAP_LIMIT = "Bun's JavaScriptCore engine has no hard heap limit (it ignores " +
  "--max-old-space-size); run on Node or Deno for one";

const startThread: WorkerAdapter["startThread"] = (entry, events, limits) => {
  if (limits.maxHeapMb !== null) throw new Error(NO_HEAP_LIMIT);
  const worker = new Worker(entry.href, { type: "module" });
  let reason: string | null = null;
  worker.onmessage = (event) => events.message(event.data);
  worker.onerror = (event) => {
    event.preventDefault();
    reason ??= `it threw ${event.message}`;
  };
  const gone = new Promise<void>((resolve) => {
    worker.addEventListener("close", (event) => {
      events.exit(reason ?? `it exited with code ${(event as unknown as { code: number }).code}`);
      resolve();
    });
  });
  return {
    pid: process.pid,
    threadId: (worker as unknown as { threadId?: number }).threadId ?? null,
    send: (message) => worker.postMessage(message),
    terminate: () => {
      worker.terminate();
      return gone;
    },
  };
};

const startProcess: WorkerAdapter["startProcess"] = (entry, events, limits) => {
  if (limits.maxHeapMb !== null) return Promise.reject(new Error(NO_HEAP_LIMIT));
  const route = routeOutput(events);
  const child = Bun.spawn({
    cmd: [process.execPath, fileURLToPath(entry)],
    ipc: route.message,
    serialization: "advanced",
    env: childEnv(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = Promise.all([
    streamLines(child.stdout, (line) => events.output("stdout", line)),
    streamLines(child.stderr, (line) => events.output("stderr", line)),
  ]);
  const gone = child.exited.then(async (code) => {
    await output;
    route.end();
    const signal = child.signalCode;
    events.exit(signal ? `it was killed by ${signal}` : `it exited with code ${code}`);
  });
  return Promise.resolve({
    pid: child.pid,
    threadId: null,
    send: (message) => {
      try {
        child.send(message);
      } catch { /* it has exited; the exit is reported */ }
    },
    terminate: () => {
      child.kill("SIGKILL");
      return gone;
    },
  });
};

const connectParent: WorkerAdapter["connectParent"] = (kind) => {
  if (kind === "thread") {
    const scope = globalThis as unknown as WorkerScope;
    return Promise.resolve({
      send: (message, transfer) => scope.postMessage(message, transfer ?? []),
      onMessage: (handler) => scope.onmessage = (event) => handler(event.data),
      flush: () => Promise.resolve(),
    });
  }
  process.on("disconnect", () => process.exit(0));
  const send = watchAfterFirstSend((message: unknown) => void process.send!(message));
  captureNodeOutput(process, send);
  return Promise.resolve({
    send,
    onMessage: (handler) => void process.on("message", handler),
    flush: () => Promise.resolve(),
  });
};

/** Bun's implementation of the runtime adapter. */
export const adapter: WorkerAdapter & ConsoleAdapter & ProcessFacts = {
  ...nodeConsole(process),
  ...nodeProcessFacts(process),
  startThread,
  startProcess,
  heapLimitUnsupported: () => NO_HEAP_LIMIT,
  connectParent,
};
