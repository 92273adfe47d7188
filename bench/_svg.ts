/**
 * Hand-written SVG chart: per-task overhead by backend × runtime, fresh and
 * cached, on a log scale.
 *
 * @module
 */
import type { OverheadBar, Report } from "./_report.ts";

const COLORS: Record<string, string> = { deno: "#2a9d8f", bun: "#e9a23b", node: "#3c7dc4" };

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function label(ms: number): string {
  return ms >= 10
    ? ms.toFixed(0)
    : ms >= 1
    ? ms.toFixed(1)
    : ms >= 0.1
    ? ms.toFixed(2)
    : ms.toFixed(3);
}

/** The chart as SVG text. */
export function renderSvg(bars: OverheadBar[], report: Report): string {
  const backends = [...new Set(bars.map((b) => b.backend))];
  const runtimes = report.runtimes.filter((r) => bars.some((b) => b.runtime === r));
  const values = bars.flatMap((b) => [b.fresh, b.cached]).filter((v): v is number =>
    v !== null && v > 0
  );
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 0.01))));
  const barH = 14, gap = 10, left = 70, panelW = 330, top = 58;
  const groupH = runtimes.length * barH + gap;
  const height = top + backends.length * groupH + 60;
  const width = left + 2 * panelW + 60;
  const x = (ms: number) =>
    ((Math.log10(ms) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (panelW - 60);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${
      width / 2
    }" y="18" text-anchor="middle" font-size="14" font-weight="bold">Per-task overhead, ${report.sizes.trivialN} trivial tasks, LocalStorage (ms/task, log scale)</text>`,
    `<text x="${width / 2}" y="34" text-anchor="middle" fill="#555">${
      escape(
        `${report.machine.nproc} × ${report.machine.cpu}, ${
          report.machine.date.slice(0, 10)
        }; lower is better`,
      )
    }</text>`,
  );
  ["fresh", "cached"].forEach((phase, p) => {
    const x0 = left + p * (panelW + 20);
    parts.push(
      `<text x="${x0 + (panelW - 60) / 2}" y="${
        top - 8
      }" text-anchor="middle" font-weight="bold">${phase}</text>`,
    );
    for (let d = lo; d <= hi * 1.0001; d *= 10) {
      const gx = x0 + x(d);
      parts.push(
        `<line x1="${gx}" y1="${top}" x2="${gx}" y2="${
          top + backends.length * groupH
        }" stroke="#ddd"/>`,
        `<text x="${gx}" y="${
          top + backends.length * groupH + 14
        }" text-anchor="middle" fill="#555">${label(d)}</text>`,
      );
    }
    backends.forEach((backend, g) => {
      runtimes.forEach((runtime, r) => {
        const bar = bars.find((b) => b.backend === backend && b.runtime === runtime);
        const value = bar ? (phase === "fresh" ? bar.fresh : bar.cached) : null;
        const y = top + g * groupH + r * barH;
        if (value === null || value <= 0) {
          parts.push(`<text x="${x0 + 4}" y="${y + barH - 3}" fill="#999">n/a</text>`);
          return;
        }
        const w = Math.max(1, x(Math.max(value, lo)));
        parts.push(
          `<rect x="${x0}" y="${y + 1}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${
            COLORS[runtime] ?? "#888"
          }"/>`,
          `<text x="${x0 + w + 3}" y="${y + barH - 3}">${label(value)}</text>`,
        );
      });
      if (p === 0) {
        parts.push(
          `<text x="${left - 6}" y="${
            top + g * groupH + (runtimes.length * barH) / 2 + 4
          }" text-anchor="end" font-weight="bold">${backend}</text>`,
        );
      }
    });
  });
  runtimes.forEach((runtime, i) => {
    const lx = left + i * 90, ly = height - 20;
    parts.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[runtime] ?? "#888"}"/>`,
      `<text x="${lx + 16}" y="${ly}">${
        escape(`${runtime} ${versionNumber(report.versions[runtime] ?? "")}`)
      }</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

// `deno 2.9.6 (stable, ...)`, `1.4.5` and `v20.20.2` all become the bare version number.
function versionNumber(text: string): string {
  return /\d+\.\d+\.\d+/.exec(text)?.[0] ?? text.slice(0, 8);
}
