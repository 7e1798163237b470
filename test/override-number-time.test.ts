// A rule's timestamp_override field holding a JSON number: Elasticsearch's date field parses the
// number's text with `strict_date_optional_time||epoch_millis` (DateFieldMapper.parseCreateField:
// `parser().textOrNull()`), and a logs data stream ignores a value its format does not read
// (`logs@settings`: index.mapping.ignore_malformed), so Kibana's window filter falls back to
// @timestamp for it (buildTimeRangeFilter: `must_not exists` on the override).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { overrideInstant, numberTextsOf } from '../src/events/number-time.js';
import { readEvents } from '../src/events/sources.js';
import { fieldAccessor } from '../src/engine/fields.js';
import { openParallelInputs } from '../src/parallel/pool.js';
import type { EventDoc, SkippedItem } from '../src/events/types.js';
import { makeRule, tempDir, wlb } from './detect-helpers.js';

/** One NDJSON line per document, `"@@n@@"` replaced by the number text n (JSON.stringify cannot write 1.7e12 or 2024.0). */
function writeRaw(dir: string, name: string, docs: unknown[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, docs.map((d) => JSON.stringify(d).replace(/"@@([^@]+)@@"/g, '$1')).join('\n') + '\n');
  return p;
}
const num = (text: string) => `@@${text}@@`;

// Runs every 5 minutes from 10:05 (anchor 10:00), each searching back 9 minutes: an event at 10:02
// is alerted by the 10:05 run first, one at 10:12 by the 10:15 run.
const range = { from: '2024-05-01T10:00:00Z', to: '2024-05-01T10:30:00Z' };
const INGESTED_1012 = '1714558320000'; // 2024-05-01T10:12:00Z in epoch milliseconds
const ev = (name: string, ingested: unknown) =>
  wlb('2024-05-01T10:02:00Z', 'process', { process: { name }, event: { category: ['process'], type: ['start'], kind: 'event', ingested } });
const rule = (extra: Record<string, unknown> = {}) =>
  makeRule({ name: 'ovr', index: ['winlogbeat-*'], query: 'process where true', from: 'now-9m', interval: '5m', timestamp_override: 'event.ingested', ...extra });
const runOf = (alerts: Record<string, unknown>[]) => alerts.map((a) => [(a.process as { name: string }).name, a['@timestamp']]);

describe('timestamp_override holding a number', () => {
  const dir = tempDir();
  const docs = [
    ev('millis', num(INGESTED_1012)),
    // Its value is 10:12 (1.71455832e12); its text takes no exponent: ignored, @timestamp counts.
    ev('exponent', num('1.71455832e12')),
    // Seven decimals: the value rounds to 10:12, the text is no epoch_millis.
    ev('seven-decimals', num(`${INGESTED_1012}.0000001`)),
    // Six decimals read: 10:12 and 0.999999 ms.
    ev('six-decimals', num(`${INGESTED_1012}.999999`)),
    // A string that is no date is ignored too.
    ev('not-a-date', 'yesterday'),
    // The text of epoch milliseconds as a string reads as the number.
    ev('millis-string', INGESTED_1012),
    // 2024.0 is 2,024 ms after the epoch (its value 2024 would be the year 2024): a time, far
    // outside every window, so no fallback.
    ev('2024.0', num('2024.0')),
  ];
  const file = writeRaw(dir, 'numbers.ndjson', docs);

  /** Each document's run: a value the format refuses falls back to @timestamp (10:05). */
  const WITH_FALLBACK = [
    ['exponent', '2024-05-01T10:05:00.000Z'],
    ['seven-decimals', '2024-05-01T10:05:00.000Z'],
    ['not-a-date', '2024-05-01T10:05:00.000Z'],
    ['millis', '2024-05-01T10:15:00.000Z'],
    ['six-decimals', '2024-05-01T10:15:00.000Z'],
    ['millis-string', '2024-05-01T10:15:00.000Z'],
  ];

  it('reads the number from its text; what the format refuses falls back to @timestamp', async () => {
    const { alerts, stats } = await hunt({ rules: [rule()], inputs: [file], ...range });
    expect(runOf(alerts)).toEqual(WITH_FALLBACK);
    expect(stats.perRule[0]!.outsideWindows).toBe(1);
  });

  it('with the fallback disabled, what the format refuses is in no window', async () => {
    const { alerts, stats } = await hunt({ rules: [rule({ timestamp_override_fallback_disabled: true })], inputs: [file], ...range });
    expect(runOf(alerts)).toEqual([
      ['millis', '2024-05-01T10:15:00.000Z'],
      ['six-decimals', '2024-05-01T10:15:00.000Z'],
      ['millis-string', '2024-05-01T10:15:00.000Z'],
    ]);
    expect(stats.perRule[0]!.outsideWindows).toBe(4);
  });

  it('gives the same windows to a pretty-printed file and to Elasticsearch hits', async () => {
    const pretty = path.join(dir, 'pretty.json');
    writeFileSync(pretty, '[\n' + docs.map((d) => JSON.stringify(d, null, 2).replace(/"@@([^@]+)@@"/g, '$1')).join(',\n') + '\n]\n');
    const hits = writeRaw(dir, 'hits.ndjson', docs.map((d, i) => ({ _index: 'winlogbeat-8.12.0-2024.05.01', _id: `h${i}`, _source: d })));
        expect(runOf((await hunt({ rules: [rule()], inputs: [pretty], ...range })).alerts)).toEqual(WITH_FALLBACK);
    expect(runOf((await hunt({ rules: [rule()], inputs: [hits], ...range })).alerts)).toEqual(WITH_FALLBACK);
  });

  it('gives the same windows when the file is read on worker threads', async () => {
    const { alerts } = await hunt({ rules: [rule()], inputs: [file], ...range, threads: 2 });
    expect(runOf(alerts)).toEqual(WITH_FALLBACK);
  });

  it('carries the number text through a worker (fieldValues) to the same windows', async () => {
    const rules = [rule()];
    const par = openParallelInputs([{ path: file, kind: 'json' }], {
      threads: 1,
      route: { kind: 'hunt', rules, prepare: { timestampField: '@timestamp', exceptionLists: [], now: Date.parse('2024-05-02T00:00:00Z'), replay: true } },
      batchEvents: 3,
    });
    const events: EventDoc[] = [];
    try {
      for await (const b of par.inputs[0]!.batches()) events.push(...b);
    } finally {
      await par.close();
    }
    expect(events.map((e) => e.fieldValues!['event.ingested'])).toEqual([
      INGESTED_1012,
      '1.71455832e12',
      `${INGESTED_1012}.0000001`,
      `${INGESTED_1012}.999999`,
      'yesterday',
      INGESTED_1012,
      '2024.0',
    ]);
  });
});

