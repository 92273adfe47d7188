/**
 * One cache entry as one byte string, for storages that keep an entry in a
 * single record: `[1][u16 count]` then per file `[u8 name length][name]
 * [u32 data length][data]`, big-endian. Decoding checks every length, so a
 * damaged record is reported, never misread.
 *
 * @module
 */

const VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Packs an entry's files (names already validated: short ASCII) into one record. */
export function encodeEntry(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const names = [...files.keys()].map((name) => encoder.encode(name));
  let size = 3;
  let i = 0;
  for (const data of files.values()) size += 1 + names[i++]!.length + 4 + data.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = VERSION;
  view.setUint16(1, files.size);
  let at = 3;
  i = 0;
  for (const data of files.values()) {
    const name = names[i++]!;
    out[at++] = name.length;
    out.set(name, at);
    at += name.length;
    view.setUint32(at, data.length);
    out.set(data, at + 4);
    at += 4 + data.length;
  }
  return out;
}

/**
 * Finds one file in a record.
 *
 * @returns A copy of its bytes, or undefined when the record has no such file.
 * @throws {Error} when the record is damaged or of an unknown version.
 */
export function fileOfEntry(record: Uint8Array, filename: string): Uint8Array | undefined {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  if (record.length < 3 || record[0] !== VERSION) {
    throw new Error("the record is damaged or of an unknown format");
  }
  const count = view.getUint16(1);
  let at = 3;
  for (let n = 0; n < count; n++) {
    const nameLength = record[at];
    if (nameLength === undefined || at + 1 + nameLength + 4 > record.length) return damaged();
    const name = decoder.decode(record.subarray(at + 1, at + 1 + nameLength));
    at += 1 + nameLength;
    const length = view.getUint32(at);
    at += 4;
    if (at + length > record.length) return damaged();
    if (name === filename) return record.slice(at, at + length);
    at += length;
  }
  return at === record.length ? undefined : damaged();
}

function damaged(): never {
  throw new Error("the record is damaged: its lengths do not add up");
}

/** Replaces or adds one file in a record (or makes a new record). */
export function withFile(
  record: Uint8Array | undefined,
  filename: string,
  data: Uint8Array,
): Uint8Array {
  const files = new Map<string, Uint8Array>();
  if (record !== undefined) {
    for (const name of filenamesOf(record)) files.set(name, fileOfEntry(record, name)!);
  }
  files.set(filename, data);
  return encodeEntry(files);
}

function filenamesOf(record: Uint8Array): string[] {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const names: string[] = [];
  let at = 3;
  for (let n = 0; n < view.getUint16(1) && at < record.length; n++) {
    const nameLength = record[at]!;
    names.push(decoder.decode(record.subarray(at + 1, at + 1 + nameLength)));
    at += 1 + nameLength;
    at += 4 + view.getUint32(at);
  }
  return names;
}
