// hunt(): runs many EQL rules over log files in one pass, producing Kibana-shaped alerts.
//
// A thin driver of the detection engine (engine.ts): inputs (NDJSON/JSON/ES hits, EVTX) are read,
// routed to the rules that can use them (router.ts, on worker threads or here) and merged into one
// stream in time order ONCE; the engine runs the rules' windows over that stream and hands new
// alerts to a sink that collects, streams and counts them. Nothing holds all events, so memory is
// bounded by the merge buffers, the rules' sequence state and the results of open windows.
//
// Runs. By default each rule's schedule is replayed over the data's time span (or --from/--to),
// as Kibana's manual rule run does: every run has its own max_signals budget (see engine.ts and
// RuleSchedule). With `singleWindow` the whole data is ONE run of every rule.
//
// Exceptions and the rule's `filters` are applied as Kibana applies them: as a filter on the
// search, i.e. an excepted or filtered-out event never reaches the rule's query. For a sequence
// this means any excepted step kills it (the sequence cannot form with that event). They are
// counted per rule as "events excepted" and "events filtered".
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { fieldAccessor, plainScopeOf } from '../engine/fields.js';
import { expandInputs, InputError, noInputFilesMessage } from '../events/sources.js';
import { discoverHostAddresses, mentionsHostIp, type HostIpMode } from '../events/host-discovery.js';
import { emptyShape, iterable, openInput, type HostAddresses, type InputShape, type OpenedInput } from '../events/inputs.js';
import type { HostAddressBook } from '../events/windows/index.js';

import { fieldValuesFrom, openFiles, overridesFor, placedEvent, plannedThreads, SINGLE_FILE_MIN_RULES } from '../parallel/pool.js';
import type { FileLines } from '../parallel/file-lines.js';
import { readAnswers } from '../engine/answers.js';
import type { TermAnswers } from '../engine/types.js';
import { HuntPicker } from './hunt-picker.js';
import { timestampOverrides } from '../parallel/protocol.js';
import { defaultHeapBudget, keepHeapWithin } from '../util/heap-growth.js';
import { timeOrSkip } from '../events/order.js';
import { readOrdered } from '../events/ordered.js';
import { DEFAULT_SORT_MEMORY, type SortStats } from '../events/external-sort.js';
import { eventInstant } from '../events/time.js';
import type { EventDoc, SkippedItem } from '../events/types.js';
import type { ExceptionList, Rule } from '../rules/types.js';
import type { Alert } from './alerts.js';
import { alertHost, DetectionEngine, type RuleStats } from './engine.js';
import { saveOutlines } from '../engine/outline.js';
import type { IndexMappings } from '../engine/mapping.js';
import { lineFilter } from '../events/prefilter.js';
import { addCounters, emptyCounters, takeCounters, prepareRule, ruleNeedles, RuleRouter, type PrepareOptions, type PreparedRule, type RouteCounters } from './router.js';
import { resolveDateMath, TimeExpressionError } from './schedule.js';
import { markFirstEventRead, markStartup } from '../util/startup-trace.js';
import { routerIndexFor } from './router-cache.js';
import { extraField } from '../rules/cold-fields.js';

export type { RuleStats };
export { TimeExpressionError };

