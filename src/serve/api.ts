// eqlite's own JSON API (documented in README "Live detection → API"), the one the web UI is built
// on: alerts (list with filters, paging and sorting; one alert with its building blocks and source
// events; workflow status) and rules (list, show, enable/disable, last run, errors, gaps, manual
// runs, Kibana's rule import).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseInstant } from '../events/time.js';
import type { ExceptionList } from '../rules/types.js';
import { ALERT_COLUMNS, alertSummary, parseFilter, TRACK_TOTAL_HITS, type AlertFilter, type AlertQueries, type AlertRow } from './alert-query.js';
import { WORKFLOW_STATUSES, type ServedAlerts, type WorkflowStatus } from './alerts.js';
import type { AlertFeed } from './alert-feed.js';
import type { ServeConfig } from './config.js';
import type { Detection } from './detection.js';
import { badRequest, notFound, qs, readJsonBody, readTextBody, sendJson } from './http.js';
import type { ServedRule } from './rules.js';
import { eventSource, type EventStore } from './store/event-store.js';

/** The rules the API shows: the service's RuleSet, or (eqlite ui) the rules of a store's alerts. */
export interface RuleCatalog {
  readonly current: { readonly all: readonly ServedRule[]; readonly exceptionLists: readonly ExceptionList[] };
  readonly loadErrors: string[];
  find(ruleIdOrUuid: string): ServedRule | undefined;
  setEnabled(ruleId: string, enabled: boolean): boolean;
  import(ndjson: string, overwrite: boolean, overwriteExceptions: boolean): Record<string, unknown>;
}

export interface ApiDeps {
  config: ServeConfig;
  alerts: ServedAlerts;
  queries: AlertQueries;
  feed: AlertFeed;
  rules: RuleCatalog;
  /** Absent over a hunt --db store (eqlite ui): nothing runs, rules have no run state. */
  detection?: Pick<Detection, 'ruleState' | 'manualRun'>;
  /** The event store (source events of alerts); absent over a hunt --db store. */
  store?: EventStore;
}

const NO_RUNS = { last_run: null, runs: [], gaps: [] } as ReturnType<Detection['ruleState']>;

function intParam(req: FastifyRequest, name: string, dflt: number, min: number, max: number): number {
  const v = qs(req, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(`${name} must be an integer from ${min} to ${max}`, 'illegal_argument_exception');
  return n;
}

/** `track_total_hits`: true counts every match; a number counts up to it (default 10,000), as Elasticsearch. */
function trackTotalHits(req: FastifyRequest): number | true {
  const v = qs(req, 'track_total_hits');
  if (v === undefined) return TRACK_TOTAL_HITS;
  if (v === 'true') return true;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 100_000_000) throw badRequest('track_total_hits must be true or an integer from 0 to 100000000', 'illegal_argument_exception');
  return n;
}

/** The alert filter of a request's query string. */
function queryFilter(req: FastifyRequest): AlertFilter {
  const q = (req.query ?? {}) as Record<string, unknown>;
  return parseFilter((name) => {
    const v = q[name];
    return Array.isArray(v) ? v.join(',') : v;
  });
}

const ALERT_DETAIL_COLUMNS = ALERT_COLUMNS;

