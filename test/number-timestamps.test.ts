// A JSON number as @timestamp: Elasticsearch's date field parses the number's text (Jackson's
// getText), with `strict_date_optional_time||epoch_millis`, so `1.7e12`, `17E11` and more than six
// decimals are refused at index time, `1700000000000.5` is epoch milliseconds and a half, and
// four digits are a year. Offline readers skip what would be refused — with and without the line
// filter's stubs — and serve refuses it (test/serve-ingest.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { timeOrSkip } from '../src/events/order.js';
import { LineFilter } from '../src/events/prefilter.js';
import { numberTimeRefusal, readEvents, STUB_SOURCE } from '../src/events/sources.js';
import { textInstant } from '../src/events/time.js';
import type { SkippedItem } from '../src/events/types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-number-ts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LINES = [
  '{"@timestamp":1.7e12,"n":1}',
  '{"@timestamp":1700000000000.5,"n":2}',
  '{"@timestamp":1700000000000,"n":3}',
  '{"@timestamp":17E11,"n":4}',
  '{"@timestamp":1700000000000.1234567,"n":5}',
  '{"@timestamp":2024,"n":6}',
  '{"n":7,"x":{"@timestamp":1.7e12},"@timestamp":1700000000001}', // only the top level counts
  '{"@timestamp":-1.5e3,"n":8}',
  '{"@timestamp":1700000000000.0,"n":9}',
];

const REFUSED = (raw: string) => `unparseable @timestamp ${raw} (Elasticsearch reads a number as its text: epoch milliseconds take no exponent and at most six decimals); skipped`;

async function read(filter: boolean): Promise<{ events: [number, number, number][]; skipped: string[]; stubs: number }> {
  const file = path.join(dir, 'n.ndjson');
  writeFileSync(file, LINES.join('\n') + '\n');
  const skipped: string[] = [];
  const onSkip = (s: SkippedItem) => skipped.push(`${s.position.line}: ${s.reason}`);
  const events: [number, number, number][] = [];
  let stubs = 0;
  const reader = readEvents(file, { onSkip, lineFilter: filter ? new LineFilter(['nothing-matches-this'], '@timestamp') : null });
  for await (const batch of reader.batches()) {
    for (const e of batch) {
      if (e.source === STUB_SOURCE) stubs++;
      const t = e.source === STUB_SOURCE ? e.time! : timeOrSkip(e, '@timestamp', onSkip);
      if (t) events.push([e.position!.line!, t.ms, t.ns]);
    }
  }
  return { events, skipped, stubs };
}

describe('a number as @timestamp', () => {
  it('is read as Elasticsearch reads its text', () => {
    expect(textInstant('1700000000000.5')).toEqual({ ms: 1700000000000, ns: 500000 });
    expect(textInstant('1.7e12')).toBeNull();
    expect(numberTimeRefusal('{"@timestamp":1.7e12}')).toBe(REFUSED('1.7e12'));
    expect(numberTimeRefusal('{"@timestamp" : 17E11 , "a":1}')).toBe(REFUSED('17E11'));
    expect(numberTimeRefusal('{"@timestamp":1700000000000.25}')).toBeNull();
    expect(numberTimeRefusal('{"a":{"@timestamp":1.7e12},"@timestamp":5}')).toBeNull();
    // A number refused either way is left to the time check's own words.
    expect(numberTimeRefusal('{"@timestamp":1e300}')).toBeNull();
  });

  it('skips documents Elasticsearch would refuse, whether or not the line filter makes stubs', async () => {
    const want = {
      events: [
        [2, 1700000000000, 500000],
        [3, 1700000000000, 0],
        [6, Date.UTC(2024, 0, 1), 0],
        [7, 1700000000001, 0],
        [9, 1700000000000, 0],
      ],
      skipped: ['1: ' + REFUSED('1.7e12'), '4: ' + REFUSED('17E11'), '5: ' + REFUSED('1700000000000.1234567'), '8: ' + REFUSED('-1.5e3')],
    };
    expect(await read(false)).toEqual({ ...want, stubs: 0 });
    // Lines 2, 3, 6 and 9 are stubs (no needle; line 7 does not start with its time), at the parsed time.
    expect(await read(true)).toEqual({ ...want, stubs: 4 });
  });
});
