// Compiles EQL expressions into closures, once per query.
//
// Null semantics follow Elasticsearch, which does not run SQL three-valued logic over the whole
// condition: it folds constants (three-valued), then turns each predicate into a Lucene query or
// a script, and a document either matches that predicate or not. So inside a predicate nulls
// propagate (`compileValue`), while `and`/`or`/`not` between predicates are two-valued
// (`compilePredicate`): `not f == "a"` and `f != "a"` match documents that lack `f`.
// Multi-valued fields match a predicate when any element does, as a Lucene term query would.
import type { ArithOp, Call, Compare, Expr, In, Literal, Match } from '../eql/ast.js';
import { compareInstants, parseInstant, parseInstantSpan, type Instant } from '../events/time.js';
import { fieldAccessor } from './fields.js';
import { arithmetic, functionImpl } from './functions.js';
import { inCidr, parseCidr, parseIp, type Cidr } from './ip.js';
import { javaNumberToString } from './java-number.js';
import { TooComplexError } from './automaton.js';
import { compileLuceneRegex, RegexSyntaxError } from './regex.js';
import { EqlError } from '../eql/errors.js';
import { compareValues, modeForType, scalarToString, toNumber, type CompareMode } from './values.js';
import { compileWildcardList, type StringTest } from './wildcard.js';

export type Source = Record<string, unknown>;
export type ValueFn = (src: Source) => unknown;
export type PredicateFn = (src: Source) => boolean;

export interface ExprContext {
  /** Mapping type of a field (`keyword`, `long`, `date`, `ip`, `version`, …), when known. */
  fieldType?: (name: string) => string | undefined;
  /**
   * Whether a field exists in the mapping. An optional (`?`) field that does not is the constant
   * null, folded before evaluation. Without a mapping every field is assumed to exist.
   */
  fieldExists?: (name: string) => boolean;
  /** The timestamp field compares as a date even without a mapping. */
  timestampField?: string;
  /** The query text, so that compile-time problems (a bad regex) point into it. */
  source?: string;
}

// Case-insensitive operators lower-case the same document strings again and again (hundreds of
// rules test process.name with `:`); a bounded memo turns the repeats into a hash lookup, and V8
// caches a string's hash, so a hit costs far less than a fresh toLowerCase allocation.
const lowerMemo = new Map<string, string>();
// The last string lowered: rules testing the same field of one event ask for it in a row.
let lastRaw = '';
let lastLower = '';
export function lower(s: string): string {
  if (s === lastRaw) return lastLower;
  lastRaw = s;
  let l = lowerMemo.get(s);
  if (l === undefined) {
    l = s.toLowerCase();
    if (lowerMemo.size >= 65_536) lowerMemo.clear();
    lowerMemo.set(s, l);
  }
  lastLower = l;
  return l;
}

const NULL_LITERAL: Literal = { kind: 'literal', value: null, span: { start: 0, end: 0 } };

function lit(value: Literal['value'], from: Expr): Literal {
  return { kind: 'literal', value, span: from.span };
}

function isLit(e: Expr): e is Literal {
  return e.kind === 'literal';
}

function isNullLit(e: Expr): boolean {
  return e.kind === 'literal' && e.value === null;
}

/**
 * Replaces unmapped optional fields by null and evaluates every field-free subtree (three-valued),
 * then refuses what Elasticsearch cannot translate of what is left (refuseNullTerms).
 */
export function fold(e: Expr, ctx: ExprContext): Expr {
  const folded = foldTree(e, ctx);
  refuseNullTerms(folded, ctx);
  return folded;
}

/**
 * `f in~ (…, null)` and `f : (…, null)` on a field: Elasticsearch's parser makes each value an
 * InsensitiveEquals (x-pack/plugin/eql …/parser/ExpressionBuilder.java, IN_INSENSITIVE and SEQ),
 * and on a field its query translator turns each into a case-insensitive term query
 * (…/planner/QueryTranslator.java, InsensitiveBinaryComparisons), whose builder throws on a null
 * value (server …/index/query/BaseTermQueryBuilder.java: "value cannot be null"), so the search
 * fails. Only what survives folding is translated (`f in~ (null) and false` is pruned first),
 * hence the check on the folded tree. A script operand (a function) or a constant is no error:
 * there the comparison with null is null (…/comparison/StringComparisons.java).
 */
function refuseNullTerms(e: Expr, ctx: ExprContext): void {
  const refuse = (at: Expr, what: string): never => {
    throw new EqlError(
      'semantic',
      `${what} compares the field with null, which Elasticsearch cannot search (a case-insensitive term query's value cannot be null)`,
      ctx.source ?? '',
      at.span,
      'test for a missing value with `field == null`',
    );
  };
  switch (e.kind) {
    case 'literal':
    case 'field':
      return;
    case 'not':
    case 'negate':
      refuseNullTerms(e.operand, ctx);
      return;
    case 'and':
    case 'or':
    case 'compare':
    case 'arith':
      refuseNullTerms(e.left, ctx);
      refuseNullTerms(e.right, ctx);
      return;
    case 'in': {
      const nul = e.caseInsensitive && e.operand.kind === 'field' ? e.values.find(isNullLit) : undefined;
      if (nul) refuse(nul, `\`${e.negated ? 'not in~' : 'in~'}\``);
      refuseNullTerms(e.operand, ctx);
      e.values.forEach((v) => refuseNullTerms(v, ctx));
      return;
    }
    case 'match': {
      const nul = e.colon && e.operand.kind === 'field' ? e.patterns.find(isNullLit) : undefined;
      if (nul) refuse(nul, '`:`');
      refuseNullTerms(e.operand, ctx);
      return;
    }
    case 'call':
      e.args.forEach((a) => refuseNullTerms(a, ctx));
      return;
  }
}

