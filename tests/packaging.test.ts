/**
 * The npm artifact works for a Node user: `npm pack` the build, `npm install`
 * the tarball into a fresh Node project, and run a small pipeline there that
 * imports "labtech" (two task types, one a dependency of the other) with
 * LocalStorage, twice: the second run loads every result from the cache. A
 * CommonJS script require()s it, and a TypeScript consumer is type-checked
 * against the shipped declarations.
 *
 * Every runtime's test run drives this test, but what it installs and runs
 * is always the Node package. Which build it packs: from the compiled tests
 * (node), the npm/ directory they are in; otherwise `LABTECH_NPM_DIR`, which
 * scripts/test.ts sets after its build; otherwise a fresh build into a
 * temporary directory.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { repoRoot } from "./_helpers.ts";
import { compiled, lastJson, npmBuild, pack, run, TIMEOUT } from "./_install.ts";

const root = repoRoot();

const TASKS_MJS = `
import { appendFileSync } from "node:fs";
import { task } from "labtech";

const log = (line) => appendFileSync(process.env.RUN_LOG, line + "\\n");

export const source = task({
  name: "PkgSource",
  run(params) {
    log("source " + params.n);
    return Array.from({ length: params.n }, (_, i) => i);
  },
});

export const total = task({
  name: "PkgTotal",
  codeVersion: "v1",
  run(params) {
    log("total " + params.scale);
    return params.data.result.reduce((a, b) => a + b, 0) * params.scale;
  },
});
`;

const MAIN_MJS = `
import { Lab, LocalStorage } from "labtech";
import { source, total } from "./tasks.mjs";

const [storage, runner] = process.argv.slice(2);
const data = source({ n: 10 });
const tasks = [1, 2, 3].map((scale) => total({ data, scale }));
const lab = new Lab({ storage: new LocalStorage(storage), runner, maxWorkers: 2 });
const cachedBefore = (await Promise.all(tasks.map((t) => lab.isCached(t)))).filter(Boolean).length;
const results = await lab.runTasks(tasks, { progress: false, top: false });
console.log(JSON.stringify({
  cachedBefore,
  results: tasks.map((t) => results.get(t)),
  keys: tasks.map((t) => t.cacheKey),
  names: tasks.map(String),
  stored: (await lab.cachedTasks([total])).length,
}));
`;

const TASKS_CJS = `
const { task } = require("labtech");
exports.square = task({ name: "CjsSquare", run: (p) => p.x * p.x });
`;

const MAIN_CJS = `
const labtech = require("labtech");
const { square } = require("./tasks.cjs");
const lab = new labtech.Lab({ storage: null, runner: process.argv[2], maxWorkers: 2 });
import("labtech").then(async (esm) => {
  const results = await lab.runTasks([1, 2, 3].map((x) => square({ x })), { progress: false, top: false });
  console.log(JSON.stringify({
    sameModule: esm.Lab === labtech.Lab,
    results: [...results.values()],
    keys: [typeof labtech.Lab, typeof labtech.task, typeof labtech.LocalStorage],
  }));
});
`;

const CONSUMER_TS = `
import { Lab, task, type Task } from "labtech";

const square = task({ name: "TsSquare", run: (p: { x: number }) => p.x * p.x });
const t: Task<{ x: number }, number> = square({ x: 3 });
const x: number = t.params.x;
// @ts-expect-error x must be a number: the shipped declarations are typed, not any
square({ x: "three" });
export const pending = new Lab({ storage: null }).runTask(t);
export { x };
`;

describe("the npm package, installed into a fresh Node project", { timeout: TIMEOUT }, () => {
  const work = mkdtempSync(join(tmpdir(), "labtech-packaging-"));
  const project = join(work, "project");
  let pkgDir = "";
  let pkgFiles: string[] = [];
  let runners: string[] = [];

  before(async () => {
    pkgDir = await npmBuild(join(work, "npm"));
    const packed = await pack(pkgDir, work);
    pkgFiles = packed.files;

    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({
        name: "labtech-consumer",
        private: true,
        type: "module",
        // msgpackr's optional native addon builds from source only where no prebuilt exists.
        allowScripts: { "msgpackr-extract": false },
      }),
    );
    await run("npm", [
      "install",
      packed.tarball,
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
    ], project);
    writeFileSync(join(project, "tasks.mjs"), TASKS_MJS);
    writeFileSync(join(project, "main.mjs"), MAIN_MJS);
    const installed = join(project, "node_modules", "labtech");
    runners = ["thread", "spawn", "fork"].filter((name) =>
      existsSync(join(installed, "esm", "runners", `${name}.js`))
    );
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  test("the tarball holds the package and no tests", () => {
    for (const file of ["package.json", "LICENSE", "esm/mod.js", "esm/mod.d.ts"]) {
      assert.ok(pkgFiles.includes(file), `${file} is missing from the tarball`);
    }
    const stray = pkgFiles.filter((file) => /^esm\/(tests|examples|bench|scripts)\//.test(file));
    assert.deepEqual(stray, [], "test/example/bench files are in the tarball");
    assert.ok(!pkgFiles.some((file) => file.endsWith(".ts") && !file.endsWith(".d.ts")));
  });

  test("every export imports on Node, or names the optional peer it needs", async () => {
    const pkg = JSON.parse(
      readFileSync(join(project, "node_modules", "labtech", "package.json"), "utf8"),
    );
    // npm installs no optional peer: a subpath that needs one must fail for that reason alone.
    const peers = Object.keys(pkg.peerDependencies ?? {});
    for (const peer of peers) {
      assert.equal(pkg.peerDependenciesMeta?.[peer]?.optional, true, `${peer} is not optional`);
      assert.ok(!existsSync(join(project, "node_modules", peer)), `npm installed peer ${peer}`);
    }
    const script = `const out = {};
for (const s of ${
      JSON.stringify(Object.keys(pkg.exports).map((sub) => `labtech${sub.slice(1)}`))
    }) {
  try { out[s] = Object.keys(await import(s)).length > 0 ? "ok" : "empty"; }
  catch (error) { out[s] = error.code + " " + error.message; }
}
console.log(JSON.stringify(out));`;
    const loaded = lastJson(
      (await run("node", ["--input-type=module", "-e", script], project)).stdout,
    );
    assert.equal(loaded["labtech"], "ok", "the main export needs no optional peer");
    for (const [specifier, outcome] of Object.entries(loaded)) {
      if (outcome === "ok") continue;
      const missing = peers.find((peer) =>
        String(outcome).startsWith("ERR_MODULE_NOT_FOUND") && String(outcome).includes(`'${peer}'`)
      );
      assert.ok(missing, `${specifier}: ${outcome}`);
    }
  });

  test("a pipeline runs, then loads from the cache on the second run", async () => {
    const storage = join(work, "storage-serial");
    const runLog = join(work, "runs-serial.log");
    writeFileSync(runLog, "");
    const env = { RUN_LOG: runLog };
    const first = lastJson(
      (await run("node", ["main.mjs", storage, "serial"], project, env)).stdout,
    );
    assert.equal(first.cachedBefore, 0);
    assert.deepEqual(first.results, [45, 90, 135]);
    assert.deepEqual(
      first.names,
      [1, 2, 3].map((s) => `PkgTotal(data=PkgSource(n=10), scale=${s})`),
    );
    for (const key of first.keys as string[]) assert.match(key, /^PkgTotal__[0-9a-f]{40}$/);
    assert.equal(first.stored, 3);
    const ran = readFileSync(runLog, "utf8").trim().split("\n").sort();
    assert.deepEqual(ran, ["source 10", "total 1", "total 2", "total 3"]);
    const entries = readdirSync(storage).filter((name) => !name.startsWith("."));
    assert.equal(entries.length, 4, `storage entries: ${entries.join(", ")}`);
    for (const entry of entries) assert.ok(existsSync(join(storage, entry, "metadata.json")));

    const second = lastJson(
      (await run("node", ["main.mjs", storage, "serial"], project, env)).stdout,
    );
    assert.equal(second.cachedBefore, 3);
    assert.deepEqual(second.results, first.results);
    assert.deepEqual(second.keys, first.keys);
    assert.deepEqual(
      readFileSync(runLog, "utf8").trim().split("\n").sort(),
      ran,
      "second run ran tasks",
    );
  });

  test("the pipeline runs on each worker runner the package ships", async (t) => {
    if (runners.length === 0) {
      t.skip("the package has no thread/spawn/fork runner yet");
      return;
    }
    for (const runner of runners) {
      const storage = join(work, `storage-${runner}`);
      const runLog = join(work, `runs-${runner}.log`);
      writeFileSync(runLog, "");
      const out = lastJson(
        (await run("node", ["main.mjs", storage, runner], project, { RUN_LOG: runLog })).stdout,
      );
      assert.deepEqual(out.results, [45, 90, 135], `${runner} runner results`);
      assert.equal(readFileSync(runLog, "utf8").trim().split("\n").length, 4, `${runner} run log`);
    }
  });

  test("require() from a CommonJS script gets the same API (Node 20.19+ requires ES modules)", async () => {
    writeFileSync(join(project, "tasks.cjs"), TASKS_CJS);
    writeFileSync(join(project, "main.cjs"), MAIN_CJS);
    for (const runner of ["serial", "thread", "fork"]) {
      const { stdout, stderr } = await run("node", ["main.cjs", runner], project);
      assert.deepEqual(lastJson(stdout), {
        sameModule: true,
        results: [1, 4, 9],
        keys: ["Lab", "task", "LocalStorage"].map(() => "function"),
      }, `${runner}: ${stderr}`);
    }
  });

  test("a TypeScript consumer type-checks against the shipped declarations", async () => {
    writeFileSync(join(project, "consumer.ts"), CONSUMER_TS);
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          // Checking the shipped .d.ts files in full (with all of @types/node) takes seconds:
          // done once, on the node run; the other runtimes check the consumer alone.
          skipLibCheck: !compiled,
          types: ["node"],
          typeRoots: [join(root, "node_modules", "@types")],
        },
        files: ["consumer.ts"],
      }),
    );
    await run("node", [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "."], project);
  });
});
