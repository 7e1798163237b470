// Routing: which rules need an event. This is the stateless half of a hunt — it depends only on
// the event and the rules — so it can run on the main thread or, for parallel inputs, on the
// worker thread that parsed the event (src/parallel), which then ships only the events some rule
// needs. The stateful half (sequence state, schedule windows, alerts) stays in hunt().
//
// An event reaches a rule when, in this order:
//   1. the rule's index patterns match the event's index;
//   2. the rule's query can match the event's category (a table keyed by category; queries with
//      `any` terms take every category);
//   3. the rule has no anchors, or the event holds a value one of them requires (engine/anchors,
//      looked up in one index per field: anchor-index.ts), and its term's test of host.os.type,
//      if any, holds (its gate: checked once per index and value, see viewFor);
//   — the rule is now "dispatched" the event —
//   4. the rule's `filters` accept it and its exceptions do not withhold it (Kibana adds both to
//      the rule's search, see filters.ts and rules/exceptions.ts);
//   5. it passes the filter of one of the query's terms (CompiledQuery.relevant): any other event
//      cannot change the rule's results.
import { compile, type CompiledQuery, type CompileOptions, type TermOutline } from '../engine/index.js';
import { applyMapping, mappingCompileOptions, mappingForIndices, type IndexMapping, type IndexMappings } from '../engine/mapping.js';
import { EqlError, forEachField, parse, type Statement } from '../eql/index.js';
import { parseStatementSyntax } from '../eql/parser.js';
import { lazyQuery, OutlineCache, outlineCacheAt, outlineOf } from '../engine/outline.js';
import { lower } from '../engine/expr.js';
import { fieldAccessor, FieldWalker, markPlain, type Accessor, type BuiltWalk } from '../engine/fields.js';
import { FieldAnchorIndex, MEMO_CHARS, MEMO_VALUE_CHARS, MEMO_VALUES, type AnchorIndexData } from './anchor-index.js';
import type { EventDoc } from '../events/types.js';
import { compileExceptionItems, resolveRuleExceptions, type ExceptionPredicate, type ExceptionProblem } from '../rules/exceptions.js';
import type { ExceptionList, ExceptionListRef, Rule } from '../rules/types.js';
import { fieldStatus } from '../rules/validate.js';
import { compileRuleFilters, FilterError, type SourcePredicate } from './filters.js';
import { ruleIndexMatcher, type IndexMatcher } from './index-pattern.js';
import { fixedOffsetOf, intervalTooShort, parseInterval, windowOffsets } from './schedule.js';
import { extraField } from '../rules/cold-fields.js';
import { ruleQueryDigest } from '../rules/query-digest.js';
import { GATE_FIELD } from '../engine/anchors.js';

export interface PrepareOptions {
  timestampField: string;
  /**
   * Overrides the rule's max_signals (the query's size). `Infinity`: no size, every result final
   * as soon as it is found (the detection engine's stream mode).
   */
  maxSignals?: number;
  exceptionLists: ExceptionList[];
  valueLists?: Map<string, Set<string>>;
  /** "now" for validating the rule's from/to (epoch ms). */
  now: number;
  /**
   * Directory of the outline cache (engine/outline.ts): queries whose outline is cached there
   * compile when an event first reaches them instead of now. Absent: every query compiles now.
   */
  outlines?: string;
  /** Schedule replay: the rule's interval and from/to must be valid. */
  replay: boolean;
  /**
   * Shortest interval a replayed rule may have (ms; default 60,000: Kibana's
   * xpack.alerting.rules.minimumScheduleInterval). A shorter one is refused: replaying `1ms` over a
   * day of data is 86 million runs.
   */
  minimumInterval?: number;
  /**
   * The index mappings (`--mapping`): each rule's query is verified and typed against the indices
   * its patterns select, as Elasticsearch resolves the fields of the rule's search. Absent: field
   * types come from ECS and every field counts as mapped.
   */
  mapping?: IndexMappings;
}


/** A rule ready to run: its compiled query, index matcher and exceptions. */
export interface PreparedRule {
  rule: Rule;
  query: CompiledQuery;
  maxSignals: number;
  matchIndex: IndexMatcher;
  /** Exception items without an expire_time: they apply to every run (and are routed on). */
  excepted: ExceptionPredicate | null;
  /** The rule's `filters` (true: the event passes), or null without enabled filters. */
  filter: SourcePredicate | null;
  /**
   * Items with an expire_time: each applies to the runs that start before it expires, as Kibana
   * drops expired items when a run starts; the detection engine checks them per run.
   */
  expiring: ExpiringException[];
  /** Exception lists the rule names that were not given, and exception items that were ignored. */
  missingLists: ExceptionListRef[];
  exceptionProblems: ExceptionProblem[];
  /** Names of exception items Kibana would not apply to an EQL rule (value lists it cannot use). */
  unprocessedExceptions: string[];
  /**
   * With a mapping: false when none of its indices is selected by the rule's index patterns (the
   * rule then runs with ECS types, as without a mapping). Undefined without a mapping.
   */
  mapped?: boolean;
  /**
   * The key of the query's outline in the outline cache when the query was made from it (compiled
   * when an event first reaches it): everything the router's index takes from the rule follows
   * from it (router-cache.ts). Undefined when the query was compiled now.
   */
  outline?: string;
  /**
   * The names of the fields the query's text reads (queryFieldNames), when an outline cache is
   * used: kept in the query's outline, so that a hunt's threads learn the fields to pick from the
   * lines (hunt-picker.ts) without parsing a thousand queries. Undefined without a cache.
   */
  fields?: readonly string[];
}

