/** The Node adapter: `node:process`, `node:worker_threads` and `node:child_process`. */
import { fork } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ConsoleAdapter } from "./console.ts";
import type { ProcessFacts } from "./process_facts.ts";
import type {
  ParentChannel,
  WorkerAdapter,
  WorkerEvents,
  WorkerHandle,
  WorkerLimits,
} from "./workers.ts";
import { nodeConsole, nodeProcessFacts } from "./_node_console.ts";
import { connectNodeThread, pipeLines, startNodeThread } from "./_node_thread.ts";

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
  if (kind === "thread") return Promise.resolve(connectNodeThread());
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

/** Node's implementation of the runtime adapter. */
export const adapter: WorkerAdapter & ConsoleAdapter & ProcessFacts = {
  ...nodeConsole(process),
  ...nodeProcessFacts(process),
  startThread: (entry, events, limits) =>
    startNodeThread(entry, events, { maxHeapMb: limits.maxHeapMb, pipeOutput: true }),
  startProcess,
  heapLimitUnsupported: () => null,
  connectParent,
};
