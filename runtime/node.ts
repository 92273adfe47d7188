/** The Node adapter: `node:process`, `node:worker_threads` and `node:child_process`. */
import { fork } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ConsoleAdapter } from "./console.ts";
import type { ProcessFacts } from "./process_facts.ts";
import type { WorkerAdapter } from "./workers.ts";
import { nodeConsole, nodeProcessFacts } from "./_node_console.ts";
import { captureNodeOutput, routeOutput } from "./_output_capture.ts";
import { childEnv, watchAfterFirstSend } from "./_parent_watch.ts";
import { connectNodeThread, pipeLines, startNodeThread } from "./_node_thread.ts";

// Flags of a test runner or inspector must not reach the workers.
const execArgv = process.execArgv.filter((arg) => !/^--(test|inspect|watch)/.test(arg));

const startProcess: WorkerAdapter["startProcess"] = (entry, events, limits) => {
  const child = fork(fileURLToPath(entry), [], {
    serialization: "advanced",
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: childEnv(),
    execArgv: limits.maxHeapMb === null
      ? execArgv
      : [...execArgv, `--max-old-space-size=${limits.maxHeapMb}`],
  });
  let reason: string | null = null;
  pipeLines(child.stdout, "stdout", events);
  pipeLines(child.stderr, "stderr", events);
  const route = routeOutput(events);
  child.on("message", route.message);
  child.on("error", (error) => reason ??= `it failed: ${error.message}`);
  // "close", not "exit": the last lines of stderr (an out-of-memory report) arrive first.
  const gone = new Promise<void>((resolve) => {
    child.on("close", (code, signal) => {
      route.end();
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
};

const connectParent: WorkerAdapter["connectParent"] = (kind) => {
  if (kind === "thread") return Promise.resolve(connectNodeThread());
  process.on("disconnect", () => process.exit(0));
  let last = Promise.resolve();
  const send = watchAfterFirstSend((message: unknown) => {
    last = new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
  });
  captureNodeOutput(process, send);
  return Promise.resolve({
    send,
    onMessage: (handler) => void process.on("message", handler),
    flush: () => last,
  });
};

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
