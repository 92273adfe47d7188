/**
 * What differs between the `thread`, `spawn` and `fork` pools, as one object
 * per backend: how a worker starts, what context it gets at start-up and per
 * task, and what a worker is called in messages. The pool itself asks nothing
 * else about its backend. `buildPoolRunner` is the one `buildRunner` of the
 * three backends.
 *
 * @module
 */
import type { Runner, RunnerBuildOptions } from "../core/runner.ts";
import type { LabContext, Task } from "../core/task.ts";
import {
  loadRuntimeAdapter,
  type RuntimeAdapter,
  type WorkerEvents,
  type WorkerHandle,
  type WorkerLimits,
} from "../runtime/adapter.ts";
import { checkContextCopyable, checkTaskContextCopyable } from "./_context_copy.ts";
import { taskContext } from "./_execute.ts";
import { PoolRunner } from "./_pool.ts";

/** The worker backends' names, which are also their sections in a task's `runnerOptions`. */
export type PoolKind = "thread" | "spawn" | "fork";

/** One worker backend's way of doing what differs between them. */
export interface PoolStrategy {
  /** The backend's name. */
  readonly kind: PoolKind;
  /** Whether its workers are threads of this process or processes of their own. */
  readonly worker: "thread" | "process";
  /** What a worker is called in error messages. */
  readonly label: string;
  /** Starts one worker. */
  start(runtime: RuntimeAdapter, events: WorkerEvents, limits: WorkerLimits): Promise<WorkerHandle>;
  /** The context a worker receives once, when it starts, or null for none. */
  startupContext(context: LabContext): LabContext | null;
  /**
   * The context sent with each task, already filtered, or null to use the start-up one.
   * Throws a RunnerError when it cannot be copied.
   */
  runContext(task: Task, taskName: string, context: LabContext): LabContext | null;
  /** Called when the task in `handle` calls exit. */
  exiting(handle: WorkerHandle | null): void;
}

// After the build, modules end in .js and the entries with them.
const EXT = import.meta.url.endsWith(".js") ? ".js" : ".ts";
const THREAD_ENTRY = new URL(`./_thread_entry${EXT}`, import.meta.url);
const PROCESS_ENTRY = new URL(`./_process_entry${EXT}`, import.meta.url);

const fullContext = (context: LabContext) => context;
const none = () => null;

const processStrategy = {
  worker: "process",
  label: "worker process",
  start: (runtime: RuntimeAdapter, events: WorkerEvents, limits: WorkerLimits) =>
    runtime.startProcess(PROCESS_ENTRY, events, limits),
  exiting: () => {}, // the process ends, and the pool hears it
} as const;

/** The strategies, by backend name. */
export const POOL_STRATEGIES: Readonly<Record<PoolKind, PoolStrategy>> = {
  thread: {
    kind: "thread",
    worker: "thread",
    label: "worker thread",
    start: (runtime, events, limits) =>
      new Promise((resolve) => resolve(runtime.startThread(THREAD_ENTRY, events, limits))),
    startupContext: fullContext,
    runContext: none,
    // A Web Worker that exits may say nothing more: end it so its task is reported.
    exiting: (handle) => void handle?.terminate(),
  },
  // Nothing is inherited: each task gets its own filtered context.
  spawn: {
    ...processStrategy,
    kind: "spawn",
    startupContext: none,
    runContext: (task, taskName, context) => {
      const filtered = taskContext(task, context);
      checkTaskContextCopyable(filtered, taskName);
      return filtered;
    },
  },
  // The full context once, at start, as a fork would inherit it.
  fork: { ...processStrategy, kind: "fork", startupContext: fullContext, runContext: none },
};

/**
 * Builds the pool of one worker backend: what `ThreadRunnerBackend`,
 * `SpawnRunnerBackend` and `ForkRunnerBackend` do. Pools start lazily up to
 * `maxWorkers` (default: the number of CPUs) and are reused across tasks.
 *
 * Task types are found by importing the module that defined them (`task()`'s
 * `module`, found from its call site); a module that runs a Lab when imported
 * fails at once with a LabError saying how to guard it. A storage that
 * describes itself (`describe()`, as LocalStorage does) is reopened in each
 * worker, which loads and saves there; with one that does not (MemoryStorage,
 * most custom ones), cached results are loaded and new ones saved on the
 * Lab's side. A task that throws, exits or crashes fails alone with a
 * RunnerError saying what happened; its worker is replaced. A task whose
 * `runnerOptions` give this backend's section a `maxHeapMb` runs on a worker
 * of its own with that heap limit (see `WorkerRunnerOptions`).
 *
 * @param kind Which backend.
 * @param options The Lab's context and storage, and `maxWorkers`.
 * @returns The pool, with no worker started yet.
 * @throws {LabError} when the backend copies the whole context to its workers
 *   (thread, fork) and a value in it cannot be copied.
 */
export async function buildPoolRunner(
  kind: PoolKind,
  { context, storage, maxWorkers }: RunnerBuildOptions,
): Promise<Runner> {
  const strategy = POOL_STRATEGIES[kind];
  const copied = strategy.startupContext(context);
  if (copied !== null) checkContextCopyable(copied, kind);
  const runtime = await loadRuntimeAdapter();
  return new PoolRunner({
    strategy,
    size: maxWorkers ?? runtime.availableParallelism(),
    context,
    storage,
    runtime,
  });
}
