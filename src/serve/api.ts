// eqlite's own JSON API (documented in README "Live detection → API"), the one the web UI is built
// on: alerts (list with filters, paging and sorting; one alert with its building blocks and source
// events; workflow status) and rules (list, show, enable/disable, last run, errors, gaps, manual
// runs, Kibana's rule import).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseInstant } from '../events/time.js';
import { WORKFLOW_STATUSES, type ServedAlerts, type WorkflowStatus } from './alerts.js';
import type { ServeConfig } from './config.js';
import type { Detection } from './detection.js';
import { badRequest, notFound, qs, readJsonBody, readTextBody, sendJson } from './http.js';
import type { RuleSet, ServedRule } from './rules.js';
import { eventSource, type EventStore } from './store/event-store.js';

export interface ApiDeps {
  config: ServeConfig;
  alerts: ServedAlerts;
  rules: RuleSet;
  detection: Detection;
  store: EventStore;
}

const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const SORTABLE: Record<string, string> = {
  '@timestamp': 'a."@timestamp"',
  timestamp: 'a."@timestamp"',
  original_time: 'a.original_time',
  severity: "CASE a.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END",
  risk_score: 'a.risk_score',
  rule: 'a.rule_name',
  host: 'a.host_name',
  user: 'a.user_name',
  status: "COALESCE(s.status, 'open')",
};

