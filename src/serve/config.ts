// `eqlite serve` settings: defaults, the TOML config file (`--config FILE`) for everything beyond
// the flags, and the flags themselves (which win). Every bad value is one clear error naming the
// file and the key.
import { isIP } from 'node:net';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { RuleSelection } from '../rules/select.js';
import { setOwn } from '../util/own.js';
import { readFileCapped } from '../util/files.js';

export interface WebhookConfig {
  /** Name in logs and metrics (default: the URL's host). */
  name: string;
  url: string;
  /** rule_ids this webhook is for; empty = every rule. */
  rules: string[];
  minSeverity: 'low' | 'medium' | 'high' | 'critical';
  headers: Record<string, string>;
  /** Also send building-block alerts (default false, as Kibana's actions). */
  buildingBlocks: boolean;
  maxAttempts: number;
  timeoutMs: number;
}

/** `eqlite serve --cluster`: the node's part in a cluster on NATS JetStream (src/cluster). */
export interface ClusterConfig {
  /** NATS server URLs (nats://host:4222; user:password@ in the URL for authentication). */
  servers: string[];
  /** Name of the cluster: prefix of its streams, key-value buckets and subjects. */
  name: string;
  /** What this node does: accept `_bulk` (ingest), run detection on partitions (detect). The API is served by every node. */
  roles: { ingest: boolean; detect: boolean };
  /** This node's name in leases, logs and the status API (default: host name and port). */
  nodeId: string;
  /** Replicas of every stream and bucket; null: 3 when the NATS cluster has 3 or more servers, else 1. */
  replicas: number | null;
  /** Partitions of the event stream (fixed when the cluster is first started). */
  partitions: number;
  /** The join key events are partitioned by first (fixed when the cluster is first started). */
  partitionKey: string;
  leaseTtlMs: number;
  checkpointEveryMs: number;
  /** JetStream's duplicate window: a publish retried within it is stored once. */
  dedupeWindowMs: number;
  /** Hold before events are pushed in time order (events from several ingest nodes interleave). */
  reorderMs: number;
  /** Longest state span replayed after a takeover. */
  maxReplayMs: number;
  /** How long a bulk request waits for JetStream's acknowledgements before it is refused (503). */
  publishTimeoutMs: number;
  /** Alerts are kept this long (0: forever). */
  alertsMaxAgeMs: number;
  /** NATS token authentication (user and password go in the server URLs). */
  token: string | null;
}

export interface ServeConfig {
  data: string;
  host: string;
  port: number;
  /** Rule files and directories; empty = the bundled rules. */
  rules: string[];
  /** Which of the file rules run (hunt's selection options); imported rules always do. */
  selection: RuleSelection;
  valueLists: string[];
  /** Index mapping file (`--mapping`, `mapping = "…"`): rules are verified and typed against it. */
  mapping: string | null;
  tls: { cert: string; key: string } | null;
  retention: { maxAgeMs: number; maxBytes: number; everyMs: number };
  ingest: {
    /** Largest request body, decompressed (413 beyond). */
    maxBodyBytes: number;
    /** Events accepted but not yet committed, or not yet through detection, beyond which bulk requests get 429. */
    maxPendingEvents: number;
    /** A larger body is parsed and stored in parts of about this many bytes (no file setting: tests make it small). */
    partBytes: number;
    /**
     * Kernel receive buffer of every accepted connection (0: the kernel's default and tuning), so
     * that a whole bulk request is queued however busy the main thread is (receive-buffer.ts).
     */
    receiveBufferBytes: number;
  };
  elasticsearch: { version: string; clusterName: string };
  detection: {
    /** Run rules as events arrive, besides the schedule. */
    realtime: boolean;
    /** How long after its end a window may still receive late events before it is final. */
    latenessMs: number;
    /**
     * Real time: how long committed events are held to be put in time order before the rules see
     * them (events later than that are repaired, see realtime.ts). Longer absorbs more disorder
     * between shippers; it adds to every real-time alert's latency.
     */
    reorderMs: number;
    /** Largest number of missed intervals a rule catches up on after downtime (Kibana: 4× interval… see README). */
    maxCatchupRuns: number;
    /** Events a real-time repair run reads and holds at once (its windows are read in time order, a page at a time). */
    repairPage: number;
    /** Scheduler tick. */
    tickMs: number;
  };
  webhooks: WebhookConfig[];
  /** First webhook retry delay (doubled per attempt). */
  webhookRetryBaseMs: number;
  auth: { required: boolean };
  log: { level: string; file: string | null };
  /** Null: single node (the default). */
  cluster: ClusterConfig | null;
}

