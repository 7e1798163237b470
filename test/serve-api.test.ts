// `eqlite serve` APIs: security (API keys, basic auth, roles), the alerts and rules JSON API, the
// Elasticsearch read APIs through the official client (search, count, eql.search), rule import
// in Kibana's format, and webhook notifications with retries against a local receiver.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inferIndex } from '../src/events/sources.js';
import { ndjson, req, startService, type TestService } from './serve-helpers.js';

const SEED_NAME = 'Windows Script Interpreter Executing Process via WMI';

function sampleBody(): string {
  const lines: unknown[] = [];
  for (const l of readFileSync(path.resolve('examples/windows-sample.ndjson'), 'utf8').split('\n')) {
    if (l.trim() === '') continue;
    const d = JSON.parse(l) as Record<string, unknown>;
    lines.push({ create: { _index: inferIndex(d) } }, d);
  }
  return ndjson(lines);
}

async function waitForAlerts(t: TestService, n: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (t.svc.alerts.count() < n && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  expect(t.svc.alerts.count()).toBe(n);
}

describe('security', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService();
  });
  afterAll(async () => {
    await t.close();
  });

  test('open until the first credential exists; then every endpoint but /healthz needs one, by role', async () => {
    expect((await req(`${t.url}/`, 'GET')).status).toBe(200);
    const ingest = await t.svc.credentials.createApiKey('winlogbeat', 'ingest');
    const reader = await t.svc.credentials.createApiKey('soar', 'read');
    await t.svc.credentials.setUser('analyst', 'correct horse battery', 'admin');
    const apiKey = (k: { encoded: string }) => ({ authorization: `ApiKey ${k.encoded}` });
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

    expect((await req(`${t.url}/healthz`, 'GET')).status).toBe(200);
    const none = await req(`${t.url}/`, 'GET');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('ApiKey');
    expect(none.headers.get('x-elastic-product')).toBe('Elasticsearch');
    for (const path of ['/_bulk', '/api/alerts', '/metrics', '/logs-*/_eql/search', '/.alerts-security.alerts-*/_search']) {
      const get = path === '/api/alerts' || path === '/metrics';
      expect((await req(`${t.url}${path}`, get ? 'GET' : 'POST', get ? undefined : '{}', { 'content-type': 'application/json' })).status).toBe(401);
    }
    // Wrong credentials: one answer whatever was wrong.
    const wrongKey = await req(`${t.url}/`, 'GET', undefined, { authorization: `ApiKey ${Buffer.from(`${ingest.id}:nope`).toString('base64')}` });
    const unknownId = await req(`${t.url}/`, 'GET', undefined, { authorization: `ApiKey ${Buffer.from('nobody:nope').toString('base64')}` });
    const wrongPassword = await req(`${t.url}/`, 'GET', undefined, basic('analyst', 'wrong password'));
    for (const r of [wrongKey, unknownId, wrongPassword]) {
      expect(r.status).toBe(401);
      expect(r.json.error.reason).toBe('unable to authenticate with provided credentials');
    }
    // Ingest role: the shipper's calls, not the data.
    const bulk = await req(`${t.url}/_bulk`, 'POST', ndjson([{ create: { _index: 'logs-a-default' } }, { '@timestamp': '2025-08-01T10:00:00Z' }]), { ...apiKey(ingest), 'content-type': 'application/json' });
    expect(bulk.status).toBe(200);
    expect((await req(`${t.url}/_license`, 'GET', undefined, apiKey(ingest))).status).toBe(200);
    expect((await req(`${t.url}/api/alerts`, 'GET', undefined, apiKey(ingest))).status).toBe(403);
    // Read role: searches and alerts, no ingest, no changes.
    expect((await req(`${t.url}/api/alerts`, 'GET', undefined, apiKey(reader))).status).toBe(200);
    expect((await req(`${t.url}/_bulk`, 'POST', '{}', { ...apiKey(reader), 'content-type': 'application/json' })).status).toBe(403);
    expect((await req(`${t.url}/api/alerts/_status`, 'POST', { ids: [], status: 'closed' }, apiKey(reader))).status).toBe(403);
    // Admin user with basic auth: everything.
    expect((await req(`${t.url}/api/alerts/_status`, 'POST', { ids: [], status: 'closed' }, basic('analyst', 'correct horse battery'))).status).toBe(200);
    // Revoked keys stop working at once, and revoking everything does not open the service.
    expect(t.svc.credentials.revoke(ingest.id)).toBe(1);
    expect((await req(`${t.url}/_license`, 'GET', undefined, apiKey(ingest))).status).toBe(401);
    t.svc.credentials.revoke(reader.id);
    t.svc.credentials.revoke('analyst');
    expect((await req(`${t.url}/`, 'GET')).status).toBe(401);
    // Secrets are stored as scrypt hashes only.
    const rows = t.svc.state.prepare('SELECT hash FROM credentials').all() as { hash: Buffer }[];
    for (const r of rows) expect(r.hash.toString('utf8')).not.toContain(ingest.api_key);
  });
});

