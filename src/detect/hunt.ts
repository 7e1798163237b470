// hunt(): runs many EQL rules over log files in one pass, producing Kibana-shaped alerts.
//
// Pipeline: inputs are read (NDJSON/JSON/ES hits, EVTX) and merged into one stream in time order
// ONCE; each event is handed only to the rules that can use it — those whose index patterns match
// the event's index AND whose query can match its event category (a dispatch table keyed by
// category; rules with `any` queries get every event of their indices). Each rule keeps its own
// incremental query run(s); nothing holds all events, so memory is bounded by the merge buffers,
// the engines' sequence state and the alerts of windows not yet closed.
//
// Runs. Without --from/--to/--schedule the whole data is ONE run of every rule, with
// size = max_signals as Kibana's search. With them, the rule's schedule is replayed: runs every
// `interval` starting one interval after the range start, each searching [run + from, run + to]
// (e.g. now-9m..now) by `timestamp_override` (falling back to @timestamp unless disabled), each
// with its own max_signals budget. Overlapping windows find the same matches again; alert ids are
// deterministic, so those are recognised and not emitted twice (as Kibana's idempotent create).
//
// Exceptions are applied as Kibana applies them: as a filter on the search, i.e. an excepted event
// never reaches the rule's query. For a sequence this means any excepted step kills it (the
// sequence cannot form with that event). They are counted per rule as "events excepted".
import { createHash } from 'node:crypto';
import { type CompiledQuery, type QueryRun, type QueryResult } from '../engine/index.js';
import { fieldAccessor, getField, type Accessor } from '../engine/fields.js';
import { expandInputs } from '../events/sources.js';
import { iterable, openInput, type OpenedInput } from '../events/inputs.js';
import { openFiles } from '../parallel/pool.js';
import { mergeOrdered, timeOrSkip } from '../events/order.js';
import { eventInstant, parseInstant } from '../events/time.js';
import type { EventDoc, SkippedItem } from '../events/types.js';
import type { ExceptionList, Rule } from '../rules/types.js';
import { buildEventAlert, buildSequenceAlerts, ruleUuid, type Alert, type AlertContext } from './alerts.js';
import { addCounters, emptyCounters, prepareRule, RuleRouter, type PrepareOptions, type PreparedRule, type RouteCounters } from './router.js';
import { parseInterval, resolveDateMath, TimeExpressionError, windowOffsets } from './schedule.js';

export { TimeExpressionError };

export interface HuntOptions {
  rules: Rule[];
  exceptionLists?: ExceptionList[];
  /** Value lists by id, for `list` exception entries. */
  valueLists?: Map<string, Set<string>>;
  /** Files or directories (expanded with expandInputs); '-' for stdin. */
  inputs: string[];
  /** Index for events that carry none (`--index`). */
  index?: string;
  /** Field ordering all events (default @timestamp). */
  timestampField?: string;
  /** Range start / end: ISO time or date math (`now-24h`), resolved against `now`. */
  from?: string;
  to?: string;
  /** Replay rule schedules even without --from/--to (range = the data's time span). */
  schedule?: boolean;
  /** "now" for date math and exception expiry (epoch ms; default: the wall clock). */
  now?: number;
  /** Overrides every rule's max_signals. */
  maxSignals?: number;
  /** Reorder buffer of the merge (see mergeOrdered). */
  reorderWindow?: number;
  /**
   * Worker threads reading, mapping and routing the input files (0: all on the main thread).
   * Default: one per core, up to one per file, when there are two or more files.
   */
  threads?: number;
  /** Keep alerts in the result (default true); with false, use onAlert to stream them. */
  collect?: boolean;
  onAlert?: (alert: Alert) => void;
  onWarning?: (message: string) => void;
  onSkip?: (item: SkippedItem) => void;
  /** Called every few thousand events and at the end. */
  onProgress?: (p: HuntProgress) => void;
}

export interface HuntProgress {
  bytes: number;
  totalBytes: number;
  events: number;
}

export interface RuleStats {
  rule_id: string;
  name: string;
  severity: string;
  /** Events handed to the rule by the dispatcher (index and category matched). */
  dispatched: number;
  /** Of those, events withheld by the rule's exceptions. */
  excepted: number;
  /** Events outside every run window (schedule replay only). */
  outsideWindows: number;
  /** Runs (windows) executed. */
  runs: number;
  /** Query results (events or sequences) before deduplication. */
  results: number;
  alerts: number;
  /** Alerts found again by an overlapping window and not emitted twice. */
  duplicates: number;
  /** Runs that hit max_signals. */
  maxSignalsReached: number;
}

