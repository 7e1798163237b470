// The part of Elasticsearch's Query DSL that alert readers (scripts, SOAR and SIEM connectors)
// send: match_all, match_none, term, terms, ids, range, exists, prefix, wildcard, match,
// match_phrase and bool (must, filter, should with minimum_should_match, must_not), evaluated on a
// document with Elasticsearch's field lookup (dotted keys and nested objects alike; an array
// matches when any element does). Anything else is a 400 naming the clause.
import { getField } from '../engine/fields.js';
import { parseInstant } from '../events/time.js';
import { badRequest } from './http.js';
import { compileGlob, TooComplexError } from '../util/glob.js';

export type DocPredicate = (doc: Record<string, unknown>) => boolean;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function values(doc: Obj, field: string): unknown[] {
  const v = getField(doc, field);
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.flat(Infinity).filter((x) => x !== null && x !== undefined) : [v];
}

function single(clause: unknown, name: string): [string, unknown] {
  if (!isObj(clause)) throw badRequest(`[${name}] query malformed, no start_object after query name`);
  const keys = Object.keys(clause);
  if (keys.length !== 1) throw badRequest(`[${name}] query doesn't support multiple fields, found [${keys.join('] and [')}]`);
  return [keys[0]!, clause[keys[0]!]];
}

function eq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' || typeof b === 'number' || typeof a === 'boolean' || typeof b === 'boolean') return String(a) === String(b);
  return false;
}

/** Orders a document value and a range bound: numbers numerically, times as instants, strings lexically. */
function compare(v: unknown, bound: unknown): number | null {
  if (typeof v === 'number' && typeof bound === 'number') return v - bound;
  if (typeof v === 'number' && typeof bound === 'string' && bound.trim() !== '' && !Number.isNaN(Number(bound))) return v - Number(bound);
  const tv = typeof v === 'string' ? parseInstant(v) : null;
  const tb = typeof bound === 'string' || typeof bound === 'number' ? parseInstant(resolveNow(bound)) : null;
  if (tv && tb && typeof v === 'string' && /^\d{4}-/.test(v)) return tv.ms - tb.ms || tv.ns - tb.ns;
  if (typeof v === 'string' && typeof bound === 'string') return v < bound ? -1 : v > bound ? 1 : 0;
  return null;
}

/** `now`, `now-1h` … in range bounds. */
function resolveNow(b: unknown): unknown {
  if (typeof b !== 'string' || !b.startsWith('now')) return b;
  const m = /^now(?:([+-])(\d+)([smhdw]))?$/.exec(b);
  if (!m) return b;
  const unit: Record<string, number> = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 };
  const off = m[1] ? (m[1] === '-' ? -1 : 1) * Number(m[2]) * unit[m[3]!]! : 0;
  return new Date(Date.now() + off).toISOString();
}

/** A wildcard query's pattern, matched without backtracking; refused as Lucene refuses it when too complex. */
function wildcardTest(p: string, ci: boolean): (v: string) => boolean {
  try {
    return compileGlob(p, { caseInsensitive: ci, escapes: true, refuseTooComplex: true });
  } catch (e) {
    if (e instanceof TooComplexError) throw badRequest(`wildcard pattern too complex to determinize: ${e.message}`);
    throw e;
  }
}

