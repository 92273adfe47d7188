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
  fraction: number;
  percent: number;
  elapsedSeconds: number;
  perSecond: number | null;
  remainingSeconds: number | null;
}

/**
 * Figures of `p` at `now` for a run that started at `startedAt`. The time
 * remaining is `etaSeconds` when the caller has a better estimate, else the
 * tasks left divided by the mean rate.
 */
export function progressFigures(
  p: TypeProgress,
  startedAt: number,
  now: number,
  etaSeconds: number | null = null,
): ProgressFigures {
  const fraction = p.total === 0 ? 1 : Math.min(1, p.done / p.total);
  const elapsedSeconds = Math.max(0, ((p.finishedAt ?? now) - startedAt) / 1000);
  const perSecond = elapsedSeconds > 0 ? p.done / elapsedSeconds : null;
  let remainingSeconds: number | null = null;
  if (p.done >= p.total) remainingSeconds = 0;
  else if (etaSeconds !== null && Number.isFinite(etaSeconds) && etaSeconds >= 0) {
    remainingSeconds = etaSeconds;
  } else if (perSecond !== null && perSecond > 0) {
    remainingSeconds = (p.total - p.done) / perSecond;
  }
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

/**
 * One line: `Experiment  12/100  00:05  2.31/s |███░░░| 12%  eta 00:41  (3 cached)`.
 * `nameWidth` pads the name so the lines of several types align.
 */
export function progressLine(
  p: TypeProgress,
  nameWidth: number,
  startedAt: number,
  now: number,
  style: BarStyle,
  etaSeconds: number | null = null,
): string {
  const f = progressFigures(p, startedAt, now, etaSeconds);
  const counts = `${p.done}/${p.total}`.padStart(2 * String(p.total).length + 1);
  const extra = [p.cached > 0 ? `${p.cached} cached` : "", p.failed > 0 ? `${p.failed} failed` : ""]
    .filter(Boolean).join(", ");
  return `${p.name.padEnd(nameWidth)}  ${counts}  ${formatSeconds(f.elapsedSeconds)}  ${
    formatRate(f.perSecond).padStart(8)
  } |${drawBar(f.fraction, style)}| ${String(f.percent).padStart(3)}%  eta ${
    formatSeconds(f.remainingSeconds)
  }${extra ? `  (${extra})` : ""}`;
}
