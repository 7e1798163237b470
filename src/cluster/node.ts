// One node of `eqlite serve --cluster`: the parts a Service runs instead of its single-node
// event store and detection (src/serve/service.ts wires them in).
//
//   _bulk ──▶ JetStreamEventLog.sink ──▶ stream <name>_events (partitioned; acked, then answered)
//                                              │
//   ClusterWorker (role detect) ── leases ─────┤ one PartitionDetector per partition held
//                                              ▼
//   ClusterAlerts.write ──▶ KV <name>_alerts (create-only: written once) ──▶ every node's replica
//                                                                           (<data>/alerts.sqlite)
//   RuleSet changes (enable/disable, imports) ──▶ KV <name>_rules ──▶ every node's RuleSet
//   Scheduled runs (scheduler.ts): the scheduler lease holder reads every partition per window;
//   rule run state ──▶ KV <name>_schedule ──▶ every node's mirror (GET /api/rules)
//
// Every node serves the API and the UI from its replica, so an alert is readable from any node.
import type { Logger } from 'pino';
import type { RuleGeneration, RuleSet, RuleStateRow } from '../serve/rules.js';
import { lastIngested, type ServedAlerts } from '../serve/alerts.js';
import type { Metrics } from '../serve/metrics.js';
import type { DetectorRules } from '../serve/realtime.js';
import type { Alert } from '../detect/alerts.js';
import type { Rule } from '../rules/types.js';
import type { ClusterScheduling } from '../serve/detection.js';
import { ClusterAlerts } from './alerts.js';
import { RealtimeBudget } from './budget.js';
import { JetStreamEventLog } from './jetstream-log.js';
import { ClusterScheduleStore, readStreamWindow, SchedulerLease } from './scheduler.js';
import { scanClusterEvents } from './search.js';
import type { ClusterEventScan } from '../serve/es-search.js';
import { isTransient, sleep, type ClusterResources } from './nats.js';
import { Partitioner } from './partition.js';
import { ClusterWorker } from './worker.js';

export interface ClusterNodeDeps {
  res: ClusterResources;
  rules: RuleSet;
  alerts: ServedAlerts;
  metrics: Metrics;
  log: Logger;
  /** Real-time detection on this node's partitions (false: `--no-realtime`, scheduled runs only). */
  realtime: boolean;
}

export interface ClusterStatus {
  cluster: string;
  node: string;
  owner: string;
  roles: string[];
  servers: string[];
  connected_server: string | null;
  replicas: number;
  partitions: number;
  partition_key: string;
  rules: { event: number; global: number; families: Record<string, number> };
  worker: ReturnType<ClusterWorker['status']> | null;
  takeovers: number;
  publish_retries: number;
  alerts: { created: number; existed: number; retries: number };
  /** Scheduled runs: whether this node holds the scheduler lease, and who does. */
  scheduler: { active: boolean; holder: string | null; acquired: number };
  /** Real-time alert groups refused by the cluster-wide max_signals budget. */
  realtime_budget: { refused: number; unchecked: number };
}

export class ClusterNode {
  readonly eventLog: JetStreamEventLog;
  readonly alerts: ClusterAlerts;
  readonly worker: ClusterWorker | null;
  readonly schedule: ClusterScheduleStore;
  readonly scheduler: SchedulerLease | null;
  readonly budget: RealtimeBudget;
  private holder: string | null = null;
  private partitioner: { gen: number; p: Partitioner } | null = null;
  private readonly abort = new AbortController();
  private rulesWatch: Promise<void> | null = null;
  private counts = { publishRetries: 0, created: 0, existed: 0, alertRetries: 0 };

