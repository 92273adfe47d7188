/**
 * Bytes on disk of 100,000 trivial entries in LmdbStorage (as `du` counts
 * them) against LocalStorage's, and the fresh serial per-task time of each:
 *
 * ```sh
 * deno run -A bench/lmdb_100k.ts [--n 100000] [--dir /tmp] [--local-n 10000]
 * ```
 *
 * LocalStorage's bytes per entry are measured on `--local-n` entries (its
 * size per entry does not depend on the count: a folder and two files).
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { diskBytes } from "./_disk_bytes.ts";
import { Lab, LocalStorage, type Storage } from "../mod.ts";
import { LmdbStorage } from "../lmdb.ts";
import { trivial } from "./_tasks.ts";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function fill(storage: Storage, n: number): Promise<number> {
  const tasks = Array.from({ length: n }, (_, i) => trivial({ i }));
  const t0 = performance.now();
  await new Lab({ storage, runner: "serial" }).runTasks(tasks, { progress: false, top: false });
  return (performance.now() - t0) / n;
}

const n = Number(flag("n", "100000"));
const localN = Number(flag("local-n", "10000"));
const dir = mkdtempSync(join(resolve(flag("dir", tmpdir())), "labtech-100k-"));
try {
  const lmdb = new LmdbStorage(join(dir, "lmdb"));
  const lmdbMs = await fill(lmdb, n);
  await lmdb.close();
  const lmdbBytes = diskBytes(join(dir, "lmdb"));
  const localMs = await fill(new LocalStorage(join(dir, "local")), localN);
  const localPerEntry = diskBytes(join(dir, "local")) / localN;
  console.log(
    `lmdb: ${n} entries, ${(lmdbBytes / 1e6).toFixed(1)} MB (${
      (lmdbBytes / n).toFixed(0)
    } B/entry), ` +
      `${lmdbMs.toFixed(3)} ms/task | local: ${localPerEntry.toFixed(0)} B/entry ` +
      `(${((localPerEntry * n) / 1e6).toFixed(0)} MB for ${n}), ${localMs.toFixed(3)} ms/task | ` +
      `lmdb ÷ local bytes: ${(lmdbBytes / (localPerEntry * n)).toFixed(3)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
