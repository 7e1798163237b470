// Elasticsearch's read APIs on eqlite's stores, for clients that already speak them:
//  * `POST /<pattern>/_eql/search` on the stored events (the @elastic/elasticsearch client's
//    eql.search), answered in Elasticsearch's response shape;
//  * `POST /<pattern>/_search` and `GET /<pattern>/_count` on the alerts
//    (`.alerts-security.alerts-*`), with size, from, sort and the Query DSL of query-dsl.ts;
//  * `_count` on event indices.
// In cluster mode the events are read from the cluster's stream (src/cluster/search.ts), with the
// same bound (EQL_MAX_SCAN events of the indices asked for).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { compile, type QueryResult, type SequenceResult } from '../engine/index.js';
import { EqlError, parse } from '../eql/index.js';
import { applyMapping, mappingCompileOptions, mappingForIndices, type IndexMappings } from '../engine/mapping.js';
import { joinKeyClasses, joinKeysJson, type KeyClass } from '../engine/key-json.js';
import { ruleIndexMatcher } from '../detect/index-pattern.js';
import { ecsFieldType } from '../rules/validate.js';
import { stampEventTime } from '../events/order.js';
import type { EventDoc } from '../events/types.js';
import type { ServedAlerts } from './alerts.js';
import type { ServeConfig } from './config.js';
import type { EsObjects } from './es-api.js';
import { applyFilterPath, parseFilterPath } from './filter-path.js';
import { badRequest, qs, readJsonBody, sendJson, type EsError } from './http.js';
import { compileQuery, parseSort, sortComparator } from './query-dsl.js';
import { eventSource, type EventStore } from './store/event-store.js';

export interface EsSearchDeps {
  config: ServeConfig;
  store: EventStore;
  alerts: ServedAlerts;
  objects: EsObjects;
  /**
   * Cluster mode: the events live in the cluster's stream, read by this (src/cluster/search.ts):
   * the events of the indices `match` accepts, each once, in stored order; at most `limit`.
   */
  clusterEvents?: ClusterEventScan | null;
  /** The index mappings (`--mapping`), read when the rules load: `_eql/search` resolves fields by them. */
  mapping?: () => IndexMappings | undefined;
}

export type ClusterEventScan = (match: (index: string) => boolean, limit: number, onEvent: (ev: EventDoc & { seq: number }) => void, opts: { parse: boolean }) => Promise<void>;

/** The alias alerts are read through, and the concrete index Kibana writes them to. */
export const ALERTS_ALIAS = '.alerts-security.alerts-default';
const ALERTS_BACKING = '.internal.alerts-security.alerts-default-000001';

/** True when an index expression targets the alerts (`.alerts-security.alerts-*`, `.siem-signals-*`). */
export function targetsAlerts(index: string): boolean {
  return index.split(',').some((p) => {
    const t = p.trim();
    return t.startsWith('.alerts-security') || t.startsWith('.internal.alerts-security') || t.startsWith('.siem-signals');
  });
}

/** Largest number of hits a search returns (Elasticsearch's index.max_result_window). */
const MAX_RESULT_WINDOW = 10_000;
/** Events an EQL search reads at most (the request is refused beyond, with a hint to narrow it). */
const EQL_MAX_SCAN = 2_000_000;

