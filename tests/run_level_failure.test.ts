/**
 * A LabError from a task is about the whole run (here: a module that runs a
 * Lab when a worker imports it), so the run stops at the first and says it
 * once, even with continueOnFailure.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { detectRuntime, Lab, LabError } from "../mod.ts";
import { captureFailure } from "./_helpers.ts";
import { besideUnguarded } from "./fixtures/workers/beside_unguarded.ts";

test(`a task type beside an unguarded Lab fails the run once on ${detectRuntime()}`, async () => {
  const lab = new Lab({ storage: null, runner: "thread", maxWorkers: 2, continueOnFailure: true });
  const tasks = [1, 2, 3, 4, 5, 6].map((x) => besideUnguarded({ x }));
  const { error, logs } = await captureFailure(() => lab.runTasks(tasks, { progress: false }));
  assert.ok(error instanceof LabError);
  // Only tasks already handed to the pool can fail: 2 workers, each running one and holding one.
  assert.ok(error.failed >= 1 && error.failed <= 4, `${error.failed} failed`);
  assert.equal(error.failed + error.skipped, 6);
  assert.ok(error.causes[0]![1].cause instanceof LabError, "the worker's LabError keeps its class");
  const said = logs.filter((r) => r.level === "error" && /Cannot create a Lab/.test(r.message));
  assert.equal(said.length, 1, logs.map((r) => `${r.level}: ${r.message}`).join("\n"));
});
