// Time expressions of rules and of `--from/--to`: Kibana intervals (`5m`) and Elasticsearch date
// math (`now-9m`, `now-1d/d`, absolute ISO times).
import { parseInstant } from '../events/time.js';

/** A user-facing problem with a time expression. */
export class TimeExpressionError extends Error {
  override name = 'TimeExpressionError';
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  H: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Kibana rule interval (`30s`, `5m`, `1h`, `1d`) in milliseconds. */
/** Kibana's default xpack.alerting.rules.minimumScheduleInterval.value (1m). */
export const MINIMUM_INTERVAL_MS = 60_000;

/** 60000 → "1m", 1500 → "1500ms": a duration as a rule interval is written. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Why a replayed rule's interval cannot run, or null: shorter than the minimum schedule interval. */
export function intervalTooShort(interval: string, ms: number, minimum = MINIMUM_INTERVAL_MS): string | null {
  if (ms >= minimum) return null;
  return `interval "${interval}" is shorter than the minimum schedule interval ${formatDuration(minimum)} (Kibana's xpack.alerting.rules.minimumScheduleInterval); give the rule an interval of ${formatDuration(minimum)} or more`;
}

export function parseInterval(s: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) throw new TimeExpressionError(`invalid interval "${s}": expected a positive number followed by s, m, h or d (e.g. 5m)`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/**
 * Resolves date math against `now` (epoch ms): `now`, `now-24h`, `now+1d/d`, an ISO 8601 time, or
 * an ISO time followed by `||` and math. Units: y M w d h H m s (M = month, m = minute); `/unit`
 * rounds down in UTC.
 */
export function resolveDateMath(expr: string, now: number): number {
  const s = expr.trim();
  let base: number;
  let rest: string;
  if (s.startsWith('now')) {
    base = now;
    rest = s.slice(3);
  } else {
    const bar = s.indexOf('||');
    const anchor = bar >= 0 ? s.slice(0, bar) : s;
    const t = parseInstant(anchor);
    if (!t || anchor === '') throw new TimeExpressionError(`invalid time "${expr}": expected an ISO 8601 time or date math such as now-24h`);
    base = t.ms;
    rest = bar >= 0 ? s.slice(bar + 2) : '';
  }
  const re = /([+-])(\d+)([yMwdhHms])|\/([yMwdhHms])/y;
  let pos = 0;
  let t = base;
  while (pos < rest.length) {
    re.lastIndex = pos;
    const m = re.exec(rest);
    if (!m) throw new TimeExpressionError(`invalid date math "${expr}" at "${rest.slice(pos)}": expected +N<unit>, -N<unit> or /<unit> with unit y, M, w, d, h, m or s`);
    pos = re.lastIndex;
    if (m[4]) t = roundDown(t, m[4]);
    else t = add(t, (m[1] === '-' ? -1 : 1) * Number(m[2]), m[3]!);
  }
  return t;
}

function add(t: number, n: number, unit: string): number {
  if (unit === 'y' || unit === 'M') {
    const d = new Date(t);
    if (unit === 'y') d.setUTCFullYear(d.getUTCFullYear() + n);
    else d.setUTCMonth(d.getUTCMonth() + n);
    return d.getTime();
  }
  return t + n * UNIT_MS[unit]!;
}

function roundDown(t: number, unit: string): number {
  const d = new Date(t);
  switch (unit) {
    case 'y':
      return Date.UTC(d.getUTCFullYear(), 0, 1);
    case 'M':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case 'w': {
      // ISO weeks start on Monday.
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      return day - ((d.getUTCDay() + 6) % 7) * UNIT_MS.d!;
    }
    default:
      return t - (((t % UNIT_MS[unit]!) + UNIT_MS[unit]!) % UNIT_MS[unit]!);
  }
}

/**
 * A rule's search window relative to its run time: `[run + fromOffset, run + toOffset]`.
 * Offsets are evaluated at `at` (rounding in a rule's `from` makes them depend on the run time;
 * prebuilt rules use plain `now-Nm`).
 */
export function windowOffsets(from: string, to: string, at: number): { fromOffset: number; toOffset: number } {
  return { fromOffset: resolveDateMath(from, at) - at, toOffset: resolveDateMath(to, at) - at };
}

/**
 * True when `expr` is `now` plus or minus fixed durations (no rounding, no months or years): its
 * offset from the run time is then the same for every run.
 */
export function isFixedOffset(expr: string): boolean {
  return /^now(?:[+-]\d+(?:ms|[wdhHms]))*$/.test(expr.trim());
}

/**
 * The offset from the run time of a fixed-offset expression (isFixedOffset), or null for any
 * other. Remembered per expression: a thousand rules share a handful (`now-9m`, `now`), and every
 * hunt asks for each rule's bounds when its detection engine is made.
 */
export function fixedOffsetOf(expr: string): number | null {
  let offset = fixedOffsets.get(expr);
  if (offset === undefined) {
    offset = isFixedOffset(expr) ? resolveDateMath(expr, 0) : null;
    // Bounded: rule files are untrusted input, and each rule may bring its own expression.
    if (fixedOffsets.size >= MAX_REMEMBERED) fixedOffsets.clear();
    fixedOffsets.set(expr, offset);
  }
  return offset;
}
const fixedOffsets = new Map<string, number | null>();
const MAX_REMEMBERED = 256;

/** One scheduled run of a rule: run k at `runTime`, searching `[start, end]` (inclusive). */
export interface ScheduledWindow {
  k: number;
  runTime: number;
  start: number;
  end: number;
}

export interface ScheduleGrid {
  /** Run k happens at anchor + k·interval. */
  anchor: number;
  /** First run (default 1: the first run is one interval after the anchor). */
  firstRun?: number;
  /** Windows are clipped to [clipStart, clipEnd] (a replayed range given by the user). */
  clipStart?: number;
  clipEnd?: number;
}

/**
 * A rule's schedule replayed on a grid: run k happens at anchor + k·interval and searches
 * [from, to] evaluated AT THAT RUN's time, as Kibana evaluates them when a run starts (so
 * `now-1h/h` rounds per run). With fixed offsets (`now-9m`, the prebuilt rules' form) the windows
 * containing a time are found arithmetically; otherwise by search, the windows' bounds being
 * non-decreasing in k.
 */
export class RuleSchedule {
  readonly interval: number;
  private readonly from: string;
  private readonly to: string;
  /** Offsets when both bounds are fixed offsets from the run time. */
  private readonly fixed: { fromOffset: number; toOffset: number } | null;
  private readonly firstRun: number;
  private readonly lastRun: number;

  constructor(
    rule: { interval: string; from: string; to: string },
    private readonly grid: ScheduleGrid,
  ) {
    this.interval = parseInterval(rule.interval);
    this.from = rule.from;
    this.to = rule.to;
    const fromOffset = fixedOffsetOf(rule.from);
    const toOffset = fromOffset === null ? null : fixedOffsetOf(rule.to);
    this.fixed = fromOffset !== null && toOffset !== null ? { fromOffset, toOffset } : null;
    this.firstRun = grid.firstRun ?? 1;
    // No run after the end of a replayed range is needed: its window would lie past the range.
    this.lastRun = grid.clipEnd !== undefined ? Math.ceil((grid.clipEnd - grid.anchor) / this.interval) : Infinity;
  }

  /** The unclipped window of a run at `runTime`. */
  windowAt(runTime: number): { start: number; end: number } {
    if (this.fixed) return { start: runTime + this.fixed.fromOffset, end: runTime + this.fixed.toOffset };
    return { start: resolveDateMath(this.from, runTime), end: resolveDateMath(this.to, runTime) };
  }

  /** Run k's window, clipped to the replayed range. */
  window(k: number): ScheduledWindow {
    const runTime = this.grid.anchor + k * this.interval;
    const w = this.windowAt(runTime);
    return { k, runTime, start: Math.max(w.start, this.grid.clipStart ?? -Infinity), end: Math.min(w.end, this.grid.clipEnd ?? Infinity) };
  }

  /**
   * Runs whose windows contain time t: k in [lo, hi] (empty when lo > hi), written to `out` when
   * given (and returned): a replayed hunt asks once per event and rule that takes it, and a new
   * object each time was 2% of what its main thread allocated.
   */
  runsContaining(t: number, out: { lo: number; hi: number } = { lo: 0, hi: 0 }): { lo: number; hi: number } {
    const g = this.grid;
    if ((g.clipStart !== undefined && t < g.clipStart) || (g.clipEnd !== undefined && t > g.clipEnd)) {
      out.lo = 1;
      out.hi = 0;
      return out;
    }
    const iv = this.interval;
    let lo: number;
    let hi: number;
    if (this.fixed) {
      lo = Math.ceil((t - this.fixed.toOffset - g.anchor) / iv);
      hi = Math.floor((t - this.fixed.fromOffset - g.anchor) / iv);
    } else {
      // Start from the offsets at time t, then step to the exact bounds (a few steps at most:
      // rounding and month lengths move a bound by less than the window's own length).
      const est = this.windowAt(t);
      const endOf = (k: number) => this.windowAt(g.anchor + k * iv).end;
      const startOf = (k: number) => this.windowAt(g.anchor + k * iv).start;
      lo = Math.ceil((t - (est.end - t) - g.anchor) / iv);
      for (let n = 0; n < MAX_STEPS && endOf(lo - 1) >= t; n++) lo--;
      for (let n = 0; n < MAX_STEPS && endOf(lo) < t; n++) lo++;
      hi = Math.floor((t - (est.start - t) - g.anchor) / iv);
      for (let n = 0; n < MAX_STEPS && startOf(hi + 1) <= t; n++) hi++;
      for (let n = 0; n < MAX_STEPS && startOf(hi) > t; n++) hi--;
    }
    out.lo = Math.max(lo, this.firstRun);
    out.hi = Math.min(hi, this.lastRun);
    return out;
  }
}

/** Bound on the steps of the window search (a window spanning more than this many runs is cut). */
const MAX_STEPS = 100_000;
