// `eqlite explain`: why a rule did (not) fire on some events.
//
// One pass over the inputs, as `hunt` would see them (index patterns, exceptions, the rule's
// compile options), running the rule's real compiled query with a SequenceTrace attached, and, for
// each event, the stage filters and their conditions compiled by the engine (plan.ts). It keeps:
//   * per stage: how many events passed the category and each condition, which events failed on
//     exactly one condition (with that condition and the event's values);
//   * for sequences: the partial sequences that got furthest and why they stopped — the next stage
//     never matched within maxspan (and by how much a late match missed it), a join-key mismatch
//     (with both values), an `until` event, a newer partial with the same key, a missing-event
//     term — and the closest next-stage events with the same join key that failed a condition;
//   * events that would have matched a stage but were outside the rule's indices or excepted.
// Memory is bounded: partial sequences mirror the engine's own state (bounded by maxspan), and
// every list of examples has a fixed size; counts are exact.
import { compile, type CompiledQuery } from '../engine/index.js';
import { fieldAccessor, getField } from '../engine/fields.js';
import { stageKeys, type SequenceTrace } from '../engine/sequence.js';
import { discoverHostAddresses } from '../events/host-discovery.js';
import { openInput } from '../events/inputs.js';
import { readOrdered } from '../events/ordered.js';
import { expandInputs, InputError, noInputFilesMessage } from '../events/sources.js';
import { eventInstant } from '../events/time.js';
import type { EventDoc, SkippedItem } from '../events/types.js';
import { prepareRule, ruleCompileOptions, ruleStatement } from '../detect/router.js';
import type { IndexMappings } from '../engine/mapping.js';
import { rulesUseHostIp } from '../detect/hunt.js';
import { compileExceptionItems, resolveRuleExceptions } from '../rules/exceptions.js';
import type { ExceptionItem, ExceptionList, Rule } from '../rules/types.js';
import { planQuery, type ConditionPlan, type QueryPlan, type StagePlan } from './plan.js';
import { queryProblemPlace } from '../rules/query-place.js';

export interface ExplainOptions {
  rule: Rule;
  inputs: string[];
  exceptionLists?: ExceptionList[];
  valueLists?: Map<string, Set<string>>;
  /** Index mappings (`--mapping`), applied as hunt applies them (detect/router.ts). */
  mapping?: IndexMappings;
  /** Index of events that carry none (`--index`). */
  index?: string;
  timestampField?: string;
  /** "now" for exception expiry (epoch ms). */
  now?: number;
  /** Examples kept per list (default 5). */
  examples?: number;
  onSkip?: (item: SkippedItem) => void;
  onWarning?: (message: string) => void;
}

/** An event as an explanation shows it. */
export interface EventRef {
  id: string;
  index: string;
  /** The ordering time, ISO. */
  time: string;
  /** `file:line` or `file record N`. */
  where: string;
}

export interface FieldValue {
  field: string;
  /** The event's value; absent when the event does not have the field. */
  value?: unknown;
}

export interface FailedCondition {
  condition: string;
  values: FieldValue[];
}

export interface NearMiss {
  event: EventRef;
  /** The conditions the event failed (one for a near miss in the stage lists). */
  failed: FailedCondition[];
}

export interface ConditionReport {
  condition: string;
  /** Events of the stage's category that passed / failed it. */
  passed: number;
  failed: number;
  /** Events that failed this condition and no other. */
  failedAlone: number;
}

export interface OutOfScope {
  event: EventRef;
  /** `index` (not covered by the rule's patterns, or none), `filter` (the rule's `filters`), `exception` (excepted). */
  reason: 'index' | 'no-index' | 'filter' | 'exception';
  /** The exception items that match it, when excepted. */
  exceptions?: { list_id: string; item_id: string; name: string }[];
}

