/** Per-type progress counts and the one-line text shown for each type. */
import { formatRate, formatSeconds } from "./_format.ts";

/** How far one task type has come in a run. */
export interface TypeProgress {
  /** The task type's name. */
  readonly name: string;
  /** Tasks of this type in the run. */
  total: number;
  /** Tasks finished, whether run, loaded from the cache or failed. */
  done: number;
  /** Of `done`, how many were loaded from the cache. */
  cached: number;
  /** Of `done`, how many failed. */
  failed: number;
  /** When `done` reached `total` (ms since the epoch), or null. */
  finishedAt: number | null;
  /** When its first task started (ms since the epoch), or null before then. */
  startedAt: number | null;
}

/** How the bar part of a line is drawn. */
export interface BarStyle {
  /** Characters in the bar. */
  width: number;
  /** Character for the done part. */
  complete: string;
  /** Character for the rest. */
  incomplete: string;
}

/** The bar used on terminals and in notebooks. */
export const UNICODE_BAR: BarStyle = { width: 24, complete: "█", incomplete: "░" };
/** The bar used in plain (non-terminal) output. */
export const ASCII_BAR: BarStyle = { width: 24, complete: "#", incomplete: "-" };

/** The numbers one progress line shows, for renderers that lay them out themselves. */
export interface ProgressFigures {
  /** Done over total, 0 to 1. */
  fraction: number;
  /** The fraction in whole percent, rounded down. */
  percent: number;
  /** Seconds since the type's first task started (until its last finished). */
  elapsedSeconds: number;
  /** Tasks of this type done per second since it started, or null before any. */
  perSecond: number | null;
  /** Seconds left at this type's own rate, or null when unknown. */
  remainingSeconds: number | null;
}

/**
 * Figures of `p` at `now`. Elapsed time and rate count from when the type
 * started (`p.startedAt`), not from the run's start, so a type that waited for
 * its dependencies gets a time left from its own pace.
 */
export function progressFigures(p: TypeProgress, now: number): ProgressFigures {
  const fraction = p.total === 0 ? 1 : Math.min(1, p.done / p.total);
  const since = p.startedAt ?? now;
  const elapsedSeconds = Math.max(0, ((p.finishedAt ?? now) - since) / 1000);
  const perSecond = elapsedSeconds > 0 && p.done > 0 ? p.done / elapsedSeconds : null;
  let remainingSeconds: number | null = null;
  if (p.done >= p.total) remainingSeconds = 0;
  else if (perSecond !== null) remainingSeconds = (p.total - p.done) / perSecond;
  return {
    fraction,
    percent: Math.floor(fraction * 100),
    elapsedSeconds,
    perSecond,
    remainingSeconds,
  };
}

/** The bar for a fraction done. */
export function drawBar(fraction: number, style: BarStyle): string {
  const complete = Math.round(fraction * style.width);
  return style.complete.repeat(complete) + style.incomplete.repeat(style.width - complete);
}

/** Column widths shared by the lines of one display, so their bars line up. */
export interface LineLayout {
  /** Width of the type-name column. */
  nameWidth: number;
  /** Width of the `done/total` column. */
  countWidth: number;
}

/** The layout that aligns the lines of `types`. */
export function lineLayout(types: readonly TypeProgress[]): LineLayout {
  return {
    nameWidth: Math.max(0, ...types.map((t) => t.name.length)),
    countWidth: Math.max(0, ...types.map((t) => 2 * String(t.total).length + 1)),
  };
}

/** Narrowest bar drawn before fields are dropped to make room. */
const MIN_BAR = 10;

/**
 * One line: `Experiment   12/100  00:05  2.31/s |███░░░| 12%  eta 00:41  (3 cached)`.
 * `layout` pads the name and count columns so the lines of several types
 * align. A line wider than `maxWidth` is fitted, not cut: the bar narrows,
 * then the cached/failed note, the rate and the elapsed time go, then the bar
 * narrows further and goes; only then is the name cut.
 */
export function progressLine(
  p: TypeProgress,
  layout: LineLayout,
  now: number,
  style: BarStyle,
  maxWidth: number = Infinity,
): string {
  const f = progressFigures(p, now);
  const name = p.name.padEnd(layout.nameWidth);
  const counts = `${p.done}/${p.total}`.padStart(layout.countWidth);
  const elapsed = formatSeconds(f.elapsedSeconds).padStart(5);
  const rate = formatRate(f.perSecond).padStart(8);
  const tail = `${String(f.percent).padStart(3)}%  eta ${formatSeconds(f.remainingSeconds)}`;
  const extraText = [
    p.cached > 0 ? `${p.cached} cached` : "",
    p.failed > 0 ? `${p.failed} failed` : "",
  ].filter(Boolean).join(", ");
  const extra = extraText ? `  (${extraText})` : "";
  const build = (fields: { elapsed: boolean; rate: boolean; extra: boolean }, bar: number) =>
    [
      `${name}  ${counts}`,
      fields.elapsed ? `  ${elapsed}` : "",
      fields.rate ? `  ${rate}` : "",
      bar > 0 ? ` |${drawBar(f.fraction, { ...style, width: bar })}|` : " ",
      ` ${tail}`,
      fields.extra ? extra : "",
    ].join("");
  const steps = [
    { elapsed: true, rate: true, extra: true },
    { elapsed: true, rate: true, extra: false },
    { elapsed: true, rate: false, extra: false },
    { elapsed: false, rate: false, extra: false },
  ];
  for (const [i, fields] of steps.entries()) {
    const fixed = build(fields, 0).length + 2; // the bar's two edges
    const room = maxWidth - fixed;
    const min = i === steps.length - 1 ? 3 : Math.min(MIN_BAR, style.width);
    if (room >= min) return build(fields, Math.min(style.width, room));
  }
  const bare = build(steps.at(-1)!, 0);
  return bare.length <= maxWidth ? bare : bare.slice(0, Math.max(0, maxWidth));
}
