// `eqlite serve`: the service object. It owns the data directory (events.sqlite, alerts.sqlite,
// state.sqlite), the HTTP server (fastify) and the parts behind it: the Elasticsearch-compatible
// ingest endpoint, the read APIs, detection and notifications. One instance per process in
// production; tests start several on port 0.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import { allows, CredentialStore, type Principal, type Privilege } from './auth.js';
import { ConfigError, type ServeConfig } from './config.js';
import { EsObjects, registerEsApi } from './es-api.js';
import { EsError, sendJson } from './http.js';
import { setReceiveBuffer } from './receive-buffer.js';
import { Ingest } from './ingest.js';
import { Metrics } from './metrics.js';
import { openStateDb, type StateDb } from './state.js';
import { EventStore } from './store/event-store.js';
import { SqliteEventLog } from './store/sqlite-log.js';
import { ServedAlerts } from './alerts.js';
import { Detection } from './detection.js';
import { RuleSet } from './rules.js';
import { registerApi } from './api.js';
import { Webhooks } from './webhooks.js';
import { registerEsSearch } from './es-search.js';
import type { EventSink } from './event-log.js';
import type { ClusterNode } from '../cluster/node.js';
import type { ClusterResources } from '../cluster/nats.js';
import { AlertQueries } from './alert-query.js';
import { AlertFeed } from './alert-feed.js';
import { readCookie, SESSION_COOKIE, Sessions } from './sessions.js';
import { registerUi } from './ui.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface ServiceOptions {
  config: ServeConfig;
  log?: Logger;
  /** URL path prefix a reverse proxy or a shipper's `path` option adds (e.g. `/es`). */
  pathPrefix?: string;
}

const ANONYMOUS: Principal = { kind: 'user', id: 'anonymous', name: 'anonymous', role: 'admin' };

/** What the HTTP app's authentication and error handling need (the service, or `eqlite ui`). */
export interface AppContext {
  config: ServeConfig;
  log: Logger;
  credentials: CredentialStore;
  sessions: Sessions;
  metrics: Metrics;
}

export class Service {
  readonly app: FastifyInstance;
  readonly metrics = new Metrics();
  readonly log: Logger;
  readonly state: StateDb;
  readonly credentials: CredentialStore;
  readonly objects: EsObjects;
  readonly ingest: Ingest;
  readonly rules: RuleSet;
  readonly alerts: ServedAlerts;
  readonly detection: Detection;
  readonly webhooks: Webhooks;
  /** The event store read as an event log (real-time detection reads it). */
  readonly log$: SqliteEventLog;
  /** Cluster mode (`--cluster`): this node's part in the cluster; null on a single node. */
  readonly cluster: ClusterNode | null = null;
  /** Where ingest writes: the event store, or the cluster's event stream. */
  readonly sink: EventSink;
  readonly sessions: Sessions;
  /** The alerts API's queries and live feed (shared with the web UI). */
  readonly queries: AlertQueries;
  readonly feed: AlertFeed;
  /** Base URL once listening. */
  url = '';
  private closed = false;
  private readonly closers: (() => Promise<void> | void)[] = [];

