/** The module a `spawn` or `fork` backend subprocess runs. */
import { serveWorker } from "./_worker_main.ts";

await serveWorker("process");
