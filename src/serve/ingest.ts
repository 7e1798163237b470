// `_bulk`: the ingest endpoint. A request is parsed as it streams in, its items are committed to
// the event store (one fsynced transaction shared with the other requests waiting at that moment),
// and only then answered: every 2xx item is on disk. Stored events are then handed to the
// listeners (real-time detection) in commit order.
//
// When the service cannot take the request as a whole — too many events waiting, disk full, data
// directory read-only — the whole request is refused with 429 (or 503), which every shipper
// retries; items are never refused one by one for a transient reason (es-ingest.md §4).
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { EventDoc } from '../events/types.js';
import type { NumberTextReader } from '../events/number-time.js';
import { BulkParser, bulkResponseParts, Outcomes, responseHasIds, toWriteBatch, type BulkItem } from './bulk.js';
import type { ServeConfig } from './config.js';
import type { EsObjects } from './es-api.js';
import { EsError, qs, sendJson, streamBody } from './http.js';
import type { Metrics } from './metrics.js';
import type { EventSink } from './event-log.js';
import { AUTO_ID_LENGTH, setIngested, StoreUnavailableError } from './store/event-store.js';
import { DEBUG_HOLD } from './debug-hold.js';

/** An event just committed that some rule can use, as detection receives it. */
export interface StoredEvent {
  seq: number;
  index: string;
  id: string;
  /** `_source` with `event.ingested` set. */
  source: Record<string, unknown>;
  /** @timestamp, epoch ms (null when absent). */
  ts: number | null;
  ingested: number;
  /** EventDoc.numberTexts (BulkItem.numberTexts). */
  numberTexts?: Readonly<Record<string, string | readonly string[]>>;
  /** Rule generation the routes refer to, and the indexes of the rules that can use the event. */
  gen: number;
  routes: readonly number[];
}

/**
 * What one bulk request stored, in one commit: the position (seq) of every stored event, and
 * parsed and routed, only the events some rule of generation `gen` can use. The others were
 * routed to no rule of `gen` (or not routed, gen 0) and are not kept parsed: no object is made
 * for them here; a reader that needs one reads it from the store.
 */
export interface StoredBatch {
  /** Commit time: `event.ingested` of every event of the batch. */
  ingested: number;
  /** Rule generation of the routing (0: not routed). */
  gen: number;
  /** Seqs of the stored events, ascending; the first `count` entries are used. */
  seqs: Float64Array;
  count: number;
  /** The events some rule of `gen` can use, ascending seq. */
  events: StoredEvent[];
  /** When the request that stored them began (Date.now): real time waits for requests begun before it. */
  began: number;
}

/** Routing at ingest: which rules of generation `gen` can use an event. */
export interface IngestRouter {
  gen: number;
  /** Whether some rule's index patterns match the index. */
  wants(index: string): boolean;
  /** The fields mayDispatch reads, picked from a document's bytes (one array per rule generation). */
  fields: readonly string[];
  /** Whether some rule may use an event with these values of `fields` (RuleRouter.mayDispatch). */
  mayDispatch(picked: Record<string, unknown>, index: string): boolean;
  /** Strings one of which every event some rule can use contains (RuleRouter.needles), or null. */
  needles: readonly string[] | null;
  route(ev: EventDoc): readonly number[];
  /** BulkRouter.numberTexts. */
  numberTexts?: NumberTextReader | null;
}

export type StoredListener = (batch: StoredBatch) => void;

export interface IngestDeps {
  config: ServeConfig;
  /** Where events go: the single-node store, or the cluster's event log. */
  store: EventSink;
  objects: EsObjects;
  metrics: Metrics;
  log: Logger;
  /** Events stored but not yet through detection (counts towards the 429 threshold). */
  backlog: () => number;
  /** The current rules' router (null: no routing, every event kept for scheduled runs). */
  router?: () => IngestRouter | null;
}

