// Rule `filters`: Kibana filter objects (the pills of the rule's query bar) that Kibana adds to
// every search of the rule (eql/build_eql_search_request.ts → getQueryFilter → @kbn/es-query
// buildEsQuery): enabled filters become `bool.filter` clauses, negated ones (`meta.negate`)
// `bool.must_not` clauses, disabled ones (`meta.disabled`) are left out. A filter's query is its
// `query` member (current form) or the filter object itself without `meta`/`$state` (legacy
// `{exists: …}`, `{range: …}` filters).
//
// Like exceptions, the filter is applied to every event before the rule's query sees it: an event
// a filter rejects cannot be part of a match, and for a sequence that means no sequence can use
// it. The Elasticsearch queries are evaluated over the event `_source` as Elasticsearch would
// over the indexed fields, without a mapping: ECS types decide how a field is compared (`text`
// fields are analysed into lower-case words; keyword fields compare whole values, exactly), and a
// multi-valued field matches when any value does.
//
// Supported queries: bool (must, filter, should + minimum_should_match, must_not), match_phrase,
// match (operator, `type: phrase`), term, terms, exists, range (numbers, dates with date math,
// IP addresses, strings), wildcard, prefix, nested, match_all, match_none. Anything else
// (query_string, script, …) cannot be evaluated faithfully offline, so the rule is reported and
// skipped rather than run without its filter.
import { fieldAccessor, leafValues, type Accessor } from '../engine/fields.js';
import { compareIps, parseIp } from '../engine/ip.js';
import { parseInstant } from '../events/time.js';
import { fieldStatus } from '../rules/validate.js';
import { resolveDateMath } from './schedule.js';
import { compileGlob, TooComplexError } from '../util/glob.js';

export type SourcePredicate = (source: Record<string, unknown>) => boolean;

/** A filter that cannot be evaluated; the message names the filter and the reason. */
export class FilterError extends Error {
  override name = 'FilterError';
}

