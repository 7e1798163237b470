// The event log on NATS JetStream (the cluster's implementation of src/serve/event-log.ts).
//
//  * publish — each bulk item is published to the partitions its rules need (its routing,
//    computed at parse time by the Partitioner), with a `Nats-Msg-Id` per copy, and retried until
//    JetStream acknowledges it (a leader election answers "no responders" for a few seconds) or
//    `publish_timeout` passes; the request is answered only after every acknowledgement. A retried
//    publish within the stream's duplicate window is stored once (PubAck `duplicate`): a create
//    sent again is answered 409, as single-node mode answers it.
//  * consume — an ordered consumer on `<name>.ev.d.<p>.*` (one filter subject: 2.9 has no
//    multi-filter consumers), from a stream sequence or a store time; ephemeral, in order,
//    recreated by the client after a gap or a server loss, and by this reader after an error.
//  * replay — the same consumer over a bounded range, with fetches.
//  * ack — the partition's checkpoint in KV `<name>_state` (`ckpt.<p>`), written with the
//    revision the reader last wrote (compare-and-set): once another reader claimed the partition
//    (its claim rewrote the key), every ack of the previous reader fails — fencing.
import { createHash } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { BatchHandler, Checkpoint, EventLog, EventSink, LogEvent, LogStart, PartitionReader, ReadOptions } from '../serve/event-log.js';
import { FencedError } from '../serve/event-log.js';
import { autoIdsOf, decodeBatch, Op, setIngested, StoreUnavailableError, type ItemRefusal, type WriteBatch, type WriteResult, type WriterFailure } from '../serve/store/event-store.js';
import { fnv1a32 } from './partition.js';
import { AsyncPublisher, type Ack } from './publisher.js';
import { isTransient, ORDERED_CONSUME, restartOnRecovery, sleep, type ClusterResources } from './nats.js';

/** Subjects of the event stream. */
export function eventSubjects(prefix: string) {
  return {
    all: `${prefix}.ev.>`,
    detect: (p: number) => `${prefix}.ev.d.${p}.*`,
    copy: (p: number, first: boolean) => `${prefix}.ev.d.${p}.${first ? 'p' : 'k'}`,
    unrouted: (p: number) => `${prefix}.ev.n.${p}`,
  };
}

/** Payload: one JSON line `[index, id, ingested]`, then the `_source` JSON. */
export function encodeEvent(idx: string, id: string, ingested: number, src: string): Buffer {
  return Buffer.from(`${JSON.stringify([idx, id, ingested])}\n${src}`, 'utf8');
}

export function decodeEvent(data: Uint8Array): { index: string; id: string; ingested: number; src: string } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const nl = buf.indexOf(10);
  const head = JSON.parse(buf.toString('utf8', 0, nl)) as [string, string, number];
  return { index: head[0], id: head[1], ingested: head[2], src: buf.toString('utf8', nl + 1) };
}

function toLogEvent(m: JsMsg): LogEvent {
  const d = decodeEvent(m.data);
  const source = JSON.parse(d.src) as Record<string, unknown>;
  setIngested(source, d.ingested);
  return { position: m.seq, storedAt: Number(m.timestampNanos / 1_000_000n), index: d.index, id: d.id, ingested: d.ingested, source, text: d.src };
}

export interface PublishOptions {
  /**
   * The partitions an event goes to (empty: no rule wants it): the rules of the current
   * generation that can use it, partitioned (partition.ts). `gen`: the generation ingest routed
   * the event with.
   */
  partitionsOf: (ev: { source: Record<string, unknown>; index: string; id: string }, gen: number) => number[];
  onPublished?: (copies: number, ms: number) => void;
  onRetry?: () => void;
}

class JetStreamSink implements EventSink {
  inFlight = 0;
  failure: { failure: WriterFailure; message: string } | null = null;
  private last = 0;
  /** Every copy of every request in flight at once, each settled by its own PubAck (publisher.ts). */
  private readonly publisher: AsyncPublisher;

  constructor(
    private readonly res: ClusterResources,
    private readonly log: Logger,
    private readonly stats: PublishOptions,
  ) {
    this.publisher = new AsyncPublisher(res.nc);
    void this.watchConnection();
  }

