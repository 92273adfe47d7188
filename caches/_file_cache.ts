/** Shared logic of caches that keep `metadata.json` plus one data file per task. */
import { CacheError, TaskNotFound } from "../core/errors.ts";
import { storedTaskText } from "../core/params.ts";
import { findTaskType } from "../core/registry.ts";
import type { Task, TaskResult, TaskType } from "../core/task.ts";
import { taskFromStored } from "../core/_stored_task.ts";
import { VERSION } from "../core/version.ts";
import { detectRuntime } from "../runtime/detect.ts";
import type { Storage } from "../core/storage.ts";
import type { Cache } from "../core/cache.ts";
import {
  type EntryMetadata,
  METADATA_FILE,
  readMetadata as readEntryMetadata,
} from "./_metadata.ts";

export { type EntryMetadata, METADATA_FILE } from "./_metadata.ts";

const encoder = new TextEncoder();

/** A cache that stores `metadata.json` and one data file in its own format. */
export abstract class FileCache implements Cache {
  /** Format name written to metadata, with a version: `structured/1`. */
  protected abstract readonly format: string;
  /** Name of the data file. */
  protected abstract readonly dataFile: string;
  /** Encodes a result value; throws CacheError for values the format cannot hold. */
  protected abstract encode(value: unknown, task: Task): Uint8Array;
  /** Decodes a result value. */
  protected abstract decode(data: Uint8Array): unknown;

  cacheKey(task: Task): string {
    return task.cacheKey;
  }

  isCached(storage: Storage, task: Task): Promise<boolean> {
    return storage.exists(task.cacheKey);
  }

  async save(storage: Storage, task: Task, result: TaskResult<unknown>): Promise<void> {
    // Encode first: a value the format cannot hold must leave nothing behind.
    const data = this.encode(result.value, task);
    const metadata = `{"labtechVersion":${JSON.stringify(VERSION)},"cacheFormat":${
      JSON.stringify(this.format)
    },"cacheKey":${JSON.stringify(task.cacheKey)},"dataFile":${
      JSON.stringify(this.dataFile)
    },"task":${storedTaskText(task)},"start":${
      JSON.stringify(result.meta.start?.toISOString() ?? null)
    },"durationMs":${JSON.stringify(result.meta.durationMs)},"runtime":${
      JSON.stringify(detectRuntime())
    }}`;
    const files = new Map([[this.dataFile, data], [METADATA_FILE, encoder.encode(metadata)]]);
    if (storage.writeEntry !== undefined) {
      await storage.writeEntry(task.cacheKey, files);
    } else {
      // Without atomic entries, un-publish any old entry and write metadata last.
      await storage.delete(task.cacheKey);
      await storage.write(task.cacheKey, this.dataFile, data);
      await storage.write(task.cacheKey, METADATA_FILE, files.get(METADATA_FILE)!);
    }
    this.written(data, storage);
  }

  /** Called once `data` (from `encode`) has been written to `storage`. */
  protected written(_data: Uint8Array, _storage: Storage): void {}

  /** Reads and checks an entry's metadata, then that it is in this cache's format. */
  protected async readMetadata(storage: Storage, key: string): Promise<EntryMetadata> {
    const metadata = await readEntryMetadata(storage, key);
    if (metadata.cacheFormat !== this.format) {
      throw new CacheError(
        `Cannot read cache entry ${key}: it was written as ${metadata.cacheFormat}, not ${this.format}`,
      );
    }
    return metadata;
  }

  async loadTask(storage: Storage, type: TaskType, key: string): Promise<Task> {
    if (!(await storage.exists(key))) {
      throw new TaskNotFound(`Cannot load task ${key}: not in storage`);
    }
    const metadata = await this.readMetadata(storage, key);
    if (metadata.task.name !== type.name) {
      throw new CacheError(
        `Cannot load task ${key} as ${type.name}: it is a ${metadata.task.name}`,
      );
    }
    const task = taskFromStored(type, metadata.task, (name) => {
      const nested = findTaskType<TaskType>(name);
      if (nested === undefined) {
        throw new CacheError(
          `Cannot load task ${key}: it depends on task type "${name}", which is not defined ` +
            `in this process; import the module that defines it first`,
        );
      }
      return nested;
    });
    if (task.cacheKey !== key) {
      throw new CacheError(`Cannot load task ${key}: its stored parameters give another cache key`);
    }
    return task;
  }

  async loadResultWithMeta(storage: Storage, task: Task): Promise<TaskResult<unknown>> {
    const metadata = await this.readMetadata(storage, task.cacheKey);
    const data = await storage.read(task.cacheKey, metadata.dataFile ?? this.dataFile);
    let value: unknown;
    try {
      value = this.decode(data);
    } catch (error) {
      throw new CacheError(`Cannot decode the cached result of ${task}: the data file is corrupt`, {
        cause: error,
      });
    }
    return {
      value,
      meta: {
        start: metadata.start === null ? null : new Date(metadata.start),
        durationMs: metadata.durationMs,
      },
    };
  }

  delete(storage: Storage, task: Task): Promise<void> {
    return storage.delete(task.cacheKey);
  }
}
