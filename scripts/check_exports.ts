/**
 * Checks that `deno.json` exports and the built `npm/package.json` exports
 * agree (STYLE.md rule 8): the same subpaths, each npm subpath pointing at
 * the compiled `.js` and `.d.ts` of the `.ts` file deno.json names, and
 * every one of those files present. `scripts/build.ts` runs it after each
 * build; run it by hand with:
 *
 *   deno run -A scripts/check_exports.ts [NPM_DIR]
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/**
 * One npm export target: conditions `types`, `import`, then `default`. The package is ESM only;
 * `default` names the same module, so `require()` gets it on Node 20.19+ (which can require
 * an ES module without top-level await) instead of ERR_PACKAGE_PATH_NOT_EXPORTED.
 */
export interface NpmExport {
  /** The declaration file, `./esm/<path>.d.ts`. */
  types: string;
  /** The module, `./esm/<path>.js`. */
  import: string;
  /** The same module, for `require()` and every other condition. */
  default: string;
}

/** A path with forward slashes. */
export function toPosix(path: string): string {
  return path.replaceAll("\\", "/");
}

/**
 * The exports of `<root>/deno.json` as a subpath -> `.ts` file map.
 *
 * @throws {TypeError} when deno.json has no exports or names a non-`.ts` file.
 */
export function denoExports(root: string): Record<string, string> {
  const config = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const raw = config.exports;
  const map: Record<string, string> = typeof raw === "string" ? { ".": raw } : raw ?? {};
  if (Object.keys(map).length === 0) {
    throw new TypeError("Cannot read deno.json: it has no exports");
  }
  for (const [subpath, target] of Object.entries(map)) {
    if (typeof target !== "string" || !/^\.\/.+\.ts$/.test(target)) {
      throw new TypeError(
        `Cannot map deno.json export ${subpath}: expected a "./<path>.ts" file: got ${
          JSON.stringify(target)
        }`,
      );
    }
  }
  return map;
}

/** The npm export map that corresponds to a deno.json export map. */
export function npmExportsFor(exports: Record<string, string>): Record<string, NpmExport> {
  const out: Record<string, NpmExport> = {};
  for (const [subpath, target] of Object.entries(exports)) {
    const base = `./esm/${target.slice(2, -3)}`;
    out[subpath] = { types: `${base}.d.ts`, import: `${base}.js`, default: `${base}.js` };
  }
  return out;
}

/**
 * Differences between `<root>/deno.json` exports and `<npmDir>/package.json`.
 *
 * @returns One line per problem; empty when they agree.
 */
export function checkExports(root: string, npmDir: string): string[] {
  const problems: string[] = [];
  const pkgPath = join(npmDir, "package.json");
  if (!existsSync(pkgPath)) return [`${pkgPath} is missing: run the build first`];
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
  const expected = npmExportsFor(denoExports(root));
  const actual: Record<string, unknown> = pkg.exports ?? {};
  for (const subpath of Object.keys(expected)) {
    if (!(subpath in actual)) problems.push(`${subpath}: in deno.json, missing from package.json`);
  }
  for (const [subpath, value] of Object.entries(actual)) {
    const want = expected[subpath];
    if (want === undefined) {
      problems.push(`${subpath}: in package.json, missing from deno.json`);
      continue;
    }
    if (JSON.stringify(value) !== JSON.stringify(want)) {
      problems.push(
        `${subpath}: package.json has ${JSON.stringify(value)}: expected ${JSON.stringify(want)}`,
      );
      continue;
    }
    for (const file of [want.types, want.import, want.default]) {
      if (!existsSync(join(npmDir, file))) problems.push(`${subpath}: ${file} was not built`);
    }
  }
  if (pkg.name !== "labtech") problems.push(`package name is ${pkg.name}: expected labtech`);
  const version = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).version;
  if (pkg.version !== version) {
    problems.push(`package.json version ${pkg.version} differs from deno.json ${version}`);
  }
  return problems;
}

if (import.meta.main) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const npmDir = resolve(process.argv[2] ?? join(root, "npm"));
  const problems = checkExports(root, npmDir);
  if (problems.length > 0) {
    console.error(`Export maps disagree:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`deno.json and ${npmDir}/package.json exports agree`);
}