  constructor(readonly deps: ClusterNodeDeps) {
    const { res, log } = deps;
    this.eventLog = new JetStreamEventLog(res, log, {
      partitionsOf: (ev, gen) => this.partitionsOf(ev, gen),
      onRetry: () => this.counts.publishRetries++,
    });
    this.alerts = new ClusterAlerts(res, deps.alerts, log, {
      onWrite: (created, existed) => {
        this.counts.created += created;
        this.counts.existed += existed;
      },
      onRetry: () => this.counts.alertRetries++,
    });
    this.schedule = new ClusterScheduleStore(res.buckets.schedule, log);
    this.scheduler = res.cfg.roles.detect ? new SchedulerLease(res, log) : null;
    this.budget = new RealtimeBudget(res.buckets.budget, log);
    this.worker =
      res.cfg.roles.detect && deps.realtime
      ? new ClusterWorker({
          res,
          log: this.eventLog,
          logger: log,
          sink: async (group, rule, mode) => {
            // max_signals per rule and interval across every partition (budget.ts).
            if (!(await this.budget.take(rule, String(group[group.length - 1]!['kibana.alert.uuid'])))) return;
            await this.alerts.write(group, rule, mode);
            // Ingest (the event's acknowledgement) to alert stored, as single-node real time measures it.
            const t = lastIngested(group);
            if (t !== null) deps.metrics.realtimeLatency.observe(Math.max(0, Date.now() - t) / 1000);
          },
          ledger: this.alerts.ledger,
          rules: () => this.detectorRules(),
          onAlerts: (group, rule, mode) => deps.metrics.alertsWritten.inc({ severity: rule.severity, mode }, group.length),
        })
      : null;
  }

  /** The partitioning of the current rule generation (rebuilt when the generation changes). */
  private current(): Partitioner {
    const g = this.deps.rules.current;
    if (!this.partitioner || this.partitioner.gen !== g.gen) {
      this.partitioner = { gen: g.gen, p: new Partitioner(g.stream, this.deps.res.partitions, this.deps.res.partitionKey) };
    }
    return this.partitioner.p;
  }

  /** Partitions of one event (ingest): the rules of the current generation that want it, partitioned. */
  private partitionsOf(ev: { source: Record<string, unknown>; index: string; id: string }, _gen: number): number[] {
    const g = this.deps.rules.current;
    const routes = g.router.route(ev);
    return this.current().partitionsOf(ev, routes);
  }

  private detectorRules(): { rules: DetectorRules; partitioner: Partitioner } {
    const g: RuleGeneration = this.deps.rules.current;
    return { rules: { gen: g.gen, prepared: g.prepared, stream: g.stream, router: g.router }, partitioner: this.current() };
  }

