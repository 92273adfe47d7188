/**
 * Worker end of the bare thread round trip: echoes each message. A Web
 * Worker on Deno and Bun, a `worker_threads` worker on Node.
 *
 * @module
 */
const web = globalThis as unknown as {
  Deno?: unknown;
  Bun?: unknown;
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
};
if (web.Deno !== undefined || web.Bun !== undefined) {
  web.onmessage = (event) => web.postMessage(event.data);
} else {
  const { parentPort } = await import("node:worker_threads");
  parentPort!.on("message", (message) => parentPort!.postMessage(message));
}
