// Input worker (see protocol.ts): reads the files it is given with the same opener as the main
// thread, routes each event, and streams batches back under credit-based flow control so a
// file the merge is not consuming yet stops being read once its credits are spent.
import { parentPort, workerData } from 'node:worker_threads';
import { openInput, type HostAddresses } from '../events/inputs.js';
import { fileIdPrefix, InputError, STDIN_NAME } from '../events/sources.js';
import { timeOrSkip } from '../events/order.js';
import { overrideWireValue } from '../events/number-time.js';
import { fieldAccessor, getField, type FieldWalker } from '../engine/fields.js';
import type { HuntPicker } from '../detect/hunt-picker.js';
import type { PreparedRule } from '../detect/router.js';
import { HostAddressBook } from '../events/windows/host-ip.js';
import type { EventDoc, SkippedItem } from '../events/types.js';
import { CLONE, forwardForm, JSON_TEXT } from './forward-form.js';
import { ForwardedBuilder } from './forwarded.js';
import { timestampOverrides, type ByteRange, type EventBatch, type FromWorker, type ToWorker, type WorkerConfig } from './protocol.js';

const port = parentPort!;
const cfg = workerData as WorkerConfig;
const hostAddresses: HostAddresses | undefined = cfg.hostAddresses ? new HostAddressBook(cfg.hostAddresses) : cfg.hostAddressesLater ? askHostAddresses : undefined;

/** The main thread's answer to 'hosts?' (see WorkerConfig.hostAddressesLater), asked once. */
let hostsAnswer: ((entries: [string, string[]][] | null) => void) | null = null;
let hostsAsked: Promise<HostAddressBook | undefined> | null = null;
function askHostAddresses(): Promise<HostAddressBook | undefined> {
  hostsAsked ??= new Promise<[string, string[]][] | null>((resolve) => {
    hostsAnswer = resolve;
    port.postMessage({ t: 'hosts?' } satisfies FromWorker);
  }).then((entries) => (entries === null ? undefined : new HostAddressBook(entries)));
  return hostsAsked;
}

/** Per file: the router's decision for an event, and its counters at the end. */
interface FileRouter {
  route(ev: EventDoc): readonly number[];
  counters(): unknown;
  /** Needles for the input's line filter (see OpenOptions.needles). */
  needles: readonly string[] | null;
  /** A line the input did not parse (a stub): needed by nobody. */
  stub(): void;
  /** The counters so far, which start again from zero (parts of a file share one router). */
  take(): unknown;
  /**
   * A hunt's: what the routed rules' queries said about the event route() was last asked about
   * (ForwardedColumns.answers); the array is reused by the next route().
   */
  answers?(): readonly unknown[];
  /** A hunt's: the values of the rules' timestamp_override fields (ForwardedColumns.fv). */
  fieldValues?(ev: EventDoc): unknown[] | undefined;
  /** A hunt's: the router's walker (its picker makes the walk as it builds documents: HuntPicker.walkWith). */
  walker?: FieldWalker;
}

const NONE: readonly number[] = [];
/** Where a whole event's line is (ForwardedBuilder.add copies it). */
const PLACE = { at: 0, bytes: 0, chars: 0 };
/**
 * A hunt's timestampOverrides: their values travel in ForwardedColumns.fv (so many per whole
 * event), and their numbers are read from their text (ReadOptions.numberTimeFields).
 */
const overrideFields: readonly string[] = cfg.route.kind === 'hunt' ? timestampOverrides(cfg.route.rules) : [];
const overrideCount = overrideFields.length;
const ZERO: readonly number[] = [0];

/**
 * Builds what every file's router needs once per worker (compiled rules or query). The engine and
 * the rule modules (with the ECS schema) are imported only when needed: a worker that just reads
 * starts in a fraction of the time.
 */