export const DEFAULT_LISTEN = '127.0.0.1:9200';
/** Longest real-time reorder hold accepted (the held events are kept in memory). */
export const MAX_REORDER_MS = 60_000;
export const DEFAULT_DATA = './eqlite-data';

export function defaultConfig(): ServeConfig {
  return {
    data: DEFAULT_DATA,
    host: '127.0.0.1',
    port: 9200,
    rules: [],
    selection: {},
    valueLists: [],
    mapping: null,
    tls: null,
    retention: { maxAgeMs: 7 * 86_400_000, maxBytes: 10 * 1024 ** 3, everyMs: 5000 },
    ingest: { maxBodyBytes: 100 * 1024 * 1024, maxPendingEvents: 500_000, partBytes: 16 * 1024 * 1024, receiveBufferBytes: 8 * 1024 * 1024 },
    elasticsearch: { version: '8.19.0', clusterName: 'eqlite' },
    detection: { realtime: true, latenessMs: 30_000, reorderMs: 250, maxCatchupRuns: 100, repairPage: 2_000, tickMs: 1000 },
    webhooks: [],
    webhookRetryBaseMs: 1000,
    auth: { required: false },
    log: { level: 'info', file: null },
    cluster: null,
  };
}

export function defaultClusterConfig(servers: string[] = ['nats://127.0.0.1:4222']): ClusterConfig {
  return {
    servers,
    name: 'eqlite',
    roles: { ingest: true, detect: true },
    nodeId: '',
    replicas: null,
    partitions: 32,
    partitionKey: 'host.id',
    leaseTtlMs: 15_000,
    checkpointEveryMs: 1000,
    dedupeWindowMs: 10 * 60_000,
    reorderMs: 1000,
    maxReplayMs: 3_600_000,
    publishTimeoutMs: 10_000,
    alertsMaxAgeMs: 0,
    token: null,
  };
}

