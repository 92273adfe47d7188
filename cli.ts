#!/usr/bin/env node
/**
 * The `labtech` command: `labtech cache list|clear --storage DIR [--type NAME]`.
 * Runs as `deno run -A cli.ts`, `bun cli.ts` and the npm bin `labtech`.
 *
 * @module
 */
import { runCacheCli } from "./cli/cache_cli.ts";
import { loadRuntimeAdapter } from "./runtime/adapter.ts";

const adapter = await loadRuntimeAdapter();
adapter.setExitCode(
  await runCacheCli(adapter.args(), {
    out: (text) => adapter.write("stdout", text),
    err: (text) => adapter.write("stderr", text),
  }),
);