export interface StageReport {
  label: string;
  role: StagePlan['role'];
  text: string;
  category: string | null;
  /** Events the rule searched (in its indices, not excepted). */
  searched: number;
  /** Of those, events of the stage's category. */
  inCategory: number;
  /** Events that passed the stage (category and every condition). */
  passed: number;
  conditions: ConditionReport[];
  /** Events that failed on exactly one condition (first few). */
  nearMisses: NearMiss[];
  /** Events that passed but lack a join key (not a `?` key), so no sequence can use them. */
  noJoinKey: number;
  noJoinKeyExamples: EventRef[];
  /** Events that would pass the stage but the rule never searches (other index, excepted). */
  outOfScope: { index: number; noIndex: number; filter: number; exception: number; examples: OutOfScope[] };
  joinKeys: string[];
}

export interface Evidence {
  /** A next-stage event with the same key that came too late. */
  late?: { event: EventRef; overMs: number };
  /** A next-stage event within maxspan whose join key differs. */
  otherKey?: { event: EventRef; keyValues: unknown[]; afterMs: number };
  /** A next-stage event with the same key that came before the sequence started (order matters). */
  before?: { event: EventRef; beforeMs: number };
  /** Next-stage events with the same key that failed conditions (fewest failures first). */
  closest: (NearMiss & { afterMs: number })[];
}

export interface DeadEnd {
  /** Stages matched (1 = the first stage only). */
  matched: number;
  /** The stage it waited for (label). */
  waitingFor: string;
  keyValues: unknown[];
  events: EventRef[];
  reason: 'maxspan' | 'end' | 'until' | 'replaced' | 'missing';
  /** For `until`: the until event's time; for `replaced`: the newer partial's first event. */
  detail?: string;
  evidence: Evidence;
}

export interface Explanation {
  rule: { rule_id: string; name: string; query_type: QueryPlan['kind']; index: string[] | null; max_signals: number; maxspan_ms: number | null; join_keys: string[] };
  input: {
    events: number;
    skipped: number;
    /** Events in the rule's indices and not excepted: what the rule searched. */
    searched: number;
    noIndex: number;
    notInIndex: number;
    /** Indices of events the rule does not search, with counts (most frequent first). */
    otherIndices: { index: string; events: number }[];
    /** Events the rule's `filters` reject. */
    filtered: number;
    excepted: number;
  };
  /** Results of the rule's query: matching events, sequences or samples (alerts as Kibana lists them). */
  results: number;
  maxSignalsReached: boolean;
  resultEvents: EventRef[][];
  stages: StageReport[];
  sequences: {
    /** Partial sequences that matched at least k+1 stages, per k. */
    reached: number[];
    completed: number;
    deadEnds: Record<DeadEnd['reason'], number>;
    /** The partial sequences that got furthest (best first). */
    furthest: DeadEnd[];
  } | null;
  /** Events where the stage verdict and its conditions disagreed (always 0; checked by tests). */
  inconsistent: number;
  /** One sentence: the answer. */
  verdict: string;
}

const MAX_OTHER_INDICES = 50;
const ORPHANS_PER_STAGE = 256;
const CLOSEST_PER_PARTIAL = 3;
const SWEEP_EVERY = 1024;

interface Partial {
  k: number;
  key: string;
  keyValues: unknown[];
  events: EventRef[];
  startMs: number;
  lastMs: number;
  evidence: Evidence;
}

interface Orphan {
  key: string;
  keyValues: unknown[];
  event: EventRef;
  ms: number;
}

function valueOf(src: Record<string, unknown>, field: string): FieldValue {
  const v = getField(src, field);
  return v === undefined || v === null ? { field } : { field, value: v };
}

