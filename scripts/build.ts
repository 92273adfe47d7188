/**
 * Builds the npm package into `npm/` (what dnt would do, without dnt):
 *
 * - compiles `mod.ts`, every `deno.json` export, the worker/subprocess entry
 *   files under `runners/` (`runners/**\/_*entry*.ts` and {@link BUILD_EXTRA}),
 *   `cli.ts` if present, and `tests/**\/*.ts`, plus everything they import,
 *   with TypeScript 5.9 `tsc` into `npm/esm/` (`.ts` import specifiers become
 *   `.js`, declaration files beside them);
 * - copies the non-TypeScript files under `tests/` (fixtures);
 * - writes `npm/package.json` (exports generated from `deno.json` exports),
 *   README.md and LICENSE;
 * - checks the two export maps agree and that Node can import every export.
 *
 * Usage: `deno run -A scripts/build.ts [--out DIR] [--quiet]`
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, symlinkSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkExports, denoExports, npmExportsFor, toPosix } from "./check_exports.ts";

/**
 * Extra entry files (repo-relative) that nothing imports statically but that
 * must be in the package: worker or subprocess entry points loaded by URL.
 * Files under `runners/` named `_*entry*.ts` are found without being listed.
 */
export const BUILD_EXTRA: string[] = [];

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

/** Relative `.ts` specifiers left in emitted JavaScript (tsc rewrites only literal imports). */
async function leftoverTsSpecifiers(esmDir: string): Promise<string[]> {
  const found: string[] = [];
  const pattern = /(["'`])\.{1,2}\/[^"'`\n]*\.ts\1/;
  for (const entry of await readdir(esmDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".js")) continue;
    const file = join(entry.parentPath, entry.name);
    const rel = toPosix(relative(esmDir, file));
    if (rel.startsWith("tests/")) continue;
    const lines = (await readFile(file, "utf8")).split("\n");
    lines.forEach((line, i) => {
      if (pattern.test(line) && !/^\s*(\*|\/\/)/.test(line)) {
        found.push(`esm/${rel}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  return found;
}

/**
 * Builds the npm package.
 *
 * @param options Output directory and verbosity.
 * @returns The absolute output directory.
 * @throws {Error} when tsc fails, the export maps disagree or Node cannot import an export.
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

  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const entries = await entryFiles();
  const tsconfig = join(outDir, "tsconfig.json");
  await writeFile(
    tsconfig,
    JSON.stringify(
      {
        extends: join(ROOT, "tsconfig.build.json"),
        compilerOptions: {
          rootDir: ROOT,
          outDir: join(outDir, "esm"),
          typeRoots: [join(ROOT, "node_modules/@types")],
        },
        files: entries.map((file) => join(ROOT, file)),
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
  if (tsc.status !== 0) {
    throw new Error(`Cannot build: tsc failed:\n${tsc.output.trim()}`);
  }

  // Non-TypeScript test fixtures (JSON, golden cache entries, ...) go beside the compiled tests.
  for (const file of await walk("tests")) {
    if (file.endsWith(".ts")) continue;
    const target = join(outDir, "esm", file);
    await mkdir(dirname(target), { recursive: true });
    await cp(join(ROOT, file), target);
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
    description: rootPkg.description ??
      "Run parameterised experiment pipelines with maximal parallelism and result caching, " +
        "on Node, Deno and Bun.",
    license: "MIT",
    type: "module",
    engines: { node: ">=20" },
    main: exportsMap["."]?.import,
    types: exportsMap["."]?.types,
    exports: exportsMap,
    ...(hasCli ? { bin: { labtech: "./esm/cli.js" } } : {}),
    files: ["esm/", ...UNPUBLISHED.map((path) => `!${path}`), "README.md", "LICENSE"],
    dependencies: rootPkg.dependencies ?? {},
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
  if (problems.length > 0) {
    throw new Error(`Cannot build: export maps disagree:\n  ${problems.join("\n  ")}`);
  }

  // Node itself must be able to load every export of the built package.
  const imports = Object.values(exportsMap).map((target) =>
    `await import(${JSON.stringify(pathToFileURL(join(outDir, target.import)).href)});`
  );
  // Outside the repository, the dependencies resolve through a temporary node_modules link.
  const link = relative(ROOT, outDir).startsWith("..") ? join(outDir, "node_modules") : null;
  if (link) symlinkSync(join(ROOT, "node_modules"), link, "dir");
  let smoke;
  try {
    smoke = run("node", ["--input-type=module", "-e", imports.join("\n")], outDir);
  } finally {
    if (link) await rm(link);
  }
  if (smoke.status !== 0) {
    throw new Error(`Cannot build: Node cannot import the built exports:\n${smoke.output.trim()}`);
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
