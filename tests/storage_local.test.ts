/**
 * LocalStorage under attack: two processes writing the same entries, links
 * inside and in place of entries, files where entries should be, work
 * folders left by killed writers, and a full disk.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Lab, LocalStorage, StorageError, TaskNotFound } from "../mod.ts";
import { race, runFixture } from "./_race.ts";
import { captureLogs, tempDir } from "./_helpers.ts";
import { raced, runs } from "./fixtures/storage/race_tasks.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const QUIET = { progress: false } as const;
// Subprocesses and workers take seconds on a busy machine: more than bun test's 5 s default.
const SLOW = { timeout: 120_000 };

describe("LocalStorage hardening", () => {
  test(
    "two processes racing on the same 300 entries: every task succeeds, every entry loads",
    SLOW,
    async () => {
      const { dir, cleanup } = tempDir();
      try {
        const store = join(dir, "store");
        assert.deepEqual(await race("local", store, 300), [0, 0]);
        const tasks = Array.from({ length: 300 }, (_, i) => raced({ i }));
        const before = runs.count;
        const results = await new Lab({ storage: store }).runTasks(tasks, QUIET);
        assert.equal(runs.count, before, "every entry loads: nothing ran again");
        assert.deepEqual([...results.values()], tasks.map((_, i) => i * 2));
        assert.deepEqual(readdirSync(store).filter((n) => n.startsWith(".tmp-")), []);
      } finally {
        cleanup();
      }
    },
  );

  test(
    "a link inside an entry is never followed: the entry is corrupt, run again and replaced",
    SLOW,
    async () => {
      const { dir, cleanup } = tempDir();
      try {
        const store = join(dir, "store");
        const task = raced({ i: 21 });
        await new Lab({ storage: store }).runTasks([task], QUIET);
        const data = join(store, task.cacheKey, "data.msgpack");
        // A file outside the storage holding another valid result (7: what following would give).
        const outside = join(dir, "outside");
        writeFileSync(outside, Uint8Array.of(0x07));
        const entry = join(store, task.cacheKey);
        unlinkSync(data);
        symlinkSync(outside, data);
        const storage = new LocalStorage(store);
        await assert.rejects(storage.read(task.cacheKey, "data.msgpack"), /symbolic link/);
        const { value, logs } = await captureLogs(() =>
          new Lab({ storage: store }).runTasks([raced({ i: 21 })], QUIET)
        );
        assert.deepEqual([...value.values()], [42]);
        assert.ok(logs.some((l) => l.level === "warn" && /symbolic link/.test(l.message)));
        assert.ok(lstatSync(join(entry, "data.msgpack")).isFile(), "the link was replaced");
      } finally {
        cleanup();
      }
    },
  );

  test(
    "links and files in place of entries are skipped by findKeys, absent, and replaced",
    SLOW,
    async () => {
      const { dir, cleanup } = tempDir();
      try {
        const store = join(dir, "store");
        const storage = new LocalStorage(store);
        await storage.writeEntry("real", new Map([["f", bytes("1")]]));
        mkdirSync(join(dir, "elsewhere"));
        writeFileSync(join(dir, "elsewhere", "f"), "outside");
        symlinkSync(join(dir, "elsewhere"), join(store, "linked"));
        symlinkSync(join(store, "loop"), join(store, "loop")); // a looping link
        writeFileSync(join(store, "plain"), "not a folder");
        assert.deepEqual(await storage.findKeys(), ["real"]);
        for (const key of ["linked", "loop", "plain"]) {
          assert.equal(await storage.exists(key), false, key);
          await assert.rejects(storage.read(key, "f"), StorageError, key);
        }
        // The next write replaces whatever is there; the link's target is untouched.
        await storage.writeEntry("linked", new Map([["f", bytes("2")]]));
        await storage.writeEntry("plain", new Map([["f", bytes("3")]]));
        assert.equal(text(await storage.read("linked", "f")), "2");
        assert.equal(text(await storage.read("plain", "f")), "3");
        assert.equal(readFileSync(join(dir, "elsewhere", "f"), "utf8"), "outside");
        await storage.write("loop", "f", bytes("4"));
        assert.equal(text(await storage.read("loop", "f")), "4");
        // delete removes a file or a link where an entry should be.
        writeFileSync(join(store, "plain2"), "x");
        symlinkSync(join(dir, "elsewhere"), join(store, "link2"));
        await storage.delete("plain2");
        await storage.delete("link2");
        assert.equal(existsSync(join(store, "plain2")), false);
        assert.equal(lstatSync(join(store, "link2"), { throwIfNoEntry: false }), undefined);
        assert.equal(readFileSync(join(dir, "elsewhere", "f"), "utf8"), "outside");
      } finally {
        cleanup();
      }
    },
  );

  test("an entry listed, then removed or replaced by another writer, is not read as before", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const store = join(dir, "store");
      const reader = new LocalStorage(store);
      const other = new LocalStorage(store);
      for (const key of ["gone", "file", "again"]) {
        await other.writeEntry(key, new Map([["f", bytes(key)]]));
      }
      // The listing (and a read) mark the entries as folders for this reader's next reads.
      assert.deepEqual(await reader.findKeys(), ["again", "file", "gone"]);
      assert.equal(text(await reader.read("gone", "f")), "gone");
      await other.delete("gone");
      await other.delete("file");
      writeFileSync(join(store, "file"), "not a folder");
      await other.delete("again");
      await other.writeEntry("again", new Map([["f", bytes("new")]]));
      await assert.rejects(reader.read("gone", "f"), TaskNotFound);
      await assert.rejects(reader.read("file", "f"), StorageError);
      await assert.rejects(reader.read("file", "f"), /not a folder/); // checked again, by lstat
      assert.equal(text(await reader.read("again", "f")), "new");
    } finally {
      cleanup();
    }
  });

  test("an entry path that is a plain file is run again and replaced by a Lab", SLOW, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const store = join(dir, "store");
      const task = raced({ i: 5 });
      mkdirSync(store);
      writeFileSync(join(store, task.cacheKey), "not an entry");
      for (let run = 0; run < 2; run++) {
        const results = await new Lab({ storage: store }).runTasks([raced({ i: 5 })], QUIET);
        assert.deepEqual([...results.values()], [10]);
      }
      assert.ok(lstatSync(join(store, task.cacheKey)).isDirectory());
    } finally {
      cleanup();
    }
  });

  test(
    "work folders of dead writers are removed; live and recent unknown ones stay",
    SLOW,
    async () => {
      const { dir, cleanup } = tempDir();
      try {
        const store = join(dir, "store");
        mkdirSync(store);
        // A real process of this runtime leaves its work folder and exits: its pid is dead.
        const dead = (await runFixture("leave_temp", [store])).trim();
        assert.match(dead, /^\.tmp-[0-9a-f]{8}-\d+-/);
        mkdirSync(join(store, ".tmp-oldformat-abc-0")); // unknown owner, recent: kept
        const ancient = join(store, ".tmp-oldformat-def-1"); // unknown owner, two days old: removed
        mkdirSync(ancient);
        const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
        utimesSync(ancient, twoDaysAgo, twoDaysAgo);
        assert.deepEqual(await new LocalStorage(store).findKeys(), []);
        const left = readdirSync(store).sort();
        assert.deepEqual(left, [".tmp-oldformat-abc-0"]);
        // The first write of a storage sweeps as well.
        const dead2 = (await runFixture("leave_temp", [store])).trim();
        await new LocalStorage(store).writeEntry("k", new Map([["f", bytes("1")]]));
        assert.equal(existsSync(join(store, dead2)), false);
      } finally {
        cleanup();
      }
    },
  );

  test(
    "a full disk fails the write with the system's reason and leaves nothing behind",
    SLOW,
    async (t) => {
      const { dir, cleanup } = tempDir();
      const mount = join(dir, "tiny");
      mkdirSync(mount);
      // A 64 KiB tmpfs: needs Linux and root (the suite's machine); said so when it cannot.
      const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]);
      if (mounted.status !== 0) {
        cleanup();
        t.skip("cannot mount a small tmpfs here (needs Linux and root)");
        return;
      }
      try {
        const storage = new LocalStorage(join(mount, "store"));
        await storage.writeEntry("small", new Map([["f", bytes("ok")]]));
        await assert.rejects(
          storage.writeEntry("big", new Map([["f", new Uint8Array(256 * 1024)]])),
          (error: Error) => {
            assert.ok(error instanceof StorageError);
            assert.match(
              error.message,
              /^Cannot write entry big in .*: ENOSPC: no space left on device/,
            );
            return true;
          },
        );
        assert.deepEqual(readdirSync(join(mount, "store")).sort(), [".gitignore", "small"]);
      } finally {
        spawnSync("umount", ["-l", mount]);
        cleanup();
      }
    },
  );
});
