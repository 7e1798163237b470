// A detection worker: holds leases on partitions of the event stream and runs a partition
// detector (src/serve/realtime.ts) on each.
//
// Leases live in KV `<name>_leases` (key `p.<p>`, value: the holder), whose TTL is lease_ttl:
//  * acquire = KV create (fails while another holder's key exists);
//  * renew   = KV update with the revision of the holder's last write (compare-and-set), every
//              lease_ttl / 3; a failed renewal means the lease expired or was taken: the
//              partition's detector stops at once;
//  * release = KV delete with the last revision (a worker shedding partitions for a newcomer).
// A worker that cannot renew (NATS unreachable) stops its detectors itself before its leases can
// expire. The lease decides who reads; the checkpoint's compare-and-set (jetstream-log.ts ack)
// decides whose progress counts: a worker paused past its lease is fenced by the new holder's
// claim, and the alerts it might still write are the same ids, created once.
//
// Fair share: workers heartbeat their key in KV `<name>_members` (same TTL); each aims at
// ceil(partitions / live members). A worker above its share releases partitions (one per
// round), and the others pick them up; a dead worker's leases expire and its partitions are
// taken by the survivors, whose share has grown.
import type { Logger } from 'pino';
import type { Alert } from '../detect/alerts.js';
import type { AlertLedger } from '../detect/engine.js';
import type { Rule } from '../rules/types.js';
import type { EventLog } from '../serve/event-log.js';
import { PartitionDetector, type DetectorRules, type DetectorStatus } from '../serve/realtime.js';
import { sleep, type ClusterResources } from './nats.js';
import type { Partitioner } from './partition.js';

