/**
 * Real hosts: Redis and an S3 server in one network namespace, two
 * `labtech worker`s in two others and the Lab in a fourth, linked by veth
 * pairs to a bridge, so tasks, results and storage traffic really cross a
 * network. Needs root on Linux with `ip`; elsewhere it is skipped with one
 * loud line, and under CI=true (CI runs as root) a skip is a failure.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { detectRuntime } from "../mod.ts";
import { createNetwork, type NetHost, type NetNs, netnsUnavailable, spawnIn } from "./_netns.ts";
import { type S3Server, startS3rver } from "./_s3rver.ts";

const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const REDIS_PASSWORD = "labtech-netns-test";
const TIMEOUT = 180_000;
const S3_ENV = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

/** A file beside the tests (or the package root), in this build's extension. */
const local = (name: string) => fileURLToPath(new URL(`${name}${EXT}`, import.meta.url));

/** The command that runs a script on the runtime running this test. */
function onThisRuntime(script: string): string[] {
  return detectRuntime() === "deno"
    ? [process.execPath, "run", "-A", script]
    : [process.execPath, script];
}

/** Resolves with a child's output once `ready` matches it; rejects if it exits first. */
function started(child: ChildProcess, ready: RegExp, what: string): Promise<void> {
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${output}`)), 60_000);
    const onData = (chunk: Uint8Array) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with code ${code}:\n${output}`));
    });
  });
}

/** Runs a command to its end; resolves with its exit code and output. */
function finished(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk) => out += chunk);
  child.stderr?.on("data", (chunk) => err += chunk);
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, out, err })));
}

const unavailable = netnsUnavailable();
const hasBullmq = existsSync(local("../bullmq"));

if (unavailable !== null && process.env.CI !== "true") {
  console.warn(
    `!!! SKIPPED the real-hosts cluster test (tests/cluster_hosts.test.ts): ${unavailable}`,
  );
  test("real hosts", { skip: unavailable }, () => {});
} else {
  describe("real hosts: Redis, S3 and workers in separate network namespaces", {
    timeout: TIMEOUT,
  }, () => {
    let network: NetNs | null = null;
    let s3: S3Server | null = null;
    let hub: NetHost;
    let latch = "";
    const children: ChildProcess[] = [];
    const cleanup = () => network?.destroy();

    before(async () => {
      assert.equal(unavailable, null, `Cannot run the real-hosts test under CI: ${unavailable}`);
      process.once("exit", cleanup);
      network = createNetwork(["lab", "w1", "w2"]);
      hub = network.hub;
      latch = mkdtempSync(join(tmpdir(), "labtech-netns-latch-"));
      s3 = await startS3rver(["cluster"], { address: hub.address, wrap: network.exec(hub) });
      const redis = spawnIn(network, hub, [
        "redis-server",
        "--bind",
        hub.address,
        "--port",
        "6379",
        "--requirepass",
        REDIS_PASSWORD,
        "--save",
        "",
        "--appendonly",
        "no",
      ]);
      children.push(redis);
      await started(redis, /Ready to accept connections/, "redis-server");
    }, { timeout: TIMEOUT });

    after(async () => {
      for (const child of children) child.kill("SIGTERM");
      await Promise.all(
        children.map((child) =>
          child.exitCode === null && child.signalCode === null
            ? new Promise((resolve) => child.once("exit", resolve))
            : null
        ),
      );
      await s3?.stop();
      cleanup();
      process.removeListener("exit", cleanup);
      rmSync(latch, { recursive: true, force: true });
    }, { timeout: TIMEOUT });

    const runLab = async (workers: boolean) => {
      const lab = spawnIn(network!, network!.hosts[0]!, onThisRuntime(local("./_cluster_lab")), {
        env: {
          ...process.env,
          ...S3_ENV,
          LABTECH_TEST_S3: s3!.endpoint,
          LABTECH_TEST_REDIS: `redis://:${REDIS_PASSWORD}@${hub.address}:6379`,
          LABTECH_TEST_WORKERS: workers ? "1" : "0",
          // Each test its own prefix: the second must not load the first's results.
          LABTECH_TEST_PREFIX: workers ? "workers" : "local",
        },
      });
      const { code, out, err } = await finished(lab);
      assert.equal(code, 0, `the Lab failed:\n${err}`);
      return JSON.parse(out.trim().split("\n").at(-1)!);
    };

    test(
      "a Lab in one namespace caches into S3 in another and reloads",
      { timeout: TIMEOUT },
      async () => {
        assert.notEqual(s3!.endpoint, "", "the S3 server listens on the hub's bridge address");
        assert.match(s3!.endpoint, /^http:\/\/10\.231\.\d+\.1:\d+$/);
        const report = await runLab(false);
        assert.equal(report.total, 6);
        assert.equal(report.cachedBefore, 5);
        assert.equal(report.reloaded, 6);
      },
    );

    test("tasks cross the network to workers on two other hosts", {
      skip: hasBullmq || process.env.CI === "true" ? false : "bullmq.ts is not in this tree",
      timeout: TIMEOUT,
    }, async () => {
      assert.ok(hasBullmq, "Cannot run the workers part: bullmq.ts is missing from this build");
      const redis = `redis://:${REDIS_PASSWORD}@${hub.address}:6379`;
      for (const name of ["w1", "w2"]) {
        const host = network!.hosts.find((h) => h.ns.endsWith(`-${name}`))!;
        const worker = spawnIn(network!, host, [
          ...onThisRuntime(local("../cli")),
          "worker",
          "--redis",
          redis,
          "--import",
          local("./_cluster_tasks"),
          "--concurrency",
          "1",
          "--host",
          name,
        ], {
          env: { ...process.env, ...S3_ENV, LABTECH_TEST_HOST: name, LABTECH_TEST_LATCH: latch },
        });
        children.push(worker);
        await started(worker, /serving/, `the worker on ${name}`);
      }
      const report = await runLab(true);
      assert.equal(report.total, 6);
      const hosts = report.hops.map((hop: { host: string }) => hop.host);
      assert.ok(hosts.every((h: string) => h === "w1" || h === "w2"), hosts.join(","));
      assert.deepEqual([...new Set(hosts)].sort(), ["w1", "w2"], "both workers ran tasks");
      assert.equal(report.cachedBefore, 5);
      assert.equal(report.reloaded, 6);
    });
  });
}
