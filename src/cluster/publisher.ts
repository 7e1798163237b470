// JetStream publishes with many acknowledgements in flight, at the cost of one NATS message each.
//
// The client's `js.publish` is a NATS request per message: a request object, a timer and a
// parsed reply each, which made publishing most of the ingest node's CPU per event. Here every
// publish goes out as a plain message whose reply subject is `<inbox>.<n>` on ONE subscription
// of this process; the PubAck that comes back settles publish n. One timer sweeps the
// publishes whose acknowledgement is overdue. JetStream sees exactly what `js.publish` sends (the
// subject, the payload, a `Nats-Msg-Id` header, a reply subject), so deduplication and
// acknowledgement are unchanged: a publish resolves only when JetStream stored the message (or
// found it a duplicate within the duplicate window), and fails on a JetStream error, on "no
// responders" (no stream leader: during an election, 503) or when overdue — the caller retries
// with the same id.
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

export interface Ack {
  seq: number;
  duplicate: boolean;
}

interface Pending {
  resolve: (a: Ack) => void;
  reject: (e: Error) => void;
  expires: number;
}

/** A JetStream API error in a PubAck (`code`: JetStream's err_code, as the client's errors carry). */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const SWEEP_MS = 200;

export class AsyncPublisher {
  private readonly inbox: string;
  private sub: Subscription | null = null;
  private next = 0;
  private readonly pending = new Map<number, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly nc: NatsConnection) {
    this.inbox = createInbox();
  }

  /** Publishes in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  private start(): void {
    this.sub = this.nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (!err) return this.onReply(msg);
        // The subscription ended: every publish in flight fails (and is retried); the next one subscribes again.
        this.sub = null;
        if (this.timer) clearInterval(this.timer);
        this.failAll(err);
      },
    });
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  /** Publishes and resolves with JetStream's acknowledgement (stream sequence, duplicate). */
  publish(subject: string, data: Uint8Array, msgID: string, timeoutMs: number): Promise<Ack> {
    if (this.closed) return Promise.reject(new Error('publisher closed'));
    if (!this.sub) this.start();
    const n = ++this.next;
    return new Promise<Ack>((resolve, reject) => {
      this.pending.set(n, { resolve, reject, expires: Date.now() + timeoutMs });
      const h = headers();
      h.set('Nats-Msg-Id', msgID);
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${n}`, headers: h });
      } catch (e) {
        this.pending.delete(n);
        reject(e as Error);
      }
    });
  }

  private onReply(msg: Msg): void {
    const n = Number(msg.subject.slice(this.inbox.length + 1));
    const p = this.pending.get(n);
    if (!p) return; // overdue and already failed: the retry has its own id
    this.pending.delete(n);
    const h = msg.headers;
    if (h && h.hasError) {
      p.reject(new Error(h.code === 503 ? `503 no responders: no stream leader for ${msg.subject}` : `${h.code} ${h.description}`));
      return;
    }
    try {
      const a = JSON.parse(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength).toString('utf8')) as { seq?: number; duplicate?: boolean; error?: { code: number; err_code: number; description: string } };
      if (a.error) p.reject(new PublishError(`${a.error.code} ${a.error.description}`, a.error.err_code));
      else if (typeof a.seq !== 'number') p.reject(new Error('invalid ack response'));
      else p.resolve({ seq: a.seq, duplicate: a.duplicate === true });
    } catch (e) {
      p.reject(e as Error);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [n, p] of this.pending) {
      if (p.expires <= now) {
        this.pending.delete(n);
        p.reject(new Error('TIMEOUT: no acknowledgement from JetStream'));
      }
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
    this.failAll(new Error('publisher closed'));
  }
}
