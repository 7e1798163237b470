// The Elasticsearch surface shippers talk to before and besides `_bulk` (es-ingest.md §0, §2):
// cluster info, licence, health, and the index templates, ILM policies, ingest pipelines, data
// streams and indices that Beats, Logstash and Agent create at start-up. Those are accepted and
// kept (state.sqlite), and answered back as Elasticsearch would, so a shipper that checks before
// creating sees what it created. eqlite does not run Elasticsearch ingest pipelines: it maps raw
// Windows events itself (bulk.ts, mapDocument).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServeConfig } from './config.js';
import { EsError, notFound, readJsonBody, sendJson } from './http.js';
import type { StateDb } from './state.js';
import { compileGlob } from '../util/glob.js';

export type EsObjectKind = 'index_template' | 'template' | 'component_template' | 'ilm_policy' | 'pipeline' | 'data_stream' | 'index';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS es_objects (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  body TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS es_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
`;

/** Index templates, pipelines, policies, data streams and indices shippers created. */
export class EsObjects {
  readonly clusterUuid: string;
  private readonly backing = new Map<string, string>();
  private streamPatterns: { test: (name: string) => boolean }[] = [];

  constructor(private readonly db: StateDb) {
    db.exec(SCHEMA);
    const row = db.prepare("SELECT v FROM es_meta WHERE k = 'cluster_uuid'").get() as { v: string } | undefined;
    if (row) this.clusterUuid = row.v;
    else {
      this.clusterUuid = randomUUID().replace(/-/g, '').slice(0, 22);
      db.prepare("INSERT INTO es_meta (k, v) VALUES ('cluster_uuid', ?)").run(this.clusterUuid);
    }
    this.loadStreamPatterns();
  }

  get(kind: EsObjectKind, name: string): { body: unknown; created: number } | null {
    const r = this.db.prepare('SELECT body, created FROM es_objects WHERE kind = ? AND name = ?').get(kind, name) as { body: string; created: number } | undefined;
    return r ? { body: JSON.parse(r.body) as unknown, created: r.created } : null;
  }

  list(kind: EsObjectKind): { name: string; body: unknown; created: number }[] {
    const rows = this.db.prepare('SELECT name, body, created FROM es_objects WHERE kind = ? ORDER BY name').all(kind) as { name: string; body: string; created: number }[];
    return rows.map((r) => ({ name: r.name, body: JSON.parse(r.body) as unknown, created: r.created }));
  }

  put(kind: EsObjectKind, name: string, body: unknown): boolean {
    const existed = this.get(kind, name);
    this.db
      .prepare('INSERT INTO es_objects (kind, name, body, created) VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body')
      .run(kind, name, JSON.stringify(body ?? {}), existed ? existed.created : Date.now());
    if (kind === 'index_template') this.loadStreamPatterns();
    return existed === null;
  }

  delete(kind: EsObjectKind, name: string): boolean {
    const n = this.db.prepare('DELETE FROM es_objects WHERE kind = ? AND name = ?').run(kind, name).changes;
    if (kind === 'data_stream') this.backing.delete(name);
    if (kind === 'index_template') this.loadStreamPatterns();
    return n > 0;
  }

  /** Index patterns of templates that declare a data stream (`"data_stream": {}`). */
  private loadStreamPatterns(): void {
    const out: { test: (name: string) => boolean }[] = [];
    for (const t of this.list('index_template')) {
      const b = t.body as Record<string, unknown> | null;
      if (!b || typeof b !== 'object' || b.data_stream === undefined) continue;
      const pats = Array.isArray(b.index_patterns) ? b.index_patterns : typeof b.index_patterns === 'string' ? [b.index_patterns] : [];
      for (const p of pats) if (typeof p === 'string') out.push(globRegExp(p));
    }
    this.streamPatterns = out;
    this.backing.clear();
  }

  /** True for names Elasticsearch would write as a data stream. */
  isDataStream(name: string): boolean {
    if (BUILTIN_STREAMS.test(name)) return true;
    if (this.streamPatterns.some((re) => re.test(name))) return true;
    return this.get('data_stream', name) !== null;
  }

  /**
   * The `_index` Elasticsearch reports for a write to `name`: a data stream's first backing
   * index (`.ds-<name>-<creation date>-000001`, the stream created on first use), else `name`.
   */
  backingIndex(name: string): string {
    const cached = this.backing.get(name);
    if (cached !== undefined) return cached;
    let out = name;
    if (this.isDataStream(name)) {
      let ds = this.get('data_stream', name);
      if (!ds) {
        this.put('data_stream', name, {});
        ds = this.get('data_stream', name)!;
      }
      out = backingName(name, ds.created);
    }
    if (this.backing.size > 10_000) this.backing.clear();
    this.backing.set(name, out);
    return out;
  }
}

/** Elasticsearch's built-in data stream templates: logs-*-*, metrics-*-*, traces-*-*, synthetics-*-*. */
const BUILTIN_STREAMS = /^(logs|metrics|traces|synthetics|profiling)-[^-]+-[^-]+$/;

export function backingName(stream: string, created: number): string {
  const d = new Date(created);
  const day = `${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}.${String(d.getUTCDate()).padStart(2, '0')}`;
  return `.ds-${stream}-${day}-000001`;
}

/** An index pattern (`*` only), linear in the name whatever the stars. */
function globRegExp(p: string): { test: (name: string) => boolean } {
  return { test: compileGlob(p, { question: false }) };
}

/** `GET /` body (es-ingest.md §2.1). build_flavor is never "serverless". */
export function clusterInfo(config: ServeConfig, uuid: string): Record<string, unknown> {
  return {
    name: 'eqlite',
    cluster_name: config.elasticsearch.clusterName,
    cluster_uuid: uuid,
    version: {
      number: config.elasticsearch.version,
      build_flavor: 'default',
      build_type: 'tar',
      build_hash: 'eqlite',
      build_date: '2025-01-01T00:00:00.000Z',
      build_snapshot: false,
      lucene_version: '9.12.0',
      minimum_wire_compatibility_version: '7.17.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'You Know, for Search',
  };
}

export interface EsApiDeps {
  config: ServeConfig;
  objects: EsObjects;
  /** Store health, for /_cluster/health (green when writable). */
  writable: () => boolean;
}

const ACK = { acknowledged: true };

/** Registers the info and start-up endpoints. */
export function registerEsApi(app: FastifyInstance, deps: EsApiDeps): void {
  const { config, objects } = deps;
  const info = { privilege: 'info' };
  const ingest = { privilege: 'ingest' };
  const limit = config.ingest.maxBodyBytes;

  app.get('/', { config: info }, (_req, reply) => sendJson(reply, 200, clusterInfo(config, objects.clusterUuid)));
  app.head('/', { config: info }, (_req, reply) => reply.code(200).header('content-type', 'application/json; charset=UTF-8').send());

  const license = {
    license: {
      status: 'active',
      uid: objects.clusterUuid,
      type: 'basic',
      issue_date: '2025-01-01T00:00:00.000Z',
      issue_date_in_millis: 1735689600000,
      max_nodes: 1000,
      max_resource_units: null,
      issued_to: config.elasticsearch.clusterName,
      issuer: 'eqlite',
      start_date_in_millis: -1,
    },
  };
  app.get('/_license', { config: info }, (_req, reply) => sendJson(reply, 200, license));
  app.get('/_xpack', { config: info }, (_req, reply) =>
    sendJson(reply, 200, { build: { hash: 'eqlite', date: '2025-01-01T00:00:00.000Z' }, license: { uid: objects.clusterUuid, type: 'basic', mode: 'basic', status: 'active' }, features: {} }),
  );

  const health = (_req: FastifyRequest, reply: FastifyReply) =>
    sendJson(reply, 200, {
      cluster_name: config.elasticsearch.clusterName,
      status: deps.writable() ? 'green' : 'red',
      timed_out: false,
      number_of_nodes: 1,
      number_of_data_nodes: 1,
      active_primary_shards: 1,
      active_shards: 1,
      relocating_shards: 0,
      initializing_shards: 0,
      unassigned_shards: 0,
      delayed_unassigned_shards: 0,
      number_of_pending_tasks: 0,
      number_of_in_flight_fetch: 0,
      task_max_waiting_in_queue_millis: 0,
      active_shards_percent_as_number: 100.0,
    });
  app.get('/_cluster/health', { config: info }, health);
  app.get('/_cluster/health/:index', { config: info }, health);

  app.get('/_nodes/http', { config: info }, (req, reply) => {
    const host = String(req.headers.host ?? `${config.host}:${config.port}`);
    sendJson(reply, 200, {
      _nodes: { total: 1, successful: 1, failed: 0 },
      cluster_name: config.elasticsearch.clusterName,
      nodes: { eqlite: { name: 'eqlite', version: config.elasticsearch.version, roles: ['data', 'ingest', 'master'], http: { bound_address: [host], publish_address: host, max_content_length_in_bytes: limit } } },
    });
  });

  // ---- objects shippers create at start-up: HEAD/GET say whether it exists, PUT stores it.
  const objectRoutes: { prefix: string; kind: EsObjectKind; render: (name: string, body: unknown, created: number) => unknown }[] = [
    { prefix: '/_index_template', kind: 'index_template', render: (name, body) => ({ index_templates: [{ name, index_template: body }] }) },
    { prefix: '/_template', kind: 'template', render: (name, body) => ({ [name]: body }) },
    { prefix: '/_component_template', kind: 'component_template', render: (name, body) => ({ component_templates: [{ name, component_template: body }] }) },
    {
      prefix: '/_ilm/policy',
      kind: 'ilm_policy',
      render: (name, body, created) => ({
        [name]: { version: 1, modified_date: new Date(created).toISOString(), policy: (body as Record<string, unknown> | null)?.policy ?? body, in_use_by: { indices: [], data_streams: [], composable_templates: [] } },
      }),
    },
    { prefix: '/_ingest/pipeline', kind: 'pipeline', render: (name, body) => ({ [name]: body }) },
  ];
  for (const r of objectRoutes) {
    const one = `${r.prefix}/:name`;
    app.head(one, { config: ingest }, (req, reply) => {
      const { name } = req.params as { name: string };
      reply.code(objects.get(r.kind, name) ? 200 : 404).header('content-type', 'application/json; charset=UTF-8').send();
    });
    app.get(one, { config: ingest }, (req, reply) => {
      const { name } = req.params as { name: string };
      const names = name.split(',');
      const found = names.flatMap((n) => (n.includes('*') ? objects.list(r.kind).filter((o) => globRegExp(n).test(o.name)) : [{ name: n, ...objects.get(r.kind, n) }])).filter(
        (o): o is { name: string; body: unknown; created: number } => 'body' in o && o.body !== undefined,
      );
      if (found.length === 0) throw notFound(`${r.kind.replace('_', ' ')} [${name}] missing`);
      sendJson(reply, 200, merged(found.map((o) => r.render(o.name, o.body, o.created))));
    });
    app.get(r.prefix, { config: ingest }, (_req, reply) => sendJson(reply, 200, merged(objects.list(r.kind).map((o) => r.render(o.name, o.body, o.created)))));
    const put = async (req: FastifyRequest, reply: FastifyReply) => {
      const { name } = req.params as { name: string };
      const body = await readJsonBody(req, limit);
      objects.put(r.kind, name, body ?? {});
      sendJson(reply, 200, ACK);
    };
    app.put(one, { config: ingest }, put);
    app.post(one, { config: ingest }, put);
    app.delete(one, { config: ingest }, (req, reply) => {
      const { name } = req.params as { name: string };
      if (!objects.delete(r.kind, name)) throw notFound(`${r.kind.replace('_', ' ')} [${name}] missing`);
      sendJson(reply, 200, ACK);
    });
  }

  // ---- data streams
  const streamBody = (name: string, created: number) => ({
    name,
    timestamp_field: { name: '@timestamp' },
    indices: [{ index_name: backingName(name, created), index_uuid: objects.clusterUuid }],
    generation: 1,
    status: 'GREEN',
    template: name,
    hidden: false,
    system: false,
    allow_custom_routing: false,
    replicated: false,
  });
  app.get('/_data_stream/:name', { config: ingest }, (req, reply) => {
    const { name } = req.params as { name: string };
    const all = objects.list('data_stream');
    const hits = name.split(',').flatMap((n) => all.filter((o) => globRegExp(n).test(o.name)));
    if (hits.length === 0 && !name.includes('*')) throw notFound(`no such index [${name}]`, 'index_not_found_exception');
    sendJson(reply, 200, { data_streams: hits.map((o) => streamBody(o.name, o.created)) });
  });
  app.get('/_data_stream', { config: ingest }, (_req, reply) => sendJson(reply, 200, { data_streams: objects.list('data_stream').map((o) => streamBody(o.name, o.created)) }));
  app.put('/_data_stream/:name', { config: ingest }, (req, reply) => {
    const { name } = req.params as { name: string };
    if (objects.get('data_stream', name)) throw new EsError(400, 'resource_already_exists_exception', `data_stream [${name}] already exists`);
    objects.put('data_stream', name, {});
    sendJson(reply, 200, ACK);
  });

  // ---- indices and aliases (Logstash's ILM alias mode): HEAD says they exist, PUT creates.
  app.head('/:index', { config: ingest }, (_req, reply) => reply.code(200).header('content-type', 'application/json; charset=UTF-8').send());
  app.put('/:index', { config: ingest }, async (req, reply) => {
    const { index } = req.params as { index: string };
    const body = await readJsonBody(req, limit);
    objects.put('index', index, body ?? {});
    sendJson(reply, 200, { acknowledged: true, shards_acknowledged: true, index });
  });
}

/** Merges the objects of several named renders into one response object. */
function merged(parts: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of parts) {
    for (const [k, v] of Object.entries(p as Record<string, unknown>)) {
      const cur = out[k];
      if (Array.isArray(cur) && Array.isArray(v)) cur.push(...(v as unknown[]));
      else Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}
