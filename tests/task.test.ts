import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Task, task, TaskError } from "../mod.ts";

const point = task({ name: "TaskTestPoint", run: (p: { x: number; y: number }) => p.x + p.y });
const wrap = task({
  name: "TaskTestWrap",
  codeVersion: "v2",
  run: (p: { inner: Task<{ x: number; y: number }, number>; tags: string[] }) => p.inner.result,
});

describe("task types", () => {
  test("identity ignores key order and object identity", () => {
    const a = point({ x: 1, y: 2 });
    const b = point({ y: 2, x: 1 });
    assert.equal(a.cacheKey, b.cacheKey);
    assert.ok(a.equals(b));
    assert.notEqual(a.cacheKey, point({ x: 2, y: 1 }).cacheKey);
    assert.match(a.cacheKey, /^TaskTestPoint__[0-9a-f]{40}$/);
  });

  test("codeVersion and nested tasks are part of identity", () => {
    const inner = point({ x: 1, y: 2 });
    const t = wrap({ inner, tags: ["a"] });
    assert.equal(t.codeVersion, "v2");
    assert.equal(wrap.codeVersion, "v2");
    assert.notEqual(t.cacheKey, wrap({ inner: point({ x: 1, y: 3 }), tags: ["a"] }).cacheKey);
    assert.equal(t.cacheKey, wrap({ inner: point({ y: 2, x: 1 }), tags: ["a"] }).cacheKey);
  });

  test("params are deeply frozen copies and -0 is 0", () => {
    const tags = ["a"];
    const t = wrap({ inner: point({ x: -0, y: 0 }), tags });
    tags.push("b");
    assert.deepEqual(t.params.tags, ["a"]);
    assert.ok(Object.isFrozen(t.params));
    assert.ok(Object.isFrozen(t.params.tags));
    assert.ok(Object.is(t.params.inner.params.x, 0));
    assert.throws(() => (t.params.tags as string[]).push("c"), TypeError);
  });

  test("toString is readable", () => {
    const t = wrap({ inner: point({ x: 1, y: 2 }), tags: ["a", "b"] });
    assert.equal(String(t), 'TaskTestWrap(inner=TaskTestPoint(x=1, y=2), tags=["a", "b"])');
  });

  test("invalid params are refused naming the path", () => {
    const any = task({ name: "TaskTestAny", run: (p: Record<string, unknown>) => p });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ a: undefined }, /params\.a is undefined/],
      [
        { layers: [{ size: 1 }, { size: 2 }, { size: () => 1 }] },
        /params\.layers\[2\]\.size is a function/,
      ],
      [{ s: Symbol("x") }, /params\.s is a symbol/],
      [{ d: new Date() }, /params\.d is an instance of Date/],
      [{ m: new Map() }, /params\.m is an instance of Map/],
      [{ n: NaN }, /params\.n is NaN/],
      [{ n: [Infinity] }, /params\.n\[0\] is Infinity/],
      [{ "odd key": { deep: -Infinity } }, /params\["odd key"\]\.deep is -Infinity/],
      [{ [Symbol("k")]: 1 }, /params is an object with symbol keys/],
      // deno-lint-ignore no-sparse-arrays
      [{ holes: [1, , 3] }, /params\.holes\[1\] is a hole/],
    ];
    for (const [params, message] of cases) {
      assert.throws(() => any(params), (error: Error) => {
        assert.ok(error instanceof TaskError, `${error}`);
        assert.match(error.message, message);
        return true;
      });
    }
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    assert.throws(
      () => any(cyclic),
      /params\.self\.back is a reference to one of its own containers/,
    );
    class Thing {}
    assert.throws(() => any({ t: new Thing() }), /instance of Thing/);
    assert.throws(() => any(null as unknown as Record<string, unknown>), /not a plain object/);
  });

  test("allowed values round through: null, booleans, bigints, shared references", () => {
    const any = task({ name: "TaskTestAllowed", run: (p: Record<string, unknown>) => p });
    const shared = { k: 1 };
    const t = any({ a: null, b: true, c: 10n ** 30n, d: [shared, shared], e: Object.create(null) });
    assert.equal(t.params.c, 10n ** 30n);
    assert.notEqual(
      t.cacheKey,
      any({ a: null, b: true, c: 10n ** 30n, d: [shared], e: {} }).cacheKey,
    );
    // A bigint and a number with the same digits are different identities.
    assert.notEqual(any({ v: 1n }).cacheKey, any({ v: 1 }).cacheKey);
    // An object that looks like the identity encoding's tag cannot collide with a bigint.
    assert.notEqual(
      any({ v: { $labtech: "bigint", value: "1" } }).cacheKey,
      any({ v: 1n }).cacheKey,
    );
  });

  test("duplicate names and malformed definitions are refused", () => {
    assert.throws(() => task({ name: "TaskTestPoint", run: () => 0 }), /already defined/);
    assert.throws(() => task({ name: "bad name", run: () => 0 }), TypeError);
    assert.throws(() => task({ name: "../escape", run: () => 0 }), TypeError);
    assert.throws(() => task({ name: "NoRun" } as never), /run must be a function/);
    assert.throws(() => task({ name: "BadParallel", maxParallel: 0, run: () => 0 }), RangeError);
  });

  test("result before running is a clear TaskError", () => {
    const t = point({ x: 5, y: 5 });
    assert.throws(
      () => t.result,
      (e: Error) => e instanceof TaskError && /has not been run/.test(e.message),
    );
    assert.equal(t.resultMeta, null);
  });

  test("the defining module is found from the call site, or given", () => {
    assert.equal(point.module, import.meta.url);
    const given = task({
      name: "TaskTestGivenModule",
      module: "file:///elsewhere.ts",
      run: () => 0,
    });
    assert.equal(given.module, "file:///elsewhere.ts");
  });
});
