/**
 * Task types for the real-hosts test (tests/cluster_hosts.test.ts), imported
 * by its Lab and by its workers. `NetHop` records where it ran and waits until
 * tasks have started on two different hosts (a latch in a directory every
 * namespace sees), so the test knows both workers took part.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type Task, task } from "../mod.ts";
// Registers the "s3" storage kind, so workers reopen the Lab's S3Storage.
import "../s3.ts";

/** One hop: returns its index and the host (namespace) that ran it. */
export const netHop = task({
  name: "NetHop",
  codeVersion: "v1",
  async run(params: { i: number }): Promise<{ i: number; host: string }> {
    const host = process.env.LABTECH_TEST_HOST ?? "unknown";
    const latch = process.env.LABTECH_TEST_LATCH;
    if (latch !== undefined) {
      writeFileSync(join(latch, `ran-${params.i}-${host}-${process.pid}`), "");
      const hosts = () => new Set(readdirSync(latch).map((name) => name.split("-")[2]));
      for (let waited = 0; hosts().size < 2 && waited < 30_000; waited += 25) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    return { i: params.i, host };
  },
});

/** Sums the hops' indices: its inputs come from the shared storage. */
export const netSum = task({
  name: "NetSum",
  codeVersion: "v1",
  run(params: { hops: Task<{ i: number }, { i: number; host: string }>[] }) {
    return { total: params.hops.reduce((sum, hop) => sum + hop.result.i, 0) };
  },
});
