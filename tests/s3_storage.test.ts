/**
 * S3Storage against a real S3 protocol server (s3rver on a free loopback
 * port, started here and stopped after): the Storage contract, a Lab caching
 * into S3, half-written and corrupt entries, reopening from describe(), and
 * the errors for a wrong endpoint, a missing bucket and wrong credentials.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { Lab, LabError, StorageError, task, TaskNotFound } from "../mod.ts";
import { S3Storage } from "../s3.ts";
import { openStorage } from "../storage/open.ts";
import { isS3Arg, openS3Arg } from "../cli/_s3_arg.ts";
import { captureLogs } from "./_helpers.ts";
import { S3RVER_CREDENTIALS, type S3Server, startS3rver } from "./_s3rver.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const META = "metadata.json";

let prefixCounter = 0;

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("S3Storage on s3rver", () => {
  let s3: S3Server;
  const made: S3Storage[] = [];

  /** A storage under a fresh prefix of bucket "lab", so tests never see each other's entries. */
  function storage(options: { prefix?: string; listPageSize?: number } = {}): S3Storage {
    const made1 = new S3Storage({
      bucket: "lab",
      prefix: options.prefix ?? `t${prefixCounter++}/cache`,
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
      ...(options.listPageSize !== undefined ? { listPageSize: options.listPageSize } : {}),
    });
    made.push(made1);
    return made1;
  }

  before(async () => {
    s3 = await startS3rver(["lab"]);
  });
  after(async () => {
    for (const one of made) one.destroy();
    await s3?.stop();
  });

  test("write, read, find, replace and delete entries", async () => {
    const store = storage();
    assert.deepEqual(await store.findKeys(), []);
    await store.write("k1", "a.txt", bytes("one"));
    assert.equal(await store.exists("k1"), false, "no metadata.json yet: not present");
    await store.write("k1", META, bytes("{}"));
    await store.writeEntry("k2", new Map([["b.bin", bytes("x")], [META, bytes("m2")]]));
    assert.deepEqual(await store.findKeys(), ["k1", "k2"]);
    assert.equal(await store.exists("k2"), true);
    assert.equal(text(await store.read("k1", "a.txt")), "one");
    await store.writeEntry("k2", new Map([["c.bin", bytes("new")], [META, bytes("m3")]]));
    assert.equal(text(await store.read("k2", "c.bin")), "new");
    assert.equal(text(await store.read("k2", META)), "m3");
    await assert.rejects(
      store.read("k2", "b.bin"),
      TaskNotFound,
      "a replaced entry keeps no old file",
    );
    await store.delete("k2");
    await store.delete("never-there");
    assert.equal(await store.exists("k2"), false);
    await assert.rejects(store.read("k2", "c.bin"), TaskNotFound, "delete removes every object");
    assert.deepEqual(await store.findKeys(), ["k1"]);
  });

  test("a given S3Client is used, and left open by destroy()", async () => {
    const store = new S3Storage({
      bucket: "lab",
      prefix: `t${prefixCounter++}`,
      client: s3.client,
    });
    await store.writeEntry("k", new Map([[META, bytes("{}")]]));
    store.destroy();
    assert.deepEqual(await store.findKeys(), ["k"]);
    assert.equal(store.endpoint, null, "describe() reports the options, not the client's");
    store.destroy();
  });

  test("keys and filenames cannot escape the prefix", async () => {
    const store = storage();
    for (const bad of ["..", "../x", "a/b", ".hidden", "", "a\\b", "x\0y", "-rf"]) {
      await assert.rejects(async () => await store.write(bad, "f", bytes("")), StorageError, bad);
      await assert.rejects(async () => await store.write("ok", bad, bytes("")), StorageError, bad);
      await assert.rejects(async () => await store.exists(bad), StorageError, bad);
      await assert.rejects(async () => await store.delete(bad), StorageError, bad);
    }
    assert.deepEqual(await storage({ prefix: "" }).findKeys(), [], "nothing at the bucket's root");
  });

  test("an entry must carry metadata.json, its commit object", async () => {
    await assert.rejects(
      storage().writeEntry("k", new Map([["data.bin", bytes("x")]])),
      (error: Error) =>
        error instanceof TypeError && /include a metadata\.json/.test(error.message),
    );
  });

  test("findKeys reads every page and only its own prefix", async () => {
    const store = storage({ listPageSize: 3 });
    const keys = Array.from({ length: 7 }, (_, i) => `Task__${i}`);
    for (const key of keys) {
      await store.writeEntry(key, new Map([["data.bin", bytes(key)], [META, bytes("{}")]]));
    }
    const neighbour = storage({ prefix: `${store.prefix}x` });
    await neighbour.writeEntry("Other__1", new Map([[META, bytes("{}")]]));
    assert.deepEqual(await store.findKeys(), keys);
    assert.deepEqual(await neighbour.findKeys(), ["Other__1"]);
  });

  test("a half-written entry (data object, no metadata.json) is absent", async () => {
    let runs = 0;
    const half = task({ name: "S3TestHalf", run: (p: { n: number }) => (runs++, p.n * 2) });
    const store = storage();
    const t = half({ n: 3 });
    // What a writer that died after its data object leaves behind.
    await s3.client.send(
      new PutObjectCommand({
        Bucket: "lab",
        Key: `${store.prefix}/${t.cacheKey}/data.msgpack`,
        Body: bytes("partial"),
      }),
    );
    assert.equal(await store.exists(t.cacheKey), false);
    assert.deepEqual(await store.findKeys(), []);
    const lab = new Lab({ storage: store });
    assert.equal(await lab.runTask(t, { progress: false }), 6);
    assert.equal(runs, 1, "the task ran rather than loading the half entry");
    assert.equal(await lab.isCached(t), true);
  });

  test("a Lab caches a pipeline into S3 and a second Lab reloads it", async () => {
    let runs = 0;
    const leaf = task({ name: "S3TestLeaf", run: (p: { n: number }) => (runs++, [p.n, p.n]) });
    const root = task({
      name: "S3TestRoot",
      run: (
        p: { parts: ReturnType<typeof leaf>[] },
      ) => (runs++, p.parts.reduce((sum, part) => sum + part.result[0]!, 0)),
    });
    const first = storage();
    const make = () => root({ parts: [leaf({ n: 1 }), leaf({ n: 2 }), leaf({ n: 3 })] });
    assert.equal(await new Lab({ storage: first }).runTask(make(), { progress: false }), 6);
    assert.equal(runs, 4);
    const again = storage({ prefix: first.prefix });
    const lab = new Lab({ storage: again });
    assert.equal(await lab.runTask(make(), { progress: false }), 6);
    assert.equal(runs, 4, "every result loaded from S3");
    assert.equal((await again.findKeys()).length, 4);

    const leaves = await lab.cachedTasks([leaf]);
    assert.deepEqual(leaves.map((t) => t.params.n).sort(), [1, 2, 3]);
    await lab.uncacheTasks(leaves.filter((t) => t.params.n !== 2));
    assert.deepEqual((await lab.cachedTasks([leaf])).map((t) => t.params.n), [2]);
    assert.equal((await lab.cachedTasks([root])).length, 1);
    assert.equal(await lab.isCached(leaf({ n: 1 })), false);
  });

  test("a corrupt metadata object is treated as absent with a warning", async () => {
    let runs = 0;
    const typ = task({ name: "S3TestCorrupt", run: (p: { i: number }) => (runs++, p.i) });
    const store = storage();
    const lab = new Lab({ storage: store });
    await lab.runTasks([typ({ i: 1 }), typ({ i: 2 })], { progress: false });
    assert.equal(runs, 2);
    await store.write(typ({ i: 2 }).cacheKey, META, bytes("{ half-writ"));
    const listed = await captureLogs(() => lab.cachedTasks([typ]));
    assert.deepEqual(listed.value.map((t) => t.params.i), [1]);
    assert.ok(
      listed.logs.some((l) => l.level === "warn" && /Skipping cache entry/.test(l.message)),
    );
    const rerun = await captureLogs(() => lab.runTask(typ({ i: 2 }), { progress: false }));
    assert.equal(rerun.value, 2);
    assert.equal(runs, 3, "the corrupt entry ran again");
    assert.ok(
      rerun.logs.some((l) => l.level === "warn" && /treating it as absent/.test(l.message)),
    );
    assert.equal((await captureLogs(() => lab.cachedTasks([typ]))).value.length, 2, "rewritten");
  });

  test("describe() carries no credentials and openStorage reopens the same entries", async () => {
    const store = storage();
    await store.writeEntry("k", new Map([[META, bytes("{}")]]));
    const description = store.describe()!;
    assert.deepEqual(description, {
      kind: "s3",
      bucket: "lab",
      prefix: store.prefix,
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
    });
    assert.doesNotMatch(JSON.stringify(description), /S3RVER/);
    // The reopened storage takes its credentials from this machine's SDK chain.
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    try {
      const reopened = await openStorage(JSON.parse(JSON.stringify(description)));
      assert.ok(reopened instanceof S3Storage);
      made.push(reopened);
      assert.deepEqual(await reopened.findKeys(), ["k"]);
      assert.deepEqual(reopened.describe(), description);
    } finally {
      restoreEnv("AWS_ACCESS_KEY_ID", saved.id);
      restoreEnv("AWS_SECRET_ACCESS_KEY", saved.secret);
    }
  });

  test("fromUrl takes bucket and prefix from an s3:// URL", async () => {
    const store = S3Storage.fromUrl(`s3://lab/${prefixCounter++}-url/x/`, {
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
    });
    made.push(store);
    assert.match(store.prefix, /^\d+-url\/x$/);
    assert.equal(String(store), `s3://lab/${store.prefix}`);
    await store.writeEntry("k", new Map([[META, bytes("{}")]]));
    assert.deepEqual(await store.findKeys(), ["k"]);
    for (const bad of ["lab/x", "s3://", "s3://Bad_Bucket/x", "s3://lab/../x", "s3://lab/a//b"]) {
      assert.throws(() => S3Storage.fromUrl(bad), TypeError, bad);
    }
  });

  test("the cache command's --storage s3://... --endpoint opens the Lab's entries", async () => {
    const typ = task({ name: "S3TestCli", run: (p: { i: number }) => p.i });
    const store = storage();
    await new Lab({ storage: store }).runTasks([typ({ i: 1 })], { progress: false });
    const url = `s3://lab/${store.prefix}`;
    assert.equal(isS3Arg(url), true);
    assert.equal(isS3Arg("./labtech_storage"), false);
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    try {
      const opened = openS3Arg(url, s3.endpoint);
      made.push(opened);
      assert.deepEqual(await opened.findKeys(), [typ({ i: 1 }).cacheKey]);
      const found = await new Lab({ storage: opened }).cachedTasks([typ]);
      assert.deepEqual(found.map((t) => t.params.i), [1]);
    } finally {
      restoreEnv("AWS_ACCESS_KEY_ID", saved.id);
      restoreEnv("AWS_SECRET_ACCESS_KEY", saved.secret);
    }
    assert.throws(() => openS3Arg("s3://lab/x", "localhost:9000"), TypeError);
    assert.throws(() => openS3Arg("s3:/lab"), TypeError);
  });

  test("a missing bucket is a StorageError naming it and the fix", async () => {
    const store = new S3Storage({
      bucket: "no-such-bucket",
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
    });
    made.push(store);
    for (
      const call of [() => store.exists("k"), () => store.findKeys(), () => store.read("k", META)]
    ) {
      await assert.rejects(call(), (error: Error) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.match(error.message, /s3:\/\/no-such-bucket: NoSuchBucket/);
        assert.match(error.message, /create the bucket or correct its name/);
        return true;
      });
    }
    const once = task({ name: "S3TestNoBucket", run: () => 1 });
    await assert.rejects(
      captureLogs(() => new Lab({ storage: store }).runTask(once({}), { progress: false })),
      (error: Error) =>
        (error instanceof StorageError || error instanceof LabError) &&
        /NoSuchBucket/.test(`${error.message} ${causes(error)}`),
    );
  });

  test("wrong credentials and a wrong endpoint are StorageErrors saying what to check", async () => {
    const denied = new S3Storage({
      bucket: "lab",
      endpoint: s3.endpoint,
      credentials: { accessKeyId: "WRONG", secretAccessKey: "WRONG" },
    });
    made.push(denied);
    await assert.rejects(denied.findKeys(), (error: Error) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /^Cannot list entries in s3:\/\/lab: InvalidAccessKeyId/);
      assert.match(error.message, /check the credentials/);
      return true;
    });
    const port = await closedPort();
    const nowhere = new S3Storage({
      bucket: "lab",
      endpoint: `http://127.0.0.1:${port}`,
      credentials: S3RVER_CREDENTIALS,
    });
    made.push(nowhere);
    await assert.rejects(nowhere.exists("k"), (error: Error) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /^Cannot check entry k in s3:\/\/lab: ECONNREFUSED/);
      assert.match(error.message, /check the endpoint URL/);
      return true;
    });
  });

  test("misuse is a TypeError or RangeError at construction", () => {
    const endpoint = "http://127.0.0.1:1";
    assert.throws(() => new S3Storage({ bucket: "UPPER", endpoint }), TypeError);
    assert.throws(
      () => new S3Storage({ bucket: "ok-bucket", prefix: "a/../b", endpoint }),
      TypeError,
    );
    assert.throws(() => new S3Storage({ bucket: "ok-bucket", endpoint: "ftp://x" }), TypeError);
    assert.throws(
      () => new S3Storage({ bucket: "ok-bucket", endpoint, listPageSize: 0 }),
      RangeError,
    );
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function causes(error: Error): string {
  const listed = (error as LabError).causes ?? [];
  return listed.map(([, cause]) => cause.message).join(" ") + ` ${String(error.cause ?? "")}`;
}
