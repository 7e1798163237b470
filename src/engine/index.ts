// compile(query) → CompiledQuery: the plan (event filter, sequence or sample) plus pipes.
import type { EventQuery, Expr, SequenceTerm, Statement } from '../eql/ast.js';
import type { EventDoc } from '../events/types.js';
import { checkTypes, formatExpr, parse } from '../eql/index.js';
import { eventInstant, parseInstant } from '../events/time.js';
import { eventAnchors, eventGate, queryAnchors } from './anchors.js';
import { queryNeedles } from './needles.js';
import { compileTermFilter, compileValue, type ExprContext } from './expr.js';
import { fieldAccessor } from './fields.js';
import { ResultWindow } from './pipes.js';
import { SampleCollector } from './sample.js';
import { SequenceMatcher, type SequenceTrace, type StageSpec } from './sequence.js';
import { PagedTailSequences } from './sequence-paged.js';
import type { CompiledQuery, EngineOptions, QueryResult, QueryRun, TermOutline } from './types.js';
import { KEYS_MISSING, KEYS_UNKNOWN, MAX_ANSWERED_TERMS, NOT_ANSWERED } from './answers.js';
import { writeKeyValues } from './join-keys.js';
import { modeForType } from './values.js';

export type { CompiledQuery, EngineOptions, QueryResult, QueryRun, EventResult, SequenceResult, TermAnswers, TermOutline } from './types.js';
export { fieldAccessor, getField } from './fields.js';

export interface CompileOptions extends EngineOptions {
  /** Mapping types, e.g. from an index mapping or the ECS schema. */
  fieldType?: (name: string) => string | undefined;
  /** Whether a field is mapped at all (decides how `?field` folds); default: every field is. */
  fieldExists?: (name: string) => boolean;
  /** Observer of sequence state, for `eqlite explain` (src/explain). */
  trace?: SequenceTrace;
}

const lines = (m: string | null): string[] => (m === null ? [] : [m]);

/**
 * N when the results are the last N (ES's Tail limit: the request's size with result_position
 * tail, or a leading `| tail N`); consecutive tails keep the smallest. Null otherwise.
 */
function leadingTail(pipes: Statement['pipes'], size: number | undefined, position: 'head' | 'tail'): number | null {
  const limits = pipes.map((p) => ({ kind: p.kind, count: p.count }));
  if (size !== undefined && size !== Infinity) limits.unshift({ kind: limits[0]?.kind ?? position, count: size });
  let n: number | null = null;
  for (const l of limits) {
    if (l.kind !== 'tail') break;
    n = n === null ? l.count : Math.min(n, l.count);
  }
  return n;
}

