/** The module a `thread` backend worker runs. */
import { serveWorker } from "./_worker_main.ts";

await serveWorker("thread");
