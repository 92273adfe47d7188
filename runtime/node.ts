/** The Node adapter: `node:process`, `node:worker_threads` and `node:child_process`. */
import { fork } from "node:child_process";
import { availableParallelism } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parentPort, Worker } from "node:worker_threads";
import {
  OUT_OF_MEMORY,
  type ParentChannel,
  type RuntimeAdapter,
  type WorkerEvents,
  type WorkerHandle,
  type WorkerLimits,
} from "./adapter.ts";
import { lineSplitter } from "./_lines.ts";

function pipeLines(
  stream: NodeJS.ReadableStream | null,
  name: "stdout" | "stderr",
  events: WorkerEvents,
): void {
  if (stream === null) return;
  const lines = lineSplitter((line) => events.output(name, line));
  stream.on("data", (chunk: Uint8Array) => lines.push(chunk));
  stream.on("end", () => lines.end());
}

function startThread(entry: URL, events: WorkerEvents, limits: WorkerLimits): WorkerHandle {
  const worker = new Worker(entry, {
    stdout: true,
    stderr: true,
    ...(limits.maxHeapMb === null
      ? {}
      : { resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb } }),
  });
  let reason: string | null = null;
  pipeLines(worker.stdout, "stdout", events);
  pipeLines(worker.stderr, "stderr", events);
  worker.on("message", (message) => events.message(message));
  worker.on("error", (error: Error & { code?: string }) => {
    reason ??= error.code === "ERR_WORKER_OUT_OF_MEMORY"
      ? OUT_OF_MEMORY
      : `it threw ${error.stack ?? error}`;
  });
  const gone = new Promise<void>((resolve) => {
    worker.on("exit", (code) => {
      events.exit(reason ?? `it exited with code ${code}`);
      resolve();
    });
  });
  return {
    pid: process.pid,
    threadId: worker.threadId,
    send: (message) => worker.postMessage(message),
    terminate: () => worker.terminate().then(() => gone),
  };
}

// Flags of a test runner or inspector must not reach the workers.
const execArgv = process.execArgv.filter((arg) => !/^--(test|inspect|watch)/.test(arg));

function startProcess(
  entry: URL,
  events: WorkerEvents,
  limits: WorkerLimits,
): Promise<WorkerHandle> {
  const child = fork(fileURLToPath(entry), [], {
    serialization: "advanced",
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    execArgv: limits.maxHeapMb === null
      ? execArgv
      : [...execArgv, `--max-old-space-size=${limits.maxHeapMb}`],
  });
  let reason: string | null = null;
  pipeLines(child.stdout, "stdout", events);
  pipeLines(child.stderr, "stderr", events);
  child.on("message", (message) => events.message(message));
  child.on("error", (error) => reason ??= `it failed: ${error.message}`);
  // "close", not "exit": the last lines of stderr (an out-of-memory report) arrive first.
  const gone = new Promise<void>((resolve) => {
    child.on("close", (code, signal) => {
      events.exit(
        reason ?? (signal ? `it was killed by ${signal}` : `it exited with code ${code}`),
      );
      resolve();
    });
  });
  return Promise.resolve({
    pid: child.pid ?? 0,
    threadId: null,
    send: (message) => void child.send(message as never, () => {}),
    terminate: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return gone;
    },
  });
}

function connectParent(kind: "thread" | "process"): Promise<ParentChannel> {
  if (kind === "thread") {
    const port = parentPort!;
    return Promise.resolve({
      send: (message) => port.postMessage(message),
      onMessage: (handler) => void port.on("message", handler),
      flush: () => Promise.resolve(),
    });
  }
  process.on("disconnect", () => process.exit(0));
  let last = Promise.resolve();
  return Promise.resolve({
    send(message) {
      last = new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
    },
    onMessage: (handler) => void process.on("message", handler),
    flush: () => last,
  });
}

// --- Display and CLI (observe/, cli.ts) ---
interface DisplayStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}
const displayProcess = process as unknown as {
  stdout: DisplayStream;
  stderr: DisplayStream;
  argv: string[];
  exitCode?: number | string;
};
const display: Pick<
  RuntimeAdapter,
  "write" | "terminalColumns" | "jupyter" | "args" | "setExitCode"
> = {
  write: (stream, text) => void displayProcess[stream].write(text),
  terminalColumns: (stream) =>
    displayProcess[stream].isTTY ? displayProcess[stream].columns ?? 80 : null,
  jupyter: () => null,
  args: () => displayProcess.argv.slice(2),
  setExitCode: (code) => void (displayProcess.exitCode = code),
};
// --- end display and CLI ---

/** Node's implementation of the runtime adapter. */
export const adapter: RuntimeAdapter = {
  ...display, // display and CLI block
  pid: process.pid,
  rssBytes: () => process.memoryUsage.rss(),
  cpuMicros: () => {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  },
  onInterrupt(handler) {
    process.on("SIGINT", handler);
    return () => void process.off("SIGINT", handler);
  },
  isTerminal: (stream) => process[stream].isTTY === true,
  availableParallelism,
  startThread,
  startProcess,
  heapLimitUnsupported: () => null,
  connectParent,
  onExitCall(hook) {
    const exit = process.exit.bind(process);
    process.exit = ((code?: number) => {
      hook(code ?? Number(process.exitCode ?? 0));
      return exit(code);
    }) as typeof process.exit;
  },
};
