/**
 * Builds the npm package into `npm/` (what dnt would do, without dnt):
 *
 * - copies the sources into a staging folder with every
 *   `npm:<name>@<range>[/<subpath>]` import turned into `<name>[/<subpath>]`
 *   (scripts/npm_specifiers.ts), then compiles `mod.ts`, every `deno.json`
 *   export, the worker/subprocess entry files under `runners/`
 *   (`runners/**\/_*entry*.ts` and {@link BUILD_EXTRA}), `cli.ts` if present,
 *   `examples/*.ts` and `tests/**\/*.ts`, plus everything they import, with
 *   TypeScript 5.9 `tsc` into `npm/esm/` (`.ts` import specifiers become
 *   `.js`, declaration files beside them);
 * - copies the non-TypeScript files under `tests/` (fixtures);
 * - writes `npm/package.json` (exports generated from `deno.json` exports),
 *   README.md and LICENSE;
 * - checks the two export maps agree, that Node can import and require()
 *   every export, and that the main entry imports no optional peer.
 *
 * Usage: `deno run -A scripts/build.ts [--out DIR] [--quiet]`
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, symlinkSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkExports, denoExports, npmExportsFor, toPosix } from "./check_exports.ts";
import {
  checkNpmSpecifiers,
  isLibraryFile,
  npmImports,
  sourceFiles,
  toBareSpecifiers,
} from "./npm_specifiers.ts";

/** The built package's description (the root package.json describes the repository). */
export const DESCRIPTION = "Run parameterised experiment pipelines with maximal parallelism and " +
  "result caching, on Node, Deno and Bun.";

/**
 * Extra entry files (repo-relative) that nothing imports statically but that
 * must be in the package: worker or subprocess entry points loaded by URL.
 * Files under `runners/` named `_*entry*.ts` are found without being listed.
 */
export const BUILD_EXTRA: string[] = ["runtime/_deno_watchdog.ts", "runtime/_node_watchdog.ts"];

/** Paths (relative to the package dir) kept out of the npm tarball. */
const UNPUBLISHED = ["esm/tests/", "esm/examples/", "esm/bench/", "esm/scripts/"];

/** The repository root (the directory holding deno.json). */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** What {@link build} takes. */
export interface BuildOptions {
  /** Output directory (default `<root>/npm`). */
  outDir?: string;
  /** Print only errors. */
  quiet?: boolean;
}

/** Files under `dir` (repo-relative, posix separators), recursively; [] if absent. */
async function walk(dir: string): Promise<string[]> {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  const entries = await readdir(abs, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => toPosix(relative(ROOT, join(entry.parentPath, entry.name))))
    .sort();
}

