// The `_bulk` request body: NDJSON action/source pairs, parsed from the body's bytes
// (BulkParser), then turned into one store write (toWriteBatch), and the response each shipper
// reads (bulkResponse). es-ingest.md §1–2 lists what every client sends and expects.
//
// Documents are checked from their bytes (json-scan.ts: one JSON object? its @timestamp?) and
// parsed only when something needs them parsed: a rule may use the event (decided from the few
// fields routing reads, picked during the check — real-time detection takes it parsed and
// routed), the Windows mapping (a raw winlog event is stored as ECS), or an update (merged). The
// others travel as spans of the body to the store's writer thread, which derives their ids and
// stores the bytes unchanged (store/writer.ts). Parsing is most of the cost of an event no rule
// reads, and with a few rules most events are such events. With hundreds of rules nearly every
// event is dispatched to one: then the picking is skipped and documents are parsed and routed at
// once (PickingStats decides from the share mayDispatch turned away lately). With a few rules, a
// document that holds none of their needles (needles.ts) and cannot be a raw Windows event is not
// even scanned here: its bytes go to the writer thread, which checks them.
//
// A bad source line never disturbs the other items: a source that is not a JSON object, or the
// action of a well-formed action line that is refused (a bad index name or _id), becomes an item
// with status 400 in its position, and the line is kept in the store's `rejected` table. After a
// refused action line, the next line is taken as the next action if it looks like one, otherwise
// as the refused action's source.
//
// An action/metadata line that is malformed (not JSON, not an object, no action or an unknown
// one, metadata that is not an object, a metadata value that is an array) refuses the whole
// request, as Elasticsearch's BulkRequestParser does (400, before any item is executed): with the
// line out of step, which line is a source is unknown, so no item can be trusted. BulkParser.fatal
// holds the refusal; the request's handler answers it and stores nothing more.
import { isUtf8 } from 'node:buffer';
import { firstInvalidUtf8, invalidUtf8Reason } from '../util/utf8.js';
import { markPlain } from '../engine/fields.js';
import { parseInstant, textInstant } from '../events/time.js';
import { findJsonError, type JsonFault } from '../events/json-split.js';
import type { NumberTextReader } from '../events/number-time.js';
import { isUnmappedWinlogDocument, mapWinlogbeatDocument } from '../events/windows/index.js';
import { applyFilterPath, parseFilterPath } from './filter-path.js';
import { needleFilter, type NeedleFilter } from './needles.js';
import { fieldTrie, scannedTime, scannedTimeRefusal, scanObject, timestampRefusal, TS_NUMBER, type FieldTrie, type ScanResult } from './json-scan.js';
import { Op, WriteBatchBuilder, type RejectedLine, type WriteBatch } from './store/event-store.js';

export type BulkOp = 'create' | 'index' | 'delete' | 'update';

export interface ItemError {
  status: number;
  type: string;
  reason: string;
}

/** One action of a bulk request, in request order. */
export interface BulkItem {
  op: BulkOp;
  index: string;
  /** `_id` given by the client, or derived from the content by the store (autoId; set after the write). */
  id: string;
  autoId: boolean;
  /** Parsed document (after Windows mapping), for detection; only when a rule can use it. */
  doc?: Record<string, unknown>;
  /** The source: its bytes in the body ([srcStart, srcEnd)), or the rewritten JSON (`text`). */
  srcStart: number;
  srcEnd: number;
  text?: string;
  /** update: the document to create when none exists (JSON). */
  upsert?: string | null;
  /** @timestamp (epoch ms). */
  ts: number | null;
  /** The source was checked here (one JSON object; `ts` read): the store's writer need not check it. */
  checked?: boolean;
  /** Line number of the source (of the action when there is none) in the body. */
  line: number;
  /** Routing at ingest (see protocol.ts F.routed) and the rules that can use the event. */
  routed?: number;
  routes?: readonly number[];
  /** True when the document was mapped from raw winlog.* to ECS on ingest. */
  mapped?: boolean;
  /** EventDoc.numberTexts of a routed document (BulkRouter.numberTexts), when it holds such a number. */
  numberTexts?: Readonly<Record<string, string | readonly string[]>>;
  error?: ItemError;
}

/** Routing at ingest, as the parser uses it. */
export interface BulkRouter {
  gen: number;
  /** Whether some rule's index patterns match the index (else its events need no parsing). */
  wants(index: string): boolean;
  /** The fields mayDispatch() reads (the same array for one rule generation). */
  fields: readonly string[];
  /** Whether some rule may use an event holding these values of `fields` (else it is not parsed). */
  mayDispatch(picked: Record<string, unknown>, index: string): boolean;
  /**
   * Strings one of which the JSON text of every event some rule can use contains (RuleRouter.needles;
   * the same array for one rule generation), or null (some rule has none).
   */
  needles?: readonly string[] | null;
  /** The rules that can use the event. */
  route(ev: { source: Record<string, unknown>; index: string; id: string }): readonly number[];
  /**
   * The texts of the numbers a routed document holds in the rules' timestamp_override fields
   * other than event.ingested (serveNumberFields), read from its text; null when no rule has one.
   */
  numberTexts?: NumberTextReader | null;
}