export interface SkippedRuleInfo {
  rule_id: string;
  name: string;
  type: string;
  file: string;
  reason: string;
}

export interface HuntStats {
  inputs: number;
  bytes: number;
  events: number;
  /** Skipped lines/records/events by reason category, with one example each. */
  skipped: Map<string, { count: number; example: string }>;
  rulesRun: number;
  rulesSkipped: SkippedRuleInfo[];
  perRule: RuleStats[];
  alerts: number;
  duplicates: number;
  /** Events that no rule was interested in (index/category). */
  unrouted: number;
  /** Events whose index is unknown (no rule can see them without --index). */
  noIndex: number;
  warnings: string[];
  /** Emitted alerts per host.name (first value; '(no host)' when absent). */
  hosts: Map<string, number>;
  /** The hunt's time range (schedule replay), ISO. */
  range?: { from: string; to: string | null };
}

export interface HuntResult {
  alerts: Alert[];
  stats: HuntStats;
}

/** A problem with the hunt's arguments (bad date, no usable rules); print the message only. */
export class HuntError extends Error {
  override name = 'HuntError';
}

interface WindowRun {
  k: number;
  start: number;
  end: number;
  runTime: number;
  run: QueryRun;
}

interface RuleState {
  idx: number;
  rule: Rule;
  uuid: string;
  query: CompiledQuery;
  maxSignals: number;
  /** Window time of an event: timestamp_override with fallback (schedule replay). */
  windowTime: (src: Record<string, unknown>) => number | null;
  tiebreaker: Accessor | null;
  /** Events with the same ordering time, held to be sorted by the rule's tiebreaker. */
  tieGroup: EventDoc[];
  tieTime: number;
  runs: Map<number, WindowRun>;
  /** Windows k ≤ closedThrough are finished; late events for them are ignored. */
  closedThrough: number;
  nextClose: number;
  stats: RuleStats;
}

const PROGRESS_EVERY = 4096;

