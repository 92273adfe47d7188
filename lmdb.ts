/**
 * `labtech/lmdb`: a storage for sweeps of many small results, in one LMDB
 * database. Needs the `lmdb` package installed beside labtech.
 *
 * @example
 * ```ts
 * import { Lab, task } from "./mod.ts";
 * import { LmdbStorage } from "./lmdb.ts";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * let runs = 0;
 * const square = task({ name: "LmdbDocSquare", run: (p: { x: number }) => (runs++, p.x * p.x) });
 * const storage = new LmdbStorage(join(mkdtempSync(join(tmpdir(), "lt-")), "results"));
 * const tasks = [1, 2, 3].map((x) => square({ x }));
 * const results = await new Lab({ storage }).runTasks(tasks, { progress: false });
 * assert.deepEqual([...results.values()], [1, 4, 9]);
 * await new Lab({ storage }).runTasks(tasks, { progress: false }); // loaded, not run
 * assert.equal(runs, 3);
 * await storage.close();
 * ```
 *
 * @module
 */
export { LmdbStorage, type LmdbStorageOptions } from "./storage/lmdb_storage.ts";
export { openLmdbArgument } from "./storage/lmdb_argument.ts";
