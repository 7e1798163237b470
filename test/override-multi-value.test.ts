// A time field of several values. Elasticsearch's document parser hands each element of an array
// (nested arrays flattened, an array's objects walked for the rest of the name) to the date field,
// which parses each element's text like a single value's; under ignore_malformed a value its format
// does not read is dropped alone. Kibana's window filter (buildTimeRangeFilter) is a range query on
// the timestamp_override field, which matches a document by any of its values, and falls back to
// @timestamp only when the field has no value left (`must_not exists`).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { fieldNumberTexts, numberTextsOf, overrideTimes, overrideWireValue } from '../src/events/number-time.js';
import { readEvents } from '../src/events/sources.js';
import { openParallelInputs } from '../src/parallel/pool.js';
import { fieldAccessor, getField, leafValues } from '../src/engine/fields.js';
import type { EventDoc, SkippedItem } from '../src/events/types.js';
import { makeRule, tempDir, wlb } from './detect-helpers.js';

/** One NDJSON line per document, `"@@n@@"` replaced by the number text n (JSON.stringify cannot write 1.7e12 or 2024.0). */
function writeRaw(dir: string, name: string, docs: unknown[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, docs.map((d) => JSON.stringify(d).replace(/"@@([^@]+)@@"/g, '$1')).join('\n') + '\n');
  return p;
}
const num = (text: string) => `@@${text}@@`;

describe('fieldNumberTexts: the texts of a multi-valued field’s numbers, in leafValues order', () => {
  const cases: [string, string, string[] | null][] = [
    ['{"event":{"ingested":[1714558320000,"x",2024.0,[1.5e3],null,{"a":1}]}}', 'event.ingested', ['1714558320000', '2024.0', '1.5e3']],
    ['{"event":[{"ingested":2024.0},{"ingested":null},{"x":1},{"ingested":[7,[8]]}]}', 'event.ingested', ['2024.0', '7', '8']],
    // Only nulls through the array: nothing found there, the dotted key holds the field.
    ['{"event":[{"ingested":null}],"event.ingested":5.0}', 'event.ingested', ['5.0']],
    // A null found at an object stops the lookup (getField gives null).
    ['{"event":{"ingested":null},"event.ingested":5}', 'event.ingested', null],
    ['{"event":{"ingested":["[1,2]",3,"\\"]",4]}}', 'event.ingested', ['3', '4']],
    ['{"@timestamp":[[2024.0],1]}', '@timestamp', ['2024.0', '1']],
    ['{"event":{"x":1}}', 'event.ingested', null],
    ['{"event":[[{"ingested":-1.5}],{"ingested":"s"}]}', 'event.ingested', ['-1.5']],
  ];
  it.each(cases)('%s %s', (text, field, want) => {
    expect(fieldNumberTexts(text, field)).toEqual(want);
    // The same numbers as the value's, in the same order.
    const nums = leafValues(getField(JSON.parse(text) as Record<string, unknown>, field)).filter((x) => typeof x === 'number');
    expect((want ?? []).map(Number)).toEqual(nums);
  });

  it('numberTextsOf keeps the texts of an array’s numbers; a mismatch leaves the field to its values', () => {
    const fields = ['event.ingested'];
    const gets = fields.map((f) => fieldAccessor(f));
    const of = (t: string) => numberTextsOf(t, JSON.parse(t) as Record<string, unknown>, fields, gets, '');
    expect(of('{"event":{"ingested":["2024-05-01T10:00:00Z",2024.0,1.7e12]}}')).toEqual({ 'event.ingested': ['2024.0', '1.7e12'] });
    expect(of('{"event":[{"ingested":2024.0},{"ingested":1}]}')).toEqual({ 'event.ingested': ['2024.0', '1'] });
    expect(of('{"event":{"ingested":["a","b"]}}')).toBeUndefined();
    const hit = '{"_id":"a","_source":{"event":{"ingested":[1e3,2]}}}';
    const src = (JSON.parse(hit) as { _source: Record<string, unknown> })._source;
    expect(numberTextsOf(hit, src, fields, gets, '_source.')).toEqual({ 'event.ingested': ['1e3', '2'] });
  });
});