  /** What the scheduled runs of this node use (src/serve/detection.ts). */
  scheduling(): ClusterScheduling {
    return {
      store: this.schedule,
      readWindow: (start, end, byIngested) => {
        const g = this.deps.rules.current;
        return readStreamWindow(this.deps.res, start, end, byIngested, (ev) => g.router.route(ev).length > 0, g.numberTexts);
      },
      active: () => this.scheduler?.active ?? false,
      sink: (group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled') => this.alerts.write(group, rule, mode),
      ledger: this.alerts.ledger,
    };
  }

  /** How `_eql/search` and `_count` read events on this node: the cluster's stream (search.ts). */
  eventSearch(): ClusterEventScan {
    return (match, limit, onEvent, opts) => scanClusterEvents(this.deps.res, match, limit, onEvent, opts);
  }

  /** Starts the alert replica (caught up before the node answers), the worker and the rule-state sync. */
  async start(): Promise<void> {
    await this.syncRulesOnce();
    await this.alerts.startReplica();
    await this.schedule.start();
    this.rulesWatch = this.watchRules();
    this.worker?.start();
    this.scheduler?.start();
    const p = this.current();
    this.deps.log.info(
      { cluster: this.deps.res.cfg.name, node: this.deps.res.nodeId, roles: this.roles(), partitions: this.deps.res.partitions, rules: p.summary },
      'cluster: node started',
    );
  }

  /** A new rule generation on this node: detectors restart from their checkpoints with it. */
  onRules(): void {
    void this.worker?.install();
  }

  /** Rule state this node changed: shared with every other node. */
  persistRules(rows: readonly RuleStateRow[]): void {
    const kv = this.deps.res.buckets.rules;
    void (async () => {
      for (const r of rows) {
        const key = `${r.table}.${Buffer.from(r.key).toString('base64url')}`;
        for (let attempt = 0; ; attempt++) {
          try {
            await kv.put(key, JSON.stringify(r));
            break;
          } catch (e) {
            if (!isTransient(e) || attempt > 20) {
              this.deps.log.error({ key: r.key, err: (e as Error).message }, 'cluster: cannot share a rule change with the other nodes');
              break;
            }
            await sleep(Math.min(2000, 100 * 2 ** attempt));
          }
        }
      }
    })();
  }

  /** Applies every shared rule-state row once (at start, before detection begins). */
  private async syncRulesOnce(): Promise<void> {
    const kv = this.deps.res.buckets.rules;
    const rows: RuleStateRow[] = [];
    for await (const k of await kv.keys()) {
      const e = await kv.get(k);
      if (e && e.operation === 'PUT') rows.push(e.json<RuleStateRow>());
    }
    if (rows.length > 0) this.deps.rules.applyRemote(rows);
  }

  /** Follows changes of the shared rule state (another node's enable/disable or import). */
  private async watchRules(): Promise<void> {
    const kv = this.deps.res.buckets.rules;
    while (!this.abort.signal.aborted) {
      try {
        // Current values first, then updates: nothing changed since syncRulesOnce() is missed
        // (rows already applied are recognised and skipped).
        const w = await kv.watch();
        const onAbort = () => w.stop();
        this.abort.signal.addEventListener('abort', onAbort, { once: true });
        try {
          for await (const e of w) {
            if (e.operation !== 'PUT') continue;
            try {
              this.deps.rules.applyRemote([e.json<RuleStateRow>()]);
            } catch (err) {
              this.deps.log.warn({ key: e.key, err: (err as Error).message }, 'cluster: a shared rule change could not be applied');
            }
          }
        } finally {
          this.abort.signal.removeEventListener('abort', onAbort);
        }
      } catch (e) {
        if (this.abort.signal.aborted) return;
        this.deps.log.warn({ err: (e as Error).message }, 'cluster: watching the shared rule state failed; retrying');
      }
      await sleep(1000);
    }
  }

  backlog(): number {
    return this.worker?.backlog() ?? 0;
  }

  private roles(): string[] {
    const r = this.deps.res.cfg.roles;
    return [...(r.ingest ? ['ingest'] : []), ...(r.detect ? ['detect'] : [])];
  }

  /** The scheduler lease's holder, refreshed for the status API. */
  async refreshStatus(): Promise<void> {
    this.holder = (await this.scheduler?.holder()) ?? null;
  }

  status(): ClusterStatus {
    const { res } = this.deps;
    return {
      cluster: res.cfg.name,
      node: res.nodeId,
      owner: res.owner,
      roles: this.roles(),
      servers: res.cfg.servers,
      connected_server: res.nc.getServer?.() ?? null,
      replicas: res.replicas,
      partitions: res.partitions,
      partition_key: res.partitionKey,
      rules: this.current().summary,
      worker: this.worker?.status() ?? null,
      takeovers: this.worker?.takeovers ?? 0,
      publish_retries: this.counts.publishRetries,
      alerts: { created: this.counts.created, existed: this.counts.existed, retries: this.counts.alertRetries },
      scheduler: { active: this.scheduler?.active ?? false, holder: this.holder, acquired: this.scheduler?.acquired ?? 0 },
      realtime_budget: { refused: this.budget.refused, unchecked: this.budget.unchecked },
    };
  }

  /** Stops detection (acknowledging what is done, releasing leases), the replica, and the connection. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.scheduler?.stop();
    await this.worker?.stop();
    await this.schedule.stop();
    await this.alerts.stop();
    await this.rulesWatch?.catch(() => undefined);
    await this.deps.res.nc.drain().catch(() => this.deps.res.nc.close());
  }
}
