// How values are shown: times (in the zone the user chose), durations, counts.
import { getPrefs } from './prefs.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2025-03-10 08:05:24.783` in UTC or local time; '—' for missing or unparseable values. */
export function fmtTime(v: unknown, withMs = true): string {
  if (typeof v !== 'string' && typeof v !== 'number') return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  const utc = getPrefs().tz === 'utc';
  const y = utc ? d.getUTCFullYear() : d.getFullYear();
  const mo = utc ? d.getUTCMonth() : d.getMonth();
  const da = utc ? d.getUTCDate() : d.getDate();
  const h = utc ? d.getUTCHours() : d.getHours();
  const mi = utc ? d.getUTCMinutes() : d.getMinutes();
  const s = utc ? d.getUTCSeconds() : d.getSeconds();
  const ms = utc ? d.getUTCMilliseconds() : d.getMilliseconds();
  return `${y}-${pad(mo + 1)}-${pad(da)} ${pad(h)}:${pad(mi)}:${pad(s)}${withMs ? '.' + pad(ms, 3) : ''}`;
}

export function tzLabel(): string {
  return getPrefs().tz === 'utc' ? 'UTC' : Intl.DateTimeFormat().resolvedOptions().timeZone || 'local';
}

/** `5s`, `1.25s`, `340ms`, `2m 5s`, `3h 4m`. */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const neg = ms < 0;
  ms = Math.abs(ms);
  let s: string;
  if (ms < 1000) s = `${Math.round(ms)}ms`;
  else if (ms < 60_000) s = `${Number((ms / 1000).toFixed(ms < 10_000 ? 3 : 1))}s`;
  else if (ms < 3_600_000) s = `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
  else if (ms < 86_400_000) s = `${Math.floor(ms / 3_600_000)}h ${Math.round((ms % 3_600_000) / 60_000)}m`;
  else s = `${Math.floor(ms / 86_400_000)}d ${Math.round((ms % 86_400_000) / 3_600_000)}h`;
  return neg ? `-${s}` : s;
}

/** `3 minutes ago`-style age of a time. */
export function fmtAgo(v: string | null | undefined): string {
  if (!v) return 'never';
  const t = Date.parse(v);
  if (Number.isNaN(t)) return v;
  const d = Date.now() - t;
  if (d < 0) return `in ${fmtDuration(-d)}`;
  if (d < 5000) return 'just now';
  return `${fmtDuration(d).split(' ')[0]} ago`;
}

export function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** EQL/Kibana durations (`5s`, `500ms`, `9m`, `1h`, `1d`) in milliseconds, or null. */
export function parseSpan(s: string): number | null {
  const m = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return n * unit;
}

/** A rule query's `with maxspan=…` in milliseconds, or null. */
export function queryMaxspan(query: unknown): number | null {
  if (typeof query !== 'string') return null;
  const m = /\bwith\s+maxspan\s*=\s*(\d+\s*(?:ms|s|m|h|d)?)/.exec(query);
  return m ? parseSpan(m[1]!) : null;
}

/** A dotted field of a document that may hold it flat (`"host.name"`) or nested (`host: {name}`). */
export function getField(doc: unknown, dotted: string): unknown {
  if (doc === null || typeof doc !== 'object') return undefined;
  const o = doc as Record<string, unknown>;
  if (dotted in o) return o[dotted];
  const parts = dotted.split('.');
  for (let i = 1; i < parts.length; i++) {
    const head = parts.slice(0, i).join('.');
    if (head in o) {
      const v = getField(o[head], parts.slice(i).join('.'));
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** A field value as display text (arrays joined, objects as JSON). */
export function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(text).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Flattens a document to sorted [dotted field, value] pairs (arrays of scalars kept whole). */
export function flatten(doc: unknown, prefix = '', out: [string, unknown][] = [], depth = 0): [string, unknown][] {
  if (depth > 32) {
    out.push([prefix, doc]);
    return out;
  }
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const entries = Object.entries(doc as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.push([prefix, {}]);
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out, depth + 1);
  } else if (Array.isArray(doc) && doc.some((x) => x !== null && typeof x === 'object')) {
    doc.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out, depth + 1));
  } else out.push([prefix, doc]);
  if (depth === 0) out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

/** Cuts control characters (ANSI escapes etc.) to visible escapes, so they cannot restyle a terminal copy or hide text. */
export function visible(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