describe('overrideTimes and overrideWireValue', () => {
  const MS_1012 = Date.parse('2024-05-01T10:12:00Z');
  it('reads every value, each number from its text, and keeps those the format reads, ascending', () => {
    expect(overrideTimes(MS_1012, undefined)).toBe(MS_1012);
    expect(overrideTimes(2024, '2024.0')).toBe(2024);
    expect(overrideTimes(2024, undefined)).toBe(Date.UTC(2024, 0, 1));
    expect(overrideTimes(['2024-05-01T10:27:00Z', 'yesterday', MS_1012 + 0.5], [`${MS_1012}.5`])).toEqual([MS_1012, MS_1012 + 15 * 60_000]);
    // 1.7e12 is no epoch_millis text; 2024.0 is 2,024 ms: the one value left is a number.
    expect(overrideTimes([1.7e12, 2024], ['1.7e12', '2024.0'])).toBe(2024);
    expect(overrideTimes([[5], null, [[3]]], undefined)).toEqual([3, 5]);
    expect(overrideTimes([null, 'yesterday', true, { a: 1 }], undefined)).toBeNull();
    expect(overrideTimes([], undefined)).toBeNull();
    expect(overrideTimes(null, undefined)).toBeNull();
  });

  it('sends a worker’s numbers as their texts', () => {
    expect(overrideWireValue(2024, '2024.0')).toBe('2024.0');
    expect(overrideWireValue(2024, undefined)).toBe(2024);
    expect(overrideWireValue([2024, 's', [null, 1.7e12]], ['2024.0', '1.7e12'])).toEqual(['2024.0', 's', '1.7e12']);
    expect(overrideTimes(overrideWireValue([1.7e12, 2024], ['1.7e12', '2024.0']), undefined)).toBe(2024);
  });
});

// Runs every 5 minutes from 10:05 (anchor 10:00), each searching back 9 minutes; every event is at
// 10:02 (@timestamp), which the 10:05 run holds first.
const range = { from: '2024-05-01T10:00:00Z', to: '2024-05-01T10:30:00Z' };
const INGESTED_1012 = '1714558320000'; // 2024-05-01T10:12:00Z in epoch milliseconds
const ev = (name: string, event: unknown) => ({ ...wlb('2024-05-01T10:02:00Z', 'process', { process: { name } }), event });
const cat = { category: ['process'], type: ['start'], kind: 'event' };
const rule = (extra: Record<string, unknown> = {}) =>
  makeRule({ name: 'ovr', index: ['winlogbeat-*'], query: 'process where true', from: 'now-9m', interval: '5m', timestamp_override: 'event.ingested', ...extra });
const runOf = (alerts: Record<string, unknown>[]) => alerts.map((a) => [(a.process as { name: string }).name, a['@timestamp']]);

describe('a multi-valued timestamp_override: a run holds the event by any of its values', () => {
  const dir = tempDir();
  const docs = [
    // The first value is in no run; the second (10:12) in the 10:15 run's window.
    ev('any-value', { ...cat, ingested: ['2024-05-01T11:00:00Z', num(INGESTED_1012)] }),
    // The first is no time (its text takes no exponent; its value would be 10:12): 10:27 counts.
    ev('malformed-first', { ...cat, ingested: [num('1.71455832e12'), '2024-05-01T10:27:00Z'] }),
    // No value left: @timestamp.
    ev('all-malformed', { ...cat, ingested: ['yesterday', num('1.7e12')] }),
    ev('empty', { ...cat, ingested: [] }),
    // Reached through an array: 2024.0 is 2,024 ms (no run), 10:12 counts.
    ev('through-array', [cat, { ingested: num('2024.0') }, { ingested: num(INGESTED_1012) }]),
    ev('nested-arrays', { ...cat, ingested: [[num(INGESTED_1012)], null] }),
    // In the 10:15, 10:20 and 10:30 runs: alerted once (the same alert id every run).
    ev('two-runs', { ...cat, ingested: [num(INGESTED_1012), '2024-05-01T10:27:00Z'] }),
  ];
  const file = writeRaw(dir, 'multi.ndjson', docs);

  const WITH_FALLBACK = [
    ['all-malformed', '2024-05-01T10:05:00.000Z'],
    ['empty', '2024-05-01T10:05:00.000Z'],
    ['any-value', '2024-05-01T10:15:00.000Z'],
    ['through-array', '2024-05-01T10:15:00.000Z'],
    ['nested-arrays', '2024-05-01T10:15:00.000Z'],
    ['two-runs', '2024-05-01T10:15:00.000Z'],
    ['malformed-first', '2024-05-01T10:30:00.000Z'],
  ];

  it('reads every value; what the format refuses is dropped, and none left falls back to @timestamp', async () => {
    const { alerts, stats } = await hunt({ rules: [rule()], inputs: [file], ...range });
    expect(runOf(alerts)).toEqual(WITH_FALLBACK);
    expect(stats.perRule[0]!.outsideWindows).toBe(0);
  });

  it('with the fallback disabled, an event without a value left is in no run', async () => {
    const { alerts, stats } = await hunt({ rules: [rule({ timestamp_override_fallback_disabled: true })], inputs: [file], ...range });
    expect(runOf(alerts)).toEqual(WITH_FALLBACK.slice(2));
    expect(stats.perRule[0]!.outsideWindows).toBe(2);
  });

  it('gives the same runs on worker threads, to a pretty-printed file and to Elasticsearch hits', async () => {
    expect(runOf((await hunt({ rules: [rule()], inputs: [file], ...range, threads: 2 })).alerts)).toEqual(WITH_FALLBACK);
    const pretty = path.join(dir, 'pretty.json');
    writeFileSync(pretty, '[\n' + docs.map((d) => JSON.stringify(d, null, 2).replace(/"@@([^@]+)@@"/g, '$1')).join(',\n') + '\n]\n');
    expect(runOf((await hunt({ rules: [rule()], inputs: [pretty], ...range })).alerts)).toEqual(WITH_FALLBACK);
    const hits = writeRaw(dir, 'hits.ndjson', docs.map((d, i) => ({ _index: 'winlogbeat-8.12.0-2024.05.01', _id: `h${i}`, _source: d })));
    expect(runOf((await hunt({ rules: [rule()], inputs: [hits], ...range })).alerts)).toEqual(WITH_FALLBACK);
  });

  it('carries the numbers’ texts through a worker (fieldValues)', async () => {
    const par = openParallelInputs([{ path: file, kind: 'json' }], {
      threads: 1,
      route: { kind: 'hunt', rules: [rule()], prepare: { timestampField: '@timestamp', exceptionLists: [], now: Date.parse('2024-05-02T00:00:00Z'), replay: true } },
      batchEvents: 3,
    });
    const events: EventDoc[] = [];
    try {
      for await (const b of par.inputs[0]!.batches()) events.push(...b);
    } finally {
      await par.close();
    }
    expect(events.map((e) => e.fieldValues!['event.ingested'])).toEqual([
      ['2024-05-01T11:00:00Z', INGESTED_1012],
      ['1.71455832e12', '2024-05-01T10:27:00Z'],
      ['yesterday', '1.7e12'],
      [],
      ['2024.0', INGESTED_1012],
      [INGESTED_1012],
      [INGESTED_1012, '2024-05-01T10:27:00Z'],
    ]);
  });

  it('a single window (--from/--to) holds the event by any value', async () => {
    const { alerts } = await hunt({ rules: [rule()], inputs: [file], from: '2024-05-01T10:20:00Z', to: '2024-05-01T10:30:00Z', singleWindow: true });
    expect(runOf(alerts).map(([name]) => name)).toEqual(['malformed-first', 'two-runs']);
  });
});

