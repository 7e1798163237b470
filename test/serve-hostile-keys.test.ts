// Issue 16 for the live service: request bodies are input too. Keys named __proto__, constructor or
// prototype in bulk documents (nested, or flat dotted keys of raw Winlogbeat documents) and in the
// names of objects shippers create are stored as ordinary own keys; nothing reaches a prototype of
// the service process, and the next document is unaffected.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { req, startService, type TestService } from './serve-helpers.js';

/** A raw Sysmon process creation as Winlogbeat ships it, with extra top-level keys as JSON text. */
function rawSysmonText(recordId: number, image: string, extra = ''): string {
  const time = `2025-08-01T10:00:0${recordId % 10}.000Z`;
  const doc = {
    '@timestamp': time,
    agent: { type: 'winlogbeat', version: '9.1.2', name: 'ws-01' },
    host: { name: 'ws-01.corp.example' },
    event: { code: '1', provider: 'Microsoft-Windows-Sysmon', kind: 'event', created: time },
    winlog: {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      provider_name: 'Microsoft-Windows-Sysmon',
      computer_name: 'ws-01.corp.example',
      event_id: '1',
      record_id: String(recordId),
      event_data: { UtcTime: time.replace('T', ' ').replace('Z', ''), ProcessId: '4242', Image: image, CommandLine: image, ParentImage: 'C:\\Windows\\explorer.exe' },
    },
  };
  const text = JSON.stringify(doc);
  return extra ? `${text.slice(0, -1)},${extra}}` : text;
}

describe('eqlite serve: hostile keys in request bodies', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService();
  });
  afterAll(async () => {
    await t.close();
  });

  test('bulk documents with __proto__, constructor and prototype keys are stored as own fields; no prototype changes', async () => {
    const hostile =
      '"__proto__.polluted":"yes","__proto__._source.message":"x","constructor.prototype.polluted":"yes",' +
      '"__proto__":{"polluted":"yes"},"prototype":{"polluted":"yes"}';
    const body =
      [
        '{"create":{"_index":"winlogbeat-9.1.2"}}',
        rawSysmonText(201, 'C:\\Windows\\System32\\cmd.exe', hostile),
        '{"create":{"_index":"winlogbeat-9.1.2"}}',
        rawSysmonText(202, 'C:\\Tools\\mimikatz.exe'),
      ].join('\n') + '\n';
    const r = await req(`${t.url}/_bulk`, 'POST', body, { 'content-type': 'application/x-ndjson' });
    expect(r.status).toBe(200);
    expect(r.json.errors).toBe(false);
    expect(r.json.items.map((i: any) => i.create.status)).toEqual([201, 201]);
    expect(({} as Record<string, unknown>).polluted).toBe(undefined);
    expect(({} as Record<string, unknown>)._source).toBe(undefined);
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);

    const rows = t.svc.store.db().prepare('SELECT src FROM events ORDER BY seq').all() as { src: string }[];
    const docs = rows.map((row) => JSON.parse(row.src) as Record<string, any>);
    const first = docs.find((d) => d.winlog?.record_id === '201')!;
    const second = docs.find((d) => d.winlog?.record_id === '202')!;
    // Mapped to ECS; the hostile keys stayed fields of this one document.
    expect(first.process.name).toBe('cmd.exe');
    expect(Object.prototype.hasOwnProperty.call(first, '__proto__')).toBe(true);
    expect(first.__proto__.polluted).toBe('yes');
    expect(Object.prototype.hasOwnProperty.call(first, 'prototype')).toBe(true);
    // The next document is an ordinary event: no field from its neighbour.
    expect(second.process.name).toBe('mimikatz.exe');
    expect(Object.prototype.hasOwnProperty.call(second, '__proto__')).toBe(false);
    expect('polluted' in second).toBe(false);
    expect(second.polluted).toBe(undefined);
  });

  test('objects named __proto__ or constructor (pipelines, templates) are kept under their own name', async () => {
    for (const name of ['__proto__', 'constructor']) {
      const put = await req(`${t.url}/_ingest/pipeline/${name}`, 'PUT', { description: `named ${name}`, processors: [] });
      expect(put.status).toBe(200);
      const got = await req(`${t.url}/_ingest/pipeline/${name}`, 'GET');
      expect(got.status).toBe(200);
      expect(Object.keys(got.json)).toEqual([name]);
      expect(got.json[name].description).toBe(`named ${name}`);
    }
    expect(({} as Record<string, unknown>).description).toBe(undefined);
  });
});

