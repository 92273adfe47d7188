/**
 * One `runTasks` call: plans which tasks to load or run, hands ready tasks to
 * the runner, and releases results once no pending dependent needs them.
 * Work per completion is proportional to that task's own edges.
 */
import { cacheOf } from "../caches/_default_cache.ts";
import { FileCache } from "../caches/_file_cache.ts";
import type { Runner } from "../core/runner.ts";
import type { Storage } from "../core/storage.ts";
import type { GraphNode, TypeQueue } from "./_graph.ts";
import { CorruptEntryError, LabError, RunnerError } from "../core/errors.ts";
import { labLogger } from "../core/logger.ts";
import type { RunObserver } from "../core/observer.ts";
import { releaseTaskResult, setTaskResult, type TaskType } from "../core/task.ts";

// A node carries its own bookkeeping for the run: no Map from node to state.
type NodeState = GraphNode;

/** What a run needs from its Lab. */
export interface RunSettings {
  storage: Storage;
  bustCache: boolean;
  continueOnFailure: boolean;
  observer: RunObserver | null;
}

const WAIT_SLICE_MS = 200;
/** From this many tasks to check, list the storage once instead of asking per task. */
const LIST_STORAGE_FROM = 64;

/** Drives one run to completion; `interrupt()` cancels, a second call stops. */
export class Coordinator {
  readonly #runner: Runner;
  readonly #settings: RunSettings;
  #nodes: ReadonlyMap<string, GraphNode> = new Map();
  readonly #ready = new Map<TaskType, TypeQueue>();
  /** The values of `#ready`, in the order types first became ready. */
  readonly #queues: TypeQueue[] = [];
  /** Tasks submitted to the runner and not yet returned (state "submitted"). */
  #inFlight = 0;
  readonly #nameCounters = new Map<TaskType, number>();
  readonly #capacity: number;
  readonly #causes: Array<readonly [string, Error]> = [];
  readonly #forceRun = new Set<NodeState>();
  #storedKeys: Set<string> | null = null;
  #failed = 0;
  #skipped = 0;
  #stopping = false;
  #interrupts = 0;
  #runFailureSaid = false;

  constructor(runner: Runner, settings: RunSettings, maxWorkers: number | null) {
    this.#runner = runner;
    this.#settings = settings;
    this.#capacity = Math.max(1, runner.capacity ?? maxWorkers ?? 1);
  }

  /** First call cancels tasks not started; a second stops running ones. */
  interrupt(): void {
    this.#interrupts++;
    if (this.#interrupts === 1) {
      labLogger.warn(
        "Interrupted: cancelling tasks not yet started (interrupt again to stop running ones)",
      );
      this.#cancel();
    } else if (this.#interrupts === 2) {
      labLogger.warn("Interrupted again: stopping running tasks");
      void this.#runner.stop();
    }
  }

  /** Plans and runs every task reachable from the graph's roots. */
  async execute(nodes: Map<string, GraphNode>): Promise<void> {
    this.#nodes = nodes;
    const roots: NodeState[] = [];
    for (const node of nodes.values()) if (node.isRoot) roots.push(node);
    await this.#plan(roots);
    this.#settings.observer?.start(this.#totals());
    try {
      await this.#loop();
    } finally {
      this.#settings.observer?.end();
    }
    if (this.#failed > 0 || this.#interrupts > 0 || this.#skipped > 0) {
      const what = this.#interrupts > 0 ? "Run interrupted" : "Run failed";
      throw new LabError(
        `${what}: ${this.#failed} task(s) failed and ${this.#skipped} were skipped` +
          (this.#causes[0]
            ? `; first failure in ${this.#causes[0][0]}: ${this.#causes[0][1].message}`
            : ""),
        { failed: this.#failed, skipped: this.#skipped, causes: this.#causes },
      );
    }
  }

  #totals(): Map<string, number> {
    const totals = new Map<string, number>();
    for (const state of this.#nodes.values()) {
      if (state.state === "unplanned") continue;
      const name = state.task.type.name;
      totals.set(name, (totals.get(name) ?? 0) + 1);
    }
    return totals;
  }

