// Scheduled rule runs in cluster mode: Kibana's interval runs, catch-up after downtime and gaps,
// done once per rule and interval for the whole cluster.
//
//  * Who runs: the holder of the scheduler lease (key `scheduler` in KV `<name>_leases`, created,
//    then renewed by compare-and-set every lease_ttl / 3, as partition leases are). Only nodes
//    with the detect role compete for it; when the holder dies its lease expires after lease_ttl
//    and another node's next tick finds the missed runs and catches up, as a restarted single
//    node does.
//  * What it reads: every partition of the event stream over the run's window (each event once:
//    a partition copy made for a rule keyed by another field is skipped, an event published twice
//    by a retry across a rule change is read once), so a run sees what a single node's run sees,
//    and max_signals, the tail of the results, applies per rule as in Kibana, not per partition.
//    Alert ids are the engine's (the same as `eqlite hunt` and real time compute), written to the
//    create-only alert bucket: an alert real time already wrote is not written again.
//  * Where state goes: KV `<name>_schedule`, one key per rule (last run, the 50 most recent runs,
//    the 100 most recent gaps), written by compare-and-set; every node mirrors the bucket (watch),
//    so `GET /api/rules` answers the same on every node. A run is recorded only if the rule's last
//    run is still older than it: a scheduler that lost its lease while running (paused, cut off)
//    and finishes a run the new holder already made records nothing (its alerts, the same ids,
//    were written once).
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { EventDoc } from '../events/types.js';
import type { NumberTextReader } from '../events/number-time.js';
import { stampEventTime } from '../events/order.js';
import type { GapRow, RunRow, ScheduleStore } from '../serve/detection.js';
import { MAX_WINDOW_EVENTS, WindowReadError } from '../serve/detection.js';
import { setIngested } from '../serve/store/event-store.js';
import { decodeEvent, lastSequence, scanStream } from './jetstream-log.js';
import { isTransient, sleep, type ClusterResources } from './nats.js';

/** Store-time slack of window reads: ingest nodes' and NATS servers' clocks differ. */
const READ_SLACK_MS = 60_000;
const RUNS_SHOWN = 50;
const GAPS_SHOWN = 100;

interface RuleDoc {
  uuid: string;
  rule_id: string;
  last_run: number | null;
  /** Most recent first. */
  runs: RunRow[];
  gaps: GapRow[];
}

const b64 = (s: string) => Buffer.from(s).toString('base64url');

/** Rule run state in KV `<name>_schedule`, mirrored by every node. */
export class ClusterScheduleStore implements ScheduleStore {
  private readonly docs = new Map<string, { rev: number; doc: RuleDoc }>();
  private readonly abort = new AbortController();
  private watching: Promise<void> | null = null;

  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /** Loads every rule's state (before the node answers), then follows changes. */
  async start(): Promise<void> {
    for await (const k of await this.kv.keys()) {
      const e = await this.kv.get(k);
      if (e && e.operation === 'PUT') this.apply(e.revision, e.json<RuleDoc>());
    }
    this.watching = this.watch();
  }

  private apply(rev: number, doc: RuleDoc): void {
    const cur = this.docs.get(doc.uuid);
    if (!cur || cur.rev < rev) this.docs.set(doc.uuid, { rev, doc });
  }

