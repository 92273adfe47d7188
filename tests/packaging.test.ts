/**
 * The npm artifact works for a Node user: `npm pack` the build, `npm install`
 * the tarball into a fresh Node project, and run a small pipeline there that
 * imports "labtech" (two task types, one a dependency of the other) with
 * LocalStorage, twice: the second run loads every result from the cache. A
 * TypeScript consumer is type-checked against the shipped declarations.
 *
 * Every runtime's test run drives this test, but what it installs and runs
 * is always the Node package. Which build it packs: from the compiled tests
 * (node), the npm/ directory they are in; otherwise `LABTECH_NPM_DIR`, which
 * scripts/test.ts sets after its build; otherwise a fresh build into a
 * temporary directory.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
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
import { dirname, join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { repoRoot } from "./_helpers.ts";

const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith(".js");
const TIMEOUT = 180_000;

const root = repoRoot();

/** Runs a command; rejects with its output when it exits non-zero. */
function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd,
        env: { ...process.env, npm_config_update_notifier: "false", ...env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: TIMEOUT,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`${cmd} ${args.join(" ")} failed (${error.message}):\n${stdout}\n${stderr}`),
          );
        } else resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The last line of output that is a JSON object. */
function lastJson(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  assert.ok(line, `no JSON line in output:\n${stdout}`);
  return JSON.parse(line);
}

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
    if (compiled) pkgDir = join(here, "..", "..");
    else if (
      process.env.LABTECH_NPM_DIR && existsSync(join(process.env.LABTECH_NPM_DIR, "package.json"))
    ) {
      pkgDir = process.env.LABTECH_NPM_DIR;
    } else {
      pkgDir = join(work, "npm");
      const local = join(root, "node_modules", ".bin", "deno");
      await run(existsSync(local) ? local : "deno", [
        "run",
        "-A",
        join(root, "scripts", "build.ts"),
        "--out",
        pkgDir,
        "--quiet",
      ], root);
    }
    const { stdout } = await run(
      "npm",
      ["pack", pkgDir, "--pack-destination", work, "--json", "--loglevel=error"],
      work,
    );
    const [packed] = JSON.parse(stdout) as Array<
      { filename: string; files: Array<{ path: string }> }
    >;
    assert.ok(packed, "npm pack reported no tarball");
    pkgFiles = packed.files.map((file) => file.path);

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
      join(work, packed.filename),
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

  test("every export of the installed package imports on Node", async () => {
    const pkg = JSON.parse(
      readFileSync(join(project, "node_modules", "labtech", "package.json"), "utf8"),
    );
    const specifiers = Object.keys(pkg.exports).map((sub) => `labtech${sub.slice(1)}`);
    const script = specifiers.map((s) => `await import(${JSON.stringify(s)});`).join("\n");
    await run("node", ["--input-type=module", "-e", script], project);
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
