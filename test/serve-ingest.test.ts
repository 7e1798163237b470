// `eqlite serve` ingest: each shipper's real start-up and bulk sequence (es-ingest.md §1) replayed
// against a running service, checking every answer the way that client reads it; plus the bulk
// edge cases (gzip, malformed lines, duplicates, limits) and what ends up in the event store.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'node:http';
import { Client } from '@elastic/elasticsearch';
import { gzip, ndjson, req, startService, type Res, type TestService } from './serve-helpers.js';
import { BulkParser } from '../src/serve/bulk.js';

/** A raw Sysmon process-creation event as Winlogbeat 8/9 ships it (ECS mapping left to the pipeline). */
function rawSysmon(recordId: number, image: string, parent: string, time = '2025-08-01T10:00:00.000Z') {
  return {
    '@timestamp': time,
    agent: { type: 'winlogbeat', version: '9.1.2', name: 'ws-01' },
    host: { name: 'ws-01.corp.example' },
    event: { code: '1', provider: 'Microsoft-Windows-Sysmon', kind: 'event', created: time },
    winlog: {
      api: 'wineventlog',
      channel: 'Microsoft-Windows-Sysmon/Operational',
      provider_name: 'Microsoft-Windows-Sysmon',
      computer_name: 'ws-01.corp.example',
      event_id: '1',
      record_id: String(recordId),
      event_data: {
        RuleName: '-',
        UtcTime: time.replace('T', ' ').replace('Z', ''),
        ProcessGuid: `{00000000-0000-0000-0000-${String(recordId).padStart(12, '0')}}`,
        ProcessId: '4242',
        Image: image,
        CommandLine: image,
        User: 'CORP\\alice',
        ParentProcessGuid: '{00000000-0000-0000-0000-000000000001}',
        ParentProcessId: '1000',
        ParentImage: parent,
        ParentCommandLine: parent,
      },
    },
  };
}

/** Beats' strict reading of a bulk response (libbeat client.go): exactly 200, one single-key item per event, integer status. */
function beatsAccepts(r: Res, events: number): { acked: number; retried: number; dropped: number } {
  expect(r.status).toBe(200);
  const items = r.json.items as Record<string, { status: number }>[];
  expect(items).toHaveLength(events);
  let acked = 0;
  let retried = 0;
  let dropped = 0;
  for (const it of items) {
    expect(Object.keys(it)).toHaveLength(1);
    const s = Object.values(it)[0]!.status;
    expect(Number.isInteger(s)).toBe(true);
    if (s < 300 || s === 409) acked++;
    else if (s === 429 || s >= 500) retried++;
    else dropped++;
  }
  return { acked, retried, dropped };
}

function storedEvents(t: TestService): { idx: string; id: string; src: Record<string, unknown> }[] {
  return (t.svc.store.db().prepare('SELECT idx, id, src FROM events ORDER BY seq').all() as { idx: string; id: string; src: string }[]).map((r) => ({
    idx: r.idx,
    id: r.id,
    src: JSON.parse(r.src) as Record<string, unknown>,
  }));
}