export interface HuntOptions {
  rules: Rule[];
  exceptionLists?: ExceptionList[];
  /** Value lists by id, for `list` exception entries. */
  valueLists?: Map<string, Set<string>>;
  /** Index mappings (`--mapping`): each rule is verified and typed against its indices (router.ts). */
  mapping?: IndexMappings;
  /** Files or directories (expanded with expandInputs); '-' for stdin. */
  inputs: string[];
  /** Index for events that carry none (`--index`). */
  index?: string;
  /** Field ordering all events (default @timestamp). */
  timestampField?: string;
  /** Range start / end: ISO time or date math (`now-24h`), resolved against `now`. */
  from?: string;
  to?: string;
  /**
   * Run each rule ONCE over the whole data (or [from, to]) with one max_signals budget, instead
   * of replaying its schedule (the default).
   */
  singleWindow?: boolean;
  /** Replay rule schedules (the default; kept for compatibility). */
  schedule?: boolean;
  /** "now" for date math and exception expiry (epoch ms; default: the wall clock). */
  now?: number;
  /** Overrides every rule's max_signals. */
  maxSignals?: number;
  /** Reorder buffer of the merge (see mergeOrdered). */
  reorderWindow?: number;
  /**
   * Memory budget (bytes) for sorting inputs that are out of order beyond the reorder buffer;
   * beyond it the sort goes through temporary files. Default 512 MiB.
   */
  memory?: number;
  /** Directory for temporary files (default: the OS's, e.g. $TMPDIR). */
  tmpDir?: string;
  /** The stream read for the input '-' (default process.stdin). */
  stdin?: Readable;
  /**
   * Worker threads reading, mapping and routing the input files (0: all on the main thread).
   * Default: one per core, up to one per file, when there are two or more files.
   */
  threads?: number;
  /** Size of the parts a single NDJSON file is cut into for the workers (tests; see src/parallel/chunks.ts). */
  partBytes?: number;
  /**
   * The heap budget in bytes (util/heap-growth.ts): V8's growing factor is chosen after each of
   * the main thread's full collections so that the next comes at about this size, not at four
   * times what survived (the input workers follow the same factor). 0: V8's own factor.
   * Default DEFAULT_HEAP_BUDGET.
   */
  heapBudget?: number;
  /**
   * host.ip for Windows events mapped on read (EVTX, XML, NXLog, raw Winlogbeat): `auto` (default)
   * runs the discovery pass (src/events/host-discovery.ts) when a rule, its filters or exceptions
   * use host.ip; `on` always; `off` never (such events then have no host.ip).
   */
  hostIp?: HostIpMode;
  /**
   * Outline cache directory (engine/outline.ts): rules whose outline is cached there compile when
   * an event first reaches them, instead of before reading starts; the router's index, once
   * every rule's outline is cached, is kept there too (router-cache.ts). The CLI passes its cache
   * dir.
   */
  outlines?: string;
  /** Keep alerts in the result (default true); with false, use onAlert to stream them. */
  collect?: boolean;
  onAlert?: (alert: Alert) => void;
  onWarning?: (message: string) => void;
  onSkip?: (item: SkippedItem) => void;
  /** Called every few thousand events and at the end. */
  onProgress?: (p: HuntProgress) => void;
  /**
   * Awaited between input batches when it returns a promise: a slow alert consumer (a pipe) slows
   * the hunt down instead of letting alerts pile up in memory.
   */
  backpressure?: () => Promise<void> | null;
  /**
   * Stops the hunt at the next input batch (Ctrl-C). The alerts of runs that had ended are out;
   * runs still open are dropped, not alerted from part of their data (a partial run could alert
   * matches a complete one cuts under max_signals): a rerun completes them. stats.interrupted
   * says so.
   */
  signal?: AbortSignal;
}

export interface HuntProgress {
  bytes: number;
  totalBytes: number;
  events: number;
}

export interface SkippedRuleInfo {
  rule_id: string;
  name: string;
  type: string;
  file: string;
  /** Line of the rule in its file, when known. */
  line?: number;
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
  /** Per input: its documents' shapes (for the "no category / no time" diagnostics). */
  inputShapes?: { file: string; shape: InputShape }[];
  /** The hunt's time range (schedule replay), ISO. */
  range?: { from: string; to: string | null };
  /** The host.ip discovery pass, when it ran: files it read, machines with addresses, addresses found. */
  hostAddresses?: { files: number; hosts: number; addresses: number };
  /** Stopped early by HuntOptions.signal: the runs still open were not alerted. */
  interrupted?: boolean;
  /**
   * Set when the inputs were out of order beyond the reorder buffers and were read again through
   * an external sort: why, and what the sort did (runs = temporary files; 0: done in memory).
   */
  sorted?: SortStats & { reason: string; memory: number };
}

export interface HuntResult {
  alerts: Alert[];
  stats: HuntStats;
}

/** A problem with the hunt's arguments (bad date, no usable rules); print the message only. */
export class HuntError extends Error {
  override name = 'HuntError';
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
  if (opts.singleWindow && opts.schedule) throw new HuntError('--single-window and --schedule exclude each other');
  const replay = opts.singleWindow !== true;

