/**
 * A result that would lose its class crossing a worker boundary (a class
 * instance, with `cache: null` so no cache refuses it) fails its task with an
 * error naming the path and the fix; it never arrives changed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectRuntime, Lab, LabError, RunnerError, type RunnerName } from "../mod.ts";
import { captureFailure } from "./_helpers.ts";
import { fitModel, job, WorkerModel } from "./fixtures/workers/tasks.ts";

const quiet = { progress: false } as const;

describe(`results crossing a worker boundary on ${detectRuntime()}`, () => {
  for (const backend of ["thread", "spawn", "fork"] as RunnerName[]) {
    test(`${backend}: a class instance fails its task, naming the path; the pool goes on`, async () => {
      const lab = new Lab({
        storage: null,
        runner: backend,
        maxWorkers: 1,
        continueOnFailure: true,
      });
      const after = job({ x: 3, ms: 0, fail: null });
      const tasks = [fitModel({ w: 2, nested: false }), fitModel({ w: 2, nested: true }), after];
      const { error } = await captureFailure(() => lab.runTasks(tasks, quiet));
      assert.ok(error instanceof LabError);
      assert.equal(error.failed, 2);
      const byName = new Map(error.causes);
      for (
        const [name, path] of [["WorkerFitModel[00]", "result"], [
          "WorkerFitModel[01]",
          "result.models[0]",
        ]]
      ) {
        const cause = byName.get(name!)!;
        assert.ok(cause instanceof RunnerError, `${cause}`);
        assert.equal(
          cause.message.split(";")[0],
          `Cannot send the result of ${name} back from its worker: ${path} is an instance of ` +
            `WorkerModel, which would arrive as a plain object without its class`,
        );
        assert.match(cause.message, /return plain data/);
      }
      assert.equal(after.result, 3);
    });
  }

  test("serial keeps the instance: nothing is copied", async () => {
    const lab = new Lab({ storage: null, runner: "serial" });
    const model = await lab.runTask(fitModel({ w: 2, nested: false }), quiet);
    assert.ok(model instanceof WorkerModel);
    assert.equal((model as WorkerModel).predict(3), 6);
  });
});
