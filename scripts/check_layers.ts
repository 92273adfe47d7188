/**
 * Fails when a library folder imports a folder above it, or when a library
 * source file grows past {@link MAX_LINES} lines. The layers, bottom to top:
 *
 *   runtime -> core -> storage -> caches -> runners -> observe -> lab -> cli
 *
 * A folder may import itself and any folder before it in {@link LAYERS}.
 * Imports are read from the code only: JSDoc examples may import anything,
 * since they show the library as a user sees it. Static imports, dynamic
 * `import("./x.ts")` and `new URL("./x.ts", import.meta.url)` all count.
 *
 * Usage: `deno run -A scripts/check_layers.ts` (part of `npm test`).
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import process from "node:process";
import { ROOT } from "./build.ts";

/** Library folders, bottom layer first. */
export const LAYERS = [
  "runtime",
  "core",
  "storage",
  "caches",
  "runners",
  "observe",
  "lab",
  "cli",
] as const;

/** The longest a library source file may be. */
export const MAX_LINES = 450;

const SPECIFIER =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)["'`](\.{1,2}\/[^"'`$]+)["'`]/g;

/** Code with comments blanked out (line count kept), so examples inside JSDoc are not read. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** One problem per line: layer breaches and overlong files. */
export function checkLayers(root: string = ROOT): string[] {
  const problems: string[] = [];
  for (const [rank, folder] of LAYERS.entries()) {
    let files: string[];
    try {
      files = readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"));
    } catch {
      continue;
    }
    for (const file of files) {
      const path = join(folder, file);
      const text = readFileSync(join(root, path), "utf8");
      const lines = text.split("\n").length;
      if (lines > MAX_LINES) {
        problems.push(`${path}: ${lines} lines, more than ${MAX_LINES}: split it by concept`);
      }
      const code = stripComments(text);
      for (const match of code.matchAll(SPECIFIER)) {
        const target = posix.normalize(posix.join(dirname(path), match[1]!));
        const top = target.split("/")[0]!;
        const targetRank = (LAYERS as readonly string[]).indexOf(top);
        const line = code.slice(0, match.index).split("\n").length;
        if (targetRank === -1) {
          problems.push(`${path}:${line}: imports ${match[1]}, outside the library folders`);
        } else if (targetRank > rank) {
          problems.push(
            `${path}:${line}: ${folder}/ imports ${top}/ (${match[1]}), a layer above it; ` +
              `move the shared piece down (contracts belong in core/)`,
          );
        }
      }
    }
  }
  return problems;
}

if (import.meta.main) {
  const problems = checkLayers();
  for (const problem of problems) console.error(problem);
  console.log(
    problems.length === 0
      ? `Layers hold: ${LAYERS.join(" -> ")} (relative to ${relative(process.cwd(), ROOT) || "."})`
      : `${problems.length} layer problem(s)`,
  );
  process.exit(problems.length === 0 ? 0 : 1);
}
