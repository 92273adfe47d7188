#!/usr/bin/env node
// `npx labtech ...` in a clone of the repository: runs cli.ts on the Deno that `npm ci`
// installed (Node 20 cannot run TypeScript). The npm package's own bin is the compiled esm/cli.js.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const local = join(
  root,
  "node_modules",
  ".bin",
  process.platform === "win32" ? "deno.cmd" : "deno",
);
const deno = existsSync(local) ? local : "deno";
const result = spawnSync(deno, [
  "run",
  "-A",
  "--quiet",
  join(root, "cli.ts"),
  ...process.argv.slice(2),
], {
  stdio: "inherit",
});
if (result.error) {
  console.error(`Cannot run the labtech command: ${result.error.message}; run \`npm ci\` first`);
  process.exit(1);
}
process.exit(result.status ?? 1);
