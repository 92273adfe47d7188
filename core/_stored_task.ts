/**
 * The one owner of rebuilding a task from stored data, for the file caches
 * (metadata.json) and the pool's workers (tasks sent by `refTaskText`).
 *
 * @module
 */
import { fromStored } from "./params.ts";
import { makeTaskWithVersion, type Task, type TaskType } from "./task.ts";

/** A task as stored: its code version and parameters in stored form (see `storedTaskText`). */
export interface StoredTask {
  /** The code version it was made with. */
  codeVersion: string | null;
  /** Its parameters as stored JSON, nested tasks in full or as references. */
  params: unknown;
}

/**
 * Rebuilds a task of `type` from its stored form. Nested tasks are made with
 * the types `findType` returns for their names (task types already defined in
 * this process: nothing named in the data is imported or evaluated);
 * references to tasks the receiver already holds are looked up with `resolveRef`.
 *
 * @param type The task's type, already checked against the stored name.
 * @param stored Its code version and stored parameters.
 * @param findType The type for a nested task's name; throws the caller's error when unknown.
 * @param resolveRef The task for a reference's cache key, for `refTaskText` input.
 * @returns The task, with the stored code version (perhaps not the type's current one).
 * @throws {TaskError} when the stored parameters are malformed or hold a reference
 *   without `resolveRef`; whatever `findType` or `resolveRef` throw.
 *
 * @example
 * ```ts
 * import { taskFromStored } from "./_stored_task.ts";
 * import { task } from "./task.ts";
 * import { storedTaskText } from "./params.ts";
 * import assert from "node:assert/strict";
 * const leaf = task({ name: "DocStoredLeaf", run: (p: { x: number }) => p.x });
 * const sum = task({ name: "DocStoredSum", codeVersion: "v1", run: () => 0 });
 * const original = sum({ parts: [leaf({ x: 1 }), leaf({ x: 2 })] });
 * const stored = JSON.parse(storedTaskText(original));
 * const rebuilt = taskFromStored(sum, stored, (name) => name === leaf.name ? leaf : sum);
 * assert.equal(rebuilt.cacheKey, original.cacheKey);
 * assert.equal(rebuilt.codeVersion, "v1");
 * ```
 */
export function taskFromStored(
  type: TaskType,
  stored: StoredTask,
  findType: (name: string) => TaskType,
  resolveRef?: (key: string) => Task,
): Task {
  const make = (name: string, codeVersion: string | null, params: unknown) =>
    makeTaskWithVersion(findType(name), params, codeVersion);
  return makeTaskWithVersion(type, fromStored(stored.params, make, resolveRef), stored.codeVersion);
}
