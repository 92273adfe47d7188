/**
 * Helpers of the install tests (packaging.test.ts, install_paths.test.ts):
 * run a command, find or make the npm build, and `npm pack` it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { repoRoot } from "./_helpers.ts";

/** How long one install command may take. */
export const TIMEOUT = 180_000;

const root = repoRoot();
const here = dirname(fileURLToPath(import.meta.url));
/** Whether the tests run from the npm build (node) rather than the sources (deno, bun). */
export const compiled: boolean = import.meta.url.endsWith(".js");

/** The `node_modules/.bin` of the repository, where `npm ci` put deno and bun. */
export const BIN: string = join(root, "node_modules", ".bin");

/** A tool from the repository's node_modules/.bin, else from PATH. */
export function tool(name: "deno" | "bun"): string {
  const local = join(BIN, name);
  return existsSync(local) ? local : name;
}

/** Runs a command; rejects with its output when it exits non-zero. */
export function run(
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
        env: {
          ...process.env,
          PATH: `${BIN}${delimiter}${process.env.PATH ?? ""}`,
          npm_config_update_notifier: "false",
          NO_COLOR: "1",
          ...env,
        },
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

/** Runs a command that must fail; resolves with its output. */
export function runFailing(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<string> {
  return run(cmd, args, cwd, env).then(
    ({ stdout }) => assert.fail(`${cmd} ${args.join(" ")} succeeded:\n${stdout}`),
    (error: Error) => error.message,
  );
}

/**
 * The npm build to install: from the compiled tests (node), the npm/ directory they are in;
 * otherwise `LABTECH_NPM_DIR`, which scripts/test.ts sets after its build; otherwise a fresh
 * build into `fallback`.
 */
export async function npmBuild(fallback: string): Promise<string> {
  if (compiled) return join(here, "..", "..");
  const fromEnv = process.env.LABTECH_NPM_DIR;
  if (fromEnv && existsSync(join(fromEnv, "package.json"))) return fromEnv;
  await run(tool("deno"), [
    "run",
    "-A",
    join(root, "scripts", "build.ts"),
    "--out",
    fallback,
    "--quiet",
  ], root);
  return fallback;
}

/** `npm pack`s `pkgDir` into `dest`; returns the tarball's path and the files it holds. */
export async function pack(
  pkgDir: string,
  dest: string,
): Promise<{ tarball: string; files: string[] }> {
  const { stdout } = await run(
    "npm",
    ["pack", pkgDir, "--pack-destination", dest, "--json", "--loglevel=error"],
    dest,
  );
  const [packed] = JSON.parse(stdout) as Array<
    { filename: string; files: Array<{ path: string }> }
  >;
  assert.ok(packed, "npm pack reported no tarball");
  return { tarball: join(dest, packed.filename), files: packed.files.map((file) => file.path) };
}

/** The last line of output that is a JSON value. */
export function lastJson(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split("\n").reverse().find((l) => /^[{[]/.test(l));
  assert.ok(line, `no JSON line in output:\n${stdout}`);
  return JSON.parse(line);
}