  private async watch(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        const w = await this.kv.watch();
        const onAbort = () => w.stop();
        this.abort.signal.addEventListener('abort', onAbort, { once: true });
        try {
          for await (const e of w) {
            if (e.operation !== 'PUT') continue;
            try {
              this.apply(e.revision, e.json<RuleDoc>());
            } catch {
              this.log.warn({ key: e.key }, 'cluster: a rule state in the schedule bucket is not JSON; skipped');
            }
          }
        } finally {
          this.abort.signal.removeEventListener('abort', onAbort);
        }
      } catch (e) {
        if (this.abort.signal.aborted) return;
        this.log.warn({ err: (e as Error).message }, 'cluster: watching the shared rule run state failed; retrying');
      }
      await sleep(1000);
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.watching?.catch(() => undefined);
  }

  /**
   * Changes one rule's state by compare-and-set (read, change, write with the read revision;
   * again on a conflict). `change` returns false to write nothing.
   */
  private async mutate(uuid: string, ruleId: string, change: (d: RuleDoc) => boolean): Promise<boolean> {
    const key = `r.${b64(uuid)}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const e = await this.kv.get(key);
        const doc: RuleDoc = e && e.operation === 'PUT' ? e.json<RuleDoc>() : { uuid, rule_id: ruleId, last_run: null, runs: [], gaps: [] };
        doc.rule_id = ruleId;
        if (!change(doc)) {
          if (e && e.operation === 'PUT') this.apply(e.revision, doc);
          return false;
        }
        const value = JSON.stringify(doc);
        const rev = e && e.operation === 'PUT' ? await this.kv.update(key, value, e.revision) : await this.kv.create(key, value);
        this.apply(rev, doc);
        return true;
      } catch (e) {
        const conflict = (e as { code?: number }).code === 10071 || /wrong last sequence|key exists/i.test((e as Error).message);
        if (attempt >= 30 || (!conflict && !isTransient(e))) throw e;
        if (!conflict) await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  lastRun(uuid: string): number | null {
    return this.docs.get(uuid)?.doc.last_run ?? null;
  }

  recordRun(row: RunRow, advance: boolean): Promise<boolean> {
    return this.mutate(row.uuid, row.rule_id, (d) => {
      if (advance) {
        // Already made (by the scheduler before this one, or by this one before a lost answer).
        if (d.last_run !== null && d.last_run >= row.run_time) return false;
        d.last_run = row.run_time;
      }
      d.runs.unshift(row);
      if (d.runs.length > RUNS_SHOWN) d.runs.length = RUNS_SHOWN;
      return true;
    });
  }

  async recordGap(uuid: string, ruleId: string, gap: GapRow): Promise<void> {
    await this.mutate(uuid, ruleId, (d) => {
      if (d.gaps.some((g) => g.gap_start === gap.gap_start && g.gap_end === gap.gap_end)) return false;
      d.gaps.unshift(gap);
      if (d.gaps.length > GAPS_SHOWN) d.gaps.length = GAPS_SHOWN;
      return true;
    });
  }

  async fillGaps(uuid: string, from: number, to: number): Promise<void> {
    const cur = this.docs.get(uuid)?.doc;
    if (!cur) return;
    await this.mutate(uuid, cur.rule_id, (d) => {
      let changed = false;
      for (const g of d.gaps) {
        if (g.status === 'unfilled' && g.gap_start >= from && g.gap_end <= to) {
          g.status = 'filled';
          changed = true;
        }
      }
      return changed;
    });
  }

  runs(uuid: string): RunRow[] {
    return this.docs.get(uuid)?.doc.runs ?? [];
  }

  gaps(uuid: string): GapRow[] {
    return this.docs.get(uuid)?.doc.gaps ?? [];
  }
}

/** The cluster's scheduler lease (key `scheduler` in KV `<name>_leases`). */
export class SchedulerLease {
  private rev = 0;
  private renewedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  /** Times this node became the scheduler. */
  acquired = 0;

  constructor(
    private readonly res: ClusterResources,
    private readonly log: Logger,
  ) {}

  start(): void {
    const every = Math.max(500, Math.floor(this.res.cfg.leaseTtlMs / 3));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    void this.tick();
  }

  /** Held and renewed recently enough that no other node can have taken it. */
  get active(): boolean {
    return this.rev > 0 && Date.now() - this.renewedAt < this.res.cfg.leaseTtlMs * 0.75;
  }

  /** One round: renew what is held, or try to take it. Resolves when done (tests await it). */
  tick(): Promise<void> {
    if (this.ticking || this.stopped) return this.ticking ?? Promise.resolve();
    this.ticking = this.round().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private value(): string {
    return JSON.stringify({ owner: this.res.owner, node: this.res.nodeId, at: new Date().toISOString() });
  }

  private async round(): Promise<void> {
    const { leases } = this.res.buckets;
    if (this.rev > 0) {
      try {
        this.rev = await leases.update('scheduler', this.value(), this.rev, 5000);
        this.renewedAt = Date.now();
      } catch (e) {
        if ((e as { code?: number }).code === 10071 || !this.active) {
          this.log.warn({ err: (e as Error).message }, 'cluster: scheduler lease lost; scheduled runs stop on this node');
          this.rev = 0;
        }
      }
      return;
    }
    try {
      this.rev = await leases.create('scheduler', this.value());
      this.renewedAt = Date.now();
      this.acquired++;
      this.log.info({ node: this.res.nodeId }, 'cluster: this node runs the scheduled rule runs (scheduler lease taken)');
    } catch {
      // Held by another node (or unreachable).
    }
  }

  /** The current holder (this node's view; null when none). */
  async holder(): Promise<string | null> {
    try {
      const e = await this.res.buckets.leases.get('scheduler');
      return e && e.operation === 'PUT' ? e.json<{ owner: string }>().owner : null;
    } catch {
      return null;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    if (this.rev > 0) await this.res.buckets.leases.delete('scheduler', { previousSeq: this.rev }).catch(() => undefined);
    this.rev = 0;
  }
}

/**
 * The events of a scheduled window from every partition of the stream, each once, in time order:
 * by `event.ingested` (byIngested; the read stops past the window) or by @timestamp (read through
 * the last event stored when the run began). `wanted` drops events no current rule can use.
 * At most MAX_WINDOW_EVENTS kept: beyond, the run fails with a WindowReadError.
 */
export async function readStreamWindow(
  res: ClusterResources,
  start: number,
  end: number,
  byIngested: boolean,
  wanted: (ev: EventDoc) => boolean,
  numberTexts: NumberTextReader | null = null,
): Promise<EventDoc[]> {
  const through = await lastSequence(res);
  const out: (EventDoc & { seq: number })[] = [];
  const seen = new Set<string>();
  let tooMany = false;
  await scanStream(res, start - READ_SLACK_MS, through, (m) => {
    if (byIngested && m.storedAt > end + READ_SLACK_MS) return false;
    // A further copy of an event in another partition (a rule family keyed by another field).
    if (m.subject.endsWith('.k')) return;
    const d = decodeEvent(m.data);
    if (byIngested && (d.ingested < start || d.ingested > end)) return;
    const key = `${d.index}\u0000${d.id}`;
    if (seen.has(key)) return;
    let source: Record<string, unknown>;
    try {
      source = JSON.parse(d.src) as Record<string, unknown>;
    } catch {
      return;
    }
    setIngested(source, d.ingested);
    const ev: EventDoc & { seq: number } = { source, index: d.index, id: d.id, seq: m.seq };
    const t = stampEventTime(ev, '@timestamp');
    if (!t) return;
    if (!byIngested && (t.ms < start || t.ms > end)) return;
    if (!wanted(ev)) return;
    // A rule's timestamp_override numbers are read from the stored text (EventDoc.numberTexts).
    const texts = numberTexts?.(d.src, source);
    if (texts !== undefined) ev.numberTexts = texts;
    seen.add(key);
    out.push(ev);
    if (out.length > MAX_WINDOW_EVENTS) {
      tooMany = true;
      return false;
    }
  });
  if (tooMany) throw new WindowReadError(`the window ${new Date(start).toISOString()} – ${new Date(end).toISOString()} holds more than ${MAX_WINDOW_EVENTS} events a rule can use; the run is not made (shorten the rule's look-back or interval)`);
  out.sort((a, b) => a.time!.ms - b.time!.ms || a.time!.ns - b.time!.ns || a.seq - b.seq);
  return out;
}
