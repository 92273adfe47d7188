import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { detectRuntime, JsonCache, Lab, LocalStorage, task } from "../mod.ts";
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
  // Half-written entries keep the standard key shape, which names their type.
  mkdirSync(join(dir, `CliTrain__${"1".repeat(40)}`));
  writeFileSync(join(dir, `CliTrain__${"1".repeat(40)}`, "metadata.json"), "{not json");
  mkdirSync(join(dir, `CliTrain__${"2".repeat(40)}`));
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
      assert.match(lines[0]!, /^TYPE +CODE_VERSION +START +DURATION +SIZE +PARAMS$/);
      const rows = lines.slice(1, -1);
      assert.equal(rows.length, 5);
      assert.match(
        rows[0]!,
        /^CliEval +- +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +[\d.]+ ms +\d+(\.\d)? (B|KiB) +big=5n, model=CliTrain\(layers=\[2, 3\], lr=0\.5\)$/,
      );
      // Sorted by type then parameters; both CliTrain parameters differ, so both lead.
      assert.match(rows[1]!, /^CliTrain .* layers=\[\], lr=1$/);
      assert.match(rows[2]!, /^CliTrain .* layers=\[2, 3\], lr=0\.5$/);
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
      assert.match(out, /^CliEval .* big=5n, model=CliTrain/m);
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

  test("entries are matched by the stored type name: A never takes A__b's entries", async () => {
    const { dir, cleanup } = tempDir();
    try {
      await makeStorage(dir);
      // An entry of a type whose name extends another's with "__" (written by hand:
      // new names with "__" are refused).
      await writeForeignEntry(new LocalStorage(dir), "CliTrain__b", "v1");
      const listed = await cli(["cache", "list", "--storage", dir, "--type", "CliTrain"]);
      assert.doesNotMatch(listed.out, /CliTrain__b/);
      assert.match(listed.out, /^4 entries/m);
      const cleared = await cli(["cache", "clear", "--storage", dir, "--type", "CliTrain"]);
      assert.match(cleared.out, /^Removed 4 entries of type CliTrain/);
      const rest = await cli(["cache", "list", "--storage", dir]);
      assert.match(rest.out, /^CliTrain__b +v1 /m);
      assert.match(rest.out, /^2 entries/m);
    } finally {
      cleanup();
    }
  });

  test("an unknown --type says so and lists the types there are", async () => {
    const { dir, cleanup } = tempDir();
    try {
      await makeStorage(dir);
      for (const command of ["list", "clear"]) {
        const { code, out, err } = await cli([
          "cache",
          command,
          "--storage",
          dir,
          "--type",
          "Nope",
        ]);
        assert.equal(code, 1);
        assert.equal(out, "");
        assert.equal(
          err,
          `labtech: no entries of type Nope found in ${dir}; types found: CliEval (1), CliTrain (4)\n`,
        );
      }
      assert.match((await cli(["cache", "list", "--storage", dir])).out, /^5 entries/m);
    } finally {
      cleanup();
    }
  });

  test("sweeps: sorted by parameters, the swept one first, codeVersion shown and filtered", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const long = "x".repeat(120); // a long constant parameter must not hide the swept one
      const v1 = task({
        name: "CliSweep",
        codeVersion: "v1",
        run: (p: { a_config: string; seed: number }) => p.seed,
      });
      const lab = new Lab({ storage: dir });
      await lab.runTasks([10, 2, 1].map((seed) => v1({ a_config: long, seed })), {
        progress: false,
      });
      // The same type at v2 (as after a code change), written as that version would.
      await writeForeignEntry(new LocalStorage(dir), "CliSweep", "v2", { a_config: long, seed: 5 });
      const { out } = await cli(["cache", "list", "--storage", dir]);
      const rows = out.trimEnd().split("\n").slice(1, -1);
      assert.deepEqual(
        rows.map((r) =>
          /^CliSweep +(v\d) .* (seed=\d+), a_config="x+…$/.exec(r)?.slice(1).join(" ")
        ),
        ["v1 seed=1", "v1 seed=2", "v1 seed=10", "v2 seed=5"],
      );
      const stale = await cli([
        "cache",
        "clear",
        "--storage",
        dir,
        "--type",
        "CliSweep",
        "--code-version",
        "v1",
      ]);
      assert.equal(stale.code, 0, stale.err);
      assert.match(stale.out, /^Removed 3 entries of type CliSweep with code version v1 /);
      const left = await cli(["cache", "list", "--storage", dir]);
      assert.match(left.out, /^CliSweep +v2 /m);
      assert.match(left.out, /^1 entry/m);
    } finally {
      cleanup();
    }
  });
});

/** Writes a complete JSON-format entry of type `name` by hand, as another version would. */
async function writeForeignEntry(
  storage: LocalStorage,
  name: string,
  codeVersion: string,
  params: Record<string, unknown> = { x: 1 },
): Promise<string> {
  const key = `${name}__${"f".repeat(39)}${codeVersion.length}`;
  const metadata = {
    labtechVersion: "0.0.0",
    cacheFormat: "structured/1",
    cacheKey: key,
    dataFile: "data.json",
    task: { name, codeVersion, params },
    start: null,
    durationMs: 1,
    runtime: "node",
  };
  const encoder = new TextEncoder();
  await storage.writeEntry(
    key,
    new Map([
      ["data.json", encoder.encode("1")],
      ["metadata.json", encoder.encode(JSON.stringify(metadata))],
    ]),
  );
  return key;
}
