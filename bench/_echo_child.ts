/**
 * Subprocess end of the bare IPC round trip: echoes each message. Node and
 * Bun use their IPC channel; Deno echoes JSON lines from stdin to stdout.
 *
 * @module
 */
import process from "node:process";

const global = globalThis as unknown as {
  Deno?: {
    stdin: { readable: AsyncIterable<Uint8Array> };
    stdout: { write(data: Uint8Array): Promise<number> };
  };
};
if (global.Deno !== undefined) {
  const Deno = global.Deno;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of Deno.stdin.readable) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const message = JSON.parse(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      await Deno.stdout.write(encoder.encode(JSON.stringify(message) + "\n"));
    }
  }
} else {
  process.on("message", (message) => process.send!(message));
  process.on("disconnect", () => process.exit(0));
}
