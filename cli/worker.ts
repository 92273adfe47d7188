/**
 * `labtech worker`: serves BullMQ queues for Labs using
 * `BullMQRunnerBackend`. Imports only the modules named with `--import`.
 *
 * @module
 */
import { resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { setWorkerState } from "../core/_worker_guard.ts";
import { loadRuntimeAdapter } from "../runtime/adapter.ts";
import type { CliIO } from "./cache_cli.ts";

const USAGE = `Usage:
  labtech worker --redis URL --import MODULE [--import MODULE ...] [options]

Runs labtech tasks that Labs using BullMQRunnerBackend queue in Redis. Each task
runs in a child process (or thread) of this worker; its output and log lines go
to the Lab that submitted it.

Options:
  --redis URL              Redis server: redis://[:PASSWORD@]HOST:PORT[/DB], or
                           rediss://... for TLS (required)
  --import MODULE          A module defining task types (a path, or a package
                           specifier); repeat for several. Only these modules
                           (and what they import) are ever loaded: a job for a
                           task type they do not define fails with an error.
  --queue NAMES            Comma-separated queues to serve (default: default)
  --concurrency N          Tasks run at once over all queues (default: CPU count)
  --runner KIND            Where tasks run: fork (default), spawn or thread
  --prefix PREFIX          BullMQ key prefix; must match the Lab's (default: bull)
  --lock-duration MS       Job lock duration; a job whose worker dies is given to
                           another worker after about this long (default: what
                           the Lab recorded for the queue, else 30000)
  --stalled-interval MS    How often to look for such jobs (default: recorded,
                           else 30000)
  --max-stalled-count N    How often one job may be recovered before it fails
                           (default: recorded, else 1)
  --host NAME              This worker's name in the Lab's log (default: host name)
  --help                   Show this help

SIGINT or SIGTERM: stop taking jobs, finish the running ones, exit. A second
signal kills running tasks; their jobs go to other workers once their locks expire.
`;

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Cannot start the worker: --${name} must be an integer of at least ${min}: received ${text}`,
    );
  }
  return value;
}

/**
 * Runs `labtech worker` until it is interrupted.
 *
 * @param args The arguments after `worker`.
 * @param io Where to write output and errors.
 * @returns The exit code: 0 after a clean shutdown, 2 for bad usage, 1 for a failure.
 */
export async function runWorkerCli(args: string[], io: CliIO): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        redis: { type: "string" },
        import: { type: "string", multiple: true },
        queue: { type: "string" },
        concurrency: { type: "string" },
        runner: { type: "string" },
        prefix: { type: "string" },
        "lock-duration": { type: "string" },
        "stalled-interval": { type: "string" },
        "max-stalled-count": { type: "string" },
        host: { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const modules = values.import ?? [];
  if (values.redis === undefined || modules.length === 0) {
    io.err(
      `Cannot start the worker: give --redis URL and at least one --import MODULE\n\n${USAGE}`,
    );
    return 2;
  }
  const runner = values.runner ?? "fork";
  if (runner !== "fork" && runner !== "spawn" && runner !== "thread") {
    io.err(`Cannot start the worker: --runner must be fork, spawn or thread: received ${runner}\n`);
    return 2;
  }
  let numbers;
  try {
    numbers = {
      concurrency: integer("concurrency", values.concurrency, 1),
      lockDurationMs: integer("lock-duration", values["lock-duration"], 1),
      stalledIntervalMs: integer("stalled-interval", values["stalled-interval"], 1),
      maxStalledCount: integer("max-stalled-count", values["max-stalled-count"], 0),
    };
  } catch (error) {
    io.err(`${(error as Error).message}\n`);
    return 2;
  }
  for (const specifier of modules) {
    const url = /^\.{0,2}\//.test(specifier) || /^[A-Za-z]:\\/.test(specifier)
      ? pathToFileURL(resolve(process.cwd(), specifier)).href
      : specifier;
    setWorkerState({ state: "importing", module: url });
    try {
      await import(url);
    } catch (error) {
      io.err(`Cannot start the worker: cannot import ${specifier}: ${(error as Error).message}\n`);
      return 1;
    } finally {
      setWorkerState({ state: "idle" });
    }
  }
  const runtime = await loadRuntimeAdapter();
  const { startQueueWorker } = await import("../runners/bullmq/worker.ts");
  const queues = (values.queue ?? "default").split(",").map((q) => q.trim()).filter(Boolean);
  const concurrency = numbers.concurrency ?? runtime.availableParallelism();
  let worker;
  try {
    worker = await startQueueWorker({
      connection: values.redis,
      queues,
      concurrency,
      runner,
      modules,
      ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
      ...(values.host === undefined ? {} : { host: values.host }),
      ...Object.fromEntries(
        Object.entries(numbers).filter(([k, v]) => k !== "concurrency" && v !== undefined),
      ),
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n`);
    return 1;
  }
  io.err(
    `labtech worker ${runtime.pid}: serving ${queues.join(", ")} with ${concurrency} ${runner} ` +
      `slot${concurrency === 1 ? "" : "s"}\n`,
  );
  let signals = 0;
  let onSignal = () => {};
  const finished = new Promise<number>((done) => {
    onSignal = () => {
      signals++;
      if (signals === 1) {
        io.err(
          `labtech worker ${runtime.pid}: finishing running tasks; interrupt again to stop them\n`,
        );
        worker.close(false).then(() => done(0), () => done(1));
      } else {
        io.err(`labtech worker ${runtime.pid}: stopping running tasks\n`);
        worker.close(true).then(() => done(130), () => done(1));
      }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const code = await finished;
  // A signal listener keeps Deno's event loop alive: remove them so the process exits.
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  io.err(`labtech worker ${runtime.pid}: stopped\n`);
  // Handed-back jobs are still open in BullMQ: end the process rather than wait for them.
  if (code !== 0) process.exit(code);
  return code;
}