/** The names of the fields a query's text reads (its `by` keys included), each once, in order. */
export function queryFieldNames(query: string): string[] {
  const names = new Set<string>();
  forEachField(parseStatementSyntax(query), (f) => names.add(f.name));
  return [...names];
}

/** The rule's index matcher, built the first time an index is asked about (most never are). */
function lazyIndexMatcher(patterns: Rule['index']): IndexMatcher {
  let m: IndexMatcher | null = null;
  return (index) => (m ??= ruleIndexMatcher(patterns))(index);
}

export interface ExpiringException {
  /** Epoch ms: the item applies to runs starting before this time. */
  expireMs: number;
  predicate: ExceptionPredicate;
}

const typeOf = (n: string) => {
  const s = fieldStatus(n);
  return s.known ? s.type : undefined;
};

/**
 * The rule's own EQL `timestamp_field` (Kibana passes it to the EQL search, which orders events
 * by it), or undefined for the hunt's ordering field.
 */
export function ruleTimestampField(rule: Rule): string | undefined {
  const f = extraField(rule, 'timestamp_field');
  return typeof f === 'string' && f !== '' ? f : undefined;
}

/**
 * The options a rule's query is compiled with: its timestamp, tiebreaker and category fields,
 * max_signals as the size, and field types from ECS. `eqlite explain` compiles the parts of a
 * query with the same options, so that its verdicts are the engine's.
 */
export function ruleCompileOptions(rule: Rule, opts: Pick<PrepareOptions, 'timestampField' | 'maxSignals' | 'mapping'>): CompileOptions {
  const mapping = opts.mapping ? ruleMapping(rule, opts.mapping) : null;
  return {
    timestampField: ruleTimestampField(rule) ?? opts.timestampField,
    tiebreakerField: rule.tiebreaker_field ?? null,
    eventCategoryField: rule.event_category_override ?? 'event.category',
    size: opts.maxSignals === Infinity ? undefined : (opts.maxSignals ?? rule.max_signals),
    ...(mapping ? mappingCompileOptions(mapping) : { fieldType: typeOf }),
  };
}

/** The mapping of the indices the rule's patterns select (null: the file holds none of them). */
export function ruleMapping(rule: Rule, mappings: IndexMappings): IndexMapping | null {
  // Rules share index patterns: one merge per distinct pattern list.
  let byPatterns = mappingMemo.get(mappings);
  if (!byPatterns) mappingMemo.set(mappings, (byPatterns = new Map()));
  const key = (rule.index ?? []).join('\n');
  let m = byPatterns.get(key);
  if (m === undefined) byPatterns.set(key, (m = mappingForIndices(mappings, ruleIndexMatcher(rule.index))));
  return m;
}

const mappingMemo = new WeakMap<IndexMappings, Map<string, IndexMapping | null>>();

/**
 * The rule's query as it runs: parsed, and with a mapping verified and its aliases resolved as
 * Elasticsearch's analyzer does (throws EqlError for an unknown field). `eqlite explain` plans the
 * same statement.
 */
export function ruleStatement(rule: Rule, mappings: IndexMappings | undefined): Statement {
  const stmt = parse(rule.query!);
  const mapping = mappings ? ruleMapping(rule, mappings) : null;
  if (mapping) applyMapping(stmt, mapping);
  return stmt;
}

/**
 * Compiles one rule, or says why it cannot run. Deterministic in its inputs, so the worker
 * threads of a parallel hunt prepare exactly the rules the main thread prepared.
 */
