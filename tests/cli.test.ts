import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { detectRuntime, JsonCache, Lab, task } from "../mod.ts";
import { runCacheCli } from "../cli/cache_cli.ts";
import { tempDir } from "./_helpers.ts";

const cliTrain = task({
  name: "CliTrain",
  run: (p: { lr: number; layers: number[] }) => p.lr * p.layers.length,
});
const cliEval = task({
  name: "CliEval",
  cache: new JsonCache(),
  run: (p: { model: ReturnType<typeof cliTrain>; big: bigint }) => p.model.result,
});

/** A storage with 2 CliTrain, 1 CliEval and two corrupt CliTrain entries. */
async function makeStorage(dir: string): Promise<void> {
  const lab = new Lab({ storage: dir });
  const model = cliTrain({ lr: 0.5, layers: [2, 3] });
  await lab.runTasks([cliEval({ model, big: 5n }), cliTrain({ lr: 1, layers: [] })], {
    progress: false,
    top: false,
  });
  mkdirSync(join(dir, "CliTrain__corrupt1"));
  writeFileSync(join(dir, "CliTrain__corrupt1", "metadata.json"), "{not json");
  mkdirSync(join(dir, "CliTrain__corrupt2"));
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCacheCli(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe("labtech cache", () => {
  test("list: type, params, start, duration and size of every entry; corrupt ones marked", async () => {
    const { dir, cleanup } = tempDir();
    try {
      await makeStorage(dir);
      const { code, out, err } = await cli(["cache", "list", "--storage", dir]);
      assert.equal(code, 0, err);
      const lines = out.trimEnd().split("\n");
      assert.match(lines[0]!, /^TYPE +PARAMS +START +DURATION +SIZE$/);
      const rows = lines.slice(1, -1).sort();
      assert.equal(rows.length, 5);
      assert.match(
        rows.find((r) => r.startsWith("CliEval"))!,
        /^CliEval +big=5n, model=CliTrain\(layers=\[2, 3\], lr=0\.5\) +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +[\d.]+ ms +\d+(\.\d)? (B|KiB)$/,
      );
      assert.ok(rows.some((r) => /^CliTrain +layers=\[\], lr=1 /.test(r)));
      assert.equal(rows.filter((r) => r.includes("(corrupt:")).length, 2);
      assert.match(lines.at(-1)!, /^5 entries, .* \(2 corrupt\)$/);
    } finally {
      cleanup();
    }
  });

  test("list --type and clear --type; clear needs a type or --all", async () => {
    const { dir, cleanup } = tempDir();
    try {
      await makeStorage(dir);
      const listed = await cli(["cache", "list", "--storage", dir, "--type", "CliEval"]);
      assert.equal(listed.out.trimEnd().split("\n").length, 3); // header, one row, total
      assert.equal((await cli(["cache", "clear", "--storage", dir])).code, 2);
      const cleared = await cli(["cache", "clear", "--storage", dir, "--type=CliTrain"]);
      assert.equal(cleared.code, 0, cleared.err);
      assert.match(cleared.out, /^Removed 4 entries of type CliTrain from /);
      const after = await cli(["cache", "list", "--storage", dir]);
      assert.match(after.out, /^1 entry, /m);
      assert.equal((await cli(["cache", "clear", "--storage", dir, "--all"])).code, 0);
      assert.match((await cli(["cache", "list", "--storage", dir])).out, /^0 entries, 0 B$/m);
    } finally {
      cleanup();
    }
  });

  test("misuse: usage on stderr and exit code 2; a missing directory exits 1", async () => {
    assert.equal((await cli(["cache", "list"])).code, 2);
    assert.equal((await cli(["cache", "frobnicate", "--storage", "x"])).code, 2);
    assert.equal((await cli(["cache", "list", "--storage", "/no/such/dir"])).code, 1);
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /labtech cache list/);
  });

  test("cli entry runs on this runtime against a real storage directory", async () => {
    const { dir, cleanup } = tempDir();
    try {
      await makeStorage(dir);
      const ext = import.meta.url.endsWith(".js") ? ".js" : ".ts";
      const entry = fileURLToPath(new URL(`../cli${ext}`, import.meta.url));
      const args = ["cache", "list", "--storage", dir, "--type", "CliEval"];
      const argv = detectRuntime() === "deno" ? ["run", "-A", entry, ...args] : [entry, ...args];
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          argv,
          { timeout: 60_000 },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
        )
      );
      assert.match(out, /^CliEval +big=5n, model=CliTrain/m);
      assert.match(out, /^1 entry, /m);
      const bad = await new Promise<number | null>((resolve) =>
        execFile(
          process.execPath,
          argv.slice(0, -5).concat(["cache", "list"]),
          (error) => resolve(error === null ? 0 : (error as { code?: number }).code ?? null),
        )
      );
      assert.equal(bad, 2);
    } finally {
      cleanup();
    }
  });
});
