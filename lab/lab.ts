/**
 * `Lab`: runs tasks with caching and maximal parallelism.
 *
 * @module
 */
import { cacheOf } from "../caches/_default_cache.ts";
import { readMetadata, typeNameOfKey } from "../caches/_metadata.ts";
import { resolveBackend, type RunnerName } from "../runners/backends.ts";
import type { RunnerBackend } from "../core/runner.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";
import { assertNotImportingInWorker } from "../core/_worker_guard.ts";
import { LocalStorage } from "../storage/local_storage.ts";
import { NullStorage } from "../storage/null_storage.ts";
import type { Storage } from "../core/storage.ts";
import { createRunDisplay } from "../observe/run_display.ts";
import { buildGraph, type GraphNode, typeOrder } from "./_graph.ts";
import { Coordinator } from "./coordinator.ts";
import { LabError } from "../core/errors.ts";
import { labLogger } from "../core/logger.ts";
import type { DisplayOptions, RunObserver } from "../core/observer.ts";
import { Task, type TaskType } from "../core/task.ts";
import type { LabContext } from "../core/task.ts";

/**
 * The result type of a task type's tasks.
 * @example
 * ```ts
 * import type { ResultOf } from "./lab.ts";
 * import { task } from "../core/task.ts";
 * const t = task({ name: "DocResultOf", run: (p: { x: number }) => String(p.x) })({ x: 1 });
 * const value: ResultOf<typeof t> = "1";
 * ```
 */
// deno-lint-ignore no-explicit-any
export type ResultOf<T> = T extends Task<any, infer R> ? R : never;

/**
 * What `new Lab()` takes.
 * @example
 * ```ts
 * import { Lab, type LabOptions } from "./lab.ts";
 * import assert from "node:assert/strict";
 * const options: LabOptions = { storage: null, runner: "async", maxWorkers: 4, continueOnFailure: false };
 * const lab = new Lab(options);
 * assert.equal(lab.maxWorkers, 4);
 * assert.equal(lab.continueOnFailure, false);
 * ```
 */
export interface LabOptions<C extends object = LabContext> {
  /** A directory for LocalStorage, a Storage, or null to cache nothing. Default `labtech_storage`. */
  storage?: string | Storage | null;
  /** Values shared with every task; never part of identity. */
  context?: C;
  /** The most tasks to run at once; default decided by the backend. */
  maxWorkers?: number | null;
  /** Which backend runs tasks: a name or a RunnerBackend. Default `"serial"`. */
  runner?: RunnerName | RunnerBackend;
  /** Default true: log a failure, run the rest, throw at the end. */
  continueOnFailure?: boolean;
}

/**
 * What `runTasks` takes.
 * @example
 * ```ts
 * import { Lab, type RunOptions } from "./lab.ts";
 * import { task } from "../core/task.ts";
 * import assert from "node:assert/strict";
 * const options: RunOptions = { bustCache: true, progress: false, top: false };
 * const one = task({ name: "DocRunOptions", run: () => 1 });
 * assert.equal(await new Lab({ storage: null }).runTask(one({}), options), 1);
 * ```
 */
export interface RunOptions extends DisplayOptions {
  /** Run every task again instead of loading cached results. */
  bustCache?: boolean;
  /** Aborting cancels tasks not yet started and waits for running ones. */
  signal?: AbortSignal;
  /**
   * Receives the run's progress instead of the built-in display (progress
   * bars and task table), e.g. for your own tracking; `progress`, `top` and
   * `notebook` are then ignored.
   */
  observer?: RunObserver;
}

/**
 * Runs tasks: loads cached results instead of running again, runs nested
 * tasks first, and spreads the work over the chosen runner backend.
 * @example Run a small sweep twice: the second run loads from the cache
 * ```ts
 * import { Lab } from "./lab.ts";
 * import { task } from "../core/task.ts";
 * import { MemoryStorage } from "../storage/memory_storage.ts";
 * import assert from "node:assert/strict";
 *
 * let runs = 0;
 * const square = task({ name: "DocLabSquare", run: (p: { x: number }) => (runs++, p.x * p.x) });
 * const lab = new Lab({ storage: new MemoryStorage() });
 * const tasks = [1, 2, 3].map((x) => square({ x }));
 * const results = await lab.runTasks(tasks, { progress: false });
 * assert.deepEqual([...results.values()], [1, 4, 9]);
 * await lab.runTasks(tasks, { progress: false });
 * assert.equal(runs, 3);
 * ```
 */
