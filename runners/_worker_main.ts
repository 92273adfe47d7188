/**
 * The worker side of the pool protocol, shared by the thread and subprocess
 * entries: rebuilds tasks (`TaskRebuilder`), loads or runs them (`loadOrRun`,
 * over the Lab's storage reopened from its description), and replies with results or errors as data.
 *
 * @module
 */
import { format } from "node:util";
import { RunnerError } from "../core/errors.ts";
import { type LogLevel, setLogSink } from "../core/logger.ts";
import type { LabContext } from "../core/task.ts";
import type { Storage, StorageDescription } from "../core/storage.ts";
import { NullStorage } from "../storage/null_storage.ts";
import { loadOrRun } from "./_execute.ts";
import { type MainMessage, type RunMessage, toErrorData, type WorkerMessage } from "./_protocol.ts";
import { checkResultCrossing } from "./_result_crossing.ts";
import { TaskRebuilder } from "./_task_wire.ts";
import { buffersIn, transferablesOf } from "./_transfer.ts";
import { setWorkerState } from "../core/_worker_guard.ts";
import { loadRuntimeAdapter, type ParentChannel } from "../runtime/adapter.ts";

/** Serves one pool: call once, from a worker entry module. */
export async function serveWorker(kind: "thread" | "process"): Promise<void> {
  const runtime = await loadRuntimeAdapter();
  const channel: ParentChannel = await runtime.connectParent(kind);
  const send = (message: WorkerMessage, transfer?: ArrayBuffer[]) =>
    channel.send(message, transfer);
  // The Lab decides what an interrupt means; subprocesses share its terminal.
  if (kind === "process") runtime.onInterrupt(() => {});
  runtime.onExitCall((code) => send({ kind: "exiting", code }));
  let source = "labtech worker";
  setLogSink((record) => send({ kind: "log", record }));
  captureConsole((level, message) => send({ kind: "log", record: { level, source, message } }));
  let context: LabContext = {};
  // A thread moves its results' buffers to the Lab (it has cached them), never its context's.
  let keep = new Set<ArrayBuffer>();
  // Until the startup message says where: nothing is cached before it arrives.
  let storageSpec: StorageDescription = { kind: "null" };
  let storage: Promise<Storage> | null = null;
  // Opened at the first task, once its module (which may define the storage's kind) has loaded:
  // a storage module with a top-level await, still evaluating, could not register its kind yet.
  const openHere = () =>
    storage ??= storageSpec.kind === "null"
      ? Promise.resolve(new NullStorage())
      : import("../storage/open.ts").then((m) => m.openStorage(storageSpec));
  const signal = new AbortController().signal;
  const tasks = new TaskRebuilder();

  const run = async (message: RunMessage) => {
    source = message.taskName;
    const { id } = message;
    try {
      const task = await tasks.rebuild(message);
      setWorkerState({ state: "running" });
      const here = await openHere();
      const env = message.context === null
        ? { storage: here, context, signal }
        : { storage: here, context: message.context, signal, contextIsFiltered: true };
      const result = await loadOrRun(
        task,
        message.taskName,
        message.useCache,
        env,
        () => send({ kind: "loading", id }),
      );
      // A value that would arrive changed fails here, where its task can still be named.
      checkResultCrossing(result.value, message.taskName);
      try {
        const transfer = kind === "thread" ? transferablesOf(result.value, keep) : undefined;
        send({ kind: "result", id, value: result.value, meta: result.meta }, transfer);
      } catch (error) {
        throw new RunnerError(
          `Cannot send the result of ${message.taskName} back from its worker: ${
            (error as Error).message
          }`,
          { cause: error },
        );
      }
    } catch (error) {
      // The pool resends what it sent before; a run sent ahead may refer to what this one held.
      send({ kind: "error", id, error: toErrorData(error) });
    } finally {
      setWorkerState({ state: "idle" });
      // Held tasks must not keep their dependency results alive between tasks.
      tasks.release(message.key);
    }
  };

  // One task at a time, in order: the pool sends the next one ahead, and may cancel it.
  let last: Promise<void> = Promise.resolve();
  const cancelled = new Set<number>();
  const onMessage = (message: MainMessage) => {
    if (message.kind === "startup") {
      if (message.context !== null) context = message.context;
      if (kind === "thread") keep = buffersIn(context);
      storageSpec = message.storage; // a storage that cannot be reopened fails each task
    } else if (message.kind === "run") {
      // Each run gets one answer, a skip included: the pool waits for it before sending more.
      last = last.then(() =>
        cancelled.delete(message.id) ? send({ kind: "skipped", id: message.id }) : run(message)
      );
    } else if (message.kind === "cancel") cancelled.add(message.id);
  };
  // The pool sends several run messages at once as an array.
  channel.onMessage((raw) => {
    if (Array.isArray(raw)) { for (const message of raw) onMessage(message as MainMessage); }
    else onMessage(raw as MainMessage);
  });
  setWorkerState({ state: "idle" });
  send({ kind: "ready" });
}

const LEVELS: Record<string, LogLevel> = {
  log: "info",
  info: "info",
  debug: "debug",
  warn: "warn",
  error: "error",
  trace: "debug",
};

/** Routes console.* to the parent as log lines, so they carry the task's name. */
function captureConsole(emit: (level: LogLevel, message: string) => void): void {
  const target = console as unknown as Record<string, (...args: unknown[]) => void>;
  for (const [method, level] of Object.entries(LEVELS)) {
    target[method] = (...args: unknown[]) => emit(level, format(...args));
  }
}