export function prepareRule(rule: Rule, opts: PrepareOptions): PreparedRule | { skip: string } {
  if (rule.unsupported) return { skip: rule.unsupported };
  if (rule.type !== 'eql') return { skip: `rule type ${rule.type} is not supported (eqlite runs EQL rules)` };
  if (!rule.query) return { skip: 'rule has no query' };
  const maxSignals = opts.maxSignals ?? rule.max_signals;
  const copts = ruleCompileOptions(rule, opts);
  const text = rule.query;
  // With an outline cache, a query seen before compiles only when an event first reaches it. The
  // cache is keyed by the query text, not by a mapping, so a run with a mapping does not use it.
  const cache = opts.outlines && !opts.mapping ? outlineCacheAt(opts.outlines) : null;
  const key = cache ? OutlineCache.key(ruleQueryDigest(rule), [copts.timestampField, copts.tiebreakerField, copts.eventCategoryField]) : '';
  const known = cache?.get(key);
  if (known && 'error' in known) return { skip: `query does not compile: ${known.error}` };
  let query: CompiledQuery;
  let fields: readonly string[] | undefined;
  try {
    if (known) {
      query = lazyQuery(known, () => compile(text, copts));
      fields = known.fields;
    } else {
      query = compile(opts.mapping ? ruleStatement(rule, opts.mapping) : text, copts);
      if (cache) {
        // (The text parsed again, once per query and build: what the cache then spares each
        // input worker of every later hunt.)
        const names = queryFieldNames(text);
        fields = names;
        cache.set(key, { ...outlineOf(query), fields: names });
      }
    }
  } catch (e) {
    // Every problem ES's verifier would list, on the rule's one line.
    const message = e instanceof EqlError ? e.all().map((p) => p.problem.split('\n')[0]).join('; ') : (e as Error).message.split('\n')[0]!;
    cache?.set(key, { error: message });
    return { skip: `query does not compile: ${message}` };
  }
  if (opts.replay) {
    try {
      const short = intervalTooShort(rule.interval, parseInterval(rule.interval), opts.minimumInterval);
      if (short) return { skip: short };
      // Both bounds must resolve; the usual fixed offsets (`now-9m`) are known to.
      if (fixedOffsetOf(rule.from) === null || fixedOffsetOf(rule.to) === null) windowOffsets(rule.from, rule.to, opts.now);
    } catch (e) {
      return { skip: (e as Error).message };
    }
  }
  let filter: SourcePredicate | null;
  try {
    filter = compileRuleFilters(extraField(rule, 'filters'), { now: opts.now });
  } catch (e) {
    if (e instanceof FilterError) return { skip: `rule filters cannot be applied: ${e.message}` };
    throw e;
  }
  // Most rules name no exception list: nothing to resolve or compile (a thousand rules' worth of
  // empty lists and closures was allocated while a hunt starts).
  if (rule.exceptions_list.length === 0) {
    return {
      rule,
      query,
      maxSignals,
      matchIndex: lazyIndexMatcher(rule.index),
      excepted: null,
      filter,
      expiring: [],
      missingLists: [],
      exceptionProblems: [],
      unprocessedExceptions: [],
      ...(opts.mapping ? { mapped: ruleMapping(rule, opts.mapping) !== null } : {}),
      ...(known ? { outline: key } : {}),
      ...(fields ? { fields } : {}),
    };
  }
  const { lists, missing } = resolveRuleExceptions(rule, opts.exceptionLists);
  const items = lists.flatMap((l) => l.items);
  const expireOf = (i: (typeof items)[number]) => (i.expire_time === undefined ? Number.NaN : Date.parse(i.expire_time));
  // Items whose expire_time does not parse never expire (as before); the others are per run.
  const permanent = compileExceptionItems(
    items.filter((i) => Number.isNaN(expireOf(i))),
    { valueLists: opts.valueLists, eql: true },
  );
  const expiring: ExpiringException[] = [];
  const problems = [...permanent.problems];
  const unprocessed = [...permanent.unprocessed];
  for (const item of items) {
    const expireMs = expireOf(item);
    if (Number.isNaN(expireMs)) continue;
    const c = compileExceptionItems([item], { valueLists: opts.valueLists, now: -Infinity, eql: true });
    problems.push(...c.problems);
    unprocessed.push(...c.unprocessed);
    if (c.active > 0) expiring.push({ expireMs, predicate: c.predicate });
  }
  return {
    rule,
    query,
    maxSignals,
    matchIndex: lazyIndexMatcher(rule.index),
    excepted: permanent.active > 0 ? permanent.predicate : null,
    filter,
    expiring,
    missingLists: missing,
    exceptionProblems: problems,
    unprocessedExceptions: unprocessed.map((i) => i.name),
    ...(opts.mapping ? { mapped: ruleMapping(rule, opts.mapping) !== null } : {}),
    ...(known ? { outline: key } : {}),
    ...(fields ? { fields } : {}),
  };
}

/** Counters of one router; a parallel hunt adds up those of its workers. */
export interface RouteCounters {
  /** Per rule: events dispatched to it (index, category and anchors matched). */
  dispatched: number[];
  /** Per rule: of those, events withheld by its exceptions. */
  excepted: number[];
  /** Per rule: of those, events its `filters` rejected. */
  filtered: number[];
  /** Events dispatched to no rule. */
  unrouted: number;
  /** Events without an index (no rule can see them). */
  noIndex: number;
}

export function emptyCounters(rules: number): RouteCounters {
  return {
    dispatched: new Array<number>(rules).fill(0),
    excepted: new Array<number>(rules).fill(0),
    filtered: new Array<number>(rules).fill(0),
    unrouted: 0,
    noIndex: 0,
  };
}

/** The counts so far (a copy), which start again from zero (parts of a file share one router). */
export function takeCounters(c: RouteCounters): RouteCounters {
  const copy = { ...c, dispatched: [...c.dispatched], excepted: [...c.excepted], filtered: [...c.filtered] };
  Object.assign(c, emptyCounters(c.dispatched.length));
  return copy;
}

export function addCounters(into: RouteCounters, c: RouteCounters): void {
  for (let i = 0; i < into.dispatched.length; i++) {
    into.dispatched[i]! += c.dispatched[i] ?? 0;
    into.excepted[i]! += c.excepted[i] ?? 0;
    into.filtered[i]! += c.filtered?.[i] ?? 0;
  }
  into.unrouted += c.unrouted;
  into.noIndex += c.noIndex;
}

interface CategoryTable {
  field: string;
  get: Accessor;
  /** Category → the slots (rule terms) of that category. */
  byCategory: Map<string, number[]>;
  /** Slots of `any` terms. */
  any: number[];
}

/**
 * Per index and value of the gate field (host.os.type): which rules search the index, which slots
 * the value lets through (their gate, engine/anchors.ts eventGate), and per category table those
 * slots.
 */
interface IndexView {
  mask: Uint8Array;
  /** Per slot: 1 when the event's gate value meets the slot's gate (or it has none); null: every slot. */
  pass: Uint8Array | null;
  tables: IndexSlots[];
}

/** An index's views: one per gate value seen lately, one for events without one, one for any other value. */
interface IndexViews {
  mask: Uint8Array;
  byValue: Map<string, IndexView>;
  missing: IndexView | null;
  ungated: IndexView | null;
}

/** A slot's gate: the values (as they are) and lower-cased values one of which the event's must be. */
export interface SlotGate {
  exact: string[];
  folded: string[];
}

interface IndexSlots {
  /** Category → the slots of rules that search the index (null: none of that category). */
  byCategory: Map<string, SlotList | null>;
  any: SlotList;
}