export interface BulkDefaults {
  /** Index from the URL (`/<index>/_bulk`). */
  index?: string;
  /**
   * Routing, applied to each document as soon as it is parsed: the rules of generation `gen` that
   * can use it. A document no rule can use is not kept parsed, so it dies young.
   */
  router?: BulkRouter | null;
  /** `?pipeline=` (recorded; eqlite runs its own Windows mapping, see mapDocument). */
  pipeline?: string;
  /**
   * Refuse an action line with more than one key (Elasticsearch 9: `{"index":{},"x":1}`);
   * Elasticsearch 8 uses the first key and ignores the others (with a deprecation warning).
   */
  strictActionLines?: boolean;
}

/**
 * Why a whole request is refused: a malformed action/metadata line (Elasticsearch answers 400
 * with this error for the request, and executes none of its items).
 */
export interface BulkRefusal {
  type: 'illegal_argument_exception' | 'x_content_parse_exception';
  reason: string;
  /** Line number of the malformed line in the body. */
  line: number;
}

/** Longest line kept in the rejected table. */
const REJECTED_LINE_MAX = 64 * 1024;
/** Elasticsearch's limit on `_id`. */
const MAX_ID_BYTES = 512;
const OPS: ReadonlySet<string> = new Set(['create', 'index', 'delete', 'update']);

interface PendingAction {
  op: BulkOp;
  index: string;
  id: string | null;
  error?: ItemError;
  /** The source line is still expected (create/index/update, or a broken action). */
  broken?: boolean;
  /** Line number of the action. */
  line?: number;
}

/** Distinct action lines a parser remembers (a request writes to a few indices). */
const ACTIONS_KEPT = 64;

/** BulkParser.winlogAt before the first search of a body. */
const NOT_SEARCHED = -2;

/** What a raw winlog document holds in its text: its event id key. */
const WINLOG_ID = Buffer.from('vent_id"');

/** The fields isUnmappedWinlogDocument reads. */
const WINLOG_FIELDS = ['winlog.event_id', 'winlog.channel', 'winlog.provider_name', 'event.category', 'event.type'];
const WINLOG_TRIE = fieldTrie(WINLOG_FIELDS);

/** Per rule generation (its dispatch fields): the fields picked from a document before parsing it. */
const picking = new WeakMap<readonly string[], FieldTrie>();

function pickFields(router: BulkRouter): FieldTrie {
  let t = picking.get(router.fields);
  if (!t) picking.set(router.fields, (t = fieldTrie([...router.fields, ...WINLOG_FIELDS])));
  return t;
}

/**
 * Whether picking the dispatch fields pays, per rule generation. Picking (a scan that builds the
 * few fields, then mayDispatch) saves the parse and the routing of the documents no rule can use,
 * and costs about as much as they do: with a few rules most documents are such documents, but
 * with hundreds of rules nearly every document is dispatched to one and the picking is spent for
 * nothing before the parse and the routing (which repeats its work). So the share of documents
 * mayDispatch turns away is kept (decaying), and while it is under a half the documents are
 * parsed and routed at once; one in SAMPLE_EVERY is still picked, to follow the share.
 */
class PickingStats {
  seen = 0;
  refused = 0;
  private skipped = 0;

  /** Pick this document's fields first? */
  pick(): boolean {
    if (this.seen < WARMUP || this.refused * 2 >= this.seen) return true;
    if (++this.skipped < SAMPLE_EVERY) return false;
    this.skipped = 0;
    return true;
  }

  record(refused: boolean): void {
    this.seen++;
    if (refused) this.refused++;
    if (this.seen >= DECAY_AT) {
      this.seen /= 2;
      this.refused /= 2;
    }
  }
}

/** Documents picked before the share is trusted, sampling rate, and the decay of the counts. */
const WARMUP = 64;
const SAMPLE_EVERY = 32;
const DECAY_AT = 2048;

const pickingStats = new WeakMap<readonly string[], PickingStats>();

function statsOf(router: BulkRouter): PickingStats {
  let s = pickingStats.get(router.fields);
  if (!s) pickingStats.set(router.fields, (s = new PickingStats()));
  return s;
}

/**
 * The bulk parser: give it the whole (decompressed) body; it finds the lines with the bytes'
 * newlines, parses action lines (a run of identical action lines, as shippers send, is parsed
 * once), and parses a source line only when it must (see the module comment).
 */
export class BulkParser {
  readonly items: BulkItem[] = [];
  readonly rejected: RejectedLine[] = [];
  /** Set at the first malformed action line: the whole request is refused; later lines are not read. */
  fatal: BulkRefusal | null = null;
  /** Bytes of body seen. */
  bytes = 0;
  /** Documents parsed here (the others are checked by the store's writer). */
  parsed = 0;
  private body: Buffer = Buffer.alloc(0);
  private pending: PendingAction | null = null;
  private lineNo = 0;
  /** Action lines without _id already parsed (at most ACTIONS_KEPT). */
  private readonly actions = new Map<string, PendingAction>();
  private readonly wanted = new Map<string, boolean>();
  private readonly scan: ScanResult = { error: null, tsKind: 0, tsStart: 0, tsEnd: 0, picked: null };
  /** The last remembered action line read, and its bytes in the body. */
  private lastAction: PendingAction | null = null;
  private lastActionStart = 0;
  private lastActionEnd = 0;
  /** Line number of the pending action (kept apart: remembered actions are shared, not copied per item). */
  private pendingLine = 0;
  /** Position of the next winlog event id key at or after the line being read (-1: none left). */
  private winlogAt = NOT_SEARCHED;
  /** The rules' needle filter (null: none). */
  private readonly needles: NeedleFilter | null;
  /** Whether the part being read is valid UTF-8 throughout. */
  private partIsUtf8 = true;

