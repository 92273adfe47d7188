/**
 * npm packages in the sources are imported as `npm:<name>@<range>[/<subpath>]`,
 * so Deno resolves them with no config of its own (a foreign folder, a URL).
 * This module keeps those specifiers in step with everything else:
 *
 * - {@link checkNpmSpecifiers}: each names a package declared in package.json
 *   with the same range; library code uses no bare package names (Deno could
 *   not resolve them from another folder); `tsconfig.json` has the `paths`
 *   entry through which Bun, which does not understand `npm:`, resolves it.
 * - {@link toBareSpecifiers}: what the npm build does to each source before
 *   tsc (as dnt does), `npm:msgpackr@^2.1.4` -> `msgpackr`.
 *
 * Usage: `deno run -A scripts/npm_specifiers.ts [--write]` (`--write` adds the
 * missing tsconfig.json entries). `scripts/build.ts` runs the check.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** Generated or installed folders (repo-relative), never scanned; hidden folders neither. */
const SKIPPED = ["node_modules/", "npm/", "bench/results/"];
/** Folders whose code runs only inside the repository (bare names resolve there). */
const REPO_ONLY = ["tests/", "bench/", "scripts/"];

/** One `npm:` specifier: `npm:<name>@<range>[/<subpath>]`. */
export interface NpmSpecifier {
  /** The package name, with its scope. */
  name: string;
  /** The version range after `@` ("" when absent). */
  range: string;
  /** The subpath after the range, with its leading `/` ("" when absent). */
  subpath: string;
}

// The specifier, in an import position: `from "x"`, `import "x"`, `import("x")`.
const IMPORT_POSITION = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'\n]+)\2/g;
const NPM = /^npm:((?:@[^/@]+\/)?[^/@]+)(?:@([^/]*))?(\/.*)?$/;

/**
 * Parses an `npm:` specifier.
 *
 * @returns The parts, or null when `specifier` is not an `npm:` specifier.
 */
export function parseNpmSpecifier(specifier: string): NpmSpecifier | null {
  const match = NPM.exec(specifier);
  if (!match) return null;
  return { name: match[1]!, range: match[2] ?? "", subpath: match[3] ?? "" };
}

/** The source with every `npm:<name>@<range>[/<subpath>]` import turned into `<name>[/<subpath>]`. */
export function toBareSpecifiers(source: string): string {
  return source.replace(IMPORT_POSITION, (whole, before: string, quote: string, spec: string) => {
    const npm = parseNpmSpecifier(spec);
    return npm ? `${before}${quote}${npm.name}${npm.subpath}${quote}` : whole;
  });
}

/** Code with comments blanked out (lines kept), so JSDoc examples are not read as imports. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** Every `.ts` file of the repository (repo-relative, posix), outside generated folders. */
export function sourceFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .map((file) => file.replaceAll("\\", "/"))
    .filter((file) =>
      file.endsWith(".ts") && !SKIPPED.some((dir) => file.startsWith(dir)) &&
      !file.split("/").some((part) => part.startsWith(".")) && !file.includes("/node_modules/")
    )
    .sort();
}

/** One import found in the code (not in comments) of a source file. */
export interface FoundImport {
  /** Repo-relative file. */
  file: string;
  /** 1-based line. */
  line: number;
  /** The specifier as written. */
  specifier: string;
}

