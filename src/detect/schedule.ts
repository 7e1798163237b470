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

/** One scheduled run of a rule: run k at `runTime`, searching `[start, end]` (inclusive). */
export interface ScheduledWindow {
  k: number;
  runTime: number;
  start: number;
  end: number;
}

/**
 * A rule's schedule replayed from `anchor`: run k (k ≥ 1) happens at anchor + k·interval and
 * searches `[run + from, run + to]`, clipped to the replayed range `[anchor, rangeTo]`.
 */
export class RuleSchedule {
  readonly interval: number;
  private readonly fromOffset: number;
  private readonly toOffset: number;

  constructor(
    rule: { interval: string; from: string; to: string },
    readonly anchor: number,
    readonly rangeTo?: number,
  ) {
    this.interval = parseInterval(rule.interval);
    const o = windowOffsets(rule.from, rule.to, anchor);
    this.fromOffset = o.fromOffset;
    this.toOffset = o.toOffset;
  }

  /** Run k's window. */
  window(k: number): ScheduledWindow {
    const runTime = this.anchor + k * this.interval;
    return { k, runTime, start: Math.max(runTime + this.fromOffset, this.anchor), end: Math.min(runTime + this.toOffset, this.rangeTo ?? Infinity) };
  }

  /** The window of a run at an arbitrary time (a service's scheduled run), unclipped. */
  windowAt(runTime: number): { start: number; end: number } {
    return { start: runTime + this.fromOffset, end: runTime + this.toOffset };
  }

  /** Runs whose windows contain time t: k in [lo, hi] (empty when lo > hi). */
  runsContaining(t: number): { lo: number; hi: number } {
    if (t < this.anchor || (this.rangeTo !== undefined && t > this.rangeTo)) return { lo: 1, hi: 0 };
    const lo = Math.max(1, Math.ceil((t - this.toOffset - this.anchor) / this.interval));
    let hi = Math.floor((t - this.fromOffset - this.anchor) / this.interval);
    if (this.rangeTo !== undefined) hi = Math.min(hi, Math.ceil((this.rangeTo - this.anchor) / this.interval));
    return { lo, hi };
  }
}
