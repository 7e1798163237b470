// The cluster's resources on NATS JetStream, created by the first node that starts and checked by
// every other one:
//
//   stream  <name>_events        subjects <name>.ev.>  (file, limits retention, duplicate window)
//             <name>.ev.d.<p>.p  the event's first copy in partition p (some rule wants it)
//             <name>.ev.d.<p>.k  a further copy (a rule family keyed by another field)
//             <name>.ev.n.<p>    an event no rule wants (kept for searches)
//   KV      <name>_state         cluster settings (`cluster`), partition checkpoints (`ckpt.<p>`)
//   KV      <name>_leases        partition leases (`p.<p>`), TTL = lease_ttl
//   KV      <name>_members       live nodes (`m.<node>`), TTL = lease_ttl
//   KV      <name>_alerts        alerts by id, create-only
//   KV      <name>_alert_status  workflow status by alert id (history: the status history)
//   KV      <name>_rules         rule state shared by the nodes: enabled flags, imported rules and exception lists
//   KV      <name>_schedule      rule run state: last run, run history, gaps (scheduler.ts)
//   KV      <name>_budget        real-time max_signals budget per rule and interval (budget.ts), TTL 25 h
//
// Works on nats-server 2.9 (Debian 12): no stream subject transforms or multi-filter consumers
// are used; the client library refuses newer features on an older server by itself.
import { hostname } from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type StreamConfig, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { ClusterConfig, ServeConfig } from '../serve/config.js';
import { ConfigError } from '../serve/config.js';

export interface ClusterBuckets {
  state: KV;
  leases: KV;
  members: KV;
  alerts: KV;
  status: KV;
  rules: KV;
  schedule: KV;
  budget: KV;
}

export interface ClusterResources {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  cfg: ClusterConfig;
  /** This process: node id plus an incarnation, so a restarted node never mistakes old leases for its own. */
  owner: string;
  nodeId: string;
  stream: string;
  subjectPrefix: string;
  partitions: number;
  partitionKey: string;
  replicas: number;
  buckets: ClusterBuckets;
  /** Names of the buckets' streams (`KV_<bucket>`). */
  bucketStreams: Record<keyof ClusterBuckets, string>;
}

const ns = (ms: number) => ms * 1_000_000;

/** The settings fixed when the cluster is first started (kept in `<name>_state`, key `cluster`). */
interface ClusterMeta {
  partitions: number;
  partitionKey: string;
  created: string;
  createdBy: string;
}

export function defaultNodeId(config: ServeConfig): string {
  return `${hostname()}-${config.port}`;
}

/** A set-up failure worth another attempt (JetStream electing leaders, a server still starting, a timeout). */
class TransientSetupError extends ConfigError {}

/** How long a starting node keeps retrying transient set-up failures before it gives up. */
export const SETUP_RETRY_MS = 120_000;

/**
 * Connects and creates (or checks) the cluster's stream and buckets. Nodes usually start together
 * with (or before) their NATS servers: while the servers elect JetStream leaders, creating an R3
 * stream or bucket can time out or find too few peers. Those failures are retried with backoff for
 * up to `retryMs` (each logged); anything else — and a failure that lasts longer — ends start-up
 * with one line.
 */
export async function openCluster(config: ServeConfig, log: Logger, retryMs = SETUP_RETRY_MS): Promise<ClusterResources> {
  const end = Date.now() + retryMs;
  for (let attempt = 1, wait = 500; ; attempt++, wait = Math.min(wait * 2, 5000)) {
    try {
      return await openClusterOnce(config, log);
    } catch (e) {
      if (!(e instanceof TransientSetupError) || Date.now() + wait > end) {
        throw e instanceof TransientSetupError ? new ConfigError(`${e.message} (still failing after ${attempt} attempts over ${Math.round(retryMs / 1000)} s)`) : e;
      }
      log.warn({ attempt, err: e.message, retryInMs: wait }, 'cluster: JetStream set-up failed; retrying');
      await sleep(wait);
    }
  }
}

/** The error to end (or retry) start-up with: transient JetStream failures are marked so. */
function setupError(message: string, cause: unknown): ConfigError {
  return isTransient(cause) ? new TransientSetupError(message) : new ConfigError(message);
}

