/**
 * Raw writes to stdout and stderr in a worker subprocess travel on the
 * message channel, in order with the protocol messages, instead of on the
 * process's pipes. The pool labels output with the task running when it
 * arrives; on a separate pipe a task's last lines could arrive after its
 * result, when the next task is already running, and get that task's name.
 * Writes made by native code or before the channel opens still use the pipes.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { WorkerEvents } from "./workers.ts";
import { lineSplitter } from "./_lines.ts";

/** The `kind` of the messages that carry raw output; the pool never sees them. */
export const OUTPUT_KIND = "labtech:output";

/** One raw write in a worker subprocess, as it travels to the parent. */
export interface OutputMessage {
  /** Always {@link OUTPUT_KIND}. */
  kind: typeof OUTPUT_KIND;
  /** The stream written to. */
  stream: "stdout" | "stderr";
  /** What was written. */
  data: string | Uint8Array;
}

/**
 * The output message for one write.
 * @param stream The stream written to.
 * @param data What was written.
 * @returns The message to send to the parent.
 * @example
 * ```ts
 * import { outputMessage } from "./_output_capture.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(outputMessage("stdout", "hi\n"), {
 *   kind: "labtech:output",
 *   stream: "stdout",
 *   data: "hi\n",
 * });
 * ```
 */
export function outputMessage(
  stream: "stdout" | "stderr",
  data: string | Uint8Array,
): OutputMessage {
  return { kind: OUTPUT_KIND, stream, data };
}

/**
 * The parent's side: turns output messages into `events.output` lines and
 * passes every other message on to `events.message`.
 * @param events The pool's events for one subprocess.
 * @returns `message` to call with each message from the subprocess, and `end`
 * to call once it is gone (emits a last unterminated line).
 * @example
 * ```ts
 * import { outputMessage, routeOutput } from "./_output_capture.ts";
 * import assert from "node:assert/strict";
 * const heard: string[] = [];
 * const route = routeOutput({
 *   message: (m) => heard.push(`message ${JSON.stringify(m)}`),
 *   output: (stream, line) => heard.push(`${stream} ${line}`),
 *   exit() {},
 * });
 * route.message(outputMessage("stdout", "a\nb"));
 * route.message({ kind: "result" });
 * route.end();
 * assert.deepEqual(heard, ["stdout a", 'message {"kind":"result"}', "stdout b"]);
 * ```
 */
export function routeOutput(events: WorkerEvents): {
  message(message: unknown): void;
  end(): void;
} {
  const encoder = new TextEncoder();
  const lines = {
    stdout: lineSplitter((line) => events.output("stdout", line)),
    stderr: lineSplitter((line) => events.output("stderr", line)),
  };
  return {
    message(message) {
      const output = message as Partial<OutputMessage> | null;
      if (output?.kind !== OUTPUT_KIND) return events.message(message);
      const data = output.data;
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      if (bytes !== undefined) lines[output.stream === "stderr" ? "stderr" : "stdout"].push(bytes);
    },
    end() {
      lines.stdout.end();
      lines.stderr.end();
    },
  };
}

/** A Node-style writable, as `process.stdout` is on Node, Bun and Deno. */
interface NodeStyleWritable {
  write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean;
}

/**
 * The worker's side on Node-style streams: `write` sends instead of writing.
 * @param streams `process` (its `stdout` and `stderr` are replaced).
 * @param send Sends one message to the parent, in order with the others.
 * @example
 * ```ts
 * import { captureNodeOutput } from "./_output_capture.ts";
 * import assert from "node:assert/strict";
 * const written: unknown[] = [];
 * const write = (_chunk: unknown) => true;
 * const streams = { stdout: { write }, stderr: { write } };
 * captureNodeOutput(streams, (message) => written.push(message));
 * streams.stdout.write("x\n");
 * assert.deepEqual(written, [{ kind: "labtech:output", stream: "stdout", data: "x\n" }]);
 * ```
 */
export function captureNodeOutput(
  streams: { stdout: NodeStyleWritable; stderr: NodeStyleWritable },
  send: (message: OutputMessage) => void,
): void {
  for (const stream of ["stdout", "stderr"] as const) {
    streams[stream].write = (chunk: unknown, encoding?: unknown, callback?: unknown) => {
      const data = typeof chunk !== "string"
        ? new Uint8Array(chunk as Uint8Array)
        : typeof encoding === "string" && !/^utf-?8$/i.test(encoding)
        ? new Uint8Array(Buffer.from(chunk, encoding as BufferEncoding))
        : chunk;
      send(outputMessage(stream, data));
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") queueMicrotask(() => done());
      return true;
    };
  }
}
