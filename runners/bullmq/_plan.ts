/**
 * Per-task planning on the Lab side: the task's `bullmq` runner options and
 * the texts that let a worker rebuild it.
 *
 * @module
 */
import { refTaskText } from "../../core/params.ts";
import { type Task, taskDependencies } from "../../core/task.ts";

/** Where and how one task's job runs. */
export interface JobPlan {
  queue: string;
  /** BullMQ priority: 0 none, else 1 (first) to 2 097 152 (last). */
  priority: number;
  /** Runs allowed when the task throws: 1 means no retry. */
  attempts: number;
  jobId: string;
}

/**
 * The `bullmq` section of a task's runner options: `queue`, `priority` and
 * `attempts`, checked.
 *
 * @throws {TypeError} when the options or a key in them is malformed.
 * @throws {RangeError} when a number is out of range.
 */
export function bullmqOptionsOf(
  task: Task,
  taskName: string,
  defaultQueue: string,
): Omit<JobPlan, "jobId"> {
  const plan = { queue: defaultQueue, priority: 0, attempts: 1 };
  const make = task.type.definition.runnerOptions;
  if (make === undefined) return plan;
  const options = make(task.params) as Record<string, unknown> | null;
  const section = options?.bullmq;
  if (section === undefined) return plan;
  const bad = (why: string) => `Cannot run ${taskName} on BullMQ as its runnerOptions ${why}`;
  if (typeof section !== "object" || section === null || Array.isArray(section)) {
    throw new TypeError(
      bad(`"bullmq" must be a plain object: received ${String(section)}`),
    );
  }
  for (const [key, value] of Object.entries(section)) {
    if (key === "queue") {
      if (typeof value !== "string" || !/^[A-Za-z0-9_.-]{1,100}$/.test(value)) {
        throw new TypeError(
          bad(`bullmq.queue must be 1 to 100 letters, digits, "_", "." or "-": received ${value}`),
        );
      }
      plan.queue = value;
    } else if (key === "priority" || key === "attempts") {
      const [min, max] = key === "priority" ? [0, 2 ** 21] : [1, 1000];
      if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        throw new RangeError(
          bad(`bullmq.${key} must be an integer from ${min} to ${max}: received ${String(value)}`),
        );
      }
      plan[key] = value;
    } else {
      throw new TypeError(
        bad(
          `"bullmq" has an unknown key: received "${key}" (known: queue, priority, attempts)`,
        ),
      );
    }
  }
  return plan;
}

const trees = new WeakMap<Task, { deps: readonly Task[]; texts: Array<[string, string]> }>();

/**
 * `task`'s direct dependencies and every task in its tree, dependencies
 * first, as `[cacheKey, refTaskText]` (nested tasks by reference).
 */
export function treeOf(task: Task): { deps: readonly Task[]; texts: Array<[string, string]> } {
  const known = trees.get(task);
  if (known !== undefined) return known;
  const texts: Array<[string, string]> = [];
  const seen = new Set<string>();
  const stack: Array<[Task, boolean]> = [[task, false]];
  while (stack.length > 0) {
    const [current, expanded] = stack.pop()!;
    if (seen.has(current.cacheKey)) continue;
    if (expanded) {
      seen.add(current.cacheKey);
      texts.push([current.cacheKey, refTaskText(current)]);
      continue;
    }
    stack.push([current, true]);
    for (const dep of taskDependencies(current)) {
      if (!seen.has(dep.cacheKey)) stack.push([dep, false]);
    }
  }
  const tree = { deps: taskDependencies(task), texts };
  trees.set(task, tree);
  return tree;
}
