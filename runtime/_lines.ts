/** Turns chunks of a subprocess's output into whole lines for the log. */

/** Calls `emit` with each complete line of text written in `chunks`. */
export function lineSplitter(emit: (line: string) => void): {
  push(chunk: Uint8Array): void;
  end(): void;
} {
  const decoder = new TextDecoder();
  let rest = "";
  return {
    push(chunk) {
      const text = rest + decoder.decode(chunk, { stream: true });
      const lines = text.split("\n");
      rest = lines.pop()!;
      for (const line of lines) emit(line.endsWith("\r") ? line.slice(0, -1) : line);
    },
    end() {
      rest += decoder.decode();
      if (rest !== "") emit(rest);
      rest = "";
    },
  };
}

/** Calls `onChunk` with each chunk of `stream` until it ends or fails. */
export async function forEachChunk(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onChunk(value);
    }
  } catch { /* the process was killed or the socket closed */ }
}

/** Calls `emit` with each line of text in `stream`. */
export async function streamLines(
  stream: ReadableStream<Uint8Array>,
  emit: (line: string) => void,
): Promise<void> {
  const lines = lineSplitter(emit);
  await forEachChunk(stream, (chunk) => lines.push(chunk));
  lines.end();
}
