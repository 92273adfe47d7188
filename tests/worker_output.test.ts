/**
 * Raw writes to stdout from a task in a worker subprocess carry the name of
 * the task that wrote them, like its console lines (issue 9 #7): they travel
 * on the message channel, in order with the task's result.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Lab } from "../mod.ts";
import { captureLogs } from "./_helpers.ts";
import { talker } from "./fixtures/worker_output/tasks.ts";

const COUNT = 100;

for (const runner of ["spawn", "fork"] as const) {
  describe(`raw output on the ${runner} runner`, () => {
    test("each raw line is labelled with the task that wrote it", async () => {
      // One worker runs every task back to back: a late line would get the next task's name.
      const lab = new Lab({ storage: null, runner, maxWorkers: 1 });
      const tasks = Array.from({ length: COUNT }, (_, i) => talker({ i }));
      const { logs } = await captureLogs(() => lab.runTasks(tasks, { progress: false }));
      const sourceOf = (message: string) => {
        const sources = logs.filter((r) => r.message === message).map((r) => r.source);
        assert.equal(sources.length, 1, `"${message}" should be logged once: ${sources}`);
        return sources[0];
      };
      for (let i = 0; i < COUNT; i++) {
        assert.equal(sourceOf(`raw ${i}`), sourceOf(`console ${i}`), `labels of task ${i}`);
      }
    });
  });
}