/** The files tsc starts from (repo-relative); it follows their imports itself. */
export async function entryFiles(): Promise<string[]> {
  const entries = new Set<string>(["mod.ts"]);
  for (const target of Object.values(denoExports(ROOT))) entries.add(target.replace(/^\.\//, ""));
  for (const file of await walk("runners")) {
    if (/(^|\/)_[^/]*entry[^/]*\.ts$/.test(file) && !file.endsWith(".d.ts")) entries.add(file);
  }
  for (const file of BUILD_EXTRA) entries.add(file);
  if (existsSync(join(ROOT, "cli.ts"))) entries.add("cli.ts");
  // The example runs on Node from the build (`npm run example:node`); it is not published.
  for (const file of await walk("examples")) {
    if (/^examples\/[^/]+\.ts$/.test(file)) entries.add(file);
  }
  for (const file of await walk("tests")) {
    if (file.endsWith(".ts") && !file.endsWith(".d.ts")) entries.add(file);
  }
  for (const file of entries) {
    if (!existsSync(join(ROOT, file))) {
      throw new Error(`Cannot build: entry file is missing: ${file}`);
    }
  }
  return [...entries];
}

function run(cmd: string, args: string[], cwd: string): { status: number; output: string } {
  const result = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** Each emitted JavaScript file under `esmDir`: its path relative to it (posix) and its code. */
async function* emittedScripts(esmDir: string): AsyncGenerator<[string, string]> {
  for (const entry of await readdir(esmDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".js")) continue;
    const file = join(entry.parentPath, entry.name);
    yield [toPosix(relative(esmDir, file)), await readFile(file, "utf8")];
  }
}

/** Relative `.ts` specifiers left in emitted JavaScript (tsc rewrites only literal imports). */
async function leftoverTsSpecifiers(esmDir: string): Promise<string[]> {
  const found: string[] = [];
  const pattern = /(["'`])\.{1,2}\/[^"'`\n]*\.ts\1/;
  for await (const [rel, code] of emittedScripts(esmDir)) {
    if (rel.startsWith("tests/") || rel.startsWith("scripts/")) continue;
    const lines = code.split("\n");
    lines.forEach((line, i) => {
      if (pattern.test(line) && !/^\s*(\*|\/\/)/.test(line)) {
        found.push(`esm/${rel}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  return found;
}

/**
 * Modules the emitted JavaScript loads by URL (`new URL(\`./name${EXT}\`, import.meta.url)`,
 * the way worker entries are named) that are not in the build: each is an entry missing from
 * {@link BUILD_EXTRA}.
 */
async function missingUrlTargets(esmDir: string): Promise<string[]> {
  const missing: string[] = [];
  const pattern = /new URL\(`\.\/([\w.-]+)\$\{EXT\}`, import\.meta\.url\)/g;
  for await (const [rel, code] of emittedScripts(esmDir)) {
    for (const [, name] of code.matchAll(pattern)) {
      const target = join(dirname(rel), `${name}.js`);
      if (!existsSync(join(esmDir, target))) missing.push(toPosix(target));
    }
  }
  return missing;
}

/**
 * Copies every source into `staging` with its `npm:` imports made bare, so tsc resolves them
 * from node_modules and the emitted `.js` and `.d.ts` name packages as npm users install them.
 */
async function stage(staging: string): Promise<void> {
  for (const file of sourceFiles(ROOT)) {
    const target = join(staging, file);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, toBareSpecifiers(await readFile(join(ROOT, file), "utf8")));
  }
  await writeFile(join(staging, "package.json"), JSON.stringify({ type: "module" }));
  symlinkSync(join(ROOT, "node_modules"), join(staging, "node_modules"), "dir");
}

/** Static import specifiers of emitted JavaScript (type-only imports are gone by then). */
function staticImports(code: string): string[] {
  const out: string[] = [];
  const pattern =
    /^\s*(?:(?:import|export)\s+[\w\s{},*$]*?\bfrom\s*|import\s*)["']([^"'\n]+)["']/gm;
  for (const match of code.matchAll(pattern)) out.push(match[1]!);
  return out;
}

/**
 * The packages `entry` (an emitted `.js` file) reaches through static imports.
 *
 * @returns Package name -> the first file that imports it.
 */
export async function staticPackages(entry: string): Promise<Map<string, string>> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of staticImports(await readFile(file, "utf8"))) {
      if (specifier.startsWith(".")) queue.push(resolve(dirname(file), specifier));
      else if (!specifier.startsWith("node:") && !isBuiltin(specifier)) {
        const parts = specifier.split("/");
        const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
        if (!packages.has(name)) packages.set(name, file);
      }
    }
  }
  return packages;
}

/**
 * The dependencies of the built package: the root `dependencies`, and every other package
 * that library code imports as an optional peer (with the range of its `npm:` specifier, or
 * the root `peerDependencies` one), so installing the package never pulls in a backend's client.
 */
export function packageDependencies(root: string): {
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional: boolean }>;
} {
  const rootPkg: Record<string, Record<string, string> | undefined> = JSON.parse(
    readFileSync(join(root, "package.json"), "utf8"),
  );
  const dependencies = { ...rootPkg.dependencies };
  const peerDependencies: Record<string, string> = { ...rootPkg.peerDependencies };
  const peerDependenciesMeta: Record<string, { optional: boolean }> = {
    ...(rootPkg.peerDependenciesMeta as Record<string, { optional: boolean }> | undefined),
  };
  for (const found of npmImports(root)) {
    if (!isLibraryFile(found.file) || found.name in dependencies) continue;
    if (!(found.name in peerDependencies)) {
      peerDependencies[found.name] = rootPkg.devDependencies?.[found.name] ?? found.range;
      peerDependenciesMeta[found.name] ??= { optional: true };
    }
  }
  const sorted = <T>(record: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    dependencies: sorted(dependencies),
    ...(Object.keys(peerDependencies).length > 0
      ? {
        peerDependencies: sorted(peerDependencies),
        peerDependenciesMeta: sorted(peerDependenciesMeta),
      }
      : {}),
  };
}

/**
 * Builds the npm package.
 *
 * @param options Output directory and verbosity.
 * @returns The absolute output directory.
 * @throws {Error} when the npm: imports disagree with package.json, tsc fails, the export maps
 * disagree, Node cannot import or require() an export, or the main entry imports an optional peer.
 */
export async function build(options: BuildOptions = {}): Promise<string> {
  const outDir = resolve(options.outDir ?? join(ROOT, "npm"));
  const log = options.quiet ? () => {} : (line: string) => console.log(line);
  const started = performance.now();

  const tsPkg = JSON.parse(
    readFileSync(join(ROOT, "node_modules/typescript/package.json"), "utf8"),
  );
  if (!String(tsPkg.version).startsWith("5.9.")) {
    throw new Error(`Cannot build: TypeScript 5.9 is required: found ${tsPkg.version}`);
  }
  const specifierProblems = checkNpmSpecifiers(ROOT);
  if (specifierProblems.length > 0) {
    throw new Error(`Cannot build: npm imports disagree:\n  ${specifierProblems.join("\n  ")}`);
  }

  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const staging = join(outDir, ".src");
  await stage(staging);
  const entries = await entryFiles();
  const tsconfig = join(outDir, "tsconfig.json");
  await writeFile(
    tsconfig,
    JSON.stringify(
      {
        extends: join(ROOT, "tsconfig.build.json"),
        compilerOptions: {
          rootDir: staging,
          outDir: join(outDir, "esm"),
          typeRoots: [join(ROOT, "node_modules/@types")],
        },
        files: entries.map((file) => join(staging, file)),
      },
      null,
      2,
    ),
  );
  log(`tsc: compiling ${entries.length} entry files and their imports into ${outDir}/esm`);
  const tsc = run(
    "node",
    [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", tsconfig, "--pretty", "false"],
    ROOT,
  );
  await rm(tsconfig);
  await rm(staging, { recursive: true, force: true });
  if (tsc.status !== 0) {
    const output = tsc.output.trim().replaceAll(staging + "/", "").replaceAll(staging, ".");
    throw new Error(`Cannot build: tsc failed:\n${output}`);
  }

  // Non-TypeScript test fixtures (JSON, golden cache entries, ...) go beside the compiled tests.
  for (const file of await walk("tests")) {
    if (file.endsWith(".ts")) continue;
    const target = join(outDir, "esm", file);
    await mkdir(dirname(target), { recursive: true });
    await cp(join(ROOT, file), target);
  }

  const unshipped = await missingUrlTargets(join(outDir, "esm"));
  if (unshipped.length > 0) {
    throw new Error(
      `Cannot build: modules loaded by URL are missing from the build (add their sources to ` +
        `BUILD_EXTRA in scripts/build.ts): ${unshipped.join(", ")}`,
    );
  }
  const leftovers = await leftoverTsSpecifiers(join(outDir, "esm"));
  if (leftovers.length > 0) {
    console.warn(
      "warning: relative .ts specifiers remain in the build (tsc rewrites only literal " +
        "import()/import specifiers; URLs built with new URL() must choose .ts or .js at run time):\n  " +
        leftovers.join("\n  "),
    );
  }

  const denoJson = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  const rootPkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const exportsMap = npmExportsFor(denoExports(ROOT));
  const hasCli = existsSync(join(ROOT, "cli.ts"));
  const pkg: Record<string, unknown> = {
    name: "labtech",
    version: denoJson.version,
    description: DESCRIPTION,
    license: "MIT",
    type: "module",
    engines: { node: ">=20" },
    main: exportsMap["."]?.default,
    types: exportsMap["."]?.types,
    exports: exportsMap,
    ...(hasCli ? { bin: { labtech: "./esm/cli.js" } } : {}),
    files: ["esm/", ...UNPUBLISHED.map((path) => `!${path}`), "README.md", "LICENSE"],
    ...packageDependencies(ROOT),
  };
  await writeFile(join(outDir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");

  if (hasCli) {
    const cli = join(outDir, "esm/cli.js");
    const text = await readFile(cli, "utf8");
    if (!text.startsWith("#!")) await writeFile(cli, `#!/usr/bin/env node\n${text}`);
    chmodSync(cli, 0o755);
  }
  for (const file of ["README.md", "LICENSE"]) {
    if (existsSync(join(ROOT, file))) await cp(join(ROOT, file), join(outDir, file));
    else console.warn(`warning: ${file} is missing: the npm package ships without it`);
  }

  const problems = checkExports(ROOT, outDir);
  const mainEntry = exportsMap["."];
  if (mainEntry) {
    const declared = new Set(Object.keys(rootPkg.dependencies ?? {}));
    for (const [name, file] of await staticPackages(join(outDir, mainEntry.default))) {
      if (declared.has(name)) continue;
      problems.push(
        `the main entry imports ${name} (from ${toPosix(relative(outDir, file))}), which is not ` +
          "in dependencies: load optional peers lazily or from a subpath export",
      );
    }
  }
  if (problems.length > 0) {
    throw new Error(`Cannot build: the package is inconsistent:\n  ${problems.join("\n  ")}`);
  }

  // Node itself must be able to import every export of the built package, and require() the
  // main one (a subpath with top-level await in its graph can only be imported: a warning).
  const targets = Object.entries(exportsMap).map(([subpath, target]) =>
    [subpath, join(outDir, target.default)] as const
  );
  const imports = targets.map(([, file]) =>
    `await import(${JSON.stringify(pathToFileURL(file).href)});`
  );
  const requires = `const failed = {};
for (const [subpath, file] of ${JSON.stringify(targets)}) {
  try { require(file); } catch (error) { failed[subpath] = String(error.message).split("\\n")[0]; }
}
console.log(JSON.stringify(failed));`;
  // Outside the repository, the dependencies resolve through a temporary node_modules link.
  const link = relative(ROOT, outDir).startsWith("..") ? join(outDir, "node_modules") : null;
  if (link) symlinkSync(join(ROOT, "node_modules"), link, "dir");
  let imported;
  let required;
  try {
    imported = run("node", ["--input-type=module", "-e", imports.join("\n")], outDir);
    required = run("node", ["--input-type=commonjs", "-e", requires], outDir);
  } finally {
    if (link) await rm(link);
  }
  if (imported.status !== 0) {
    throw new Error(
      `Cannot build: Node cannot import the built exports:\n${imported.output.trim()}`,
    );
  }
  const notRequired: Record<string, string> = required.status === 0
    ? JSON.parse(required.output.trim().split("\n").at(-1) ?? "{}")
    : { ".": required.output.trim() };
  if (notRequired["."] !== undefined) {
    throw new Error(`Cannot build: Node cannot require() the main export: ${notRequired["."]}`);
  }
  for (const [subpath, reason] of Object.entries(notRequired)) {
    console.warn(`warning: require("labtech${subpath.slice(1)}") fails (import() it): ${reason}`);
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(
    `built ${toPosix(relative(process.cwd(), outDir)) || "."} (labtech ${denoJson.version}, ` +
      `${Object.keys(exportsMap).length} exports) in ${seconds}s`,
  );
  return outDir;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf("--out");
  const outDir = outIndex >= 0 ? args[outIndex + 1] : undefined;
  try {
    await build({ ...(outDir ? { outDir } : {}), quiet: args.includes("--quiet") });
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
