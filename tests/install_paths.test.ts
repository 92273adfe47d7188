/**
 * Every way the README says to get and run labtech works, each from a
 * temporary folder outside the repository unless it is about the clone:
 *
 * - Bun: `bun add ./labtech-<version>.tgz` (the packed build), then a
 *   pipeline on the serial and thread runners (npm is packaging.test.ts);
 * - Deno: the same package in a package.json project, on every runner;
 * - Deno: a script in a folder with no deno.json, package.json or
 *   node_modules imports the repository's `mod.ts` by path, by file:// URL,
 *   and by http URL (the repository served on loopback); Deno resolves its
 *   `npm:` imports from its own cache;
 * - the clone: `npm run example` (the README's main job) runs the sweep,
 *   the example then loads every result from that cache on this runtime
 *   (Node: from the build, `node npm/esm/examples/sweep.js`), `npx labtech`
 *   and `npm run cli` list the entries, and `npm pack` at the root refuses.
 *
 * The runtime running this file only drives the commands; each command runs
 * on the runtime it names.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { detectRuntime } from "../mod.ts";
import { repoRoot } from "./_helpers.ts";
import { lastJson, npmBuild, pack, run, runFailing, TIMEOUT, tool } from "./_install.ts";

const root = repoRoot();

const TASKS_TS = (from: string) => `
import { task } from ${JSON.stringify(from)};

export const square = task({ name: "PathSquare", run: (p: { x: number }) => p.x * p.x });
export const total = task({
  name: "PathTotal",
  run: (p: { parts: Array<{ result: number }> }) => p.parts.reduce((a, t) => a + t.result, 0),
});
`;

const MAIN_TS = (from: string) => `
import { Lab } from ${JSON.stringify(from)};
import { square, total } from "./tasks.ts";

const [storage, runner] = (globalThis as unknown as { process: { argv: string[] } }).process.argv
  .slice(2);
const job = total({ parts: [1, 2, 3].map((x) => square({ x })) });
const lab = new Lab({ storage, runner: runner as "serial", maxWorkers: 2 });
const result = await lab.runTask(job, { progress: false, top: false });
console.log(JSON.stringify({ result, cached: await lab.isCached(job) }));
`;

/** Config files that, above `dir`, would make Deno resolve packages for the test. */
function configsAbove(dir: string): string[] {
  const found: string[] = [];
  for (let at = dir;; at = dirname(at)) {
    for (const name of ["deno.json", "deno.jsonc", "package.json", "node_modules"]) {
      if (existsSync(join(at, name))) found.push(join(at, name));
    }
    if (dirname(at) === at) return found;
  }
}

