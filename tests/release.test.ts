/**
 * Releasing a dependency's in-memory result drops only its value: its
 * `resultMeta` stays on every instance, as Labtech keeps the metadata.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Lab, task, TaskError } from "../mod.ts";

const leaf = task({ name: "ReleaseLeaf", run: (p: { n: number }) => p.n });
const twice = task({ name: "ReleaseTwice", run: (p: { x: { result: number } }) => 2 * p.x.result });

test("a released dependency keeps its resultMeta on every instance", async () => {
  const shared = leaf({ n: 4 });
  const other = leaf({ n: 4 }); // another instance of the same task
  const root = twice({ x: shared });
  await new Lab({ storage: null }).runTasks([root, twice({ x: other })], { progress: false });
  assert.equal(root.result, 8);
  for (const instance of [shared, other]) {
    assert.throws(() => instance.result, (error: Error) => {
      assert.ok(error instanceof TaskError);
      assert.match(error.message, /Cannot read the result of ReleaseLeaf\(n=4\): it was released/);
      return true;
    });
    assert.ok(instance.resultMeta?.start instanceof Date, "resultMeta was dropped");
    assert.equal(typeof instance.resultMeta?.durationMs, "number");
  }
});