describe('numberTextsOf and overrideInstant', () => {
  it('finds the text of a number field, in a document or below a hit’s _source', () => {
    const fields = ['event.ingested', 'x'];
    const gets = fields.map((f) => fieldAccessor(f));
    const text = '{"event":{"ingested":2024.0},"x":"s"}';
    expect(numberTextsOf(text, JSON.parse(text) as Record<string, unknown>, fields, gets, '')).toEqual({ 'event.ingested': '2024.0' });
    const hit = '{"_id":"a","_source":{"event.ingested":1.5e3,"x":7}}';
    const src = (JSON.parse(hit) as { _source: Record<string, unknown> })._source;
    expect(numberTextsOf(hit, src, fields, gets, '_source.')).toEqual({ 'event.ingested': '1.5e3', x: '7' });
    // Through an array of one object the field has that one value: its text too.
    const arr = '{"event":[{"ingested":2024.0}]}';
    expect(numberTextsOf(arr, JSON.parse(arr) as Record<string, unknown>, fields, gets, '')).toEqual({ 'event.ingested': '2024.0' });
  });

  it('reads a number by its text when known, and gives null for no time', () => {
    expect(overrideInstant(2024, '2024.0')).toEqual({ ms: 2024, ns: 0 });
    expect(overrideInstant(2024, undefined)).toEqual({ ms: Date.UTC(2024, 0, 1), ns: 0 });
    expect(overrideInstant(1.7e12, '1.7e12')).toBeNull();
    expect(overrideInstant(1714558320000.9999, '1714558320000.999999')).toEqual({ ms: 1714558320000, ns: 999_999 });
    expect(overrideInstant('yesterday', undefined)).toBeNull();
    expect(overrideInstant(null, undefined)).toBeNull();
    expect(overrideInstant([], undefined)).toBeNull();
    expect(overrideInstant('2024-05-01T10:12:00Z', undefined)).toEqual({ ms: Date.parse('2024-05-01T10:12:00Z'), ns: 0 });
  });
});

describe('Elasticsearch hits: _source numbers read from their text', () => {
  it('refuses a hit whose @timestamp text is no time, and reads 2024.0 as 2,024 ms', async () => {
    const dir = tempDir();
    const file = writeRaw(dir, 'hits.ndjson', [
      { _index: 'logs-x-default', _id: 'bad', _source: { '@timestamp': num('1.7e12'), event: { category: ['process'] } } },
      { _index: 'logs-x-default', _id: 'ms', _source: { '@timestamp': num('2024.0'), event: { category: ['process'] } } },
    ]);
    const skipped: SkippedItem[] = [];
    const got: EventDoc[] = [];
    for await (const b of readEvents(file, { onSkip: (s) => skipped.push(s) }).batches()) got.push(...b);
    expect(skipped.map((s) => [s.position.line, s.reason])).toEqual([
      [1, 'unparseable @timestamp 1.7e12 (Elasticsearch reads a number as its text: epoch milliseconds take no exponent and at most six decimals); skipped'],
    ]);
    expect(got.map((e) => [e.index, e.id, e.time])).toEqual([['logs-x-default', 'ms', { ms: 2024, ns: 0 }]]);
  });
});