  constructor(private readonly defaults: BulkDefaults = {}) {
    this.needles = needleFilter(defaults.router?.needles ?? null);
  }

  /** Parses a whole body. */
  parse(body: Buffer): BulkItem[] {
    this.feed(body, body.length);
    return this.finish();
  }

  /**
   * Parses the lines of bytes [0, end) of `buf`, a part of the body that ends at a line's end
   * (or at the body's end: a last line without newline is accepted). Items made here refer to
   * `buf` (srcStart, srcEnd); a body may come in several such parts, each in a buffer of its own.
   */
  feed(buf: Buffer, end: number): void {
    if (this.fatal !== null) return;
    this.body = buf;
    this.bytes += end;
    // One pass over the part (SIMD in Node): when it is all valid UTF-8, as shippers send, no
    // document needs a check of its own.
    this.partIsUtf8 = isUtf8(end === buf.length ? buf : buf.subarray(0, end));
    this.winlogAt = NOT_SEARCHED;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0 || nl >= end) break;
      this.line(start, nl);
      if (this.fatal !== null) return;
      start = nl + 1;
    }
    if (start < end) this.line(start, end);
    // (The next part's first action line is compared with its own buffer's action lines only.)
    this.lastAction = null;
  }

  /** After the last part: an action still waiting for its source line becomes an error item. */
  finish(): BulkItem[] {
    if (this.pending) {
      const p = this.pending;
      this.pending = null;
      if (p.broken) this.items.push(errorItem(p, p.error!));
      else this.items.push(errorItem(p, { status: 400, type: 'action_request_validation_exception', reason: `the ${p.op} action has no source line` }, this.pendingLine));
    }
    return this.items;
  }

  private line(start: number, end: number): void {
    const buf = this.body;
    this.lineNo++;
    if (end > start && buf[end - 1] === 13) end--;
    // Skip blank lines (and a UTF-8 BOM on the first line).
    while (start < end && (buf[start] === 32 || buf[start] === 9)) start++;
    if (start === end) return;
    if (buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    const p = this.pending;
    if (p === null) {
      this.action(start, end);
      return;
    }
    if (p.broken) {
      // After a broken action: a valid action line starts the next item, anything else was its source.
      const text = buf.toString('utf8', start, end);
      const a = parseAction(text, this.defaults, this.lineNo);
      if (!isRefusal(a) && !a.error) {
        this.pending = null;
        this.items.push(errorItem(p, p.error!));
        a.line = this.lineNo;
        this.accept(a, this.lineNo);
        return;
      }
      this.pending = null;
      this.items.push(errorItem(p, p.error!));
      this.reject(text, p.index || null, p.error!.reason);
      return;
    }
    this.pending = null;
    this.items.push(this.source(p, start, end));
  }

  private action(start: number, end: number): void {
    const body = this.body;
    // Most action lines repeat the one before (a shipper writes a request's events to one index):
    // compared as bytes, without decoding.
    const prev = this.lastAction;
    if (prev !== null && end - start === this.lastActionEnd - this.lastActionStart) {
      let i = 0;
      const d = this.lastActionStart - start;
      while (start + i < end && body[start + i] === body[start + i + d]) i++;
      if (start + i === end) {
        this.lastActionStart = start;
        this.lastActionEnd = end;
        this.accept(prev, this.lineNo);
        return;
      }
    }
    const text = body.toString('utf8', start, end);
    // Shippers repeat the same few action lines (one per index, without _id): each is parsed once.
    const known = this.actions.get(text);
    if (known) {
      this.remember(known, start, end);
      this.accept(known, this.lineNo);
      return;
    }
    const a = parseAction(text, this.defaults, this.lineNo);
    if (isRefusal(a)) {
      this.fatal = a;
      return;
    }
    a.line = this.lineNo;
    if (a.error && a.op !== 'delete') {
      // A well-formed action we refuse (bad index, id): its source line follows and is skipped.
      this.reject(text, a.index || null, a.error.reason);
      this.pending = { ...a, broken: true };
      return;
    }
    if (!a.error && a.id === null && this.actions.size < ACTIONS_KEPT) {
      this.actions.set(text, a);
      this.remember(a, start, end);
    }
    this.accept(a, this.lineNo);
  }

  /** The action line just read, to compare the next one with (a remembered action only). */
  private remember(a: PendingAction, start: number, end: number): void {
    this.lastAction = a;
    this.lastActionStart = start;
    this.lastActionEnd = end;
  }

  /** `a` may be a remembered action shared by many items: it is never changed here. */
  private accept(a: PendingAction, line: number): void {
    if (a.op === 'delete') {
      this.items.push(a.error ? errorItem(a, a.error, line) : { op: 'delete', index: a.index, id: a.id ?? '', autoId: false, ts: null, srcStart: 0, srcEnd: 0, line });
      return;
    }
    this.pending = a;
    this.pendingLine = line;
  }

  /** Whether bytes [start, end) hold a winlog event id key; one forward search per body, not per line. */
  private winlogKeyIn(start: number, end: number): boolean {
    if (this.winlogAt === NOT_SEARCHED || (this.winlogAt >= 0 && this.winlogAt < start)) {
      this.winlogAt = this.body.indexOf(WINLOG_ID, start);
    }
    return this.winlogAt >= 0 && this.winlogAt < end;
  }

  private source(a: PendingAction, start: number, end: number): BulkItem {
    const line = this.lineNo;
    // Elasticsearch's JSON parser refuses a document that is not valid UTF-8 (a 400 for the item
    // alone); decoding it would store U+FFFD in place of the bytes sent.
    if (!this.partIsUtf8) {
      const bad = firstInvalidUtf8(this.body, start, end);
      if (bad >= 0) return this.malformed(a, start, end, line, invalidUtf8Reason(this.body[bad]!, bad, start, 'the document'));
    }
    if (a.op === 'update') return this.parseSource(a, start, end, line);
    // Checked from its bytes; with rules for its index, the fields routing reads are picked.
    const router = this.defaults.router;
    let wanted = false;
    if (router) {
      let w = this.wanted.get(a.index);
      if (w === undefined) this.wanted.set(a.index, (w = router.wants(a.index)));
      wanted = w;
    }
    // A document that may be a raw Windows event (it holds a winlog event id key) also has the
    // fields that tell (isUnmappedWinlogDocument) picked.
    if (!wanted && !this.winlogKeyIn(start, end)) {
      // No rule reads the index and nothing is mapped: the store's writer thread checks the
      // document (one JSON object? its @timestamp) while this thread reads the next request.
      return { op: a.op, index: a.index, id: a.id ?? '', autoId: a.id === null, ts: null, srcStart: start, srcEnd: end, line, routed: router ? -router.gen : undefined };
    }
    // A document holding none of the rules' needles cannot pass any rule's filter: no rule can use
    // it (needles.ts). Unless it may be a raw Windows event (mapped to ECS before it is stored,
    // which the scan below tells), it is not looked at here: the store's writer thread checks it.
    const needles = this.needles;
    if (wanted && needles !== null && !needles.off && !this.winlogKeyIn(start, end)) {
      const spared = !needles.holds(this.body, start, end);
      needles.record(spared);
      if (spared) return { op: a.op, index: a.index, id: a.id ?? '', autoId: a.id === null, ts: null, srcStart: start, srcEnd: end, line, routed: -router!.gen };
    }
    // Most documents of a wanted index dispatched to some rule lately: parsed and routed at once.
    const stats = wanted ? statsOf(router!) : null;
    if (stats !== null && !stats.pick()) return this.parseSource(a, start, end, line);
    // (The fields routing reads include the Windows ones: a wanted document's scan tells both.)
    const pick = wanted ? pickFields(router!) : WINLOG_TRIE;
    const scan = scanObject(this.body, start, end, this.scan, pick);
    if (scan.error !== null) return this.malformed(a, start, end, line, scan.error);
    // Parsed only when a rule may use it, or when it is a raw Windows event (mapped to ECS before
    // it is stored).
    const picked = scan.picked!;
    const raw = isUnmappedWinlogDocument(picked);
    let dispatch = false;
    if (!raw && wanted) {
      // (The accessors of the dispatch fields then read absent fields at their fast path.)
      markPlain(picked);
      dispatch = router!.mayDispatch(picked, a.index);
      stats!.record(!dispatch);
    }
    if (!raw && !dispatch) {
      const ts = scannedTime(this.body, start, end, scan);
      const refusal = scannedTimeRefusal(this.body, scan, ts);
      if (refusal !== null) return this.badTimestamp(a, start, end, line, refusal);
      return { op: a.op, index: a.index, id: a.id ?? '', autoId: a.id === null, ts, checked: true, srcStart: start, srcEnd: end, line, routed: router ? -router.gen : undefined };
    }
    return this.parseSource(a, start, end, line);
  }

  /** A document whose @timestamp Elasticsearch would not index: a 400 item, the line kept in the rejected table. */
  private badTimestamp(a: PendingAction, start: number, end: number, line: number, reason: string): BulkItem {
    const error = { status: 400, type: 'document_parsing_exception', reason };
    this.reject(this.body.toString('utf8', start, Math.min(end, start + REJECTED_LINE_MAX)), a.index, error.reason);
    return errorItem(a, error, line);
  }

  /** A source line that is not one JSON object: a 400 item, the line kept in the rejected table. */
  private malformed(a: PendingAction, start: number, end: number, line: number, why: string): BulkItem {
    const error = { status: 400, type: 'document_parsing_exception', reason: `failed to parse the document: ${why}` };
    this.reject(this.body.toString('utf8', start, Math.min(end, start + REJECTED_LINE_MAX)), a.index, error.reason);
    return errorItem(a, error, line);
  }

  /** A source parsed: mapped, routed, or an update's body. */
  private parseSource(a: PendingAction, start: number, end: number, line: number): BulkItem {
    this.parsed++;
    const text = this.body.toString('utf8', start, end);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      // Told as the scan tells it, whether or not this document was scanned first.
      const why = a.op === 'update' ? null : scanObject(this.body, start, end, this.scan).error;
      if (why !== null) return this.malformed(a, start, end, line, why);
      const error = { status: 400, type: 'document_parsing_exception', reason: `failed to parse the document: ${describeJsonError(text)}` };
      this.reject(text, a.index, error.reason);
      return errorItem(a, error, line);
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      const error = { status: 400, type: 'document_parsing_exception', reason: 'failed to parse the document: the document is not a JSON object' };
      this.reject(text, a.index, error.reason);
      return errorItem(a, error, line);
    }
    const obj = doc as Record<string, unknown>;
    if (a.op === 'update') return updateItem(a, obj, line);
    const item: BulkItem = { op: a.op, index: a.index, id: a.id ?? '', autoId: a.id === null, ts: null, checked: true, srcStart: start, srcEnd: end, line };
    const mapped = mapDocument(obj, a.index);
    item.doc = mapped.doc;
    item.mapped = mapped.mapped;
    if (mapped.mapped) item.text = JSON.stringify(mapped.doc);
    const stamp = item.doc['@timestamp'];
    let shown = typeof stamp === 'string' || typeof stamp === 'number' ? String(stamp) : null;
    if (typeof stamp === 'number' && !mapped.mapped && scanObject(this.body, start, end, this.scan).tsKind === TS_NUMBER) {
      // A number is read from its text, as Elasticsearch reads it (see scannedTime).
      shown = this.body.toString('latin1', this.scan.tsStart, this.scan.tsEnd);
      item.ts = textInstant(shown)?.ms ?? null;
    } else item.ts = parseInstant(stamp)?.ms ?? null;
    if (item.ts === null && stamp !== undefined && stamp !== null) {
      return this.badTimestamp(a, start, end, line, timestampRefusal(shown));
    }
    const router = this.defaults.router;
    if (router && router.wants(a.index)) {
      // The id is not known yet (content-derived ids are made by the store): routing does not use it.
      const routes = router.route({ source: item.doc, index: item.index, id: item.id });
      item.routed = routes.length === 0 ? -router.gen : router.gen;
      if (routes.length === 0) {
        item.routes = NO_ROUTES;
        item.doc = undefined;
      } else {
        item.routes = routes.slice();
        // Its timestamp_override numbers as the date field reads them: from their text (a mapped
        // document's are eqlite's own, written by JSON.stringify).
        const texts = mapped.mapped ? undefined : router.numberTexts?.(text, item.doc);
        if (texts !== undefined) item.numberTexts = texts;
      }
    } else {
      if (router) item.routed = -router.gen;
      item.doc = undefined;
    }
    return item;
  }

  private reject(line: string, idx: string | null, reason: string): void {
    this.rejected.push({ reason, idx, line: line.length > REJECTED_LINE_MAX ? line.slice(0, REJECTED_LINE_MAX) : line, at: this.lineNo });
  }
}