/** `nats://a:4222,nats://b:4222` or a list: each must be a nats:// (or tls://) URL or host:port. */
export function parseServers(v: unknown, where: string): string[] {
  const list = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : null;
  if (!list || list.length === 0) throw new ConfigError(`${where}: expected NATS server URLs such as nats://127.0.0.1:4222`);
  return list.map((x) => {
    if (typeof x !== 'string' || x.trim() === '') throw new ConfigError(`${where}: expected NATS server URLs such as nats://127.0.0.1:4222`);
    const u = x.trim();
    if (/^(nats|tls|ws|wss):\/\//.test(u)) return u;
    if (/^[A-Za-z0-9.[\]:-]+:\d+$/.test(u)) return `nats://${u}`;
    throw new ConfigError(`${where}: invalid NATS server URL ${JSON.stringify(u)}: expected nats://HOST:PORT`);
  });
}

/** The roles list: ingest, detect (or "all"). */
export function parseRoles(v: unknown, where: string): ClusterConfig['roles'] {
  const list = strList(v, where).flatMap((x) => x.split(',')).map((x) => x.trim());
  const roles = { ingest: false, detect: false };
  for (const r of list) {
    if (r === 'all') roles.ingest = roles.detect = true;
    else if (r === 'ingest' || r === 'detect') roles[r] = true;
    else throw new ConfigError(`${where}: unknown role "${r}" (known: ingest, detect, all)`);
  }
  if (!roles.ingest && !roles.detect) throw new ConfigError(`${where}: give at least one role (ingest, detect)`);
  return roles;
}

function parseClusterTable(t: Table, where: string, base: ClusterConfig | null): ClusterConfig {
  checkKeys(
    t,
    ['servers', 'name', 'roles', 'node_id', 'replicas', 'partitions', 'partition_key', 'lease_ttl', 'checkpoint_every', 'dedupe_window', 'reorder', 'max_replay', 'publish_timeout', 'alerts_max_age', 'token'],
    where,
  );
  const c = base ? structuredClone(base) : defaultClusterConfig();
  const at = (k: string) => `${where}.${k}`;
  if (t.servers !== undefined) c.servers = parseServers(t.servers, at('servers'));
  if (t.name !== undefined) {
    const n = str(t.name, at('name'));
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(n)) throw new ConfigError(`${at('name')}: expected 1 to 32 letters, digits, '-' or '_'`);
    c.name = n;
  }
  if (t.roles !== undefined) c.roles = parseRoles(t.roles, at('roles'));
  if (t.node_id !== undefined) c.nodeId = str(t.node_id, at('node_id'));
  if (t.replicas !== undefined) {
    const r = posInt(t.replicas, at('replicas'));
    if (r > 5) throw new ConfigError(`${at('replicas')}: JetStream keeps 1 to 5 replicas`);
    c.replicas = r;
  }
  if (t.partitions !== undefined) {
    const p = posInt(t.partitions, at('partitions'));
    if (p > 4096) throw new ConfigError(`${at('partitions')}: at most 4096`);
    c.partitions = p;
  }
  if (t.partition_key !== undefined) c.partitionKey = str(t.partition_key, at('partition_key'));
  const dur = (k: string, min: number) => Math.max(min, parseDuration(t[k], at(k)));
  if (t.lease_ttl !== undefined) c.leaseTtlMs = dur('lease_ttl', 3000);
  if (t.checkpoint_every !== undefined) c.checkpointEveryMs = dur('checkpoint_every', 100);
  if (t.dedupe_window !== undefined) c.dedupeWindowMs = dur('dedupe_window', 1000);
  if (t.reorder !== undefined) c.reorderMs = parseDuration(t.reorder, at('reorder'));
  if (t.max_replay !== undefined) c.maxReplayMs = dur('max_replay', 1000);
  if (t.publish_timeout !== undefined) c.publishTimeoutMs = dur('publish_timeout', 500);
  if (t.alerts_max_age !== undefined) c.alertsMaxAgeMs = parseDuration(t.alerts_max_age, at('alerts_max_age'));
  if (t.token !== undefined) c.token = str(t.token, at('token'));
  return c;
}

/** A configuration problem: printed as one line, exit code 2. */
export class ConfigError extends Error {}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `500ms`, `30s`, `5m`, `12h`, `7d`, `2w`; `0` means none. */
export function parseDuration(v: unknown, where: string): number {
  if (v === 0 || v === '0') return 0;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(v) : null;
  if (!m) throw new ConfigError(`${where}: invalid duration ${JSON.stringify(v)}: expected a number with ms, s, m, h, d or w (e.g. 30s, 7d)`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
}

const SIZE_UNITS: Record<string, number> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4,
};

/** `512MB`, `10GiB`, `100mb`, a plain number of bytes; `0` means none. */
export function parseSize(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v) : null;
  const unit = m ? (m[2]!.toLowerCase() || 'b') : '';
  if (!m || SIZE_UNITS[unit] === undefined) throw new ConfigError(`${where}: invalid size ${JSON.stringify(v)}: expected a number with B, KB, MB, GB, KiB, MiB or GiB (e.g. 10GB)`);
  return Math.floor(Number(m[1]) * SIZE_UNITS[unit]!);
}

/** `host:port`, `:port`, `port`, `[::1]:9200`. */
export function parseListen(v: string, where = '--listen'): { host: string; port: number } {
  const s = v.trim();
  let host = '127.0.0.1';
  let portText = s;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else if (s.includes(':')) {
    const i = s.lastIndexOf(':');
    host = s.slice(0, i) || '127.0.0.1';
    portText = s.slice(i + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 0 || port > 65535) throw new ConfigError(`${where}: invalid address ${JSON.stringify(v)}: expected HOST:PORT such as 127.0.0.1:9200`);
  if (host !== 'localhost' && isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host)) throw new ConfigError(`${where}: invalid host ${JSON.stringify(host)}`);
  return { host, port };
}

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