  // ---- rules
  const prepared: PreparedRule[] = [];
  const prepareOpts: PrepareOptions = {
    timestampField,
    maxSignals: opts.maxSignals,
    exceptionLists: opts.exceptionLists ?? [],
    valueLists: opts.valueLists,
    now,
    replay,
    outlines: opts.outlines,
    mapping: opts.mapping,
  };
  const unmapped: string[] = [];
  for (const rule of opts.rules) {
    const p = prepareRule(rule, prepareOpts);
    if ('skip' in p) {
      stats.rulesSkipped.push({ rule_id: rule.rule_id, name: rule.name, type: rule.type, file: rule.origin.file, line: rule.origin.line, reason: p.skip });
      continue;
    }
    for (const m of p.missingLists) warn(`rule "${rule.name}": exception list ${m.list_id} (${m.namespace_type}) not found; its exceptions are not applied`);
    for (const x of p.exceptionProblems) warn(`rule "${rule.name}": exception item ${x.item_id} of ${x.list_id} ignored: ${x.reason}`);
    // Kibana's warning (utils.ts getUnprocessedExceptionsWarnings) for value lists it cannot use.
    if (p.unprocessedExceptions.length > 0) {
      warn(`rule "${rule.name}": The following exceptions won't be applied to rule execution: ${p.unprocessedExceptions.join(', ')}`);
    }
    if (p.mapped === false) unmapped.push(rule.name);
    prepared.push(p);
  }
  if (unmapped.length > 0) {
    const some = unmapped.slice(0, 3).map((n) => `"${n}"`).join(', ');
    warn(`${unmapped.length} rule(s) search no index of --mapping and run with ECS field types (e.g. ${some}${unmapped.length > 3 ? ', …' : ''})`);
  }
  markStartup('rules prepared');
  // New outlines are written before reading starts: the input workers find them there.
  if (opts.outlines) saveOutlines();

  // ---- the detection engine, with a sink that collects, streams and counts the alerts
  const alerts: Alert[] = [];
  const collect = opts.collect !== false;
  const deliver = (group: Alert[]) => {
    for (const a of group) {
      const h = alertHost(a);
      stats.hosts.set(h, (stats.hosts.get(h) ?? 0) + 1);
      if (collect) alerts.push(a);
      opts.onAlert?.(a);
    }
  };
  const newEngine = (sink: (group: Alert[]) => void, onWarning: (m: string) => void) =>
    new DetectionEngine({ rules: prepared, mode: replay ? 'schedule' : 'single', from: rangeFrom, to: rangeTo, now, timestampField, onWarning, sink });
  stats.rulesRun = prepared.length;
  // Every rule was skipped: nothing could alert, so the inputs are not read (a quiet stdin would
  // otherwise be waited for before the caller hears that no rule runs).
  if (prepared.length === 0) return { alerts: [], stats };