describe('the external sort keeps what the source re-serialised loses', () => {
  it('carries numberTexts and the held fieldValues', async () => {
    const { ExternalSorter } = await import('../src/events/external-sort.js');
    const { Keyer } = await import('../src/events/order.js');
    const sorter = new ExternalSorter(1024 * 1024);
    const keyer = new Keyer({});
    const a: EventDoc = {
      id: 'a',
      index: 'logs-x',
      source: { '@timestamp': '2024-05-01T10:00:01Z', event: { ingested: 2024 } },
      numberTexts: { 'event.ingested': '2024.0' },
      fieldValues: { 'event.ingested': '2024.0', other: undefined },
    };
    const b: EventDoc = { id: 'b', index: 'logs-x', source: { '@timestamp': '2024-05-01T10:00:00Z' } };
    sorter.add(a, keyer.key(a, 0, 0)!);
    sorter.add(b, keyer.key(b, 0, 1)!);
    const out: EventDoc[] = [];
    for await (const batch of sorter.sorted()) out.push(...batch);
    expect(out.map((e) => [e.id, e.numberTexts, e.fieldValues])).toEqual([
      ['b', undefined, undefined],
      ['a', { 'event.ingested': '2024.0' }, { 'event.ingested': '2024.0' }],
    ]);
  });
});

describe('kibana.alert.original_time of a number @timestamp', () => {
  it('is the time Elasticsearch indexed from the number’s text (Kibana reads it from `fields`)', async () => {
    const dir = tempDir();
    const doc = (ts: string, name: string) => ({ ...wlb('x', 'process', { process: { name } }), '@timestamp': num(ts) });
    const file = writeRaw(dir, 'ts.ndjson', [doc('1714557720123.999999', 'sub-ms'), doc('2024.0', 'millis')]);
    const plain = makeRule({ name: 'p', index: ['winlogbeat-*'], query: 'process where true' });
    const { alerts } = await hunt({ rules: [plain], inputs: [file], singleWindow: true });
    // The value 1714557720123.999999 is the double 1714557720124 and the value 2024 a year.
    expect(alerts.map((a) => [(a.process as { name: string }).name, a['kibana.alert.original_time']])).toEqual([
      ['millis', '1970-01-01T00:00:02.024Z'],
      ['sub-ms', '2024-05-01T10:02:00.123Z'],
    ]);
  });
});

describe('a search response: each hit’s numbers read from its own text', () => {
  it('finds every hit’s text, and reads its @timestamp and override numbers from it', async () => {
    const { searchHitStarts, fieldNumberText } = await import('../src/events/number-time.js');
    const response = '{"took":1,"hits":{"total":{"value":3},"hits":[{"_id":"a","_source":{"n":[1,{"x":"]"}]}} , {"_id":"b"},\n{"_id":"c","_source":{"@timestamp":2024.0}}]}}';
    const starts = searchHitStarts(response)!;
    expect(starts.map((p) => response.slice(p, p + 9))).toEqual(['{"_id":"a', '{"_id":"b', '{"_id":"c']);
    expect(fieldNumberText(response, '_source.@timestamp', starts[2])).toBe('2024.0');
    expect(fieldNumberText(response, '_source.@timestamp', starts[0])).toBeNull();
    expect(searchHitStarts('{"hits":{"hits":{}}}')).toBeNull();

    const dir = tempDir();
    const hit = (id: string, ts: string, ingested: string) => ({
      _index: 'winlogbeat-8.12.0-2024.05.01',
      _id: id,
      _source: { ...ev(id, num(ingested)), '@timestamp': num(ts) },
    });
    const file = path.join(dir, 'response.json');
    writeFileSync(
      file,
      JSON.stringify({ took: 2, hits: { hits: [hit('bad-ts', '1.7e12', INGESTED_1012), hit('exponent', '1714557720000', '1.71455832e12'), hit('millis', '1714557720000.5', INGESTED_1012)] } }, null, 1).replace(/"@@([^@]+)@@"/g, '$1'),
    );
    const skipped: SkippedItem[] = [];
    const got: EventDoc[] = [];
    for await (const b of readEvents(file, { onSkip: (s) => skipped.push(s), numberTimeFields: ['event.ingested'] }).batches()) got.push(...b);
    expect(skipped.map((s) => s.reason)).toEqual([
      'unparseable @timestamp 1.7e12 (Elasticsearch reads a number as its text: epoch milliseconds take no exponent and at most six decimals); skipped',
    ]);
    expect(got.map((e) => [e.id, e.time, e.numberTexts])).toEqual([
      ['exponent', { ms: 1714557720000, ns: 0 }, { 'event.ingested': '1.71455832e12' }],
      ['millis', { ms: 1714557720000, ns: 500_000 }, { 'event.ingested': INGESTED_1012 }],
    ]);
    const { alerts } = await hunt({ rules: [rule()], inputs: [file], ...range });
    expect(runOf(alerts)).toEqual([
      ['exponent', '2024-05-01T10:05:00.000Z'],
      ['millis', '2024-05-01T10:15:00.000Z'],
    ]);
  });
});