/** Compiles a query clause (null or undefined = match_all). */
export function compileQuery(q: unknown, depth = 0): DocPredicate {
  if (q === undefined || q === null) return () => true;
  if (depth > 20) throw badRequest('query is nested too deeply (more than 20 levels)');
  const [kind, body] = single(q, 'query');
  switch (kind) {
    case 'match_all':
      return () => true;
    case 'match_none':
      return () => false;
    case 'term': {
      const [field, spec] = single(body, 'term');
      const value = isObj(spec) ? spec.value : spec;
      const ci = isObj(spec) && spec.case_insensitive === true;
      return (d) => values(d, field).some((v) => (ci && typeof v === 'string' && typeof value === 'string' ? v.toLowerCase() === value.toLowerCase() : eq(v, value)));
    }
    case 'terms': {
      if (!isObj(body)) throw badRequest('[terms] query malformed');
      const fields = Object.keys(body).filter((k) => k !== 'boost');
      if (fields.length !== 1 || !Array.isArray(body[fields[0]!])) throw badRequest('[terms] query needs one field with an array of values');
      const field = fields[0]!;
      const list = body[field] as unknown[];
      return (d) => values(d, field).some((v) => list.some((x) => eq(v, x)));
    }
    case 'ids': {
      const list = isObj(body) && Array.isArray(body.values) ? body.values.map(String) : [];
      return (d) => list.includes(String(getField(d, 'kibana.alert.uuid') ?? d._id ?? ''));
    }
    case 'exists': {
      const field = isObj(body) && typeof body.field === 'string' ? body.field : null;
      if (!field) throw badRequest('[exists] must be provided with a [field]');
      return (d) => values(d, field).length > 0 && !(values(d, field).length === 0);
    }
    case 'range': {
      const [field, spec] = single(body, 'range');
      if (!isObj(spec)) throw badRequest('[range] query malformed');
      const checks: ((v: unknown) => boolean)[] = [];
      const add = (key: string, ok: (c: number) => boolean) => {
        if (spec[key] === undefined || spec[key] === null) return;
        const bound = spec[key];
        checks.push((v) => {
          const c = compare(v, bound);
          return c !== null && ok(c);
        });
      };
      add('gte', (c) => c >= 0);
      add('gt', (c) => c > 0);
      add('lte', (c) => c <= 0);
      add('lt', (c) => c < 0);
      add('from', (c) => c >= (spec.include_lower === false ? 1 : 0));
      add('to', (c) => c <= (spec.include_upper === false ? -1 : 0));
      return (d) => values(d, field).some((v) => checks.every((f) => f(v)));
    }
    case 'prefix': {
      const [field, spec] = single(body, 'prefix');
      const value = String(isObj(spec) ? spec.value : spec);
      const ci = isObj(spec) && spec.case_insensitive === true;
      return (d) => values(d, field).some((v) => typeof v === 'string' && (ci ? v.toLowerCase().startsWith(value.toLowerCase()) : v.startsWith(value)));
    }
    case 'wildcard': {
      const [field, spec] = single(body, 'wildcard');
      const pattern = String(isObj(spec) ? (spec.value ?? spec.wildcard) : spec);
      const match = wildcardTest(pattern, isObj(spec) && spec.case_insensitive === true);
      return (d) => values(d, field).some((v) => typeof v === 'string' && match(v));
    }
    case 'match':
    case 'match_phrase': {
      // Without analyzers, a match is a case-insensitive comparison of the whole value, or of the
      // phrase within a text value.
      const [field, spec] = single(body, kind);
      const value = String(isObj(spec) ? spec.query : spec).toLowerCase();
      return (d) => values(d, field).some((v) => (typeof v === 'string' ? v.toLowerCase() === value || v.toLowerCase().includes(value) : String(v).toLowerCase() === value));
    }
    case 'bool': {
      if (!isObj(body)) throw badRequest('[bool] query malformed');
      const list = (k: string) => {
        const v = body[k];
        if (v === undefined) return [];
        return (Array.isArray(v) ? v : [v]).map((c) => compileQuery(c, depth + 1));
      };
      const must = [...list('must'), ...list('filter')];
      const should = list('should');
      const mustNot = list('must_not');
      for (const k of Object.keys(body)) {
        if (!['must', 'filter', 'should', 'must_not', 'minimum_should_match', 'boost', '_name'].includes(k)) throw badRequest(`[bool] query does not support [${k}]`);
      }
      const msm = body.minimum_should_match !== undefined ? Number(body.minimum_should_match) : must.length > 0 || mustNot.length > 0 ? 0 : should.length > 0 ? 1 : 0;
      return (d) => {
        for (const f of must) if (!f(d)) return false;
        for (const f of mustNot) if (f(d)) return false;
        if (msm > 0) {
          let n = 0;
          for (const f of should) if (f(d) && ++n >= msm) break;
          if (n < msm) return false;
        }
        return true;
      };
    }
    default:
      throw badRequest(`unknown query [${kind}] (eqlite supports match_all, match_none, term, terms, ids, range, exists, prefix, wildcard, match, match_phrase and bool)`);
  }
}

export interface SortKey {
  field: string;
  desc: boolean;
}

/** `sort` as Elasticsearch takes it: "f", "f:desc", {"f": "desc"}, {"f": {"order": "desc"}}, or a list of those. */
export function parseSort(sort: unknown): SortKey[] {
  if (sort === undefined || sort === null) return [];
  const list = Array.isArray(sort) ? sort : typeof sort === 'string' ? sort.split(',') : [sort];
  const out: SortKey[] = [];
  for (const s of list) {
    if (typeof s === 'string') {
      const [field, order] = s.trim().split(':');
      if (field) out.push({ field, desc: order === 'desc' || (order === undefined && field === '_score') });
    } else if (isObj(s)) {
      for (const [field, spec] of Object.entries(s)) {
        const order = typeof spec === 'string' ? spec : isObj(spec) ? spec.order : undefined;
        out.push({ field, desc: order === 'desc' });
      }
    } else throw badRequest('[sort] malformed');
  }
  return out;
}

/** Compares two documents by sort keys (missing values last, as Elasticsearch). */
export function sortComparator(keys: SortKey[]): (a: Obj, b: Obj) => number {
  return (a, b) => {
    for (const k of keys) {
      const va = first(getField(a, k.field));
      const vb = first(getField(b, k.field));
      const am = va === undefined || va === null;
      const bm = vb === undefined || vb === null;
      if (am || bm) {
        if (am && bm) continue;
        return am ? 1 : -1;
      }
      let c: number;
      if (typeof va === 'number' && typeof vb === 'number') c = va - vb;
      else {
        const ta = typeof va === 'string' ? parseInstant(va) : null;
        const tb = typeof vb === 'string' ? parseInstant(vb) : null;
        if (ta && tb && /^\d{4}-/.test(String(va)) && /^\d{4}-/.test(String(vb))) c = ta.ms - tb.ms || ta.ns - tb.ns;
        else c = String(va) < String(vb) ? -1 : String(va) > String(vb) ? 1 : 0;
      }
      if (c !== 0) return k.desc ? -c : c;
    }
    return 0;
  };
}

function first(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}
