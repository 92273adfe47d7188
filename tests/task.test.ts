import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import {
  detectRuntime,
  Lab,
  MemoryStorage,
  type RunnerName,
  type Task,
  task,
  TaskError,
} from "../mod.ts";
import { fromStored, storedText } from "../core/params.ts";
import { findTaskType } from "../core/registry.ts";
import { doubled, scaledType, tripled } from "./fixtures/workers/factory.ts";

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

  test("params that are not an object say what was received", () => {
    const any = task({ name: "TaskTestReceived", run: (p: Record<string, unknown>) => p });
    const call = any as unknown as (params?: unknown) => Task;
    const cases: Array<[unknown, string]> = [
      [undefined, "received undefined"],
      [null, "received null"],
      [3, "received a number (3)"],
      ["x", 'received a string ("x")'],
      [[1], "received an array"],
      [() => 1, "received a function"],
      [point({ x: 1, y: 2 }), "received a task (TaskTestPoint(x=1, y=2))"],
    ];
    for (const [params, received] of cases) {
      assert.throws(() => call(params), (error: Error) => {
        assert.ok(error instanceof TaskError, `${error}`);
        assert.ok(
          error.message.includes(`params is not a plain object (${received})`),
          error.message,
        );
        assert.match(error.message, /such as TaskTestReceived\(\{\}\)/);
        return true;
      });
    }
    assert.throws(() => call(), /received undefined/);
  });

  test("extra array properties and non-enumerable properties are refused with their path", () => {
    const any = task({ name: "TaskTestHidden", run: (p: Record<string, unknown>) => p });
    const extra = Object.assign([1, 2], { note: "x" });
    const hidden = Object.defineProperty({ a: 1 }, "secret", { value: 2, enumerable: false });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ xs: extra }, /params\.xs\.note is an extra property of an array/],
      [
        { deep: [{ xs: Object.assign([], { "odd key": 1 }) }] },
        /params\.deep\[0\]\.xs\["odd key"\] is an extra/,
      ],
      [{ cfg: hidden }, /params\.cfg\.secret is a non-enumerable property/],
      [Object.defineProperty({}, "top", { value: 1 }), /params\.top is a non-enumerable property/],
    ];
    for (const [params, message] of cases) {
      assert.throws(() => any(params), (error: Error) => {
        assert.ok(error instanceof TaskError, `${error}`);
        assert.match(error.message, message);
        assert.match(error.message, /identity covers only enumerable own properties/);
        return true;
      });
    }
    // An enumerable getter is read like any property.
    const got = any({ g: Object.defineProperty({}, "v", { get: () => 5, enumerable: true }) });
    assert.deepEqual(got.params, { g: { v: 5 } });
  });

  test("a throwing getter or a revoked proxy is a TaskError naming the path", () => {
    const any = task({ name: "TaskTestThrowing", run: (p: Record<string, unknown>) => p });
    const boom = new RangeError("boom");
    const getter = {
      ok: 1,
      get bad(): number {
        throw boom;
      },
    };
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
    revoke();
    const cases: Array<[unknown, RegExp, unknown]> = [
      [{ cfg: [0, getter] }, /reading params\.cfg\[1\]\.bad threw RangeError: boom/, boom],
      [{ cfg: { p: proxy } }, /reading params\.cfg\.p threw TypeError/, undefined],
      [proxy, /reading params threw TypeError/, undefined],
    ];
    for (const [params, message, cause] of cases) {
      assert.throws(() => any(params as Record<string, unknown>), (error: Error) => {
        assert.ok(error instanceof TaskError, `${error}`);
        assert.match(error.message, message);
        assert.match(error.message, /no getters that throw, no revoked proxies/);
        if (cause !== undefined) assert.equal(error.cause, cause);
        else assert.ok(error.cause instanceof TypeError);
        return true;
      });
    }
  });

  test('"__proto__", "constructor" and "prototype" keys are data, with the same key everywhere', async () => {
    const proto = task({
      name: "TaskTestProto",
      run: (p: Record<string, unknown>) =>
        Object.getOwnPropertyDescriptor(p.cfg, "__proto__")?.value ?? null,
    });
    // JSON.parse makes "__proto__" an own key on every runtime, as a user's data may.
    const a = proto(JSON.parse('{"cfg": {"__proto__": {"lr": 0.1}}}'));
    const b = proto(JSON.parse('{"cfg": {"__proto__": {"lr": 0.5}}}'));
    const c = proto({ cfg: { ["__proto__"]: { lr: 0.1 } } });
    // Pinned: sha1 of the canonical JSON, computed with Python's json and hashlib.
    assert.equal(a.cacheKey, "TaskTestProto__0a47970bc3ad849c62007a8a62d746e436e5ed38");
    assert.equal(b.cacheKey, "TaskTestProto__6978791563b81ee061265e8e69e1e6cbee894e95");
    assert.equal(c.cacheKey, a.cacheKey);
    const cfg = a.params.cfg as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(cfg), Object.prototype);
    assert.deepEqual(Object.keys(cfg), ["__proto__"]);
    assert.deepEqual(Object.getOwnPropertyDescriptor(cfg, "__proto__")?.value, { lr: 0.1 });
    assert.ok(Object.isFrozen(cfg));
    assert.equal(String(a), "TaskTestProto(cfg={__proto__: {lr: 0.1}})");
    const d = proto({ cfg: { constructor: { lr: 0.1 }, prototype: [1], toString: "x" } });
    assert.equal(d.cacheKey, "TaskTestProto__535217b41e2ab96a8bcad1f03bfcb631ee65f96c");
    // The stored form rebuilds the same own keys, hence the same identity.
    for (const t of [a, b, d]) {
      const params = fromStored(JSON.parse(storedText(t.params)), () => null);
      assert.equal(proto(params as Record<string, unknown>).cacheKey, t.cacheKey);
    }
    // Each task gets its own result, and its stored entry loads back under its own key.
    const lab = new Lab({ storage: new MemoryStorage() });
    const results = await lab.runTasks([a, b], { progress: false });
    assert.deepEqual([...results.values()], [{ lr: 0.1 }, { lr: 0.5 }]);
    const loaded = await lab.cachedTasks([proto]);
    assert.deepEqual(loaded.map((t) => t.cacheKey).sort(), [a.cacheKey, b.cacheKey].sort());
  });

  for (const depth of [10_000, 100_000]) {
    // No timing is asserted: the generous timeout only keeps a loaded machine from failing it.
    test(`params nested ${depth} levels deep work like shallow ones`, { timeout: 120_000 }, () => {
      const deep = task({ name: `TaskTestDeep${depth}`, run: (p: Record<string, unknown>) => p });
      // Alternate objects and arrays, with a bigint and a nested task at the bottom.
      const leaf = point({ x: 1, y: 2 });
      let value: unknown = { n: 1n, leaf };
      for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value, b: i } : [value];
      const t = deep({ root: value });
      // The canonical text, built without walking: what the identity must hash.
      const bottom =
        `{"leaf":{"$labtech":"task","key":"${leaf.cacheKey}"},"n":{"$labtech":"bigint","value":"1"}}`;
      const opens: string[] = [];
      const closes: string[] = [];
      for (let i = depth - 1; i >= 0; i--) {
        if (i % 2 === 0) {
          opens.push('{"a":');
          closes.push(`,"b":${i}}`);
        } else {
          opens.push("[");
          closes.push("]");
        }
      }
      const text = `${opens.join("")}${bottom}${closes.reverse().join("")}`;
      const identity =
        `{"codeVersion":null,"name":"TaskTestDeep${depth}","params":{"root":${text}}}`;
      const hash = createHash("sha1").update(identity).digest("hex");
      assert.equal(t.cacheKey, `TaskTestDeep${depth}__${hash}`);
      // Frozen all the way down, and the nested task found.
      let node: unknown = t.params.root;
      for (let i = depth - 1; i >= 0; i--) {
        assert.ok(Object.isFrozen(node));
        node = i % 2 === 0 ? (node as { a: unknown }).a : (node as unknown[])[0];
      }
      assert.equal((node as { leaf: Task }).leaf, leaf);
      // Stored form and display text are written and read back at this depth too.
      const rebuilt = fromStored(JSON.parse(storedText(t.params)), (name, codeVersion, params) => {
        assert.equal(name, "TaskTestPoint");
        assert.equal(codeVersion, null);
        return point(params as { x: number; y: number });
      });
      assert.equal(storedText(rebuilt), storedText(t.params));
      assert.ok(String(t).includes("{n: 1n, leaf: TaskTestPoint(x=1, y=2)}"));
    });
  }

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

  test('names with "__" (the cache-key separator) or a trailing "_" are refused', () => {
    for (const [name, fix] of [["A__b", "A_b"], ["A_", "A"], ["__A", "_A"], ["A___b_", "A_b"]]) {
      assert.throws(() => task({ name: name!, run: () => 0 }), (error: Error) => {
        assert.ok(error instanceof TypeError, `${error}`);
        assert.ok(error.message.startsWith(`Cannot define task type "${name}" as its name`));
        assert.match(error.message, /"__" separates the name from the hash in cache keys/);
        assert.ok(error.message.endsWith(`rename it, such as "${fix}"`), error.message);
        return true;
      });
      assert.equal(findTaskType(name!), undefined);
    }
    assert.equal(task({ name: "_A_b.c-d", run: () => 0 }).name, "_A_b.c-d");
  });

  test("duplicate names and malformed definitions are refused", () => {
    assert.throws(() => task({ name: "TaskTestPoint", run: () => 0 }), /already defined/);
    assert.throws(() => task({ name: "bad name", run: () => 0 }), TypeError);
    assert.throws(() => task({ name: "../escape", run: () => 0 }), TypeError);
    assert.throws(() => task({ name: "NoRun" } as never), /run must be a function/);
    assert.throws(() => task({ name: "BadParallel", maxParallel: 0, run: () => 0 }), RangeError);
    assert.throws(
      () => task({ name: "BadFilter", filterContext: {}, run: () => 0 } as never),
      /filterContext must be a function/,
    );
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

  test("a type made by a factory records the module being evaluated, on every runtime", () => {
    const factoryUrl = new URL("./fixtures/workers/factory.ts", import.meta.url).href
      .replace(/\.ts$/, import.meta.url.endsWith(".js") ? ".js" : ".ts");
    // Types made at the factory module's top level, through one and two helpers that
    // end in tail calls (which leave no frame on Bun), record the factory module.
    assert.equal(tripled.module, factoryUrl);
    assert.equal(doubled.module, factoryUrl);
    // Made here, the type is defined by this module: importing it defines the type again.
    const local = scaledType("TaskTestFactoryLocal", 5);
    assert.equal(local.module, import.meta.url);
    const nested = (() => {
      const inner = () => scaledType("TaskTestFactoryNested", 7);
      return inner();
    })();
    assert.equal(nested.module, import.meta.url);
  });

  test("the defining module is found from the stack text when call sites are not available", () => {
    const saved = Object.getOwnPropertyDescriptor(Error, "prepareStackTrace");
    // A locked formatter (as some hardened setups have) leaves only the text form.
    Object.defineProperty(Error, "prepareStackTrace", {
      value: undefined,
      writable: false,
      configurable: true,
    });
    try {
      const local = scaledType("TaskTestFactoryText", 5);
      assert.equal(local.module, import.meta.url);
      assert.equal(task({ name: "TaskTestTextDirect", run: () => 0 }).module, import.meta.url);
    } finally {
      if (saved === undefined) delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
      else Object.defineProperty(Error, "prepareStackTrace", saved);
    }
  });
});

describe(`factory-made task types on worker backends on ${detectRuntime()}`, () => {
  for (const backend of ["thread", "spawn", "fork"] as RunnerName[]) {
    test(`${backend} imports the factory module and runs its tasks`, async () => {
      const lab = new Lab({ storage: null, runner: backend, maxWorkers: 1 });
      const top = tripled({ x: 1, deps: [doubled({ x: 2, deps: [] })] });
      assert.equal(await lab.runTask(top, { progress: false }), 15);
    });
  }
});