  private async watchConnection(): Promise<void> {
    for await (const s of this.res.nc.status()) {
      if (s.type === 'disconnect') this.failure = { failure: 'io', message: 'disconnected from NATS; reconnecting' };
      else if (s.type === 'reconnect') this.failure = null;
    }
    this.failure = { failure: 'io', message: 'the NATS connection is closed' };
  }

  /** A request body's buffer (nothing is transferred here: a plain buffer). */
  bodyBuffer(size: number): Buffer {
    return Buffer.allocUnsafeSlow(size);
  }

  async write(b: { batch: WriteBatch; transfer: ArrayBuffer[] }): Promise<WriteResult> {
    const { res } = this;
    // The request's items as the SQLite writer reads them (checked, ids derived from content).
    const items = decodeBatch(b.batch);
    const rejected = b.batch.rejected;
    const refused: ItemRefusal[] = [];
    items.forEach((it, i) => {
      if (it.refused !== null) refused.push({ i, reason: it.refused });
    });
    if (rejected.length > 0) this.log.warn({ rejected: rejected.length, example: rejected[0]!.reason, line: rejected[0]!.line.slice(0, 200) }, 'bulk: rejected lines (cluster mode keeps them in this log only)');
    const now = Date.now();
    const ingested = (this.last = now > this.last ? now : this.last);
    const subjects = eventSubjects(res.subjectPrefix);
    const deadline = now + res.cfg.publishTimeoutMs;
    const started = performance.now();
    this.inFlight += items.length;
    let copies = 0;
    try {
      const outcomes = await Promise.all(
        items.map(async (it) => {
          if (it.refused !== null || (it.op !== Op.Create && it.op !== Op.Index)) return { status: 400, seq: 0 };
          const data = encodeEvent(it.idx, it.id, ingested, it.src!);
          // A create is identified by (index, id): the same id again is a conflict. An index
          // action with an _id may carry a new version: its content is part of the identity.
          const base = it.op === Op.Create ? `${it.idx}/${it.id}` : `${it.idx}/${it.id}/${createHash('sha1').update(it.src!).digest('base64url').slice(0, 16)}`;
          // Routed by ingest to no rule (routed < 0): kept for searches only, never parsed here.
          let parts: number[] = [];
          if ((it.routed ?? 0) >= 0) {
            let source: Record<string, unknown> | null = null;
            try {
              source = JSON.parse(it.src!) as Record<string, unknown>;
            } catch {
              source = null;
            }
            if (source && typeof source === 'object' && !Array.isArray(source)) parts = this.stats.partitionsOf({ source, index: it.idx, id: it.id }, it.routed ?? 0);
          }
          let first: Ack;
          if (parts.length === 0) {
            const p = fnv1a32(`${it.idx}/${it.id}`) % res.partitions;
            first = await this.publish(subjects.unrouted(p), data, `${base}@n`, deadline);
            copies++;
          } else {
            const acks = await Promise.all(parts.map((p, i) => this.publish(subjects.copy(p, i === 0), data, `${base}@${p}`, deadline)));
            copies += parts.length;
            first = acks[0]!;
          }
          const status = first.duplicate ? (it.op === Op.Create ? 409 : 200) : 201;
          return { status, seq: status === 409 ? 0 : first.seq };
        }),
      );
      this.stats.onPublished?.(copies, performance.now() - started);
      return { ingested, status: Int32Array.from(outcomes, (o) => o.status), seq: Float64Array.from(outcomes, (o) => o.seq), autoIds: autoIdsOf(items), refused };
    } catch (e) {
      throw new StoreUnavailableError('io', `JetStream did not acknowledge the events within ${res.cfg.publishTimeoutMs} ms: ${(e as Error).message}`);
    } finally {
      this.inFlight -= items.length;
    }
  }

  /** Publishes until acknowledged (a duplicate of an earlier attempt counts) or the deadline passes. */
  private async publish(subject: string, data: Uint8Array, msgID: string, deadline: number): Promise<Ack> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.publisher.publish(subject, data, msgID, Math.max(500, Math.min(5000, deadline - Date.now())));
      } catch (e) {
        if (Date.now() >= deadline || !isTransient(e)) throw e;
        this.stats.onRetry?.();
        await sleep(Math.min(1000, 25 * 2 ** attempt));
      }
    }
  }
}