function foldTree(e: Expr, ctx: ExprContext): Expr {
  switch (e.kind) {
    case 'literal':
      return e;
    case 'field':
      return e.optional && ctx.fieldExists && !ctx.fieldExists(e.name) ? { ...NULL_LITERAL, span: e.span } : e;
    case 'and':
    case 'or': {
      const left = foldTree(e.left, ctx);
      const right = foldTree(e.right, ctx);
      if (isLit(left) && isLit(right)) return evalConst({ ...e, left, right }, ctx);
      const constSide = isLit(left) ? left : isLit(right) ? right : null;
      const other = constSide === left ? right : left;
      if (constSide) {
        const v = constSide.value;
        if (e.kind === 'and') {
          if (v === true) return other;
          // `C and false` never matches; `C and null` is null or false: never true.
          return v === false ? lit(false, e) : lit(null, e);
        }
        if (v === true) return lit(true, e);
        return other;
      }
      return { ...e, left, right };
    }
    case 'not': {
      const operand = foldTree(e.operand, ctx);
      return isLit(operand) ? evalConst({ ...e, operand }, ctx) : { ...e, operand };
    }
    case 'negate': {
      const operand = foldTree(e.operand, ctx);
      return isLit(operand) ? evalConst({ ...e, operand }, ctx) : { ...e, operand };
    }
    case 'compare':
    case 'arith': {
      const left = foldTree(e.left, ctx);
      const right = foldTree(e.right, ctx);
      const n = { ...e, left, right } as Expr;
      if (isLit(left) && isLit(right)) return evalConst(n, ctx);
      return n.kind === 'compare' ? eliminateBooleanEquals(n) : n;
    }
    case 'in': {
      const operand = foldTree(e.operand, ctx);
      const values = e.values.map((v) => foldTree(v, ctx));
      // Elasticsearch's In (case-sensitive `in`) whose values are all null folds to null, negated
      // or not (In.foldable and fold): nothing matches `f in (null)` nor `f not in (null)`.
      if (!e.caseInsensitive && values.length > 0 && values.every((v) => isLit(v) && v.value === null)) return lit(null, e);
      const n: In = { ...e, operand, values };
      return isLit(operand) && values.every(isLit) ? evalConst(n, ctx) : n;
    }
    case 'match': {
      const operand = foldTree(e.operand, ctx);
      const patterns = e.patterns.map((v) => foldTree(v, ctx));
      const n: Match = { ...e, operand, patterns };
      return isLit(operand) && patterns.every(isLit) ? evalConst(n, ctx) : n;
    }
    case 'call': {
      const args = e.args.map((a) => foldTree(a, ctx));
      const n: Call = { ...e, args };
      return args.every(isLit) ? evalConst(n, ctx) : n;
    }
  }
}

/** Calls that give a boolean (the others give strings or numbers). */
const BOOLEAN_FUNCTIONS: ReadonlySet<string> = new Set(['cidrMatch', 'endsWith', 'startsWith', 'stringContains']);

/**
 * `P == true` is P, `P == false` is `not P` (and `!=` the other way round) when P is a predicate —
 * a comparison, `in`, `:`/like/regex, `and`/`or`/`not` or a boolean function — as Elasticsearch's
 * optimizer rewrites them (x-pack/plugin/ql …/optimizer/OptimizerRules.java,
 * BooleanFunctionEqualsElimination, used by x-pack/plugin/eql …/optimizer/Optimizer.java, after
 * LiteralsOnTheRight so `false == P` too). So `(f == "a") == false` is a must_not and matches
 * events without f, where a three-valued comparison (null == false) would not. A field (a boolean
 * field compared with true) is left as it is; so are arithmetic and other functions, which
 * Elasticsearch would rewrite into a non-boolean filter.
 */
function eliminateBooleanEquals(e: Compare): Expr {
  if (e.op !== '==' && e.op !== '!=') return e;
  const b = isLit(e.right) ? e.right : isLit(e.left) ? e.left : null;
  if (!b || typeof b.value !== 'boolean') return e;
  const p = b === e.right ? e.left : e.right;
  const predicate =
    p.kind === 'compare' || p.kind === 'in' || p.kind === 'match' || p.kind === 'and' || p.kind === 'or' || p.kind === 'not' || (p.kind === 'call' && BOOLEAN_FUNCTIONS.has(p.name));
  if (!predicate) return e;
  const keep = (e.op === '==') === b.value;
  return keep ? p : { kind: 'not', operand: p, span: e.span };
}

function evalConst(e: Expr, ctx: ExprContext): Literal {
  const v = compileValueFolded(e, ctx)({});
  const out = lit(v === undefined ? null : (v as Literal['value']), e);
  // A folded Double stays one (`string(0.5 + 0.5)` is "1.0"): its class is known without an event.
  if (typeof v === 'number') {
    const d = doubleness(e, ctx);
    if (d === true || (typeof d === 'function' && d({}))) out.isFloat = true;
  }
  return out;
}

/** Compiles a `where` condition into a two-valued predicate. */
export function compilePredicate(e: Expr, ctx: ExprContext = {}): PredicateFn {
  const folded = fold(e, ctx);
  return generatedPredicate(folded, ctx) ?? predicate(folded, ctx);
}

/** What a term filter is given: an event, or anything else with the document as `source`. */
export interface HasSource {
  source: Source;
}

/**
 * A query term's filter: the event is of `category` (null: any) and the condition holds. The
 * category is a term query on the category field — its value, or one element of it, equals the
 * category — evaluated as a shared leaf (once per event for every term of that category), and the
 * test and the condition are one generated function: a hunt calls term filters about fifteen times
 * per event, and a separate category closure around the predicate cost a second call each time.
 */