async function routerFactory(): Promise<() => FileRouter> {
  const spec = cfg.route;
  const nothing = () => undefined;
  if (spec.kind === 'none') return () => ({ route: () => NONE, counters: () => null, needles: null, stub: nothing, take: () => null });
  if (spec.kind === 'all') return () => ({ route: () => ZERO, counters: () => null, needles: null, stub: nothing, take: () => null });
  if (spec.kind === 'query') {
    const { compile } = await import('../engine/index.js');
    const q = compile(spec.query, {
      timestampField: spec.timestampField,
      tiebreakerField: spec.tiebreakerField,
      eventCategoryField: spec.eventCategoryField,
    });
    // Stubs carry no tiebreaker value, so lines are parsed when the merge orders ties by one.
    const needles = spec.tiebreakerField === null ? q.needles : null;
    return () => ({ route: (ev) => (q.relevant(ev) ? ZERO : NONE), counters: () => null, needles, stub: nothing, take: () => null });
  }
  const { emptyCounters, prepareRule, RuleRouter } = await import('../detect/router.js');
  const prepared = spec.rules.map((rule) => {
    const p = prepareRule(rule, spec.prepare);
    if ('skip' in p) throw new Error(`rule "${rule.name}" cannot be prepared in a worker: ${p.skip}`);
    return p;
  });
  huntPrepared = prepared;
  const overrides = overrideFields.map((f) => fieldAccessor(f));
  // A number the reader found the text of (EventDoc.numberTexts) travels as that text: the rule's
  // window time is what Elasticsearch's date field reads from it (see DetectionEngine windowTime).
  // A multi-valued field's numbers travel as their texts too (overrideWireValue); other values as read.
  const overrideValue = (ev: EventDoc, k: number): unknown => {
    const v = overrides[k]!(ev.source);
    if (typeof v !== 'number' && !Array.isArray(v)) return v;
    return overrideWireValue(v, ev.numberTexts?.[overrideFields[k]!]);
  };
  return () => {
    const router = new RuleRouter(prepared);
    // The router writes its routes' answers here as it decides them (reused for every event).
    const answers: unknown[] = [];
    return {
      walker: router.walker,
      answers: () => answers,
      fieldValues: overrides.length === 0 ? () => undefined : (ev) => overrides.map((_get, k) => overrideValue(ev, k)),
      route: (ev) => {
        answers.length = 0;
        return router.route(ev, answers);
      },
      counters: () => router.counters,
      needles: cfg.tiebreakerField === null ? router.needles : null,
      stub: () => void router.counters.unrouted++,
      take: () => {
        const c = router.counters;
        const copy = { ...c, dispatched: [...c.dispatched], excepted: [...c.excepted], filtered: [...c.filtered] };
        Object.assign(c, emptyCounters(c.dispatched.length));
        return copy;
      },
    };
  };
}

/** A hunt's rules as this worker prepared them (set by routerFactory). */
let huntPrepared: readonly PreparedRule[] | null = null;

const factory = routerFactory();
// Failures surface per file (run() awaits it); this only marks the rejection as handled.
factory.catch(() => undefined);

interface Job {
  credits: number;
  wake: (() => void) | null;
  cancelled: boolean;
}
const jobs = new Map<number, Job>();

