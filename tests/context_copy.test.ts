/**
 * A context value that cannot be copied to workers (a function) fails with an
 * error that names its key path, the backend and the fixes, and never crashes
 * the process: thread and fork copy the whole context, spawn each task's
 * filtered one.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectRuntime, Lab, LabError, RunnerError } from "../mod.ts";
import { captureFailure } from "./_helpers.ts";
import { reader } from "./fixtures/workers/tasks.ts";

const quiet = { progress: false } as const;
const context = { n: 1, model: { weights: [1, 2], predict: (x: number) => x } };

describe(`copying the context to workers on ${detectRuntime()}`, () => {
  for (const backend of ["thread", "fork"] as const) {
    test(`${backend}: a value that cannot be copied fails the run, even when filtered out`, async () => {
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 1, context });
      const { error } = await captureFailure(() => lab.runTasks([reader({ key: "n" })], quiet));
      assert.ok(error instanceof LabError, `${error}`);
      assert.match(
        error.message,
        new RegExp(`^Cannot run tasks on the ${backend} backend: context\\.model\\.predict `),
      );
      assert.match(error.message, /filterContext/);
      assert.match(error.message, /spawn backend/);
      assert.match(error.message, /SharedArrayBuffer/);
    });
  }

  test("spawn: only the filtered context is copied; a task whose own cannot be fails alone", async () => {
    const lab = new Lab({
      storage: null,
      runner: "spawn",
      maxWorkers: 1,
      context,
      continueOnFailure: true,
    });
    const fine = reader({ key: "n" });
    const { error } = await captureFailure(() =>
      lab.runTasks([reader({ key: "model" }), fine], quiet)
    );
    assert.ok(error instanceof LabError);
    assert.equal(error.failed, 1);
    const [name, cause] = error.causes[0]!;
    assert.equal(name, "WorkerReader[00]");
    assert.ok(cause instanceof RunnerError);
    assert.match(cause.message, /^Cannot send WorkerReader\[00\] to its worker process: /);
    assert.match(cause.message, /context\.value\.predict in its filtered context/);
    assert.deepEqual(fine.result, { keys: ["value"], value: 1 });
  });
});