  // ---- inputs, in order (events/ordered.ts): merged as read, or — when an input is out of order
  // beyond the reorder buffers — read again through an external sort. The first attempt's engine
  // warnings are held until it is known to be the final one; its alerts are written (see sink).
  const files = await expandInputs(opts.inputs, { onWarning: warn });
  // Directories that hold no input file are an input error, as a missing file is: a hunt over
  // a folder of .log files must not look like a clean run over no events.
  if (files.length === 0) throw new InputError(noInputFilesMessage(opts.inputs));
  stats.inputs = files.length;
  const mode = opts.hostIp ?? 'auto';
  let hostAddresses: HostAddresses | undefined;
  if (mode === 'on' || (mode === 'auto' && rulesUseHostIp(prepared.map((p) => p.rule), opts.exceptionLists ?? []))) {
    // The pass runs when the first document mapped to ECS on read is met (on any thread), the
    // only kind that receives addresses: files of ECS documents alone are not read twice (it
    // searched every line of them before reading, about a tenth of a hunt with every rule over
    // Agent data). Until then, and if it never runs, no address was found.
    stats.hostAddresses = { files: files.filter((f) => f.path !== '-').length, hosts: 0, addresses: 0 };
    let found: Promise<HostAddressBook | undefined> | null = null;
    hostAddresses = () =>
      (found ??= discoverHostAddresses(files).then((r) => {
        let n = 0;
        for (const [, ips] of r.book.entries()) n += ips.length;
        stats.hostAddresses = { files: r.files, hosts: r.book.size, addresses: n };
        return r.book;
      }));
  }
  const tmpDir = opts.tmpDir ?? tmpdir();
  // Made by readOrdered's first call of the consumer factory below (each attempt has its own).
  let engine!: DetectionEngine;
  let heldWarnings: string[] = [];
  let localRouters: RuleRouter[] = [];
  let opened: ReturnType<typeof openFiles> | null = null;
  let sources: OpenedInput[] = [];
  let totalBytes = 0;
  const tsOf = fieldAccessor(timestampField);
  const progress = () => {
    let bytes = 0;
    for (const s of sources) bytes += s.bytesRead();
    stats.bytes = bytes;
    opts.onProgress?.({ bytes, totalBytes, events: stats.events });
  };
  const signal = opts.signal;
  // Alerts are written as runs end, also while the inputs are merged as read. If an input then
  // turns out to be out of order and everything is read again sorted, the sorted attempt writes
  // only the alerts not written yet; an alert written by the first attempt that the sorted one
  // does not find (a run that closed before its late event arrived) is counted and reported.
  const written = new Set<string>();
  const confirmed = new Set<string>();
  let sortAttempt = false;
  /** Every alert of the sorted attempt, written earlier or not (the result's order; collect only). */
  const sortedAlerts: Alert[] = [];
  const sink = (group: Alert[]) => {
    if (!sortAttempt) {
      for (const a of group) written.add(a['kibana.alert.uuid'] as string);
      deliver(group);
      return;
    }
    if (collect) sortedAlerts.push(...group);
    const fresh = group.filter((a) => {
      const id = a['kibana.alert.uuid'] as string;
      if (!written.has(id)) return true;
      confirmed.add(id);
      return false;
    });
    if (fresh.length > 0) deliver(fresh);
  };
  // Without a line filter (the rules have too many needles, or one has none) a single file can be
  // read in parts on every thread.
  // The rules' timestamp_override fields: their numbers are read from their text (EventDoc.numberTexts).
  const numberTimeFields = timestampOverrides(prepared.map((p) => p.rule));
  const filesOptions = {
    threads: opts.threads,
    everyLine: lineFilter(ruleNeedles(prepared), timestampField) === null,
    busyMain: prepared.length >= SINGLE_FILE_MIN_RULES,
  };
  // With every rule the main thread keeps 160–260 MB live and V8 let its heap reach four times
  // that before collecting: a hunt of one large file passed 1 GB of RSS (util/heap-growth.ts).
  const heap = keepHeapWithin(opts.heapBudget ?? defaultHeapBudget(plannedThreads(files, filesOptions)));
  let report: Awaited<ReturnType<typeof readOrdered>>;
  try {
    report = await readOrdered(
      {
        readsStdin: files.some((f) => f.path === '-'),
        stdin: opts.stdin,
        timestampField,
        reorderWindow: opts.reorderWindow,
        memory: opts.memory,
        tmpDir,
        signal,
        onSkip: skip,
        onWarning: warn,
        // Files (not stdin) may be read, mapped and routed on worker threads; see src/parallel.
        // Inputs read on this thread are routed here, before the order stage, exactly as the
        // workers route theirs: the same events are counted whichever thread reads a file.
        open: (attempt, io) => {
          localRouters = [];
          opened = openFiles(files, {
            ...filesOptions,
            ...(opts.partBytes !== undefined ? { partBytes: opts.partBytes } : {}),
            route: { kind: 'hunt', rules: prepared.map((p) => p.rule), prepare: prepareOpts },
            timestampField,
            index: opts.index,
            hostAddresses,
            onSkip: io.onSkip,
            onWarning: io.onWarning,
            local: (f) => {
              markStartup('first input opening');
              const router = new RuleRouter(prepared, routerIndexFor(prepared, opts.outlines));
              markStartup('router built');
              localRouters.push(router);
              // Lines holding none of the rules' needles are read unparsed (not in the sorting attempt).
              const needles = attempt === 'stream' ? router.needles : null;
              const input = openInput(f, { index: opts.index, hostAddresses, onSkip: io.onSkip, onWarning: io.onWarning, stdin: io.stdin, needles, timestampField, numberTimeFields });
              return routedInput(input, router, timestampField, io.onSkip);
            },
            // The parts of a single file the main thread reads while it would wait for the worker,
            // routed by one router of their own (its counters travel with each part, see chunks.ts).
            // Their lines are read through a LinePicker too (hunt-picker.ts), as the workers read
            // theirs: such an event stands for its line, read back when its document is needed.
            localParts: (f) => {
              let router: RuleRouter | null = null;
              let picker: HuntPicker | null | undefined;
              return {
                open: (range, onSkip, lines) => {
                  router ??= new RuleRouter(prepared, routerIndexFor(prepared, opts.outlines));
                  // (Made once the router is: its accessors are among the fields picked.)
                  if (picker === undefined) {
                    picker = HuntPicker.create(prepared, prepareOpts, timestampField, null);
                    picker?.walkWith(router.walker);
                  }
                  const pick = picker?.picker ?? null;
                  const input = openInput(f, { range, index: opts.index, hostAddresses, onSkip, onWarning: io.onWarning, timestampField, numberTimeFields, pick, keepText: pick !== null });
                  return routedInput(input, router, timestampField, onSkip, pick === null ? null : { lines: lines(), overrides: numberTimeFields });
                },
                take: () => (router === null ? null : takeCounters(router.counters)),
              };
            },
          });
          sources = opened.inputs;
          totalBytes = 0;
          for (const x of sources) totalBytes += x.size;
          return { inputs: opened.inputs, close: () => opened!.close() };
        },
      },
      (attempt) => {
        stats.events = 0;
        heldWarnings = [];
        sortAttempt = attempt === 'sort';
        // The first attempt's engine warnings (max_signals reached …) wait until it stands.
        engine = sortAttempt ? newEngine(sink, warn) : newEngine(sink, (m) => heldWarnings.push(m));
        const e = engine;
        return {
          push(batch) {
            for (const ev of batch) {
              stats.events++;
              if ((stats.events & (PROGRESS_EVERY - 1)) === 0) progress();
              e.push(ev, eventInstant(ev, timestampField, tsOf)!.ms, ev.routed!);
            }
            return opts.backpressure?.() ?? undefined;
          },
          get stopped() {
            return signal?.aborted === true;
          },
        };
      },
    );
  } finally {
    heap.stop();
  }
  stats.inputShapes = sources.map((s) => ({ file: s.file, shape: s.shape?.() ?? emptyShape() }));
  const workerCounters: RouteCounters[] = [];
  for (const input of (opened as ReturnType<typeof openFiles> | null)?.parallel ?? []) {
    const c = input.counters();
    if (c) workerCounters.push(c as RouteCounters);
  }
  progress();
  if (report.attempt === 'sort') {
    stats.sorted = { reason: report.reason!, memory: opts.memory ?? DEFAULT_SORT_MEMORY, ...report.sort! };
  }

