/**
 * The version is the same everywhere it is written, every `deno.json` export
 * loads, and the npm build's export map matches deno.json's. Runs from the source tree (deno, bun) and from the
 * compiled tree `npm/esm/tests/` (node): `../` is the package root in both.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { VERSION } from "../core/version.ts";
import { repoRoot } from "./_helpers.ts";

const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith(".js");

const root = repoRoot();
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const denoJson = readJson(join(root, "deno.json"));
const exportsMap: Record<string, string> = typeof denoJson.exports === "string"
  ? { ".": denoJson.exports }
  : denoJson.exports;

test("deno.json, package.json and core/version.ts agree on the version", () => {
  assert.match(denoJson.version, /^\d+\.\d+\.\d+(-[\w.]+)?$/);
  assert.equal(VERSION, denoJson.version, "core/version.ts VERSION");
  assert.equal(readJson(join(root, "package.json")).version, denoJson.version, "package.json");
});

test("deno.json exports name existing .ts files, with '.' -> mod.ts", () => {
  assert.equal(exportsMap["."], "./mod.ts");
  for (const [subpath, target] of Object.entries(exportsMap)) {
    assert.match(target, /^\.\/.+\.ts$/, `export ${subpath}`);
    assert.ok(existsSync(join(root, target)), `export ${subpath}: ${target} is missing`);
  }
});

test("every deno.json export loads and exports something", async () => {
  for (const [subpath, target] of Object.entries(exportsMap)) {
    // From the compiled tree, the same module is the .js beside the compiled tests.
    const file = compiled ? target.replace(/\.ts$/, ".js") : target;
    const module = await import(new URL(`../${file.slice(2)}`, import.meta.url).href);
    assert.ok(Object.keys(module).length > 0, `export ${subpath} (${file}) exports nothing`);
  }
});

test("the main export carries the public API of the design", async () => {
  const mod = await import(new URL(`../mod.${compiled ? "js" : "ts"}`, import.meta.url).href);
  for (
    const name of [
      "Lab",
      "task",
      "detectRuntime",
      "LabError",
      "TaskError",
      "StructuredCache",
      "JsonCache",
      "NullCache",
      "LocalStorage",
      "MemoryStorage",
      "NullStorage",
      "SerialRunnerBackend",
      "AsyncRunnerBackend",
    ]
  ) {
    assert.equal(typeof mod[name], "function", `mod.ts should export ${name}`);
  }
});

test("the npm build's exports match deno.json's", () => {
  // From the build, npm/esm/tests/ -> npm/; from the sources, the build the harness made first.
  const npmDir = compiled
    ? join(here, "..", "..")
    : process.env.LABTECH_NPM_DIR ?? join(root, "npm");
  assert.ok(
    existsSync(join(npmDir, "package.json")),
    `no npm build in ${npmDir}: run \`npm run build\` first (npm test does)`,
  );
  const pkg = readJson(join(npmDir, "package.json"));
  assert.equal(pkg.name, "labtech");
  assert.equal(pkg.version, denoJson.version);
  assert.equal(pkg.type, "module");
  assert.deepEqual(Object.keys(pkg.exports).sort(), Object.keys(exportsMap).sort());
  for (const [subpath, target] of Object.entries(exportsMap)) {
    const base = `./esm/${target.slice(2, -3)}`;
    assert.deepEqual(pkg.exports[subpath], { types: `${base}.d.ts`, import: `${base}.js` });
  }
});
