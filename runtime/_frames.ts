/**
 * Length-prefixed MessagePack frames: the message channel of runtimes whose
 * subprocesses have no built-in IPC (Deno's `Deno.Command`).
 *
 * @module
 */
// The plain entry: the main one also loads msgpackr's native string decoder, which takes
// longer to load than every frame a worker start sends; a cache that loads it shares it.
import { Packr } from "npm:msgpackr@^2.1.4/pack";

const packr = new Packr({
  structuredClone: true,
  mapsAsObjects: false,
  int64AsType: "bigint",
  moreTypes: true,
});

/** Encodes one message as a frame: a 4-byte big-endian length, then the body. */
export function encodeFrame(message: unknown): Uint8Array {
  const body = packr.pack(message);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/** Splits a byte stream back into messages. */
export class FrameDecoder {
  #buffer = new Uint8Array(0);
  #length = 0;

  /** Adds bytes; returns every message completed by them. */
  push(chunk: Uint8Array): unknown[] {
    this.#append(chunk);
    const messages: unknown[] = [];
    let offset = 0;
    while (this.#length - offset >= 4) {
      const size = new DataView(this.#buffer.buffer, offset, 4).getUint32(0);
      if (this.#length - offset - 4 < size) break;
      messages.push(packr.unpack(this.#buffer.subarray(offset + 4, offset + 4 + size)));
      offset += 4 + size;
    }
    if (offset > 0) {
      this.#buffer.copyWithin(0, offset, this.#length);
      this.#length -= offset;
    }
    return messages;
  }

  #append(chunk: Uint8Array): void {
    if (this.#length + chunk.length > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(this.#length + chunk.length, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length += chunk.length;
  }
}