/**
 * Slots an event may be offered (one category's, or the `any` terms', of rules that search the
 * index), with the anchored fields their requirements read: only those fields' values can change
 * whether one of these slots is offered, so the walk's other values are not looked up.
 */
interface SlotList {
  slots: readonly number[];
  /**
   * Per slot of `slots`: its first requirement, or -1 when it has none. Nearly every slot offer()
   * looks at has an anchor the event does not meet, and this one read rules it out.
   */
  firstReq: Int32Array;
  /** Walked fields (their numbers in fieldGroups) and, after them, presence groups (fieldGroups.length + i). */
  fields: Int32Array;
}

/** A walked field's memo of string values (RuleRouter.stringLists). */
interface FieldMemo {
  lists: Map<string, readonly (readonly number[])[]>;
  chars: number;
}

interface AnchorGroup {
  field: string;
  get: Accessor;
  /** Integer anchors (Anchor.numeric): only integer values are looked up. */
  numeric: boolean;
  /** Boolean anchors (Anchor.boolean): only booleans are looked up. */
  boolean: boolean;
  /** Range anchors (Anchor.range): only numbers are looked up. */
  range: boolean;
  /**
   * Presence anchors (Anchor.exists): read with the accessor, not walked, as the engine reads the
   * field (an object or a nested array is a value too, and the walk reports neither).
   */
  exists: boolean;
  index: FieldAnchorIndex;
}

/**
 * Routing works on slots: one per term of a rule's query (positive, missing-event and `until`
 * terms), each with the term's category and anchors. A rule is offered an event when one of its
 * slots is of the event's category and, if anchored, had an anchor hit — so a sequence whose
 * network term only needs `host.os.type == "windows"` is not offered every Windows process event
 * its process term's anchors reject.
 */
export class RuleRouter {
  readonly counters: RouteCounters;
  /**
   * Strings one of which the JSON text of any event some rule can use contains (the union of the
   * rules' needles); null when a rule has none. Inputs use them to skip lines unparsed.
   */
  readonly needles: readonly string[] | null;
  private readonly tables: CategoryTable[];
  private readonly anchorGroups: AnchorGroup[];
  /** The presence groups among them (markAnchors reads their fields one by one). */
  private readonly existsGroups: AnchorGroup[];
  /** Reads every anchored field of an event in one walk; fieldGroups[i]: the groups of its field i. */
  readonly walker: FieldWalker;
  private readonly fieldGroups: AnchorGroup[][];
  /** Per walked field: the rule lists a string value marks in all of the field's groups (see stringLists). */
  private readonly fieldMemos: FieldMemo[];
  private walkStamp = 0;
  /**
   * Per walked field, then per presence group: the stamp of the event some slot it may be offered
   * reads the field for (route() stamps the fields of its slot lists before the walk); the walk's
   * values of other fields could only mark requirements of slots the event is not offered.
   */
  private readonly fieldWanted: Float64Array;
  /** Per slot: the numbers (as in SlotList.fields) of the fields its anchors read, slotFields[s] to slotFields[s + 1] - 1 in slotFieldList. */
  private readonly slotFields: Int32Array;
  private readonly slotFieldList: Int32Array;
  /** route()'s slot lists for the event, in the order they are offered. */
  private readonly eventLists: SlotList[] = [];
  private readonly onValue = (field: number, v: unknown): void => {
    if (this.fieldWanted[field] !== this.walkStamp) return;
    if (typeof v === 'string') {
      const lists = this.stringLists(field, v);
      const hit = this.reqHit;
      const stamp = this.walkStamp;
      for (let i = 0; i < lists.length; i++) {
        const l = lists[i]!;
        for (let j = 0; j < l.length; j++) hit[l[j]!] = stamp;
      }
      return;
    }
    const groups = this.fieldGroups[field]!;
    for (let i = 0; i < groups.length; i++) this.hit(groups[i]!, v, this.walkStamp);
  };
  /**
   * Per slot: its rule and its requirements (engine/anchors.ts: the event must meet an anchor of
   * each), numbered slotReqs[s] to slotReqs[s + 1] - 1; none when the slot is not anchored.
   */
  private readonly slotRule: Int32Array;
  private readonly slotReqs: Int32Array;
  /** Per requirement: the stamp of the event that last met one of its anchors. */
  private readonly reqHit: Float64Array;
  /** Per rule: stamp of the event it was last offered. */
  private readonly offered: Float64Array;
  private readonly indexViews = new Map<string, IndexViews>();
  /** Per slot: its gate, or null (buildRouterIndex); `gated`: some slot has one. */
  private readonly slotGates: readonly (SlotGate | null)[];
  private readonly gated: boolean;
  private readonly gateGet: Accessor = fieldAccessor(GATE_FIELD);
  private readonly out: number[] = [];
  /** route()'s `answers`, while it routes. */
  private answersOut: unknown[] | null = null;
  private stamp = 0;