  private constructor(
    readonly config: ServeConfig,
    readonly store: EventStore,
    log: Logger,
    state: StateDb,
    pathPrefix: string | undefined,
    cluster: { res: ClusterResources; Node: typeof ClusterNode } | null,
  ) {
    this.log = log;
    this.state = state;
    this.credentials = new CredentialStore(state);
    if (config.auth.required) this.credentials.setRequired();
    this.objects = new EsObjects(state);
    this.sessions = new Sessions(state);
    this.app = Service.createApp(this, pathPrefix);
    this.alerts = new ServedAlerts(config.data);
    this.log$ = new SqliteEventLog(store, state);
    this.queries = new AlertQueries(this.alerts.db);
    const feed = (this.feed = new AlertFeed(this.alerts.db, { onTick: () => this.queries.catchUpSearch(50_000) }));
    this.alerts.onAlerts(() => feed.poke());
    this.app.addHook('preClose', (done) => {
      feed.close();
      done();
    });
    let detection: Detection | null = null;
    let node: ClusterNode | null = null;
    this.rules = new RuleSet({
      paths: config.rules,
      selection: config.selection,
      valueLists: config.valueLists,
      mapping: config.mapping,
      state,
      log,
      // Cluster mode: the workers run the rules in real time (restarting their partitions), the
      // scheduled runs take the new rules, and rule-state changes made on this node are shared
      // with the others.
      onChange: (g) => {
        detection?.install(g);
        node?.onRules();
      },
      onPersist: (rows) => node?.persistRules(rows),
    });
    if (cluster) this.cluster = node = new cluster.Node({ res: cluster.res, rules: this.rules, alerts: this.alerts, metrics: this.metrics, log, realtime: config.detection.realtime });
    // Cluster mode: scheduled runs read the cluster's stream, keep rule state in JetStream and run
    // on the node holding the scheduler lease (src/cluster/scheduler.ts).
    this.detection = detection = new Detection({
      config,
      store,
      eventLog: this.log$,
      rules: this.rules,
      alerts: this.alerts,
      metrics: this.metrics,
      state,
      log,
      cluster: node?.scheduling() ?? null,
      // Real time holds events read while an earlier request is still being stored (realtime.ts).
      // (Requests that ended are not reported: their events are in the hold by then.)
      inFlightSince: (_after, startedFrom) => this.ingest?.oldestInFlight(startedFrom) ?? Infinity,
      typicalRequestMs: () => this.ingest?.typicalDuration() ?? 0,
    });
    this.sink = node ? node.eventLog.sink : store;
    this.ingest = new Ingest({
      config,
      store: this.sink,
      objects: this.objects,
      metrics: this.metrics,
      log,
      backlog: () => (node ? node.backlog() : this.detection.backlog()),
      router: () => {
        const g = this.rules.current;
        return { gen: g.gen, wants: g.wants, fields: g.dispatchFields, needles: g.router.needles, mayDispatch: (picked, index) => g.router.mayDispatch(picked, index), route: (ev) => g.router.route(ev), numberTexts: g.numberTexts };
      },
    });
    this.ingest.onStored((evs) => this.log$.notify(evs));
    this.webhooks = new Webhooks(config.webhooks, state, this.metrics, log, config.webhookRetryBaseMs);
    this.alerts.onAlerts((alerts, rule, mode) => this.webhooks.enqueue(alerts, rule, mode));
    this.ingest.register(this.app);
    registerEsApi(this.app, { config, objects: this.objects, writable: () => store.failure === null });
    registerEsSearch(this.app, { config, store, alerts: this.alerts, objects: this.objects, clusterEvents: node?.eventSearch() ?? null, mapping: () => this.rules.indexMappings });
    registerApi(this.app, { config, alerts: this.alerts, queries: this.queries, feed, rules: this.rules, detection: this.detection, store });
    registerUi(this.app, { credentials: this.credentials, sessions: this.sessions, metrics: this.metrics, prefix: normalizePrefix(pathPrefix), tls: config.tls !== null && config.tls !== undefined, mode: 'serve' });
    this.registerOps();
  }

  /** Opens the data directory and starts listening. */
  static async start(opts: ServiceOptions): Promise<Service> {
    const { config } = opts;
    const log = opts.log ?? pino({ level: config.log.level });
    const state = openStateDb(config.data);
    const metricsRef: { m?: Metrics } = {};
    const store = await EventStore.open({
      dir: config.data,
      maxAgeMs: config.retention.maxAgeMs,
      maxBytes: config.retention.maxBytes,
      retentionEveryMs: config.retention.everyMs,
      onUnavailable: (failure, message) => {
        metricsRef.m?.storeAvailable.set(0);
        log.error({ failure, err: message, data: config.data }, failure === 'full' ? 'event store: disk full; ingest answers 429 until space is freed' : 'event store: cannot write; ingest answers 503 until this is fixed');
      },
      onAvailable: () => {
        metricsRef.m?.storeAvailable.set(1);
        log.info({ data: config.data }, 'event store: writable again');
      },
      onRetention: (deleted, reason, oldestSeq) => {
        metricsRef.m?.eventsDeleted.inc({ reason }, deleted);
        log.info({ deleted, reason, oldestSeq }, 'retention: deleted old events');
      },
    });
    let cluster: { res: ClusterResources; Node: typeof ClusterNode } | null = null;
    if (config.cluster) {
      // Loaded only in cluster mode: a single node never loads the NATS client.
      const { openCluster } = await import('../cluster/nats.js');
      const { ClusterNode } = await import('../cluster/node.js');
      try {
        cluster = { res: await openCluster(config, log), Node: ClusterNode };
      } catch (e) {
        await store.close();
        state.close();
        throw e;
      }
    }
    // A service that cannot start (an unreadable TLS file, a port in use) closes what it opened:
    // the store's writer thread would otherwise keep the process alive after the error.
    let svc: Service;
    try {
      svc = new Service(config, store, log, state, opts.pathPrefix, cluster);
    } catch (e) {
      await store.close();
      state.close();
      throw e;
    }
    try {
      metricsRef.m = svc.metrics;
      svc.metrics.storeAvailable.set(store.failure ? 0 : 1);
      // Cluster mode: real time runs on the workers' partitions of the event stream, scheduled
      // runs on the scheduler lease's holder; the local event store stays empty.
      if (svc.cluster) await svc.cluster.start();
      svc.detection.start();
      svc.webhooks.start();
      svc.rules.watch();
      await svc.listen();
    } catch (e) {
      await svc.close();
      throw e;
    }
    return svc;
  }