export async function hunt(opts: HuntOptions): Promise<HuntResult> {
  const now = opts.now ?? Date.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const stats: HuntStats = {
    inputs: 0,
    bytes: 0,
    events: 0,
    skipped: new Map(),
    rulesRun: 0,
    rulesSkipped: [],
    perRule: [],
    alerts: 0,
    duplicates: 0,
    unrouted: 0,
    noIndex: 0,
    warnings,
    hosts: new Map(),
  };
  const skip = (item: SkippedItem) => {
    const key = skipCategory(item.reason);
    const e = stats.skipped.get(key);
    const pos = item.position;
    const where =
      pos.line !== undefined
        ? `${pos.file}:${pos.line}`
        : `${pos.file}${pos.chunk !== undefined ? ` chunk ${pos.chunk}` : ''}${pos.record !== undefined ? ` record ${pos.record}` : ''}${pos.offset !== undefined ? ` offset ${pos.offset}` : ''}`;
    if (e) e.count++;
    else stats.skipped.set(key, { count: 1, example: `${where}: ${item.reason}` });
    opts.onSkip?.(item);
  };

  const timestampField = opts.timestampField ?? '@timestamp';
  const rangeFrom = opts.from !== undefined ? resolveDateMath(opts.from, now) : undefined;
  const rangeTo = opts.to !== undefined ? resolveDateMath(opts.to, now) : undefined;
  if (rangeFrom !== undefined && rangeTo !== undefined && rangeFrom >= rangeTo) {
    throw new HuntError(`--from (${new Date(rangeFrom).toISOString()}) must be before --to (${new Date(rangeTo).toISOString()})`);
  }
  const replay = opts.schedule === true || rangeFrom !== undefined || rangeTo !== undefined;

  // ---- rules
  const states: RuleState[] = [];
  const prepared: PreparedRule[] = [];
  const prepareOpts: PrepareOptions = {
    timestampField,
    maxSignals: opts.maxSignals,
    exceptionLists: opts.exceptionLists ?? [],
    valueLists: opts.valueLists,
    now,
    replay,
  };
  for (const rule of opts.rules) {
    const p = prepareRule(rule, prepareOpts);
    if ('skip' in p) {
      stats.rulesSkipped.push({ rule_id: rule.rule_id, name: rule.name, type: rule.type, file: rule.origin.file, reason: p.skip });
      continue;
    }
    for (const m of p.missingLists) warn(`rule "${rule.name}": exception list ${m.list_id} (${m.namespace_type}) not found; its exceptions are not applied`);
    for (const x of p.exceptionProblems) warn(`rule "${rule.name}": exception item ${x.item_id} of ${x.list_id} ignored: ${x.reason}`);
    const override = rule.timestamp_override ? fieldAccessor(rule.timestamp_override) : null;
    const fallback = rule.timestamp_override_fallback_disabled !== true;
    const tsAcc = fieldAccessor('@timestamp');
    const windowTime = (src: Record<string, unknown>): number | null => {
      if (override) {
        const v = override(src);
        if (v !== undefined && v !== null) return parseInstant(v)?.ms ?? null;
        if (!fallback) return null;
      }
      return parseInstant(tsAcc(src))?.ms ?? null;
    };
    prepared.push(p);
    states.push({
      idx: states.length,
      rule,
      uuid: ruleUuid(rule),
      query: p.query,
      maxSignals: p.maxSignals,
      windowTime,
      tiebreaker: rule.tiebreaker_field ? fieldAccessor(rule.tiebreaker_field) : null,
      tieGroup: [],
      tieTime: Number.NaN,
      runs: new Map(),
      closedThrough: 0,
      nextClose: Infinity,
      stats: {
        rule_id: rule.rule_id,
        name: rule.name,
        severity: rule.severity,
        dispatched: 0,
        excepted: 0,
        outsideWindows: 0,
        runs: 0,
        results: 0,
        alerts: 0,
        duplicates: 0,
        maxSignalsReached: 0,
      },
    });
  }
  stats.rulesRun = states.length;
  stats.perRule = states.map((s) => s.stats);

  // ---- alerts
  const alerts: Alert[] = [];
  const collect = opts.collect !== false;
  const seen = new Set<string>();
  const emit = (s: RuleState, group: Alert[]) => {
    // A group (sequence) is emitted whole or not at all: its ids all derive from the same events.
    const id = group[group.length - 1]!['kibana.alert.uuid'] as string;
    if (seen.has(id)) {
      s.stats.duplicates += group.length;
      stats.duplicates += group.length;
      return;
    }
    seen.add(id);
    for (const a of group) {
      const h = hostOf(a);
      stats.hosts.set(h, (stats.hosts.get(h) ?? 0) + 1);
      s.stats.alerts++;
      stats.alerts++;
      if (collect) alerts.push(a);
      opts.onAlert?.(a);
    }
  };
  const finishRun = (s: RuleState, w: WindowRun | null, run: QueryRun, runTime: number) => {
    s.stats.runs++;
    const results: QueryResult[] = run.finish();
    s.stats.results += results.length;
    const runIso = new Date(runTime).toISOString();
    if (results.length >= s.maxSignals) {
      s.stats.maxSignalsReached++;
      const where = w ? `run at ${runIso} (window ${new Date(w.start).toISOString()} – ${new Date(w.end).toISOString()})` : 'the hunt';
      warn(
        `rule "${s.rule.name}": max_signals (${s.maxSignals}) reached in ${where}; further matches of this run are not alerted` +
          (w ? '' : ' (use --schedule to replay the rule schedule, or raise --max-signals)'),
      );
    }
    const ctx: AlertContext = {
      runTime: runIso,
      executionUuid: sha256Uuid(`${s.uuid}:${w ? w.k : 'all'}:${runIso}`),
    };
    for (const r of results) {
      if (r.kind === 'event') emit(s, [buildEventAlert(s.rule, r.event, ctx)]);
      else emit(s, buildSequenceAlerts(s.rule, r.events, ctx));
    }
  };

  // ---- schedule replay state
  let anchor: number | undefined = rangeFrom;
  const windowsOf = new Map<RuleState, { interval: number; fromOffset: number; toOffset: number }>();
  const initWindows = (at: number) => {
    for (const s of states) {
      const interval = parseInterval(s.rule.interval);
      windowsOf.set(s, { interval, ...windowOffsets(s.rule.from, s.rule.to, at) });
    }
  };
  if (replay && anchor !== undefined) initWindows(anchor);
  let globalNextClose = Infinity;

  const pushRun = (s: RuleState, ev: EventDoc) => {
    if (!replay) {
      let w = s.runs.get(0);
      if (!w) s.runs.set(0, (w = { k: 0, start: -Infinity, end: Infinity, runTime: 0, run: s.query.createRun() }));
      if (!w.run.done) w.run.push(ev);
      return;
    }
    const wt = s.windowTime(ev.source);
    const win = windowsOf.get(s)!;
    if (wt === null || wt < anchor! || (rangeTo !== undefined && wt > rangeTo)) {
      s.stats.outsideWindows++;
      return;
    }
    // Window k: run time anchor + k·interval, searching [run + fromOffset, run + toOffset].
    const kLo = Math.max(1, Math.ceil((wt - win.toOffset - anchor!) / win.interval));
    let kHi = Math.floor((wt - win.fromOffset - anchor!) / win.interval);
    if (rangeTo !== undefined) kHi = Math.min(kHi, Math.ceil((rangeTo - anchor!) / win.interval));
    let placed = false;
    for (let k = Math.max(kLo, s.closedThrough + 1); k <= kHi; k++) {
      let w = s.runs.get(k);
      if (!w) {
        const runTime = anchor! + k * win.interval;
        const end = Math.min(runTime + win.toOffset, rangeTo ?? Infinity);
        w = { k, start: Math.max(runTime + win.fromOffset, anchor!), end, runTime, run: s.query.createRun() };
        s.runs.set(k, w);
        if (end < s.nextClose) s.nextClose = end;
        if (end < globalNextClose) globalNextClose = end;
      }
      if (!w.run.done) w.run.push(ev);
      placed = true;
    }
    if (!placed) s.stats.outsideWindows++;
  };

  // Closes the windows that ended before `t` (ordering time): no later event can fall in them
  // unless its window time precedes its ordering time, which ingest pipelines do not produce.
  const closeWindows = (t: number) => {
    globalNextClose = Infinity;
    for (const s of states) {
      if (s.nextClose < t) {
        // Held ties older than t may belong to the closing windows; ties AT t cannot (their
        // time is past every closing window's end) and stay held so their order is kept.
        if (s.tieTime < t) flushTies(s);
        const done = [...s.runs.values()].filter((w) => w.end < t).sort((a, b) => a.k - b.k);
        for (const w of done) {
          s.runs.delete(w.k);
          finishRun(s, w, w.run, w.runTime);
          if (w.k > s.closedThrough) s.closedThrough = w.k;
        }
        s.nextClose = Infinity;
        for (const w of s.runs.values()) if (w.end < s.nextClose) s.nextClose = w.end;
      }
      if (s.nextClose < globalNextClose) globalNextClose = s.nextClose;
    }
  };

  const flushTies = (s: RuleState) => {
    const g = s.tieGroup;
    if (g.length === 0) return;
    if (g.length > 1) {
      const tb = s.tiebreaker!;
      // Stable sort: numbers numerically, strings by code unit, missing last (as the merge does).
      g.sort((a, b) => compareTb(tb(a.source), tb(b.source)));
    }
    for (const ev of g) pushRun(s, ev);
    s.tieGroup = [];
  };

  const deliver = (s: RuleState, ev: EventDoc, t: number) => {
    if (s.tiebreaker) {
      if (t !== s.tieTime) {
        flushTies(s);
        s.tieTime = t;
      }
      s.tieGroup.push(ev);
      return;
    }
    pushRun(s, ev);
  };

  // ---- inputs
  const files = await expandInputs(opts.inputs);
  stats.inputs = files.length;
  // Files (not stdin) may be read, mapped and routed on worker threads; see src/parallel. Inputs
  // read on this thread are routed here, before the merge, exactly as the workers route theirs:
  // the same events are counted whichever thread reads a file.
  const localRouters: RuleRouter[] = [];
  const opened = openFiles(files, {
    threads: opts.threads,
    route: { kind: 'hunt', rules: states.map((s) => s.rule), prepare: prepareOpts },
    timestampField,
    index: opts.index,
    onSkip: skip,
    onWarning: warn,
    local: (f) => {
      const router = new RuleRouter(prepared);
      localRouters.push(router);
      return routedInput(openInput(f, { index: opts.index, onSkip: skip, onWarning: warn }), router, timestampField, skip);
    },
  });
  const sources = opened.inputs;
  let totalBytes = 0;
  for (const s of sources) totalBytes += s.size;
  const merged = mergeOrdered(sources, {
    timestampField,
    reorderWindow: opts.reorderWindow,
    onSkip: skip,
    onWarning: warn,
  });
  const workerCounters: RouteCounters[] = [];
  const tsOf = fieldAccessor(timestampField);
  let lastTime = -Infinity;
  const progress = () => {
    let bytes = 0;
    for (const s of sources) bytes += s.bytesRead();
    stats.bytes = bytes;
    opts.onProgress?.({ bytes, totalBytes, events: stats.events });
  };

  try {
    for await (const batch of merged.batches()) for (const ev of batch) {
      stats.events++;
      const t = eventInstant(ev, timestampField, tsOf)!.ms;
      if (t > lastTime) lastTime = t;
      if (replay) {
        if (anchor === undefined) initWindows((anchor = t));
        if (t > globalNextClose) closeWindows(t);
      }
      if ((stats.events & (PROGRESS_EVERY - 1)) === 0) progress();
      const routes = ev.routed!;
      for (let i = 0; i < routes.length; i++) deliver(states[routes[i]!]!, ev, t);
    }
  } finally {
    await opened.close();
  }
  for (const input of opened.parallel) {
    const c = input.counters();
    if (c) workerCounters.push(c as RouteCounters);
  }
  progress();

  // ---- finish: remaining windows, oldest first; the single run's time is the last event's.
  for (const s of states) {
    flushTies(s);
    const rest = [...s.runs.values()].sort((a, b) => a.k - b.k);
    s.runs.clear();
    for (const w of rest) finishRun(s, replay ? w : null, w.run, replay ? w.runTime : lastTime === -Infinity ? now : lastTime);
  }
  if (replay && anchor !== undefined) {
    stats.range = { from: new Date(anchor).toISOString(), to: rangeTo !== undefined ? new Date(rangeTo).toISOString() : lastTime === -Infinity ? null : new Date(lastTime).toISOString() };
  }
  const counters = emptyCounters(states.length);
  for (const r of localRouters) addCounters(counters, r.counters);
  for (const c of workerCounters) addCounters(counters, c);
  for (const s of states) {
    s.stats.dispatched = counters.dispatched[s.idx]!;
    s.stats.excepted = counters.excepted[s.idx]!;
  }
  stats.unrouted = counters.unrouted;
  stats.noIndex = counters.noIndex;
  if (stats.noIndex > 0) {
    warn(`${stats.noIndex} event(s) have no index (no _index, data_stream.* or Beats agent fields); no rule sees them — name their index with --index`);
  }
  return { alerts, stats };
}