  /**
   * `built`: the index buildRouterIndex made from these rules (in this order), kept from an earlier
   * run (router-cache.ts); without it the index is built now.
   */
  constructor(
    private readonly rules: readonly PreparedRule[],
    built?: RouterIndexData,
  ) {
    const n = rules.length;
    this.counters = emptyCounters(n);
    this.offered = new Float64Array(n);
    const d = built ?? buildRouterIndex(rules);
    this.slotRule = d.slotRule;
    this.slotReqs = d.slotReqs;
    this.reqHit = new Float64Array(d.slotReqs[d.slotRule.length]!);
    this.tables = d.tables.map((t) => ({ field: t.field, get: fieldAccessor(t.field), byCategory: t.byCategory, any: t.any }));
    this.slotGates = d.slotGates;
    this.gated = d.slotGates.some((g) => g !== null);
    this.anchorGroups = d.groups.map((g) => ({
      field: g.field,
      get: fieldAccessor(g.field),
      numeric: g.numeric,
      boolean: g.boolean === true,
      range: g.range === true,
      exists: g.exists === true,
      index: new FieldAnchorIndex(lower, g.index),
    }));
    this.existsGroups = this.anchorGroups.filter((g) => g.exists);
    const byField = new Map<string, AnchorGroup[]>();
    for (const g of this.anchorGroups) if (!g.exists) push(byField, g.field, g);
    // The fields route() reads by accessor besides the walked ones are walked to as well, unreported,
    // so that its accessors may trust the walk's plain mark (engine/fields.ts PlainScope).
    const also = [...new Set([...this.tables.map((t) => t.field), GATE_FIELD, ...this.existsGroups.map((g) => g.field)])].filter((f) => !byField.has(f));
    this.walker = new FieldWalker([...byField.keys()], also);
    this.fieldGroups = [...byField.values()];
    this.fieldMemos = this.fieldGroups.map(() => ({ lists: new Map(), chars: 0 }));
    this.needles = d.needles;
    // Which fields each slot's requirements read: a group's `all` lists every requirement anchored
    // in it (a requirement met by anchors on several fields is in each field's groups).
    const nFields = this.fieldGroups.length;
    this.fieldWanted = new Float64Array(nFields + this.existsGroups.length);
    const reqFields: number[][] = Array.from({ length: this.reqHit.length }, () => []);
    const addField = (list: readonly number[], f: number) => {
      for (let k = 0; k < list.length; k++) {
        const l = reqFields[list[k]!]!;
        if (l[l.length - 1] !== f) l.push(f);
      }
    };
    for (let f = 0; f < nFields; f++) for (const g of this.fieldGroups[f]!) addField(g.index.all, f);
    this.existsGroups.forEach((g, i) => addField(g.index.all, nFields + i));
    const nSlots = this.slotRule.length;
    const starts = new Int32Array(nSlots + 1);
    const list: number[] = [];
    for (let s = 0; s < nSlots; s++) {
      const from = list.length;
      for (let r = this.slotReqs[s]!; r < this.slotReqs[s + 1]!; r++) for (const f of reqFields[r]!) if (list.indexOf(f, from) < 0) list.push(f);
      starts[s + 1] = list.length;
    }
    this.slotFields = starts;
    this.slotFieldList = Int32Array.from(list);
  }

  /**
   * Indexes (into the rules) of the rules that need the event, in no particular order. The array
   * is reused by the next call. With `answers`, each of those rules' queries appends its answers
   * to it (CompiledQuery.writeAnswers), in the order of the indexes returned.
   */
  route(ev: EventDoc, answers?: unknown[]): readonly number[] {
    const out = this.out;
    out.length = 0;
    this.answersOut = answers ?? null;
    if (ev.index === '') {
      this.counters.noIndex++;
      return out;
    }
    const stamp = ++this.stamp;
    const src = ev.source;
    // The slots the event may be offered first (its index, gate value and categories), so that
    // the walk looks up only the values of fields their anchors read.
    const view = this.viewFor(ev.index, this.gated ? this.gateGet(src) : null);
    const lists = this.eventLists;
    lists.length = 0;
    for (let ti = 0; ti < this.tables.length; ti++) {
      const table = this.tables[ti]!;
      const slots = view.tables[ti]!;
      const c = table.get(src);
      if (typeof c === 'string') {
        const l = this.slotsOf(table, slots, view, c);
        if (l !== null) lists.push(l);
      } else if (Array.isArray(c)) {
        for (const x of c) {
          const l = typeof x === 'string' ? this.slotsOf(table, slots, view, x) : null;
          if (l !== null) lists.push(l);
        }
      }
      lists.push(slots.any);
    }
    const wanted = this.fieldWanted;
    for (let li = 0; li < lists.length; li++) {
      const fields = lists[li]!.fields;
      for (let k = 0; k < fields.length; k++) wanted[fields[k]!] = stamp;
    }
    this.markAnchors(src, stamp, ev.walked);
    let dispatched = false;
    for (let li = 0; li < lists.length; li++) if (this.offer(lists[li]!, ev, stamp)) dispatched = true;
    lists.length = 0;
    if (!dispatched) this.counters.unrouted++;
    return out;
  }

  /**
   * The fields steps 1–3 read (category fields, anchor fields and the gate field): an event that holds the same
   * values in these fields is dispatched to the same rules.
   */
  dispatchFields(): string[] {
    const fields = new Set<string>();
    for (const t of this.tables) fields.add(t.field);
    for (const g of this.anchorGroups) fields.add(g.field);
    if (this.gated) fields.add(GATE_FIELD);
    return [...fields];
  }

  /**
   * Whether some rule would be dispatched the event (steps 1–3 only, no counters): `source` need
   * only hold the dispatchFields(). False means route() of the whole event returns no rule, so
   * the service can leave a document it cannot use unparsed.
   */
  mayDispatch(source: Record<string, unknown>, index: string): boolean {
    if (index === '') return false;
    const stamp = ++this.stamp;
    // Any slot may be open: every field is looked up.
    this.fieldWanted.fill(stamp);
    this.markAnchors(source, stamp);
    const view = this.viewFor(index, this.gated ? this.gateGet(source) : null);
    const mask = view.mask;
    const pass = view.pass;
    const open = (list: number[]): boolean => {
      for (let k = 0; k < list.length; k++) {
        const s = list[k]!;
        if (mask[this.slotRule[s]!] && (pass === null || pass[s] === 1) && this.anchorsMet(s, stamp)) return true;
      }
      return false;
    };
    for (let ti = 0; ti < this.tables.length; ti++) {
      const table = this.tables[ti]!;
      const c = table.get(source);
      if (typeof c === 'string') {
        const l = table.byCategory.get(c);
        if (l && open(l)) return true;
      } else if (Array.isArray(c)) {
        for (const x of c) {
          const l = typeof x === 'string' ? table.byCategory.get(x) : undefined;
          if (l && open(l)) return true;
        }
      }
      if (open(table.any)) return true;
    }
    return false;
  }

