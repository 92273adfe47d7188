/** The task types defined in this process, by name. */
import { TaskError } from "./errors.ts";

/** What the registry needs of a task type. */
export interface NamedType {
  readonly name: string;
  readonly module: string | null;
}

const types = new Map<string, NamedType>();

/**
 * Registers a task type; a second type with the same name is refused, because
 * names are what cache keys and workers use to find a type.
 */
export function registerTaskType(type: NamedType): void {
  const existing = types.get(type.name);
  if (existing !== undefined) {
    throw new TaskError(
      `Cannot define task type "${type.name}": a task type with that name is already defined` +
        (existing.module ? ` in ${existing.module}` : "") +
        `; give each task type a unique name`,
    );
  }
  types.set(type.name, type);
}

/** The task type defined under `name` in this process, if any. */
export function findTaskType<T extends NamedType = NamedType>(name: string): T | undefined {
  return types.get(name) as T | undefined;
}
