#!/usr/bin/env node
/**
 * The `labtech` command: `labtech cache list|clear --storage DIR [--type NAME]`
 * and `labtech worker --redis URL --import MODULE` (see `labtech worker --help`).
 * Runs as `deno run -A cli.ts`, `bun cli.ts` and the npm bin `labtech`.
 *
 * @module
 */
import { runCacheCli } from "./cli/cache_cli.ts";
import { loadRuntimeAdapter } from "./runtime/adapter.ts";

const adapter = await loadRuntimeAdapter();
const io = {
  out: (text: string) => adapter.write("stdout", text),
  err: (text: string) => adapter.write("stderr", text),
};
const args = adapter.args();
// Loaded only for `worker`: it needs the optional bullmq and ioredis packages.
const worker = args[0] === "worker" ? await import("./cli/worker.ts") : null;
adapter.setExitCode(
  worker !== null ? await worker.runWorkerCli(args.slice(1), io) : await runCacheCli(args, io),
);
