// Elasticsearch's `filter_path` response filtering (Beats, Logstash and the OTel exporter ask for
// it on every bulk request). Comma-separated dotted paths; `*` in a segment matches any run of
// characters, `**` any number of segments; arrays are traversed transparently; a path starting
// with `-` removes what it matches (applied after the inclusions). Objects left empty disappear.

import { compileGlob } from '../util/glob.js';

type Segment = { kind: 'any-depth' } | { kind: 'name'; test: (k: string) => boolean };

export interface FilterPath {
  include: Segment[][];
  exclude: Segment[][];
}

export function parseFilterPath(spec: string | undefined): FilterPath | null {
  if (spec === undefined || spec.trim() === '') return null;
  const include: Segment[][] = [];
  const exclude: Segment[][] = [];
  for (const raw of spec.split(',')) {
    let p = raw.trim();
    if (p === '') continue;
    const neg = p.startsWith('-');
    if (neg) p = p.slice(1);
    const segs = p.split('.').map(segment);
    (neg ? exclude : include).push(segs);
  }
  if (include.length === 0 && exclude.length === 0) return null;
  return { include, exclude };
}

function segment(s: string): Segment {
  if (s === '**') return { kind: 'any-depth' };
  if (!s.includes('*')) return { kind: 'name', test: (k) => k === s };
  // Linear in the key whatever the stars (a RegExp of `.*`s backtracks without end on some keys).
  return { kind: 'name', test: compileGlob(s, { question: false }) };
}

/** Applies a filter to a JSON value; returns undefined when nothing is left. */
export function applyFilterPath(value: unknown, f: FilterPath): unknown {
  let v = f.include.length > 0 ? include(value, f.include.map((p) => ({ p, i: 0 }))) : value;
  if (v !== undefined && f.exclude.length > 0) v = exclude(v, f.exclude.map((p) => ({ p, i: 0 })));
  return v;
}

interface Cursor {
  p: Segment[];
  i: number;
}

/** Advances cursors over key `k`; `done` when some path ends at this key (keep the whole value). */
function step(cursors: Cursor[], k: string): { next: Cursor[]; done: boolean } {
  const next: Cursor[] = [];
  let done = false;
  const visit = (c: Cursor) => {
    const s = c.p[c.i];
    if (s === undefined) return;
    if (s.kind === 'any-depth') {
      // `**` may match zero segments (try the rest here) or this one (stay on `**`).
      visit({ p: c.p, i: c.i + 1 });
      next.push(c);
      if (c.i + 1 === c.p.length) done = true;
      return;
    }
    if (s.test(k)) {
      if (c.i + 1 === c.p.length) done = true;
      else next.push({ p: c.p, i: c.i + 1 });
    }
  };
  for (const c of cursors) visit(c);
  return { next, done };
}

function include(v: unknown, cursors: Cursor[]): unknown {
  if (Array.isArray(v)) {
    const out = v.map((x) => include(x, cursors)).filter((x) => x !== undefined);
    return out.length > 0 ? out : undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const k of Object.keys(v)) {
    const { next, done } = step(cursors, k);
    const child = (v as Record<string, unknown>)[k];
    const kept = done ? child : next.length > 0 ? include(child, next) : undefined;
    if (kept !== undefined) {
      Object.defineProperty(out, k, { value: kept, enumerable: true, writable: true, configurable: true });
      any = true;
    }
  }
  return any ? out : undefined;
}

function exclude(v: unknown, cursors: Cursor[]): unknown {
  if (Array.isArray(v)) return v.map((x) => exclude(x, cursors));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const { next, done } = step(cursors, k);
    if (done) continue;
    const child = (v as Record<string, unknown>)[k];
    Object.defineProperty(out, k, { value: next.length > 0 ? exclude(child, next) : child, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