  /**
   * Stamps every slot one of whose anchors the event's values meet, and marks the source plain
   * when it is (engine/fields.ts: the rules' accessors then answer its missing fields at once).
   */
  private markAnchors(src: Record<string, unknown>, stamp: number, built?: BuiltWalk): void {
    this.walkStamp = stamp;
    // (A walk made as the document was built, by this router's walker: LinePicker.walkWith.)
    if (built !== undefined && built.walker === this.walker) this.walker.walkBuilt(src, built, this.onValue);
    else if (!this.walker.walk(src, this.onValue)) {
      // Too large to walk: one look-up per field (marking a slot twice changes nothing).
      markPlain(src);
      for (let ai = 0; ai < this.anchorGroups.length; ai++) {
        const g = this.anchorGroups[ai]!;
        if (g.exists) continue;
        const v = g.get(src);
        if (Array.isArray(v)) for (const x of v) this.hit(g, x, stamp);
        else if (v !== undefined) this.hit(g, v, stamp);
      }
    }
    const exists = this.existsGroups;
    const first = this.fieldGroups.length;
    for (let i = 0; i < exists.length; i++) {
      if (this.fieldWanted[first + i] === stamp && present(exists[i]!.get(src))) exists[i]!.index.markAll(this.reqHit, stamp);
    }
  }

  /**
   * What a string value of walked field `field` marks in every group of the field (as hit() would
   * in each: its anchors' lists, and every rule of an integer group), remembered per field: most
   * fields carry a case-sensitive and a case-insensitive group, and one look-up of the event's
   * string instead of one per group spares hashing and comparing it again. Bounded as the groups'
   * own memos are.
   */
  private stringLists(field: number, v: string): readonly (readonly number[])[] {
    const memo = this.fieldMemos[field]!;
    let lists = memo.lists.get(v);
    if (lists !== undefined) return lists;
    const groups = this.fieldGroups[field]!;
    if (groups.length === 1 && !groups[0]!.numeric && !groups[0]!.boolean && !groups[0]!.range) lists = groups[0]!.index.listsForRaw(v);
    else {
      const all: (readonly number[])[] = [];
      for (let i = 0; i < groups.length; i++) {
        const g = groups[i]!;
        if (g.numeric || g.boolean || g.range) all.push(g.index.all);
        else all.push(...g.index.listsForRaw(v));
      }
      lists = all;
    }
    if (v.length <= MEMO_VALUE_CHARS) {
      if (memo.lists.size >= MEMO_VALUES || memo.chars >= MEMO_CHARS) {
        memo.lists.clear();
        memo.chars = 0;
      }
      memo.lists.set(v, lists);
      memo.chars += v.length;
    }
    return lists;
  }

  private hit(g: AnchorGroup, v: unknown, stamp: number): void {
    if (g.range) {
      // A number lies in the anchor's ranges or meets none of them; anything else: the query decides.
      if (typeof v === 'number') g.index.markNumber(v, this.reqHit, stamp);
      else if (v !== null && v !== undefined && typeof v !== 'object') g.index.markAll(this.reqHit, stamp);
      return;
    }
    if (g.boolean) {
      // A boolean is one of the anchor's or meets none of them; anything else: the query decides.
      if (typeof v === 'boolean') g.index.markExact(v ? 'true' : 'false', this.reqHit, stamp);
      else if (v !== null && v !== undefined && typeof v !== 'object') g.index.markAll(this.reqHit, stamp);
      return;
    }
    if (g.numeric) {
      // An integer is one of the anchor's integers or meets none of them; anything else: the query decides.
      if (typeof v === 'number' && Number.isSafeInteger(v)) g.index.markExact(String(v), this.reqHit, stamp);
      else if (v !== null && v !== undefined && typeof v !== 'object') g.index.markAll(this.reqHit, stamp);
      return;
    }
    if (typeof v === 'string') g.index.mark(v, this.reqHit, stamp);
    // A number or boolean compared with a string constant: let the rule's own condition decide.
    else if (v !== null && v !== undefined && typeof v !== 'object') g.index.markAll(this.reqHit, stamp);
  }

  /** Whether the event met an anchor of each of the slot's requirements (true for an unanchored slot). */
  private anchorsMet(s: number, stamp: number): boolean {
    const end = this.slotReqs[s + 1]!;
    for (let r = this.slotReqs[s]!; r < end; r++) if (this.reqHit[r] !== stamp) return false;
    return true;
  }