export class Lab<C extends object = LabContext> {
  /** Where results are cached. */
  readonly storage: Storage;
  /** Values shared with every task. */
  readonly context: C;
  /** The most tasks to run at once, or null for the backend's default. */
  readonly maxWorkers: number | null;
  /** The backend name or object. */
  readonly runner: RunnerName | RunnerBackend;
  /** Whether a failure lets the rest of the run go on. */
  readonly continueOnFailure: boolean;

  /**
   * @param options Storage, context, workers, backend and failure policy.
   * @throws {TypeError|RangeError} for malformed options.
   * @throws {LabError} inside a worker that is importing a module to find task types.
   */
  constructor(options: LabOptions<C> = {}) {
    assertNotImportingInWorker();
    const { storage, context = {}, maxWorkers = null, runner = "serial" } = options;
    if (storage === undefined) {
      labLogger.warn(
        "No storage given: caching results in ./labtech_storage (pass storage: null to cache nothing)",
      );
      this.storage = new LocalStorage("labtech_storage");
    } else if (storage === null) this.storage = new NullStorage();
    else if (typeof storage === "string") this.storage = new LocalStorage(storage);
    else if (typeof storage === "object" && typeof storage.exists === "function") {
      this.storage = storage;
    } else {
      throw new TypeError("Cannot create Lab as storage must be a directory, a Storage or null");
    }
    if (maxWorkers !== null && !(Number.isInteger(maxWorkers) && maxWorkers >= 1)) {
      throw new RangeError(
        `Cannot create Lab as maxWorkers must be a positive integer or null: received ${maxWorkers}`,
      );
    }
    if (typeof context !== "object" || context === null) {
      throw new TypeError("Cannot create Lab as context must be an object");
    }
    this.context = context as C;
    this.maxWorkers = maxWorkers;
    this.runner = runner;
    this.continueOnFailure = options.continueOnFailure ?? true;
  }

  /**
   * Runs (or loads) `tasks` and everything they depend on.
   *
   * @param tasks The tasks to run; nested tasks in their parameters run first.
   * @param options Cache busting, an abort signal, and the display (or an `observer`).
   * @returns A Map from each task passed in to its result, in their order.
   * @throws {LabError} when the input is refused (not tasks, a stale codeVersion, a cycle,
   *   an already aborted signal, a worker backend for task types defined in a notebook
   *   cell), or after the run when tasks failed or it was interrupted.
   * @throws {RangeError} for malformed `top` options.
   * @throws {TypeError} for an unknown runner name, or `notebook: true` outside Deno's Jupyter
   *   kernel.
   * @example Results come back keyed by the tasks passed in
   * ```ts
   * import { Lab } from "./lab.ts";
   * import { task } from "../core/task.ts";
   * import assert from "node:assert/strict";
   * const half = task({ name: "DocLabHalf", run: (p: { x: number }) => p.x / 2 });
   * const tasks = [half({ x: 2 }), half({ x: 6 })];
   * const results = await new Lab({ storage: null }).runTasks(tasks, { progress: false });
   * assert.equal(results.get(tasks[1]!), 3);
   * ```
   */
  // A task needs a context its Lab's context satisfies; untyped tasks fit any Lab.
  // deno-lint-ignore no-explicit-any
  async runTasks<T extends Task<any, any, C> | Task<any, any, LabContext>>(
    tasks: readonly T[],
    options: RunOptions = {},
  ): Promise<Map<T, ResultOf<T>>> {
    if (!Array.isArray(tasks)) {
      throw new LabError("Cannot run tasks: tasks must be an array of tasks");
    }
    for (let i = 0; i < tasks.length; i++) {
      const t: unknown = tasks[i];
      if (!(t instanceof Task)) {
        throw new LabError(
          `Cannot run tasks: tasks[${i}] is not a task (got ${
            describe(t)
          }); make tasks by calling a task type`,
        );
      }
    }
    const nodes = buildGraph(tasks);
    const { signal } = options;
    // Refuse before anything is built: no display, no workers.
    if (signal?.aborted) throw new LabError("Cannot run tasks: the signal was already aborted");
    const adapter = await loadRuntimeAdapter();
    refuseUnimportable(nodes, this.runner, adapter.jupyter() !== null);
    const backend = await resolveBackend(this.runner);
    const display = options.observer ?? await createRunDisplay({ options, adapter });
    const observer = display === null ? null : inTypeOrder(display, typeOrder(nodes));
    const runner = await backend.buildRunner({
      context: this.context as LabContext,
      storage: this.storage,
      maxWorkers: this.maxWorkers,
    });
    // From here on the runner is closed whatever happens.
    let coordinator: Coordinator | undefined;
    let removeInterrupt = () => {};
    const interrupt = () => coordinator?.interrupt();
    try {
      coordinator = new Coordinator(runner, {
        storage: this.storage,
        bustCache: options.bustCache ?? false,
        continueOnFailure: this.continueOnFailure,
        observer,
      }, this.maxWorkers);
      signal?.addEventListener("abort", interrupt, { once: true });
      removeInterrupt = adapter.onInterrupt(interrupt);
      if (signal?.aborted) {
        throw new LabError("Cannot run tasks: the signal was aborted while the runner started");
      }
      await coordinator.execute(nodes);
    } finally {
      removeInterrupt();
      signal?.removeEventListener("abort", interrupt);
      await runner.close();
    }
    const results = new Map();
    for (const t of tasks) results.set(t, t.result);
    return results;
  }

