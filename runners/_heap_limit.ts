/**
 * A task's heap limit on a worker backend, checked against what the runtime
 * can enforce.
 *
 * @module
 */
import { RunnerError } from "../core/errors.ts";
import type { Task } from "../core/task.ts";
import type { RuntimeAdapter } from "../runtime/adapter.ts";
import type { PoolStrategy } from "./_pool_strategy.ts";
import { workerOptionsOf } from "./_runner_options.ts";

/**
 * The `maxHeapMb` of `task`'s runnerOptions for this backend.
 *
 * @param strategy The backend.
 * @param runtime The runtime adapter, which says whether it can keep a limit.
 * @param task The task.
 * @param taskName Its name in logs.
 * @returns The limit in MB, or null for none.
 * @throws {RunnerError} when the runtime cannot keep the limit.
 */
export function heapLimitOf(
  strategy: PoolStrategy,
  runtime: RuntimeAdapter,
  task: Task,
  taskName: string,
): number | null {
  const { kind, worker } = strategy;
  const { maxHeapMb } = workerOptionsOf(task, kind);
  if (maxHeapMb === null) return null;
  const unsupported = runtime.heapLimitUnsupported(worker);
  if (unsupported !== null) {
    throw new RunnerError(
      `Cannot run ${taskName} with ${kind}.maxHeapMb ${maxHeapMb}: ${unsupported}`,
    );
  }
  return maxHeapMb;
}
