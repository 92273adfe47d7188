/** The graph of unique tasks (by cache key) reachable from a run's tasks. */
import { LabError } from "../core/errors.ts";
import { type Task, taskDependencies, type TaskType } from "../core/task.ts";

/** Where a task is in its run. */
export type NodeStatus =
  | "unplanned"
  | "waiting"
  | "ready"
  | "submitted"
  | "done"
  | "failed"
  | "skipped";

/** The ready tasks of one type, and how many of that type the runner has. */
export interface TypeQueue {
  type: TaskType;
  items: GraphNode[];
  head: number;
  running: number;
}

/**
 * One unique task in a run, shared by every object with its cache key. It
 * also carries the run's bookkeeping (from `state` on), which the Coordinator
 * keeps: one object per task, no Map from node to state.
 */
export interface GraphNode {
  key: string;
  /** Its position in the graph's Map (0, 1, ...): lets a run keep per-node state in an array. */
  index: number;
  /** The first object seen with this key. */
  task: Task;
  /** Every distinct object with this key: each gets the result. */
  instances: Task[];
  deps: GraphNode[];
  dependents: GraphNode[];
  /** Passed to runTasks directly: its result is never released. */
  isRoot: boolean;
  state: NodeStatus;
  /** Planned to load its cached result. */
  load: boolean;
  /** Its name in logs, such as `Experiment[03]`, once planned. */
  name: string;
  /** Planned dependencies not yet done. */
  depsLeft: number;
  /** Planned dependents not yet finished (done, failed or skipped). */
  dependentsLeft: number;
  released: boolean;
  /** Its type's queue, once enqueued. */
  queue: TypeQueue | null;
}

// Most nodes have no dependencies or no dependents: they share this (frozen) array.
const NONE: GraphNode[] = Object.freeze([]) as unknown as GraphNode[];

// Up to this many objects of one key are told apart by a scan, beyond it by a Set.
const SCAN_INSTANCES = 8;

/**
 * Walks every task reachable from `roots` without recursion, refusing stale
 * code versions and cycles with a LabError that names the task.
 */
export function buildGraph(roots: readonly Task[]): Map<string, GraphNode> {
  const nodes = new Map<string, GraphNode>();
  const nodeOf = (task: Task): GraphNode => {
    const existing = nodes.get(task.cacheKey);
    if (existing !== undefined) return existing;
    if (task.codeVersion !== task.type.codeVersion) {
      throw new LabError(
        `Cannot run ${task}: it was made with codeVersion ${JSON.stringify(task.codeVersion)} ` +
          `but ${task.type.name} is now at ${JSON.stringify(task.type.codeVersion)}; ` +
          `make the task again from the current task type`,
      );
    }
    const node: GraphNode = {
      key: task.cacheKey,
      index: nodes.size,
      task,
      instances: [],
      deps: NONE,
      dependents: NONE,
      isRoot: false,
      state: "unplanned",
      load: false,
      name: "",
      depsLeft: 0,
      dependentsLeft: 0,
      released: false,
      queue: null,
    };
    nodes.set(task.cacheKey, node);
    return node;
  };
  // The rare key with many distinct objects: those objects as a Set.
  const many = new Map<GraphNode, Set<Task>>();
  // Adds `task` to its node's instances; false when this object was seen before.
  const addInstance = (node: GraphNode, task: Task): boolean => {
    const list = node.instances;
    if (list.length < SCAN_INSTANCES) {
      if (list.includes(task)) return false;
    } else {
      let seen = many.get(node);
      if (seen === undefined) many.set(node, seen = new Set(list));
      if (seen.has(task)) return false;
      seen.add(task);
    }
    list.push(task);
    return true;
  };
  const stack: Task[] = [];
  for (const root of roots) nodeOf(root).isRoot = true;
  for (let i = roots.length - 1; i >= 0; i--) stack.push(roots[i]!);
  while (stack.length > 0) {
    const task = stack.pop()!;
    const node = nodeOf(task);
    if (!addInstance(node, task)) continue;
    const deps = taskDependencies(task);
    // Edges come from the first object of each key; every object is still
    // walked so that nested instances get results too.
    const addEdges = node.instances.length === 1;
    for (let i = deps.length - 1; i >= 0; i--) {
      const dep = deps[i]!;
      if (addEdges) {
        const depNode = nodeOf(dep);
        if (depNode.dependents[depNode.dependents.length - 1] !== node) {
          if (node.deps === NONE) node.deps = [];
          if (depNode.dependents === NONE) depNode.dependents = [];
          node.deps.push(depNode);
          depNode.dependents.push(node);
        }
      }
      stack.push(dep);
    }
  }
  checkAcyclic(nodes);
  return nodes;
}

// Kahn's algorithm: a node never released has a cycle through it. Tasks are
// immutable, so this cannot happen through the public API; it guards the invariant.
function checkAcyclic(nodes: Map<string, GraphNode>): void {
  const remaining = new Int32Array(nodes.size);
  const free: GraphNode[] = [];
  for (const node of nodes.values()) {
    remaining[node.index] = node.deps.length;
    if (node.deps.length === 0) free.push(node);
  }
  let released = 0;
  while (free.length > 0) {
    const node = free.pop()!;
    released++;
    for (const dependent of node.dependents) {
      if (--remaining[dependent.index]! === 0) free.push(dependent);
    }
  }
  if (released < nodes.size) {
    const stuck = [...nodes.values()].find((node) => remaining[node.index]! > 0)!;
    throw new LabError(`Cannot run tasks: there is a dependency cycle through ${stuck.task}`);
  }
}

/**
 * The type names of a run's tasks, dependencies first: a type comes after
 * every type its tasks depend on (ties in order of appearance), so progress
 * lists types in the order they can finish.
 */
export function typeOrder(nodes: ReadonlyMap<string, GraphNode>): string[] {
  // Height of a node: the longest chain of dependencies below it (Kahn from the leaves).
  const height = new Map<GraphNode, number>();
  const remaining = new Map<GraphNode, number>();
  const free: GraphNode[] = [];
  for (const node of nodes.values()) {
    remaining.set(node, node.deps.length);
    if (node.deps.length === 0) free.push(node);
  }
  while (free.length > 0) {
    const node = free.pop()!;
    const h = Math.max(-1, ...node.deps.map((dep) => height.get(dep) ?? 0)) + 1;
    height.set(node, h);
    for (const dependent of node.dependents) {
      const left = remaining.get(dependent)! - 1;
      remaining.set(dependent, left);
      if (left === 0) free.push(dependent);
    }
  }
  const rank = new Map<string, number>();
  for (const node of nodes.values()) {
    const name = node.task.type.name;
    rank.set(name, Math.max(rank.get(name) ?? 0, height.get(node) ?? 0));
  }
  const appearance = [...rank.keys()];
  const first = new Map(appearance.map((name, i) => [name, i]));
  return appearance.sort((a, b) => rank.get(a)! - rank.get(b)! || first.get(a)! - first.get(b)!);
}