  /**
   * Runs (or loads) one task and returns its result.
   *
   * @param task The task to run.
   * @param options As for {@linkcode Lab.runTasks}.
   * @returns The task's result.
   * @throws {LabError} when the task is refused or fails. @example
   * ```ts
   * import { Lab } from "./lab.ts";
   * import { task } from "../core/task.ts";
   * import assert from "node:assert/strict";
   * const double = task({ name: "DocLabDouble", run: (p: { x: number }) => p.x * 2 });
   * assert.equal(await new Lab({ storage: null }).runTask(double({ x: 4 }), { progress: false }), 8);
   * ```
   */
  async runTask<P, R>(
    task: Task<P, R, C> | Task<P, R, LabContext>,
    options: RunOptions = {},
  ): Promise<R> {
    const results = await this.runTasks([task], options);
    return results.get(task) as R;
  }

  /**
   * Tasks of the given types found in storage (results not loaded). Entries
   * are matched by the type name stored in each (so `A` never claims `A__b`'s
   * entries); those of these types that cannot be read are skipped with a
   * warning; no stored code is run.
   *
   * @param types The task types to look for.
   * @returns The stored tasks, grouped by type in the order of `types`.
   * @throws {StorageError} when the storage cannot be listed. @example
   * ```ts
   * import { Lab } from "./lab.ts";
   * import { task } from "../core/task.ts";
   * import { MemoryStorage } from "../storage/memory_storage.ts";
   * import assert from "node:assert/strict";
   * const id = task({ name: "DocLabCached", run: (p: { x: number }) => p.x });
   * const lab = new Lab({ storage: new MemoryStorage() });
   * await lab.runTasks([id({ x: 1 }), id({ x: 2 })], { progress: false });
   * const found = await lab.cachedTasks([id]);
   * assert.deepEqual(found.map((t) => t.params.x).sort(), [1, 2]);
   * ```
   */
  async cachedTasks(types: readonly TaskType[]): Promise<Task[]> {
    const found = new Map<string, Task[]>(types.map((type) => [type.name, []]));
    const byName = new Map(types.map((type) => [type.name, type]));
    for (const key of await this.storage.findKeys()) {
      // A standard key names its type exactly (`A` and `A__b` differ); the
      // stored name decides, and a key of another shape is always read.
      const keyName = typeNameOfKey(key);
      if (keyName !== null && !byName.has(keyName)) continue;
      let type: TaskType | undefined;
      try {
        type = byName.get((await readMetadata(this.storage, key)).task.name);
      } catch {
        // No readable metadata: a custom cache's entry, or a corrupt one that loadTask reports.
        type = keyName === null ? undefined : byName.get(keyName);
      }
      if (type === undefined) continue;
      try {
        found.get(type.name)!.push(await cacheOf(type).loadTask(this.storage, type, key));
      } catch (error) {
        labLogger.warn(`Skipping cache entry ${key}: ${(error as Error).message}`);
      }
    }
    return [...found.values()].flat();
  }