  /**
   * Offers the event to the rule of each slot of a list (once per event); true if any was
   * dispatched it. The list holds only slots whose rule searches the event's index (viewFor).
   */
  private offer(list: SlotList, ev: EventDoc, stamp: number): boolean {
    let any = false;
    const slots = list.slots;
    const firstReq = list.firstReq;
    const hit = this.reqHit;
    for (let k = 0; k < slots.length; k++) {
      const q = firstReq[k]!;
      if (q >= 0 && hit[q] !== stamp) continue;
      const s = slots[k]!;
      const i = this.slotRule[s]!;
      if (this.offered[i] === stamp || !this.anchorsMet(s, stamp)) continue;
      this.offered[i] = stamp;
      any = true;
      this.counters.dispatched[i]!++;
      const r = this.rules[i]!;
      if (r.filter && !r.filter(ev.source)) {
        this.counters.filtered[i]!++;
        continue;
      }
      if (r.excepted && r.excepted(ev.source)) {
        this.counters.excepted[i]!++;
        continue;
      }
      const flat = this.answersOut;
      // With answers wanted, they decide relevance too, so the terms run once.
      if (flat === null ? r.query.relevant(ev) : r.query.writeAnswers(ev, flat)) this.out.push(i);
    }
    return any;
  }

  /**
   * The slots of a category whose rule searches the index (in the table's order), made the first
   * time the index and category meet: about two thirds of an Agent event's category slots belong
   * to rules whose index patterns do not select its data stream, and were checked and passed over
   * one by one for every event.
   */
  private slotsOf(table: CategoryTable, slots: IndexSlots, view: IndexView, category: string): SlotList | null {
    let l = slots.byCategory.get(category);
    if (l === undefined) {
      const all = table.byCategory.get(category);
      l = all === undefined ? null : this.slotList(this.selected(all, view));
      // Bounded like the views: an input that names a new category per event must not grow it.
      if (slots.byCategory.size >= 4096) slots.byCategory.clear();
      slots.byCategory.set(category, l);
    }
    return l;
  }

  /** The slots with the fields they read (SlotList). */
  private slotList(slots: number[]): SlotList {
    const fields: number[] = [];
    const seen = new Uint8Array(this.fieldWanted.length);
    for (const s of slots) {
      for (let k = this.slotFields[s]!; k < this.slotFields[s + 1]!; k++) {
        const f = this.slotFieldList[k]!;
        if (seen[f] === 1) continue;
        seen[f] = 1;
        fields.push(f);
      }
    }
    const firstReq = Int32Array.from(slots, (s) => (this.slotReqs[s + 1]! > this.slotReqs[s]! ? this.slotReqs[s]! : -1));
    return { slots, firstReq, fields: Int32Array.from(fields) };
  }

  private selected(list: readonly number[], view: IndexView): number[] {
    const out: number[] = [];
    const { mask, pass } = view;
    for (const s of list) if (mask[this.slotRule[s]!] && (pass === null || pass[s] === 1)) out.push(s);
    return out;
  }

  /**
   * The view of an index and gate value (the event's host.os.type): its mask of rules, the slots
   * the value lets through and its slot lists (see slotsOf). A string is a value; null or
   * undefined meets no gate (a missing field equals no string); anything else (an array, a number)
   * is left to the rules' own conditions, as the anchor index leaves it.
   */
  private viewFor(index: string, gate: unknown): IndexView {
    let views = this.indexViews.get(index);
    if (!views) {
      const mask = new Uint8Array(this.rules.length);
      for (let i = 0; i < this.rules.length; i++) mask[i] = this.rules[i]!.matchIndex(index) ? 1 : 0;
      views = { mask, byValue: new Map(), missing: null, ungated: null };
      // Bounded: input that names a new index per event must not grow this without limit.
      if (this.indexViews.size >= 4096) this.indexViews.clear();
      this.indexViews.set(index, views);
    }
    if (!this.gated) return (views.ungated ??= this.makeView(views.mask, null));
    if (typeof gate === 'string') {
      let v = views.byValue.get(gate);
      if (v === undefined) {
        v = this.makeView(views.mask, this.gatePasses(gate));
        if (views.byValue.size >= 256) views.byValue.clear();
        views.byValue.set(gate, v);
      }
      return v;
    }
    if (gate === undefined || gate === null) return (views.missing ??= this.makeView(views.mask, this.gatePasses(null)));
    return (views.ungated ??= this.makeView(views.mask, null));
  }

  private makeView(mask: Uint8Array, pass: Uint8Array | null): IndexView {
    const v: IndexView = { mask, pass, tables: [] };
    v.tables = this.tables.map((t) => ({ byCategory: new Map(), any: this.slotList(this.selected(t.any, v)) }));
    return v;
  }

  /** Per slot: 1 when the gate value (null: none) meets the slot's gate or the slot has none. */
  private gatePasses(value: string | null): Uint8Array {
    const pass = new Uint8Array(this.slotGates.length);
    const folded = value === null ? null : lower(value);
    for (let s = 0; s < pass.length; s++) {
      const g = this.slotGates[s]!;
      pass[s] = g === null || (value !== null && (g.exact.includes(value) || g.folded.includes(folded!))) ? 1 : 0;
    }
    return pass;
  }
}

/**
 * What a router knows before any event, computed from the rules' outlines alone (their terms'
 * categories and anchors, category fields and needles) as plain data that survives structured
 * cloning: router-cache.ts keeps it on disk, keyed by the outlines, so that a warm start does not
 * build it again (about a tenth of a hunt's start-up with every rule).
 */
export interface RouterIndexData {
  /** Per category field: category → its slots, and the slots of `any` terms. */
  tables: { field: string; byCategory: Map<string, number[]>; any: number[] }[];
  /** Per anchored field and kind (case-sensitive, case-insensitive, integer, boolean, range, presence), in order of first use. */
  groups: { field: string; numeric: boolean; boolean?: boolean; range?: boolean; exists?: boolean; index: AnchorIndexData }[];
  /** Per slot: its rule; and its requirements slotReqs[s] to slotReqs[s + 1] - 1 (RuleRouter). */
  slotRule: Int32Array;
  slotReqs: Int32Array;
  /** Per slot: its gate (TermOutline.gate), or null. */
  slotGates: (SlotGate | null)[];
  needles: readonly string[] | null;
}