export interface WorkerDeps {
  res: ClusterResources;
  log: EventLog;
  logger: Logger;
  sink: (group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled') => Promise<void>;
  ledger: AlertLedger;
  rules: () => { rules: DetectorRules; partitioner: Partitioner };
  onAlerts?: (group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled') => void;
  onLate?: (n: number) => void;
  onTakeover?: (partition: number) => void;
}

interface Held {
  partition: number;
  rev: number;
  renewedAt: number;
  detector: PartitionDetector;
  /** Set once the detector stopped by itself (fenced or failed): the lease is given up. */
  broken: boolean;
}

const b64 = (s: string) => Buffer.from(s).toString('base64url');

export class ClusterWorker {
  private readonly held = new Map<number, Held>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  private members = 1;
  private readonly ttl: number;
  private readonly memberKey: string;
  takeovers = 0;

  constructor(private readonly deps: WorkerDeps) {
    this.ttl = deps.res.cfg.leaseTtlMs;
    this.memberKey = `m.${b64(deps.res.owner)}`;
  }

  start(): void {
    const every = Math.max(500, Math.floor(this.ttl / 3));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    void this.tick();
  }

  /** Partitions held and their detectors' state. */
  status(): { owner: string; members: number; partitions: (DetectorStatus & { lease_renewed: string })[] } {
    return {
      owner: this.deps.res.owner,
      members: this.members,
      partitions: [...this.held.values()].sort((a, b) => a.partition - b.partition).map((h) => ({ ...h.detector.status(), lease_renewed: new Date(h.renewedAt).toISOString() })),
    };
  }

  get partitionsHeld(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  backlog(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.detector.backlog;
    return n;
  }

  /** A new rule generation: every detector restarts from its checkpoint with it. */
  async install(): Promise<void> {
    const { rules, partitioner } = this.deps.rules();
    await Promise.all([...this.held.values()].map((h) => h.detector.install(rules, partitioner.scope(h.partition)).catch((e: Error) => this.deps.logger.error({ partition: h.partition, err: e.message }, 'cluster: cannot restart a partition with the new rules'))));
  }

  private tick(): Promise<void> {
    if (this.ticking || this.stopped) return this.ticking ?? Promise.resolve();
    this.ticking = this.round()
      .catch((e: Error) => this.deps.logger.warn({ err: e.message }, 'cluster: lease round failed'))
      .finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async round(): Promise<void> {
    const { res, logger } = this.deps;
    const { leases, members } = res.buckets;
    const now = Date.now();
    // Membership (a failure keeps the last count).
    try {
      await members.put(this.memberKey, JSON.stringify({ owner: res.owner, node: res.nodeId, at: new Date(now).toISOString() }));
      let n = 0;
      for await (const _k of await members.keys()) n++;
      this.members = Math.max(1, n);
    } catch (e) {
      logger.debug({ err: (e as Error).message }, 'cluster: membership heartbeat failed');
    }
    // Renew what is held; give up what cannot be renewed or stopped by itself.
    for (const h of [...this.held.values()]) {
      if (this.stopped) return;
      if (h.broken) {
        await this.drop(h, true);
        continue;
      }
      try {
        h.rev = await leases.update(`p.${h.partition}`, this.leaseValue(), h.rev, 5000);
        h.renewedAt = Date.now();
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 10071 && (await this.stillMine(h))) continue;
        if (code === 10071) {
          logger.warn({ partition: h.partition }, 'cluster: lease lost (expired or taken over); stopping the partition');
          await this.drop(h, false);
        } else if (Date.now() - h.renewedAt > this.ttl * 0.75) {
          // Unreachable for most of a TTL: the lease may be gone; stop before another holder starts.
          logger.warn({ partition: h.partition, err: (e as Error).message }, 'cluster: cannot renew the lease; stopping the partition before it expires');
          await this.drop(h, false);
        }
      }
    }
    const share = Math.ceil(res.partitions / this.members);
    // Shed: one partition per round, so that the others can pick it up.
    if (this.held.size > share) {
      const h = [...this.held.values()].sort((a, b) => b.partition - a.partition)[0]!;
      logger.info({ partition: h.partition, share, members: this.members }, 'cluster: releasing a partition (above fair share)');
      await this.drop(h, true);
    }
    // Acquire free partitions up to the share, starting at a place that differs between workers.
    if (this.held.size < share) {
      const start = hashOwner(res.owner) % res.partitions;
      for (let k = 0; k < res.partitions && this.held.size < share && !this.stopped; k++) {
        const p = (start + k) % res.partitions;
        if (this.held.has(p)) continue;
        let rev: number;
        try {
          rev = await leases.create(`p.${p}`, this.leaseValue());
        } catch {
          continue; // held by another worker (or unreachable)
        }
        await this.startPartition(p, rev);
      }
    }
  }

  /**
   * A renewal refused for its revision: either the lease expired or was taken (the key holds
   * another owner, or nothing), or our own previous renewal landed after its answer was lost
   * (the key holds us at a newer revision): then we keep it.
   */
  private async stillMine(h: Held): Promise<boolean> {
    try {
      const e = await this.deps.res.buckets.leases.get(`p.${h.partition}`);
      if (!e || e.operation !== 'PUT' || e.json<{ owner: string }>().owner !== this.deps.res.owner) return false;
      h.rev = await this.deps.res.buckets.leases.update(`p.${h.partition}`, this.leaseValue(), e.revision);
      h.renewedAt = Date.now();
      return true;
    } catch {
      return false;
    }
  }

  private leaseValue(): string {
    return JSON.stringify({ owner: this.deps.res.owner, node: this.deps.res.nodeId, at: new Date().toISOString() });
  }

  private async startPartition(p: number, rev: number): Promise<void> {
    const { res, logger } = this.deps;
    const { rules, partitioner } = this.deps.rules();
    const h: Held = { partition: p, rev, renewedAt: Date.now(), broken: false, detector: null as unknown as PartitionDetector };
    h.detector = new PartitionDetector({
      reader: this.deps.log.reader(p),
      rules,
      scope: partitioner.scope(p),
      sink: this.deps.sink,
      ledger: this.deps.ledger,
      log: logger,
      reorderMs: res.cfg.reorderMs,
      checkpointEveryMs: res.cfg.checkpointEveryMs,
      maxReplayMs: res.cfg.maxReplayMs,
      // A partition never read before starts at the beginning of the stream.
      initialStart: () => ({ position: 1 }),
      onAlerts: this.deps.onAlerts,
      onLate: this.deps.onLate,
      onStopped: (reason) => {
        h.broken = true;
        logger.warn({ partition: p, reason }, 'cluster: partition detector stopped; giving the lease up');
      },
    });
    this.held.set(p, h);
    try {
      // Start-up must not hang with the lease held: a claim that takes longer than half a TTL gives it up.
      await Promise.race([h.detector.start(), sleep(this.ttl / 2).then(() => Promise.reject(new Error('claim timed out')))]);
      const st = h.detector.status();
      this.takeovers++;
      this.deps.onTakeover?.(p);
      logger.info({ partition: p, checkpoint: st.checkpoint?.position ?? 0 }, st.checkpoint ? 'cluster: partition taken over; rebuilding state from its checkpoint' : 'cluster: partition acquired (no checkpoint: reading from the start)');
    } catch (e) {
      logger.warn({ partition: p, err: (e as Error).message }, 'cluster: cannot start the partition; releasing it');
      await this.drop(h, true);
    }
  }

  /** Stops a partition's detector; `release`: delete the lease too (otherwise it expires). */
  private async drop(h: Held, release: boolean): Promise<void> {
    this.held.delete(h.partition);
    await h.detector.stop().catch(() => undefined);
    if (release) await this.deps.res.buckets.leases.delete(`p.${h.partition}`, { previousSeq: h.rev }).catch(() => undefined);
  }

  /** Stops every detector (acknowledging what is done) and releases the leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    await Promise.all([...this.held.values()].map((h) => this.drop(h, true)));
    await this.deps.res.buckets.members.delete(this.memberKey).catch(() => undefined);
  }
}

function hashOwner(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) >>> 0;
  return h;
}
