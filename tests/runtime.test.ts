/**
 * Each runtime's own test run asserts what `detectRuntime()` answers there
 * (STYLE.md rule 2). The expected answer is worked out here independently,
 * from each runtime's own version record, and checked against the runtime
 * the harness says it launched (`LABTECH_EXPECT_RUNTIME`, set by
 * scripts/test.ts) when that is known.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { detectRuntime } from "../mod.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";

/** The runtime running this file, from evidence detect.ts does not use. */
function actualRuntime(): "node" | "deno" | "bun" {
  const versions = process.versions as Record<string, string | undefined>;
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
  if (typeof deno?.version?.deno === "string") return "deno";
  if (typeof versions.bun === "string") return "bun";
  assert.equal(typeof versions.node, "string", "process.versions.node is missing");
  return "node";
}

test("detectRuntime() names the runtime running the tests", () => {
  assert.equal(detectRuntime(), actualRuntime());
});

test("detectRuntime() agrees with the runtime the test harness launched", (t) => {
  const expected = process.env.LABTECH_EXPECT_RUNTIME;
  if (expected === undefined || expected === "") {
    t.skip("LABTECH_EXPECT_RUNTIME is unset: not run by scripts/test.ts");
    return;
  }
  assert.equal(detectRuntime(), expected);
});

test("detectRuntime() answers the same on every call", () => {
  const first = detectRuntime();
  for (let i = 0; i < 3; i++) assert.equal(detectRuntime(), first);
});

test("the runtime adapter loaded for this runtime describes this process", async () => {
  const adapter = await loadRuntimeAdapter();
  assert.equal(adapter.pid, process.pid);
  assert.ok(adapter.rssBytes() > 0, "rssBytes() should be positive");
  assert.ok(adapter.cpuMicros() >= 0, "cpuMicros() should not be negative");
});
