/** Resolves a task type's cache option to a Cache. */
import type { TaskType } from "../core/task.ts";
import type { Cache } from "../core/cache.ts";
import { NullCache } from "./null_cache.ts";
import { StructuredCache } from "./structured_cache.ts";

const defaultCache = new StructuredCache();
const nullCache = new NullCache();

/** The cache tasks of `type` use: its own, NullCache for null, else StructuredCache. */
export function cacheOf(type: TaskType): Cache {
  return type.cache === null ? nullCache : type.cache ?? defaultCache;
}