export class Ingest {
  private readonly listeners: StoredListener[] = [];
  private lastFailureLog = 0;
  /** Start times (Date.now) of the requests being read and stored, in the order they began. */
  private readonly inFlight = new Set<{ started: number }>();
  /** Durations (ms) of the last requests, a ring. */
  private readonly durations = new Float64Array(64);
  private durationCount = 0;

  constructor(private readonly deps: IngestDeps) {}

  onStored(l: StoredListener): void {
    this.listeners.push(l);
  }

  /**
   * When the oldest request began that is still being read or stored (and began at or after
   * `startedFrom`; Infinity: none). Real-time detection holds the events it reads after that
   * until the request is stored (realtime.ts). Once it is, its events are in the detector's hold
   * (they are handed over before the request ends), whose watermark keeps due events newer than
   * them held with them: an ended request is not waited for. (Until the twelfth session it was,
   * until its own events had been held the whole reorder hold too — from before the watermark,
   * when nothing else kept them in order — which added up to the hold again to the alerts of the
   * requests begun with it.)
   */
  oldestInFlight(startedFrom = -Infinity): number {
    // (A Set keeps insertion order: the first entry began first. Requests in flight that began
    // before `startedFrom` are not counted: the caller stopped waiting for them.)
    for (const r of this.inFlight) if (r.started >= startedFrom) return r.started;
    return Infinity;
  }

  /** A request ended. */
  private ended(request: { started: number }): void {
    this.inFlight.delete(request);
    const now = Date.now();
    if (DEBUG_HOLD) this.deps.log.info({ hold: 'request', began: request.started, ended: now, ms: now - request.started, inFlight: this.inFlight.size }, 'hold');
    this.durations[this.durationCount++ % this.durations.length] = now - request.started;
  }

  /**
   * How long a bulk request takes these days: the median of the last 64; Infinity until 8 have
   * ended (the first requests after a start, often sent at once by shippers with a backlog,
   * take longest, and nothing is known yet).
   */
  typicalDuration(): number {
    const n = Math.min(this.durationCount, this.durations.length);
    if (n < 8) return Infinity;
    const d = this.durations.slice(0, n).sort();
    return d[n >> 1]!;
  }

  register(app: FastifyInstance): void {
    const opts = { config: { privilege: 'ingest' } };
    const handler = (req: FastifyRequest, reply: FastifyReply) => this.bulk(req, reply);
    for (const path of ['/_bulk', '/:index/_bulk']) {
      app.post(path, opts, handler);
      app.put(path, opts, handler);
    }
  }

  async bulk(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { config, store, metrics, log } = this.deps;
    const started = performance.now();
    const pending = store.inFlight + this.deps.backlog();
    if (pending > config.ingest.maxPendingEvents) {
      metrics.bulkRequests.inc({ status: '429' });
      throw new EsError(429, 'es_rejected_execution_exception', `rejected execution: ${pending} events are waiting to be stored or detected (limit ${config.ingest.maxPendingEvents}); retry later`);
    }
    if (store.failure) {
      this.unavailable(store.failure.failure, store.failure.message);
    }
    const request = { started: Date.now() };
    this.inFlight.add(request);
    try {
      return await this.admitted(req, reply, started, request.started);
    } finally {
      this.ended(request);
    }
  }

