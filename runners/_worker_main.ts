/**
 * The worker side of the pool protocol, shared by the thread and subprocess
 * entries: imports task types, rebuilds tasks, runs or loads them with
 * `executeTask`, and replies with results or errors as data.
 *
 * @module
 */
import { format } from "node:util";
import { RunnerError } from "../core/errors.ts";
import { type LogLevel, setLogSink } from "../core/logger.ts";
import { fromStored } from "../core/params.ts";
import { findTaskType } from "../core/registry.ts";
import {
  type LabContext,
  makeTaskWithVersion,
  setTaskResult,
  type Task,
  taskDependencies,
  type TaskType,
} from "../core/task.ts";
import { LocalStorage } from "../storage/local_storage.ts";
import { NullStorage } from "../storage/null_storage.ts";
import type { Storage } from "../core/storage.ts";
import { executeTask } from "./_execute.ts";
import { type MainMessage, type RunMessage, toErrorData, type WorkerMessage } from "./_protocol.ts";
import { setWorkerState } from "../core/_worker_guard.ts";
import { loadRuntimeAdapter, type ParentChannel } from "../runtime/adapter.ts";

const imported = new Map<string, Promise<unknown>>();

function importModule(url: string): Promise<unknown> {
  let loading = imported.get(url);
  if (loading === undefined) {
    setWorkerState({ state: "importing", module: url });
    loading = import(url).finally(() => setWorkerState({ state: "idle" }));
    imported.set(url, loading);
  }
  return loading;
}

function findType(name: string, modules: readonly string[]): TaskType {
  const type = findTaskType<TaskType>(name);
  if (type !== undefined) return type;
  throw new RunnerError(
    `Cannot find task type "${name}" in a worker: importing ${modules.join(", ")} did not ` +
      `define it; define the type at the top level of a module and pass module: import.meta.url ` +
      `to task() if it is defined elsewhere`,
  );
}

// Tasks this worker has rebuilt, by cache key: the pool sends each task once and refers to it
// afterwards. Forgotten after a failure, as the pool forgets what this worker holds.
const held = new Map<string, Task>();

async function rebuild(message: RunMessage): Promise<Task> {
  for (const url of message.modules) {
    try {
      await importModule(url);
    } catch (error) {
      throw new RunnerError(
        `Cannot import ${url} in a worker to find the type of ${message.taskName}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
  }
  const make = (name: string, codeVersion: string | null, params: unknown) =>
    makeTaskWithVersion(findType(name, message.modules), params, codeVersion);
  const resolve = (key: string) => {
    const known = held.get(key);
    if (known === undefined) {
      throw new RunnerError(`Cannot rebuild ${message.taskName}: task ${key} is unknown`);
    }
    return known;
  };
  for (const [key, text] of message.tasks) {
    const task = fromStored(JSON.parse(text), make, resolve) as Task;
    if (task.cacheKey !== key) {
      throw new RunnerError(
        `Cannot rebuild ${message.taskName}: ${task} arrived with cache key ${key}`,
      );
    }
    held.set(key, task);
  }
  const task = resolve(message.key);
  const deps = new Map(message.deps);
  for (const dep of taskDependencies(task)) {
    const result = deps.get(dep.cacheKey);
    if (result !== undefined) setTaskResult(dep, result);
  }
  return task;
}

/** Serves one pool: call once, from a worker entry module. */
export async function serveWorker(kind: "thread" | "process"): Promise<void> {
  const runtime = await loadRuntimeAdapter();
  const channel: ParentChannel = await runtime.connectParent(kind);
  const send = (message: WorkerMessage) => channel.send(message);
  // The Lab decides what an interrupt means; subprocesses share its terminal.
  if (kind === "process") runtime.onInterrupt(() => {});
  runtime.onExitCall((code) => send({ kind: "exiting", code }));
  let source = "labtech worker";
  setLogSink((record) => send({ kind: "log", record }));
  captureConsole((level, message) => send({ kind: "log", record: { level, source, message } }));
  let context: LabContext = {};
  let storage: Storage = new NullStorage();
  const signal = new AbortController().signal;

  const run = async (message: RunMessage) => {
    source = message.taskName;
    const { id } = message;
    try {
      const task = await rebuild(message);
      setWorkerState({ state: "running" });
      const env = message.context === null
        ? { storage, context, signal }
        : { storage, context: message.context, signal, contextFiltered: true };
      const result = await executeTask(
        task,
        message.taskName,
        message.useCache,
        env,
        () => send({ kind: "loading", id }),
      );
      try {
        send({ kind: "result", id, value: result.value, meta: result.meta });
      } catch (error) {
        throw new RunnerError(
          `Cannot send the result of ${message.taskName} back from its worker: ${
            (error as Error).message
          }`,
          { cause: error },
        );
      }
    } catch (error) {
      held.clear();
      send({ kind: "error", id, error: toErrorData(error) });
    } finally {
      setWorkerState({ state: "idle" });
      // Held tasks must not keep their dependency results alive between tasks.
      const task = held.get(message.key);
      if (task !== undefined) {
        for (const dep of taskDependencies(task)) setTaskResult(dep, null);
      }
    }
  };

  channel.onMessage((raw) => {
    const message = raw as MainMessage;
    if (message.kind === "startup") {
      if (message.context !== null) context = message.context;
      storage = message.storage.kind === "local"
        ? new LocalStorage(message.storage.dir)
        : new NullStorage();
    } else if (message.kind === "run") void run(message);
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