describe('shippers against a running eqlite serve', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService();
  });
  afterAll(async () => {
    await t.close();
  });

  test('Winlogbeat: connect sequence, index management, pipeline, gzip bulk of raw events mapped to ECS', async () => {
    const ua = { 'user-agent': 'Winlogbeat/9.1.2 (windows; amd64; abc; 2025-07-01)', 'x-elastic-product-origin': 'beats' };
    // 1. GET / twice (version, flavour, then cluster_uuid); licence check in between.
    const info = await req(`${t.url}/`, 'GET', undefined, ua);
    expect(info.status).toBe(200);
    expect(info.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(info.json.version.number).toMatch(/^8\.19\.\d+$/);
    expect(info.json.version.build_flavor).toBe('default');
    const lic = await req(`${t.url}/_license?human=false`, 'GET', undefined, ua);
    expect(lic.status).toBe(200);
    expect(['oss', 'trial', 'basic', 'standard', 'gold', 'platinum', 'enterprise']).toContain(lic.json.license.type);
    expect(['active', 'inactive', 'expired']).toContain(lic.json.license.status);
    const again = await req(`${t.url}/`, 'GET', undefined, ua);
    expect(again.json.cluster_uuid).toBe(info.json.cluster_uuid);
    // 2. ILM, then template, then data stream: check (404 = missing), create, check again.
    expect((await req(`${t.url}/_ilm/policy/winlogbeat`, 'GET', undefined, ua)).status).toBe(404);
    expect((await req(`${t.url}/_ilm/policy/winlogbeat`, 'PUT', { policy: { phases: { hot: { actions: { rollover: { max_age: '30d' } } } } } }, ua)).status).toBe(200);
    const ilm = await req(`${t.url}/_ilm/policy/winlogbeat`, 'GET', undefined, ua);
    expect(ilm.status).toBe(200);
    expect(ilm.json.winlogbeat.policy.phases.hot.actions.rollover.max_age).toBe('30d');
    expect((await req(`${t.url}/_index_template/winlogbeat-9.1.2`, 'HEAD', undefined, ua)).status).toBe(404);
    const tpl = await req(`${t.url}/_index_template/winlogbeat-9.1.2`, 'PUT', { index_patterns: ['winlogbeat-9.1.2'], data_stream: {}, priority: 150, template: { settings: {} } }, ua);
    expect(tpl.status).toBe(200);
    expect(tpl.json).toEqual({ acknowledged: true });
    expect((await req(`${t.url}/_index_template/winlogbeat-9.1.2`, 'HEAD', undefined, ua)).status).toBe(200);
    expect((await req(`${t.url}/_data_stream/winlogbeat-9.1.2`, 'GET', undefined, ua)).status).toBe(404);
    expect((await req(`${t.url}/_data_stream/winlogbeat-9.1.2`, 'PUT', undefined, ua)).status).toBe(200);
    const ds = await req(`${t.url}/_data_stream/winlogbeat-9.1.2`, 'GET', undefined, ua);
    expect(ds.json.data_streams[0].name).toBe('winlogbeat-9.1.2');
    expect(ds.json.data_streams[0].indices[0].index_name).toMatch(/^\.ds-winlogbeat-9\.1\.2-\d{4}\.\d{2}\.\d{2}-000001$/);
    // 3. Ingest pipelines: GET (404) then PUT; the body is kept.
    expect((await req(`${t.url}/_ingest/pipeline/winlogbeat-9.1.2-routing`, 'GET', undefined, ua)).status).toBe(404);
    const pipe = { description: 'Winlogbeat Routing Pipeline', processors: [{ pipeline: { name: 'winlogbeat-9.1.2-sysmon', if: "ctx?.winlog?.channel == 'Microsoft-Windows-Sysmon/Operational'" } }] };
    expect((await req(`${t.url}/_ingest/pipeline/winlogbeat-9.1.2-routing`, 'PUT', pipe, ua)).status).toBe(200);
    expect((await req(`${t.url}/_ingest/pipeline/winlogbeat-9.1.2-routing`, 'GET', undefined, ua)).json).toEqual({ 'winlogbeat-9.1.2-routing': pipe });
    // 4. Bulk: gzip, filter_path, create actions with the routing pipeline, raw winlog documents.
    const body = ndjson([
      { create: { _index: 'winlogbeat-9.1.2', pipeline: 'winlogbeat-9.1.2-routing' } },
      rawSysmon(101, 'C:\\Windows\\System32\\cscript.exe', 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe'),
      { create: { _index: 'winlogbeat-9.1.2', pipeline: 'winlogbeat-9.1.2-routing' } },
      rawSysmon(102, 'C:\\Windows\\System32\\whoami.exe', 'C:\\Windows\\System32\\cmd.exe', '2025-08-01T10:00:01.000Z'),
    ]);
    const bulk = await req(`${t.url}/_bulk?filter_path=errors,items.*.error,items.*.status`, 'POST', gzip(body), {
      ...ua,
      'content-type': 'application/json; charset=UTF-8',
      accept: 'application/json',
      'content-encoding': 'gzip',
    });
    expect(bulk.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(bulk.json).toEqual({ errors: false, items: [{ create: { status: 201 } }, { create: { status: 201 } }] });
    expect(beatsAccepts(bulk, 2)).toEqual({ acked: 2, retried: 0, dropped: 0 });
    const stored = storedEvents(t).filter((e) => e.idx === 'winlogbeat-9.1.2');
    expect(stored).toHaveLength(2);
    const ecs = stored[0]!.src as any;
    // Mapped as Elastic's Sysmon pipeline would: ECS process fields from winlog.event_data.
    expect(ecs.process.name).toBe('cscript.exe');
    expect(ecs.process.parent.name).toBe('WmiPrvSE.exe');
    expect(ecs.event.category).toEqual(['process']);
    expect(ecs.event.type).toEqual(['start']);
    expect(ecs.winlog.record_id).toBe('101');
  });

  test('Elastic Agent: GET /, licence, GET /, then create actions to integration data streams; the OTel exporter bulk', async () => {
    for (const path of ['/', '/_license', '/']) expect((await req(`${t.url}${path}`, 'GET')).status).toBe(200);
    const doc = { ...rawSysmon(201, 'C:\\Windows\\System32\\rundll32.exe', 'C:\\Windows\\explorer.exe'), data_stream: { type: 'logs', dataset: 'windows.sysmon_operational', namespace: 'default' } };
    (doc.agent as Record<string, unknown>).type = 'filebeat';
    const r = await req(`${t.url}/_bulk`, 'POST', ndjson([{ create: { _index: 'logs-windows.sysmon_operational-default' } }, doc]), { 'content-type': 'application/json' });
    expect(beatsAccepts(r, 1)).toEqual({ acked: 1, retried: 0, dropped: 0 });
    expect(r.json.items[0].create._index).toMatch(/^\.ds-logs-windows\.sysmon_operational-default-\d{4}\.\d{2}\.\d{2}-000001$/);
    // The OTel exporter (Agent 9.3+): filter_path with _index, require_data_stream, header on the first 2xx.
    const otel = await req(
      `${t.url}/_bulk?filter_path=items.*._index,items.*.status,items.*.failure_store,items.*.error.type,items.*.error.reason&require_data_stream=true`,
      'POST',
      ndjson([{ create: { _index: 'logs-elastic_agent-default' } }, { '@timestamp': '2025-08-01T10:00:00Z', message: 'agent running', data_stream: { type: 'logs', dataset: 'elastic_agent', namespace: 'default' } }]),
      { 'content-type': 'application/json' },
    );
    expect(otel.status).toBe(200);
    expect(otel.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(otel.json.items[0].create.status).toBe(201);
    expect(otel.json.items[0].create._index).toMatch(/^\.ds-logs-elastic_agent-default-/);
    const agentEvent = storedEvents(t).find((e) => e.idx === 'logs-windows.sysmon_operational-default')!.src as any;
    expect(agentEvent.process.name).toBe('rundll32.exe');
    expect(agentEvent.data_stream).toEqual({ type: 'logs', dataset: 'windows.sysmon_operational', namespace: 'default' });
  });

  test('Logstash: HEAD /, GET /, licence with status, legacy ILM alias calls, gzip bulk read with errors first', async () => {
    const head = await req(`${t.url}/`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('x-elastic-product')).toBe('Elasticsearch');
    const info = await req(`${t.url}/`, 'GET');
    expect(info.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(info.json.version.number.split('.').map(Number)[0]).toBeGreaterThanOrEqual(7);
    expect((await req(`${t.url}/_license`, 'GET')).json.license.status).toBe('active');
    // Legacy ILM mode: alias check, bootstrap index with date math, policy.
    expect((await req(`${t.url}/logstash`, 'HEAD')).status).toBe(200);
    const boot = await req(`${t.url}/%3Clogstash-%7Bnow%2Fd%7D-000001%3E`, 'PUT', { aliases: { logstash: { is_write_index: true } } });
    expect(boot.status).toBe(200);
    expect(boot.json.acknowledged).toBe(true);
    expect((await req(`${t.url}/_ilm/policy/logstash-policy`, 'GET')).status).toBe(404);
    expect((await req(`${t.url}/_ilm/policy/logstash-policy`, 'PUT', { policy: { phases: {} } })).status).toBe(200);
    const lines = [
      { create: { _index: 'logs-generic-default' } },
      { '@timestamp': '2025-08-01T10:00:02Z', message: 'hello', data_stream: { type: 'logs', dataset: 'generic', namespace: 'default' } },
      { create: { _index: 'logs-generic-default' } },
      { '@timestamp': '2025-08-01T10:00:03Z', message: 'world', data_stream: { type: 'logs', dataset: 'generic', namespace: 'default' } },
    ];
    const r = await req(`${t.url}/_bulk?filter_path=errors,items.*.error,items.*.status`, 'POST', gzip(ndjson(lines)), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'x-elastic-event-count': '2',
      'x-elastic-uncompressed-request-length': String(ndjson(lines).length),
      'x-elastic-product-origin': 'logstash-output-elasticsearch',
    });
    expect(r.status).toBe(200);
    // Logstash: errors false means the items are not even looked at.
    expect(r.json.errors).toBe(false);
  });

  test('Fluent Bit: no start-up calls, x-ndjson with _type, literal "errors":false,"items":[ in the body', async () => {
    const lines = [
      { create: { _index: 'fluent-bit', _type: '_doc' } },
      { '@timestamp': '2025-08-01T10:00:04.000Z', log: 'one' },
      { create: { _index: 'logstash-2025.08.01', _type: '_doc', _id: 'fb-gen-1' } },
      { '@timestamp': '2025-08-01T10:00:05.000Z', log: 'two' },
    ];
    const r = await req(`${t.url}/_bulk`, 'POST', ndjson(lines), { 'content-type': 'application/x-ndjson' });
    expect([200, 201]).toContain(r.status);
    expect(r.text).toContain('"errors":false,"items":[');
    expect(r.text.startsWith('{"took":')).toBe(true);
    // Pipeline as a query parameter, gzip ("compress gzip").
    const p = await req(`${t.url}/_bulk?pipeline=my-pipeline`, 'POST', gzip(ndjson(lines.slice(0, 2).map((l, i) => (i === 1 ? { ...(l as object), log: 'three' } : l)))), {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
    });
    expect(p.text).toContain('"errors":false,"items":[');
  });

  test('Vector: GET / for the version, health check, index actions with ?timeout=60s, no "errors":true', async () => {
    const info = await req(`${t.url}/`, 'GET');
    expect(Number(info.json.version.number.split('.')[0])).toBe(8);
    const health = await req(`${t.url}/_cluster/health`, 'GET');
    expect(health.status).toBe(200);
    expect(health.json.status).toBe('green');
    const lines = [{ index: { _index: 'vector-2025.08.01' } }, { '@timestamp': '2025-08-01T10:00:06Z', message: 'v' }];
    const r = await req(`${t.url}/_bulk?timeout=60s`, 'POST', ndjson(lines), { 'content-type': 'application/x-ndjson' });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('"errors":true');
    expect(r.json.items[0].index.status).toBe(201);
    // Vector retries whole requests: the same index action again is not stored twice.
    const again = await req(`${t.url}/_bulk?timeout=60s`, 'POST', ndjson(lines), { 'content-type': 'application/x-ndjson' });
    expect(again.text).not.toContain('"errors":true');
    expect(storedEvents(t).filter((e) => e.idx === 'vector-2025.08.01')).toHaveLength(1);
  });

  test('the @elastic/elasticsearch client: bulk and its bulk helper', async () => {
    const client = new Client({ node: t.url });
    try {
      const r = await client.bulk({
        operations: [{ create: { _index: 'logs-client-default', _id: 'c1' } }, { '@timestamp': '2025-08-01T10:00:07Z', n: 1 }, { index: { _index: 'logs-client-default', _id: 'c2' } }, { '@timestamp': '2025-08-01T10:00:08Z', n: 2 }],
      });
      expect(r.errors).toBe(false);
      expect(r.items.map((i) => Object.values(i)[0]!.status)).toEqual([201, 201]);
      const docs = Array.from({ length: 50 }, (_, i) => ({ '@timestamp': '2025-08-01T10:00:09Z', n: i }));
      const stats = await client.helpers.bulk({ datasource: docs, onDocument: () => ({ create: { _index: 'logs-helper-default' } }), flushBytes: 1000 });
      expect(stats.successful).toBe(50);
      expect(stats.failed).toBe(0);
    } finally {
      await client.close();
    }
  });
});

describe('bulk edge cases', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService((c) => {
      c.ingest.maxBodyBytes = 64 * 1024;
    });
  });
  afterAll(async () => {
    await t.close();
  });

  test('PUT, /<index>/_bulk with the URL index, missing final newline, delete and update actions', async () => {
    const put = await req(`${t.url}/logs-url-default/_bulk`, 'PUT', `{"create":{"_id":"u1"}}\n{"@timestamp":"2025-08-01T10:00:00Z","a":1}\n{"index":{"_id":"u2"}}\n{"@timestamp":"2025-08-01T10:00:00Z","a":2}`, {
      'content-type': 'application/json',
    });
    expect(put.status).toBe(200);
    expect(put.json.items.map((i: Record<string, { status: number; _index: string }>) => Object.values(i)[0]!.status)).toEqual([201, 201]);
    const upd = await req(
      `${t.url}/_bulk`,
      'POST',
      ndjson([{ update: { _index: 'logs-url-default', _id: 'u1' } }, { doc: { b: { c: 3 } } }, { delete: { _index: 'logs-url-default', _id: 'u2' } }, { delete: { _index: 'logs-url-default', _id: 'nope' } }]),
      { 'content-type': 'application/json' },
    );
    expect(upd.json.errors).toBe(false);
    expect(upd.json.items).toMatchObject([{ update: { status: 200, result: 'updated' } }, { delete: { status: 200, result: 'deleted' } }, { delete: { status: 404, result: 'not_found' } }]);
    const rows = storedEvents(t).filter((e) => e.idx === 'logs-url-default');
    expect(rows.map((r) => [r.id, r.src])).toEqual([['u1', { '@timestamp': '2025-08-01T10:00:00Z', a: 1, b: { c: 3 } }]]);
  });

  test('malformed source lines get a per-item 400 in their position and are kept; the other items are stored', async () => {
    const body = [
      '{"create":{"_index":"logs-bad-default","_id":"ok1"}}',
      '{"@timestamp":"2025-08-01T10:00:00Z","good":1}',
      '{"create":{"_index":"logs-bad-default","_id":"bad1"}}',
      '{"@timestamp": "2025-08-01T10:00:00Z", "truncated',
      '{"create":{"_index":"logs-bad-default","_id":"ok2"}}',
      '{"@timestamp":"2025-08-01T10:00:01Z","good":2}',
      '{"create":{"_index":"Logs-Upper","_id":"x"}}',
      '{"@timestamp":"2025-08-01T10:00:01Z","good":3}',
      '{"create":{"_index":"logs-bad-default","_id":"arr"}}',
      '[1,2]',
      '{"create":{"_index":"logs-bad-default","_id":"ok3"}}',
      '{"@timestamp":"2025-08-01T10:00:02Z","good":4,"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
    ].join('\n');
    const r = await req(`${t.url}/_bulk`, 'POST', body, { 'content-type': 'application/x-ndjson' });
    expect(r.status).toBe(200);
    expect(r.json.errors).toBe(true);
    const statuses = r.json.items.map((i: Record<string, { status: number }>) => Object.values(i)[0]!.status);
    expect(statuses).toEqual([201, 400, 201, 400, 400, 201]);
    expect(r.json.items[1].create.error.type).toBe('document_parsing_exception');
    expect(r.json.items[3].create.error.type).toBe('invalid_index_name_exception');
    const ids = storedEvents(t)
      .filter((e) => e.idx === 'logs-bad-default')
      .map((e) => e.id);
    expect(ids).toEqual(['ok1', 'ok2', 'ok3']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const rejected = t.svc.store.db().prepare('SELECT reason, line FROM rejected ORDER BY seq').all() as { reason: string; line: string }[];
    expect(rejected.map((x) => x.line)).toEqual([
      '{"@timestamp": "2025-08-01T10:00:00Z", "truncated',
      '{"create":{"_index":"Logs-Upper","_id":"x"}}',
      // the source line of a refused action is kept too: nothing is dropped silently
      '{"@timestamp":"2025-08-01T10:00:01Z","good":3}',
      '[1,2]',
    ]);
  });

  test('a malformed action/metadata line refuses the whole request with 400, as Elasticsearch does, and nothing of it is stored', async () => {
    const good = ['{"create":{"_index":"logs-malformed-default","_id":"m1"}}', '{"@timestamp":"2025-08-01T10:00:00Z","n":1}'];
    const cases: [string, string, string][] = [
      // (line 3 of each body: after one good item)
      ['"create"', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected START_OBJECT but found [VALUE_STRING]'],
      ['[{"create":{}}]', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected START_OBJECT but found [START_ARRAY]'],
      ['42', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected START_OBJECT but found [VALUE_NUMBER]'],
      ['{}', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected FIELD_NAME but found [END_OBJECT]'],
      ['{"insert":{"_index":"logs-malformed-default"}}', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected field [create], [delete], [index] or [update] but found [insert]'],
      // the first key in the text is the action, even one Object.keys would put later
      ['{"remove":{},"1":{}}', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected field [create], [delete], [index] or [update] but found [remove]'],
      ['{"index":"logs-malformed-default"}', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]'],
      ['{"index":null}', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected START_OBJECT or END_OBJECT but found [VALUE_NULL]'],
      ['{"create":{"_index":["a","b"]}}', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected a simple value for field [_index] but found [START_ARRAY]'],
      ['{"create":{"_id":{"a":1}}}', 'illegal_argument_exception', 'Malformed action/metadata line [3], expected a simple value for field [_id] but found [START_OBJECT]'],
      ['{not an action', 'x_content_parse_exception', '[3:2] unexpected "n", expected a property name in double quotes'],
    ];
    for (const [line, type, reason] of cases) {
      const body = [...good, line, '{"@timestamp":"2025-08-01T10:00:01Z","n":2}', ...good].join('\n') + '\n';
      const r = await req(`${t.url}/_bulk`, 'POST', body, { 'content-type': 'application/x-ndjson' });
      expect([line, r.status, r.json]).toEqual([line, 400, { error: { root_cause: [{ type, reason }], type, reason }, status: 400 }]);
    }
    // Not even the good item before the bad line was stored (or acknowledged).
    expect(storedEvents(t).filter((e) => e.idx === 'logs-malformed-default')).toEqual([]);
    // A _source object is allowed in the metadata, and a number or boolean _id is its text (as in
    // Elasticsearch); an action line with a second key is read by its first (Elasticsearch 8).
    const ok = ['{"create":{"_index":"logs-malformed-default","_id":7,"_source":{"includes":["a"]}}}', '{"@timestamp":"2025-08-01T10:00:00Z","n":3}', '{"index":{"_index":"logs-malformed-default","_id":true},"extra":1}', '{"@timestamp":"2025-08-01T10:00:00Z","n":4}'].join('\n') + '\n';
    const r = await req(`${t.url}/_bulk`, 'POST', ok, { 'content-type': 'application/x-ndjson' });
    expect([r.status, r.json.errors, r.json.items.map((i: Record<string, { _id: string; status: number }>) => [Object.keys(i)[0], Object.values(i)[0]!._id, Object.values(i)[0]!.status])]).toEqual([
      200,
      false,
      [
        ['create', '7', 201],
        ['index', 'true', 201],
      ],
    ]);
  });

  test('an action line with data after its object, or without its closing brace: read as Elasticsearch 8 reads it, refused as 9 refuses it', () => {
    const act = '{"create":{"_index":"logs-x-default"}}';
    const doc = '{"@timestamp":"2025-08-01T10:00:00Z"}';
    const read = (line: string, strict: boolean) => {
      const p = new BulkParser({ strictActionLines: strict });
      const items = p.parse(Buffer.from(`${line}\n${doc}\n`));
      return [items.map((i) => [i.op, i.index, i.error ?? null]), p.fatal];
    };
    const after = { type: 'illegal_argument_exception', reason: 'Malformed action/metadata line [1], unexpected data after the closing brace', line: 1 };
    // Data after the closing brace that starts a JSON token: ignored by 8, refused by 9.
    for (const rest of [' {"another":1}', '{}', ' 42', ' [1', ' "s', ' null,']) {
      expect(read(act + rest, false), rest).toEqual([[['create', 'logs-x-default', null]], null]);
      expect(read(act + rest, true), rest).toEqual([[], after]);
    }
    // What no JSON token starts: the parser's error, from either.
    for (const [rest, at, what] of [[' xyz', 40, '"x"'], [' truex', 40, '"t"'], [' }', 40, '"}"']] as const) {
      const fatal = { type: 'x_content_parse_exception', reason: `[1:${at}] unexpected ${what}, expected end of value`, line: 1 };
      expect(read(act + rest, false), rest).toEqual([[], fatal]);
      expect(read(act + rest, true), rest).toEqual([[], fatal]);
    }
    // The action's closing brace missing at the end of the line: read by 8, the parser's end-of-input error from 9.
    const unclosed = act.slice(0, -1);
    expect(read(unclosed, false)).toEqual([[['create', 'logs-x-default', null]], null]);
    expect(read(unclosed, true)).toEqual([[], { type: 'x_content_parse_exception', reason: "[1:38] unexpected end of input, expected ',' or '}'", line: 1 }]);
    // As Elasticsearch 9 checks: the metadata's values first, then the token after it (a second key
    // before a missing brace, which before data after it).
    expect(read('{"create":{"_id":[1]}} {}', true)[1]).toEqual({ type: 'illegal_argument_exception', reason: 'Malformed action/metadata line [1], expected a simple value for field [_id] but found [START_ARRAY]', line: 1 });
    expect(read('{"create":{"_id":[1]}', true)[1]).toEqual({ type: 'illegal_argument_exception', reason: 'Malformed action/metadata line [1], expected a simple value for field [_id] but found [START_ARRAY]', line: 1 });
    expect(read('{"create":{"_index":"logs-x-default"},"x":1', true)[1]).toEqual({ type: 'illegal_argument_exception', reason: 'Malformed action/metadata line [1], expected END_OBJECT but found [FIELD_NAME]', line: 1 });
    expect(read('{"create":{"_index":"logs-x-default"},"x":1', false)).toEqual([[['create', 'logs-x-default', null]], null]);
    // The metadata's own brace missing too: refused by both.
    expect(read('{"create":{"_index":"logs-x-default"', false)[1]).toEqual({ type: 'x_content_parse_exception', reason: "[1:37] unexpected end of input, expected ',' or '}'", line: 1 });
  });

  test('an action line with a second key: read by its first as Elasticsearch 8 does, refused as Elasticsearch 9 does', () => {
    const body = Buffer.from('{"create":{"_index":"logs-x-default"},"extra":1}\n{"@timestamp":"2025-08-01T10:00:00Z"}\n');
    const lenient = new BulkParser({});
    expect(lenient.parse(body).map((i) => [i.op, i.index, i.error])).toEqual([['create', 'logs-x-default', undefined]]);
    expect(lenient.fatal).toBe(null);
    const strict = new BulkParser({ strictActionLines: true });
    expect(strict.parse(body)).toEqual([]);
    expect(strict.fatal).toEqual({ type: 'illegal_argument_exception', reason: 'Malformed action/metadata line [1], expected END_OBJECT but found [FIELD_NAME]', line: 1 });
  });

  test('a document that is not valid UTF-8 gets a 400 of its own, as Elasticsearch\'s parser refuses it; the others are stored', async () => {
    const line = (s: string) => Buffer.from(s + '\n', 'utf8');
    const body = Buffer.concat([
      line('{"create":{"_index":"logs-utf-default","_id":"u1"}}'),
      line('{"@timestamp":"2025-08-01T10:00:00Z","message":"café"}'),
      line('{"create":{"_index":"logs-utf-default","_id":"u2"}}'),
      // a lone continuation byte after "ab"
      Buffer.concat([Buffer.from('{"@timestamp":"2025-08-01T10:00:00Z","message":"ab'), Buffer.from([0x80]), Buffer.from('"}\n')]),
      // the same in an index the rules read (its documents take another path)
      line('{"create":{"_index":"logs-endpoint.events.process-default","_id":"u3"}}'),
      Buffer.concat([Buffer.from('{"@timestamp":"2025-08-01T10:00:00Z","process":{"name":"cmd'), Buffer.from([0xe2, 0x28, 0xa1]), Buffer.from('"}}\n')]),
      line('{"create":{"_index":"logs-utf-default","_id":"u4"}}'),
      line('{"@timestamp":"2025-08-01T10:00:01Z","message":"ok"}'),
    ]);
    const r = await req(`${t.url}/_bulk`, 'POST', body, { 'content-type': 'application/x-ndjson' });
    expect(r.status).toBe(200);
    expect(r.json.errors).toBe(true);
    expect(r.json.items.map((i: any) => [i.create._id, i.create.status, i.create.error?.type, i.create.error?.reason])).toEqual([
      ['u1', 201, undefined, undefined],
      ['u2', 400, 'document_parsing_exception', 'failed to parse the document: invalid UTF-8 byte 0x80 at byte 51 of the document'],
      ['u3', 400, 'document_parsing_exception', 'failed to parse the document: invalid UTF-8 byte 0xe2 at byte 60 of the document'],
      ['u4', 201, undefined, undefined],
    ]);
    const ids = t.svc.store.db().prepare("SELECT idx, id FROM events WHERE id IN ('u1','u2','u3','u4') AND idx IN ('logs-utf-default', 'logs-endpoint.events.process-default') ORDER BY seq").all();
    expect(ids).toEqual([{ idx: 'logs-utf-default', id: 'u1' }, { idx: 'logs-utf-default', id: 'u4' }]);
  });

  test('a document whose @timestamp Elasticsearch\'s default date mapping refuses gets a 400 on every path; the others are stored', async () => {
    const body = ndjson([
      // An index no rule reads (checked by the store's writer thread).
      { create: { _index: 'logs-ts-default', _id: 't1' } },
      { '@timestamp': '2025-02-29T10:00:00Z', message: 'no Feb 29 in 2025' },
      { create: { _index: 'logs-ts-default', _id: 't2' } },
      { '@timestamp': '2025-08-01T24:00:00Z' },
      { create: { _index: 'logs-ts-default', _id: 't3' } },
      { '@timestamp': '2024-02-29T23:59:59.999999999Z', message: 'a leap day' },
      { create: { _index: 'logs-ts-default', _id: 't4' } },
      { '@timestamp': true },
      { create: { _index: 'logs-ts-default', _id: 't5' } },
      { '@timestamp': null, message: 'no time at all is not refused' },
      // An index the rules read: scanned on the request's thread, and parsed when a rule may use it.
      { create: { _index: 'logs-endpoint.events.process-default', _id: 't6' } },
      { '@timestamp': '2025-08-01t10:00:00z', event: { category: ['process'] }, process: { name: 'notepad.exe' } },
      { create: { _index: 'logs-endpoint.events.process-default', _id: 't7' } },
      { '@timestamp': '2025-08-01 10:00:00', event: { category: ['process'], type: ['start'] }, process: { name: 'wscript.exe', parent: { name: 'winword.exe' } } },
      { create: { _index: 'logs-endpoint.events.process-default', _id: 't8' } },
      { '@timestamp': '2025-08-01T10:00:00+14:00', event: { category: ['process'] }, process: { name: 'notepad.exe' } },
    ]);
    const r = await req(`${t.url}/_bulk`, 'POST', body, { 'content-type': 'application/json' });
    expect(r.status).toBe(200);
    expect(r.json.errors).toBe(true);
    const reason = (v: string) => `failed to parse field [@timestamp] of type [date] with format [strict_date_optional_time||epoch_millis]. Preview of field's value: '${v}'`;
    expect(r.json.items.map((i: any) => [i.create._id, i.create.status, i.create.error?.type, i.create.error?.reason])).toEqual([
      ['t1', 400, 'document_parsing_exception', reason('2025-02-29T10:00:00Z')],
      ['t2', 400, 'document_parsing_exception', reason('2025-08-01T24:00:00Z')],
      ['t3', 201, undefined, undefined],
      ['t4', 400, 'document_parsing_exception', 'failed to parse field [@timestamp] of type [date] with format [strict_date_optional_time||epoch_millis]'],
      ['t5', 201, undefined, undefined],
      ['t6', 400, 'document_parsing_exception', reason('2025-08-01t10:00:00z')],
      ['t7', 400, 'document_parsing_exception', reason('2025-08-01 10:00:00')],
      ['t8', 201, undefined, undefined],
    ]);
    const rows = t.svc.store.db().prepare("SELECT id, ts FROM events WHERE id IN ('t1','t2','t3','t4','t5','t6','t7','t8') ORDER BY seq").all();
    expect(rows).toEqual([
      { id: 't3', ts: Date.UTC(2024, 1, 29, 23, 59, 59, 999) },
      { id: 't5', ts: null },
      { id: 't8', ts: Date.UTC(2025, 6, 31, 20) },
    ]);
    const kept = t.svc.store.db().prepare("SELECT line FROM rejected WHERE reason LIKE 'failed to parse field [@timestamp]%' ORDER BY seq").all() as { line: string }[];
    expect(kept.map((k) => JSON.parse(k.line)['@timestamp'])).toEqual(['2025-02-29T10:00:00Z', '2025-08-01T24:00:00Z', true, '2025-08-01t10:00:00z', '2025-08-01 10:00:00']);
  });

  test('documents are stored as sent, byte for byte; a raw Windows event is mapped to ECS also in an index no rule reads', async () => {
    // Spacing, key order, escapes and non-ASCII as the shipper sent them (nothing re-serialised).
    const asSent = '{ "@timestamp" : "2025-08-01T10:00:00.5Z", "message":"caf\\u00e9 é\\n", "n": 1.50, "event":{"category":["process"]} }';
    const body = ndjson([{ create: { _index: 'app-raw-default', _id: 's1' } }, asSent, { create: { _index: 'app-raw-default', _id: 'w1' } }, rawSysmon(301, 'C:\\Windows\\System32\\cmd.exe', 'C:\\Windows\\explorer.exe')]);
    const r = await req(`${t.url}/_bulk`, 'POST', body, { 'content-type': 'application/json' });
    expect(r.status, r.text).toBe(200);
    expect(r.json.items.map((i: any) => i.create.status)).toEqual([201, 201]);
    const rows = t.svc.store.db().prepare("SELECT id, ts, src FROM events WHERE idx = 'app-raw-default' ORDER BY seq").all() as { id: string; ts: number; src: string }[];
    expect(rows[0]).toEqual({ id: 's1', ts: Date.parse('2025-08-01T10:00:00.500Z'), src: asSent });
    const mapped = JSON.parse(rows[1]!.src);
    expect(mapped.process.name).toBe('cmd.exe');
    expect(mapped.event.category).toEqual(['process']);
  });

  test('a retried request is stored once: 409 for a repeated _id, 200 for repeated content without _id', async () => {
    const lines = ndjson([{ create: { _index: 'logs-retry-default', _id: 'r1' } }, { '@timestamp': '2025-08-01T10:00:00Z', n: 1 }, { create: { _index: 'logs-retry-default' } }, { '@timestamp': '2025-08-01T10:00:00Z', n: 2 }]);
    const first = await req(`${t.url}/_bulk`, 'POST', lines, { 'content-type': 'application/json' });
    expect(first.json.items.map((i: any) => i.create.status)).toEqual([201, 201]);
    const second = await req(`${t.url}/_bulk`, 'POST', lines, { 'content-type': 'application/json' });
    expect(second.json.items.map((i: any) => i.create.status)).toEqual([409, 200]);
    expect(second.json.items[0].create.error.type).toBe('version_conflict_engine_exception');
    expect(beatsAccepts(second, 2)).toEqual({ acked: 2, retried: 0, dropped: 0 });
    expect(storedEvents(t).filter((e) => e.idx === 'logs-retry-default')).toHaveLength(2);
  });

  test('oversized bodies get 413, also when only the decompressed size is too large; damaged gzip gets 400', async () => {
    const big = ndjson([{ create: { _index: 'logs-big-default' } }, { '@timestamp': '2025-08-01T10:00:00Z', pad: 'x'.repeat(70 * 1024) }]);
    expect((await req(`${t.url}/_bulk`, 'POST', big, { 'content-type': 'application/json' })).status).toBe(413);
    const bomb = gzip(ndjson([{ create: { _index: 'logs-big-default' } }, { pad: '0'.repeat(1024 * 1024) }]));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const r = await req(`${t.url}/_bulk`, 'POST', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(r.status).toBe(413);
    expect(r.headers.get('x-elastic-product')).toBe('Elasticsearch');
    const damaged = await req(`${t.url}/_bulk`, 'POST', Buffer.from('1f8b0800000000000003ffff', 'hex'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(damaged.status).toBe(400);
    // The service is unaffected.
    const ok = await req(`${t.url}/_bulk`, 'POST', ndjson([{ create: { _index: 'logs-big-default' } }, { '@timestamp': '2025-08-01T10:00:00Z' }]), { 'content-type': 'application/json' });
    expect(ok.json.items[0].create.status).toBe(201);
  });

  test('an empty bulk is a 400; unknown Elasticsearch calls get 200 {}, unknown eqlite API paths 404', async () => {
    const empty = await req(`${t.url}/_bulk`, 'POST', '\n', { 'content-type': 'application/json' });
    expect(empty.status).toBe(400);
    expect(empty.json.error.type).toBe('action_request_validation_exception');
    const unknown = await req(`${t.url}/_something/else`, 'GET');
    expect(unknown.status).toBe(200);
    expect(unknown.json).toEqual({});
    expect(unknown.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect((await req(`${t.url}/api/nope`, 'GET')).status).toBe(404);
  });
});

describe('large requests', () => {
  test('a request of 30,000 items: the long response is streamed, complete and in order; the shippers\' short one is sent whole', async () => {
    const t = await startService(() => {});
    try {
      const n = 30_000;
      const lines: unknown[] = [];
      for (let i = 0; i < n; i++) {
        // Every 1,000th item repeats the _id of the item before it: a 409 in its position.
        const id = i % 1000 === 999 ? `big-${i - 1}` : `big-${i}`;
        lines.push({ create: { _index: 'logs-big-default', _id: id } }, { '@timestamp': '2025-08-01T10:00:00Z', n: i });
      }
      const body = ndjson(lines);
      const r = await req(`${t.url}/_bulk`, 'POST', body, { 'content-type': 'application/x-ndjson' });
      expect(r.status).toBe(200);
      // Longer than the whole-response limit (4 Mi characters): sent as it is made, without a length.
      expect(r.text.length).toBeGreaterThan(4 * 1024 * 1024);
      expect(r.headers.get('content-length')).toBeNull();
      expect(r.headers.get('transfer-encoding')).toBe('chunked');
      expect(r.headers.get('x-elastic-product')).toBe('Elasticsearch');
      expect(r.json.errors).toBe(true);
      const items = r.json.items as { create: { _id: string; status: number; _seq_no?: number } }[];
      expect(items).toHaveLength(n);
      const expected = Array.from({ length: n }, (_, i) => (i % 1000 === 999 ? 409 : 201));
      expect(items.map((it) => it.create.status)).toEqual(expected);
      expect(items.map((it) => it.create._id)).toEqual(Array.from({ length: n }, (_, i) => (i % 1000 === 999 ? `big-${i - 1}` : `big-${i}`)));
      const seqs = items.filter((it) => it.create.status === 201).map((it) => it.create._seq_no!);
      expect(seqs.every((s, k) => k === 0 || s === seqs[k - 1]! + 1)).toBe(true);
      expect(storedEvents(t).filter((e) => e.idx === 'logs-big-default')).toHaveLength(n - 30);
      // As many new events with Beats' filter: the status-only answer is short enough to be sent whole.
      const fresh = body.replaceAll('"_id":"big-', '"_id":"fresh-');
      const again = await req(`${t.url}/_bulk?filter_path=errors,items.*.error,items.*.status`, 'POST', fresh, { 'content-type': 'application/x-ndjson' });
      expect(again.headers.get('content-length')).toBe(String(Buffer.byteLength(again.text)));
      expect(again.json.errors).toBe(true);
      expect(again.json.items.map((it: { create: { status: number } }) => it.create.status)).toEqual(expected);
      expect(beatsAccepts(again, n)).toEqual({ acked: n, retried: 0, dropped: 0 });
    } finally {
      await t.close();
    }
  });
});

describe('a body parsed and stored in parts', () => {
  test('parts of 4 KiB: items in order across parts, an action and its source in different parts, a line longer than a part, bad lines, gzip', async () => {
    const t = await startService((c) => {
      c.ingest.partBytes = 4096;
    });
    try {
      // Action lines without _id, all alike (as shippers send them: compared as bytes with the one before).
      const action = JSON.stringify({ create: { _index: 'logs-parts-default' } });
      const lines: string[] = [];
      const expected: number[] = [];
      for (let i = 0; i < 400; i++) {
        lines.push(action);
        if (i === 150) {
          lines.push('{"@timestamp":"2025-08-01T10:00:00Z","broken":');
          expected.push(400);
        } else if (i === 250) {
          // Longer than a part: the buffer grows to hold it.
          lines.push(JSON.stringify({ '@timestamp': '2025-08-01T10:00:00Z', n: i, pad: 'x'.repeat(10_000) }));
          expected.push(201);
        } else {
          lines.push(JSON.stringify({ '@timestamp': '2025-08-01T10:00:00Z', n: i, note: 'abcdefghij'.repeat(i % 7) }));
          expected.push(201);
        }
      }
      // The first document again: a retry, acknowledged and not stored twice.
      lines.push(action, lines[1]!);
      expected.push(200);
      const body = lines.join('\n') + '\n';
      expect(body.length).toBeGreaterThan(14 * 4096);
      for (const [label, payload, headers] of [
        ['plain', body, {}],
        ['gzip', gzip(body.replaceAll('"logs-parts-default"', '"logs-parts-gzip"')), { 'content-encoding': 'gzip' }],
      ] as const) {
        const r = await req(`${t.url}/_bulk`, 'POST', payload, { 'content-type': 'application/x-ndjson', ...headers });
        expect(r.status, label).toBe(200);
        const statuses = r.json.items.map((it: Record<string, { status: number }>) => Object.values(it)[0]!.status);
        expect(statuses, label).toEqual(expected);
        expect(r.json.items[150].create.error.type).toBe('document_parsing_exception');
        expect(r.json.items[400].create._id).toBe(r.json.items[0].create._id);
      }
      const sent = Array.from({ length: 400 }, (_, i) => i)
        .filter((i) => i !== 150)
        .map((i) => lines[2 * i + 1]!);
      for (const idx of ['logs-parts-default', 'logs-parts-gzip']) {
        // Stored once each, in request order, byte for byte as sent.
        const rows = t.svc.store.db().prepare('SELECT src FROM events WHERE idx = ? ORDER BY seq').all(idx) as { src: string }[];
        expect(rows.map((r) => r.src)).toEqual(sent);
      }
      // More than one commit per request (one ingest mark each): the parts were stored as they
      // came (parts waiting at the same moment share a transaction, so how many is not fixed).
      const commits = (t.svc.store.db().prepare('SELECT COUNT(*) AS n FROM ingest_marks').get() as { n: number }).n;
      expect(commits).toBeGreaterThan(2);
      const rejected = t.svc.store.db().prepare('SELECT line FROM rejected ORDER BY seq').all() as { line: string }[];
      expect(rejected.map((x) => x.line)).toEqual(['{"@timestamp":"2025-08-01T10:00:00Z","broken":', '{"@timestamp":"2025-08-01T10:00:00Z","broken":']);
      // A malformed action line in a later part refuses the request: nothing is acknowledged, the
      // part holding it and those after are not stored (the parts before it were, as they came).
      const bad = lines.slice(0, 2 * 300).map((l) => l.replaceAll('logs-parts-default', 'logs-parts-bad'));
      bad.push('{"update":{"_index":"logs-parts-bad"}} xyz', lines[1]!, action.replaceAll('logs-parts-default', 'logs-parts-bad'), lines[3]!);
      const refused = await req(`${t.url}/_bulk`, 'POST', bad.join('\n') + '\n', { 'content-type': 'application/x-ndjson' });
      expect([refused.status, refused.json.error.type, refused.json.error.reason]).toEqual([400, 'x_content_parse_exception', '[601:40] unexpected "x", expected end of value']);
      const storedBad = (t.svc.store.db().prepare("SELECT src FROM events WHERE idx = 'logs-parts-bad' ORDER BY seq").all() as { src: string }[]).map((x) => x.src);
      expect(storedBad.length).toBeGreaterThan(0);
      expect(storedBad.length).toBeLessThan(290);
      expect(storedBad).toEqual(sent.slice(0, storedBad.length));
    } finally {
      await t.close();
    }
  });
});

describe('path prefix', () => {
  test('a shipper configured with path: /es reaches every endpoint under it', async () => {
    const t = await startService(() => {}, { pathPrefix: '/es' });
    try {
      expect((await req(`${t.url}/es/`, 'GET')).json.tagline).toBe('You Know, for Search');
      expect((await req(`${t.url}/es/_license`, 'GET')).json.license.status).toBe('active');
      const r = await req(`${t.url}/es/_bulk?filter_path=errors`, 'POST', ndjson([{ create: { _index: 'logs-p-default' } }, { '@timestamp': '2025-08-01T10:00:00Z' }]), { 'content-type': 'application/json' });
      expect(r.json).toEqual({ errors: false });
    } finally {
      await t.close();
    }
  });
});

describe('backpressure and retention', () => {
  test('429 for the whole request while too many events wait for detection; accepted again once they are through', async () => {
    const t = await startService((c) => {
      c.ingest.maxPendingEvents = 10;
    });
    try {
      const { readFileSync } = await import('node:fs');
      const { inferIndex } = await import('../src/events/sources.js');
      const lines: unknown[] = [];
      for (const l of readFileSync('examples/windows-sample.ndjson', 'utf8').split('\n')) {
        if (!l.trim()) continue;
        const d = JSON.parse(l) as Record<string, unknown>;
        lines.push({ create: { _index: inferIndex(d) } }, d);
      }
      const post = (body: unknown[]) => req(`${t.url}/_bulk`, 'POST', ndjson(body), { 'content-type': 'application/json' });
      // The rule can use those events: they wait (250 ms) to be put in time order, and a request
      // arriving meanwhile is refused whole. Whether the probe arrives within those 250 ms depends
      // on the machine's load, so a probe that came too late is retried with fresh events.
      let busy: Awaited<ReturnType<typeof post>> | undefined;
      for (let attempt = 0; attempt < 8; attempt++) {
        const batch = lines.map((x, i) => (i % 2 === 1 ? { ...(x as Record<string, unknown>), attempt } : x));
        expect((await post(batch)).status).toBe(200);
        busy = await post(lines.slice(0, 2));
        if (busy.status === 429) break;
      }
      expect(busy!.status).toBe(429);
      expect(busy!.json.error.type).toBe('es_rejected_execution_exception');
      // Accepted again once they are through (polled: detection may be slow on a loaded machine).
      let again = 0;
      for (let i = 0; i < 50 && again !== 200; i++) {
        await new Promise((r) => setTimeout(r, 200));
        again = (await post(lines.slice(0, 2))).status;
      }
      expect(again).toBe(200);
    } finally {
      await t.close();
    }
  });

  test('retention by size keeps the store under its limit; retention by age empties it', async () => {
    const t = await startService((c) => {
      c.retention.maxBytes = 2 * 1024 * 1024;
    });
    try {
      for (let b = 0; b < 8; b++) {
        const lines: unknown[] = [];
        for (let i = 0; i < 250; i++) lines.push({ create: { _index: 'logs-big-default' } }, { '@timestamp': '2025-08-01T10:00:00Z', b, i, pad: 'y'.repeat(2000) });
        expect((await req(`${t.url}/_bulk?filter_path=errors`, 'POST', ndjson(lines), { 'content-type': 'application/json' })).json).toEqual({ errors: false });
      }
      const end = Date.now() + 10_000;
      while (t.svc.store.size().used > 2 * 1024 * 1024 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(t.svc.store.size().used).toBeLessThanOrEqual(2 * 1024 * 1024);
      const left = (t.svc.store.db().prepare('SELECT COUNT(*) AS n, MIN(seq) AS lo FROM events').get() as { n: number; lo: number });
      expect(left.n).toBeGreaterThan(0);
      expect(left.n).toBeLessThan(2000);
      expect(left.lo).toBeGreaterThan(1);
      const m = await req(`${t.url}/metrics`, 'GET');
      expect(m.text).toMatch(/^eqlite_events_deleted_total\{reason="size"\} [1-9]/m);
      t.svc.store.setRetention(1, 0);
      const end2 = Date.now() + 10_000;
      while ((t.svc.store.db().prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n > 0 && Date.now() < end2) await new Promise((r) => setTimeout(r, 100));
      expect((t.svc.store.db().prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe('requests in flight (real-time detection waits for them)', () => {
  test('a request counts from its start until it is stored and answered; none is in flight otherwise', async () => {
    const t = await startService();
    try {
      const ingest = t.svc.ingest;
      expect(ingest.oldestInFlight()).toBe(Infinity);
      const before = Date.now();
      const { port } = new URL(t.url);
      const action = '{"create":{"_index":"logs-inflight-default"}}\n';
      const doc = (n: number) => `{"@timestamp":"2025-08-01T10:00:00Z","n":${n}}\n`;
      // A chunked body sent in two halves: between them the request is being read.
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const r = request({ host: '127.0.0.1', port: Number(port), path: '/_bulk', method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        r.on('error', reject);
        r.write(action + doc(1));
        void (async () => {
          for (let i = 0; i < 500 && ingest.oldestInFlight() === Infinity; i++) await new Promise((w) => setTimeout(w, 10));
          r.end(action + doc(2));
        })();
      });
      // Seen in flight while its second half was not sent: it began after `before`.
      for (let i = 0; i < 500 && ingest.oldestInFlight() === Infinity; i++) await new Promise((w) => setTimeout(w, 10));
      const since = ingest.oldestInFlight();
      expect(since).toBeGreaterThanOrEqual(before);
      expect(since).toBeLessThanOrEqual(Date.now());
      // A detector that stopped waiting for requests begun before some time is not told of it.
      expect(ingest.oldestInFlight(since)).toBe(since);
      expect(ingest.oldestInFlight(since + 1)).toBe(Infinity);
      const res = await answer;
      expect(res.status).toBe(200);
      expect((JSON.parse(res.body) as { items: { create: { status: number } }[] }).items.map((i) => i.create.status)).toEqual([201, 201]);
      // Ended: its events are in real time's hold, not waited for any more (until the twelfth
      // session it was, until they had been held the whole reorder hold).
      expect(ingest.oldestInFlight()).toBe(Infinity);
      expect(ingest.oldestInFlight(before - 1)).toBe(Infinity);
    } finally {
      await t.close();
    }
  });

  test('how long requests take is known once 8 have ended', async () => {
    const t = await startService();
    try {
      const ingest = t.svc.ingest;
      const body = '{"create":{"_index":"logs-inflight-default"}}\n{"@timestamp":"2025-08-01T10:00:00Z","n":1}\n';
      for (let n = 1; n <= 8; n++) {
        expect(ingest.typicalDuration()).toBe(Infinity);
        const r = await fetch(`${t.url}/_bulk`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        expect(r.status).toBe(200);
      }
      expect(Number.isFinite(ingest.typicalDuration())).toBe(true);
      expect(ingest.typicalDuration()).toBeGreaterThanOrEqual(0);
    } finally {
      await t.close();
    }
  });
});

describe('@timestamp as Elasticsearch indexes it: updates and numbers', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService();
  });
  afterAll(async () => {
    await t.close();
  });

  test('an update or upsert that leaves an @timestamp Elasticsearch cannot read is refused, and the stored document kept', async () => {
    const put = await req(`${t.url}/logs-upd-default/_bulk`, 'POST', ndjson([{ create: { _id: 'k1' } }, { '@timestamp': '2025-08-01T10:00:00Z', a: 1 }]), { 'content-type': 'application/json' });
    expect(put.json.errors).toBe(false);
    const upd = await req(
      `${t.url}/_bulk`,
      'POST',
      ndjson([
        { update: { _index: 'logs-upd-default', _id: 'k1' } },
        { doc: { '@timestamp': '2025-02-30T10:00:00Z', a: 2 } },
        { update: { _index: 'logs-upd-default', _id: 'k2' } },
        { doc: { a: 3 }, upsert: { '@timestamp': 'yesterday', a: 3 } },
        { update: { _index: 'logs-upd-default', _id: 'k1' } },
        { doc: { '@timestamp': '2025-08-01T10:00:05Z', a: 4 } },
      ]),
      { 'content-type': 'application/json' },
    );
    expect(upd.json.errors).toBe(true);
    expect(upd.json.items.map((i: Record<string, { status: number; error?: { type: string; reason: string } }>) => [i.update!.status, i.update!.error?.type, i.update!.error?.reason])).toEqual([
      [400, 'document_parsing_exception', "failed to parse field [@timestamp] of type [date] with format [strict_date_optional_time||epoch_millis]. Preview of field's value: '2025-02-30T10:00:00Z'"],
      [400, 'document_parsing_exception', "failed to parse field [@timestamp] of type [date] with format [strict_date_optional_time||epoch_millis]. Preview of field's value: 'yesterday'"],
      [200, undefined, undefined],
    ]);
    const rows = storedEvents(t).filter((e) => e.idx === 'logs-upd-default');
    expect(rows.map((r) => [r.id, r.src])).toEqual([['k1', { '@timestamp': '2025-08-01T10:00:05Z', a: 4 }]]);
  });

  test('a JSON number @timestamp is read from its text, as Elasticsearch reads it', async () => {
    // epoch_millis takes digits and at most 6 decimals, no exponent; four digits are a year.
    const body = ['{"@timestamp":1.7e12,"n":1}', '{"@timestamp":1700000000000.5,"n":2}', '{"@timestamp":1700000000000,"n":3}', '{"@timestamp":17E11,"n":4}', '{"@timestamp":1700000000000.1234567,"n":5}', '{"@timestamp":2024,"n":6}']
      .flatMap((d, i) => [`{"create":{"_index":"logs-num-default","_id":"n${i + 1}"}}`, d])
      .join('\n');
    const r = await req(`${t.url}/_bulk`, 'POST', body + '\n', { 'content-type': 'application/x-ndjson' });
    expect(r.json.items.map((i: Record<string, { status: number; error?: { reason: string } }>) => [i.create!.status, i.create!.error?.reason.replace(/.*Preview of field's value: /, '')])).toEqual([
      [400, "'1.7e12'"],
      [201, undefined],
      [201, undefined],
      [400, "'17E11'"],
      [400, "'1700000000000.1234567'"],
      [201, undefined],
    ]);
  });
});
