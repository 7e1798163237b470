// Live alert updates as Server-Sent Events (GET /api/alerts/_stream): `alerts` when new alerts
// were written, `status` when alerts changed workflow status. The feed watches the alert store
// itself (the newest rowid of alerts, the newest status-history entry), so it sees what this
// service's detection writes, what another process writes (`hunt --db` into the store `eqlite ui`
// shows) and status set through any connection; the service also pokes it on every write, so
// alerts appear at once rather than at the next poll. Each event's id is the store position
// (`rowid:seq`): a browser that reconnects sends it back as Last-Event-ID and gets what it missed.
import type Database from 'better-sqlite3';
import type { FastifyReply, FastifyRequest } from 'fastify';

interface Client {
  reply: FastifyReply;
  heartbeat: NodeJS.Timeout;
}

interface Position {
  rowid: number;
  seq: number;
}

/** Ids listed per event at most (the count is always exact). */
const MAX_IDS = 200;

export class AlertFeed {
  private readonly clients = new Set<Client>();
  private timer: NodeJS.Timeout | null = null;
  private pos: Position;
  private closed = false;
  private readonly maxRowid: Database.Statement;
  private readonly maxSeq: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly opts: { pollMs?: number; heartbeatMs?: number; onTick?: () => void } = {},
  ) {
    this.maxRowid = db.prepare('SELECT COALESCE(MAX(rowid), 0) AS m FROM alerts');
    this.maxSeq = db.prepare('SELECT COALESCE(MAX(seq), 0) AS m FROM alert_status_history');
    this.pos = this.now();
  }

  private now(): Position {
    return { rowid: (this.maxRowid.get() as { m: number }).m, seq: (this.maxSeq.get() as { m: number }).m };
  }

  /** Checks for changes now (the service calls it after writing alerts or status). */
  poke(): void {
    if (this.clients.size > 0) setImmediate(() => this.poll());
  }

  subscribe(req: FastifyRequest, reply: FastifyReply): void {
    if (this.closed) {
      void reply.code(503).send();
      return;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n: eqlite alert stream\n\n`);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), this.opts.heartbeatMs ?? 15_000);
    heartbeat.unref();
    const client: Client = { reply, heartbeat };
    // Nobody was watching: the feed's position is stale; new clients start from now.
    if (this.clients.size === 0) this.pos = this.now();
    this.clients.add(client);
    req.raw.on('close', () => this.drop(client));
    // A reconnecting browser says where it was: send what it missed in one go.
    const last = parsePosition(req.headers['last-event-id']);
    if (last && (last.rowid < this.pos.rowid || last.seq < this.pos.seq)) {
      for (const e of this.events(last, this.pos)) res.write(e);
    }
    this.schedule();
  }

  private drop(c: Client): void {
    clearInterval(c.heartbeat);
    this.clients.delete(c);
    if (this.clients.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private schedule(): void {
    if (this.timer || this.closed || this.clients.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.poll();
      this.schedule();
    }, this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  private poll(): void {
    if (this.closed) return;
    try {
      this.opts.onTick?.();
      const now = this.now();
      if (now.rowid === this.pos.rowid && now.seq === this.pos.seq) return;
      const out = this.events(this.pos, now);
      this.pos = now;
      for (const c of this.clients) for (const e of out) c.reply.raw.write(e);
    } catch {
      // The store is busy or closing: the next poll tries again.
    }
  }

  /** The events between two store positions. */
  private events(from: Position, to: Position): string[] {
    const id = `${to.rowid}:${to.seq}`;
    const out: string[] = [];
    if (to.rowid > from.rowid) {
      const count = (this.db.prepare('SELECT COUNT(*) AS n FROM alerts WHERE rowid > ? AND rowid <= ? AND building_block = 0').get(from.rowid, to.rowid) as { n: number }).n;
      const ids = (this.db.prepare('SELECT id FROM alerts WHERE rowid > ? AND rowid <= ? AND building_block = 0 ORDER BY rowid DESC LIMIT ?').all(from.rowid, to.rowid, MAX_IDS) as { id: string }[]).map((r) => r.id);
      if (count > 0) out.push(`id: ${id}\nevent: alerts\ndata: ${JSON.stringify({ count, ids })}\n\n`);
    }
    if (to.seq > from.seq) {
      const rows = this.db.prepare('SELECT id, status FROM alert_status_history WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 100000').all(from.seq, to.seq) as { id: string; status: string }[];
      const byStatus = new Map<string, string[]>();
      for (const r of rows) {
        const l = byStatus.get(r.status) ?? [];
        if (l.length < MAX_IDS) l.push(r.id);
        byStatus.set(r.status, l);
      }
      for (const [status, ids] of byStatus) out.push(`id: ${id}\nevent: status\ndata: ${JSON.stringify({ status, ids })}\n\n`);
    }
    if (out.length === 0) out.push(`id: ${id}\n: moved\n\n`);
    return out;
  }

  get subscribers(): number {
    return this.clients.size;
  }

  /** Ends every stream (before the server closes: open streams would keep it waiting). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const c of [...this.clients]) {
      clearInterval(c.heartbeat);
      c.reply.raw.end();
    }
    this.clients.clear();
  }
}

function parsePosition(v: unknown): Position | null {
  const m = typeof v === 'string' ? /^(\d+):(\d+)$/.exec(v.trim()) : null;
  return m ? { rowid: Number(m[1]), seq: Number(m[2]) } : null;
}