type Table = Record<string, unknown>;

function table(v: unknown, where: string): Table {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${where}: expected a table`);
  return v as Table;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new ConfigError(`${where}: expected a string`);
  return v;
}

function strList(v: unknown, where: string): string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ConfigError(`${where}: expected a list of strings`);
  return v as string[];
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(`${where}: expected true or false`);
  return v;
}

function posInt(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConfigError(`${where}: expected a positive integer`);
  return v;
}

function checkKeys(t: Table, allowed: string[], where: string): void {
  for (const k of Object.keys(t)) {
    if (!allowed.includes(k)) throw new ConfigError(`${where}: unknown key "${k}" (known: ${allowed.join(', ')})`);
  }
}

/** Reads a TOML config file onto `base`. */
export function loadConfigFile(file: string, base: ServeConfig = defaultConfig()): ServeConfig {
  let text: string;
  try {
    text = readFileCapped(file).toString('utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (e) {
    if (e instanceof TomlError) throw new ConfigError(`${file}:${e.line}:${e.column}: ${e.message.split('\n')[0]}`);
    throw new ConfigError(`${file}: ${(e as Error).message}`);
  }
  const c = structuredClone(base);
  const at = (k: string) => `${file}: ${k}`;
  checkKeys(doc, ['data', 'listen', 'rules', 'value_lists', 'mapping', 'tls', 'retention', 'ingest', 'elasticsearch', 'detection', 'webhooks', 'auth', 'log', 'cluster'], file);
  if (doc.data !== undefined) c.data = str(doc.data, at('data'));
  if (doc.listen !== undefined) Object.assign(c, parseListen(str(doc.listen, at('listen')), at('listen')));
  if (doc.rules !== undefined) c.rules = strList(doc.rules, at('rules'));
  if (doc.value_lists !== undefined) c.valueLists = strList(doc.value_lists, at('value_lists'));
  if (doc.mapping !== undefined) c.mapping = str(doc.mapping, at('mapping'));
  const tls = table(doc.tls, at('tls'));
  checkKeys(tls, ['cert', 'key'], at('tls'));
  if (tls.cert !== undefined || tls.key !== undefined) {
    if (tls.cert === undefined || tls.key === undefined) throw new ConfigError(`${at('tls')}: needs both cert and key`);
    c.tls = { cert: str(tls.cert, at('tls.cert')), key: str(tls.key, at('tls.key')) };
  }
  const ret = table(doc.retention, at('retention'));
  checkKeys(ret, ['max_age', 'max_size', 'check_every'], at('retention'));
  if (ret.max_age !== undefined) c.retention.maxAgeMs = parseDuration(ret.max_age, at('retention.max_age'));
  if (ret.max_size !== undefined) c.retention.maxBytes = parseSize(ret.max_size, at('retention.max_size'));
  if (ret.check_every !== undefined) c.retention.everyMs = Math.max(100, parseDuration(ret.check_every, at('retention.check_every')));
  const ing = table(doc.ingest, at('ingest'));
  checkKeys(ing, ['max_body', 'max_pending_events', 'receive_buffer'], at('ingest'));
  if (ing.max_body !== undefined) c.ingest.maxBodyBytes = parseSize(ing.max_body, at('ingest.max_body'));
  if (ing.max_pending_events !== undefined) c.ingest.maxPendingEvents = posInt(ing.max_pending_events, at('ingest.max_pending_events'));
  if (ing.receive_buffer !== undefined) c.ingest.receiveBufferBytes = parseSize(ing.receive_buffer, at('ingest.receive_buffer'));
  const es = table(doc.elasticsearch, at('elasticsearch'));
  checkKeys(es, ['version', 'cluster_name'], at('elasticsearch'));
  if (es.version !== undefined) {
    const v = str(es.version, at('elasticsearch.version'));
    if (!/^\d+\.\d+\.\d+$/.test(v)) throw new ConfigError(`${at('elasticsearch.version')}: expected MAJOR.MINOR.PATCH such as 8.19.0`);
    c.elasticsearch.version = v;
  }
  if (es.cluster_name !== undefined) c.elasticsearch.clusterName = str(es.cluster_name, at('elasticsearch.cluster_name'));
  const det = table(doc.detection, at('detection'));
  checkKeys(det, ['realtime', 'lateness', 'reorder', 'max_catchup_runs', 'repair_page', 'tick'], at('detection'));
  if (det.realtime !== undefined) c.detection.realtime = bool(det.realtime, at('detection.realtime'));
  if (det.lateness !== undefined) c.detection.latenessMs = parseDuration(det.lateness, at('detection.lateness'));
  if (det.reorder !== undefined) {
    const ms = parseDuration(det.reorder, at('detection.reorder'));
    if (ms > MAX_REORDER_MS) throw new ConfigError(`${at('detection.reorder')}: at most ${MAX_REORDER_MS / 1000}s (events are held in memory that long; later ones are repaired)`);
    c.detection.reorderMs = ms;
  }
  if (det.max_catchup_runs !== undefined) c.detection.maxCatchupRuns = posInt(det.max_catchup_runs, at('detection.max_catchup_runs'));
  if (det.repair_page !== undefined) c.detection.repairPage = posInt(det.repair_page, at('detection.repair_page'));
  if (det.tick !== undefined) c.detection.tickMs = Math.max(50, parseDuration(det.tick, at('detection.tick')));
  if (doc.webhooks !== undefined) {
    if (!Array.isArray(doc.webhooks)) throw new ConfigError(`${at('webhooks')}: expected [[webhooks]] tables`);
    c.webhooks = doc.webhooks.map((w, i) => parseWebhook(w, `${file}: webhooks[${i}]`));
  }
  const auth = table(doc.auth, at('auth'));
  checkKeys(auth, ['required'], at('auth'));
  if (auth.required !== undefined) c.auth.required = bool(auth.required, at('auth.required'));
  const log = table(doc.log, at('log'));
  checkKeys(log, ['level', 'file'], at('log'));
  if (log.level !== undefined) {
    const l = str(log.level, at('log.level'));
    if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(l)) throw new ConfigError(`${at('log.level')}: expected fatal, error, warn, info, debug, trace or silent`);
    c.log.level = l;
  }
  if (log.file !== undefined) c.log.file = str(log.file, at('log.file'));
  if (doc.cluster !== undefined) c.cluster = parseClusterTable(table(doc.cluster, at('cluster')), at('cluster'), c.cluster);
  return c;
}

function parseWebhook(v: unknown, where: string): WebhookConfig {
  const t = table(v, where);
  checkKeys(t, ['name', 'url', 'rules', 'min_severity', 'headers', 'building_blocks', 'max_attempts', 'timeout'], where);
  const url = str(t.url, `${where}.url`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${where}.url: not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${where}.url: expected an http or https URL`);
  const headers: Record<string, string> = {};
  const h = table(t.headers, `${where}.headers`);
  for (const k of Object.keys(h)) setOwn(headers, k, str(h[k], `${where}.headers.${k}`));
  const sev = t.min_severity === undefined ? 'low' : str(t.min_severity, `${where}.min_severity`);
  if (!(SEVERITIES as readonly string[]).includes(sev)) throw new ConfigError(`${where}.min_severity: expected low, medium, high or critical`);
  return {
    name: t.name === undefined ? parsed.host : str(t.name, `${where}.name`),
    url,
    rules: t.rules === undefined ? [] : strList(t.rules, `${where}.rules`),
    minSeverity: sev as WebhookConfig['minSeverity'],
    headers,
    buildingBlocks: t.building_blocks === undefined ? false : bool(t.building_blocks, `${where}.building_blocks`),
    maxAttempts: t.max_attempts === undefined ? 10 : posInt(t.max_attempts, `${where}.max_attempts`),
    timeoutMs: t.timeout === undefined ? 10_000 : parseDuration(t.timeout, `${where}.timeout`),
  };
}