interface StoredCheckpoint extends Checkpoint {
  owner: string;
  at: string;
}

/** A checkpoint as the state bucket keeps it: who wrote it and when (the fence's evidence). */
function storedCheckpoint(c: Checkpoint, owner: string): string {
  const v: StoredCheckpoint = { position: c.position, storedAt: c.storedAt, owner, at: new Date().toISOString() };
  if (c.stateFrom !== undefined) v.stateFrom = c.stateFrom;
  return JSON.stringify(v);
}

class JetStreamReader implements PartitionReader {
  private rev = 0;
  private readonly subject: string;
  private readonly key: string;

  constructor(
    private readonly res: ClusterResources,
    readonly partition: number,
    private readonly log: Logger,
  ) {
    this.subject = eventSubjects(res.subjectPrefix).detect(partition);
    this.key = `ckpt.${partition}`;
  }

  async claim(): Promise<Checkpoint | null> {
    const kv = this.res.buckets.state;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const e = await kv.get(this.key);
        const value = (c: Checkpoint): string => storedCheckpoint(c, this.res.owner);
        if (!e || e.operation !== 'PUT') {
          this.rev = await kv.create(this.key, value({ position: 0, storedAt: 0 }));
          return null;
        }
        const c = e.json<StoredCheckpoint>();
        // Rewriting the key is the fence: the previous reader's next ack carries an old revision.
        this.rev = await kv.update(this.key, value(c), e.revision);
        return c.position > 0 ? { position: c.position, storedAt: c.storedAt, ...(typeof c.stateFrom === 'number' ? { stateFrom: c.stateFrom } : {}) } : null;
      } catch (e) {
        if (!isTransient(e) && (e as { code?: number }).code !== 10071) throw e;
        await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    }
    throw new Error(`cannot claim partition ${this.partition}: its checkpoint keeps changing or JetStream does not answer`);
  }

  async ack(c: Checkpoint): Promise<void> {
    const kv = this.res.buckets.state;
    const value = storedCheckpoint(c, this.res.owner);
    try {
      this.rev = await kv.update(this.key, value, this.rev);
    } catch (e) {
      if ((e as { code?: number }).code !== 10071) throw e;
      // Either someone else wrote the key (fenced), or our own previous write landed after its
      // acknowledgement was lost (a timeout): then the key holds our value.
      const cur = await kv.get(this.key);
      const v = cur?.operation === 'PUT' ? cur.json<StoredCheckpoint>() : null;
      if (cur && v && v.owner === this.res.owner) {
        this.rev = await kv.update(this.key, value, cur.revision);
        return;
      }
      throw new FencedError(this.partition, `partition ${this.partition} was taken over by ${v?.owner ?? 'another reader'}`);
    }
  }

  private async consumer(from: LogStart) {
    const start = 'position' in from ? { opt_start_seq: Math.max(1, from.position) } : { opt_start_time: new Date(Math.max(0, from.time)).toISOString() };
    return this.res.js.consumers.get(this.res.stream, { filter_subjects: this.subject, inactive_threshold: 60_000, ...start });
  }

  async consume(from: LogStart, handler: BatchHandler, opts: ReadOptions): Promise<void> {
    const { signal } = opts;
    const max = opts.batch ?? 500;
    let next = from;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const c = await this.consumer(next);
        const msgs = await c.consume({ max_messages: max * 2, ...ORDERED_CONSUME });
        restartOnRecovery(msgs, (reason) => this.log.info({ partition: this.partition, reason, next }, 'cluster: partition reader restarts its consumer'));
        const onAbort = () => void msgs.close();
        signal.addEventListener('abort', onAbort, { once: true });
        let batch: LogEvent[] = [];
        try {
          for await (const m of msgs) {
            failures = 0;
            batch.push(toLogEvent(m));
            next = { position: m.seq + 1 };
            if (batch.length >= max || m.info.pending === 0) {
              const b = batch;
              batch = [];
              await handler(b);
            }
            if (signal.aborted) break;
          }
          if (batch.length > 0 && !signal.aborted) await handler(batch);
        } finally {
          signal.removeEventListener('abort', onAbort);
          await msgs.close().catch(() => undefined);
          c.delete().catch(() => undefined);
        }
      } catch (e) {
        if (signal.aborted) return;
        failures++;
        if (failures === 1 || failures % 20 === 0) this.log.warn({ partition: this.partition, err: (e as Error).message }, 'cluster: reading the partition failed; retrying');
        await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  async replay(from: LogStart, through: number, handler: BatchHandler, opts: ReadOptions): Promise<void> {
    const { signal } = opts;
    const max = opts.batch ?? 500;
    let next = from;
    for (let failures = 0; !signal.aborted; ) {
      try {
        const c = await this.consumer(next);
        try {
          for (;;) {
            const msgs = await c.fetch({ max_messages: max, expires: 2000 });
            const batch: LogEvent[] = [];
            let done = false;
            for await (const m of msgs) {
              if (m.seq > through) {
                done = true;
                break;
              }
              batch.push(toLogEvent(m));
              next = { position: m.seq + 1 };
              // The end of the range, or of the partition: stop without waiting for the fetch to expire.
              if (m.seq === through || m.info.pending === 0) {
                done = true;
                break;
              }
            }
            if (batch.length > 0) await handler(batch);
            if (done || batch.length === 0 || signal.aborted) return;
          }
        } finally {
          c.delete().catch(() => undefined);
        }
      } catch (e) {
        if (signal.aborted) return;
        if (++failures > 10) throw e;
        await sleep(Math.min(2000, 100 * 2 ** failures));
      }
    }
  }
}