export function registerEsSearch(app: FastifyInstance, deps: EsSearchDeps): void {
  const limit = deps.config.ingest.maxBodyBytes;
  const read = { privilege: 'read' };

  const search = async (req: FastifyRequest) => {
    const { index } = req.params as { index?: string };
    const body = ((await readJsonBody(req, limit)) ?? {}) as Record<string, unknown>;
    const target = index ?? '*';
    const size = num(qs(req, 'size') ?? body.size, 10);
    const from = num(qs(req, 'from') ?? body.from, 0);
    if (size < 0 || from < 0) throw badRequest('[from] and [size] must be non-negative', 'illegal_argument_exception');
    if (from + size > MAX_RESULT_WINDOW) throw badRequest(`Result window is too large, from + size must be less than or equal to: [${MAX_RESULT_WINDOW}]`, 'illegal_argument_exception');
    const pred = compileQuery(body.query);
    const sortKeys = parseSort(qs(req, 'sort') ?? body.sort);
    const started = performance.now();
    const matched: Record<string, unknown>[] = [];
    if (targetsAlerts(target)) {
      for (const row of deps.alerts.db.prepare('SELECT doc FROM alerts').iterate() as Iterable<{ doc: string }>) {
        const doc = JSON.parse(row.doc) as Record<string, unknown>;
        if (pred(doc)) matched.push(doc);
      }
    }
    if (sortKeys.length > 0) matched.sort(sortComparator(sortKeys));
    const page = matched.slice(from, from + size);
    const total = matched.length;
    const trackTotal = body.track_total_hits;
    const capped = trackTotal !== true && typeof trackTotal !== 'number' && total > 10_000;
    return {
      took: Math.round(performance.now() - started),
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        total: { value: capped ? 10_000 : total, relation: capped ? 'gte' : 'eq' },
        max_score: null,
        hits: page.map((doc) => {
          const h: Record<string, unknown> = { _index: ALERTS_BACKING, _id: String(doc['kibana.alert.uuid']), _score: null, _source: doc };
          if (sortKeys.length > 0) h.sort = sortKeys.map((k) => doc[k.field] ?? null);
          return h;
        }),
      },
    };
  };
  for (const path of ['/:index/_search', '/_search']) {
    for (const method of ['GET', 'POST'] as const) {
      app.route({
        method,
        url: path,
        config: read,
        handler: async (req, reply) => send(req, reply, await search(req)),
      });
    }
  }

  const count = async (req: FastifyRequest) => {
    const { index } = req.params as { index?: string };
    const body = ((await readJsonBody(req, limit)) ?? {}) as Record<string, unknown>;
    const target = index ?? '*';
    const pred = body.query === undefined ? null : compileQuery(body.query);
    let n = 0;
    if (targetsAlerts(target)) {
      if (!pred) n += deps.alerts.count();
      else for (const row of deps.alerts.db.prepare('SELECT doc FROM alerts').iterate() as Iterable<{ doc: string }>) if (pred(JSON.parse(row.doc) as Record<string, unknown>)) n++;
    }
    const events = eventPatterns(target);
    if (events && deps.clusterEvents) {
      // Without a query only the index names are read, not the documents.
      await deps.clusterEvents(events, EQL_MAX_SCAN, (ev) => void (!pred || pred(ev.source) ? n++ : 0), { parse: pred !== null });
    } else if (events) {
      const db = deps.store.db();
      const names = (db.prepare('SELECT idx, COUNT(*) AS n FROM events GROUP BY idx').all() as { idx: string; n: number }[]).filter((r) => events(r.idx));
      if (!pred) n += names.reduce((s, r) => s + r.n, 0);
      else {
        const stmt = db.prepare('SELECT ingested, src FROM events WHERE idx = ?');
        for (const r of names) for (const row of stmt.iterate(r.idx) as Iterable<{ ingested: number; src: string }>) if (pred(eventSource(row))) n++;
      }
    }
    return { count: n, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } };
  };
  for (const path of ['/:index/_count', '/_count']) {
    for (const method of ['GET', 'POST'] as const) app.route({ method, url: path, config: read, handler: async (req, reply) => send(req, reply, await count(req)) });
  }

  const eql = async (req: FastifyRequest, raw: RawJsonSlots) => {
    const { index } = req.params as { index: string };
    const body = ((await readJsonBody(req, limit)) ?? {}) as Record<string, unknown>;
    if (typeof body.query !== 'string') throw badRequest('[eql/search] requires a [query] string', 'x_content_parse_exception');
    const timestampField = typeof body.timestamp_field === 'string' ? body.timestamp_field : '@timestamp';
    const tiebreakerField = typeof body.tiebreaker_field === 'string' ? body.tiebreaker_field : null;
    const eventCategoryField = typeof body.event_category_field === 'string' ? body.event_category_field : 'event.category';
    const size = num(body.size ?? qs(req, 'size'), 10);
    const fetchSize = num(body.fetch_size, 1000);
    if (fetchSize <= 0) throw badRequest('fetch size must be greater than 0', 'illegal_argument_exception');
    const position = body.result_position === undefined ? 'tail' : String(body.result_position);
    if (position !== 'head' && position !== 'tail') throw badRequest(`[result_position] must be head or tail, found [${position}]`, 'illegal_argument_exception');
    const filter = body.filter === undefined ? null : compileQuery(body.filter);
    let compiled;
    let keyClasses: KeyClass[] = [];
    try {
      // Elasticsearch keeps the last `size` results by default (result_position tail); which
      // sequences those are depends on fetch_size (src/engine/sequence-paged.ts).
      // With --mapping, the fields resolve against the searched indices' mapping, as in hunt.
      const mappings = deps.mapping?.();
      const mapping = mappings ? mappingForIndices(mappings, eventPatterns(index) ?? (() => false)) : null;
      // Argument types: against the mapping, else against ECS as for Elastic's rules.
      const stmt = parse(body.query, mapping ? mappingCompileOptions(mapping) : { fieldType: ecsFieldType });
      if (mapping) applyMapping(stmt, mapping);
      keyClasses = joinKeyClasses(stmt, mapping ? mappingCompileOptions(mapping).fieldType : undefined);
      compiled = compile(stmt, {
        timestampField,
        tiebreakerField,
        eventCategoryField,
        size,
        resultPosition: position,
        fetchSize,
        maxSamplesPerKey: num(body.max_samples_per_key, 1),
        ...(mapping ? mappingCompileOptions(mapping) : {}),
      });
    } catch (e) {
      if (e instanceof EqlError) throw eqlBadRequest(e);
      throw e;
    }
    const started = performance.now();
    const events = deps.clusterEvents ? await readClusterEventsForEql(deps.clusterEvents, index, filter, timestampField, tiebreakerField) : readEventsForEql(deps, index, filter, timestampField, tiebreakerField);
    let results = compiled.run(events);
    if (position === 'tail' && results.length > size) results = results.slice(results.length - size);
    // A missing event (`![…]` stage) as Elasticsearch writes it (EqlSearchResponse.Event.MISSING_EVENT:
    // empty index and id, an empty `_source`, `missing: true`).
    const hit = (ev: EventDoc | null) => (ev === null ? { _index: '', _id: '', _source: {}, missing: true } : { _index: deps.objects.backingIndex(ev.index), _id: ev.id, _source: ev.source });
    const hits: Record<string, unknown> = { total: { value: results.length, relation: 'eq' } };
    if (compiled.type === 'event') hits.events = results.map((r) => hit((r as Extract<QueryResult, { kind: 'event' }>).event));
    else hits.sequences = results.map((r) => ({ join_keys: raw.add(joinKeysJson((r as SequenceResult).joinKeys, keyClasses)), events: (r as SequenceResult).events.map(hit) }));
    return { is_partial: false, is_running: false, took: Math.round(performance.now() - started), timed_out: false, hits };
  };
  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: '/:index/_eql/search',
      config: read,
      handler: async (req, reply) => {
        const raw = new RawJsonSlots();
        return send(req, reply, await eql(req, raw), raw);
      },
    });
  }

  /** The body through filter_path; `raw`: the response carries raw JSON slots to fill in. */
  function send(req: FastifyRequest, reply: import('fastify').FastifyReply, body: unknown, raw?: RawJsonSlots) {
    const f = parseFilterPath(qs(req, 'filter_path'));
    const kept = f ? (applyFilterPath(body, f) ?? {}) : body;
    return sendJson(reply, 200, raw ? raw.stringify(kept) : kept);
  }
}

