/**
 * The version is the same everywhere it is written, every `deno.json` export
 * loads, the npm build's export map matches deno.json's, and the sources'
 * `npm:` imports agree with package.json, tsconfig.json (Bun) and the build. Runs from the source tree (deno, bun) and from the
 * compiled tree `npm/esm/tests/` (node): `../` is the package root in both.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { VERSION } from "../core/version.ts";
import { packageDependencies, staticPackages } from "../scripts/build.ts";
import {
  checkNpmSpecifiers,
  npmImports,
  parseNpmSpecifier,
  toBareSpecifiers,
} from "../scripts/npm_specifiers.ts";
import { repoRoot, tempDir } from "./_helpers.ts";

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
    assert.deepEqual(pkg.exports[subpath], {
      types: `${base}.d.ts`,
      import: `${base}.js`,
      default: `${base}.js`,
    });
  }
  assert.equal(pkg.main, pkg.exports["."].default);
  assert.notEqual(pkg.description, readJson(join(root, "package.json")).description);
});

// npm: specifiers, written without a literal `from "npm:...` so the build's rewrite leaves them be.
const npm = (rest: string) => ["npm", rest].join(":");

test("every npm: import of the sources agrees with package.json and tsconfig.json", () => {
  assert.deepEqual(checkNpmSpecifiers(root), []);
  const names = new Set(npmImports(root).map((found) => found.name));
  for (const name of ["msgpackr", "cli-progress"]) assert.ok(names.has(name), `${name} import`);
});

test("toBareSpecifiers maps any npm:name@range[/subpath] import to the bare name", () => {
  const source = [
    `import { Packr } from "${npm("msgpackr@^2.1.4")}";`,
    `import type { S3Client } from '${npm("@aws-sdk/client-s3@^3.1175.0")}';`,
    `export * from "${npm("lmdb@^3.5.6/extra")}";`,
    `const q = await import("${npm("bullmq@^6.7.0")}");`,
    `import "${npm("ioredis")}";`,
    `const text = "${npm("msgpackr@^2.1.4")}"; // not an import: kept`,
    `import { x } from "./local.ts";`,
  ].join("\n");
  assert.equal(
    toBareSpecifiers(source),
    [
      `import { Packr } from "msgpackr";`,
      `import type { S3Client } from '@aws-sdk/client-s3';`,
      `export * from "lmdb/extra";`,
      `const q = await import("bullmq");`,
      `import "ioredis";`,
      `const text = "${npm("msgpackr@^2.1.4")}"; // not an import: kept`,
      `import { x } from "./local.ts";`,
    ].join("\n"),
  );
  assert.deepEqual(parseNpmSpecifier(npm("@aws-sdk/client-s3@^3.1/dist")), {
    name: "@aws-sdk/client-s3",
    range: "^3.1",
    subpath: "/dist",
  });
  assert.equal(parseNpmSpecifier("msgpackr"), null);
});

test("the npm: check names each mismatch, and library imports of non-dependencies become optional peers", () => {
  const { dir, cleanup } = tempDir("labtech-specifiers-");
  try {
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({
        dependencies: { msgpackr: "^2.1.4" },
        devDependencies: { bullmq: "^6.7.0", "fast-check": "^4.0.0" },
      }),
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { paths: { [`${npm("msgpackr@*")}`]: ["x"] } } }),
    );
    mkdirSync(join(dir, "caches"));
    mkdirSync(join(dir, "tests"));
    writeFileSync(
      join(dir, "caches", "a.ts"),
      [
        `import { Packr } from "${npm("msgpackr@^2.0.0")}";`,
        `import { Queue } from "${npm("bullmq@^6.7.0")}";`,
        `import Redis from "ioredis";`,
        `import { S3Client } from "${npm("@aws-sdk/client-s3@^3")}";`,
        `/** import { y } from "labtech"; (a JSDoc example: not read) */`,
      ].join("\n"),
    );
    writeFileSync(join(dir, "tests", "b.ts"), `import fc from "fast-check";\n`);
    const problems = checkNpmSpecifiers(dir);
    assert.equal(problems.length, 5, problems.join("\n"));
    assert.match(
      problems[0]!,
      /^caches\/a\.ts:1: .* has range "\^2\.0\.0" but package\.json declares "\^2\.1\.4"/,
    );
    assert.match(
      problems[1]!,
      /^caches\/a\.ts:2: tsconfig\.json has no paths entry "npm:bullmq@\*"/,
    );
    assert.match(
      problems[2]!,
      /^caches\/a\.ts:3: "ioredis" is a bare package name, which Deno cannot resolve/,
    );
    assert.match(
      problems[3]!,
      /^caches\/a\.ts:4: @aws-sdk\/client-s3 is not declared in package\.json/,
    );
    assert.match(problems[4]!, /^caches\/a\.ts:4: tsconfig\.json has no paths entry/);

    assert.deepEqual(packageDependencies(dir), {
      dependencies: { msgpackr: "^2.1.4" },
      peerDependencies: { "@aws-sdk/client-s3": "^3", bullmq: "^6.7.0" },
      peerDependenciesMeta: {
        "@aws-sdk/client-s3": { optional: true },
        bullmq: { optional: true },
      },
    });
  } finally {
    cleanup();
  }
});

test("staticPackages follows static imports only, to find what an entry loads", async () => {
  const { dir, cleanup } = tempDir("labtech-graph-");
  try {
    writeFileSync(
      join(dir, "a.js"),
      `import { b } from "./b.js";\nimport {\n  x,\n} from "msgpackr";\nimport "node:fs";\n` +
        `export const s = "from 'not-an-import'";\nconst lazy = () => import("bullmq");\n`,
    );
    writeFileSync(join(dir, "b.js"), `export * from "@aws-sdk/client-s3/sub";\nimport "./a.js";\n`);
    const found = await staticPackages(join(dir, "a.js"));
    assert.deepEqual([...found.keys()].sort(), ["@aws-sdk/client-s3", "msgpackr"]);
    assert.equal(found.get("@aws-sdk/client-s3"), join(dir, "b.js"));
  } finally {
    cleanup();
  }
});

test("the npm build imports packages by bare name, and its main entry only dependencies", async () => {
  const npmDir = compiled
    ? join(here, "..", "..")
    : process.env.LABTECH_NPM_DIR ?? join(root, "npm");
  const esm = join(npmDir, "esm");
  const leftover: string[] = [];
  for (const file of readdirSync(esm, { recursive: true, encoding: "utf8" })) {
    if (file.startsWith("tests") || !/\.(js|d\.ts)$/.test(file)) continue;
    const text = readFileSync(join(esm, file), "utf8");
    if (/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']npm:/.test(text)) leftover.push(file);
  }
  assert.deepEqual(leftover, [], "npm: specifiers left in the build");
  // msgpackr loads at the first cached save or load, so no import of the library waits for it.
  assert.match(
    readFileSync(join(esm, "caches", "structured_cache.js"), "utf8"),
    /import\("msgpackr"\)/,
  );
  const pkg = readJson(join(npmDir, "package.json"));
  const reached = await staticPackages(join(npmDir, pkg.exports["."].default));
  for (const name of reached.keys()) {
    assert.ok(name in pkg.dependencies, `the main entry imports ${name}, not a dependency`);
  }
  for (const name of Object.keys(pkg.peerDependencies ?? {})) {
    assert.ok(!(name in pkg.dependencies), `${name} is both a dependency and a peer`);
  }
});