export function compileTermFilter(category: string | null, categoryField: string, condition: Expr, ctx: ExprContext = {}): (ev: HasSource) => boolean {
  const folded = fold(condition, ctx);
  const cat = category === null ? null : categoryLeaf(categoryField, category);
  const generated = generatedPredicate(folded, ctx, { category: cat });
  if (generated) return generated as unknown as (ev: HasSource) => boolean;
  const pred = predicate(folded, ctx);
  if (cat === null) return (ev) => pred(ev.source);
  return (ev) => {
    const s = ev.source;
    return (cat.src === s ? cat.value : evalLeaf(cat, s)) === true && pred(s);
  };
}

const categoryLeaves = new Map<string, SharedLeaf>();

/** The shared leaf "the category field holds `category`" (see compileTermFilter). */
function categoryLeaf(field: string, category: string): SharedLeaf {
  const key = `${field}\u0000${category}`;
  let leaf = categoryLeaves.get(key);
  if (!leaf) {
    const get = fieldAccessor(field);
    const fn = (s: Source): boolean => {
      const c = get(s);
      return c === category || (Array.isArray(c) && c.includes(category));
    };
    leaf = { fn, src: null, value: undefined };
    if (categoryLeaves.size >= MAX_SHARED_LEAVES) categoryLeaves.clear();
    categoryLeaves.set(key, leaf);
  }
  return leaf;
}

/**
 * The same predicate as a tree of closures, without generated code: the reference the generated
 * predicates are tested against (and the fallback for conditions too large to generate).
 */
export function compilePredicateClosures(e: Expr, ctx: ExprContext = {}): PredicateFn {
  return predicate(fold(e, ctx), ctx);
}

/** Compiles an expression into a value function (nulls propagate; predicates give true/false/null). */
export function compileValue(e: Expr, ctx: ExprContext = {}): ValueFn {
  return compileValueFolded(fold(e, ctx), ctx);
}

// ---- shared leaves
//
// A thousand rules share most of their conditions (`host.os.type == "windows"`, `event.type ==
// "start"`, the same `process.name : (…)` lists), and a hunt hands one event to dozens of rules in
// a row. Each distinct leaf condition — a comparison, `in`, `:`/like/regex or string function of
// fields and constants — is compiled once per process and remembers its result for the last
// source object it saw, so the rules after the first get the answer for the price of an identity
// check. Sources are never mutated once read (see EventDoc.source), which is what makes the
// identity a valid key.

interface SharedLeaf {
  fn: ValueFn;
  src: Source | null;
  value: unknown;
}

const leaves = new Map<string, SharedLeaf>();
/** Bound on remembered leaves (a long-lived process compiling ever new rules): reset when full. */
const MAX_SHARED_LEAVES = 200_000;

/**
 * A structural key for an expression: every property but source spans, written by hand (JSON with
 * a replacer called on every property was a good part of compiling a thousand rules). Strings and
 * field names are JSON-quoted, so the key reads back one way; numbers are spelled by String (NaN and
 * the infinities included), -0 spelled out (String gives "0").
 */
function exprKey(e: Expr): string {
  switch (e.kind) {
    case 'literal': {
      const v = e.value;
      const text =
        typeof v === 'string'
          ? JSON.stringify(v)
          : typeof v === 'number'
            ? `#${Object.is(v, -0) ? '-0' : String(v)}`
            : v !== null && typeof v === 'object'
              ? `J${JSON.stringify(v)}` // not a literal the parser makes; kept apart all the same
              : String(v);
      return e.isFloat === true ? `${text}|f` : text;
    }
    case 'field':
      return `${e.optional ? '?' : '@'}${JSON.stringify(e.name)}`;
    case 'not':
    case 'negate':
      return `${e.kind}(${exprKey(e.operand)})`;
    case 'and':
    case 'or':
      return `${e.kind}(${exprKey(e.left)},${exprKey(e.right)})`;
    case 'compare':
    case 'arith':
      return `${e.kind}${e.op}(${exprKey(e.left)},${exprKey(e.right)})`;
    case 'in':
      return `in${e.negated ? '!' : ''}${e.caseInsensitive ? '~' : ''}(${exprKey(e.operand)};${e.values.map(exprKey).join(',')})`;
    case 'match':
      return `${e.op}${e.caseInsensitive ? '~' : ''}${e.colon ? ':' : ''}(${exprKey(e.operand)};${e.patterns.map(exprKey).join(',')})`;
    case 'call':
      return `${e.name}${e.caseInsensitive ? '~' : ''}(${e.args.map(exprKey).join(',')})`;
  }
}

/** The fields an expression reads, for the key (their mapping types change how it compiles). */
function fieldTypesKey(e: Expr, ctx: ExprContext): string {
  const names: string[] = [];
  const walk = (x: Expr): void => {
    switch (x.kind) {
      case 'field':
        names.push(x.name);
        return;
      case 'literal':
        return;
      case 'and':
      case 'or':
      case 'compare':
      case 'arith':
        walk(x.left);
        walk(x.right);
        return;
      case 'not':
      case 'negate':
        walk(x.operand);
        return;
      case 'in':
        walk(x.operand);
        x.values.forEach(walk);
        return;
      case 'match':
        walk(x.operand);
        x.patterns.forEach(walk);
        return;
      case 'call':
        x.args.forEach(walk);
        return;
    }
  };
  walk(e);
  return names.map((n) => `${n}:${ctx.fieldType?.(n) ?? ''}${n === ctx.timestampField ? ':ts' : ''}`).join(',');
}

/** The shared table's entry for a leaf, compiled on first sight (see above). */
function sharedLeafEntry(e: Expr, ctx: ExprContext, build: () => ValueFn): SharedLeaf {
  const key = `${fieldTypesKey(e, ctx)}|${exprKey(e)}`;
  let leaf = leaves.get(key);
  if (!leaf) {
    const fn = build();
    if (leaves.size >= MAX_SHARED_LEAVES) leaves.clear();
    leaf = { fn, src: null, value: undefined };
    leaves.set(key, leaf);
  }
  return leaf;
}

