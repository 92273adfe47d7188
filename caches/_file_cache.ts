/** Shared logic of caches that keep `metadata.json` plus one data file per task. */
import { CacheError, TaskNotFound } from "../core/errors.ts";
import { storedTaskText } from "../core/params.ts";
import { findTaskType } from "../core/registry.ts";
import type { Task, TaskResult, TaskType } from "../core/task.ts";
import { taskFromStored } from "../core/_stored_task.ts";
import { VERSION } from "../core/version.ts";
import { detectRuntime } from "../runtime/detect.ts";
import { concatBytes, type Storage } from "../core/storage.ts";
import type { Cache } from "../core/cache.ts";
import {
  type EntryMetadata,
  METADATA_FILE,
  readMetadata as readEntryMetadata,
} from "./_metadata.ts";

export { type EntryMetadata, METADATA_FILE } from "./_metadata.ts";

const encoder = new TextEncoder();

/** A data file as a small header then the raw bytes of a typed array. */
export interface RawEncoding {
  /** The format's header. */
  readonly head: Uint8Array;
  /** The typed array's bytes, viewed where they are. */
  readonly body: Uint8Array;
}

const joined = (parts: readonly Uint8Array[]): Uint8Array =>
  parts.length === 1 ? parts[0]! : concatBytes(parts);

/** A cache that stores `metadata.json` and one data file in its own format. */
export abstract class FileCache implements Cache {
  /** Format name written to metadata, with a version: `structured/1`. */
  protected abstract readonly format: string;
  /** Name of the data file. */
  protected abstract readonly dataFile: string;
  /**
   * Encodes a result value; throws CacheError for values the format cannot
   * hold. May return the data file as parts, a header and the raw bytes of a
   * typed array (the value's own, not copied), with where those bytes start.
   */
  protected abstract encode(value: unknown, task: Task): Uint8Array | RawEncoding;
  /** Decodes a result value. */
  protected abstract decode(data: Uint8Array): unknown;
  /**
   * Decodes a data file read as a header and raw bytes (see `RawEncoding`),
   * or returns undefined when the header is not what `rawDataAt` promised.
   */
  protected decodeRaw(_head: Uint8Array, _body: Uint8Array): unknown {
    return undefined;
  }

  cacheKey(task: Task): string {
    return task.cacheKey;
  }

  isCached(storage: Storage, task: Task): Promise<boolean> {
    return storage.exists(task.cacheKey);
  }

  async save(storage: Storage, task: Task, result: TaskResult<unknown>): Promise<void> {
    // Encode first: a value the format cannot hold must leave nothing behind.
    const encoded = this.encode(result.value, task);
    const raw = encoded instanceof Uint8Array ? null : encoded;
    const parts = raw === null ? [encoded as Uint8Array] : [raw.head, raw.body];
    const metadata = `{"labtechVersion":${JSON.stringify(VERSION)},"cacheFormat":${
      JSON.stringify(this.format)
    },"cacheKey":${JSON.stringify(task.cacheKey)},"dataFile":${
      JSON.stringify(this.dataFile)
    },"task":${storedTaskText(task)},"start":${
      JSON.stringify(result.meta.start?.toISOString() ?? null)
    },"durationMs":${JSON.stringify(result.meta.durationMs)},"runtime":${
      JSON.stringify(detectRuntime())
    }${raw === null ? "" : `,"rawDataAt":${raw.head.byteLength}`}}`;
    const meta = encoder.encode(metadata);
    if (storage.writeEntryParts !== undefined) {
      await storage.writeEntryParts(
        task.cacheKey,
        new Map([[this.dataFile, parts], [METADATA_FILE, [meta]]]),
      );
    } else if (storage.writeEntry !== undefined) {
      await storage.writeEntry(
        task.cacheKey,
        new Map([[this.dataFile, joined(parts)], [METADATA_FILE, meta]]),
      );
    } else {
      // Without atomic entries, un-publish any old entry and write metadata last.
      await storage.delete(task.cacheKey);
      await storage.write(task.cacheKey, this.dataFile, joined(parts));
      await storage.write(task.cacheKey, METADATA_FILE, meta);
    }
    if (raw === null) this.written(encoded as Uint8Array, storage);
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
    const file = metadata.dataFile ?? this.dataFile;
    const at = metadata.rawDataAt;
    let parts: Uint8Array[];
    if (storage.readInto !== undefined && Number.isSafeInteger(at) && at! > 0 && at! < 64) {
      // Read the raw bytes into an array of their own, which the value then views.
      await storage.readInto(
        task.cacheKey,
        file,
        (size) =>
          parts = size <= at! ? [new Uint8Array(size)] : [
            new Uint8Array(at!),
            new Uint8Array(size - at!),
          ],
      );
    } else {
      parts = [await storage.read(task.cacheKey, file)];
    }
    let value: unknown;
    try {
      value = parts!.length === 2 ? this.decodeRaw(parts![0]!, parts![1]!) : undefined;
      // A header other than promised (a corrupt or foreign file) decodes the usual way.
      if (value === undefined) value = this.decode(joined(parts!));
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