  // ---- finish: remaining windows, oldest first (not when interrupted: see HuntOptions.signal)
  if (signal?.aborted) stats.interrupted = true;
  else engine.finish();
  for (const m of heldWarnings) warn(m);
  if (sortAttempt && !stats.interrupted) {
    const unconfirmed = written.size - confirmed.size;
    // The result lists the sorted attempt's alerts in its order (whenever each was written), then
    // those only the first attempt wrote: the same list however the read went.
    if (collect) {
      const extra = alerts.filter((a) => !confirmed.has(a['kibana.alert.uuid'] as string) && written.has(a['kibana.alert.uuid'] as string));
      alerts.length = 0;
      for (const a of sortedAlerts) alerts.push(a);
      for (const a of extra) alerts.push(a);
    }
    if (unconfirmed > 0) {
      warn(`${unconfirmed} alert(s) written before the inputs were found out of order are not among the results of the sorted read (a run ended before an event of its window arrived); rerun over sorted input for exactly the sorted results`);
    }
  }
  stats.perRule = engine.stats;
  stats.range = engine.range;
  for (const r of engine.stats) {
    stats.alerts += r.alerts;
    stats.duplicates += r.duplicates;
  }
  const counters = emptyCounters(prepared.length);
  for (const r of localRouters) addCounters(counters, r.counters);
  for (const c of workerCounters) addCounters(counters, c);
  engine.stats.forEach((r, i) => {
    r.dispatched = counters.dispatched[i]!;
    r.excepted = counters.excepted[i]! + engine.exceptedPerRun[i]!;
    r.filtered = counters.filtered[i]!;
  });
  stats.unrouted = counters.unrouted;
  stats.noIndex = counters.noIndex;
  if (stats.noIndex > 0) {
    warn(`${stats.noIndex} event(s) have no index (no _index, data_stream.* or Beats agent fields); no rule sees them — name their index with --index`);
  }
  return { alerts, stats };
}