function errorItem(a: Pick<PendingAction, 'op' | 'index' | 'id' | 'line'>, error: ItemError, line = a.line ?? 0): BulkItem {
  return { op: a.op, index: a.index, id: a.id ?? '', autoId: a.id === null, ts: null, srcStart: 0, srcEnd: 0, line, error };
}

function updateItem(a: PendingAction, body: Record<string, unknown>, line: number): BulkItem {
  const item: BulkItem = { op: 'update', index: a.index, id: a.id ?? '', autoId: false, ts: null, srcStart: 0, srcEnd: 0, line };
  if (a.id === null) {
    item.error = { status: 400, type: 'action_request_validation_exception', reason: 'an update needs an _id' };
    return item;
  }
  const doc = body.doc;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    const script = Object.hasOwn(body, 'script');
    item.error = {
      status: 400,
      type: 'action_request_validation_exception',
      reason: script ? 'scripted updates are not supported by eqlite; send a partial document in "doc"' : 'an update needs a "doc" object',
    };
    return item;
  }
  item.text = JSON.stringify(doc);
  const upsert = body.upsert;
  if (body.doc_as_upsert === true) item.upsert = item.text;
  else if (upsert !== null && typeof upsert === 'object' && !Array.isArray(upsert)) item.upsert = JSON.stringify(upsert);
  else item.upsert = null;
  item.doc = doc as Record<string, unknown>;
  return item;
}