describe("install paths", { timeout: TIMEOUT * 3 }, () => {
  // realpath: on some systems the temporary folder is a link, which Deno reports resolved.
  const work = realpathSync(mkdtempSync(join(tmpdir(), "labtech-install-")));
  let tarball = "";

  before(async () => {
    tarball = (await pack(await npmBuild(join(work, "npm")), work)).tarball;
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  /** A package.json project with the packed tarball added (by bun) and the pipeline's scripts. */
  async function tarballProject(name: string): Promise<string> {
    const project = join(work, `${name}-project`);
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: `${name}-consumer`, private: true, type: "module" }),
    );
    await run(tool("bun"), ["add", tarball], project);
    writeFileSync(join(project, "tasks.ts"), TASKS_TS("labtech"));
    writeFileSync(join(project, "main.ts"), MAIN_TS("labtech"));
    return project;
  }

  /**
   * Runs the pipeline (`main.ts` in `project`) with `runtime` on each runner, storage under
   * `work/<storage>-<runner>`: each run must print the total, then find it cached.
   */
  async function runsPipeline(
    runtime: "bun" | "deno",
    project: string,
    runners: string[],
    storage: string,
  ): Promise<void> {
    for (const runner of runners) {
      const args = ["main.ts", join(work, `${storage}-${runner}`), runner];
      const { stdout } = runtime === "bun"
        ? await run(tool("bun"), args, project)
        : await run(tool("deno"), ["run", "-A", ...args], project, { DENO_NO_UPDATE_CHECK: "1" });
      assert.deepEqual(lastJson(stdout), { result: 14, cached: true }, runner);
    }
  }

  test("Bun: bun add the packed tarball, then a pipeline runs on serial and thread", async () => {
    const project = await tarballProject("bun");
    await runsPipeline("bun", project, ["serial", "thread"], "bun-storage");
  });

  test("Deno: the packed tarball in a package.json project runs a pipeline on every runner", async () => {
    // The modules the build loads by URL (worker entries, Deno's watchdog) must be in it.
    const project = await tarballProject("deno-npm");
    await runsPipeline("deno", project, ["serial", "thread", "spawn", "fork"], "deno-npm-storage");
  });

  for (const how of ["path", "file URL"] as const) {
    test(`Deno: a script in another folder imports the repository's mod.ts by ${how}`, async () => {
      const project = join(work, `deno-${how.replace(" ", "-")}`);
      mkdirSync(project);
      assert.deepEqual(configsAbove(project), [], "a config above the folder would help Deno");
      const modTs = join(root, "mod.ts");
      const from = how === "path" ? modTs : pathToFileURL(modTs).href;
      writeFileSync(join(project, "tasks.ts"), TASKS_TS(from));
      writeFileSync(join(project, "main.ts"), MAIN_TS(from));
      await runsPipeline("deno", project, ["serial", "thread", "spawn"], `deno-storage-${how}`);
      assert.ok(!existsSync(join(project, "node_modules")), "Deno made a node_modules folder");
      assert.deepEqual(configsAbove(project), []);
    });
  }

  test("Deno: a script in another folder imports mod.ts by http URL, as from a published URL", async () => {
    // The repository served on loopback stands in for a URL such as a raw GitHub one.
    const server = createServer(async (request, response) => {
      const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
      try {
        const body = await readFile(join(root, path));
        response.writeHead(200, { "content-type": "application/typescript" }).end(body);
      } catch {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const project = join(work, "deno-url");
      mkdirSync(project);
      const from = `http://127.0.0.1:${port}/mod.ts`;
      writeFileSync(join(project, "tasks.ts"), TASKS_TS(from));
      writeFileSync(join(project, "main.ts"), MAIN_TS(from));
      await runsPipeline("deno", project, ["serial", "thread"], "deno-storage-url");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe("from a clone of the repository", () => {
    const storage = join(work, "example-storage");

    test("npm run example, the README's main job, runs the sweep", async () => {
      const { stdout } = await run("npm", ["run", "example", "--", `--storage=${storage}`], root);
      assert.match(stdout, /Sweep of 20 fits on the serial runner: 0 already cached\./);
      assert.match(stdout, /Ran 20 fits in [\d.]+s; run again to load them from the cache\./);
    });

    test("the example on this runtime loads every result from that cache", async () => {
      const runtime = detectRuntime();
      const [cmd, args] = runtime === "node"
        ? ["node", [join(await npmBuild(join(work, "npm")), "esm", "examples", "sweep.js")]]
        : runtime === "bun"
        ? [tool("bun"), ["examples/sweep.ts"]]
        : [tool("deno"), ["run", "-A", "examples/sweep.ts"]];
      const { stdout } = await run(cmd, [...args, `--storage=${storage}`], root);
      assert.match(stdout, /Sweep of 20 fits on the serial runner: 20 already cached\./);
      assert.match(stdout, /All 20 results were loaded from the cache/, `${runtime}: ${stdout}`);
    });

    test("npx labtech and npm run cli list the cache", async () => {
      // npx finds the clone's own bin; --offline and a fresh cache: it must never fetch a package.
      const env = { npm_config_cache: join(work, "npm-cache") };
      const npx = await run(
        "npx",
        ["--offline", "labtech", "cache", "list", "--storage", storage],
        root,
        env,
      );
      const viaScript = await run("npm", [
        "run",
        "--silent",
        "cli",
        "--",
        "cache",
        "list",
        "--storage",
        storage,
      ], root);
      for (const { stdout } of [npx, viaScript]) {
        assert.match(stdout, /RidgeFit/);
        assert.match(stdout, /Dataset/);
      }
      assert.equal(npx.stdout, viaScript.stdout);
    });

    test("npm pack at the repository root refuses, naming the build", async () => {
      const message = await runFailing("npm", ["pack", "--dry-run"], root);
      assert.match(message, /Cannot pack the repository root/);
      assert.match(message, /npm run build/);
      assert.match(message, /npm pack \.\/npm/);
    });
  });
});