export async function explainRule(opts: ExplainOptions): Promise<Explanation> {
  const rule = opts.rule;
  if (rule.unsupported || !rule.query) throw new ExplainError(`rule "${rule.name}" cannot be explained: ${rule.unsupported ?? 'it has no query'}`);
  const examples = opts.examples ?? 5;
  const now = opts.now ?? Date.now();
  const prepared = prepareRule(rule, { timestampField: opts.timestampField ?? '@timestamp', exceptionLists: opts.exceptionLists ?? [], valueLists: opts.valueLists, now, replay: false, mapping: opts.mapping });
  if ('skip' in prepared) {
    const place = prepared.skip.startsWith('query does not compile') ? queryProblemPlace(rule) : undefined;
    throw new ExplainError(`rule "${rule.name}" cannot run: ${prepared.skip}${place ? ` (${place})` : ''}`);
  }
  if (prepared.mapped === false) opts.onWarning?.(`no index of --mapping is selected by the rule's index patterns (${(rule.index ?? []).join(', ')}); ECS field types are used`);
  const copts = ruleCompileOptions(rule, { timestampField: opts.timestampField ?? '@timestamp', mapping: opts.mapping });
  // The rule's own timestamp_field, when it has one, orders what its query sees (as in hunt).
  const timestampField = copts.timestampField!;
  const tsOf = fieldAccessor(timestampField);
  const stmt = ruleStatement(rule, opts.mapping);
  const plan = planQuery(stmt, copts);
  const isSeq = plan.kind === 'sequence';

  // Exception items one by one, to name the one that withholds an event.
  const items: { item: ExceptionItem; test: (s: Record<string, unknown>) => boolean }[] = [];
  for (const l of resolveRuleExceptions(rule, opts.exceptionLists ?? []).lists) {
    for (const item of l.items) {
      const c = compileExceptionItems([item], { valueLists: opts.valueLists, now });
      if (c.active > 0) items.push({ item, test: c.predicate });
    }
  }

  const refOf = (ev: EventDoc, ms: number): EventRef => {
    const p = ev.position;
    let where = '';
    if (p) where = p.line !== undefined ? `${p.file}:${p.line}` : `${p.file}${p.record !== undefined ? ` record ${p.record}` : ''}`;
    return { id: ev.id, index: ev.index, time: Number.isFinite(ms) ? new Date(ms).toISOString() : '', where };
  };

  // One pass over the events in order; a pass abandoned because the inputs had to be sorted
  // (events/ordered.ts) is replaced by a fresh one.
  const newPass = () => {
    // ---- per-stage accounting
    const stages: StageReport[] = plan.stages.map((s) => ({
      label: s.label,
      role: s.role,
      text: s.text,
      category: s.category,
      searched: 0,
      inCategory: 0,
      passed: 0,
      conditions: s.conditions.map((c) => ({ condition: c.text, passed: 0, failed: 0, failedAlone: 0 })),
      nearMisses: [],
      noJoinKey: 0,
      noJoinKeyExamples: [],
      outOfScope: { index: 0, noIndex: 0, filter: 0, exception: 0, examples: [] },
      joinKeys: s.keyNames,
    }));
    const nearPerCondition = plan.stages.map((s) => s.conditions.map(() => 0));
    let inconsistent = 0;
    const failedConditions = (s: StagePlan, ev: EventDoc): ConditionPlan[] => s.conditions.filter((c) => !c.test(ev));
    const describe = (c: ConditionPlan, ev: EventDoc): FailedCondition => ({ condition: c.text, values: c.fields.map((f) => valueOf(ev.source, f)) });

    // ---- sequence state, mirrored from the engine's trace
    const live = new Map<string, Partial>();
    const liveKey = (k: number, key: string) => `${k}\u0002${key}`;
    const orphans: Orphan[][] = plan.positives.map(() => []);
    const reached = plan.positives.map(() => 0);
    let completed = 0;
    const deadCounts: Record<DeadEnd['reason'], number> = { maxspan: 0, end: 0, until: 0, replaced: 0, missing: 0 };
    const furthest: DeadEnd[] = [];
    const maxspan = plan.maxspanMs;
    const positiveLabel = (k: number) => plan.stages[plan.positives[k]!]!.label;
    const rank = (d: DeadEnd) => d.matched * 1e6 + (d.evidence.late ? 8 : 0) + (d.evidence.closest.length ? 4 : 0) + (d.evidence.otherKey ? 2 : 0) + (d.evidence.before ? 1 : 0);
    const keepDeadEnd = (d: DeadEnd) => {
      deadCounts[d.reason]++;
      furthest.push(d);
      // Best first; among equals, the latest (a partial sequence near the end of the data is what
      // an analyst looking at a recent attack wants).
      furthest.sort((a, b) => rank(b) - rank(a));
      if (furthest.length > 10) furthest.length = 10;
    };
    const finish = (p: Partial, reason: DeadEnd['reason'], detail?: string) => {
      // A next-stage event within the window, with another join key.
      if (!p.evidence.otherKey && p.k + 1 < plan.positives.length) {
        const end = maxspan === null ? Infinity : p.startMs + maxspan;
        let best: Orphan | null = null;
        for (const o of orphans[p.k + 1]!) if (o.ms >= p.lastMs && o.ms <= end && o.key !== p.key && (!best || o.ms < best.ms)) best = o;
        if (best) p.evidence.otherKey = { event: best.event, keyValues: best.keyValues, afterMs: best.ms - p.lastMs };
        let early: Orphan | null = null;
        for (const o of orphans[p.k + 1]!) {
          if (o.key === p.key && o.ms <= p.startMs && (maxspan === null || p.startMs - o.ms <= maxspan) && (!early || o.ms > early.ms)) early = o;
        }
        if (early) p.evidence.before = { event: early.event, beforeMs: p.startMs - early.ms };
      }
      const d: DeadEnd = { matched: p.k + 1, waitingFor: p.k + 1 < plan.positives.length ? positiveLabel(p.k + 1) : '', keyValues: p.keyValues, events: p.events, reason, evidence: p.evidence };
      if (detail) d.detail = detail;
      keepDeadEnd(d);
    };
    let curEvent: EventDoc | null = null;
    let curMs = Number.NaN;
    const trace: SequenceTrace = {
      advanced(k, key, keyValues, events, times) {
        reached[k]!++;
        let prev: Partial | undefined;
        if (k > 0) {
          prev = live.get(liveKey(k - 1, key));
          live.delete(liveKey(k - 1, key));
        }
        if (k === plan.positives.length - 1) {
          completed++;
          return;
        }
        const refs = prev ? [...prev.events, refOf(curEvent!, curMs)] : events.map((e) => refOf(e, eventInstant(e, timestampField, tsOf)?.ms ?? Number.NaN));
        live.set(liveKey(k, key), { k, key, keyValues, events: refs, startMs: times[0]!, lastMs: times[times.length - 1]!, evidence: { closest: [] } });
      },
      replaced(k, key) {
        const p = live.get(liveKey(k, key));
        if (!p) return;
        live.delete(liveKey(k, key));
        finish(p, 'replaced', `a newer partial sequence with the same join key started at ${new Date(curMs).toISOString()} (${refOf(curEvent!, curMs).where}); only the newest per key can advance`);
      },
      unmatched(k, key, keyValues, ev, ms) {
        const ring = orphans[k]!;
        ring.push({ key, keyValues, event: refOf(ev, ms), ms });
        if (ring.length > ORPHANS_PER_STAGE) ring.shift();
      },
      expired(k, key, events, ev, overMs) {
        const p = live.get(liveKey(k - 1, key));
        const late = { event: refOf(ev, curMs), overMs };
        if (p) {
          live.delete(liveKey(k - 1, key));
          p.evidence.late = late;
          finish(p, 'maxspan');
        } else {
          // Already ended by time (the engine prunes later than this mirror): add the evidence if
          // that partial sequence is among those kept.
          const first = events[0]?.id;
          const d = furthest.find((x) => x.matched === k && x.reason === 'maxspan' && x.events[0]?.id === first && !x.evidence.late);
          if (d) d.evidence.late = late;
        }
      },
      untilKilled(k, key, _events, _ev, untilMs) {
        const p = live.get(liveKey(k - 1, key));
        if (!p) return;
        live.delete(liveKey(k - 1, key));
        finish(p, 'until', `an until event at ${new Date(untilMs).toISOString()} ended it before ${positiveLabel(k)} matched`);
      },
      rejectedByMissing(_key, keyValues, events) {
        const refs = events.map((e) => refOf(e, eventInstant(e, timestampField, tsOf)?.ms ?? Number.NaN));
        keepDeadEnd({ matched: plan.positives.length, waitingFor: '', keyValues, events: refs, reason: 'missing', detail: 'every stage matched, but an event of a missing-event term (![…]) was present', evidence: { closest: [] } });
      },
    };
    const sweep = (nowMs: number) => {
      if (maxspan === null) return;
      for (const [lk, p] of live) {
        if (p.startMs + maxspan < nowMs) {
          live.delete(lk);
          finish(p, 'maxspan');
        }
      }
    };

    const query: CompiledQuery = compile(stmt, { ...copts, trace: isSeq ? trace : undefined });
    const run = query.createRun();

    // ---- the pass
    const input = { events: 0, skipped: 0, searched: 0, noIndex: 0, notInIndex: 0, otherIndices: [] as { index: string; events: number }[], filtered: 0, excepted: 0 };
    const otherIdx = new Map<string, number>();
    let otherIdxRest = 0;
    const outOfScope = (ev: EventDoc, ms: number, reason: OutOfScope['reason']) => {
      for (let i = 0; i < plan.stages.length; i++) {
        if (!plan.stages[i]!.filter(ev)) continue;
        const o = stages[i]!.outOfScope;
        if (reason === 'index') o.index++;
        else if (reason === 'no-index') o.noIndex++;
        else if (reason === 'filter') o.filter++;
        else o.exception++;
        if (o.examples.length < examples) {
          const x: OutOfScope = { event: refOf(ev, ms), reason };
          if (reason === 'exception') x.exceptions = items.filter((it) => it.test(ev.source)).map((it) => ({ list_id: it.item.list_id, item_id: it.item.item_id, name: it.item.name }));
          o.examples.push(x);
        }
      }
    };

    const push = (ev: EventDoc): void => {
        input.events++;
        const ms = eventInstant(ev, timestampField, tsOf)?.ms ?? Number.NaN;
        if (ev.index === '') {
          input.noIndex++;
          outOfScope(ev, ms, 'no-index');
          return;
        }
        if (!prepared.matchIndex(ev.index)) {
          input.notInIndex++;
          if (otherIdx.has(ev.index) || otherIdx.size < MAX_OTHER_INDICES) otherIdx.set(ev.index, (otherIdx.get(ev.index) ?? 0) + 1);
          else otherIdxRest++;
          outOfScope(ev, ms, 'index');
          return;
        }
        if (prepared.filter && !prepared.filter(ev.source)) {
          input.filtered++;
          outOfScope(ev, ms, 'filter');
          return;
        }
        if (prepared.excepted && prepared.excepted(ev.source)) {
          input.excepted++;
          outOfScope(ev, ms, 'exception');
          return;
        }
        input.searched++;
        if (isSeq && maxspan !== null && input.searched % SWEEP_EVERY === 0) sweep(ms);
        for (let i = 0; i < plan.stages.length; i++) {
          const s = plan.stages[i]!;
          const r = stages[i]!;
          r.searched++;
          if (s.filter(ev)) {
            r.passed++;
            r.inCategory++;
            for (const c of r.conditions) c.passed++;
            if (isSeq && s.spec.keys.length > 0 && stageKeys(s.spec, ev.source) === null) {
              r.noJoinKey++;
              if (r.noJoinKeyExamples.length < examples) r.noJoinKeyExamples.push(refOf(ev, ms));
            }
            continue;
          }
          if (!s.categoryTest(ev)) continue;
          r.inCategory++;
          const failed = failedConditions(s, ev);
          if (failed.length === 0) {
            inconsistent++;
            continue;
          }
          s.conditions.forEach((c, ci) => {
            if (failed.includes(c)) r.conditions[ci]!.failed++;
            else r.conditions[ci]!.passed++;
          });
          if (failed.length === 1) {
            const ci = s.conditions.indexOf(failed[0]!);
            r.conditions[ci]!.failedAlone++;
            if (nearPerCondition[i]![ci]! < examples) {
              nearPerCondition[i]![ci]!++;
              r.nearMisses.push({ event: refOf(ev, ms), failed: [describe(failed[0]!, ev)] });
            }
          }
          // A partial sequence waiting for this stage with the event's join key: the event is one of
          // its closest misses.
          const k = plan.positives.indexOf(i);
          if (isSeq && k > 0 && live.size > 0) {
            const keys = stageKeys(s.spec, ev.source);
            for (const key of keys ?? []) {
              const p = live.get(liveKey(k - 1, key.key));
              if (!p || ms < p.lastMs || (maxspan !== null && ms - p.startMs > maxspan)) continue;
              const c = p.evidence.closest;
              c.push({ event: refOf(ev, ms), failed: failed.map((f) => describe(f, ev)), afterMs: ms - p.lastMs });
              c.sort((a, b) => a.failed.length - b.failed.length || a.afterMs - b.afterMs);
              if (c.length > CLOSEST_PER_PARTIAL) c.length = CLOSEST_PER_PARTIAL;
            }
          }
        }
        curEvent = ev;
        curMs = ms;
        run.push(ev);

    };
    const end = (): Explanation => {
      const results = run.finish();
      // Partial sequences still waiting: their window closed (maxspan) or the data ended first.
      for (const p of live.values()) {
        const closed = maxspan !== null && Number.isFinite(curMs) && p.startMs + maxspan < curMs;
        finish(p, closed ? 'maxspan' : 'end');
      }
      live.clear();
      input.otherIndices = [...otherIdx].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([index, events]) => ({ index, events }));
      if (otherIdxRest > 0) input.otherIndices.push({ index: '(other indices)', events: otherIdxRest });

      const resultEvents = results.slice(0, examples).map((r) =>
        r.kind === 'event' ? [refOf(r.event, eventInstant(r.event, timestampField, tsOf)?.ms ?? Number.NaN)] : r.events.filter((e): e is EventDoc => e !== null).map((e) => refOf(e, eventInstant(e, timestampField, tsOf)?.ms ?? Number.NaN)),
      );
      const explanation: Explanation = {
        rule: {
          rule_id: rule.rule_id,
          name: rule.name,
          query_type: plan.kind,
          index: rule.index ?? null,
          max_signals: prepared.maxSignals,
          maxspan_ms: maxspan,
          join_keys: plan.stages[0]?.keyNames ?? [],
        },
        input,
        results: results.length,
        maxSignalsReached: results.length >= prepared.maxSignals,
        resultEvents,
        stages,
        sequences: isSeq ? { reached, completed, deadEnds: deadCounts, furthest } : null,
        inconsistent,
        verdict: '',
      };
      explanation.verdict = verdictOf(explanation);
      return explanation;
    };
    return { push, end, input };
  };

  let skipped = 0;
  const onSkip = (item: SkippedItem) => {
    skipped++;
    opts.onSkip?.(item);
  };
  const files = await expandInputs(opts.inputs, { onWarning: opts.onWarning });
  if (files.length === 0) throw new InputError(noInputFilesMessage(opts.inputs));
  // host.ip as hunt derives it (its `auto` mode), so that the verdicts are hunt's.
  const hostAddresses = rulesUseHostIp([opts.rule], opts.exceptionLists ?? []) ? (await discoverHostAddresses(files)).book : undefined;
  let pass = newPass();
  await readOrdered(
    {
      readsStdin: files.some((f) => f.path === '-'),
      timestampField,
      onSkip,
      onWarning: opts.onWarning,
      open: (_attempt, io) => {
        // Read on this thread; a reader ends with its iteration, so there is nothing to close.
        const inputs = files.map((f) => openInput(f, { index: opts.index, hostAddresses, onSkip: io.onSkip, onWarning: io.onWarning, stdin: io.stdin, timestampField }));
        return { inputs, close: async () => {} };
      },
    },
    () => {
      const p = (pass = newPass());
      return {
        push(batch) {
          for (const ev of batch) p.push(ev);
        },
      };
    },
  );
  pass.input.skipped = skipped;
  return pass.end();
}