async function openClusterOnce(config: ServeConfig, log: Logger): Promise<ClusterResources> {
  const cfg = config.cluster!;
  const nodeId = cfg.nodeId || defaultNodeId(config);
  const owner = `${nodeId}#${Math.random().toString(36).slice(2, 8)}`;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: cfg.servers,
      name: `eqlite ${nodeId}`,
      token: cfg.token ?? undefined,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 10_000,
      pingInterval: 5000,
      maxPingOut: 3,
    });
  } catch (e) {
    // Not retried: an unreachable address is more often a typo than a server still starting.
    throw new ConfigError(`cannot connect to NATS at ${cfg.servers.join(', ')}: ${(e as Error).message}`);
  }
  try {
    const version = nc.info?.version ?? '0.0.0';
    const [maj, min] = version.split('.').map(Number);
    if (maj! < 2 || (maj === 2 && min! < 9)) throw new ConfigError(`nats-server ${version} is too old: eqlite needs 2.9 or later with JetStream`);
    if (!nc.info?.jetstream) throw new ConfigError(`nats-server ${nc.info?.server_name ?? ''} runs without JetStream: enable it (jetstream { store_dir: … }) on every server`);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const js = jetstream(nc, { timeout: 10_000 });
    const servers = new Set([...(nc.info?.connect_urls ?? []), `${nc.info?.host}:${nc.info?.port}`]).size;
    const replicas = cfg.replicas ?? (servers >= 3 ? 3 : 1);
    if (replicas > servers) log.warn({ replicas, servers }, `cluster: ${replicas} replicas asked on a NATS cluster of ${servers} server(s); JetStream will refuse to create the streams`);
    const name = cfg.name;
    const kvm = new Kvm(js);
    const bucket = async (suffix: string, opts: Partial<KvOptions>): Promise<KV> => {
      const b = `${name}_${suffix}`;
      try {
        return await kvm.create(b, { replicas, ...opts });
      } catch (e) {
        const m = (e as Error).message;
        if (/already in use|exists/i.test(m)) {
          log.warn({ bucket: b, err: m }, 'cluster: the bucket exists with other settings; using it as it is');
          return kvm.open(b);
        }
        throw setupError(`cannot create the JetStream bucket ${b}: ${m}`, e);
      }
    };
    const state = await bucket('state', { history: 1 });
    // The partition count and key are fixed at creation: every node must agree.
    const metaWanted: ClusterMeta = { partitions: cfg.partitions, partitionKey: cfg.partitionKey, created: new Date().toISOString(), createdBy: nodeId };
    let meta: ClusterMeta;
    try {
      await state.create('cluster', JSON.stringify(metaWanted));
      meta = metaWanted;
      log.info({ cluster: name, partitions: meta.partitions, partitionKey: meta.partitionKey, replicas }, 'cluster: created');
    } catch (createError) {
      const e = await state.get('cluster');
      // The create may have failed for want of a leader rather than because another node created the settings first.
      if (!e || e.operation !== 'PUT') throw setupError(`cluster ${name}: cannot read its settings from ${name}_state: ${(createError as Error).message}`, createError);
      meta = e.json<ClusterMeta>();
      if (config.cluster!.partitions !== meta.partitions && cfg.partitions !== 32) {
        log.warn({ configured: cfg.partitions, cluster: meta.partitions }, 'cluster: partitions is fixed when the cluster is created; using the cluster\'s');
      }
      if (cfg.partitionKey !== meta.partitionKey) {
        log.warn({ configured: cfg.partitionKey, cluster: meta.partitionKey }, 'cluster: partition_key is fixed when the cluster is created; using the cluster\'s');
      }
    }
    const stream = `${name}_events`;
    const sc: Partial<StreamConfig> & { name: string } = {
      name: stream,
      subjects: [`${name}.ev.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: replicas,
      max_age: ns(config.retention.maxAgeMs),
      max_bytes: config.retention.maxBytes > 0 ? config.retention.maxBytes : -1,
      duplicate_window: ns(Math.min(cfg.dedupeWindowMs, config.retention.maxAgeMs > 0 ? config.retention.maxAgeMs : Infinity)),
      description: 'eqlite events',
    };
    try {
      const info = await jsm.streams.info(stream);
      if (info.config.num_replicas !== replicas) log.warn({ stream, replicas: info.config.num_replicas, configured: replicas }, 'cluster: the event stream keeps its replica count (change it with `nats stream edit`)');
    } catch {
      try {
        await jsm.streams.add(sc);
      } catch (e) {
        const m = (e as Error).message;
        if (/insufficient storage/i.test(m)) {
          throw new ConfigError(`cannot create the JetStream stream ${stream}: ${m} — its size limit is [retention] max_size (${config.retention.maxBytes} bytes) on each of ${replicas} server(s); lower it or raise the servers' jetstream max_file_store`);
        }
        if (!/already in use/i.test(m)) throw setupError(`cannot create the JetStream stream ${stream} (${replicas} replicas): ${m}`, e);
      }
    }
    const leases = await bucket('leases', { history: 1, ttl: cfg.leaseTtlMs });
    const members = await bucket('members', { history: 1, ttl: cfg.leaseTtlMs });
    const alerts = await bucket('alerts', { history: 1, ttl: cfg.alertsMaxAgeMs, maxValueSize: -1 });
    const status = await bucket('alert_status', { history: 64, ttl: cfg.alertsMaxAgeMs });
    const rules = await bucket('rules', { history: 5 });
    const schedule = await bucket('schedule', { history: 1 });
    const budget = await bucket('budget', { history: 1, ttl: 25 * 3_600_000 });
    const buckets = { state, leases, members, alerts, status, rules, schedule, budget };
    const bucketStreams = Object.fromEntries(Object.entries({ state: 'state', leases: 'leases', members: 'members', alerts: 'alerts', status: 'alert_status', rules: 'rules', schedule: 'schedule', budget: 'budget' }).map(([k, v]) => [k, `KV_${name}_${v}`])) as Record<keyof ClusterBuckets, string>;
    return { nc, js, jsm, cfg, owner, nodeId, stream, subjectPrefix: name, partitions: meta.partitions, partitionKey: meta.partitionKey, replicas, buckets, bucketStreams };
  } catch (e) {
    await nc.close().catch(() => undefined);
    if (e instanceof ConfigError) throw e;
    throw setupError(`cluster: cannot set up JetStream: ${(e as Error).message}`, e);
  }
}