/** Compiles a leaf through the shared table (see above). */
function sharedLeaf(e: Expr, ctx: ExprContext, build: () => ValueFn): ValueFn {
  const l = sharedLeafEntry(e, ctx, build);
  return (s) => {
    if (l.src === s) return l.value;
    const v = l.fn(s);
    l.src = s;
    l.value = v;
    return v;
  };
}

// ---- straight-line predicates
//
// A rule's condition is mostly `and`/`or`/`not` over shared leaves. As a tree of closures each
// connective costs a call through a megamorphic call site per event; generated as one JavaScript
// function (`new Function`) the connectives become `&&`, `||` and `!` in one body, and each shared
// leaf's memo is tested inline (`L3.src === s ? L3.value : …`), so a rule whose leaves another rule
// already evaluated for this event makes no call at all. The generated code holds no constants from
// the query — only references to compiled leaves — so no query text is ever turned into code.
// Semantics are predicate()'s, which stays the fallback and the reference.

/** Largest generated body (characters); bigger conditions use the closures. */
const MAX_GENERATED = 200_000;

/** Evaluates a shared leaf whose memo is for another source, and remembers the result. */
function evalLeaf(l: SharedLeaf, s: Source): unknown {
  const v = l.fn(s);
  l.src = s;
  l.value = v;
  return v;
}

/** Leaf kinds that compileValueFolded shares (see sharedLeaf). */
const SHARED_KINDS = new Set<Expr['kind']>(['field', 'compare', 'in', 'match', 'call']);

/**
 * The generated predicate of a condition (null when too large): a function of the document or,
 * for a term, a function of the event (HasSource) that tests the category first when it has one.
 */
function generatedPredicate(e: Expr, ctx: ExprContext, term: { category: SharedLeaf | null } | null = null): PredicateFn | null {
  const category = term?.category ?? null;
  const refs: unknown[] = [];
  const ref = (x: unknown): string => {
    refs.push(x);
    return `r${refs.length - 1}`;
  };
  const leaf = (entry: SharedLeaf): string => {
    const r = ref(entry);
    return `(${r}.src === s ? ${r}.value : ev(${r}, s))`;
  };
  /** Operands of a chain of the same connective, flattened (no deep nesting in the source). */
  const chain = (x: Expr, kind: 'and' | 'or', out: Expr[]): Expr[] => {
    if (x.kind === kind) {
      chain(x.left, kind, out);
      chain(x.right, kind, out);
    } else out.push(x);
    return out;
  };
  let size = 0;
  const gen = (x: Expr): string => {
    if (++size > MAX_GENERATED / 40) throw new RangeError('condition too large to generate');
    switch (x.kind) {
      case 'literal':
        return x.value === true ? 'true' : 'false';
      case 'and':
      case 'or':
        return `(${chain(x, x.kind, []).map(gen).join(x.kind === 'and' ? ' && ' : ' || ')})`;
      case 'not':
        return `!${gen(x.operand)}`;
      case 'compare':
        if (x.op === '!=' && !isNullLit(x.left) && !isNullLit(x.right)) {
          const pos: Compare = { ...x, op: '==' };
          return `(${leaf(sharedLeafEntry(pos, ctx, () => compileCompare(pos, ctx)))} !== true)`;
        }
        break;
      case 'in':
        if (x.negated) {
          const inPos: In = { ...x, negated: false };
          return `(${leaf(sharedLeafEntry(inPos, ctx, () => compileIn(inPos, ctx)))} !== true)`;
        }
        break;
      default:
        break;
    }
    if (SHARED_KINDS.has(x.kind)) {
      // The same entry compileValueFolded would share (its build for a field reads and normalizes).
      const entry =
        x.kind === 'field'
          ? sharedLeafEntry(x, ctx, () => {
              const get = fieldAccessor(x.name);
              return (src) => normalize(get(src));
            })
          : sharedLeafEntry(x, ctx, () => leafBuilder(x, ctx));
      return `(${leaf(entry)} === true)`;
    }
    return `(${ref(compileValueFolded(x, ctx))}(s) === true)`;
  };
  let body: string;
  try {
    body = category === null ? gen(e) : `${leaf(category)} === true && ${gen(e)}`;
  } catch (err) {
    if (err instanceof RangeError) return null;
    throw err;
  }
  if (body.length > MAX_GENERATED) return null;
  // The body names its references by position only, so conditions of the same shape (half of the
  // Elastic rules' terms share one with another term) share one factory: `new Function` is a good
  // part of compiling a rule.
  const key = `${term === null ? 'p' : 't'}${refs.length}|${body}`;
  let make = factories.get(key);
  if (make === undefined) {
    const names = refs.map((_, i) => `r${i}`);
    const fn =
      term === null
        ? `function generatedPredicate(s) { return ${body}; }`
        : `function generatedTermFilter(doc) { const s = doc.source; return ${body}; }`;
    make = new Function('ev', ...names, `"use strict"; return ${fn};`) as PredicateFactory;
    if (factories.size >= MAX_FACTORIES) factories.clear();
    factories.set(key, make);
  }
  return make(evalLeaf, ...refs);
}

type PredicateFactory = (...args: unknown[]) => PredicateFn;
/** Generated predicate factories by reference count and body (see generatedPredicate). */
const factories = new Map<string, PredicateFactory>();
const MAX_FACTORIES = 20_000;

/** The unshared value function of a compare / in / match / call leaf (what sharedLeaf wraps). */
function leafBuilder(e: Expr, ctx: ExprContext): ValueFn {
  switch (e.kind) {
    case 'compare':
      return compileCompare(e, ctx);
    case 'in':
      return compileIn(e, ctx);
    case 'match':
      return compileMatch(e, ctx);
    case 'call':
      return compileCall(e, ctx);
    default:
      throw new Error(`not a leaf: ${e.kind}`);
  }
}

