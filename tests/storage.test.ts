import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { describe, test } from "node:test";
import { LocalStorage, MemoryStorage, NullStorage, type Storage, StorageError } from "../mod.ts";
import { LmdbStorage } from "../lmdb.ts";
import { tempDir } from "./_helpers.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function behavesAsStorage(name: string, make: (dir: string) => Storage): void {
  test(`${name}: write, read, find, delete`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const storage = make(join(dir, "store"));
      assert.deepEqual(await storage.findKeys(), []);
      await storage.write("k1", "a.txt", bytes("one"));
      await storage.writeEntry!("k2", new Map([["a.txt", bytes("two")], ["b.bin", bytes("x")]]));
      assert.deepEqual(await storage.findKeys(), ["k1", "k2"]);
      assert.equal(text(await storage.read("k2", "a.txt")), "two");
      await storage.writeEntry!("k2", new Map([["a.txt", bytes("new")]]));
      assert.equal(text(await storage.read("k2", "a.txt")), "new");
      await assert.rejects(storage.read("k2", "b.bin"), /not/);
      await storage.delete("k2");
      await storage.delete("never-there");
      assert.equal(await storage.exists("k2"), false);
      assert.deepEqual(await storage.findKeys(), ["k1"]);
    } finally {
      cleanup();
    }
  });

  test(`${name}: keys and filenames cannot escape`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const storage = make(join(dir, "store"));
      for (const bad of ["..", "../x", "a/b", ".hidden", "", "a\\b", "x\0y", "-rf"]) {
        await assert.rejects(
          async () => await storage.write(bad, "f", bytes("")),
          StorageError,
          bad,
        );
        await assert.rejects(
          async () => await storage.write("ok", bad, bytes("")),
          StorageError,
          bad,
        );
        await assert.rejects(async () => await storage.exists(bad), StorageError, bad);
      }
      assert.equal(existsSync(join(dir, "x")), false);
    } finally {
      cleanup();
    }
  });
}

describe("storage", () => {
  behavesAsStorage("LocalStorage", (dir) => new LocalStorage(dir));
  behavesAsStorage("MemoryStorage", () => new MemoryStorage());
  behavesAsStorage("LmdbStorage", (dir) => new LmdbStorage(dir));

  test("LocalStorage writes a .gitignore and hides leftovers of interrupted writes", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const storage = new LocalStorage(dir);
      await storage.writeEntry("k", new Map([["f", bytes("1")]]));
      assert.match(readFileSync(join(dir, ".gitignore"), "utf8"), /^\*$/m);
      // A crash mid-write leaves only a hidden temporary folder, never a visible entry.
      mkdirSync(join(dir, ".tmp-k2-crashed"));
      writeFileSync(join(dir, ".tmp-k2-crashed", "f"), "partial");
      assert.deepEqual(await storage.findKeys(), ["k"]);
      assert.equal(await storage.exists("k2"), false);
      assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith(".")), ["k"]);
    } finally {
      cleanup();
    }
  });

  test("MemoryStorage keeps a copy of the bytes, even of a Node Buffer", async () => {
    const storage = new MemoryStorage();
    const data = Buffer.from("abc");
    await storage.write("k", "f", data);
    await storage.writeEntry("k2", new Map([["f", data]]));
    data[0] = 0x7a; // a Buffer's slice() is a view: a stored view would change too
    assert.equal(text(await storage.read("k", "f")), "abc");
    assert.equal(text(await storage.read("k2", "f")), "abc");
  });

  test("NullStorage stores nothing", async () => {
    const storage = new NullStorage();
    await storage.write("k", "f", bytes("x"));
    assert.equal(await storage.exists("k"), false);
    assert.deepEqual(await storage.findKeys(), []);
    await assert.rejects(storage.read("k", "f"));
  });
});