  /** The fastify app with eqlite's authentication, errors and not-found answers (also used by `eqlite ui`). */
  static createApp(ctx: AppContext, pathPrefix: string | undefined): FastifyInstance {
    const { config } = ctx;
    let https: { cert: Buffer; key: Buffer } | null = null;
    if (config.tls) {
      const read = (f: string, what: string) => {
        try {
          return readFileSync(f);
        } catch (e) {
          throw new ConfigError(`cannot read TLS ${what} ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
        }
      };
      https = { cert: read(config.tls.cert, 'certificate'), key: read(config.tls.key, 'key') };
    }
    const prefix = normalizePrefix(pathPrefix);
    const app = Fastify({
      loggerInstance: ctx.log,
      // Requests are not logged one by one (thousands per second); errors and summaries are.
      logController: new LogController({ disableRequestLogging: true }),
      ...(https ? { https } : {}),
      // Longer than shippers keep idle connections (Logstash checks them after 10 s).
      keepAliveTimeout: 65_000,
      requestTimeout: 300_000,
      bodyLimit: config.ingest.maxBodyBytes,
      return503OnClosing: true,
      exposeHeadRoutes: false,
      rewriteUrl: prefix ? (req) => (req.url && (req.url === prefix || req.url.startsWith(prefix + '/') || req.url.startsWith(prefix + '?')) ? req.url.slice(prefix.length) || '/' : req.url ?? '/') : undefined,
    }) as unknown as FastifyInstance;

    // Bodies are read by the routes themselves, as streams with their own limits (http.ts).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    app.addHook('onSend', async (_req, reply, payload) => {
      reply.header('X-Elastic-Product', 'Elasticsearch');
      if (!reply.hasHeader('content-type')) reply.header('content-type', 'application/json; charset=UTF-8');
      return payload;
    });

    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const cfg = (req.routeOptions.config ?? {}) as { privilege?: Privilege | 'public'; page?: boolean };
      const privilege = cfg.privilege ?? (req.routeOptions.url === undefined ? 'info' : 'read');
      if (privilege === 'public') return;
      if (!ctx.credentials.required()) {
        req.principal = ANONYMOUS;
        return;
      }
      // Browsers signed in with the web UI's login form send their session cookie instead.
      const viaSession = !req.headers.authorization && hasSessionCookie(req);
      const principal = viaSession ? ctx.sessions.principal(req) : await ctx.credentials.authenticate(req.headers.authorization);
      if (!principal) {
        ctx.metrics.authFailures.inc();
        // A web page asked for without a session: the login form, then back here.
        if (cfg.page && req.method === 'GET') return reply.redirect(`${prefix}/app/login?next=${encodeURIComponent(prefix + req.url)}`, 303);
        const missing = !req.headers.authorization;
        // The web UI (session cookie or kbn-xsrf) must not get a challenge: browsers would show
        // their own password dialog instead of our login form.
        const browser = viaSession || req.headers['kbn-xsrf'] !== undefined;
        throw new EsError(
          401,
          'security_exception',
          missing ? `missing authentication credentials for REST request [${req.url.split('?')[0]}]` : 'unable to authenticate with provided credentials',
          browser ? {} : { 'WWW-Authenticate': 'Basic realm="security", charset="UTF-8", ApiKey' },
        );
      }
      // Cookies go along with requests other sites make: a cookie-authenticated change must carry
      // the kbn-xsrf header (as Kibana requires), which another site's form or image cannot add.
      if (viaSession && req.method !== 'GET' && req.method !== 'HEAD' && req.headers['kbn-xsrf'] === undefined) {
        throw new EsError(400, 'illegal_argument_exception', 'Request must contain a kbn-xsrf header.');
      }
      if (!allows(principal.role, privilege)) {
        throw new EsError(403, 'security_exception', `action [${req.method} ${req.routeOptions.url}] is unauthorized for ${principal.kind === 'api_key' ? 'API key id' : 'user'} [${principal.id}] with role [${principal.role}]`);
      }
      req.principal = principal;
    });

    app.setErrorHandler((err: FastifyError | EsError, req, reply) => {
      if (err instanceof EsError) {
        for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
        if (err.status >= 500) ctx.log.error({ err: err.message, url: req.url }, 'request failed');
        return sendJson(reply, err.status, err.body());
      }
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
      if (status >= 500) ctx.log.error({ err, url: req.url }, 'request failed');
      const e = new EsError(status, status === 413 ? 'content_too_long_exception' : status < 500 ? 'illegal_argument_exception' : 'exception', err.message);
      return sendJson(reply, status, e.body());
    });

    app.setNotFoundHandler((req, reply) => {
      // Elastic's own mock and Fluent Bit answer unknown Elasticsearch calls with 200 {}; eqlite's
      // own API paths are exact, so a typo there is a 404.
      if (req.url.startsWith('/api/')) return sendJson(reply, 404, new EsError(404, 'not_found', `no such API: ${req.method} ${req.url.split('?')[0]}`).body());
      if (req.method === 'HEAD') return reply.code(200).send();
      return sendJson(reply, 200, {});
    });
    return app;
  }

  private registerOps(): void {
    const { app, store, sink } = this;
    app.get('/healthz', { config: { privilege: 'public' } }, (_req, reply) => {
      // Cluster mode: writable means connected to NATS (events go to the stream).
      const failure = sink.failure;
      const ok = failure === null;
      sendJson(reply, ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', store: ok ? { writable: true } : { writable: false, failure: failure!.failure, reason: failure!.message } });
    });
    app.get('/api/cluster', { config: { privilege: 'read' } }, async (_req, reply) => {
      if (!this.cluster) throw new EsError(404, 'not_found', 'this node is not part of a cluster (start it with --cluster)');
      await this.cluster.refreshStatus();
      sendJson(reply, 200, this.cluster.status());
    });
    app.get('/metrics', { config: { privilege: 'read' } }, async (_req, reply) => {
      this.metrics.rulesGeneration.set(this.rules.current.gen);
      try {
        const size = store.size();
        this.metrics.storeBytes.set({ store: 'events' }, size.used);
        const r = store.seqSpan();
        this.metrics.storeEvents.set(r.hi === null || r.lo === null ? 0 : r.hi - r.lo + 1);
        this.metrics.detectionBacklog.set(this.detection.backlog());
      } catch {
        // Store not readable (read-only data directory): the other metrics still answer.
      }
      reply.header('content-type', this.metrics.registry.contentType);
      return reply.send(await this.metrics.registry.metrics());
    });
  }

  /** Registers something to close on shutdown (in reverse order). */
  onClose(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  private async listen(): Promise<void> {
    const { config } = this;
    await this.app.listen({ host: config.host, port: config.port });
    const rb = setReceiveBuffer(this.app.server, config.ingest.receiveBufferBytes);
    if (rb.note) this.log.warn({ receiveBuffer: rb.bytes }, `ingest sockets: ${rb.note}`);
    else if (rb.bytes !== null) this.log.debug({ receiveBuffer: rb.bytes }, 'ingest sockets: receive buffer set');
    const addr = this.app.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${config.tls ? 'https' : 'http'}://${host}:${addr.port}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.app.close();
    for (const fn of this.closers.reverse()) await fn();
    this.rules.close();
    await this.detection.stop();
    await this.cluster?.stop();
    await this.webhooks.stop();
    this.alerts.close();
    await this.store.close();
    this.state.close();
  }
}

/** `/es/` → `/es`; none → ''. */
export function normalizePrefix(pathPrefix: string | undefined): string {
  return pathPrefix ? '/' + pathPrefix.replace(/^\/+|\/+$/g, '') : '';
}

function hasSessionCookie(req: FastifyRequest): boolean {
  return readCookie(req, SESSION_COOKIE) !== null;
}
