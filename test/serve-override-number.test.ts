// `eqlite serve` with a rule whose timestamp_override is not event.ingested (which serve sets
// itself): a number there is read from its text, as Elasticsearch's date field parses it and as a
// hunt reads it, and every value of a multi-valued field counts (Kibana's window filter is a range
// query, which matches a document by any value). Ingest reads the texts of a routed document's
// numbers (the live tail), and every read of stored events reads them from the stored text.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { numberTextReader, serveNumberFields } from '../src/events/number-time.js';
import { BulkParser } from '../src/serve/bulk.js';
import { req, startService, type TestService } from './serve-helpers.js';

const rule = {
  rule_id: 'created-window',
  name: 'created window',
  query: 'process where true',
  index: ['logs-*'],
  type: 'eql',
  language: 'eql',
  severity: 'low',
  risk_score: 21,
  from: 'now-6m',
  interval: '5m',
  timestamp_override: 'event.created',
};

/** A bulk body of `create` actions, `"@@n@@"` replaced by the number text n (JSON.stringify cannot write 1.7e12). */
function rawBody(docs: unknown[]): string {
  return docs.map((d) => `{"create":{"_index":"logs-test-default"}}\n${JSON.stringify(d).replace(/"@@([^@]+)@@"/g, '$1')}\n`).join('');
}
const num = (text: string) => `@@${text}@@`;

describe('serveNumberFields and numberTextReader', () => {
  test('leave event.ingested and @timestamp to serve, and read the others’ numbers from their text', () => {
    expect(serveNumberFields(['event.ingested', undefined, '@timestamp', 'event.created', 'event.created', 'x'])).toEqual(['event.created', 'x']);
    expect(numberTextReader([])).toBeNull();
    const read = numberTextReader(['event.created'])!;
    const text = '{"event":{"created":[2024.0,"s",1.7e12]}}';
    expect(read(text, JSON.parse(text) as Record<string, unknown>)).toEqual({ 'event.created': ['2024.0', '1.7e12'] });
    const plain = '{"event":{"created":"2024-01-01T00:00:00Z"}}';
    expect(read(plain, JSON.parse(plain) as Record<string, unknown>)).toBeUndefined();
  });

  test('ingest keeps the texts of a routed document’s numbers', () => {
    const router = {
      gen: 1,
      wants: () => true,
      fields: [],
      mayDispatch: () => true,
      route: () => [0],
      numberTexts: numberTextReader(['event.created']),
    };
    const items = new BulkParser({ router }).parse(Buffer.from(rawBody([
      { '@timestamp': '2024-01-01T00:00:00Z', event: { created: num('1.7e12') } },
      { '@timestamp': '2024-01-01T00:00:00Z', event: [{ created: num('2024.0') }, { created: 'x' }] },
      { '@timestamp': '2024-01-01T00:00:00Z', event: { created: '2024-01-01T00:00:00Z' } },
    ])));
    expect(items.map((it) => it.numberTexts)).toEqual([{ 'event.created': '1.7e12' }, { 'event.created': ['2024.0'] }, undefined]);
  });
});

describe('scheduled runs of a rule windowed by another time field', () => {
  let t: TestService;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-serve-override-'));
    const rules = path.join(dir, 'rules.ndjson');
    writeFileSync(rules, JSON.stringify(rule) + '\n');
    t = await startService((c) => {
      c.rules = [rules];
      c.detection.realtime = false;
      c.detection.latenessMs = 0;
    });
  });
  afterAll(async () => {
    await t.close();
  });

  test('read each number from its text and hold an event by any of its values', async () => {
    const interval = 300_000;
    const next = Math.ceil(Date.now() / interval) * interval;
    // In the window of the run at `next` ([next − 6 min, next]) by @timestamp, which the store is read by.
    const at = next - 60_000;
    const doc = (host: string, created: unknown) => ({ '@timestamp': new Date(at).toISOString(), event: { category: ['process'], created }, host: { name: host } });
    const body = rawBody([
      // No epoch_millis text: no value (ignore_malformed), so @timestamp counts. Its value (2023-11-14) is in no window.
      doc('exponent', num('1.7e12')),
      // The second value is in the window, the first (the only one read until now) is not.
      doc('second-value', ['2023-01-01T00:00:00Z', num(`${at}.5`)]),
      // In the window by its value (a year read as 2024 by the number's value, 2,024 ms by its text): no.
      doc('year', num('2024.0')),
      // A time out of the window: no fallback, no alert.
      doc('outside', '2023-01-01T00:00:00Z'),
    ]);
    const r = await req(`${t.url}/_bulk?filter_path=errors`, 'POST', body, { 'content-type': 'application/json' });
    expect(r.json).toEqual({ errors: false });
    await t.svc.detection.tick(next + 1);
    const hosts = (t.svc.alerts.db.prepare('SELECT host_name FROM alerts ORDER BY host_name').all() as { host_name: string }[]).map((x) => x.host_name);
    expect(hosts).toEqual(['exponent', 'second-value']);
  });
});