function predicate(e: Expr, ctx: ExprContext): PredicateFn {
  switch (e.kind) {
    case 'literal': {
      const v = e.value === true;
      return () => v;
    }
    case 'and': {
      const l = predicate(e.left, ctx);
      const r = predicate(e.right, ctx);
      return (s) => l(s) && r(s);
    }
    case 'or': {
      const l = predicate(e.left, ctx);
      const r = predicate(e.right, ctx);
      return (s) => l(s) || r(s);
    }
    case 'not': {
      const p = predicate(e.operand, ctx);
      return (s) => !p(s);
    }
    case 'compare':
      if (e.op === '!=' && !isNullLit(e.left) && !isNullLit(e.right)) {
        // `a != b` is `not a == b`: a Lucene must_not, true when the field is missing.
        const pos: Compare = { ...e, op: '==' };
        const eq = sharedLeaf(pos, ctx, () => compileCompare(pos, ctx));
        return (s) => eq(s) !== true;
      }
      break;
    case 'in':
      if (e.negated) {
        const inPos: In = { ...e, negated: false };
        const pos = sharedLeaf(inPos, ctx, () => compileIn(inPos, ctx));
        return (s) => pos(s) !== true;
      }
      break;
    default:
      break;
  }
  const v = compileValueFolded(e, ctx);
  return (s) => v(s) === true;
}

function compileValueFolded(e: Expr, ctx: ExprContext): ValueFn {
  switch (e.kind) {
    case 'literal': {
      const v = e.value;
      return () => v;
    }
    case 'field': {
      // Shared too: dozens of rules' conditions read process.name of the same event.
      const get = fieldAccessor(e.name);
      return sharedLeaf(e, ctx, () => (s) => normalize(get(s)));
    }
    case 'and': {
      const l = compileValueFolded(e.left, ctx);
      const r = compileValueFolded(e.right, ctx);
      return (s) => {
        const a = truth(l(s));
        if (a === false) return false;
        const b = truth(r(s));
        if (b === false) return false;
        return a === null || b === null ? null : true;
      };
    }
    case 'or': {
      const l = compileValueFolded(e.left, ctx);
      const r = compileValueFolded(e.right, ctx);
      return (s) => {
        const a = truth(l(s));
        if (a === true) return true;
        const b = truth(r(s));
        if (b === true) return true;
        return a === null || b === null ? null : false;
      };
    }
    case 'not': {
      const o = compileValueFolded(e.operand, ctx);
      return (s) => {
        const v = truth(o(s));
        return v === null ? null : !v;
      };
    }
    case 'negate': {
      const o = compileValueFolded(e.operand, ctx);
      return (s) => {
        const v = scalar(o(s));
        if (v === null) return null;
        const n = typeof v === 'number' ? v : Number(v);
        return Number.isNaN(n) ? null : -n;
      };
    }
    case 'arith': {
      const l = compileValueFolded(e.left, ctx);
      const r = compileValueFolded(e.right, ctx);
      const op = e.op;
      return javaArithmetic(op, l, r, doubleness(e, ctx));
    }
    case 'compare':
      return sharedLeaf(e, ctx, () => compileCompare(e, ctx));
    case 'in':
      return sharedLeaf(e, ctx, () => compileIn(e, ctx));
    case 'match':
      return sharedLeaf(e, ctx, () => compileMatch(e, ctx));
    case 'call':
      return sharedLeaf(e, ctx, () => compileCall(e, ctx));
  }
}

const FLOAT_TYPES = new Set(['double', 'float', 'half_float', 'scaled_float']);
const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const ARITH_CALLS = new Set(['add', 'subtract', 'multiply', 'divide', 'modulo']);

/** Whether a number is a Java Double for Elasticsearch: fixed by the query, or read from the event. */
type Doubleness = boolean | ((s: Source) => boolean);

/**
 * Whether an expression's number is a Java Double in Elasticsearch (rather than a Long/Integer),
 * which decides how `/` divides and how `string`/`concat` print it (java-number.ts). ES follows
 * the runtime class: a decimal literal or a floating-point field is a Double, arithmetic with a
 * Double operand gives a Double, `number()` gives a Long unless the text has a fraction or leaves
 * the long range (DecimalFormat.parse). A field without a mapping type holds what dynamic mapping
 * would make of its JSON: a fraction is a float, an integer a long (the JSON text `7.0` reaches us
 * as 7, so it counts as a long).
 */
function doubleness(e: Expr, ctx: ExprContext): Doubleness {
  switch (e.kind) {
    case 'literal':
      return typeof e.value === 'number' && (e.isFloat === true || !Number.isInteger(e.value));
    case 'negate':
      return doubleness(e.operand, ctx);
    case 'field': {
      const t = ctx.fieldType?.(e.name);
      if (t !== undefined && FLOAT_TYPES.has(t)) return true;
      if (t !== undefined && INTEGER_TYPES.has(t)) return false;
      return fractionAt(compileValueFolded(e, ctx));
    }
    case 'arith':
      return eitherDouble(doubleness(e.left, ctx), doubleness(e.right, ctx));
    case 'call':
      if (ARITH_CALLS.has(e.name) && e.args.length === 2) return eitherDouble(doubleness(e.args[0]!, ctx), doubleness(e.args[1]!, ctx));
      if (e.name === 'number') {
        const v = compileValueFolded(e, ctx);
        return (s) => {
          const n = scalar(v(s));
          return typeof n === 'number' && (!Number.isInteger(n) || Object.is(n, -0) || Math.abs(n) >= 2 ** 63);
        };
      }
      return false;
    default:
      return false;
  }
}

function fractionAt(v: ValueFn): (s: Source) => boolean {
  return (s) => {
    const n = scalar(v(s));
    return typeof n === 'number' && !Number.isInteger(n);
  };
}