export interface FilterOptions {
  /** "now" for date math in range queries (epoch ms). */
  now: number;
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Compiles a rule's `filters` into one predicate (true: the event passes every filter), or null
 * when no enabled filter remains. Throws FilterError for a filter that cannot be evaluated.
 */
export function compileRuleFilters(filters: unknown, opts: FilterOptions): SourcePredicate | null {
  if (filters === undefined || filters === null) return null;
  if (!Array.isArray(filters)) throw new FilterError('filters must be a list of Kibana filter objects');
  const must: SourcePredicate[] = [];
  const mustNot: SourcePredicate[] = [];
  filters.forEach((f, i) => {
    if (!isObject(f)) throw new FilterError(`filter ${i + 1} is not an object`);
    const meta = isObject(f.meta) ? f.meta : {};
    if (meta.disabled === true) return;
    const query = queryOf(f);
    let pred: SourcePredicate;
    try {
      pred = compileQuery(query, opts);
    } catch (e) {
      if (e instanceof FilterError) throw new FilterError(`filter ${i + 1}: ${e.message}`);
      throw e;
    }
    (meta.negate === true ? mustNot : must).push(pred);
  });
  if (must.length === 0 && mustNot.length === 0) return null;
  return (src) => {
    for (const p of must) if (!p(src)) return false;
    for (const p of mustNot) if (p(src)) return false;
    return true;
  };
}

/** The Elasticsearch query of a Kibana filter (es-query translateToQuery + cleanFilter). */
function queryOf(filter: Obj): Obj {
  if (isObject(filter.query)) return filter.query;
  const q: Obj = {};
  for (const [k, v] of Object.entries(filter)) if (k !== 'meta' && k !== '$state') q[k] = v;
  return q;
}

/** Compiles one Elasticsearch query (a `{type: body}` object) into a predicate. */
export function compileQuery(query: unknown, opts: FilterOptions): SourcePredicate {
  if (!isObject(query)) throw new FilterError('a query must be an object');
  const keys = Object.keys(query);
  if (keys.length !== 1) throw new FilterError(`a query must have exactly one type, found ${keys.length === 0 ? 'none' : keys.join(', ')}`);
  const type = keys[0]!;
  const body = query[type];
  switch (type) {
    case 'bool':
      return compileBool(body, opts);
    case 'match_all':
      return () => true;
    case 'match_none':
      return () => false;
    case 'exists': {
      if (!isObject(body) || typeof body.field !== 'string') throw new FilterError('exists needs a field');
      const get = fieldAccessor(body.field);
      return (src) => leafValues(get(src)).length > 0;
    }
    case 'match_phrase':
    case 'match':
    case 'term':
    case 'terms':
    case 'wildcard':
    case 'prefix':
    case 'range':
      return compileFieldQuery(type, body, opts);
    case 'nested': {
      if (!isObject(body) || typeof body.path !== 'string') throw new FilterError('nested needs a path');
      const inner = compileQuery(body.query, opts);
      const path = body.path;
      const get = fieldAccessor(path);
      return (src) => leafValues(get(src)).some((el) => isObject(el) && inner({ [path]: el }));
    }
    default:
      throw new FilterError(`query type "${type}" is not supported offline`);
  }
}

function listOf(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function compileBool(body: unknown, opts: FilterOptions): SourcePredicate {
  if (!isObject(body)) throw new FilterError('bool must be an object');
  for (const k of Object.keys(body)) {
    if (!['must', 'filter', 'should', 'must_not', 'minimum_should_match', 'boost', '_name'].includes(k)) {
      throw new FilterError(`bool has an unknown clause "${k}"`);
    }
  }
  const must = [...listOf(body.must), ...listOf(body.filter)].map((q) => compileQuery(q, opts));
  const should = listOf(body.should).map((q) => compileQuery(q, opts));
  const mustNot = listOf(body.must_not).map((q) => compileQuery(q, opts));
  // Without must/filter clauses at least one should clause must match; with them, none need to.
  const required = minimumShouldMatch(body.minimum_should_match, should.length, must.length === 0 ? 1 : 0);
  return (src) => {
    for (const p of must) if (!p(src)) return false;
    for (const p of mustNot) if (p(src)) return false;
    if (required > 0) {
      let n = 0;
      for (const p of should) if (p(src) && ++n >= required) break;
      if (n < required) return false;
    }
    return true;
  };
}

/** Elasticsearch's minimum_should_match: an integer or percentage (negative: all but), capped. */
function minimumShouldMatch(spec: unknown, clauses: number, dflt: number): number {
  if (clauses === 0) return 0;
  if (spec === undefined || spec === null) return Math.min(dflt, clauses);
  let n: number;
  const s = String(spec).trim();
  if (s.endsWith('%')) {
    const pct = Number(s.slice(0, -1));
    if (!Number.isFinite(pct)) throw new FilterError(`minimum_should_match ${JSON.stringify(spec)} is not a number or percentage`);
    n = pct < 0 ? clauses + Math.trunc((clauses * pct) / 100) : Math.trunc((clauses * pct) / 100);
  } else {
    const v = Number(s);
    if (!Number.isInteger(v)) throw new FilterError(`minimum_should_match ${JSON.stringify(spec)} is not a number or percentage`);
    n = v < 0 ? clauses + v : v;
  }
  return Math.max(0, Math.min(n, clauses));
}

/** `{field: value}` or `{field: {query|value: …, options}}`: the field, value and options. */
function fieldBody(type: string, body: unknown): { field: string; value: unknown; options: Obj } {
  if (!isObject(body)) throw new FilterError(`${type} must be an object`);
  const fields = Object.keys(body).filter((k) => k !== 'boost' && k !== '_name');
  if (fields.length !== 1) throw new FilterError(`${type} must name exactly one field`);
  const field = fields[0]!;
  const spec = body[field];
  if (isObject(spec) && type !== 'range') {
    const value = spec.query ?? spec.value;
    return { field, value, options: spec };
  }
  return { field, value: spec, options: isObject(spec) ? spec : {} };
}

/** ECS type of a field, and the accessor reading it (a multi-field reads its parent's value). */
function fieldInfo(field: string): { type: string | undefined; get: Accessor } {
  const s = fieldStatus(field);
  const type = s.known ? s.type : undefined;
  const own = fieldAccessor(field);
  const dot = field.lastIndexOf('.');
  if (dot > 0 && (type === 'text' || type === 'match_only_text') && fieldStatus(field.slice(0, dot)).known) {
    // `process.command_line.text` is a multi-field: its values are those of process.command_line.
    const parent = fieldAccessor(field.slice(0, dot));
    return { type, get: (src) => own(src) ?? parent(src) };
  }
  return { type, get: own };
}

const TEXT_TYPES = new Set(['text', 'match_only_text']);

function compileFieldQuery(type: string, body: unknown, opts: FilterOptions): SourcePredicate {
  const { field, value, options } = fieldBody(type, body);
  const { type: ftype, get } = fieldInfo(field);
  const text = ftype !== undefined && TEXT_TYPES.has(ftype);
  let test: (v: unknown) => boolean;
  switch (type) {
    case 'term':
      test = termTest(value, options.case_insensitive === true);
      break;
    case 'terms': {
      if (!Array.isArray(value)) throw new FilterError('terms needs a list of values');
      const tests = value.map((x) => termTest(x, false));
      test = (v) => tests.some((t) => t(v));
      break;
    }
    case 'match_phrase':
      test = text ? phraseTest(String(value)) : termTest(value, false);
      break;
    case 'match': {
      if (options.type === 'phrase') test = text ? phraseTest(String(value)) : termTest(value, false);
      else if (text) test = wordsTest(String(value), String(options.operator ?? 'or').toLowerCase() === 'and');
      else test = termTest(value, false);
      break;
    }
    case 'wildcard': {
      const v = options.value ?? options.wildcard ?? value;
      if (typeof v !== 'string') throw new FilterError('wildcard needs a string pattern');
      const match = wildcardTest(v, options.case_insensitive === true);
      test = (x) => typeof x === 'string' && match(x);
      break;
    }
    case 'prefix': {
      if (typeof value !== 'string') throw new FilterError('prefix needs a string');
      const ci = options.case_insensitive === true;
      const p = ci ? value.toLowerCase() : value;
      test = (x) => typeof x === 'string' && (ci ? x.toLowerCase() : x).startsWith(p);
      break;
    }
    case 'range':
      test = rangeTest(field, ftype, options, opts);
      break;
    default:
      throw new FilterError(`query type "${type}" is not supported offline`);
  }
  return (src) => leafValues(get(src)).some(test);
}

/** Exact value comparison, as a term query on a keyword, numeric, boolean or ip field. */
function termTest(q: unknown, caseInsensitive: boolean): (v: unknown) => boolean {
  if (q === null || q === undefined || typeof q === 'object') throw new FilterError(`cannot compare with ${JSON.stringify(q)}`);
  const qs = String(q);
  const qn = typeof q === 'number' ? q : qs.trim() !== '' ? Number(qs) : NaN;
  const qip = parseIp(qs);
  const lower = qs.toLowerCase();
  return (v) => {
    if (typeof v === 'string') {
      if (caseInsensitive ? v.toLowerCase() === lower : v === qs) return true;
      if (qip) {
        const vip = parseIp(v);
        return vip !== null && compareIps(vip, qip) === 0;
      }
      return false;
    }
    if (typeof v === 'number') return v === qn;
    if (typeof v === 'boolean') return String(v) === qs;
    return false;
  };
}

/** Words of a text field: lower-cased runs of letters and digits (the standard analyzer, roughly). */
function words(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}_']+/u).filter((t) => t !== '');
}

function phraseTest(q: string): (v: unknown) => boolean {
  const want = words(q);
  return (v) => {
    if (typeof v !== 'string') return false;
    if (want.length === 0) return false;
    const have = words(v);
    outer: for (let i = 0; i + want.length <= have.length; i++) {
      for (let j = 0; j < want.length; j++) if (have[i + j] !== want[j]) continue outer;
      return true;
    }
    return false;
  };
}

function wordsTest(q: string, all: boolean): (v: unknown) => boolean {
  const want = words(q);
  return (v) => {
    if (typeof v !== 'string' || want.length === 0) return false;
    const have = new Set(words(v));
    return all ? want.every((w) => have.has(w)) : want.some((w) => have.has(w));
  };
}

/**
 * Elasticsearch wildcard syntax (`*`, `?`, `\` escapes), matched without backtracking (util/glob.ts);
 * a pattern Lucene would refuse as too complex is refused as Elasticsearch refuses it.
 */
function wildcardTest(pattern: string, caseInsensitive: boolean): (v: string) => boolean {
  try {
    return compileGlob(pattern, { caseInsensitive, escapes: true, refuseTooComplex: true });
  } catch (e) {
    if (e instanceof TooComplexError) throw new FilterError(`wildcard pattern too complex to determinize: ${e.message}`);
    throw e;
  }
}

const DATE_TYPES = new Set(['date', 'date_nanos']);
const NUMERIC_TYPES = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long']);

/** A range query: bounds compared as the field's type (numbers, instants, IPs, or strings). */
function rangeTest(field: string, ftype: string | undefined, spec: Obj, opts: FilterOptions): (v: unknown) => boolean {
  const bounds: [string, unknown][] = [];
  for (const op of ['gt', 'gte', 'lt', 'lte', 'from', 'to']) if (spec[op] !== undefined && spec[op] !== null) bounds.push([op, spec[op]]);
  if (bounds.length === 0) return () => true;
  const norm = bounds.map(([op, b]): [string, unknown] => [op === 'from' ? (spec.include_lower === false ? 'gt' : 'gte') : op === 'to' ? (spec.include_upper === false ? 'lt' : 'lte') : op, b]);
  const dateLike = ftype !== undefined ? DATE_TYPES.has(ftype) : field === '@timestamp' || norm.every(([, b]) => typeof b === 'string' && isDateBound(b));
  const within = (c: number, op: string) => (op === 'gt' ? c > 0 : op === 'gte' ? c >= 0 : op === 'lt' ? c < 0 : c <= 0);
  if (dateLike) {
    const ms = norm.map(([op, b]): [string, number] => {
      const t = dateBound(b, opts.now);
      if (t === null) throw new FilterError(`range on ${field}: ${JSON.stringify(b)} is not a date`);
      return [op, t];
    });
    return (v) => {
      const t = parseInstant(v);
      if (!t) return false;
      return ms.every(([op, b]) => within(t.ms - b, op));
    };
  }
  if (ftype === 'ip') {
    const ips = norm.map(([op, b]): [string, Uint8Array] => {
      const ip = typeof b === 'string' ? parseIp(b) : null;
      if (!ip) throw new FilterError(`range on ${field}: ${JSON.stringify(b)} is not an IP address`);
      return [op, ip];
    });
    return (v) => {
      const ip = typeof v === 'string' ? parseIp(v) : null;
      return ip !== null && ips.every(([op, b]) => within(compareIps(ip, b), op));
    };
  }
  const numeric = (ftype !== undefined && NUMERIC_TYPES.has(ftype)) || norm.every(([, b]) => typeof b === 'number' || (typeof b === 'string' && b.trim() !== '' && !Number.isNaN(Number(b))));
  if (numeric) {
    const nums = norm.map(([op, b]): [string, number] => [op, Number(b)]);
    return (v) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      return !Number.isNaN(n) && nums.every(([op, b]) => within(n - b, op));
    };
  }
  // keyword: lexicographic by code point, as Elasticsearch compares terms (UTF-8 byte order).
  const strs = norm.map(([op, b]): [string, string] => [op, String(b)]);
  return (v) => typeof v === 'string' && strs.every(([op, b]) => within(v < b ? -1 : v > b ? 1 : 0, op));
}

function isDateBound(b: string): boolean {
  return b.startsWith('now') || parseInstant(b) !== null;
}

function dateBound(b: unknown, now: number): number | null {
  if (typeof b === 'number') return b;
  if (typeof b !== 'string') return null;
  if (b.startsWith('now')) {
    try {
      return resolveDateMath(b, now);
    } catch {
      return null;
    }
  }
  const t = parseInstant(b);
  return t ? t.ms : null;
}