/**
 * Transient JetStream failures (leader election, a server down, a timeout): worth retrying. A
 * server just back is "offline" to the meta leader for a moment, so placing replicas on it fails
 * with "no suitable peers for placement, peer offline" until it is seen again.
 */
export function isTransient(e: unknown): boolean {
  const m = String((e as Error)?.message ?? e);
  const code = (e as { code?: unknown })?.code;
  if (code === 10071) return false;
  return /timeout|timed out|no responders|503|disconnect|closed|connection|not available|temporarily unavailable|not enabled|leader|insufficient|stream not found|no suitable peers|peer offline|TIMEOUT/i.test(m) || code === 503 || code === 'TIMEOUT';
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * consume() options of the cluster's long-lived ordered consumers (alert and status replicas,
 * partition readers). The client library (@nats-io/jetstream 3.4) notices a lost pull request —
 * its consumer was on a NATS server that was killed, or was re-created — only by two missed idle
 * heartbeats, by default half of `expires` (30 s) each, and retries a failing consumer look-up
 * once per `expires`: recovery took 30-90 s. A 1 s heartbeat and 5 s pulls bound that to seconds
 * (one small heartbeat message a second per idle consumer).
 */
export const ORDERED_CONSUME = { expires: 5000, idle_heartbeat: 1000 } as const;

/**
 * Ends `msgs` when the client library re-created its ordered consumer or missed its heartbeats, so
 * the caller creates a fresh consumer from its own position (each caller keeps it anyway). Why:
 * after re-creating the consumer (a server killed and back), the library pulls with a batch of 0
 * (its count of messages still owed by the old consumer is not cleared), so nothing is delivered
 * until heartbeats are missed and it pulls again; a status change then reached the other nodes'
 * replicas 45-90 s late (test/slow/cluster.test.ts failed so). A fresh consumer pulls properly.
 */
export function restartOnRecovery(msgs: ConsumerMessages, onRestart: (reason: string) => void): void {
  void (async () => {
    for await (const s of msgs.status()) {
      if (s.type === 'ordered_consumer_recreated' || s.type === 'heartbeats_missed') {
        onRestart(s.type);
        await msgs.close().catch(() => undefined);
        return;
      }
    }
  })().catch(() => undefined);
}