  /** The request, once admitted: parsed and stored part by part, then answered. */
  private async admitted(req: FastifyRequest, reply: FastifyReply, started: number, began: number): Promise<FastifyReply> {
    const { config, store, metrics, log } = this.deps;
    const params = req.params as { index?: string };
    const filterPath = qs(req, 'filter_path');
    const router = this.deps.router?.() ?? null;
    const strictActionLines = Number(config.elasticsearch.version.split('.')[0]) >= 9;
    const parser = new BulkParser({ index: params.index, pipeline: qs(req, 'pipeline'), router, strictActionLines });
    const gen = router?.gen ?? 0;
    const withIds = responseHasIds(filterPath);
    // Per item, what became of it; grown as parts of the body are parsed.
    const outcomes = new Outcomes(0);
    let rejectedLines = 0;
    let rejectedExample = '';
    // The body is parsed and stored in parts (one for a request of usual size; a part per
    // config.ingest.partBytes, 16 MiB, of a large one): the next part is read and parsed while the
    // writer stores the previous one, at most two parts wait for their commit, and each part's
    // events reach detection as soon as they are committed. The response, after every part's
    // commit, acknowledges them all.
    let itemsWritten = 0;
    let rejectedWritten = 0;
    const writes: Promise<void>[] = [];
    const writePart = async (body: Buffer): Promise<void> => {
      const items = parser.items;
      const from = itemsWritten;
      itemsWritten = items.length;
      const rejected = rejectedWritten === 0 && parser.rejected.length === 0 ? [] : parser.rejected.slice(rejectedWritten);
      rejectedWritten = parser.rejected.length;
      outcomes.grow(items.length);
      const { write, positions } = toWriteBatch(items, body, rejected, true, from);
      if (positions.length === 0 && rejected.length === 0) return;
      metrics.pending.inc(positions.length);
      let res;
      try {
        res = await store.write(write);
      } catch (e) {
        if (e instanceof StoreUnavailableError) this.unavailable(e.failure, e.message);
        throw e;
      } finally {
        metrics.pending.dec(positions.length);
      }
      for (const r of res.refused) {
        const error = { status: 400, type: 'document_parsing_exception', reason: r.reason };
        outcomes.fail(positions[r.i]!, error);
        metrics.itemsRejected.inc({ reason: error.type });
        if (rejectedLines++ === 0) rejectedExample = r.reason;
      }
      // (`ingested` is the commit's time in the writer; `now`, when the main thread learnt of it.)
      if (DEBUG_HOLD) log.info({ hold: 'stored', ingested: res.ingested, now: Date.now(), n: positions.length, began }, 'hold');
      const batch: StoredBatch = { ingested: res.ingested, gen, seqs: new Float64Array(positions.length), count: 0, events: [], began };
      let dup = 0;
      let mapped = 0;
      for (let k = 0; k < positions.length; k++) {
        const i = positions[k]!;
        const it = items[i]!;
        let status = res.status[k]!;
        const seq = res.seq[k]!;
        if (status === 400) {
          // A document the store refused (not one JSON object): its outcome is set above.
          if (outcomes.has(i)) continue;
          // Cluster mode: the event log is append-only.
          const error = { status, type: 'illegal_argument_exception', reason: `[${it.op}] is not supported by eqlite serve --cluster: events are appended to a log and cannot be changed or removed` };
          outcomes.fail(i, error);
          metrics.itemsRejected.inc({ reason: error.type });
          continue;
        }
        // A content-derived id is made into a string only where it is used: the response, detection.
        if (it.autoId && (withIds || it.doc)) it.id = res.autoIds.substr(k * AUTO_ID_LENGTH, AUTO_ID_LENGTH);
        // The same content sent again without _id is a retry: acknowledge it (200, not 409,
        // which Fluent Bit and Vector treat as a failure).
        if (status === 409) dup++;
        if (status === 409 && it.autoId) status = 200;
        outcomes.status[i] = status;
        outcomes.seq[i] = seq;
        if (seq > 0) {
          // Listeners learn every position (the log's readers check that none is missing).
          batch.seqs[batch.count++] = seq;
          if (it.mapped) mapped++;
          if (it.doc) {
            setIngested(it.doc, res.ingested);
            const stored: StoredEvent = { seq, index: it.index, id: it.id, source: it.doc, ts: it.ts, ingested: res.ingested, gen, routes: it.routes ?? NO_ROUTES };
            if (it.numberTexts !== undefined) stored.numberTexts = it.numberTexts;
            batch.events.push(stored);
            // (Held by the batch now; the item keeps what the response needs.)
            it.doc = undefined;
          }
        }
      }
      metrics.eventsStored.inc(batch.count);
      if (mapped > 0) metrics.eventsMapped.inc(mapped);
      if (dup > 0) metrics.eventsDuplicate.inc(dup);
      // Detection learns of each commit as it lands: commits, not requests, are in seq order.
      if (batch.count > 0) for (const l of this.listeners) l(batch);
    };
    const flush = (body: Buffer) => {
      const w = writePart(body);
      // Awaited in order below; a failure is answered once, for the whole request.
      w.catch(() => {});
      writes.push(w);
      return w;
    };
    let last: Buffer;
    try {
      last = await this.readBody(req, parser, flush);
    } catch (e) {
      // A body that could not be read whole (too large, damaged, cut off) is answered with its
      // error once the parts already handed to the store are settled. (Those parts are stored: a
      // shipper's retry of the request is stored once, by _id or by content.)
      await Promise.allSettled(writes);
      throw e;
    }
    // The last part: the lines after the last part handed over (for most requests, the whole body).
    parser.feed(last, last.length);
    const fatal = parser.fatal;
    if (fatal !== null) {
      // A malformed action/metadata line: the whole request is refused, as Elasticsearch refuses
      // it, and nothing of it is acknowledged. (Only the parts of a body larger than
      // config.ingest.partBytes before that line were stored; a shipper's retry of the request is
      // stored once, by _id or by content.)
      await Promise.allSettled(writes);
      metrics.bulkRequests.inc({ status: '400' });
      log.warn({ line: fatal.line, reason: fatal.reason, remote: req.ip }, 'bulk: request refused: malformed action/metadata line');
      throw new EsError(400, fatal.type, fatal.reason);
    }
    const items = parser.finish();
    if (items.length === 0) {
      metrics.bulkRequests.inc({ status: '400' });
      throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: no requests added;');
    }
    metrics.eventsReceived.inc(items.length);
    flush(last);
    for (const w of writes) await w;
    outcomes.grow(items.length);
    for (let i = 0; i < items.length; i++) {
      const e = items[i]!.error;
      if (e) {
        outcomes.fail(i, e);
        metrics.itemsRejected.inc({ reason: e.type });
      }
    }
    rejectedLines += parser.rejected.length;
    if (parser.rejected.length > 0) rejectedExample = parser.rejected[0]!.reason;
    if (rejectedLines > 0) {
      log.warn({ rejected: rejectedLines, example: rejectedExample, remote: req.ip }, 'bulk: malformed lines answered with per-item 400 and kept in the rejected table');
    }
    const took = Math.round(performance.now() - started);
    const parts = bulkResponseParts(items, outcomes, took, (i) => this.deps.objects.backingIndex(i), filterPath);
    metrics.bulkRequests.inc({ status: '200' });
    metrics.bulkDuration.observe((performance.now() - started) / 1000);
    // A response of usual size is sent whole (with its length); a larger one (a request of
    // hundreds of thousands of items) is made part by part as the socket takes it.
    let head = '';
    let next = parts.next();
    while (!next.done && head.length < WHOLE_RESPONSE_CHARS) {
      head += next.value;
      next = parts.next();
    }
    if (next.done) sendJson(reply, 200, head);
    else {
      const first = next.value;
      const rest = function* () {
        yield head;
        yield first;
        yield* { [Symbol.iterator]: () => parts };
      };
      reply.code(200).header('content-type', 'application/json; charset=UTF-8').send(Readable.from(rest(), { objectMode: false }));
    }
    // (The reply is a thenable settled when the response is sent: fastify must not take this
    // handler's end for an empty answer while a streamed response is still being written.)
    return reply;
  }