function hostOf(a: Alert): string {
  const v = getField(a, 'host.name');
  const x = Array.isArray(v) ? v[0] : v;
  return x === undefined || x === null || x === '' ? '(no host)' : String(x);
}

function compareTb(a: unknown, b: unknown): number {
  const am = a === undefined || a === null;
  const bm = b === undefined || b === null;
  if (am || bm) return am === bm ? 0 : am ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** A UUID-shaped digest, for deterministic execution ids. */
function sha256Uuid(s: string): string {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Groups skip reasons: the text before the first detail (quotes, numbers, colon). */
function skipCategory(reason: string): string {
  return reason
    .replace(/"[^"]*"/g, '"…"')
    .replace(/late event \S+:.*?older than/, 'late event: older than')
    .replace(/0x[0-9a-f]+/gi, 'N')
    .replace(/\d[\d:.TZ-]*/g, 'N')
    .slice(0, 120);
}

// ---- input adapters -------------------------------------------------------------------------

/**
 * hunt's routing stage for an input read on the main thread: what a worker does for the files it
 * reads (src/parallel/worker.ts) — time each event (those without one are reported and skipped)
 * and attach the rules that need it.
 */
function routedInput(input: OpenedInput, router: RuleRouter, tsField: string, onSkip: (item: SkippedItem) => void): OpenedInput {
  async function* batches(): AsyncGenerator<EventDoc[]> {
    for await (const batch of input.batches()) {
      let w = 0;
      for (let i = 0; i < batch.length; i++) {
        const ev = batch[i]!;
        if (!timeOrSkip(ev, tsField, onSkip)) continue;
        const routes = router.route(ev);
        ev.routed = routes.length === 0 ? NOBODY : routes.slice();
        batch[w++] = ev;
      }
      batch.length = w;
      if (w > 0) yield batch;
    }
  }
  return { ...input, batches, ...iterable(batches) };
}

const NOBODY: readonly number[] = [];