function list(v: string | undefined): string[] {
  return v === undefined ? [] : v.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

function intParam(req: FastifyRequest, name: string, dflt: number, min: number, max: number): number {
  const v = qs(req, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(`${name} must be an integer from ${min} to ${max}`, 'illegal_argument_exception');
  return n;
}

function timeParam(req: FastifyRequest, name: string): string | undefined {
  const v = qs(req, name);
  if (v === undefined) return undefined;
  const t = parseInstant(v);
  if (!t) throw badRequest(`${name} must be an ISO 8601 time or epoch milliseconds`, 'illegal_argument_exception');
  return new Date(t.ms).toISOString();
}

interface Filters {
  where: string[];
  args: unknown[];
}

/** The alert list's filters as SQL over alerts (a) joined with their workflow status (s). */
function alertFilters(req: FastifyRequest): Filters {
  const where: string[] = [];
  const args: unknown[] = [];
  const inList = (col: string, values: string[]) => {
    if (values.length === 0) return;
    where.push(`${col} IN (${values.map(() => '?').join(',')})`);
    args.push(...values);
  };
  const status = list(qs(req, 'status'));
  for (const s of status) if (!(WORKFLOW_STATUSES as readonly string[]).includes(s)) throw badRequest(`status must be open, acknowledged or closed, found [${s}]`, 'illegal_argument_exception');
  inList("COALESCE(s.status, 'open')", status);
  const sev = list(qs(req, 'severity'));
  for (const s of sev) if (!SEVERITIES.includes(s)) throw badRequest(`severity must be low, medium, high or critical, found [${s}]`, 'illegal_argument_exception');
  inList('a.severity', sev);
  const rules = list(qs(req, 'rule'));
  if (rules.length > 0) {
    where.push(`(a.rule_id IN (${rules.map(() => '?').join(',')}) OR a.rule_name IN (${rules.map(() => '?').join(',')}))`);
    args.push(...rules, ...rules);
  }
  inList('a.host_name', list(qs(req, 'host')));
  inList('a.user_name', list(qs(req, 'user')));
  const from = timeParam(req, 'from');
  const to = timeParam(req, 'to');
  if (from) {
    where.push('a."@timestamp" >= ?');
    args.push(from);
  }
  if (to) {
    where.push('a."@timestamp" <= ?');
    args.push(to);
  }
  const bb = qs(req, 'building_blocks');
  if (bb !== 'true') where.push('a.building_block = 0');
  const q = qs(req, 'q');
  if (q) {
    where.push('(a.reason LIKE ? OR a.rule_name LIKE ? OR a.host_name LIKE ? OR a.user_name LIKE ?)');
    const like = `%${q.replace(/[%_\\]/g, (c) => '\\' + c)}%`;
    args.push(like, like, like, like);
    where[where.length - 1] = where[where.length - 1]!.replace(/LIKE \?/g, "LIKE ? ESCAPE '\\'");
  }
  return { where, args };
}

type AlertRow = {
  id: string;
  rule_id: string;
  rule_name: string;
  severity: string;
  risk_score: number | null;
  ts: string;
  original_time: string | null;
  host_name: string | null;
  user_name: string | null;
  building_block: number;
  group_id: string | null;
  reason: string | null;
  status: string;
};

function summary(r: AlertRow) {
  return {
    id: r.id,
    '@timestamp': r.ts,
    original_time: r.original_time,
    rule: { rule_id: r.rule_id, name: r.rule_name },
    severity: r.severity,
    risk_score: r.risk_score,
    host: r.host_name,
    user: r.user_name,
    reason: r.reason,
    status: r.status,
    building_block: r.building_block === 1,
    group_id: r.group_id,
  };
}

const ALERT_COLUMNS = `a.id, a.rule_id, a.rule_name, a.severity, a.risk_score, a."@timestamp" AS ts, a.original_time, a.host_name, a.user_name, a.building_block, a.group_id, a.reason, COALESCE(s.status, 'open') AS status`;

export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const { alerts, rules, detection } = deps;
  const read = { privilege: 'read' };
  const write = { privilege: 'write' };
  const limit = deps.config.ingest.maxBodyBytes;

  // ---- alerts
  app.get('/api/alerts', { config: read }, (req, reply) => {
    const f = alertFilters(req);
    const page = intParam(req, 'page', 1, 1, 1_000_000);
    const perPage = intParam(req, 'per_page', 50, 1, 1000);
    const sortSpec = qs(req, 'sort') ?? '@timestamp:desc';
    const order: string[] = [];
    for (const part of list(sortSpec)) {
      const [field, dir = 'asc'] = part.split(':');
      const col = SORTABLE[field!];
      if (!col || (dir !== 'asc' && dir !== 'desc')) throw badRequest(`cannot sort by [${part}]: use one of ${Object.keys(SORTABLE).join(', ')} with :asc or :desc`, 'illegal_argument_exception');
      order.push(`${col} ${dir.toUpperCase()}`);
    }
    order.push('a.id ASC');
    const where = f.where.length > 0 ? `WHERE ${f.where.join(' AND ')}` : '';
    const from = `FROM alerts a LEFT JOIN alert_status s ON s.id = a.id ${where}`;
    const total = (alerts.db.prepare(`SELECT COUNT(*) AS n ${from}`).get(...f.args) as { n: number }).n;
    const rows = alerts.db.prepare(`SELECT ${ALERT_COLUMNS} ${from} ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`).all(...f.args, perPage, (page - 1) * perPage) as AlertRow[];
    sendJson(reply, 200, { total, page, per_page: perPage, alerts: rows.map(summary) });
  });

  app.get('/api/alerts/:id', { config: read }, (req, reply) => {
    const { id } = req.params as { id: string };
    const row = alerts.db.prepare(`SELECT ${ALERT_COLUMNS}, a.doc FROM alerts a LEFT JOIN alert_status s ON s.id = a.id WHERE a.id = ?`).get(id) as (AlertRow & { doc: string }) | undefined;
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
    sendJson(reply, 200, { alert: doc, summary: summary(row), building_blocks: blocks, events, status_history: history });
  });

  const setStatus = async (req: FastifyRequest, reply: FastifyReply, ids?: string[]) => {
    const body = ((await readJsonBody(req, limit)) ?? {}) as Record<string, unknown>;
    const status = body.status;
    if (typeof status !== 'string' || !(WORKFLOW_STATUSES as readonly string[]).includes(status)) throw badRequest('body.status must be open, acknowledged or closed', 'illegal_argument_exception');
    let target = ids;
    if (!target) {
      if (Array.isArray(body.ids)) target = body.ids.map(String);
      else throw badRequest('body.ids must list the alert ids', 'illegal_argument_exception');
    }
    if (target.length > 100_000) throw badRequest('at most 100000 ids per request', 'illegal_argument_exception');
    const by = req.principal ? `${req.principal.kind === 'api_key' ? 'api_key' : 'user'}:${req.principal.name}` : null;
    const updated = await alerts.setStatus(target, status as WorkflowStatus, by ?? 'anonymous');
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
    const st = detection.ruleState(r.uuid);
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
    sendJson(reply, 200, { total: all.length, page, per_page: perPage, load_errors: rules.loadErrors, rules: slice.map((r) => ruleSummary(r, counts)) });
  });
  const findRule = (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const r = rules.find(id);
    if (!r) throw notFound(`no rule with rule_id or id [${id}]`);
    return r;
  };
  app.get('/api/rules/:id', { config: read }, (req, reply) => {
    const r = findRule(req);
    const st = detection.ruleState(r.uuid);
    const { extra, origin, unsupported: _u, ...rule } = r.rule;
    void extra;
    sendJson(reply, 200, { ...ruleSummary(r, alertCounts()), rule: { ...rule, file: origin.file }, runs: st.runs, gaps: st.gaps });
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
    if (!r.enabled || r.skip) throw badRequest(`rule [${r.rule.rule_id}] is ${r.skip ? 'not runnable' : 'disabled'}`, 'illegal_argument_exception');
    const res = detection.manualRun(r.rule.rule_id, start.ms, end.ms);
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