/**
 * JSON text placed into a response as it is: join keys print their numbers as Elasticsearch's
 * Jackson does (`7.0`, `1.0E21`: key-json.ts), which JSON.stringify cannot. Each value becomes a
 * token string carrying a per-response random nonce (no document can hold it), replaced by its
 * text after stringify — also after filter_path has kept or dropped it.
 */
class RawJsonSlots {
  private readonly nonce = randomUUID();
  private readonly texts: string[] = [];

  add(json: string): string {
    this.texts.push(json);
    return `eqlite-raw-${this.nonce}-${this.texts.length - 1}`;
  }

  stringify(body: unknown): string {
    const text = JSON.stringify(body);
    if (this.texts.length === 0) return text;
    return text.replace(new RegExp(`"eqlite-raw-${this.nonce}-(\\d+)"`, 'g'), (_, i: string) => this.texts[Number(i)]!);
  }
}

function num(v: unknown, dflt: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`expected an integer, found [${String(v)}]`, 'illegal_argument_exception');
  return n;
}

/** A matcher for the event indices an expression names (null when it names only alerts). */
function eventPatterns(target: string): ((idx: string) => boolean) | null {
  const parts = target.split(',').map((p) => p.trim()).filter((p) => p !== '' && !targetsAlerts(p));
  if (parts.length === 0) return null;
  const m = ruleIndexMatcher(parts.map((p) => (p === '_all' ? '*' : p)));
  return m;
}