export function compile(query: Statement | string, options: CompileOptions = {}): CompiledQuery {
  // With field types, ES's verifier refuses arguments of the wrong type (eql/types.ts).
  const stmt = typeof query === 'string' ? parse(query, options) : query;
  if (typeof query !== 'string' && options.fieldType) checkTypes(stmt, options);
  const timestampField = options.timestampField ?? '@timestamp';
  const categoryField = options.eventCategoryField ?? 'event.category';
  const ctx: ExprContext = { fieldType: options.fieldType, fieldExists: options.fieldExists, timestampField, source: stmt.source };
  const getTimestamp = fieldAccessor(timestampField);

  // A term's category test and condition, one generated function (expr.ts, compileTermFilter).
  const eventFilter = (q: EventQuery): ((ev: EventDoc) => boolean) => compileTermFilter(q.category, categoryField, q.condition, ctx);
  // Sample keys come from a composite aggregation, which renders dates as epoch millis.
  const sampleKey = (k: Expr) => {
    const get = compileValue(k, ctx);
    const type = k.kind === 'field' ? options.fieldType?.(k.name) : undefined;
    if (type !== 'date' && type !== 'date_nanos') return get;
    return (src: Record<string, unknown>) => {
      const v = get(src);
      const t = parseInstant(Array.isArray(v) ? v[0] : v);
      return t ? String(t.ms) : v;
    };
  };
  const keyOptional = (e: Expr) => e.kind === 'field' && e.optional;
  const stageOf = (by: Expr[], term: SequenceTerm, forSample = false): StageSpec => {
    const keys = [...by, ...term.by];
    return {
      filter: eventFilter(term.query),
      keys: keys.map((k) => (forSample ? sampleKey(k) : compileValue(k, ctx))),
      keyOptional: keys.map(keyOptional),
      keyNames: keys.map((k) => formatExpr(k)),
      missing: term.missing,
    };
  };

  const q = stmt.query;
  const pipes = stmt.pipes;
  const size = options.size;
  const position = options.resultPosition ?? 'tail';
  let categories: Set<string> | null = new Set();
  const addCategory = (c: string | null) => {
    if (c === null) categories = null;
    else categories?.add(c);
  };

  let createRun: (onResult?: (r: QueryResult) => void) => QueryRun;
  // Filters of every term (positive, missing and until): an event passing none of them cannot
  // change a run's results, so callers may drop it before pushing (see CompiledQuery.relevant).
  let termFilters: ((ev: EventDoc) => boolean)[];
  // Samples (and sequences of more than MAX_ANSWERED_TERMS terms) are not answered ahead: only
  // whether the event is relevant (a mask of 0) is said.
  let writeAnswers: (ev: EventDoc, out: unknown[]) => boolean = (ev, out) => relevant(ev) && out.push(NOT_ANSWERED, 0) > 0;
  if (q.kind === 'event') {
    addCategory(q.category);
    const filter = eventFilter(q);
    termFilters = [filter];
    writeAnswers = (ev, out) => filter(ev) && out.push(1, 0) > 0;
    createRun = (onResult) => {
      const window = new ResultWindow<QueryResult>(pipes, size, position, onResult);
      return {
        push(ev, a) {
          if (!window.full && (a !== undefined ? (a.mask & 1) === 1 : filter(ev))) window.add({ kind: 'event', event: ev });
        },
        finish: () => window.result(),
        get done() {
          return window.full;
        },
        get found() {
          return window.seen;
        },
        warnings: () => [],
      };
    };
  } else if (q.kind === 'sequence') {
    const stages: StageSpec[] = [];
    for (const term of q.terms) {
      addCategory(term.query.category);
      const stage = stageOf(q.by, term);
      for (let r = 0; r < term.runs; r++) stages.push(stage);
    }
    let until: StageSpec | null = null;
    if (q.until) {
      addCategory(q.until.query.category);
      until = stageOf(q.by, q.until);
    }
    termFilters = [...new Set(stages.map((s) => s.filter))];
    if (until) termFilters.push(until.filter);
    // Each stage's bit in TermAnswers.mask is its filter's place in termFilters.
    const specs: StageSpec[] = termFilters.map((f) => (f === until?.filter ? until : stages.find((s) => s.filter === f)!));
    if (termFilters.length <= MAX_ANSWERED_TERMS) {
      for (const s of stages) s.bit = termFilters.indexOf(s.filter);
      if (until) until.bit = termFilters.length - 1;
      writeAnswers = (ev, out) => {
        let mask = 0;
        for (let j = 0; j < termFilters.length; j++) if (termFilters[j]!(ev)) mask |= 1 << j;
        if (mask === 0) return false;
        out.push(mask, 1);
        for (let j = 0; j < termFilters.length; j++) {
          if (((mask >>> j) & 1) === 0) continue;
          writeKeyValues(specs[j]!, ev, out, KEYS_MISSING, KEYS_UNKNOWN);
        }
        return true;
      };
    }
    const time = (ev: EventDoc) => eventInstant(ev, timestampField, getTimestamp);
    // A `date` field holds milliseconds (dynamic mapping makes one of an ISO string): maxspan
    // compares them; only a `date_nanos` field keeps the digits below.
    const nanos = options.fieldType?.(timestampField) === 'date_nanos';
    const spec = { stages, until, maxspanMs: q.maxspan ? q.maxspan.millis : null, nanos, time, trace: options.trace };
    // Keeping the last N sequences, ES's answer depends on how it pages the first stage
    // (sequence-paged.ts): the run buffers its events and replays that paging at the end.
    const tailN = leadingTail(pipes, size, position);
    const replay = tailN !== null;
    createRun = (onResult) => {
      const window = new ResultWindow<QueryResult>(pipes, size, position, onResult);
      // A run that streams its results to a sink (live detection) keeps the streaming selection.
      const paged = replay && !onResult ? new PagedTailSequences(spec, tailN!, options.fetchSize) : null;
      const matcher = new SequenceMatcher(paged ? { ...spec, onTerm: paged.onTerm } : spec, (m) =>
        window.add({ kind: 'sequence', joinKeys: m.keyValues, events: m.events }),
      );
      return {
        push(ev, a) {
          if (!window.full) matcher.push(ev, a);
        },
        finish() {
          matcher.finish();
          const streamed = window.result();
          // Null: paging cannot change the answer (or the replay gave up, see warnings).
          const matches = paged?.result();
          if (!matches) return streamed;
          const selected = new ResultWindow<QueryResult>(pipes, size, position);
          for (const m of matches) selected.add({ kind: 'sequence', joinKeys: m.keyValues, events: m.events });
          return selected.result();
        },
        get done() {
          return window.full;
        },
        get found() {
          return window.seen;
        },
        warnings: () => [
          ...lines(matcher.cuts.message()),
          ...(paged?.overflow
            ? [`the last ${tailN} sequences were chosen among all found, not through Elasticsearch's fetch_size paging: ${paged.overflow}`]
            : []),
        ],
      };
    };
  } else {
    const filters: StageSpec[] = q.terms.map((term) => {
      addCategory(term.query.category);
      return stageOf(q.by, term, true);
    });
    termFilters = filters.map((s) => s.filter);
    const perKey = options.maxSamplesPerKey ?? 1;
    createRun = (onResult) => {
      const collector = new SampleCollector(filters, perKey);
      let found = 0;
      return {
        push: (ev) => collector.push(ev),
        finish() {
          // Samples come in join-key order: size keeps the first ones (see EngineOptions.resultPosition).
          const window = new ResultWindow<QueryResult>(pipes, size, 'head', onResult);
          for (const s of collector.results()) window.add({ kind: 'sample', joinKeys: s.keyValues, events: s.events });
          found = window.seen;
          return window.result();
        },
        done: false,
        get found() {
          return found;
        },
        warnings: () => lines(collector.cuts.message()),
      };
    };
  }

  const type = q.kind;
  // Fields compared as plain strings (keyword-like, or unmapped): the ones anchors and needles use.
  const stringField = (field: string): boolean => {
    if (field === timestampField) return false;
    const t = options.fieldType?.(field);
    return t === undefined || t === 'keyword' || t === 'wildcard' || t === 'constant_keyword' || t === 'text' || t === 'match_only_text';
  };
  // Fields that compare a number value with a number constant numerically (engine/values.ts: a
  // numeric type, or none — 'auto'): the ones range anchors use.
  const numberField = (field: string): boolean => {
    if (field === timestampField) return false;
    const t = options.fieldType?.(field);
    return t === undefined || modeForType(t) === 'number';
  };
  const cats: ReadonlySet<string> | null = categories;
  const termQueries: EventQuery[] =
    q.kind === 'event' ? [q] : q.kind === 'sample' ? q.terms.map((t) => t.query) : [...q.terms.map((t) => t.query), ...(q.until ? [q.until.query] : [])];
  const terms: TermOutline[] = [...new Set(termQueries)].map((t) => {
    const gate = eventGate(t, stringField);
    return gate === null ? { category: t.category, anchors: eventAnchors(t, stringField, numberField) } : { category: t.category, anchors: eventAnchors(t, stringField, numberField), gate };
  });
  const relevant =
    termFilters.length === 1
      ? termFilters[0]!
      : (ev: EventDoc) => {
          for (let i = 0; i < termFilters.length; i++) if (termFilters[i]!(ev)) return true;
          return false;
        };
  return {
    type,
    categories: cats,
    relevant,
    writeAnswers,
    anchors: queryAnchors(q, stringField, numberField),
    terms,
    needles: queryNeedles(q, stringField),
    createRun,
    run(events: Iterable<EventDoc>) {
      const r = createRun();
      for (const ev of events) {
        r.push(ev);
        if (r.done) break;
      }
      return r.finish();
    },
    async runAsync(events: AsyncIterable<EventDoc>) {
      const r = createRun();
      for await (const ev of events) {
        r.push(ev);
        if (r.done) break;
      }
      return r.finish();
    },
  };
}