export class JetStreamEventLog implements EventLog {
  readonly sink: EventSink;

  constructor(
    private readonly res: ClusterResources,
    private readonly log: Logger,
    stats: PublishOptions,
  ) {
    this.sink = new JetStreamSink(res, log, stats);
  }

  get partitions(): number {
    return this.res.partitions;
  }

  reader(p: number): PartitionReader {
    return new JetStreamReader(this.res, p, this.log);
  }
}

/** One message of the event stream, undecoded. */
export interface RawStreamEvent {
  subject: string;
  seq: number;
  /** When JetStream stored it (epoch ms). */
  storedAt: number;
  data: Uint8Array;
}

/**
 * Reads every partition of the event stream, in stream order, from the first event stored at or
 * after `from` (epoch ms, store time) through sequence `through` (the last sequence when the read
 * began: a read never follows new events). `onEvent` returns false to stop early. An ephemeral
 * consumer, fetched in batches; a failed fetch is retried from the next sequence (10 times).
 */
export async function scanStream(res: ClusterResources, from: number, through: number, onEvent: (e: RawStreamEvent) => boolean | void, signal?: AbortSignal): Promise<void> {
  let next: { opt_start_time: string } | { opt_start_seq: number } = { opt_start_time: new Date(Math.max(0, from)).toISOString() };
  for (let failures = 0; !signal?.aborted; ) {
    try {
      const c = await res.js.consumers.get(res.stream, { filter_subjects: eventSubjects(res.subjectPrefix).all, inactive_threshold: 60_000, ...next });
      try {
        for (;;) {
          const msgs = await c.fetch({ max_messages: 1000, expires: 2000 });
          let n = 0;
          for await (const m of msgs) {
            n++;
            if (m.seq > through) return;
            next = { opt_start_seq: m.seq + 1 };
            if (onEvent({ subject: m.subject, seq: m.seq, storedAt: Number(m.timestampNanos / 1_000_000n), data: m.data }) === false) return;
            // The end of the range, or of the stream: stop without waiting for the fetch to expire.
            if (m.seq >= through || m.info.pending === 0) return;
          }
          if (n === 0 || signal?.aborted) return;
        }
      } finally {
        c.delete().catch(() => undefined);
      }
    } catch (e) {
      if (signal?.aborted) return;
      if (++failures > 10) throw e;
      await sleep(Math.min(2000, 100 * 2 ** failures));
    }
  }
}

/** The stream's last sequence (0 when empty). */
export async function lastSequence(res: ClusterResources): Promise<number> {
  const info = await res.jsm.streams.info(res.stream);
  return info.state.last_seq;
}