export class ExplainError extends Error {
  override name = 'ExplainError';
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/** The one-sentence answer. */
export function verdictOf(x: Explanation): string {
  if (x.results > 0) {
    const what = x.rule.query_type === 'event' ? 'event' : x.rule.query_type;
    return `the rule fires: ${plural(x.results, `matching ${what}`)}${x.maxSignalsReached ? ` (max_signals ${x.rule.max_signals} reached: further matches are not alerted)` : ''}`;
  }
  if (x.input.searched === 0) {
    const why = x.input.events === 0 ? 'the input has no events' : x.input.notInIndex + x.input.noIndex > 0 ? `none of the ${x.input.events} events is in the rule's indices (${(x.rule.index ?? ['Kibana default patterns']).join(', ')})` : 'every event is excepted';
    return `no alert: the rule searched no event — ${why}`;
  }
  const positives = x.stages.filter((s) => s.role === 'positive' || s.role === 'event' || s.role === 'sample');
  const firstDead = positives.find((s) => s.passed === 0);
  const missStage = (s: StageReport) => {
    const top = [...s.conditions].sort((a, b) => b.failedAlone - a.failedAlone || b.failed - a.failed)[0];
    if (s.inCategory === 0) return `no ${s.category ?? 'event'} event was searched`;
    return top && top.failedAlone > 0 ? `${plural(top.failedAlone, 'event')} failed only on ${top.condition}` : `the closest events failed several conditions`;
  };
  if (x.rule.query_type !== 'sequence' || !x.sequences) {
    const s = firstDead ?? positives[0]!;
    return `no alert: ${s.label === 'query' ? 'no event' : `${s.label} matched no event`} matched — ${missStage(s)}`;
  }
  const best = x.sequences.furthest[0];
  if (!best) {
    const s = firstDead ?? positives[0]!;
    return `no alert: no sequence started — ${s.label} matched no event (${missStage(s)})`;
  }
  const reason: Record<DeadEnd['reason'], string> = {
    maxspan: `${best.waitingFor} never matched within maxspan`,
    end: `${best.waitingFor} never matched before the data ended`,
    until: 'an until event ended it',
    replaced: 'a newer partial sequence with the same key replaced it',
    missing: 'a missing-event term rejected it',
  };
  let why = reason[best.reason];
  const e = best.evidence;
  const c = e.closest[0];
  if (e.late) why += `: a ${best.waitingFor} event with the same key came ${fmtMs(e.late.overMs)} too late`;
  else if (c) {
    why += `: the closest ${best.waitingFor} event with the same key (+${fmtMs(c.afterMs)}) failed ` +
      c.failed.map((f) => `${shorten(f.condition, 70)} [${f.values.map(valueText).join(', ')}]`).join(' and ');
  } else if (e.otherKey) why += `: a ${best.waitingFor} event came ${fmtMs(e.otherKey.afterMs)} later with another join key`;
  else if (e.before) why += `: a ${best.waitingFor} event with the same key came ${fmtMs(e.before.beforeMs)} before the sequence started (stages must match in order)`;
  const stages = x.sequences.reached.length;
  return `no alert: the furthest partial sequence matched ${best.matched} of ${stages} stages; ${why}`;
}

/** A condition cut to `n` characters, keeping its start and end (`(a : (…) or b : (…))`). */
export function shorten(s: string, n: number): string {
  if (s.length <= n) return s;
  const inner = s.replace(/\(([^()]{12,})\)/g, '(…)');
  return inner.length <= n ? inner : inner.slice(0, n - 1) + '…';
}

/** `field = "value"` or `field missing`, as people read values (strings unescaped). */
export function valueText(v: FieldValue): string {
  if (!('value' in v)) return `${v.field} missing`;
  const x = v.value;
  const s = typeof x === 'string' ? `"${x}"` : JSON.stringify(x);
  return `${v.field} = ${s.length > 120 ? s.slice(0, 119) + '…' : s}`;
}

export function fmtMs(ms: number): string {
  if (Math.abs(ms) < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')} s`;
}
