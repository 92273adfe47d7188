import assert from "node:assert/strict";
import { test } from "node:test";
import { task, taskDiagram } from "../mod.ts";

const dataset = task({ name: "DiagDataset", run: (p: { seed: number; name: string }) => p.seed });
const model = task({
  name: "DiagModel",
  run: (p: { data: ReturnType<typeof dataset>; alpha: number }) => p.alpha,
});
const report = task({
  name: "DiagReport",
  run: (p: { models: ReturnType<typeof model>[]; baseline: ReturnType<typeof model> | null }) =>
    p.models.length,
});

test("taskDiagram: types, parameters and edges of a known task set", () => {
  const data = dataset({ seed: 1, name: "iris" });
  const models = [0.1, 1].map((alpha) => model({ data, alpha }));
  const tasks = [report({ models, baseline: null }), report({ models, baseline: models[0]! })];
  assert.equal(
    taskDiagram(tasks, { direction: "LR" }),
    `classDiagram
    direction LR

    class DiagReport
    DiagReport : Array~DiagModel~ models
    DiagReport : DiagModel | null baseline
    DiagReport : run()

    class DiagModel
    DiagModel : DiagDataset data
    DiagModel : number alpha
    DiagModel : run()

    class DiagDataset
    DiagDataset : number seed
    DiagDataset : string name
    DiagDataset : run()


    DiagReport <-- "many" DiagModel : models
    DiagReport <-- DiagModel : baseline

    DiagModel <-- DiagDataset : data
`,
  );
});

test("taskDiagram: default direction BT; unknown directions are refused", () => {
  assert.match(taskDiagram([dataset({ seed: 2, name: "x" })]), /^classDiagram\n {4}direction BT\n/);
  assert.throws(() => taskDiagram([], { direction: "XY" as "LR" }), RangeError);
});