  /**
   * Reads the request body into buffers of its own (reused from earlier requests), which are
   * handed to the writer thread as they are. Once config.ingest.partBytes have come, the complete lines read so
   * far are parsed (`parser.feed`) and handed to `flush` as one part, and the bytes after them move
   * to a new buffer; the buffer holding the rest (not parsed yet) is returned. With a declared
   * length and no compression, a body of usual size is read into one buffer of exactly its size.
   */
  private async readBody(req: FastifyRequest, parser: BulkParser, flush: (part: Buffer) => Promise<void>): Promise<Buffer> {
    const { config, store } = this.deps;
    const limit = config.ingest.maxBodyBytes;
    const partBytes = config.ingest.partBytes;
    const declared = Number(req.headers['content-length']);
    const enc = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
    const known = Number.isInteger(declared) && declared > 0 && declared <= limit && (enc === '' || enc === 'identity');
    // Bytes of the body moved to parts so far.
    let handed = 0;
    // A buffer holds at most a part (unless a line is longer); without a declared length, the
    // first starts small and grows.
    const capacity = () => (known ? Math.max(1, Math.min(declared - handed, partBytes)) : handed > 0 ? partBytes : 1024 * 1024);
    // Parts handed to the store and not yet committed: reading waits while two are (backpressure).
    const inflight: Promise<void>[] = [];
    let buf = store.bodyBuffer(capacity());
    let len = 0;
    const cut = () => {
      const nl = buf.lastIndexOf(10, len - 1);
      if (nl < 0) return;
      const part = buf.subarray(0, nl + 1);
      handed += part.length;
      const next = store.bodyBuffer(Math.max(capacity(), len - part.length));
      buf.copy(next, 0, part.length, len);
      len -= part.length;
      buf = next;
      parser.feed(part, part.length);
      // (A part that holds a malformed action line is not stored: the request is refused.)
      if (parser.fatal !== null) return;
      // (The part's buffer is transferred to the writer thread here: not read again.)
      inflight.push(flush(part));
    };
    await streamBody(req, limit, (c) => {
      // After a malformed action line the request is refused: the rest of the body is read
      // (so that the answer reaches the client) and dropped.
      if (parser.fatal !== null) return undefined;
      let off = 0;
      while (off < c.length) {
        if (len === buf.length) {
          if (len >= partBytes) cut();
          if (len === buf.length) {
            // A longer body than declared is not possible (Node's HTTP parser ends it there),
            // a longer line than a part is: the buffer grows (up to the body limit).
            const bigger = store.bodyBuffer(Math.max(2 * buf.length, 64 * 1024));
            buf.copy(bigger, 0, 0, len);
            buf = bigger;
          }
        }
        const n = Math.min(c.length - off, buf.length - len);
        c.copy(buf, len, off, off + n);
        len += n;
        off += n;
      }
      if (len >= partBytes) cut();
      if (inflight.length > 2) return inflight.shift()!.then(NOTHING, NOTHING);
      return undefined;
    });
    return len === buf.length ? buf : buf.subarray(0, len);
  }

  /** Throws the whole-request refusal for an unwritable store, logging it (at most every 10 s). */
  private unavailable(failure: string, message: string): never {
    const now = Date.now();
    if (now - this.lastFailureLog > 10_000) {
      this.lastFailureLog = now;
      this.deps.log.error(
        { failure, err: message, data: this.deps.config.data },
        failure === 'full'
          ? 'event store: the disk is full; bulk requests are refused with 429 until space is freed'
          : failure === 'readonly'
            ? 'event store: the data directory is not writable; bulk requests are refused with 503 until it is'
            : 'event store: writes fail; bulk requests are refused with 503',
      );
    }
    this.deps.metrics.bulkRequests.inc({ status: failure === 'full' ? '429' : '503' });
    if (failure === 'full') throw new EsError(429, 'es_rejected_execution_exception', 'rejected execution: the event store disk is full; retry later');
    throw new EsError(503, 'unavailable_shards_exception', `the event store cannot be written (${failure}: ${message}); retry later`);
  }
}

const NO_ROUTES: readonly number[] = [];
const NOTHING = () => {};

/** Responses up to this many characters are sent whole; longer ones are streamed. */
const WHOLE_RESPONSE_CHARS = 4 * 1024 * 1024;

export type { BulkItem };
