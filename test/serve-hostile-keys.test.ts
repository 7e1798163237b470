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
