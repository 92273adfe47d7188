/**
 * Type tests: `deno check` (the harness's static step) and the npm build's
 * `tsc` compile this file, so each `@ts-expect-error` that stops being an
 * error, and each `Equal` check that stops holding, fails the build. The
 * runtime part runs the typed tasks on every runtime.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Lab,
  type LabContext,
  type Task,
  task,
  type TaskContext,
  type TaskDefinition,
  type TaskType,
} from "../mod.ts";

/** True only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
// deno-lint-ignore no-explicit-any
type ParamsOf<T> = T extends TaskType<infer P, any, any> ? P : never;
// deno-lint-ignore no-explicit-any
type ContextOf<T> = T extends TaskType<any, any, infer C> ? C : never;

/** The context the tests' Lab provides. */
interface Datasets {
  datasets: Record<string, number[]>;
  scale: number;
}
const context: Datasets = { datasets: { a: [1, 2, 3], b: [4] }, scale: 10 };

// filterContext written before run, both with unannotated parameters: the
// params still come from run's annotation alone.
const filteredFirst = task({
  name: "TypesFilteredFirst",
  filterContext: (p: { key: string }, ctx: Datasets) => ({ rows: ctx.datasets[p.key] ?? [] }),
  runnerOptions: (_p) => ({}),
  run: (p: { key: string }, ctx) => ctx.context.rows.length + p.key.length,
});
const filteredFirstParams: Equal<ParamsOf<typeof filteredFirst>, { key: string }> = true;
const filteredFirstContext: Equal<ContextOf<typeof filteredFirst>, Datasets> = true;
// @ts-expect-error: a wrong parameter type is refused whatever the property order.
filteredFirst({ key: 1 });
// @ts-expect-error: a missing parameter is refused.
filteredFirst({});

// The same without annotating filterContext: P still comes from run. (Its own
// parameter is then unknown: annotate it, or write run first.)
const unannotatedFirst = task({
  name: "TypesUnannotatedFirst",
  filterContext: (_p, ctx) => ({ keys: Object.keys(ctx) }),
  run: (p: { n: number }, ctx) => p.n + ctx.context.keys.length,
});
const unannotatedFirstParams: Equal<ParamsOf<typeof unannotatedFirst>, { n: number }> = true;
// @ts-expect-error: still checked.
unannotatedFirst({ n: "1" });
task({
  name: "TypesUnknownFirst",
  // @ts-expect-error: written before run, an unannotated parameter is unknown, never any.
  filterContext: (p, ctx) => ({ value: ctx[p.key] }),
  run: (p: { key: string }, ctx) => [p.key, ctx.context.value],
});

// run first: filterContext and runnerOptions get run's parameter type, and
// ctx.context (typed before filterContext is seen) takes run's annotation.
const runFirst = task({
  name: "TypesRunFirst",
  run: (p: { key: string; n: number }, ctx: TaskContext<{ total: number }>) =>
    ctx.context.total * p.n,
  filterContext: (p, ctx: Datasets) => ({ total: (ctx.datasets[p.key] ?? []).length * ctx.scale }),
  runnerOptions: (p) => ({ spawn: { maxHeapMb: p.n } }),
});
task({
  name: "TypesRunFirstWrongFilter",
  run: (_p: { key: string }, ctx: TaskContext<{ total: number }>) => ctx.context.total,
  // @ts-expect-error: filterContext must return what run's ctx.context says.
  filterContext: (p) => ({ total: p.key }),
});
const runFirstParams: Equal<ParamsOf<typeof runFirst>, { key: string; n: number }> = true;
task({
  name: "TypesRunFirstTypo",
  run: (p: { key: string }) => p.key,
  // @ts-expect-error: a typo in filterContext is caught.
  filterContext: (p) => ({ k: p.nokey }),
});
task({
  name: "TypesFilterNarrower",
  run: (p: { key: string }) => p.key,
  // @ts-expect-error: filterContext must accept run's parameters.
  filterContext: (p: { key: number }) => ({ k: p.key }),
});

// Without filterContext, ctx.context is the context run asks for: no casts.
const scaled = task({
  name: "TypesScaled",
  run: (p: { x: number }, ctx: TaskContext<Datasets>) => {
    const scale: number = ctx.context.scale;
    return p.x * scale;
  },
});
const scaledContext: Equal<ContextOf<typeof scaled>, Datasets> = true;
const scaledType: TaskType<{ x: number }, number, Datasets> = scaled;

// Untyped tasks keep today's types: ctx.context is a LabContext.
const untyped = task({
  name: "TypesUntyped",
  run: (p: { x: number }, ctx) => {
    const seen: Equal<typeof ctx.context, LabContext> = true;
    return seen ? p.x * (ctx.context.scale as number) : 0;
  },
});
const untypedContext: Equal<ContextOf<typeof untyped>, LabContext> = true;
// A definition typed on its own still fits task().
const definition: TaskDefinition<{ n: number }, number> = {
  name: "TypesDefinition",
  run: (p) => p.n + 1,
};
const defined: TaskType<{ n: number }, number> = task(definition);

// The Lab's context type flows from its options and is checked against its tasks.
const lab = new Lab({ storage: null, context });
const labContext: Equal<typeof lab.context, Datasets> = true;
const poor = new Lab({ storage: null, context: { other: "x" } });
async function mismatched(): Promise<void> {
  // @ts-expect-error: this Lab's context has no datasets or scale.
  await poor.runTask(scaled({ x: 1 }));
  // @ts-expect-error: the same for runTasks.
  await poor.runTasks([filteredFirst({ key: "a" })]);
}
const results: Promise<Map<Task<{ x: number }, number, Datasets>, number>> = lab.runTasks([
  scaled({ x: 1 }),
]);

describe("typed contexts", () => {
  test("typed tasks run with the Lab's context, in every property order", async () => {
    const checks = [
      filteredFirstParams,
      filteredFirstContext,
      unannotatedFirstParams,
      runFirstParams,
      scaledContext,
      untypedContext,
      labContext,
    ];
    assert.ok(checks.every((check) => check === true));
    const quiet = { progress: false } as const;
    assert.equal(await lab.runTask(filteredFirst({ key: "a" }), quiet), 4);
    assert.equal(await lab.runTask(runFirst({ key: "b", n: 2 }), quiet), 20);
    assert.equal(await lab.runTask(scaledType({ x: 3 }), quiet), 30);
    assert.equal(await lab.runTask(untyped({ x: 2 }), quiet), 20);
    assert.equal(await lab.runTask(defined({ n: 1 }), quiet), 2);
    assert.equal(await lab.runTask(unannotatedFirst({ n: 1 }), quiet), 3);
    assert.deepEqual([...(await results).values()], [10]);
    assert.equal(typeof mismatched, "function");
  });
});