export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const { alerts, rules, detection, queries } = deps;
  const live = detection !== undefined;
  const read = { privilege: 'read' };
  const write = { privilege: 'write' };
  const limit = deps.config.ingest.maxBodyBytes;

  // ---- alerts
  app.get('/api/alerts', { config: read }, (req, reply) => {
    const f = queryFilter(req);
    const perPage = intParam(req, 'per_page', 50, 1, 1000);
    const page = intParam(req, 'page', 1, 1, 1_000_000);
    const res = queries.list(f, { sort: qs(req, 'sort'), perPage, page, searchAfter: qs(req, 'search_after'), searchBefore: qs(req, 'search_before'), trackTotalHits: trackTotalHits(req) });
    sendJson(reply, 200, { total: res.total, total_relation: res.totalRelation, ...(res.page !== undefined ? { page: res.page } : {}), per_page: perPage, next: res.next, prev: res.prev, alerts: res.rows.map(alertSummary) });
  });

  // Alerts over time by severity, for the same filters as the list.
  app.get('/api/alerts/_histogram', { config: read }, (req, reply) => {
    const buckets = intParam(req, 'buckets', 60, 1, 500);
    const interval = qs(req, 'interval') === undefined ? undefined : intParam(req, 'interval', 0, 1000, 366 * 86_400_000);
    sendJson(reply, 200, queries.histogram(queryFilter(req), buckets, interval));
  });

  // The most frequent values of rule, host, user or severity among the filtered alerts.
  app.get('/api/alerts/_facets', { config: read }, (req, reply) => {
    const field = qs(req, 'field');
    if (!field) throw badRequest('field is required (rule, host, user or severity)', 'illegal_argument_exception');
    sendJson(reply, 200, queries.facets(queryFilter(req), field, intParam(req, 'size', 50, 1, 1000)));
  });

  // Live updates as Server-Sent Events: `alerts` (new alerts written) and `status` (workflow changes).
  app.get('/api/alerts/_stream', { config: read }, (req, reply) => {
    deps.feed.subscribe(req, reply);
  });

  app.get('/api/alerts/:id', { config: read }, (req, reply) => {
    const { id } = req.params as { id: string };
    const row = alerts.db.prepare(`SELECT ${ALERT_DETAIL_COLUMNS}, a.doc FROM alerts a WHERE a.id = ?`).get(id) as (AlertRow & { doc: string }) | undefined;
    if (!row) throw notFound(`no alert with id [${id}]`);
    const doc = JSON.parse(row.doc) as Record<string, unknown>;
    const blocks =
      row.group_id && row.building_block === 0
        ? (alerts.db.prepare('SELECT doc FROM alerts WHERE group_id = ? AND building_block = 1').all(row.group_id) as { doc: string }[])
            .map((r) => JSON.parse(r.doc) as Record<string, unknown>)
            .sort((a, b) => Number(a['kibana.alert.group.index'] ?? 0) - Number(b['kibana.alert.group.index'] ?? 0))
        : [];
    // Source events: the alert's event ancestors, looked up in the event store (while retained).
    const ancestors = (Array.isArray(doc['kibana.alert.ancestors']) ? doc['kibana.alert.ancestors'] : []) as { id: string; index: string; type: string }[];
    const events: { _index: string; _id: string; _source: Record<string, unknown> | null }[] = [];
    try {
      if (!deps.store) throw new Error('no event store');
      const get = deps.store.db().prepare('SELECT ingested, src FROM events WHERE id = ? AND idx = ?');
      for (const a of ancestors.filter((x) => x.type === 'event')) {
        const r = get.get(a.id, a.index) as { ingested: number; src: string } | undefined;
        events.push({ _index: a.index, _id: a.id, _source: r ? eventSource(r) : null });
      }
    } catch {
      // Event store not readable: the alert is still shown.
    }
    const history = (alerts.db.prepare('SELECT status, at, by FROM alert_status_history WHERE id = ? ORDER BY seq').all(id) as { status: string; at: number; by: string | null }[]).map((h) => ({
      status: h.status,
      at: new Date(h.at).toISOString(),
      by: h.by,
    }));
    sendJson(reply, 200, { alert: doc, summary: alertSummary(row), building_blocks: blocks, events: deps.store ? events : [], status_history: history });
  });

  const setStatus = async (req: FastifyRequest, reply: FastifyReply, ids?: string[]) => {
    const body = ((await readJsonBody(req, limit)) ?? {}) as Record<string, unknown>;
    const status = body.status;
    if (typeof status !== 'string' || !(WORKFLOW_STATUSES as readonly string[]).includes(status)) throw badRequest('body.status must be open, acknowledged or closed', 'illegal_argument_exception');
    let target = ids;
    if (!target) {
      if (Array.isArray(body.ids)) target = body.ids.map(String);
      else if (body.query !== null && typeof body.query === 'object' && !Array.isArray(body.query)) {
        // Every alert a list filter matches (the list's parameters as an object).
        const q = body.query as Record<string, unknown>;
        target = queries.ids(parseFilter((name) => q[name]), 100_001);
      } else throw badRequest('body.ids must list the alert ids (or body.query hold a list filter)', 'illegal_argument_exception');
    }
    if (target.length > 100_000) throw badRequest('at most 100000 ids per request', 'illegal_argument_exception');
    const by = req.principal ? `${req.principal.kind === 'api_key' ? 'api_key' : 'user'}:${req.principal.name}` : null;
    const updated = await alerts.setStatus(target, status as WorkflowStatus, by ?? 'anonymous');
    deps.feed.poke();
    sendJson(reply, 200, { updated, status });
  };
  app.post('/api/alerts/_status', { config: write }, (req, reply) => setStatus(req, reply));
  app.put('/api/alerts/:id/status', { config: write }, (req, reply) => setStatus(req, reply, [(req.params as { id: string }).id]));

  // ---- rules
  const alertCounts = () => {
    const m = new Map<string, number>();
    for (const r of alerts.db.prepare('SELECT rule_id, COUNT(*) AS n FROM alerts WHERE building_block = 0 GROUP BY rule_id').all() as { rule_id: string; n: number }[]) m.set(r.rule_id, r.n);
    return m;
  };
  const ruleSummary = (r: ServedRule, counts: Map<string, number>) => {
    const st = detection?.ruleState(r.uuid) ?? NO_RUNS;
    return {
      rule_id: r.rule.rule_id,
      id: r.uuid,
      name: r.rule.name,
      severity: r.rule.severity,
      risk_score: r.rule.risk_score,
      type: r.rule.type,
      enabled: r.enabled,
      runnable: r.skip === null,
      not_runnable_reason: r.skip,
      source: r.source,
      interval: r.rule.interval,
      from: r.rule.from,
      to: r.rule.to,
      tags: r.rule.tags,
      last_run: st.last_run,
      errors: [...r.problems, ...(st.last_run?.error ? [st.last_run.error] : [])],
      gaps: { unfilled: st.gaps.filter((g) => g.status === 'unfilled').length, total: st.gaps.length },
      alerts: counts.get(r.rule.rule_id) ?? 0,
    };
  };
  app.get('/api/rules', { config: read }, (req, reply) => {
    const enabled = qs(req, 'enabled');
    const q = qs(req, 'q')?.toLowerCase();
    const page = intParam(req, 'page', 1, 1, 1_000_000);
    const perPage = intParam(req, 'per_page', 100, 1, 10_000);
    let all = rules.current.all;
    if (enabled !== undefined) all = all.filter((r) => r.enabled === (enabled === 'true'));
    if (q) all = all.filter((r) => r.rule.name.toLowerCase().includes(q) || r.rule.rule_id.toLowerCase().includes(q) || r.rule.tags.some((t) => t.toLowerCase().includes(q)));
    const counts = alertCounts();
    const slice = [...all].sort((a, b) => a.rule.name.localeCompare(b.rule.name)).slice((page - 1) * perPage, page * perPage);
    sendJson(reply, 200, { total: all.length, page, per_page: perPage, live, load_errors: rules.loadErrors, rules: slice.map((r) => ruleSummary(r, counts)) });
  });
  const findRule = (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const r = rules.find(id);
    if (!r) throw notFound(`no rule with rule_id or id [${id}]`);
    return r;
  };
  app.get('/api/rules/:id', { config: read }, (req, reply) => {
    const r = findRule(req);
    const st = detection?.ruleState(r.uuid) ?? NO_RUNS;
    const { extra, origin, unsupported: _u, ...rule } = r.rule;
    void extra;
    // The rule's exception lists with their items, as the engine applies them.
    const exceptions = (r.rule.exceptions_list ?? []).map((ref) => {
      const l = rules.current.exceptionLists.find((x) => x.list_id === ref.list_id && x.namespace_type === ref.namespace_type);
      return { list_id: ref.list_id, namespace_type: ref.namespace_type, type: ref.type, found: l !== undefined, name: l?.name, items: l?.items ?? [] };
    });
    sendJson(reply, 200, { ...ruleSummary(r, alertCounts()), live, rule: { ...rule, file: origin.file }, exceptions, runs: st.runs, gaps: st.gaps });
  });
  for (const [path, on] of [
    ['/api/rules/:id/_enable', true],
    ['/api/rules/:id/_disable', false],
  ] as const) {
    app.post(path, { config: write }, (req, reply) => {
      const r = findRule(req);
      rules.setEnabled(r.rule.rule_id, on);
      sendJson(reply, 200, ruleSummary(rules.find(r.rule.rule_id)!, alertCounts()));
    });
  }
  app.post('/api/rules/:id/_run', { config: write }, async (req, reply) => {
    const r = findRule(req);
    const body = ((await readJsonBody(req, limit)) ?? {}) as Record<string, unknown>;
    const start = parseInstant(body.start);
    const end = body.end === undefined ? { ms: Date.now() } : parseInstant(body.end);
    if (!start || !end || start.ms >= end.ms) throw badRequest('body.start and body.end must be times with start < end', 'illegal_argument_exception');
    if (!detection) throw badRequest('rules do not run over a hunt --db store (eqlite ui)', 'illegal_argument_exception');
    if (!r.enabled || r.skip) throw badRequest(`rule [${r.rule.rule_id}] is ${r.skip ? 'not runnable' : 'disabled'}`, 'illegal_argument_exception');
    const res = await detection.manualRun(r.rule.rule_id, start.ms, end.ms);
    sendJson(reply, 200, res ?? { runs: 0, alerts: 0 });
  });

  // Kibana's import: multipart/form-data with a `file` part (what Kibana's UI and curl --form send),
  // or the NDJSON as the body.
  app.post('/api/detection_engine/rules/_import', { config: write }, async (req, reply) => {
    const text = await readTextBody(req, limit);
    const ct = String(req.headers['content-type'] ?? '');
    const ndjson = ct.startsWith('multipart/form-data') ? multipartFile(text, ct) : text;
    if (ndjson.trim() === '') throw badRequest('the import needs an NDJSON export in a "file" part or as the body', 'illegal_argument_exception');
    const overwrite = qs(req, 'overwrite') === 'true';
    const overwriteExceptions = qs(req, 'overwrite_exceptions') === 'true';
    sendJson(reply, 200, rules.import(ndjson, overwrite, overwriteExceptions));
  });
}

/** The content of the first file part of a multipart/form-data body. */
function multipartFile(body: string, contentType: string): string {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) throw badRequest('multipart body without a boundary', 'illegal_argument_exception');
  const boundary = `--${m[1] ?? m[2]}`;
  for (const part of body.split(boundary)) {
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) continue;
    const head = part.slice(0, sep);
    if (!/content-disposition:[^\r\n]*name="file"/i.test(head) && !/filename=/i.test(head)) continue;
    return part.slice(sep + 4).replace(/\r\n$/, '');
  }
  throw badRequest('multipart body without a "file" part', 'illegal_argument_exception');
}