/**
 * True when one of the rules' query or filters, or an exception list, names host.ip: then the
 * host.ip discovery pass runs (`auto`). Conservative: an exception list counts whichever rule uses it.
 */
export function rulesUseHostIp(rules: readonly Rule[], exceptionLists: readonly ExceptionList[]): boolean {
  for (const r of rules) {
    if (r.query !== undefined && mentionsHostIp(r.query)) return true;
    const filters = extraField(r, 'filters');
    if (filters !== undefined && mentionsHostIp(JSON.stringify(filters))) return true;
  }
  return exceptionLists.some((l) => mentionsHostIp(JSON.stringify(l.items)));
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
function routedInput(input: OpenedInput, router: RuleRouter, tsField: string, onSkip: (item: SkippedItem) => void, placed: PlacedParts | null = null): OpenedInput {
  // Picked events' answers, as the router writes them (reused for every event).
  const flat: unknown[] = [];
  // The rules' timestamp_override fields: their values travel as a worker's do (pool.ts). A
  // picked document holds no number in them (sources.ts takePicked), so they are read as they are.
  const overrides = placed === null || placed.overrides.length === 0 ? null : overridesFor([...placed.overrides]);
  const gets = overrides === null ? [] : overrides.fields.map((f) => fieldAccessor(f));
  const values: unknown[] = [];
  /** The values of the rules' timestamp_override fields in a picked document (EventDoc.fieldValues). */
  const fieldValues = (src: Record<string, unknown>): Readonly<Record<string, unknown>> | undefined => {
    if (overrides === null) return undefined;
    for (let k = 0; k < gets.length; k++) values[k] = gets[k]!(src);
    return fieldValuesFrom(overrides, values, 0);
  };
  async function* batches(): AsyncGenerator<EventDoc[]> {
    for await (const batch of input.batches()) {
      markFirstEventRead();
      let w = 0;
      for (let i = 0; i < batch.length; i++) {
        const ev = batch[i]!;
        if (ev.routed !== undefined) {
          // A line the input did not parse (no rule's needle in it): timed, needed by no rule.
          router.counters.unrouted++;
        } else {
          if (!timeOrSkip(ev, tsField, onSkip)) continue;
          if (placed !== null) {
            if (ev.picked === true) {
              flat.length = 0;
              const routes = router.route(ev, flat);
              if (routes.length === 0) {
                ev.routed = NOBODY;
                batch[w++] = ev;
              } else {
                const answers = new Array<TermAnswers | null>(routes.length);
                readAnswers(flat, routes.length, answers);
                batch[w++] = placedEvent(ev, routes.slice(), answers, fieldValues(ev.source), placed.lines);
              }
              continue;
            }
            // (Kept for the picker's line places only: not held with the event.)
            if (ev.text !== undefined) ev.text = undefined;
          }
          const routes = router.route(ev);
          // The router's walk marked the source plain (or not); the engine, which pushes the event
          // after the whole batch is routed, marks it again from this (EventDoc.plain).
          ev.plain = plainScopeOf(ev.source);
          ev.routed = routes.length === 0 ? NOBODY : routes.slice();
        }
        batch[w++] = ev;
      }
      batch.length = w;
      if (w > 0) yield batch;
    }
  }
  return { ...input, batches, ...iterable(batches) };
}

const NOBODY: readonly number[] = [];

/** What routedInput needs for events read through a LinePicker (EventDoc.picked). */
interface PlacedParts {
  /** Reads their lines back (parallel/file-lines.ts). */
  lines: FileLines;
  /** The rules' timestamp_override fields (their values travel as EventDoc.fieldValues). */
  overrides: readonly string[];
}
