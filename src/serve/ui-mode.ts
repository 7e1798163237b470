// `eqlite ui alerts.db`: the web UI and the alerts API over a `hunt --db` store, with nothing
// ingested and nothing run. It is the service's HTTP app (Service.createApp: the same
// authentication, errors and routes) with the parts that need a data directory left out: the
// alerts API reads the given store, triage (workflow status) is written beside its alerts, and the
// rules are those the store's alerts were made by, rebuilt from the rule parameters each alert
// carries. Alerts another process adds (a later `hunt --db` into the same file) appear live.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { AlertFeed } from './alert-feed.js';
import { AlertQueries } from './alert-query.js';
import { ServedAlerts } from './alerts.js';
import { registerApi, type RuleCatalog } from './api.js';
import { CredentialStore } from './auth.js';
import { defaultConfig } from './config.js';
import { EsError, sendJson } from './http.js';
import { Metrics } from './metrics.js';
import { parseExport, type ServedRule } from './rules.js';
import { Service } from './service.js';
import { Sessions } from './sessions.js';
import { registerUi } from './ui.js';

export interface AlertBrowserOptions {
  /** The alert store (`hunt --db FILE`). */
  file: string;
  host: string;
  port: number;
  pathPrefix?: string;
  log?: Logger;
}

/** Why a file cannot be opened as an alert store, or null when it can. */
export function checkAlertStore(file: string): string | null {
  if (!existsSync(file)) return `${file}: no such file (write one with eqlite hunt --db ${file} …)`;
  if (!statSync(file).isFile()) return `${file}: not a file`;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const t = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'").get();
      if (!t) return `${file}: not an eqlite alert store (no alerts table; hunt --db writes one)`;
    } finally {
      db.close();
    }
  } catch (e) {
    return `${file}: not an SQLite database (${(e as Error).message})`;
  }
  return null;
}

/** The rules of a store's alerts (each alert carries its rule's parameters, as Kibana's do). */
class StoredRules implements RuleCatalog {
  loadErrors: string[] = [];
  private cache: { all: ServedRule[]; exceptionLists: [] } = { all: [], exceptionLists: [] };
  private seenRowid = -1;

  constructor(private readonly db: Database.Database) {}

  get current() {
    const max = (this.db.prepare('SELECT COALESCE(MAX(rowid), 0) AS m FROM alerts').get() as { m: number }).m;
    if (max !== this.seenRowid) {
      this.seenRowid = max;
      this.cache = { all: this.load(), exceptionLists: [] };
    }
    return this.cache;
  }

  private load(): ServedRule[] {
    // The newest alert of each rule (its parameters are the rule as it last ran).
    const rows = this.db.prepare('SELECT doc FROM alerts WHERE rowid IN (SELECT MAX(rowid) FROM alerts GROUP BY rule_id)').all() as { doc: string }[];
    const lines: string[] = [];
    const uuids = new Map<string, string>();
    for (const r of rows) {
      const a = JSON.parse(r.doc) as Record<string, unknown>;
      const p = a['kibana.alert.rule.parameters'];
      if (!p || typeof p !== 'object') continue;
      const params = p as Record<string, unknown>;
      const ruleId = String(params.rule_id ?? a['kibana.alert.rule.rule_id']);
      uuids.set(ruleId, String(a['kibana.alert.rule.uuid'] ?? ''));
      lines.push(
        JSON.stringify({
          ...params,
          id: a['kibana.alert.rule.uuid'],
          rule_id: ruleId,
          // Sequence shells carry the rule's own name (name overrides apply to single events only).
          name: a['kibana.alert.rule.name'],
          interval: a['kibana.alert.rule.interval'],
          tags: a['kibana.alert.rule.tags'],
          enabled: a['kibana.alert.rule.enabled'],
        }),
      );
    }
    if (lines.length === 0) return [];
    const parsed = parseExport(lines.join('\n'), 'alerts.ndjson');
    this.loadErrors = parsed.skipped.filter((s) => s.kind === 'invalid').map((s) => `rule ${s.rule_id ?? '?'} from the alerts: ${s.reason}`);
    return parsed.rules.map((rule) => {
      rule.origin.file = 'the alerts in this store';
      return { rule, uuid: uuids.get(rule.rule_id) || rule.rule_id, source: 'store', enabled: false, skip: null, problems: [] };
    });
  }

  find(id: string): ServedRule | undefined {
    return this.current.all.find((r) => r.rule.rule_id === id || r.uuid === id);
  }

  setEnabled(): boolean {
    throw new EsError(400, 'illegal_argument_exception', 'rules do not run over a hunt --db store (eqlite ui): nothing to enable or disable');
  }

  import(): Record<string, unknown> {
    throw new EsError(400, 'illegal_argument_exception', 'eqlite ui shows a hunt --db store: import rules into eqlite serve');
  }
}

export class AlertBrowser {
  readonly app: FastifyInstance;
  readonly alerts: ServedAlerts;
  readonly queries: AlertQueries;
  readonly feed: AlertFeed;
  url = '';
  private readonly state: Database.Database;

  private constructor(opts: AlertBrowserOptions, log: Logger) {
    const config = defaultConfig();
    config.host = opts.host;
    config.port = opts.port;
    // No data directory: no credentials (the store is local; the listener defaults to loopback).
    this.state = new Database(':memory:');
    const credentials = new CredentialStore(this.state);
    const sessions = new Sessions(this.state);
    const metrics = new Metrics();
    this.app = Service.createApp({ config, log, credentials, sessions, metrics }, opts.pathPrefix);
    this.alerts = new ServedAlerts(path.dirname(opts.file), opts.file);
    this.queries = new AlertQueries(this.alerts.db);
    const feed = (this.feed = new AlertFeed(this.alerts.db, { onTick: () => this.queries.catchUpSearch(50_000) }));
    this.app.addHook('preClose', (done) => {
      feed.close();
      done();
    });
    registerApi(this.app, { config, alerts: this.alerts, queries: this.queries, feed, rules: new StoredRules(this.alerts.db) });
    registerUi(this.app, { credentials, sessions, metrics, prefix: opts.pathPrefix ? '/' + opts.pathPrefix.replace(/^\/+|\/+$/g, '') : '', tls: false, mode: 'ui' });
    this.app.get('/healthz', { config: { privilege: 'public' } }, (_req, reply) => sendJson(reply, 200, { status: 'ok', mode: 'ui', alerts: this.alerts.count() }));
  }

  static async start(opts: AlertBrowserOptions): Promise<AlertBrowser> {
    const problem = checkAlertStore(opts.file);
    if (problem) throw new Error(problem);
    const b = new AlertBrowser(opts, opts.log ?? pino({ level: 'warn' }));
    // Index the store for free-text search before the first page asks.
    b.queries.catchUpSearch();
    await b.app.listen({ host: opts.host, port: opts.port });
    const addr = b.app.server.address() as AddressInfo;
    b.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    return b;
  }

  async close(): Promise<void> {
    await this.app.close();
    this.alerts.close();
    this.state.close();
  }
}