/** The router's index of the rules (RouterIndexData); RuleRouter's constructor builds it when not given one. */
export function buildRouterIndex(rules: readonly PreparedRule[]): RouterIndexData {
  const n = rules.length;
  // Written as plain indexed loops: this runs once per hunt over ~1,200 slots and ~15,000
  // anchor values, mostly before V8 has compiled it (the interpreter pays for every iterator,
  // callback and temporary string).
  const slotTerms: TermOutline[] = [];
  const slotRules: number[] = [];
  for (let i = 0; i < n; i++) {
    const q = rules[i]!.query;
    // A query without term outlines (a hand-made CompiledQuery) is one slot per category.
    const terms: readonly TermOutline[] =
      q.terms ?? (q.categories === null ? [{ category: null, anchors: q.anchors ? [...q.anchors] : null }] : [...q.categories].map((c) => ({ category: c, anchors: q.anchors ? [...q.anchors] : null })));
    for (let k = 0; k < terms.length; k++) {
      slotTerms.push(terms[k]!);
      slotRules.push(i);
    }
  }
  const nSlots = slotTerms.length;
  const slotReqs = new Int32Array(nSlots + 1);
  for (let s = 0; s < nSlots; s++) {
    const anchors = slotTerms[s]!.anchors;
    let reqs = 0;
    if (anchors !== null) for (let k = 0; k < anchors.length; k++) reqs = Math.max(reqs, (anchors[k]!.requirement ?? 0) + 1);
    slotReqs[s + 1] = slotReqs[s]! + reqs;
  }

  const tables = new Map<string, RouterIndexData['tables'][number]>();
  /** Per field: its anchor groups by kind (0 case-sensitive, 1 case-insensitive, 2 integer, 3 boolean, 4 range, 5 presence). */
  type Kind = 'numeric' | 'boolean' | 'range' | 'exists' | null;
  const groups = new Map<string, ({ field: string; kind: Kind; index: FieldAnchorIndex } | undefined)[]>();
  const ordered: { field: string; kind: Kind; index: FieldAnchorIndex }[] = [];
  let table: RouterIndexData['tables'][number] | undefined;
  for (let s = 0; s < nSlots; s++) {
    const term = slotTerms[s]!;
    // Slots of one rule are consecutive: its category field is looked up once.
    if (s === 0 || slotRules[s] !== slotRules[s - 1]) {
      const field = rules[slotRules[s]!]!.rule.event_category_override ?? 'event.category';
      table = tables.get(field);
      if (!table) tables.set(field, (table = { field, byCategory: new Map(), any: [] }));
    }
    if (term.category === null) table!.any.push(s);
    else push(table!.byCategory, term.category, s);
    const anchors = term.anchors;
    if (anchors === null) continue;
    for (let k = 0; k < anchors.length; k++) {
      const a = anchors[k]!;
      const kind: Kind = a.exists ? 'exists' : a.range !== undefined ? 'range' : a.boolean ? 'boolean' : a.numeric ? 'numeric' : null;
      const slot = kind === 'exists' ? 5 : kind === 'range' ? 4 : kind === 'boolean' ? 3 : kind === 'numeric' ? 2 : a.caseInsensitive ? 1 : 0;
      let byKind = groups.get(a.field);
      if (!byKind) groups.set(a.field, (byKind = [undefined, undefined, undefined, undefined, undefined, undefined]));
      let g = byKind[slot];
      if (!g) ordered.push((g = byKind[slot] = { field: a.field, kind, index: new FieldAnchorIndex(a.caseInsensitive ? lower : null) }));
      g.index.add(a, slotReqs[s]! + (a.requirement ?? 0));
    }
  }
  return {
    tables: [...tables.values()],
    groups: ordered.map((g) => {
      const d = { field: g.field, numeric: g.kind === 'numeric', index: g.index.data() };
      return g.kind === 'boolean' ? { ...d, boolean: true } : g.kind === 'range' ? { ...d, range: true } : g.kind === 'exists' ? { ...d, exists: true } : d;
    }),
    slotRule: Int32Array.from(slotRules),
    slotReqs,
    slotGates: slotTerms.map((t) => {
      if (t.gate === undefined) return null;
      const g: SlotGate = { exact: [], folded: [] };
      for (const a of t.gate) (a.caseInsensitive ? g.folded : g.exact).push(...a.values);
      return g;
    }),
    needles: ruleNeedles(rules),
  };
}

/** The union of the rules' needles (RuleRouter.needles); null when a rule has none. */
export function ruleNeedles(rules: readonly PreparedRule[]): readonly string[] | null {
  const needles = new Set<string>();
  if (rules.length === 0) return null;
  for (const r of rules) {
    if (!r.query.needles) return null;
    for (const n of r.query.needles) needles.add(n);
  }
  return [...needles];
}

/**
 * Whether a field's value (as its accessor gives it) is one: not missing, null, an empty array or
 * an array of nulls — the engine's `normalize` (engine/expr.ts), under which a comparison with a
 * constant can hold.
 */
function present(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (!Array.isArray(v)) return true;
  for (let i = 0; i < v.length; i++) if (v[i] !== null && v[i] !== undefined) return true;
  return false;
}

function push<K, V>(m: Map<K, V[]>, k: K, i: V): void {
  const l = m.get(k);
  if (!l) m.set(k, [i]);
  // Slots are pushed in increasing order: a repeat can only be the last one.
  else if (l[l.length - 1] !== i) l.push(i);
}