  // Breadth-first from `start`: a cached task is loaded and its dependencies
  // are not visited; anything else runs after its dependencies. Returns the
  // tasks it planned.
  async #plan(start: NodeState[]): Promise<NodeState[]> {
    const { storage, bustCache } = this.#settings;
    const checkCache = !bustCache && storage.storesNothing !== true;
    const planned: NodeState[] = [];
    let level = start.filter((s) => s.state === "unplanned");
    for (const s of level) s.state = "waiting";
    this.#storedKeys = null;
    while (level.length > 0) {
      const cached = checkCache ? await this.#cachedFlags(level, storage) : null;
      const next: NodeState[] = [];
      level.forEach((s, i) => {
        planned.push(s);
        s.load = cached?.[i] === true;
        if (s.load) return;
        for (const dep of s.deps) {
          if (dep.state === "unplanned") {
            dep.state = "waiting";
            next.push(dep);
          }
        }
      });
      level = next;
    }
    const blocked: NodeState[] = [];
    for (const s of planned) {
      if (s.name === "") s.name = this.#nameFor(s.task.type);
      s.depsLeft = 0;
      if (s.load) continue;
      for (const dep of s.deps) {
        dep.dependentsLeft++;
        if (dep.state === "failed" || dep.state === "skipped") blocked.push(s);
        else if (dep.state === "done" && dep.released) {
          // Needed again after its release (a corrupt entry was replanned): load it anew.
          dep.state = "waiting";
          dep.load = true;
          dep.released = false;
          planned.push(dep);
          s.depsLeft++;
        } else if (dep.state !== "done") s.depsLeft++;
      }
    }
    for (const s of planned) if (s.depsLeft === 0 && s.state === "waiting") this.#enqueue(s);
    for (const s of blocked) if (s.state === "waiting") this.#skipWithDependents(s);
    return planned;
  }

  // Large plans list the storage once (one directory read) instead of asking
  // about each entry; file caches are cached exactly when their key is stored.
  async #cachedFlags(level: NodeState[], storage: Storage): Promise<boolean[]> {
    if (this.#storedKeys === null && level.length >= LIST_STORAGE_FROM) {
      this.#storedKeys = new Set(await storage.findKeys());
    }
    const keys = this.#storedKeys;
    const flags = new Array<boolean>(level.length);
    // Only caches that must be asked cost a promise each.
    const asked: Promise<void>[] = [];
    for (let i = 0; i < level.length; i++) {
      const s = level[i]!;
      const cache = cacheOf(s.task.type);
      if (this.#forceRun.has(s)) flags[i] = false;
      else if (keys !== null && cache instanceof FileCache) flags[i] = keys.has(s.key);
      else {asked.push(
          cache.isCached(storage, s.task).then((cached) => void (flags[i] = cached)),
        );}
    }
    if (asked.length > 0) await Promise.all(asked);
    return flags;
  }

  #nameFor(type: TaskType): string {
    const index = this.#nameCounters.get(type) ?? 0;
    this.#nameCounters.set(type, index + 1);
    return `${type.name}[${index < 10 ? "0" : ""}${index}]`;
  }

  #enqueue(s: NodeState): void {
    if (this.#stopping) return;
    s.state = "ready";
    let queue = s.queue;
    if (queue === null) {
      const type = s.task.type;
      queue = this.#ready.get(type) ?? null;
      if (queue === null) {
        queue = { type, items: [], head: 0, running: 0 };
        this.#ready.set(type, queue);
        this.#queues.push(queue);
      }
      s.queue = queue;
    }
    queue.items.push(s);
  }

  // Hands ready tasks to the runner, round-robin over types, never more than its capacity
  // and never more of a type than its maxParallel.
  #fill(): void {
    let progressed = true;
    while (progressed && this.#inFlight < this.#capacity && !this.#stopping) {
      progressed = false;
      for (const queue of this.#queues) {
        if (this.#inFlight >= this.#capacity) break;
        if (queue.head === queue.items.length) continue;
        const maxParallel = queue.type.maxParallel;
        if (maxParallel !== null && queue.running >= maxParallel) continue;
        const s = queue.items[queue.head++]!;
        if (queue.head === queue.items.length) {
          queue.items = [];
          queue.head = 0;
        }
        if (s.state !== "ready") { // skipped while queued
          progressed = true;
          continue;
        }
        s.state = "submitted";
        this.#inFlight++;
        queue.running++;
        this.#runner.submitTask(s.task, s.name, s.load);
        progressed = true;
      }
    }
  }

  async #loop(): Promise<void> {
    const observer = this.#settings.observer;
    this.#fill();
    while (this.#inFlight > 0) {
      const outcomes = await this.#runner.wait({ timeoutMs: WAIT_SLICE_MS });
      for (const [task, outcome] of outcomes) {
        const s = this.#nodes.get(task.cacheKey);
        if (s === undefined || s.state !== "submitted") continue;
        this.#inFlight--;
        s.queue!.running--;
        if (outcome instanceof Error) await this.#onError(s, outcome);
        else {
          this.#onSuccess(s);
          observer?.taskDone(s.task.type.name, { cached: s.load, failed: false });
        }
      }
      observer?.update(this.#runner);
      if (this.#stopping && this.#runner.pendingTaskCount() === 0) {
        // Whatever was submitted and never returned was cancelled.
        for (const s of this.#nodes.values()) if (s.state === "submitted") this.#skip(s);
        this.#inFlight = 0;
      }
      this.#fill();
    }
  }

  #onSuccess(s: NodeState): void {
    const result = this.#runner.getResult(s.task);
    for (const instance of s.instances) setTaskResult(instance, result);
    s.state = "done";
    this.#finished(s);
    for (const dependent of s.dependents) {
      const d = dependent;
      if (d.state !== "waiting" || d.load) continue;
      if (--d.depsLeft === 0) this.#enqueue(d);
    }
    if (s.dependentsLeft === 0 && !s.isRoot) this.#release(s);
  }

  async #onError(s: NodeState, error: Error): Promise<void> {
    if (s.load && error instanceof CorruptEntryError && !this.#forceRun.has(s)) {
      labLogger.warn(`${error.message}; treating it as absent and running ${s.task} instead`);
      this.#forceRun.add(s);
      s.state = "unplanned";
      const planned = await this.#plan([s]);
      const added = new Map<string, number>();
      for (const p of planned) {
        if (p === s) continue;
        const name = p.task.type.name;
        added.set(name, (added.get(name) ?? 0) + 1);
      }
      if (added.size > 0) this.#settings.observer?.add(added);
      return;
    }
    s.state = "failed";
    this.#failed++;
    this.#causes.push([s.name, error]);
    // A LabError from a task is about the run (a module that runs a Lab when a worker
    // imports it): every task would fail alike, so it is said once and the run stops.
    const aboutRun = error instanceof LabError || error.cause instanceof LabError;
    // A task the second interrupt stopped gets one line; the run's LabError sums them up.
    if (this.#interrupts >= 2 && error instanceof RunnerError) labLogger.warn(error.message);
    else if (aboutRun && this.#runFailureSaid) labLogger.debug(`Task ${s.name} failed alike`);
    else labLogger.error(`Task ${s.name} failed: ${error.stack ?? error.message}`);
    if (aboutRun) this.#runFailureSaid = true;
    this.#settings.observer?.taskDone(s.task.type.name, { cached: false, failed: true });
    this.#finished(s);
    for (const dependent of s.dependents) {
      const d = dependent;
      if (!d.load && (d.state === "waiting" || d.state === "ready")) this.#skipWithDependents(d);
    }
    if (!this.#settings.continueOnFailure || aboutRun) this.#cancel();
  }

  // Skips `s` and every planned dependent of it, transitively, without recursion.
  #skipWithDependents(s: NodeState): void {
    const stack = [s];
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (d.load || (d.state !== "waiting" && d.state !== "ready")) continue;
      this.#skip(d);
      for (const dependent of d.dependents) stack.push(dependent);
    }
  }

  // A ready task stays in its queue and is passed over there.
  #skip(s: NodeState): void {
    s.state = "skipped";
    this.#skipped++;
    this.#finished(s);
  }

  // A task is finished (done, failed or skipped): its dependencies may no longer be needed.
  #finished(s: NodeState): void {
    if (s.load) return;
    for (const dep of s.deps) {
      if (--dep.dependentsLeft === 0 && dep.state === "done" && !dep.isRoot) {
        this.#release(dep);
      }
    }
  }

  #release(s: NodeState): void {
    if (s.released) return;
    s.released = true;
    this.#runner.removeResults([s.task]);
    // Only the value goes: resultMeta still says when the task ran and for how long.
    for (const instance of s.instances) releaseTaskResult(instance);
  }

  #cancel(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#runner.cancel();
    for (const s of this.#nodes.values()) {
      if (s.state === "waiting" || s.state === "ready") this.#skip(s);
    }
    for (const queue of this.#queues) {
      queue.items = [];
      queue.head = 0;
    }
  }
}