function eitherDouble(a: Doubleness, b: Doubleness): Doubleness {
  if (a === true || b === true) return true;
  if (a === false) return b;
  if (b === false) return a;
  return (s) => a(s) || b(s);
}

/** Java's arithmetic on two operands whose Double-ness is known statically or per event. */
function javaArithmetic(op: ArithOp, l: ValueFn, r: ValueFn, dbl: Doubleness): ValueFn {
  if (typeof dbl === 'boolean') return (s) => arithmetic(op, scalar(l(s)), scalar(r(s)), dbl);
  return (s) => {
    const a = scalar(l(s));
    const b = scalar(r(s));
    return a === null || b === null ? null : arithmetic(op, a, b, dbl(s));
  };
}

/** A value as `string`/`concat` render it: numbers by their Java class (see java-number.ts). */
function javaText(e: Expr, ctx: ExprContext): ValueFn {
  const v = compileValueFolded(e, ctx);
  const dbl = doubleness(e, ctx);
  return (s) => {
    const x = scalar(v(s));
    if (typeof x !== 'number') return x;
    return javaNumberToString(x, typeof dbl === 'boolean' ? dbl : dbl(s));
  };
}

/** Absent, null, empty array and all-null arrays are all "missing". */
function normalize(v: unknown): unknown {
  if (v === undefined) return null;
  if (Array.isArray(v)) {
    if (v.length === 0) return null;
    if (v.length === 1) return v[0] ?? null;
    let nonNull = 0;
    for (const x of v) if (x !== null && x !== undefined) nonNull++;
    if (nonNull === 0) return null;
    return v;
  }
  return v;
}

function truth(v: unknown): boolean | null {
  if (v === true) return true;
  if (v === false) return false;
  return null;
}

/**
 * A scalar for scripts: Painless reads the first doc value of a multi-valued field, and doc
 * values are sorted, so the smallest value is used.
 */
function scalar(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  let best: unknown = null;
  for (const x of v) {
    if (x === null || x === undefined) continue;
    if (best === null) best = x;
    else if (typeof x === 'number' && typeof best === 'number') {
      if (x < best) best = x;
    } else if (String(x) < String(best)) best = x;
  }
  return best;
}

/** Applies a test to a value or, for multi-valued fields, to each element: true if any is true. */
function anyOf(v: unknown, test: (x: unknown) => boolean | null): boolean | null {
  if (v === null) return null;
  if (!Array.isArray(v)) return test(v);
  let sawFalse = false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x === null || x === undefined) continue;
    const r = test(x);
    if (r === true) return true;
    if (r === false) sawFalse = true;
  }
  return sawFalse ? false : null;
}

function modeOf(e: Expr, ctx: ExprContext): CompareMode | null {
  if (e.kind !== 'field') return null;
  const t = ctx.fieldType?.(e.name);
  if (t) return modeForType(t);
  if (ctx.timestampField && e.name === ctx.timestampField) return 'date';
  return null;
}

function compileCompare(e: Compare, ctx: ExprContext): ValueFn {
  // Comparing with the constant null is a null test on the other side, negated or not.
  if (isNullLit(e.left) || isNullLit(e.right)) {
    const other = compileValueFolded(isNullLit(e.left) ? e.right : e.left, ctx);
    if (e.op === '==') return (s) => other(s) === null;
    if (e.op === '!=') return (s) => other(s) !== null;
    return () => null;
  }
  if (isLit(e.left) && !isLit(e.right)) {
    // Constant on the left: mirror so the fast paths below see `value OP constant`.
    const mirrored = ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' } as const)[e.op];
    e = { ...e, op: mirrored, left: e.right, right: e.left };
  }
  const mode = modeOf(e.left, ctx) ?? modeOf(e.right, ctx) ?? 'auto';
  const op = e.op;
  const test = (c: number | null): boolean | null => {
    if (c === null) return op === '==' ? false : op === '!=' ? true : null;
    switch (op) {
      case '==':
        return c === 0;
      case '!=':
        return c !== 0;
      case '<':
        return c < 0;
      case '<=':
        return c <= 0;
      case '>':
        return c > 0;
      case '>=':
        return c >= 0;
    }
  };
  const l = compileValueFolded(e.left, ctx);
  if (mode === 'date' && isLit(e.right) && e.right.value !== null) {
    const span = parseInstantSpan(e.right.value);
    if (span) return compileDateSpan(l, op, span);
  }
  // A term query on an ip field accepts CIDR notation: `ip == "10.0.0.0/8"` tests membership.
  if (mode === 'ip' && op === '==' && isLit(e.right) && typeof e.right.value === 'string' && e.right.value.includes('/')) {
    const block = parseCidr(e.right.value);
    if (block) {
      const inBlock = (x: unknown) => ipInBlock(x, block);
      return (s) => anyOf(l(s), inBlock);
    }
  }
  if (isLit(e.right)) {
    // On a keyword field a number constant is a term of text: Elasticsearch's term and range
    // queries render it with Java's toString() (KeywordFieldType.indexedValueForSearch), so the
    // decimal literal 1.0 is the term "1.0" and 1.5 is "1.5" (not "1.50").
    const c = mode === 'string' && typeof e.right.value === 'number' ? javaNumberToString(e.right.value, e.right.isFloat === true) : e.right.value;
    // Element tests are built once: a closure per evaluation would allocate on the hot path.
    if (mode === 'auto' && typeof c === 'string' && op === '==') {
      const eqString = (x: unknown) => (x === c ? true : typeof x === 'string' ? false : compareValues(x, c, mode) === 0);
      return (s) => {
        const v = l(s);
        if (typeof v === 'string') return v === c;
        return anyOf(v, eqString);
      };
    }
    const againstConst = (x: unknown) => test(compareValues(x, c, mode));
    return (s) => anyOf(l(s), againstConst);
  }
  const r = compileValueFolded(e.right, ctx);
  return (s) => {
    const a = l(s);
    const b = r(s);
    return anyOf(a, (x) => anyOf(b, (y) => test(compareValues(x, y, mode))));
  };
}