describe('a time field in or through an array: its first value read from its text', () => {
  it('reads @timestamp [2024.0] as 2,024 ms and refuses [1.7e12]', async () => {
    const dir = tempDir();
    const file = writeRaw(dir, 'ts.ndjson', [
      { '@timestamp': [num('2024.0')], i: 1 },
      { '@timestamp': [num('1.7e12')], i: 2 },
      { '@timestamp': [[num('1714557720123.999999')], 'x'], i: 3 },
    ]);
    const skipped: SkippedItem[] = [];
    const got: EventDoc[] = [];
    for await (const b of readEvents(file, { onSkip: (s) => skipped.push(s) }).batches()) got.push(...b);
    expect(skipped.map((s) => [s.position.line, s.reason])).toEqual([
      [2, 'unparseable @timestamp 1.7e12 (Elasticsearch reads a number as its text: epoch milliseconds take no exponent and at most six decimals); skipped'],
    ]);
    expect(got.map((e) => [e.source.i, e.time])).toEqual([
      [1, { ms: 2024, ns: 0 }],
      [3, { ms: 1714557720123, ns: 999_999 }],
    ]);
  });

  it('reads --timestamp-field event.ingested through an array from its text', async () => {
    const dir = tempDir();
    const file = writeRaw(dir, 'ing.ndjson', [
      { '@timestamp': '2024-05-01T10:00:00Z', event: [{ ingested: num('1714557720123.999999') }], i: 1 },
      { '@timestamp': '2024-05-01T10:00:00Z', event: [{ ingested: num('1.7e12') }], i: 2 },
    ]);
    const skipped: SkippedItem[] = [];
    const got: EventDoc[] = [];
    for await (const b of readEvents(file, { onSkip: (s) => skipped.push(s), timestampField: 'event.ingested' }).batches()) got.push(...b);
    expect(skipped.map((s) => [s.position.line, s.reason])).toEqual([
      [2, 'unparseable event.ingested 1.7e12 (Elasticsearch reads a number as its text: epoch milliseconds take no exponent and at most six decimals); skipped'],
    ]);
    expect(got.map((e) => [e.source.i, e.time, e.timeField])).toEqual([[1, { ms: 1714557720123, ns: 999_999 }, 'event.ingested']]);
  });
});