function post(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

class BatchBuilder {
  n = 0;
  ms: Float64Array;
  ns: Float64Array;
  pos: Float64Array;
  chunk: Float64Array | null;
  offset: Float64Array | null;
  /** The ids the main thread cannot make (EventBatch.ids), and their events' positions. */
  ids: string[] = [];
  idAt: Int32Array;
  /** 1 where the id is derived (the input gave no `_id`): the merge orders ties by given ids only. */
  derived: Uint8Array;
  tb: unknown[] | null;
  fwd: ForwardedBuilder;
  skips: SkippedItem[] = [];

  constructor(
    private readonly cap: number,
    private readonly evtx: boolean,
    /** The reader's prefix of derived ids (EventBatch.idPrefix). */
    private readonly idPrefix: string,
  ) {
    this.idAt = new Int32Array(cap);
    this.ms = new Float64Array(cap);
    this.ns = new Float64Array(cap);
    this.pos = new Float64Array(cap);
    this.derived = new Uint8Array(cap);
    this.chunk = evtx ? new Float64Array(cap) : null;
    this.offset = evtx ? new Float64Array(cap) : null;
    this.tb = cfg.tiebreakerField === null ? null : [];
    this.fwd = new ForwardedBuilder(cfg.batchForwarded, cfg.route.kind === 'hunt', overrideCount);
  }

  add(ev: EventDoc, ms: number, ns: number, routes: readonly number[], json: string | undefined, router?: FileRouter): void {
    const i = this.n++;
    this.ms[i] = ms;
    this.ns[i] = ns;
    this.derived[i] = ev.derivedId ? 1 : 0;
    const p = ev.position;
    const line = this.evtx ? undefined : p?.line;
    this.pos[i] = (this.evtx ? p?.record : line) ?? Number.NaN;
    // A derived id that is `<prefix>:<line>` (checked, not assumed) is made by the main thread
    // from the line if it needs it; any other id travels.
    const id = ev.id;
    if (!(ev.derivedId === true && line !== undefined && id === `${this.idPrefix}:${line}`)) {
      this.idAt[this.ids.length] = i;
      this.ids.push(id);
    }
    if (this.evtx) {
      this.chunk![i] = p?.chunk ?? Number.NaN;
      this.offset![i] = p?.offset ?? Number.NaN;
    }
    // The merge orders by a number or string only (the first of several): send just that, so a
    // tiebreaker holding a deep object cannot break the message.
    if (this.tb) this.tb.push(tiebreakPrimitive(getField(ev.source, cfg.tiebreakerField!)));
    if (routes.length > 0) {
      let place: typeof PLACE | null = null;
      if (json !== undefined && json === ev.text && ev.textAt !== undefined) {
        // The main thread reads the line back from the file if it needs the document at all.
        place = PLACE;
        place.at = ev.textAt;
        place.bytes = ev.textBytes!;
        place.chars = json.length;
      } else if (ev.picked === true) {
        place = PLACE;
        place.at = ev.textAt!;
        place.bytes = ev.textBytes!;
        place.chars = ev.textChars!;
      }
      // The main thread's runs then read no field of the event, and parse its text only when
      // something else needs the document (an alert, a sequence that keeps it).
      this.fwd.add(i, ev.index, ev.derivedId === true, ev.derivedHostIp === true, routes, router?.answers?.(), router?.fieldValues?.(ev), place, json, ev.source);
    }
  }

  /** Sends the batch (transferring its columns) and starts a new one. */
  send(id: number, b: number, sent: number, counts: { bytes: number; read: number; skipped: number }): BatchBuilder {
    const n = this.n;
    const cut = (a: Float64Array) => (n === this.cap ? a : a.slice(0, n));
    const ms = cut(this.ms);
    const ns = cut(this.ns);
    const pos = cut(this.pos);
    const chunk = this.chunk ? cut(this.chunk) : null;
    const offset = this.offset ? cut(this.offset) : null;
    const derived = n === this.cap ? this.derived : this.derived.slice(0, n);
    const idAt = this.idAt.slice(0, this.ids.length);
    const transfer = [ms.buffer, ns.buffer, pos.buffer, derived.buffer, idAt.buffer] as ArrayBuffer[];
    const fwd = this.fwd.take(transfer);
    const m: EventBatch = { t: 'batch', id, b, sent, n, ms, ns, ids: this.ids, idAt, idPrefix: this.idPrefix, derived, pos, chunk, offset, tb: this.tb, fwd, skips: this.skips, ...counts };
    if (chunk) transfer.push(chunk.buffer as ArrayBuffer, offset!.buffer as ArrayBuffer);
    if (cfg.unclonableBatch === b) m.probe = nestedValue(5000);
    post(m, transfer);
    return new BatchBuilder(this.cap, this.evtx, this.idPrefix);
  }
}

/** The router of this worker's parts of files (see ToWorker 'open'); made once. */
let partRouter: FileRouter | null = null;

/**
 * A hunt's parts of files are read by a LinePicker into documents of the fields anything on this
 * thread reads (ReadOptions.pick; detect/hunt-picker.ts). EQLITE_PICK=off reads them whole (to
 * compare).
 */
let picker: HuntPicker | null | undefined;
/**
 * Parts read by this worker before it builds a picker when a rule's query fields are not known
 * from the outline cache (PreparedRule.fields): finding them costs a parse of every rule's query
 * (about 0.2–0.4 s), which pays only over large files.
 */
const PICK_AFTER_PARTS = 8;
let partsRead = 0;
async function partPicker(router: FileRouter): Promise<HuntPicker | null> {
  if (picker !== undefined) return picker;
  const spec = cfg.route;
  if (spec.kind !== 'hunt' || process.env.EQLITE_PICK === 'off') return (picker = null);
  const rules = huntPrepared!;
  if (++partsRead <= PICK_AFTER_PARTS && rules.some((p) => p.fields === undefined)) return null;
  const { HuntPicker } = await import('../detect/hunt-picker.js');
  picker = HuntPicker.create(rules, spec.prepare, cfg.timestampField, cfg.tiebreakerField);
  if (router.walker !== undefined) picker?.walkWith(router.walker);
  return picker;
}

async function run(id: number, path: string, kind: 'json' | 'evtx', range: ByteRange | undefined, part: boolean): Promise<void> {
  const job: Job = { credits: part ? Infinity : cfg.credits, wake: null, cancelled: false };
  jobs.set(id, job);
  let skips: SkippedItem[] = [];
  const onSkip = (item: SkippedItem) => skips.push(item);
  try {
    const router = part ? (partRouter ??= (await factory)()) : (await factory)();
    const pick = part ? await partPicker(router) : null;
    const input = openInput(
      { path, kind },
      {
        ...(range ? { range } : {}),
        index: cfg.index,
        profile: cfg.profile,
        evtx: cfg.evtx,
        hostAddresses,
        onSkip,
        onWarning: (message) => post({ t: 'warn', id, message }),
        needles: range ? null : router.needles,
        // Whole events are sent as the text they were parsed from when they have one.
        keepText: true,
        timestampField: cfg.timestampField,
        numberTimeFields: overrideFields,
        pick: pick?.picker ?? null,
      },
    );
    const counts = () => ({ bytes: input.bytesRead(), ...input.counts() });
    const tsField = cfg.timestampField;
    // The prefix the reader gives derived ids (readEvents: the name used in positions).
    let b = new BatchBuilder(cfg.batchEvents, kind === 'evtx', fileIdPrefix(path === '-' ? STDIN_NAME : path));
    let batches = 0;
    let sent = 0;
    const send = () => {
      pick?.check();
      b.skips = skips;
      skips = [];
      sent += b.n;
      b = b.send(id, batches++, sent, counts());
    };
    const flush = async () => {
      send();
      job.credits--;
      while (job.credits <= 0 && !job.cancelled) await new Promise<void>((r) => (job.wake = r));
    };
    outer: for await (const batch of input.batches()) {
      for (const ev of batch) {
        if (ev.routed !== undefined) {
          // A line the input did not parse: its time is known and nobody needs it.
          router.stub();
          b.add(ev, ev.time!.ms, ev.time!.ns, NONE, undefined);
        } else {
          const t = timeOrSkip(ev, tsField, onSkip);
          if (!t) continue;
          const routes = router.route(ev);
          let json: string | undefined;
          // Whole events travel as JSON text when that text parses back to the same document (the
          // main thread's JSON.parse costs about half of the structured clone's deserialisation,
          // measured on Agent documents), or when they are nested too deeply to be cloned.
          // The line an NDJSON event was parsed from gives the same document again (and costs
          // nothing here); a document nested deeper than the main thread's JSON.parse takes was
          // refused by the reader (MAX_JSON_DEPTH).
          // A picked document (ReadOptions.pick) holds only the fields read here: its line's place travels.
          const form = routes.length === 0 ? CLONE : ev.text !== undefined || ev.picked === true ? JSON_TEXT : forwardForm(ev.source, cfg.cloneDepth);
          if (form !== CLONE && ev.picked !== true) {
            json = ev.text ?? asJson(ev.source);
            if (json === undefined) {
              // Deeper than JSON.stringify can go on this thread's stack: say so, do not lose it silently.
              onSkip({ position: ev.position ?? { file: path }, reason: `document nested too deeply to pass between threads (over ${cfg.cloneDepth} levels and too deep for JSON text); read it with --threads 0` });
              continue;
            }
          }
          b.add(ev, t.ms, t.ns, routes, json, router);
        }
        if (b.n >= cfg.batchEvents || b.fwd.full) {
          await flush();
          if (job.cancelled) break outer;
        }
      }
    }
    if (job.cancelled) {
      // What a cancelled part counted is dropped with it (no part follows it on this worker).
      if (part) router.take();
      return;
    }
    // The last batch needs no credit: the file ends with it.
    if (b.n > 0) send();
    const end: FromWorker = { t: 'end', id, batches, sent, skips, ...counts(), counters: part ? router.take() : router.counters(), shape: input.shape?.() };
    const lines = input.lineState?.();
    if (lines) end.lines = lines;
    post(end);
  } catch (e) {
    post({ t: 'fail', id, message: (e as Error)?.message ?? String(e), input: e instanceof InputError });
  } finally {
    jobs.delete(id);
  }
}

/** An object nested `depth` levels deep, built without recursion. */
function nestedValue(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = { v };
  return v;
}

function asJson(v: unknown): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}

function tiebreakPrimitive(v: unknown): unknown {
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint' ? v : undefined;
}

port.on('message', (m: ToWorker) => {
  if (m.t === 'open') {
    void run(m.id, m.path, m.kind, m.range, m.part === true);
    return;
  }
  if (m.t === 'hosts') {
    hostsAnswer?.(m.entries);
    hostsAnswer = null;
    return;
  }
  if (m.t === 'lost') {
    for (const job of jobs.values()) {
      job.credits++;
      const w = job.wake;
      job.wake = null;
      w?.();
    }
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.t === 'credit') job.credits++;
  else job.cancelled = true;
  const w = job.wake;
  job.wake = null;
  w?.();
});