function ipInBlock(x: unknown, block: Cidr): boolean | null {
  const ip = parseIp(String(x));
  return ip ? inCidr(ip, block) : null;
}

/** Date comparisons against a literal's span (see parseInstantSpan): ES rounds the bounds. */
function compileDateSpan(l: ValueFn, op: Compare['op'], span: { lo: Instant; hi: Instant }): ValueFn {
  const test = (x: unknown): boolean | null => {
    const t = parseInstant(x);
    if (!t) return null;
    switch (op) {
      case '==':
        return compareInstants(t, span.lo) >= 0 && compareInstants(t, span.hi) <= 0;
      case '!=':
        return compareInstants(t, span.lo) < 0 || compareInstants(t, span.hi) > 0;
      case '<':
        return compareInstants(t, span.lo) < 0;
      case '<=':
        return compareInstants(t, span.hi) <= 0;
      case '>':
        return compareInstants(t, span.hi) > 0;
      case '>=':
        return compareInstants(t, span.lo) >= 0;
    }
  };
  return (s) => anyOf(l(s), test);
}

function compileIn(e: In, ctx: ExprContext): ValueFn {
  const operand = compileValueFolded(e.operand, ctx);
  const ci = e.caseInsensitive;
  const mode = modeOf(e.operand, ctx) ?? 'auto';
  const negated = e.negated;
  const finish = (r: boolean | null): boolean | null => (negated ? (r === null ? null : !r) : r);
  if (e.values.every(isLit)) {
    const consts = e.values.map((v) => (v as Literal).value);
    const hasNull = consts.includes(null);
    const strings = new Set<string>();
    const numbers = new Set<number>();
    for (const c of consts) {
      if (c === null) continue;
      if (typeof c === 'number') numbers.add(c);
      const s = scalarToString(c)!;
      strings.add(ci ? s.toLowerCase() : s);
      if (typeof c === 'string' && mode !== 'string' && /^\s*[+-]?\d+(\.\d+)?\s*$/.test(c)) numbers.add(Number(c));
    }
    // The constants that are numbers (not text that reads as one): what a number sent as text
    // meets on a field of unknown type (below).
    const numberConsts = new Set<number>();
    for (const c of consts) if (typeof c === 'number') numberConsts.add(c);
    const special = mode === 'date' || mode === 'ip' || mode === 'version';
    const nonNull = consts.filter((c) => c !== null);
    // ES translates `in` on a date field into one `==` per value: each literal covers its span.
    const spans = mode === 'date' ? nonNull.map((c) => parseInstantSpan(c)) : [];
    // On an ip field each value is a term query, so a CIDR value matches its whole block.
    const blocks = mode === 'ip' ? nonNull.map((c) => (typeof c === 'string' && c.includes('/') ? parseCidr(c) : null)) : [];
    const member = (x: unknown): boolean => {
      if (mode === 'ip') {
        return nonNull.some((c, i) => {
          const b = blocks[i];
          return b ? ipInBlock(x, b) === true : compareValues(x, c, mode) === 0;
        });
      }
      if (mode === 'date') {
        const t = parseInstant(x);
        return t !== null && spans.some((sp) => sp !== null && compareInstants(t, sp.lo) >= 0 && compareInstants(t, sp.hi) <= 0);
      }
      if (special) return nonNull.some((c) => compareValues(x, c, mode) === 0);
      // A numeric field indexes a number sent as text ("1.50", "01") as its value, and its terms
      // query compares numbers: `f in (1.5)` matches "1.50" as `f == 1.5` does. A field of unknown
      // type takes a number value as `==` does (compareAuto: as numbers when the text is one), so
      // that `f in (1)` and `f == 1` agree.
      if (mode === 'number' && typeof x === 'string') {
        const n = toNumber(x);
        return n !== null && numbers.has(n);
      }
      if (mode === 'auto' && typeof x === 'string' && numberConsts.size > 0 && !strings.has(ci ? lower(x) : x)) {
        const n = toNumber(x);
        return n !== null && numberConsts.has(n);
      }
      if (typeof x === 'string') return strings.has(ci ? lower(x) : x);
      if (typeof x === 'number') return numbers.has(x) || strings.has(String(x));
      if (typeof x === 'boolean') return strings.has(String(x));
      return false;
    };
    // A null among the values of a case-sensitive `in` matches nothing, as in Elasticsearch: on a
    // field its terms query leaves nulls out, and elsewhere (a script, a folded constant) its
    // InProcessor compares each value with Comparisons.eq, which is null for a null side — so a
    // null operand is null, and an operand equal to no value is null rather than false when a
    // value is null (three-valued inside an expression; either way not a match).
    // The same for `in~` (an OR of InsensitiveEquals in Elasticsearch): where it runs at all — on a
    // function or a constant; on a field it is refused (refuseNullTerms) — StringComparisons'
    // insensitiveEquals is null for a null side, so a null value never matches.
    return (s) => {
      const v = operand(s);
      if (v === null) return null;
      const r = anyOf(v, member);
      return finish(r !== true && hasNull ? null : r);
    };
  }
  const values = e.values.map((v) => compileValueFolded(v, ctx));
  return (s) => {
    const v = operand(s);
    if (v === null) return null;
    const items = values.map((f) => f(s));
    return finish(
      anyOf(v, (x) =>
        items.some((y) => {
          if (ci && typeof x === 'string' && typeof y === 'string') return x.toLowerCase() === y.toLowerCase();
          return compareValues(x, y, mode) === 0;
        }),
      ),
    );
  };
}