describe('alerts and rules API, Elasticsearch read APIs', () => {
  let t: TestService;
  let client: Client;
  beforeAll(async () => {
    t = await startService();
    client = new Client({ node: t.url });
    const r = await req(`${t.url}/_bulk?filter_path=errors`, 'POST', sampleBody(), { 'content-type': 'application/json' });
    expect(r.json).toEqual({ errors: false });
    await waitForAlerts(t, 27);
  });
  afterAll(async () => {
    await client.close();
    await t.close();
  });

  test('list with filters, paging and sorting; building blocks hidden unless asked', async () => {
    const all = await req(`${t.url}/api/alerts`, 'GET');
    expect(all.json.total).toBe(9);
    expect(all.json.alerts[0]).toMatchObject({ rule: { name: SEED_NAME }, severity: 'medium', risk_score: 47, status: 'open', building_block: false });
    expect((await req(`${t.url}/api/alerts?building_blocks=true`, 'GET')).json.total).toBe(27);
    const page = await req(`${t.url}/api/alerts?per_page=4&page=3&sort=original_time:asc`, 'GET');
    expect(page.json.alerts).toHaveLength(1);
    const byTime = (await req(`${t.url}/api/alerts?sort=original_time:asc`, 'GET')).json.alerts.map((a: { original_time: string }) => a.original_time);
    expect(byTime).toEqual([...byTime].sort());
    const host = all.json.alerts[0].host as string;
    const forHost = await req(`${t.url}/api/alerts?host=${encodeURIComponent(host)}`, 'GET');
    expect(forHost.json.alerts.every((a: { host: string }) => a.host === host)).toBe(true);
    expect((await req(`${t.url}/api/alerts?severity=high,critical`, 'GET')).json.total).toBe(0);
    expect((await req(`${t.url}/api/alerts?rule=${encodeURIComponent(SEED_NAME)}`, 'GET')).json.total).toBe(9);
    expect((await req(`${t.url}/api/alerts?from=2999-01-01T00:00:00Z`, 'GET')).json.total).toBe(0);
    expect((await req(`${t.url}/api/alerts?status=bogus`, 'GET')).status).toBe(400);
    expect((await req(`${t.url}/api/alerts?sort=nonsense:asc`, 'GET')).status).toBe(400);
  });

  test('one alert with its building blocks and source events; workflow status on one or many', async () => {
    const list = (await req(`${t.url}/api/alerts?sort=original_time:asc`, 'GET')).json.alerts as { id: string }[];
    const one = await req(`${t.url}/api/alerts/${list[0]!.id}`, 'GET');
    expect(one.status).toBe(200);
    expect(one.json.building_blocks).toHaveLength(2);
    expect(one.json.building_blocks.map((b: Record<string, unknown>) => b['kibana.alert.group.index'])).toEqual([0, 1]);
    expect(one.json.events).toHaveLength(2);
    expect(one.json.events[0]._source.dll.name.toLowerCase()).toBe('wmiutils.dll');
    expect(one.json.events[1]._source.process.parent.name.toLowerCase()).toBe('wmiprvse.exe');
    expect((await req(`${t.url}/api/alerts/nope`, 'GET')).status).toBe(404);

    const ids = list.slice(0, 3).map((a) => a.id);
    const upd = await req(`${t.url}/api/alerts/_status`, 'POST', { ids, status: 'closed' });
    expect(upd.json).toEqual({ updated: 3, status: 'closed' });
    expect((await req(`${t.url}/api/alerts/${ids[0]}/status`, 'PUT', { status: 'acknowledged' })).json.updated).toBe(1);
    expect((await req(`${t.url}/api/alerts?status=closed`, 'GET')).json.total).toBe(2);
    expect((await req(`${t.url}/api/alerts?status=acknowledged`, 'GET')).json.total).toBe(1);
    expect((await req(`${t.url}/api/alerts?status=open`, 'GET')).json.total).toBe(6);
    const after = await req(`${t.url}/api/alerts/${ids[0]}`, 'GET');
    expect(after.json.alert['kibana.alert.workflow_status']).toBe('acknowledged');
    expect(after.json.status_history.map((h: { status: string }) => h.status)).toEqual(['closed', 'acknowledged']);
    expect((await req(`${t.url}/api/alerts/_status`, 'POST', { ids, status: 'done' })).status).toBe(400);
  });

  test('rules: list, show, disable and enable', async () => {
    const rules = await req(`${t.url}/api/rules`, 'GET');
    expect(rules.json.total).toBe(1);
    const r = rules.json.rules[0];
    expect(r).toMatchObject({ name: SEED_NAME, enabled: true, runnable: true, interval: '5m', from: 'now-9m', alerts: 9 });
    const show = await req(`${t.url}/api/rules/${r.rule_id}`, 'GET');
    expect(show.json.rule.query).toContain('sequence by host.id');
    expect(Array.isArray(show.json.runs)).toBe(true);
    const off = await req(`${t.url}/api/rules/${r.rule_id}/_disable`, 'POST');
    expect(off.json.enabled).toBe(false);
    expect(t.svc.rules.current.prepared).toHaveLength(0);
    expect((await req(`${t.url}/api/rules?enabled=false`, 'GET')).json.total).toBe(1);
    expect((await req(`${t.url}/api/rules/${r.rule_id}/_enable`, 'POST')).json.enabled).toBe(true);
    expect(t.svc.rules.current.prepared).toHaveLength(1);
    expect((await req(`${t.url}/api/rules/unknown-rule`, 'GET')).status).toBe(404);
  });

  test('the Elasticsearch client: search and count on the alerts index, eql.search on the events', async () => {
    const res = await client.search({
      index: '.alerts-security.alerts-*',
      size: 5,
      from: 0,
      sort: [{ 'kibana.alert.original_time': { order: 'asc' } }],
      query: {
        bool: {
          filter: [{ term: { 'kibana.alert.rule.name': SEED_NAME } }, { terms: { 'kibana.alert.severity': ['medium', 'high'] } }, { range: { '@timestamp': { gte: '2000-01-01T00:00:00Z' } } }, { exists: { field: 'host.name' } }],
          must_not: [{ exists: { field: 'kibana.alert.building_block_type' } }],
        },
      },
    });
    expect((res.hits.total as { value: number }).value).toBe(9);
    expect(res.hits.hits).toHaveLength(5);
    const times = res.hits.hits.map((h) => (h._source as Record<string, string>)['kibana.alert.original_time']);
    expect(times).toEqual([...times].sort());
    expect(res.hits.hits[0]!._id).toBe((res.hits.hits[0]!._source as Record<string, string>)['kibana.alert.uuid']);
    expect((await client.count({ index: '.alerts-security.alerts-default' })).count).toBe(27);
    expect((await client.count({ index: '.alerts-security.alerts-*', query: { term: { 'kibana.alert.building_block_type': 'default' } } })).count).toBe(18);
    expect((await client.count({ index: 'logs-endpoint.events.*' })).count).toBeGreaterThan(0);

    const eql = await client.eql.search({
      index: 'logs-endpoint.events.*',
      query: 'sequence by host.id with maxspan=5s [library where dll.name : "wmiutils.dll"] [process where process.parent.name : "wmiprvse.exe"]',
      size: 2,
    });
    expect(eql.hits.sequences).toHaveLength(2);
    expect(eql.hits.sequences![0]!.events).toHaveLength(2);
    const events = await client.eql.search({ index: 'logs-*', query: 'process where process.name : "cscript.exe"', size: 3, filter: { term: { 'host.os.type': 'windows' } }, fetch_size: 100, result_position: 'head' });
    expect(events.hits.events).toHaveLength(3);
    const bad = await req(`${t.url}/logs-*/_eql/search`, 'POST', { query: 'process where process.name = "x"' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.type).toBe('verification_exception');
  });

  test('metrics: ingest, store, detection', async () => {
    const m = await req(`${t.url}/metrics`, 'GET');
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/^eqlite_events_stored_total 1800$/m);
    expect(m.text).toMatch(/^eqlite_alerts_written_total\{severity="medium",mode="realtime"\} 27$/m);
    expect(m.text).toContain('eqlite_bulk_duration_seconds_bucket');
    expect(m.text).toContain('eqlite_realtime_alert_latency_seconds_count');
    // Buckets fine enough around the promise (a p99 under 1 s) to tell where in it the alerts fall.
    const les = [...m.text.matchAll(/^eqlite_realtime_alert_latency_seconds_bucket\{le="([^"]+)"\}/gm)].map((x) => x[1]);
    expect(les).toEqual(['0.005', '0.01', '0.025', '0.05', '0.1', '0.2', '0.3', '0.4', '0.5', '0.6', '0.7', '0.8', '0.9', '0.95', '1', '1.5', '2', '2.5', '5', '10', '+Inf']);
    expect(m.text).toMatch(/^eqlite_store_bytes\{store="events"\} \d+/m);
  });
});

describe('rule import and webhooks', () => {
  let t: TestService;
  let receiver: Server;
  const received: { body: any; attempt: number }[] = [];
  let failuresLeft = 2;
  beforeAll(async () => {
    receiver = createServer((rq, rs) => {
      const chunks: Buffer[] = [];
      rq.on('data', (c: Buffer) => chunks.push(c));
      rq.on('end', () => {
        received.push({ body: JSON.parse(Buffer.concat(chunks).toString()), attempt: received.length + 1 });
        if (failuresLeft-- > 0) rs.writeHead(503).end();
        else rs.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    t = await startService((c) => {
      c.webhookRetryBaseMs = 50;
      c.webhooks = [{ name: 'soar', url: `http://127.0.0.1:${port}/hook`, rules: [], minSeverity: 'medium', headers: { 'x-token': 't0k' }, buildingBlocks: false, maxAttempts: 5, timeoutMs: 2000 }];
    });
  });
  afterAll(async () => {
    await t.close();
    await new Promise((r) => receiver.close(r));
  });

  test('a Kibana export with an exception list imports; the exception applies; duplicates need overwrite', async () => {
    const rule = {
      id: '5b8c7a3e-1111-4d2e-9e0f-0123456789ab',
      rule_id: 'imported-whoami',
      name: 'Whoami Execution (imported)',
      type: 'eql',
      language: 'eql',
      query: 'process where process.name : "whoami.exe"',
      index: ['logs-*'],
      severity: 'high',
      risk_score: 73,
      interval: '5m',
      from: 'now-9m',
      enabled: true,
      exceptions_list: [{ id: 'c0ffee00-0000-4000-8000-000000000001', list_id: 'whoami-exceptions', type: 'detection', namespace_type: 'single' }],
    };
    const list = { id: 'c0ffee00-0000-4000-8000-000000000001', list_id: 'whoami-exceptions', type: 'detection', namespace_type: 'single', name: 'whoami exceptions', description: 'admins' };
    const item = {
      item_id: 'exc-1',
      list_id: 'whoami-exceptions',
      namespace_type: 'single',
      type: 'simple',
      name: 'admin host',
      entries: [{ field: 'host.name', operator: 'included', type: 'match', value: 'admin-01' }],
    };
    const exportText = ndjson([rule, list, item, { exported_count: 3, exported_rules_count: 1, missing_rules: [], exported_exception_list_count: 1, exported_exception_list_item_count: 1 }]);
    const boundary = '----eqlite' + Date.now();
    const form = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="rules_export.ndjson"\r\nContent-Type: application/octet-stream\r\n\r\n${exportText}\r\n--${boundary}--\r\n`;
    const r = await req(`${t.url}/api/detection_engine/rules/_import`, 'POST', form, { 'content-type': `multipart/form-data; boundary=${boundary}`, 'kbn-xsrf': 'true' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ success: true, success_count: 1, rules_count: 1, errors: [], exceptions_success: true, exceptions_success_count: 1 });
    const shown = await req(`${t.url}/api/rules/imported-whoami`, 'GET');
    expect(shown.json).toMatchObject({ source: 'import', enabled: true, runnable: true, severity: 'high' });
    const again = await req(`${t.url}/api/detection_engine/rules/_import`, 'POST', exportText, { 'content-type': 'application/x-ndjson' });
    expect(again.json.success).toBe(false);
    expect(again.json.errors[0]).toEqual({ rule_id: 'imported-whoami', error: { status_code: 409, message: 'rule_id: "imported-whoami" already exists' } });
    const over = await req(`${t.url}/api/detection_engine/rules/_import?overwrite=true&overwrite_exceptions=true`, 'POST', exportText, { 'content-type': 'application/x-ndjson' });
    expect(over.json.success).toBe(true);

    // Two whoami events; the one from admin-01 is excepted.
    const ev = (host: string, n: number) => ({ '@timestamp': '2025-08-01T10:00:00Z', event: { category: ['process'], type: ['start'] }, host: { name: host }, process: { name: 'whoami.exe', pid: n } });
    await req(`${t.url}/_bulk`, 'POST', ndjson([{ create: { _index: 'logs-x-default', _id: 'w1' } }, ev('ws-07', 1), { create: { _index: 'logs-x-default', _id: 'w2' } }, ev('admin-01', 2)]), { 'content-type': 'application/json' });
    await waitForAlerts(t, 1);
    const alerts = await req(`${t.url}/api/alerts`, 'GET');
    expect(alerts.json.alerts.map((a: { host: string }) => a.host)).toEqual(['ws-07']);
  });

  test('a webhook gets each new alert as JSON, retried with backoff until it answers 2xx', async () => {
    const end = Date.now() + 15_000;
    while (received.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(received).toHaveLength(3);
    for (const r of received) {
      expect(r.body.webhook).toBe('soar');
      expect(r.body.rule).toMatchObject({ rule_id: 'imported-whoami', severity: 'high' });
      expect(r.body.alerts).toHaveLength(1);
      expect(r.body.alerts[0]['host']).toEqual({ name: 'ws-07' });
    }
    // The receiver saw the third request before it answered: the outbox empties right after.
    const outboxSize = () => (t.svc.state.prepare('SELECT COUNT(*) AS n FROM webhook_outbox').get() as { n: number }).n;
    const end2 = Date.now() + 5000;
    while (outboxSize() > 0 && Date.now() < end2) await new Promise((r) => setTimeout(r, 20));
    expect(outboxSize()).toBe(0);
    const m = await req(`${t.url}/metrics`, 'GET');
    expect(m.text).toMatch(/^eqlite_webhook_deliveries_total\{webhook="soar",outcome="retry"\} 2$/m);
    expect(m.text).toMatch(/^eqlite_webhook_deliveries_total\{webhook="soar",outcome="delivered"\} 1$/m);
  });
});

describe('rule files', () => {
  test('are hot-reloaded when they change', async () => {
    const { mkdtempSync, copyFileSync, readFileSync: read, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-rules-'));
    const file = path.join(dir, 'seed.toml');
    copyFileSync(path.resolve('rules/windows/initial_access_scripts_process_started_via_wmi.toml'), file);
    const t = await startService((c) => {
      c.rules = [dir];
    });
    try {
      expect((await req(`${t.url}/api/rules`, 'GET')).json.rules[0].name).toBe(SEED_NAME);
      writeFileSync(file, read(file, 'utf8').replace(`name = "${SEED_NAME}"`, 'name = "Renamed Seed Rule"'));
      const end = Date.now() + 15_000;
      let name = '';
      while (Date.now() < end) {
        name = (await req(`${t.url}/api/rules`, 'GET')).json.rules[0].name;
        if (name === 'Renamed Seed Rule') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(name).toBe('Renamed Seed Rule');
    } finally {
      await t.close();
    }
  });
});
