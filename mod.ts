/**
 * labtech: run parameterised experiment pipelines with maximal parallelism
 * and result caching, on Node, Deno and Bun.
 *
 * @example
 * ```ts
 * import { Lab, task } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const power = task({
 *   name: "ModPower",
 *   run: (p: { base: number; power: number }) => p.base ** p.power,
 * });
 * const lab = new Lab({ storage: null });
 * assert.equal(await lab.runTask(power({ base: 2, power: 3 }), { progress: false }), 8);
 * ```
 *
 * @module
 */
export {
  CacheError,
  CorruptEntryError,
  LabError,
  LabtechError,
  RunnerError,
  SerializationError,
  StorageError,
  TaskError,
  TaskNotFound,
} from "./core/errors.ts";
export {
  type LabContext,
  type ResultMeta,
  type RunnerOptions,
  Task,
  task,
  type TaskContext,
  type TaskDefinition,
  type TaskResult,
  type TaskType,
  type WorkerRunnerOptions,
} from "./core/task.ts";
export { Lab, type LabOptions, type ResultOf, type RunOptions } from "./lab/lab.ts";
export {
  createLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  type LogSink,
  setLogSink,
} from "./core/logger.ts";
export type { DisplayOptions, RunObserver, TaskOutcome, TopOptions } from "./core/observer.ts";
export {
  type DiagramDirection,
  displayTaskDiagram,
  taskDiagram,
  type TaskDiagramOptions,
} from "./observe/diagram.ts";
export type { Cache } from "./core/cache.ts";
export { StructuredCache } from "./caches/structured_cache.ts";
export { JsonCache } from "./caches/json_cache.ts";
export { NullCache } from "./caches/null_cache.ts";
export type { Storage } from "./core/storage.ts";
export { LocalStorage } from "./storage/local_storage.ts";
export { MemoryStorage } from "./storage/memory_storage.ts";
export { NullStorage } from "./storage/null_storage.ts";
export type { Runner, RunnerBackend, RunnerBuildOptions, TaskMonitorInfo } from "./core/runner.ts";
export type { RunnerName } from "./runners/backends.ts";
export { SerialRunnerBackend } from "./runners/serial.ts";
export { AsyncRunnerBackend } from "./runners/async.ts";
export { ThreadRunnerBackend } from "./runners/thread.ts";
export { SpawnRunnerBackend } from "./runners/spawn.ts";
export { ForkRunnerBackend } from "./runners/fork.ts";
export { detectRuntime, type RuntimeName } from "./runtime/detect.ts";