describe('eqlite serve: hostile keys in every request body', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService();
  });
  afterAll(async () => {
    await t.close();
  });

  const protoKeys = () => Reflect.ownKeys(Object.prototype).map(String).sort();

  test('templates, policies, indices, searches, counts, EQL, alert status, rule import and runs: no prototype changes, no server error', async () => {
    const before = protoKeys();
    const H = '"__proto__":{"polluted":"yes","size":0,"status":"closed"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}';
    const rule = `{"rule_id":"hostile-1","name":"Hostile","type":"eql","language":"eql","severity":"low","risk_score":1,"index":["logs-*"],"query":"process where true",${H}}`;
    const json = { 'content-type': 'application/json' };
    const calls: [string, string, string, Record<string, string>][] = [
      ['PUT', '/_index_template/__proto__', `{"index_patterns":["x-*"],${H}}`, json],
      ['PUT', '/_component_template/constructor', `{"template":{${H}}}`, json],
      ['PUT', '/_ilm/policy/prototype', `{"policy":{${H}}}`, json],
      ['PUT', '/_template/t1', `{${H}}`, json],
      ['PUT', '/logs-hostile', `{"settings":{${H}},"mappings":{"properties":{${H}}}}`, json],
      ['POST', '/_bulk', `{"index":{"_index":"logs-hostile",${H}}}\n{"@timestamp":"2025-08-01T10:00:00Z","event":{"category":["process"]},${H}}\n`, { 'content-type': 'application/x-ndjson' }],
      // Objects as metadata values: a malformed action line, refused as a whole (Elasticsearch's
      // "expected a simple value"); simple values under those names are ignored.
      ['POST', '/logs-hostile/_bulk', `{"index":{"__proto__":"x","constructor":"y","prototype":"z"}}\n{"@timestamp":"2025-08-01T10:00:00Z","event":{"category":["process"]},${H}}\n`, { 'content-type': 'application/x-ndjson' }],
      ['POST', '/logs-*/_eql/search', `{"query":"process where constructor != null",${H},"filter":{"term":{"__proto__.polluted":"yes"}}}`, json],
      ['POST', '/_search', `{"query":{"term":{"constructor":"x"}},${H}}`, json],
      ['POST', '/logs-*/_count', `{"query":{"bool":{"filter":[{"term":{"__proto__":"x"}}],${H}}}}`, json],
      ['POST', '/api/alerts/_status', `{"status":"closed","query":{${H}},${H}}`, json],
      ['POST', '/api/detection_engine/rules/_import', `${rule}\n`, { 'content-type': 'application/x-ndjson' }],
      ['POST', '/api/rules/hostile-1/_run', `{${H}}`, json],
      ['POST', '/app/login', `{"username":"x","password":"y",${H}}`, json],
    ];
    const statuses: [string, number][] = [];
    for (const [method, p, body, headers] of calls) {
      const r = await req(`${t.url}${p}`, method, body, headers);
      statuses.push([`${method} ${p}`, r.status]);
      expect(protoKeys(), `${method} ${p}`).toEqual(before);
      const probe: Record<string, unknown> = {};
      expect([probe.polluted, probe.size, probe.status], `${method} ${p}`).toEqual([undefined, undefined, undefined]);
    }
    // Accepted, or refused as a client error (objects in bulk metadata, a bool clause named
    // __proto__, a run without start).
    expect(statuses.filter(([, s]) => s !== 200)).toEqual([
      ['POST /_bulk', 400],
      ['POST /logs-*/_count', 400],
      ['POST /api/rules/hostile-1/_run', 400],
    ]);
    // Stored under their own names, with the hostile keys as their own fields.
    const tpl = await req(`${t.url}/_index_template/__proto__`, 'GET');
    expect(tpl.status).toBe(200);
    expect(tpl.json.index_templates[0].name).toBe('__proto__');
    expect(Object.keys(tpl.json.index_templates[0].index_template)).toEqual(['index_patterns', '__proto__', 'constructor', 'prototype']);
    const imported = await req(`${t.url}/api/rules/hostile-1`, 'GET');
    expect(imported.status).toBe(200);
    expect(imported.json.rule.type).toBe('eql');
  });
});