/** Stored events of the indices, passing the filter, in (timestamp, tiebreaker, arrival) order. */
function readEventsForEql(deps: EsSearchDeps, index: string, filter: ((d: Record<string, unknown>) => boolean) | null, tsField: string, tbField: string | null): EventDoc[] {
  const match = eventPatterns(index);
  if (!match) return [];
  const db = deps.store.db();
  const names = (db.prepare('SELECT DISTINCT idx FROM events').all() as { idx: string }[]).map((r) => r.idx).filter(match);
  if (names.length === 0) return [];
  // A range on the timestamp in the filter narrows the read through the ts index.
  const out: (EventDoc & { seq: number })[] = [];
  const stmt = db.prepare(`SELECT seq, idx, id, ingested, src FROM events WHERE idx IN (${names.map(() => '?').join(',')})`);
  let n = 0;
  for (const r of stmt.iterate(...names) as Iterable<{ seq: number; idx: string; id: string; ingested: number; src: string }>) {
    if (++n > EQL_MAX_SCAN) throw badRequest(`the EQL search would read more than ${EQL_MAX_SCAN} events; narrow the index pattern`, 'illegal_argument_exception');
    const source = eventSource(r);
    if (filter && !filter(source)) continue;
    const ev = { source, index: r.idx, id: r.id, seq: r.seq };
    if (stampEventTime(ev, tsField)) out.push(ev);
  }
  return orderForEql(out, tbField);
}

/** The cluster's stored events of the indices, passing the filter, in (timestamp, tiebreaker, stream) order. */
async function readClusterEventsForEql(scan: ClusterEventScan, index: string, filter: ((d: Record<string, unknown>) => boolean) | null, tsField: string, tbField: string | null): Promise<EventDoc[]> {
  const match = eventPatterns(index);
  if (!match) return [];
  const out: (EventDoc & { seq: number })[] = [];
  await scan(match, EQL_MAX_SCAN, (ev) => {
    if (filter && !filter(ev.source)) return;
    if (stampEventTime(ev, tsField)) out.push(ev);
  }, { parse: true });
  return orderForEql(out, tbField);
}

/** Events in EQL's order: timestamp, then the tiebreaker (missing last), then arrival. */
function orderForEql(out: (EventDoc & { seq: number })[], tb: string | null): EventDoc[] {
  out.sort((a, b) => {
    const d = a.time!.ms - b.time!.ms || a.time!.ns - b.time!.ns;
    if (d !== 0) return d;
    if (tb) {
      const x = a.source[tb];
      const y = b.source[tb];
      if (x !== y) return x === undefined ? 1 : y === undefined ? -1 : String(x) < String(y) ? -1 : 1;
    }
    return a.seq - b.seq;
  });
  return out;
}

/**
 * A query Elasticsearch refuses, as it answers: a grammar error is a `parsing_exception` whose
 * reason is `line L:C: …`; the verifier's problems are one `verification_exception` listing them
 * all (`Found 2 problems\nline 1:15: …\nline 1:40: …`). The wording of each problem is eqlite's.
 */
function eqlBadRequest(e: EqlError): EsError {
  const line = (p: EqlError) => `line ${p.line}:${p.column}: ${p.problem.split('\n')[0]}`;
  if (e.kind === 'syntax') return badRequest(line(e), 'parsing_exception');
  const all = e.all();
  return badRequest(`Found ${all.length} problem${all.length === 1 ? '' : 's'}\n${all.map(line).join('\n')}`, 'verification_exception');
}
