// Anchors: a necessary condition of a query that an index can test without running the query.
// When every way for an event to matter to a query requires a field to hold one of a few literal
// strings (`process.name : ("a.exe", "b.exe")`, `event.action == "load"`), a hunt over a thousand
// rules can look the event's value up in a map and skip every rule whose anchor it misses,
// instead of evaluating each rule's condition.
import type { EventQuery, Expr, Query } from '../eql/ast.js';

export interface Anchor {
  field: string;
  /** Accepted values; lower-cased when `caseInsensitive`. */
  values: string[];
  caseInsensitive: boolean;
}

// Fields that nearly every event of a data source shares: an anchor on them rarely skips a rule,
// so a more specific conjunct is preferred when the query has one.
const BROAD = new Set([
  'host.os.type', 'host.os.family', 'host.os.name', 'host.os.platform', 'event.type', 'event.kind', 'event.outcome',
  'event.category', 'event.module', 'event.dataset', 'data_stream.dataset', 'agent.type', 'os.type',
]);

/** The anchor a single conjunct gives, if it is a field tested against literal strings only. */
function anchorOf(e: Expr): Anchor | null {
  if (e.kind === 'compare' && e.op === '==') {
    const [f, l] = e.left.kind === 'field' ? [e.left, e.right] : [e.right, e.left];
    if (f.kind === 'field' && l.kind === 'literal' && typeof l.value === 'string') {
      return { field: f.name, values: [l.value], caseInsensitive: false };
    }
    return null;
  }
  if (e.kind === 'in' && !e.negated && e.operand.kind === 'field') {
    if (!e.values.every((v) => v.kind === 'literal' && typeof v.value === 'string')) return null;
    const values = e.values.map((v) => (v as { value: string }).value);
    return { field: e.operand.name, values: e.caseInsensitive ? values.map((v) => v.toLowerCase()) : values, caseInsensitive: e.caseInsensitive };
  }
  if (e.kind === 'match' && e.op === 'like' && e.operand.kind === 'field') {
    const values: string[] = [];
    for (const p of e.patterns) {
      if (p.kind !== 'literal' || typeof p.value !== 'string' || p.value.includes('*') || p.value.includes('?')) return null;
      values.push(e.caseInsensitive ? p.value.toLowerCase() : p.value);
    }
    return { field: e.operand.name, values, caseInsensitive: e.caseInsensitive };
  }
  return null;
}

interface Choice {
  /** Alternatives: the condition holds only if one of them does. */
  anchors: Anchor[];
  /** Some alternative is on a broad field. */
  broad: boolean;
}

/**
 * Anchors of a condition: a conjunction takes the best of its parts (the first without a broad
 * field, else the first), a disjunction the union of its branches' (when every branch has some).
 * `not` and anything else give none.
 */
function choose(e: Expr, usable: (field: string) => boolean): Choice | null {
  if (e.kind === 'and') {
    const l = choose(e.left, usable);
    const r = choose(e.right, usable);
    if (!l || !r) return l ?? r;
    return l.broad && !r.broad ? r : l;
  }
  if (e.kind === 'or') {
    const l = choose(e.left, usable);
    if (!l) return null;
    const r = choose(e.right, usable);
    if (!r) return null;
    return { anchors: [...l.anchors, ...r.anchors], broad: l.broad || r.broad };
  }
  const a = anchorOf(e);
  if (!a || !usable(a.field)) return null;
  return { anchors: [a], broad: BROAD.has(a.field) };
}

/**
 * The best anchors of one event query: alternatives on specific fields if it has some, else on
 * broad ones; null when its condition requires no literal value.
 */
export function eventAnchors(q: EventQuery, usable: (field: string) => boolean = () => true): Anchor[] | null {
  return choose(q.condition, usable)?.anchors ?? null;
}

/**
 * `usable(field)` excludes fields whose comparisons are not plain string equality (dates compare
 * by time span, ip by address, numbers numerically): only keyword-like fields can be anchors.
 *
 * Anchors of a whole query: those of every event query it contains (sequence and sample terms, missing
 * terms and `until` included, since the query must see their events). Null when some term has
 * none, so the query has to see every event of its categories.
 */
export function queryAnchors(q: Query, usable: (field: string) => boolean = () => true): Anchor[] | null {
  const terms: EventQuery[] =
    q.kind === 'event' ? [q] : q.kind === 'sample' ? q.terms.map((t) => t.query) : [...q.terms.map((t) => t.query), ...(q.until ? [q.until.query] : [])];
  const out: Anchor[] = [];
  for (const t of terms) {
    const a = eventAnchors(t, usable);
    if (!a) return null;
    out.push(...a);
  }
  return out;
}