/** The package imports (npm: and bare) in the code of `file`. */
export function packageImports(root: string, file: string): FoundImport[] {
  const code = stripComments(readFileSync(join(root, file), "utf8"));
  const found: FoundImport[] = [];
  for (const match of code.matchAll(IMPORT_POSITION)) {
    const specifier = match[3]!;
    if (/^(\.{0,2}\/|node:|file:|https?:|jsr:|data:|#)/.test(specifier)) continue;
    if (isBuiltin(specifier)) continue;
    const line = code.slice(0, match.index).split("\n").length;
    found.push({ file, line, specifier });
  }
  return found;
}

/** Whether a repo-relative file is library code (shipped, imported by users). */
export function isLibraryFile(file: string): boolean {
  return !REPO_ONLY.some((folder) => file.startsWith(folder));
}

/** The ranges package.json declares, by name (dependencies win over peer, optional, dev). */
function declaredRanges(root: string): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const ranges = new Map<string, string>();
  for (
    const section of [
      "devDependencies",
      "optionalDependencies",
      "peerDependencies",
      "dependencies",
    ]
  ) {
    for (const [name, range] of Object.entries(pkg[section] ?? {})) ranges.set(name, String(range));
  }
  return ranges;
}

/** The `paths` key through which Bun resolves every `npm:<name>@...` import. */
export function bunPathKey(name: string): string {
  return `npm:${name}@*`;
}

function readTsconfig(root: string): { compilerOptions?: { paths?: Record<string, string[]> } } {
  const path = join(root, "tsconfig.json");
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
}

/** Every `npm:` import of the sources. */
export function npmImports(root: string): Array<FoundImport & NpmSpecifier> {
  const out: Array<FoundImport & NpmSpecifier> = [];
  for (const file of sourceFiles(root)) {
    for (const found of packageImports(root, file)) {
      const npm = parseNpmSpecifier(found.specifier);
      if (npm) out.push({ ...found, ...npm });
    }
  }
  return out;
}

/**
 * What is wrong with the package imports of the sources.
 *
 * @returns One line per problem; empty when all agree.
 */
export function checkNpmSpecifiers(root: string): string[] {
  const problems: string[] = [];
  const ranges = declaredRanges(root);
  const paths = readTsconfig(root).compilerOptions?.paths ?? {};
  for (const file of sourceFiles(root)) {
    for (const found of packageImports(root, file)) {
      const where = `${found.file}:${found.line}`;
      const npm = parseNpmSpecifier(found.specifier);
      if (npm === null) {
        if (isLibraryFile(file) && !found.specifier.startsWith("npm:")) {
          problems.push(
            `${where}: "${found.specifier}" is a bare package name, which Deno cannot resolve ` +
              `when mod.ts is imported from another folder; write "npm:${found.specifier}@<range>" ` +
              `with the range package.json declares`,
          );
        } else if (found.specifier.startsWith("npm:")) {
          problems.push(`${where}: "${found.specifier}" is not a valid npm: specifier`);
        }
        continue;
      }
      const declared = ranges.get(npm.name);
      if (declared === undefined) {
        problems.push(
          `${where}: ${npm.name} is not declared in package.json; add it to dependencies ` +
            `(or peerDependencies for an optional backend)`,
        );
      } else if (npm.range !== declared) {
        problems.push(
          `${where}: "${found.specifier}" has range "${npm.range}" but package.json declares ` +
            `"${declared}"; write "npm:${npm.name}@${declared}${npm.subpath}"`,
        );
      }
      if (npm.subpath === "" && !(bunPathKey(npm.name) in paths)) {
        problems.push(
          `${where}: tsconfig.json has no paths entry "${bunPathKey(npm.name)}", so Bun cannot ` +
            `resolve "${found.specifier}"; run \`deno run -A scripts/npm_specifiers.ts --write\``,
        );
      } else if (npm.subpath !== "" && !(found.specifier in paths)) {
        problems.push(
          `${where}: tsconfig.json has no paths entry "${found.specifier}" for Bun; run ` +
            `\`deno run -A scripts/npm_specifiers.ts --write\``,
        );
      }
    }
  }
  return problems;
}

/** Adds the tsconfig.json paths entries Bun needs for the sources' npm: imports. */
export function writeBunPaths(root: string): string[] {
  const config = readTsconfig(root) as Record<string, unknown> & {
    compilerOptions?: { paths?: Record<string, string[]> };
  };
  const options = config.compilerOptions ??= {};
  const paths = options.paths ??= {};
  const added: string[] = [];
  for (const found of npmImports(root)) {
    const key = found.subpath === "" ? bunPathKey(found.name) : found.specifier;
    if (key in paths) continue;
    paths[key] = [`./node_modules/${found.name}${found.subpath}`];
    added.push(key);
  }
  options.paths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a < b ? -1 : 1));
  writeFileSync(join(root, "tsconfig.json"), JSON.stringify(config, null, 2) + "\n");
  return added;
}

if (import.meta.main) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  if (process.argv.includes("--write")) {
    const added = writeBunPaths(root);
    console.log(
      added.length ? `tsconfig.json: added ${added.join(", ")}` : "tsconfig.json is up to date",
    );
  }
  const problems = checkNpmSpecifiers(root);
  if (problems.length > 0) {
    console.error(
      `npm imports disagree with package.json or tsconfig.json:\n  ${problems.join("\n  ")}`,
    );
    process.exit(1);
  }
  console.log(
    `${npmImports(root).length} npm: imports agree with package.json and tsconfig.json (${
      relative(process.cwd(), root) || "."
    })`,
  );
}
