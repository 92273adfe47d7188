/**
 * Workers stuck in a synchronous loop end when they must, on every worker
 * backend: a second Ctrl-C stops the run and the process then exits by itself
 * (issue 9 #11), and a `kill -9` of the Lab takes its subprocess workers with
 * it (issue 9 #14). Each test runs a real Lab in a child process.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { detectRuntime } from "../mod.ts";
import { tempDir } from "./_helpers.ts";

const runtime = detectRuntime();
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const script = fileURLToPath(new URL(`./fixtures/worker_stop/run${ext}`, import.meta.url));
/** Bound on every wait below: far above what any runtime needs, so only a hang reaches it. */
const PATIENCE_MS = 60_000;

interface Lab {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<string>;
}

/** Starts a Lab running `count` spinners on `runner`. */
function startLab(runner: string, dir: string, count: number): Lab {
  const args = runtime === "deno" ? ["run", "-A", script] : [script];
  const child = spawn(process.execPath, [...args, runner, dir, String(count)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  child.stdout!.on("data", (chunk) => output.stdout += chunk);
  child.stderr!.on("data", (chunk) => output.stderr += chunk);
  const exited = new Promise<string>((resolve) =>
    child.on("exit", (code, signal) => resolve(`${code} ${signal}`))
  );
  return { child, output, exited };
}

/** Polls `condition` every 20 ms; throws `what` if it stays false for PATIENCE_MS. */
async function waitFor(condition: () => boolean, what: () => string): Promise<void> {
  const begin = Date.now();
  while (!condition()) {
    if (Date.now() - begin > PATIENCE_MS) throw new Error(what());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True while `pid` names a live process (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true; // no procfs: kill(0) is the answer
  }
}

/** The pids the spinners wrote once `count` of them were running. */
async function startedPids(lab: Lab, dir: string, count: number): Promise<number[]> {
  const started = () => readdirSync(dir).filter((name) => name.startsWith("started-"));
  await waitFor(
    () => started().length === count && started().every((n) => readFileSync(join(dir, n), "utf8")),
    () => `the spinners never all started:\n${lab.output.stderr}`,
  );
  return started().map((name) => Number(readFileSync(join(dir, name), "utf8")));
}

for (const runner of ["thread", "spawn", "fork"]) {
  describe(`a worker in a synchronous loop, on the ${runner} runner`, () => {
    test("a second SIGINT stops it: the run rejects and the process exits", async () => {
      const { dir, cleanup } = tempDir();
      const lab = startLab(runner, dir, 1);
      try {
        await startedPids(lab, dir, 1);
        // Deno's child.kill ignores a second signal to one child, hence process.kill.
        process.kill(lab.child.pid!, "SIGINT");
        await waitFor(
          () => /Interrupted: cancelling/.test(lab.output.stderr),
          () => `the first SIGINT was not heard:\n${lab.output.stderr}`,
        );
        process.kill(lab.child.pid!, "SIGINT");
        let code = "";
        void lab.exited.then((c) => code = c);
        await waitFor(() => code !== "", () => {
          const { stdout, stderr } = lab.output;
          return `the Lab did not exit after a second SIGINT:\n${stdout}\n${stderr}`;
        });
        const outcome = JSON.parse(lab.output.stdout.trim().split("\n").at(-1)!);
        assert.equal(outcome.outcome, "LabError", lab.output.stderr);
        assert.match(outcome.message, /interrupted/);
        assert.equal(outcome.failed, 1, "the stopped task counts as failed");
        if (runtime !== "deno") assert.equal(code, "0 null", "the Lab ends normally");
      } finally {
        lab.child.kill("SIGKILL");
        cleanup();
      }
    });
  });
}

for (const runner of ["spawn", "fork"]) {
  describe(`a subprocess worker in a synchronous loop, on the ${runner} runner`, () => {
    test("ends soon after its Lab is killed with SIGKILL", async () => {
      const { dir, cleanup } = tempDir();
      const lab = startLab(runner, dir, 2);
      let pids: number[] = [];
      try {
        pids = await startedPids(lab, dir, 2);
        assert.equal(new Set(pids).size, 2, "each spinner runs in its own subprocess");
        assert.ok(!pids.includes(lab.child.pid!), "the spinners run outside the Lab");
        assert.ok(pids.every(alive), "the workers are alive while the Lab is");
        lab.child.kill("SIGKILL");
        await lab.exited;
        await waitFor(
          () => !pids.some(alive),
          () => `workers ${pids.filter(alive).join(", ")} outlived their Lab`,
        );
      } finally {
        lab.child.kill("SIGKILL");
        for (const pid of pids.filter(alive)) process.kill(pid, "SIGKILL");
        cleanup();
      }
    });
  });
}