/** Elasticsearch's name (XContentParser.Token) for the first token of a JSON value. */
function tokenOf(v: unknown): string {
  if (v === null) return 'VALUE_NULL';
  if (Array.isArray(v)) return 'START_ARRAY';
  switch (typeof v) {
    case 'string':
      return 'VALUE_STRING';
    case 'number':
      return 'VALUE_NUMBER';
    case 'boolean':
      return 'VALUE_BOOLEAN';
    default:
      return 'START_OBJECT';
  }
}

function isRefusal(a: PendingAction | BulkRefusal): a is BulkRefusal {
  return 'reason' in a;
}

/**
 * An action line JSON.parse refuses that Elasticsearch 8's bulk parser reads all the same, as it
 * reads the action's object token by token and stops after it (BulkRequestParser
 * checkBulkActionIsProperlyClosed, each with a deprecation warning): an object followed by more on
 * its line (the next token must be one: `{`, `[`, a string, a number or a literal), or one whose
 * closing brace is missing at the end of the line. `value`: the action's object; `text`: its text.
 * Null when the line is refused.
 */
function lenientAction(text: string, fault: JsonFault): { value: Record<string, unknown>; text: string; unclosed: boolean } | null {
  const object = (t: string): Record<string, unknown> | null => {
    try {
      const v: unknown = JSON.parse(t);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  if (fault.kind === 'eof') {
    const closed = `${text.trimEnd()}}`;
    const v = object(closed);
    return v === null ? null : { value: v, text: closed, unclosed: true };
  }
  const head = text.slice(0, fault.pos);
  const v = object(head);
  return v !== null && startsToken(text.slice(fault.pos)) ? { value: v, text: head, unclosed: false } : null;
}

/** Whether `rest` (no blank first) starts with a whole JSON token a streaming parser reads without error. */
function startsToken(rest: string): boolean {
  const c = rest[0];
  if (c === '{' || c === '[' || c === '"') return true;
  const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(rest);
  if (m === null) return false;
  // (A literal or number runs to a delimiter: `truex` or `12ab` is no token.)
  const after = rest[m[0].length];
  return after === undefined || ' \t\r\n,:[]{}"'.includes(after);
}

/** Metadata keys whose value may be an object (Elasticsearch's BulkRequestParser). */
const OBJECT_PARAMS: ReadonlySet<string> = new Set(['_source', 'dynamic_templates']);

/** The first key of a JSON object's text (in text order, which Object.keys does not keep for keys like "1"). */
const FIRST_KEY = /^[ \t\r\n]*\{[ \t\r\n]*("(?:[^"\\]|\\.)*")/;

/**
 * The parsed action line (its `error` set when the action is refused on its own: a bad index
 * name or _id), or the refusal of the whole request when the line is malformed, in the words of
 * Elasticsearch's BulkRequestParser (`line`: the line's number in the body).
 */
function parseAction(lineText: string, defaults: BulkDefaults, line: number): PendingAction | BulkRefusal {
  let text = lineText;
  const malformed = (what: string): BulkRefusal => ({ type: 'illegal_argument_exception', reason: `Malformed action/metadata line [${line}], ${what}`, line });
  let v: unknown;
  /** Data after the action's closing brace, or the refusal of a line missing it (Elasticsearch 8 reads both: see below). */
  let trailing = false;
  let unclosed: BulkRefusal | null = null;
  try {
    v = JSON.parse(text);
  } catch {
    const fault = findJsonError(text);
    // Elasticsearch's reason is its JSON parser's, at [line:column] of what it parsed: here the
    // line is the body's, so that the user can find it.
    const refusal: BulkRefusal = { type: 'x_content_parse_exception', reason: `[${line}:${fault.pos + 1}] ${fault.message}`, line };
    const lenient = lenientAction(text, fault);
    if (lenient === null) return refusal;
    v = lenient.value;
    text = lenient.text;
    if (lenient.unclosed) unclosed = refusal;
    else trailing = true;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return malformed(`expected START_OBJECT but found [${tokenOf(v)}]`);
  const keys = Object.keys(v);
  if (keys.length === 0) return malformed('expected FIELD_NAME but found [END_OBJECT]');
  const op = JSON.parse(FIRST_KEY.exec(text)![1]!) as string;
  if (!OPS.has(op)) return malformed(`expected field [create], [delete], [index] or [update] but found [${op}]`);
  const meta = (v as Record<string, unknown>)[op];
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return malformed(`expected START_OBJECT or END_OBJECT but found [${tokenOf(meta)}]`);
  for (const [k, x] of Object.entries(meta)) {
    if (x !== null && typeof x === 'object' && (Array.isArray(x) || !OBJECT_PARAMS.has(k))) return malformed(`expected a simple value for field [${k}] but found [${tokenOf(x)}]`);
  }
  // After the metadata, how the action's object ends (BulkRequestParser.checkBulkActionIsProperlyClosed):
  // Elasticsearch 8 reads on past a second key, a missing closing brace or data after it (with a
  // deprecation warning); 9 refuses each, in this order (the token after the metadata decides).
  if (defaults.strictActionLines) {
    if (keys.length > 1) return malformed('expected END_OBJECT but found [FIELD_NAME]');
    if (unclosed !== null) return unclosed;
    if (trailing) return malformed('unexpected data after the closing brace');
  }
  const m = meta as Record<string, unknown>;
  const rawIndex = Object.hasOwn(m, '_index') ? m._index : defaults.index;
  const rawId = Object.hasOwn(m, '_id') ? m._id : undefined;
  const a: PendingAction = { op: op as BulkOp, index: typeof rawIndex === 'string' ? logicalIndex(rawIndex) : '', id: null };
  // (Elasticsearch takes any simple value's text: 5 and true are the ids "5" and "true".)
  if (rawId !== undefined && rawId !== null) a.id = String(rawId);
  if (rawIndex === undefined || rawIndex === null || a.index === '') {
    a.error = { status: 400, type: 'action_request_validation_exception', reason: 'index is missing' };
    return a;
  }
  const bad = invalidIndexName(a.index);
  if (bad) {
    a.error = { status: 400, type: 'invalid_index_name_exception', reason: `Invalid index name [${a.index}], ${bad}` };
    return a;
  }
  if (a.id !== null && (a.id === '' || Buffer.byteLength(a.id) > MAX_ID_BYTES)) {
    a.error = { status: 400, type: 'illegal_argument_exception', reason: a.id === '' ? 'if _id is specified it must not be empty' : `id [${a.id.slice(0, 40)}…] is too long, must be no longer than 512 bytes` };
    return a;
  }
  if (op === 'delete' && a.id === null) a.error = { status: 400, type: 'action_request_validation_exception', reason: 'a delete needs an _id' };
  return a;
}

/**
 * The index an item is stored under: a data stream's backing index (`.ds-<stream>-<date>-<gen>`,
 * what an Elasticsearch export names) is stored as its data stream, which rules' patterns match.
 */
export function logicalIndex(name: string): string {
  const m = /^\.ds-(.+)-\d{4}\.\d{2}\.\d{2}-\d{6}$/.exec(name);
  return m ? m[1]! : name;
}

/** Why Elasticsearch would refuse this index name, or null. */
export function invalidIndexName(name: string): string | null {
  if (name !== name.toLowerCase()) return 'must be lowercase';
  if (/^[-_+]/.test(name)) return "must not start with '_', '-', or '+'";
  if (name === '.' || name === '..') return "must not be '.' or '..'";
  if (/[\\/*?"<>| ,#:]/.test(name)) return 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?, #, :]';
  if (Buffer.byteLength(name) > 255) return 'index name is too long';
  return null;
}

const NO_ROUTES: readonly number[] = [];

/**
 * What Elasticsearch's ingest pipelines would have done before storing: raw Windows events
 * (Winlogbeat's routing pipeline, the Agent integrations' default pipelines) are mapped to ECS by
 * eqlite's Sysmon/Security/PowerShell mapping. The event keeps the index the client wrote to.
 */
export function mapDocument(doc: Record<string, unknown>, index: string): { doc: Record<string, unknown>; mapped: boolean } {
  if (!isUnmappedWinlogDocument(doc)) return { doc, mapped: false };
  const wlb = /^winlogbeat-(\d+\.\d+\.\d+)/.exec(index);
  // Winlogbeat 7.x shipped its own JS-module shape; 8.x and later, and Agent, the integration shape.
  const profile = wlb && wlb[1]!.startsWith('7.') ? 'winlogbeat' : 'integration';
  const mapped = mapWinlogbeatDocument(doc, profile === 'winlogbeat' ? { profile, winlogbeatVersion: wlb![1] } : { profile, namespace: namespaceOf(index) });
  const out = mapped.source;
  // The data stream is the one the client wrote to, not the one the mapping would pick.
  const ds = doc.data_stream;
  if (ds !== undefined) out.data_stream = ds;
  else if (!/^logs-[^-]+-[^-]+$/.test(index)) delete out.data_stream;
  return { doc: out, mapped: true };
}

function namespaceOf(index: string): string {
  const m = /^logs-[^-]+-([^-]+)$/.exec(index);
  return m ? m[1]! : 'default';
}

function describeJsonError(text: string): string {
  try {
    JSON.parse(text);
    return 'not an object';
  } catch (e) {
    const msg = (e as Error).message;
    return msg.length > 200 ? msg.slice(0, 200) + '…' : msg;
  }
}

/**
 * The store write for the items from `from` on that have no error (`positions` maps batch
 * positions back to items). The body's buffer may be handed to the writer thread: do not read it afterwards.
 */
export function toWriteBatch(items: readonly BulkItem[], body: Buffer, rejected: RejectedLine[], ownsBuffer = false, from = 0): { write: { batch: WriteBatch; transfer: ArrayBuffer[] }; positions: Int32Array } {
  let valid = 0;
  for (let i = from; i < items.length; i++) if (!items[i]!.error) valid++;
  const b = new WriteBatchBuilder(body, ownsBuffer, valid);
  const positions = new Int32Array(valid);
  let k = 0;
  for (let i = from; i < items.length; i++) {
    const it = items[i]!;
    if (it.error) continue;
    // An `index` without _id names the document by its content: the same content again is a
    // retry, not a new version, so it is stored like a create (once).
    const op = it.op === 'create' || (it.op === 'index' && it.autoId) ? Op.Create : it.op === 'index' ? Op.Index : it.op === 'delete' ? Op.Delete : Op.Update;
    const src = it.op === 'delete' ? null : it.text !== undefined ? it.text : { off: it.srcStart, len: it.srcEnd - it.srcStart };
    b.add(op, it.index, it.autoId ? null : it.id, src, it.op === 'update' ? (it.upsert ?? null) : null, it.routed ?? 0, it.line, it.checked ? it.ts : undefined);
    positions[k++] = i;
  }
  return { write: b.build(rejected), positions };
}

// ---- response --------------------------------------------------------------------------------------

/**
 * What became of each item of a request: its status and seq (0: nothing stored), and the errors
 * by position — typed arrays rather than an object per item (a request holds thousands).
 */
export class Outcomes {
  status: Int32Array;
  seq: Float64Array;
  readonly errors = new Map<number, ItemError>();

  constructor(length: number) {
    this.status = new Int32Array(length);
    this.seq = new Float64Array(length);
  }

  /** Makes room for `length` items (a body parsed in parts learns its item count as it goes). */
  grow(length: number): void {
    if (length <= this.status.length) return;
    const cap = Math.max(length, this.status.length * 2);
    const status = new Int32Array(cap);
    status.set(this.status);
    const seq = new Float64Array(cap);
    seq.set(this.seq);
    this.status = status;
    this.seq = seq;
  }

  fail(i: number, error: ItemError): void {
    this.status[i] = error.status;
    this.errors.set(i, error);
  }

  has(i: number): boolean {
    return this.status[i] !== 0;
  }
}

const RESULT: Record<number, string> = { 201: 'created', 200: 'updated', 404: 'not_found' };

/** `{"<op>":{"status":N}}`, the status-only item, made once per op and status. */
const statusItems = new Map<string, string>();
function statusItem(op: BulkOp, status: number): string {
  const k = `${op}${status}`;
  let s = statusItems.get(k);
  if (s === undefined) statusItems.set(k, (s = `{"${op}":{"status":${status}}}`));
  return s;
}

/** Whether the response for this `filter_path` holds the items' ids (else content-derived ids need not be made into strings). */
export function responseHasIds(filterPath?: string): boolean {
  const fp = filterPath?.replace(/\s+/g, '');
  return !(fp === 'errors' || STATUS_ONLY.has(fp ?? ''));
}

/** The filters that keep each item's status and error only (Beats, Logstash). */
const STATUS_ONLY: ReadonlySet<string> = new Set(['errors,items.*.error,items.*.status', 'items.*.error,items.*.status,errors', 'errors,items.*.status,items.*.error']);

/**
 * The bulk response, compact, `took` first and `errors` right before `items` (Fluent Bit matches
 * the literal `"errors":false,"items":[` in a truncated body; Vector the literal `"errors":true`).
 * One single-key item per action, in order, each with an integer status. `filter_path` is
 * applied; the filters shippers send on every request (Beats and Logstash:
 * `errors,items.*.error,items.*.status`) are built directly.
 */
export function bulkResponse(items: readonly BulkItem[], outcomes: Outcomes, took: number, backingIndex: (index: string) => string, filterPath?: string): string {
  let out = '';
  for (const part of bulkResponseParts(items, outcomes, took, backingIndex, filterPath)) out += part;
  return out;
}

/** Characters of items gathered into one part of a response (see bulkResponseParts). */
const PART_CHARS = 256 * 1024;

/**
 * The bulk response (see bulkResponse) in parts of about PART_CHARS characters, made as they are
 * asked for: a response to a million items is hundreds of megabytes, which the socket takes as
 * the parts are made instead of all of it being held at once. (A `filter_path` other than the
 * shippers' is applied to the whole response, which is made first.)
 */
export function* bulkResponseParts(items: readonly BulkItem[], outcomes: Outcomes, took: number, backingIndex: (index: string) => string, filterPath?: string): Generator<string> {
  let errors = outcomes.errors.size > 0;
  for (let i = 0; i < items.length && !errors; i++) {
    const st = outcomes.status[i]!;
    if (st === 409 || (st >= 300 && !(items[i]!.op === 'delete' && st === 404))) errors = true;
  }
  const fp = filterPath?.replace(/\s+/g, '');
  if (fp === 'errors') {
    yield `{"errors":${errors}}`;
    return;
  }
  const statusOnly = STATUS_ONLY.has(fp ?? '');
  if (fp && !statusOnly) {
    const body = bulkResponse(items, outcomes, took, backingIndex);
    const filter = parseFilterPath(fp);
    yield filter ? JSON.stringify(applyFilterPath(JSON.parse(body), filter) ?? {}) : body;
    return;
  }
  let part = statusOnly ? `{"errors":${errors},"items":[` : `{"took":${took},"errors":${errors},"items":[`;
  const idxCache = new Map<string, string>();
  for (let i = 0; i < items.length; i++) {
    if (i > 0) part += ',';
    const it = items[i]!;
    const status = outcomes.status[i]!;
    const seq = outcomes.seq[i]!;
    const op = it.op;
    const e = itemError(it, status, outcomes.errors.get(i));
    if (statusOnly) {
      part += e ? `{"${op}":{"status":${e.status},"error":${JSON.stringify({ type: e.type, reason: e.reason })}}}` : statusItem(op, status);
    } else {
      let idx = idxCache.get(it.index);
      if (idx === undefined) idxCache.set(it.index, (idx = JSON.stringify(it.index ? backingIndex(it.index) : '')));
      const id = it.id ? JSON.stringify(it.id) : 'null';
      if (e) {
        part += `{"${op}":{"_index":${idx},"_id":${id},"status":${e.status},"error":${JSON.stringify({ type: e.type, reason: e.reason, index: it.index || undefined })}}}`;
      } else {
        let result = RESULT[status] ?? 'updated';
        if (op === 'delete' && status === 200) result = 'deleted';
        if (status === 200 && op === 'create') result = 'noop';
        const seqPart = seq ? `"_seq_no":${seq},` : '';
        part += `{"${op}":{"_index":${idx},"_id":${id},"_version":1,"result":"${result}","_shards":{"total":1,"successful":${status === 404 ? 0 : 1},"failed":0},${seqPart}"_primary_term":1,"status":${status}}}`;
      }
    }
    if (part.length >= PART_CHARS) {
      yield part;
      part = '';
    }
  }
  yield part + ']}';
}

function itemError(it: BulkItem, status: number, error: ItemError | undefined): ItemError | null {
  if (error) return error;
  if (status === 409) return { status: 409, type: 'version_conflict_engine_exception', reason: `[${it.id}]: version conflict, document already exists (current version [1])` };
  return null;
}