function compileMatch(e: Match, ctx: ExprContext): ValueFn {
  const operand = compileValueFolded(e.operand, ctx);
  const ci = e.caseInsensitive;
  const compileList = (patterns: string[]): StringTest => {
    if (e.op === 'like') {
      try {
        return compileWildcardList(ci ? patterns.map((p) => p.toLowerCase()) : patterns);
      } catch (err) {
        if (!(err instanceof TooComplexError)) throw err;
        throw new EqlError('semantic', `wildcard pattern too complex to determinize: ${err.message}`, ctx.source ?? '', e.span, 'Elasticsearch refuses it too (max_determinized_states)');
      }
    }
    const tests = patterns.map((p, i) => {
      try {
        return compileLuceneRegex(p, ci);
      } catch (err) {
        if (!(err instanceof RegexSyntaxError)) throw err;
        const at = e.patterns[i]?.span ?? e.span;
        throw new EqlError('semantic', err.message, ctx.source ?? '', at, 'Lucene regular expressions: see the README');
      }
    });
    return tests.length === 1 ? tests[0]! : (v) => tests.some((t) => t(v));
  };
  // Case-insensitive wildcard matching lower-cases the value; regex~ folds inside the matcher.
  const lowerValue = ci && e.op === 'like';
  const elementTest = (test: StringTest) => (x: unknown) => {
    const s = typeof x === 'string' ? x : scalarToString(x);
    if (s === null) return null;
    return test(lowerValue ? lower(s) : s);
  };
  const run = (v: unknown, test: StringTest): boolean | null => anyOf(v, elementTest(test));
  if (e.patterns.every((p) => isLit(p) && typeof p.value === 'string')) {
    const test = compileList(e.patterns.map((p) => (p as Literal).value as string));
    const elem = elementTest(test);
    if (lowerValue && e.operand.kind === 'field') {
      // The field's value lower-cased once per event for every `:` leaf on that field.
      const folded = loweredField(e.operand, ctx, operand);
      return (s) => {
        const v = folded(s);
        if (typeof v === 'string') return test(v);
        return anyOf(v, elem);
      };
    }
    return (s) => {
      const v = operand(s);
      // Single string values (the common case) skip the multi-value walk.
      if (typeof v === 'string') return test(lowerValue ? lower(v) : v);
      return anyOf(v, elem);
    };
  }
  const patterns = e.patterns.map((p) => compileValueFolded(p, ctx));
  return (s) => {
    const ps = patterns.map((p) => scalarToString(scalar(p(s)))).filter((p): p is string => p !== null);
    if (ps.length === 0) return null;
    // `:` with a null among its patterns (on a function or a constant; on a field it is refused):
    // the comparison with null is null, so a miss is null rather than false.
    const r = run(operand(s), compileList(ps));
    return r !== true && ps.length < patterns.length ? null : r;
  };
}

const loweredLeaves = new Map<string, SharedLeaf>();

/**
 * A field's value with a single string lower-cased (other values as they are), shared by every
 * case-insensitive wildcard leaf on the field and remembered for the last source: a hundred rules
 * test `process.name : (…)` or `process.executable : (…)`, and each lower-cased the same string
 * again (a memo look-up that compares the whole string) before.
 */
function loweredField(field: Expr, ctx: ExprContext, value: ValueFn): ValueFn {
  const key = `${fieldTypesKey(field, ctx)}|${exprKey(field)}`;
  let l = loweredLeaves.get(key);
  if (!l) {
    const fn = (s: Source): unknown => {
      const v = value(s);
      return typeof v === 'string' ? lower(v) : v;
    };
    l = { fn, src: null, value: undefined };
    if (loweredLeaves.size >= MAX_SHARED_LEAVES) loweredLeaves.clear();
    loweredLeaves.set(key, l);
  }
  const leaf = l;
  return (s) => (leaf.src === s ? leaf.value : evalLeaf(leaf, s));
}

/** Functions that ES turns into a Lucene query when given a field and constants. */
const STRING_PREDICATES = new Set(['startsWith', 'endsWith', 'stringContains', 'cidrMatch']);

function compileCall(e: Call, ctx: ExprContext): ValueFn {
  const args = e.args.map((a) => compileValueFolded(a, ctx));
  const constArgs = e.args.map((a) => (isLit(a) ? a.value : undefined));
  if (['add', 'subtract', 'multiply', 'divide', 'modulo'].includes(e.name)) {
    const op = ({ add: '+', subtract: '-', multiply: '*', divide: '/', modulo: '%' } as const)[
      e.name as 'add' | 'subtract' | 'multiply' | 'divide' | 'modulo'
    ];
    const [a, b] = args as [ValueFn, ValueFn];
    return javaArithmetic(op, a, b, doubleness(e, ctx));
  }
  if (e.name === 'string' || e.name === 'concat') {
    // Numbers become text by their Java class: `string(1.0)` is "1.0", `string(1)` is "1".
    const texts = e.args.map((a) => javaText(a, ctx));
    const impl = functionImpl(e.name, false, []);
    return (s) => impl(texts.map((t) => t(s)));
  }
  const impl = functionImpl(e.name, e.caseInsensitive, constArgs);
  // startsWith/endsWith/stringContains on a field with a constant become Lucene queries in ES,
  // and cidrMatch on a field with constant blocks a terms query; they match any value of a
  // multi-valued field.
  if (STRING_PREDICATES.has(e.name) && e.args[0]!.kind === 'field' && e.args.slice(1).every(isLit)) {
    const [first, ...rest] = args as [ValueFn, ...ValueFn[]];
    const restValues = rest.map((f) => f({}));
    const argv: unknown[] = [null, ...restValues];
    const onValue = (x: unknown) => {
      argv[0] = x;
      return impl(argv) as boolean | null;
    };
    return (s) => anyOf(first(s), onValue);
  }
  if (args.length === 1) {
    const a0 = args[0]!;
    return (s) => impl([scalar(a0(s))]);
  }
  return (s) => impl(args.map((a) => scalar(a(s))));
}