  /**
   * True when `task`'s result is in storage.
   *
   * @param task The task to look up.
   * @returns Whether its cache entry exists.
   * @throws {StorageError} when the storage cannot be read. @example
   * ```ts
   * import { Lab } from "./lab.ts";
   * import { task } from "../core/task.ts";
   * import { MemoryStorage } from "../storage/memory_storage.ts";
   * import assert from "node:assert/strict";
   * const one = task({ name: "DocLabIsCached", run: () => 1 });
   * const lab = new Lab({ storage: new MemoryStorage() });
   * assert.equal(await lab.isCached(one({})), false);
   * await lab.runTask(one({}), { progress: false });
   * assert.equal(await lab.isCached(one({})), true);
   * ```
   */
  isCached(task: Task): Promise<boolean> {
    return cacheOf(task.type).isCached(this.storage, task);
  }

  /**
   * Removes the cached results of `tasks`; tasks not in storage are ignored.
   *
   * @param tasks The tasks whose entries to delete.
   * @returns Once every entry is gone.
   * @throws {StorageError} when an entry cannot be deleted. @example
   * ```ts
   * import { Lab } from "./lab.ts";
   * import { task } from "../core/task.ts";
   * import { MemoryStorage } from "../storage/memory_storage.ts";
   * import assert from "node:assert/strict";
   * const one = task({ name: "DocLabUncache", run: () => 1 });
   * const lab = new Lab({ storage: new MemoryStorage() });
   * await lab.runTask(one({}), { progress: false });
   * await lab.uncacheTasks([one({})]);
   * assert.equal(await lab.isCached(one({})), false);
   * ```
   */
  async uncacheTasks(tasks: readonly Task[]): Promise<void> {
    for (const task of tasks) await cacheOf(task.type).delete(this.storage, task);
  }
}

const WORKER_BACKENDS: ReadonlySet<unknown> = new Set(["thread", "spawn", "fork"]);

/**
 * Refuses, before anything starts, a worker backend for task types whose
 * module is unknown (defined in a notebook cell or a REPL): a worker finds a
 * type by importing its module, so every task would fail the same way.
 */
function refuseUnimportable(
  nodes: ReadonlyMap<string, GraphNode>,
  runner: RunnerName | RunnerBackend,
  inNotebook: boolean,
): void {
  if (!WORKER_BACKENDS.has(runner)) return;
  for (const { task } of nodes.values()) {
    if (task.type.module !== null) continue;
    const name = JSON.stringify(task.type.name);
    throw new LabError(
      inNotebook
        ? `Cannot run tasks on the ${runner} backend: task type ${name} was defined in a ` +
          `notebook cell, which a worker cannot import; put its task() definition in a module ` +
          `file (such as tasks.ts beside the notebook) and import it in a cell ` +
          `(import { ... } from "./tasks.ts"), or use runner: "serial" or "async"`
        : `Cannot run tasks on the ${runner} backend: the module defining task type ${name} ` +
          `is unknown (defined in a REPL or eval?), so a worker cannot import it; define it in ` +
          `a module file and pass module: import.meta.url to task(), or use runner: "serial" ` +
          `or "async"`,
    );
  }
}

/** `observer` with the run's types listed dependencies first, whatever order the scheduler counts them in. */
function inTypeOrder(observer: RunObserver, order: readonly string[]): RunObserver {
  const rank = new Map(order.map((name, i) => [name, i]));
  const sorted = (totals: ReadonlyMap<string, number>) =>
    new Map(
      [...totals].sort(([a], [b]) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity)),
    );
  return {
    start: (totals) => observer.start(sorted(totals)),
    add: (more) => observer.add(sorted(more)),
    taskDone: (type, outcome) => observer.taskDone(type, outcome),
    update: (runner) => observer.update(runner),
    end: () => observer.end(),
  };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return typeof value;
}
