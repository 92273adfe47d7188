import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pack, unpack } from "npm:msgpackr@^2.1.4";
import { fileURLToPath } from "node:url";
import {
  CacheError,
  JsonCache,
  Lab,
  LabError,
  LocalStorage,
  MemoryStorage,
  NullCache,
  StructuredCache,
  task,
} from "../mod.ts";
import { captureFailure, captureLogs, tempDir } from "./_helpers.ts";
import { goldenRuns, goldenTasks, goldenValue } from "./fixtures/golden.ts";
import { knownTasks } from "./fixtures/known_types.ts";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const meta = { start: new Date(0), durationMs: 1 };

describe("caches", () => {
  test("cache keys match the known fixture on every runtime", () => {
    const expected = JSON.parse(readFileSync(join(fixtures, "known_cache_keys.json"), "utf8"));
    assert.deepEqual(knownTasks().map((t) => t.cacheKey), expected);
  });

  test("StructuredCache round-trips every supported kind of value", async () => {
    const cache = new StructuredCache();
    const storage = new MemoryStorage();
    const t = task({ name: "CacheTestRich", run: () => 0 })({});
    await cache.save(storage, t, { value: goldenValue(9), meta });
    const loaded = await cache.loadResultWithMeta(storage, t);
    assert.deepEqual(loaded.value, goldenValue(9));
    assert.deepEqual(loaded.meta, meta);
  });

  test("entries written by Deno, Bun and Node load on this runtime", async () => {
    const runtimes = readdirSync(join(fixtures, "golden_cache"));
    assert.deepEqual(runtimes.sort(), ["bun", "deno", "node"]);
    for (const runtime of runtimes) {
      const { dir, cleanup } = tempDir();
      try {
        cpSync(join(fixtures, "golden_cache", runtime), dir, { recursive: true });
        const before = goldenRuns.count;
        const tasks = goldenTasks();
        const results = await new Lab({ storage: dir }).runTasks(tasks, { progress: false });
        assert.equal(goldenRuns.count, before, `${runtime}'s entries should load, not run`);
        assert.deepEqual(results.get(tasks[0]!), goldenValue(1));
        assert.deepEqual(results.get(tasks[1]!), goldenValue(2));
        assert.deepEqual(results.get(tasks[2]!), {
          seed: 3,
          list: [1.5, "two", null, { three: false }],
        });
        const metadata = JSON.parse(
          readFileSync(join(dir, tasks[0]!.cacheKey, "metadata.json"), "utf8"),
        );
        assert.equal(metadata.runtime, runtime);
      } finally {
        cleanup();
      }
    }
  });

  test("a result the format cannot encode fails the task and writes nothing", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const bad = task({ name: "CacheTestBadResult", run: () => ({ fn: () => 1 }) });
      const badJson = task({
        name: "CacheTestBadJson",
        cache: new JsonCache(),
        run: () => ({ n: 1n }),
      });
      const good = task({ name: "CacheTestGoodResult", run: () => 1 });
      const lab = new Lab({ storage: dir });
      const { error } = await captureFailure(() =>
        lab.runTasks([bad({}), badJson({}), good({})], { progress: false })
      );
      assert.ok(error instanceof LabError);
      assert.equal(error.failed, 2);
      assert.ok(error.causes.every(([, cause]) => cause instanceof CacheError));
      const messages = error.causes.map(([, cause]) => cause.message).sort().join("\n");
      assert.match(messages, /CacheTestBadJson\(\) as result\.n is a bigint/);
      assert.match(messages, /CacheTestBadResult\(\) as result\.fn is a function/);
      assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith(".")), [good({}).cacheKey]);
    } finally {
      cleanup();
    }
  });

  test("class instances are refused rather than silently flattened", async () => {
    class Model {
      weights = [1];
    }
    const cache = new StructuredCache();
    const t = task({ name: "CacheTestClass", run: () => 0 })({});
    await assert.rejects(
      cache.save(new MemoryStorage(), t, { value: { model: new Model() }, meta }),
      /result\.model is an instance of Model/,
    );
  });

  test("a corrupt entry is treated as absent with a warning and run again", async () => {
    const { dir, cleanup } = tempDir();
    try {
      let runs = 0;
      const leaf = task({ name: "CacheTestCorruptLeaf", run: (p: { n: number }) => (runs++, p.n) });
      const root = task({
        name: "CacheTestCorruptRoot",
        run: (p: { leaf: ReturnType<typeof leaf> }) => (runs++, p.leaf.result * 10),
      });
      const t = root({ leaf: leaf({ n: 4 }) });
      const lab = new Lab({ storage: dir });
      await lab.runTasks([t], { progress: false });
      assert.equal(runs, 2);
      writeFileSync(join(dir, t.cacheKey, "data.msgpack"), new Uint8Array([0xc1, 0xc1, 0xc1]));
      const { value, logs } = await captureLogs(() =>
        lab.runTasks([root({ leaf: leaf({ n: 4 }) })], { progress: false })
      );
      assert.equal([...value.values()][0], 40);
      assert.equal(runs, 3, "the root runs again; its dependency loads from the cache");
      assert.ok(logs.some((l) => l.level === "warn" && /treating it as absent/.test(l.message)));
      writeFileSync(join(dir, t.cacheKey, "metadata.json"), "{ half-writ");
      await captureLogs(() => lab.runTasks([t], { progress: false }));
      assert.equal(runs, 4);
    } finally {
      cleanup();
    }
  });

  test("cachedTasks skips unreadable entries with a warning and never runs code", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const typ = task({ name: "CacheTestListed", run: (p: { i: number }) => p.i });
      const lab = new Lab({ storage: dir });
      await lab.runTasks([typ({ i: 1 }), typ({ i: 2 })], { progress: false });
      writeFileSync(join(dir, typ({ i: 2 }).cacheKey, "metadata.json"), "not json");
      const { value, logs } = await captureLogs(() => lab.cachedTasks([typ]));
      assert.deepEqual(value.map((t) => t.params.i), [1]);
      assert.ok(logs.some((l) => /Skipping cache entry/.test(l.message)));
    } finally {
      cleanup();
    }
  });

  test("NullCache and cache: null never store", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const never = task({ name: "CacheTestNever", cache: null, run: () => 1 });
      const lab = new Lab({ storage: dir });
      await lab.runTasks([never({})], { progress: false });
      assert.equal(await lab.isCached(never({})), false);
      assert.equal(existsSync(join(dir, never({}).cacheKey)), false);
      assert.equal(await new NullCache().isCached(new LocalStorage(dir), never({})), false);
    } finally {
      cleanup();
    }
  });

  test("a large typed array is written and read without a copy, in msgpackr's own format", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const storage = new LocalStorage(dir);
      const cache = new StructuredCache();
      const kinds = [
        new Float64Array(20_000).map((_, i) => i / 3),
        new Int16Array(40_000).map((_, i) => i - 20_000),
        new Uint8Array(70_000).map((_, i) => i),
        new BigInt64Array(10_000).map((_, i) => BigInt(i) - 5n),
        // A view into part of a larger buffer: only its own bytes are written.
        new Float32Array(new ArrayBuffer(4 * 30_000), 4 * 1_000, 20_000).fill(1.5),
      ];
      const type = task({ name: "CacheTestRaw", run: (_: { i: number }) => 0 });
      for (const [i, value] of kinds.entries()) {
        const t = type({ i });
        await cache.save(storage, t, { value, meta });
        const entry = join(dir, t.cacheKey);
        const metadata = JSON.parse(readFileSync(join(entry, "metadata.json"), "utf8"));
        assert.equal(metadata.rawDataAt, 7);
        // The bytes are what msgpackr writes itself, so older versions read them as before.
        const bytes = readFileSync(join(entry, "data.msgpack"));
        assert.deepEqual(unpack(bytes), value);
        const loaded = (await cache.loadResultWithMeta(storage, t)).value as ArrayBufferView;
        assert.deepEqual(loaded, value);
        // The array owns its buffer exactly, so a worker can transfer it whole.
        assert.equal(loaded.byteOffset, 0);
        assert.equal(loaded.buffer.byteLength, loaded.byteLength);
        // Without readInto (MemoryStorage) the same entry decodes the usual way.
        const memory = new MemoryStorage();
        await memory.writeEntry(
          t.cacheKey,
          new Map([["data.msgpack", bytes], [
            "metadata.json",
            readFileSync(join(entry, "metadata.json")),
          ]]),
        );
        assert.deepEqual((await cache.loadResultWithMeta(memory, t)).value, value);
        // Saved to a storage that reads whole files, it round-trips the usual way.
        const saved = new MemoryStorage();
        await cache.save(saved, t, { value, meta });
        assert.deepEqual((await cache.loadResultWithMeta(saved, t)).value, value);
      }
    } finally {
      cleanup();
    }
  });

  test("an entry whose header is not what rawDataAt promised decodes the usual way or fails as corrupt", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const storage = new LocalStorage(dir);
      const cache = new StructuredCache();
      const t = task({ name: "CacheTestRawForeign", run: () => 0 })({});
      await cache.save(storage, t, { value: new Float64Array(10_000).fill(2), meta });
      const file = join(dir, t.cacheKey, "data.msgpack");
      // Another value in the data file (as a tool rewriting it would leave): still decoded.
      writeFileSync(file, pack(["replaced", 1, 2]));
      assert.deepEqual((await cache.loadResultWithMeta(storage, t)).value, ["replaced", 1, 2]);
      // A truncated typed array is corrupt.
      writeFileSync(file, readFileSync(file).subarray(0, 3));
      await assert.rejects(cache.loadResultWithMeta(storage, t), CacheError);
    } finally {
      cleanup();
    }
  });
});
