/**
 * A tiny terminal emulator for tests: applies the cursor movements and line
 * clears a progress display writes, and returns the screen's text lines,
 * scrollback included. With `columns`, text wraps as on a real terminal
 * (a character in the last column leaves the cursor waiting to wrap; the
 * next printable character starts a new row).
 */

// deno-lint-ignore no-control-regex
const TOKEN = /\x1b\[(\??)(\d*(?:;\d*)*)([A-Za-z])|\x1b[78]|\r|\n|[^\x1b\r\n]/gu;

/** The lines a terminal shows after receiving `output` (trailing blanks trimmed). */
export function screenOf(output: string, columns: number = Infinity): string[] {
  const screen: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => (screen[row] ??= []);
  for (const match of output.matchAll(TOKEN)) {
    const [text, private_, params, command] = match;
    if (command !== undefined) {
      if (private_ === "?") continue; // cursor visibility, wrapping
      col = Math.min(col, columns - 1); // any control ends a pending wrap
      const n = params === "" ? 1 : Number(params!.split(";")[0]);
      const arg = params === "" ? 0 : Number(params);
      switch (command) {
        case "A":
          row = Math.max(0, row - n);
          break;
        case "B":
          row += n;
          break;
        case "C":
          col += n;
          break;
        case "D":
          col = Math.max(0, col - n);
          break;
        case "G":
          col = Math.max(0, n - 1);
          break;
        case "K":
          if (arg === 0) line().length = Math.min(line().length, col);
          else if (arg === 1) {
            for (let i = 0; i <= col && i < line().length; i++) line()[i] = " ";
          } else screen[row] = [];
          break;
        case "J":
          line().length = Math.min(line().length, col);
          screen.length = row + 1;
          break;
      }
    } else if (text === "\n") {
      row++;
      col = 0;
    } else if (text === "\r") col = 0;
    else if (text === "\x1b7" || text === "\x1b8") continue;
    else {
      if (col >= columns) {
        row++;
        col = 0;
      }
      const l = line();
      while (l.length < col) l.push(" ");
      l[col++] = text;
    }
  }
  const lines = Array.from(
    { length: screen.length },
    (_, i) => (screen[i] ?? []).join("").trimEnd(),
  );
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}
