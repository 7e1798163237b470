// Needles: strings that the raw JSON text of any event a query can use must contain.
//
// When every term of a query (sequence and sample terms, missing terms and `until` included)
// requires some field to hold, match or contain one of a few literal strings, an event whose JSON
// line contains none of them cannot pass any term's filter, so it can be skipped without being
// parsed (events/prefilter.ts). A needle is a piece of the literal as it appears inside a JSON
// string: lower-cased, JSON-escaped (`\` as `\\`), ASCII only, at least MIN_NEEDLE long.
//
// Why a line that lacks every needle is safe to skip: a value matching `field : "C:\\x\\*.exe"`
// contains the literal run `c:\x\` (case-insensitively); JSON writes that value as `c:\\x\\`
// inside the string, and lower-casing the line lower-cases the value's text, while escaping
// touches only `"`, `\` and control characters. The caller checks the line uses no escape that
// could hide a needle (`\uXXXX`, `\/`). Non-ASCII characters are left out of needles because
// lower-casing them can depend on their neighbours (Greek final sigma). Numeric literals are left
// out because a JSON number may be written in a form that does not contain their digits (1e3).
import type { EventQuery, Expr, Query } from '../eql/ast.js';

export const MIN_NEEDLE = 3;

/** The longest usable needle in `literal` (wildcards, when `pattern`, split it); null if none. */
export function needleOf(literal: string, pattern: boolean): string | null {
  const lowered = literal.toLowerCase();
  const runs = pattern ? lowered.split(/[*?]/) : [lowered];
  let best: string | null = null;
  for (const run of runs) {
    // JSON's own escaping of the run (`\` → `\\`, `"` → `\"`, controls → `\n` or \u00XX).
    const escaped = JSON.stringify(run).slice(1, -1);
    for (const piece of escaped.split(/[^\x20-\x7e]+/)) {
      if (piece.length < MIN_NEEDLE || /^[0-9+\-.eE]*$/.test(piece)) continue;
      // `\u00XX` escapes of control characters: the line would have a \u escape and is not skipped
      // anyway; a needle holding one could never be found, so it is cut out.
      for (const part of piece.split(/\\u[0-9a-f]{4}/)) {
        if (part.length >= MIN_NEEDLE && (best === null || part.length > best.length)) best = part;
      }
    }
  }
  return best;
}

interface Choice {
  needles: string[];
  /** Length of the shortest needle: longer needles are rarer, so a conjunction prefers them. */
  weakest: number;
}

function fromLiterals(values: Expr[], pattern: boolean): Choice | null {
  const needles: string[] = [];
  for (const v of values) {
    if (v.kind !== 'literal' || typeof v.value !== 'string') return null;
    const n = needleOf(v.value, pattern);
    if (n === null) return null;
    needles.push(n);
  }
  if (needles.length === 0) return null;
  return { needles, weakest: Math.min(...needles.map((n) => n.length)) };
}

const FIELD_STRING_FUNCTIONS = new Set(['startsWith', 'endsWith', 'stringContains']);

function choose(e: Expr, usable: (field: string) => boolean): Choice | null {
  switch (e.kind) {
    case 'and': {
      const l = choose(e.left, usable);
      const r = choose(e.right, usable);
      if (!l || !r) return l ?? r;
      return r.weakest > l.weakest ? r : l;
    }
    case 'or': {
      const l = choose(e.left, usable);
      if (!l) return null;
      const r = choose(e.right, usable);
      if (!r) return null;
      return { needles: [...l.needles, ...r.needles], weakest: Math.min(l.weakest, r.weakest) };
    }
    case 'compare': {
      if (e.op !== '==') return null;
      const [f, l] = e.left.kind === 'field' ? [e.left, e.right] : [e.right, e.left];
      if (f.kind !== 'field' || !usable(f.name)) return null;
      return fromLiterals([l], false);
    }
    case 'in':
      if (e.negated || e.operand.kind !== 'field' || !usable(e.operand.name)) return null;
      return fromLiterals(e.values, false);
    case 'match':
      // Regular expressions are left alone (their literal parts are not worth the analysis).
      if (e.op !== 'like' || e.operand.kind !== 'field' || !usable(e.operand.name)) return null;
      return fromLiterals(e.patterns, true);
    case 'call': {
      if (!FIELD_STRING_FUNCTIONS.has(e.name) || e.args.length !== 2) return null;
      const [f, l] = e.args as [Expr, Expr];
      if (f.kind !== 'field' || !usable(f.name)) return null;
      return fromLiterals([l], false);
    }
    default:
      return null;
  }
}

/** Needles of one event query: any event it matches contains one of them; null when none apply. */
export function eventNeedles(q: EventQuery, usable: (field: string) => boolean = () => true): string[] | null {
  return choose(q.condition, usable)?.needles ?? null;
}

/**
 * Needles of a whole query: those of every event query in it (terms, missing terms, `until`).
 * Null when some term has none: then any line may matter. `usable` excludes fields that do not
 * compare as strings (dates, ip addresses, numbers), as for anchors.
 */
export function queryNeedles(q: Query, usable: (field: string) => boolean = () => true): string[] | null {
  const terms: EventQuery[] =
    q.kind === 'event' ? [q] : q.kind === 'sample' ? q.terms.map((t) => t.query) : [...q.terms.map((t) => t.query), ...(q.until ? [q.until.query] : [])];
  const out = new Set<string>();
  for (const t of terms) {
    const n = eventNeedles(t, usable);
    if (!n) return null;
    for (const x of n) out.add(x);
  }
  return [...out];
}
