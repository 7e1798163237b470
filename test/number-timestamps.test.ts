// A JSON number as @timestamp: Elasticsearch's date field parses the number's text (Jackson's
// getText), with `strict_date_optional_time||epoch_millis`, so `1.7e12`, `17E11` and more than six
// decimals are refused at index time, `1700000000000.5` is epoch milliseconds and a half, and
// four digits are a year. Offline readers skip what would be refused — with and without the line
// filter's stubs — and serve refuses it (test/serve-ingest.test.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { timeOrSkip } from '../src/events/order.js';
import { LineFilter } from '../src/events/prefilter.js';
import { readEvents, STUB_SOURCE } from '../src/events/sources.js';
import { textInstant } from '../src/events/time.js';
import { fieldNumberText, fieldNumberTime, topLevelNumberText } from '../src/events/number-time.js';
import { getField } from '../src/engine/fields.js';
import { arrayElementTexts } from '../src/events/json-split.js';
import type { SkippedItem } from '../src/events/types.js';
import { runCli } from './cli-helpers.js';

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

/** Why the document `text` is refused for its top-level number @timestamp, or null (fieldNumberTime). */
function numberTimeRefusal(text: string): string | null {
  const t = fieldNumberTime(text, '@timestamp', (JSON.parse(text) as Record<string, number>)['@timestamp']!);
  return typeof t === 'string' ? t : null;
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

// The same documents written one per line, pretty-printed, as a top-level array (pretty-printed
// and on one line), several on one line, gzip-compressed, and read in reads of 1, 7 and 64 KiB
// bytes: each gets the same time (from its number's text) or the same refusal.
describe('a number @timestamp in every shape of document', () => {
  /** Documents as [key, raw value text] members; `n` names each. */
  const DOCS: [string, string][][] = [
    [['"@timestamp"', '1.7e12']],
    [['"@timestamp"', '1741593600123.5']],
    [['"@timestamp"', '1741593600123.456789']],
    [['"@timestamp"', '1741593600123.999999']],
    [['"@timestamp"', '17E11']],
    [['"@timestamp"', '1700000000000.1234567']],
    [['"@timestamp"', '2024']],
    [['"@timestamp"', '2024.0']],
    [['"@timestamp"', '-1.5e3']],
    [['"x"', '{"@timestamp":1.7e12,"y":[1,{"@timestamp":2e3}]}'], ['"@timestamp"', '1700000000001']],
    [['"@timestamp"', '1e300']],
    [['"@time\\u0073tamp"', '1.7e12']],
    [['"@timestamp"', '1.7e12'], ['"@timestamp"', '"2025-03-10T08:00:00Z"']],
    [['"@timestamp"', '"x"'], ['"@timestamp"', '1741593600123.000001']],
    [['"@timestamp"', '-1.5']],
  ].map((members, i) => [['"n"', String(i + 1)], ...(members as [string, string][])]);

  const oneLine = (d: [string, string][]) => `{${d.map(([k, v]) => `${k}:${v}`).join(',')}}`;
  const pretty = (d: [string, string][], indent = '') => `${indent}{\n${d.map(([k, v]) => `${indent}  ${k} : ${v}`).join(',\n')}\n${indent}}`;

  /** A rendering: its text and the line each document starts on. */
  interface Shape {
    text: string;
    lines: number[];
  }
  const SHAPES: Record<string, () => Shape> = {
    'one per line': () => ({ text: DOCS.map(oneLine).join('\n') + '\n', lines: DOCS.map((_, i) => i + 1) }),
    'pretty-printed': () => {
      const lines: number[] = [];
      let at = 1;
      const parts = DOCS.map((d) => {
        lines.push(at);
        const p = pretty(d);
        at += p.split('\n').length;
        return p;
      });
      return { text: parts.join('\n') + '\n', lines };
    },
    'pretty-printed array': () => {
      const lines: number[] = [];
      let at = 2;
      const parts = DOCS.map((d) => {
        lines.push(at);
        const p = pretty(d, '  ');
        at += p.split('\n').length;
        return p;
      });
      return { text: '[\n' + parts.join(',\n') + '\n]\n', lines };
    },
    'one-line array': () => ({ text: '[' + DOCS.map(oneLine).join(', ') + ']\n', lines: DOCS.map(() => 1) }),
    'several on a line': () => ({ text: DOCS.map(oneLine).join(' ') + '\n', lines: DOCS.map(() => 1) }),
  };

  /** What each document gives: [n, ms, ns] for a time, or [n, reason] for a refusal. */
  const WANT: (number[] | [number, string])[] = [
    [1, REFUSED('1.7e12')],
    [2, 1741593600123, 500000],
    [3, 1741593600123, 456789],
    [4, 1741593600123, 999999],
    [5, REFUSED('17E11')],
    [6, REFUSED('1700000000000.1234567')],
    [7, Date.UTC(2024, 0, 1), 0],
    [8, 2024, 0],
    [9, REFUSED('-1.5e3')],
    [10, 1700000000001, 0],
    [11, 'unparseable'],
    [12, REFUSED('1.7e12')],
    [13, 1741593600000, 0],
    [14, 1741593600123, 1],
    [15, -2, 500000],
  ];

  async function readShape(file: string, lines: number[], opts: { chunkSize?: number; filter?: boolean; gzip?: boolean; stdin?: boolean }) {
    const got: (number[] | [number, string])[] = [];
    const refusedAt = new Map<number, string>();
    const onSkip = (s: SkippedItem) => refusedAt.set(s.position.line!, s.reason);
    const reader = readEvents(opts.stdin ? '-' : file, {
      onSkip,
      ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
      ...(opts.stdin ? { stdin: Readable.from([readFileSync(file)]) } : {}),
      lineFilter: opts.filter ? new LineFilter(['nothing-matches-this'], '@timestamp') : null,
    });
    for await (const batch of reader.batches()) {
      for (const e of batch) {
        const n = e.source === STUB_SOURCE ? lines.indexOf(e.position!.line!) + 1 : (e.source.n as number);
        const t = e.source === STUB_SOURCE ? e.time! : timeOrSkip(e, '@timestamp', (s) => got.push([n, s.reason.includes('has an unparseable @timestamp 1e+300') ? 'unparseable' : s.reason]));
        if (t) got.push([n, t.ms, t.ns]);
      }
    }
    // A refused document is known by its line (several may share one: they are refused in order).
    const refused = [...refusedAt.entries()];
    for (const [line, reason] of refused) {
      // (each shape with one document per line names it by its line)
      const n = lines.indexOf(line) + 1;
      if (lines.filter((l) => l === line).length === 1) got.push([n, reason]);
    }
    return got.sort((a, b) => (a[0] as number) - (b[0] as number));
  }

  for (const [name, make] of Object.entries(SHAPES)) {
    it(name, async () => {
      const { text, lines } = make();
      const file = path.join(dir, `shape-${name.replaceAll(' ', '-')}.json`);
      writeFileSync(file, text);
      const gz = file + '.gz';
      writeFileSync(gz, gzipSync(text));
      const sharedLine = new Set(lines).size < lines.length;
      // Where several documents share a line, their refusals are compared as a list of reasons.
      const want = sharedLine ? WANT.filter((w) => typeof w[1] !== 'string' || w[1] === 'unparseable') : WANT;
      for (const opts of [{}, { chunkSize: 1 }, { chunkSize: 7 }, { filter: true }, { filter: true, chunkSize: 5 }, { gzip: true }, { stdin: true }]) {
        const got = await readShape('gzip' in opts ? gz : file, lines, opts);
        expect({ opts, got }).toEqual({ opts, got: want });
      }
      if (sharedLine) {
        const reasons: string[] = [];
        for await (const _ of readEvents(file, { onSkip: (s) => reasons.push(s.reason) })) void _;
        expect(reasons).toEqual(WANT.filter((w) => typeof w[1] === 'string' && w[1] !== 'unparseable').map((w) => w[1]));
      }
    });
  }
});

describe('finding a number in the text', () => {
  it('topLevelNumberText: the last top-level member of the name, strings and nesting skipped', () => {
    expect(topLevelNumberText('{"@timestamp":1.7e12}', '@timestamp')).toBe('1.7e12');
    expect(topLevelNumberText('{ "a" : "{\\"@timestamp\\":1,", "b":[{"@timestamp":2}], "@timestamp" :\n  -17E+11 }', '@timestamp')).toBe('-17E+11');
    expect(topLevelNumberText('{"@timestamp":1,"@timestamp":"2025-01-01"}', '@timestamp')).toBeNull();
    expect(topLevelNumberText('{"@timestamp":"2025-01-01","@timestamp":2.50}', '@timestamp')).toBe('2.50');
    expect(topLevelNumberText('{"@timestamp":{"x":1}}', '@timestamp')).toBeNull();
    expect(topLevelNumberText('{"@time\\u0073tamp":3e0}', '@timestamp')).toBe('3e0');
    expect(topLevelNumberText('{"a\\\\":"@timestamp","b":1}', '@timestamp')).toBeNull();
  });

  it('arrayElementTexts: each element of an array line', () => {
    expect(arrayElementTexts('[{"a":"],"}, [1,2] ,3,"x\\"",{}]')).toEqual(['{"a":"],"}', '[1,2]', '3', '"x\\""', '{}']);
    expect(arrayElementTexts('[ ]')).toEqual([]);
  });

  it('an array line read again after an abandoned value: its elements are read from their text', async () => {
    const file = path.join(dir, 'rescan.json');
    writeFileSync(file, '{"a": [\n[{"n":1,"@timestamp":1.7e12}, {"n":2,"@timestamp":1741593600123.999999}]\n"unterminated\n');
    const skipped: string[] = [];
    const times: unknown[] = [];
    for await (const e of readEvents(file, { onSkip: (s) => skipped.push(`${s.position.line}: ${s.reason}`) })) times.push([e.source.n, timeOrSkip(e, '@timestamp', undefined)]);
    expect(times).toEqual([[2, { ms: 1741593600123, ns: 999999 }]]);
    expect(skipped).toEqual([
      '1: invalid JSON: unterminated string (the line ends inside a string)',
      '2: ' + REFUSED('1.7e12'),
      '3: expected a JSON object or array, found "\\"unterminated"',
    ]);
  });
});

describe('the time read from the text orders events', () => {
  // 1741593600123.999999 is 1 ns before 08:00:00.124 as Elasticsearch reads its text; its nearest
  // double is 1741593600124, a tie that input order would break the other way.
  const docs = ['{"n":1,"@timestamp":"2025-03-10T08:00:00.124Z"}', '{"n":2,"@timestamp":1741593600123.999999}'];
  const files = {
    'one.ndjson': docs.join('\n') + '\n',
    'pretty-array.json': '[\n' + docs.map((d) => '  ' + d.replace('{', '{\n    ').replace(',', ',\n    ').replace(/}$/, '\n  }')).join(',\n') + '\n]\n',
  };
  for (const [name, text] of Object.entries(files)) {
    for (const threads of ['0', '2']) {
      it(`${name}, --threads ${threads}`, async () => {
        const file = path.join(dir, name);
        writeFileSync(file, text);
        const r = await runCli(['query', 'sequence [any where n == 2] [any where n == 1]', file, '--threads', threads]);
        expect(r.code).toBe(0);
        expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { events: { _source: { n: number } }[] }).events.map((e) => e._source.n))).toEqual([[2, 1]]);
      });
    }
  }
});

describe('the line filter with another time field', () => {
  it('makes no stub of a line with a number @timestamp (its parse may refuse it), and stubs the rest at their own field', () => {
    const f = new LineFilter(['nothing-matches-this'], 'ts');
    const lines = [
      '{"ts":"2025-03-10T08:00:00Z","@timestamp":1.7e12}',
      '{"ts":"2025-03-10T08:00:00Z","@timestamp" : -5}',
      '{"ts":"2025-03-10T08:00:00Z","@timestamp":"2025-03-10T08:00:00Z"}',
      '{"ts":1741593600123.999999,"n":1}',
    ];
    // The last: its number read from its text, as the parse reads the time field's now.
    expect(lines.map((l) => f.skip(l, 0, l.length))).toEqual([null, null, { ms: 1741593600000, ns: 0 }, { ms: 1741593600123, ns: 999999 }]);
  });

  it('reads a dotted time field first in the line from its text, and makes no stub where the field may be found elsewhere', () => {
    const f = new LineFilter(['nothing-matches-this'], 'event.ingested');
    const lines = [
      '{"event.ingested":1741593600123.999999,"n":1}',
      '{"event.ingested":2024.0,"n":1}',
      '{"event.ingested":1.7e12,"n":1}',
      '{"event.ingested":"2025-03-10T08:00:00Z","n":1}',
      // The field access finds event → ingested first, and a key's last member.
      '{"event.ingested":"2025-03-10T08:00:00Z","event":{"ingested":1.7e12}}',
      '{"event.ingested":"2025-03-10T08:00:00Z","event":{"ingested":"2026-01-01T00:00:00Z"}}',
      '{"event.ingested":"2025-03-10T08:00:00Z","event.ingested":"2026-01-01T00:00:00Z"}',
      '{"event.ingested":"2025-03-10T08:00:00Z","@timestamp":1.7e12}',
    ];
    expect(lines.map((l) => f.skip(l, 0, l.length))).toEqual([{ ms: 1741593600123, ns: 999999 }, { ms: 2024, ns: 0 }, null, { ms: 1741593600000, ns: 0 }, null, null, null, null]);
    // The same decisions on a latin1 view of the bytes.
    const g = new LineFilter(['nothing-matches-this'], 'event.ingested');
    expect(lines.map((l) => g.skipLatin1(Buffer.from(l).toString('latin1'), 0, l.length))).toEqual([{ ms: 1741593600123, ns: 999999 }, { ms: 2024, ns: 0 }, null, { ms: 1741593600000, ns: 0 }, null, null, null, null]);
  });
});

// `--timestamp-field event.ingested` (nested or a dotted key): a number there is read from its
// text as a number @timestamp is, found where the field access (getField) finds the value; through
// an array on its path too (a multi-valued field: the first value is the one read, from its text,
// as Elasticsearch's date field reads each element of an array).
describe('a number in another time field, in every shape of document', () => {
  const FIELD = 'event.ingested';
  const REFUSED_FIELD = (raw: string) => `unparseable ${FIELD} ${raw} (Elasticsearch reads a number as its text: epoch milliseconds take no exponent and at most six decimals); skipped`;
  const DOCS: [string, string][][] = [
    [['"event"', '{"ingested":1.7e12}']],
    [['"event"', '{ "kind" : "event", "ingested" : 1741593600123.999999 }']],
    [['"event.ingested"', '1741593600123.5']],
    [['"event.ingested"', '17E11']],
    [['"event"', '{"ingested":2024.0}']],
    [['"event"', '{"ingested":2024}']],
    [['"event"', '{"ingested":1700000000000.1234567}']],
    // Both spellings: event → ingested is found first.
    [['"event"', '{"ingested":1}'], ['"event.ingested"', '1.7e12']],
    [['"event"', '{"x":"ingested"}'], ['"event.ingested"', '1.7e12']],
    // Through an array: read from its text too (1.7e12 is no time).
    [['"event"', '[{"ingested":1.7e12}]']],
    // A key's last member counts.
    [['"event"', '{"ingested":"x"}'], ['"event"', '{"ingested":-1.5}']],
    [['"event"', '{"ingested":1e300}']],
    [['"ev\\u0065nt"', '{"ingested":17e11}']],
    // A number @timestamp is refused whatever the time field.
    [['"@timestamp"', '1.7e12'], ['"event"', '{"ingested":1741593600000}']],
    [['"@timestamp"', '1741593600000.25'], ['"event"', '{"ingested":"2025-03-10T08:00:00.000000001Z"}']],
    [['"x"', '{"event":{"ingested":1.7e12}}'], ['"event"', '{"ingested":1741593600000.000001}']],
  ].map((members, i) => [['"n"', String(i + 1)], ...(members as [string, string][])]);
  const WANT: (number[] | [number, string])[] = [
    [1, REFUSED_FIELD('1.7e12')],
    [2, 1741593600123, 999999],
    [3, 1741593600123, 500000],
    [4, REFUSED_FIELD('17E11')],
    [5, 2024, 0],
    [6, Date.UTC(2024, 0, 1), 0],
    [7, REFUSED_FIELD('1700000000000.1234567')],
    [8, 1, 0],
    [9, REFUSED_FIELD('1.7e12')],
    [10, REFUSED_FIELD('1.7e12')],
    [11, -2, 500000],
    [12, 'unparseable'],
    [13, REFUSED_FIELD('17e11')],
    [14, REFUSED('1.7e12')],
    [15, 1741593600000, 1],
    [16, 1741593600000, 1],
  ];
  const oneLine = (d: [string, string][]) => `{${d.map(([k, v]) => `${k}:${v}`).join(',')}}`;
  const pretty = (d: [string, string][], indent = '') => `${indent}{\n${d.map(([k, v]) => `${indent}  ${k} : ${v}`).join(',\n')}\n${indent}}`;
  const shapes: Record<string, { text: string; lines: number[] }> = {};
  {
    shapes['one per line'] = { text: DOCS.map(oneLine).join('\n') + '\n', lines: DOCS.map((_, i) => i + 1) };
    let at = 1;
    const lines: number[] = [];
    const parts = DOCS.map((d) => {
      lines.push(at);
      const p = pretty(d);
      at += p.split('\n').length;
      return p;
    });
    shapes['pretty-printed'] = { text: parts.join('\n') + '\n', lines };
    at = 2;
    const aLines: number[] = [];
    const aParts = DOCS.map((d) => {
      aLines.push(at);
      const p = pretty(d, '  ');
      at += p.split('\n').length;
      return p;
    });
    shapes['pretty-printed array'] = { text: '[\n' + aParts.join(',\n') + '\n]\n', lines: aLines };
    shapes['one-line array'] = { text: '[' + DOCS.map(oneLine).join(', ') + ']\n', lines: DOCS.map(() => 1) };
    shapes['several on a line'] = { text: DOCS.map(oneLine).join(' ') + '\n', lines: DOCS.map(() => 1) };
  }

  for (const [name, { text, lines }] of Object.entries(shapes)) {
    it(name, async () => {
      const file = path.join(dir, `field-${name.replaceAll(' ', '-')}.json`);
      writeFileSync(file, text);
      const sharedLine = new Set(lines).size < lines.length;
      for (const opts of [{}, { chunkSize: 1 }, { chunkSize: 7 }, { filter: true }]) {
        const got: (number[] | [number, string])[] = [];
        const reasons: string[] = [];
        const onSkip = (s: SkippedItem) => {
          reasons.push(s.reason);
          if (!sharedLine) got.push([lines.indexOf(s.position.line!) + 1, s.reason]);
        };
        const reader = readEvents(file, {
          onSkip,
          timestampField: FIELD,
          ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
          lineFilter: opts.filter ? new LineFilter(['nothing-matches-this'], FIELD) : null,
        });
        for await (const batch of reader.batches()) {
          for (const e of batch) {
            expect(e.source).not.toBe(STUB_SOURCE);
            const n = e.source.n as number;
            const t = timeOrSkip(e, FIELD, (s) => got.push([n, s.reason.includes(`has an unparseable ${FIELD} 1e+300`) ? 'unparseable' : s.reason]));
            if (t) got.push([n, t.ms, t.ns]);
          }
        }
        got.sort((a, b) => (a[0] as number) - (b[0] as number));
        // Where several documents share a line, their refusals are compared as a list of reasons.
        const want = sharedLine ? WANT.filter((w) => typeof w[1] !== 'string' || w[1] === 'unparseable') : WANT;
        expect({ opts, got }).toEqual({ opts, got: want });
        expect({ opts, reasons }).toEqual({ opts, reasons: WANT.filter((w) => typeof w[1] === 'string' && w[1] !== 'unparseable').map((w) => w[1]) });
      }
    });
  }

  it('fieldNumberText finds the number getField gives, or none', () => {
    const cases: [string, string | null][] = [
      ['{"event":{"ingested":1.7e12}}', '1.7e12'],
      ['{"event.ingested":1741593600123.999999}', '1741593600123.999999'],
      ['{"event":{"ingested":1},"event.ingested":2}', '1'],
      ['{"event":{"x":1},"event.ingested":2}', '2'],
      ['{"event":5,"event.ingested":6}', '6'],
      ['{"event":null,"event.ingested":7}', '7'],
      ['{"event":{"ingested":null},"event.ingested":8}', null],
      ['{"event":[{"ingested":1.7e12}]}', null],
      ['{"event":[{"x":1},null],"event.ingested":3e0}', '3e0'],
      ['{"event":{"ingested":"x"},"event":{"ingested":  -17E+11 }}', '-17E+11'],
      ['{"a":"{\\"event\\":","event" : { "k":[1,{"a":2}], "ingested" :\n 12.5 } }', '12.5'],
      ['{"ev\\u0065nt":{"ingested":4}}', '4'],
      ['{"event":{"ingested":{"x":1}}}', null],
      // Nested arrays are flattened, as getField flattens them (one pass over the nest).
      ['{"event":[[[{"x":1}],"s"],[null]],"event.ingested":9}', '9'],
      ['{"event":[[["]",{"ingested":5}]]]}', null],
      ['{"event":[[[{"ingested":null}]]],"event.ingested":10}', '10'],
      ['{"event":[[], [[{"k":{"ingested":3}}]], "x\\"]"],"event.ingested":11}', '11'],
      ['{"a":[[1]],"event":[ [ {"ingested" : 2} ] ]}', null],
    ];
    expect(cases.map(([t]) => fieldNumberText(t, FIELD))).toEqual(cases.map(([, w]) => w));
    // And the value it gives is getField's wherever it finds one.
    for (const [t, w] of cases) if (w !== null) expect(Number(w)).toBe(getField(JSON.parse(t) as Record<string, unknown>, FIELD));
  });
});

describe('the time read from the text of --timestamp-field orders events', () => {
  const docs = ['{"n":1,"event":{"ingested":"2025-03-10T08:00:00.124Z"}}', '{"n":2,"event":{"ingested":1741593600123.999999}}', '{"n":3,"event.ingested":1.7e12}'];
  const files = {
    'field-one.ndjson': docs.join('\n') + '\n',
    'field-pretty.json': docs.map((d) => d.replace('{', '{\n  ').replace(',', ',\n  ')).join('\n') + '\n',
  };
  for (const [name, text] of Object.entries(files)) {
    for (const threads of ['0', '2']) {
      it(`${name}, --threads ${threads}`, async () => {
        const file = path.join(dir, name);
        writeFileSync(file, text);
        const r = await runCli(['query', 'sequence [any where n == 2] [any where n == 1]', file, '--timestamp-field', 'event.ingested', '--threads', threads]);
        expect(r.code).toBe(0);
        expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { events: { _source: { n: number } }[] }).events.map((e) => e._source.n))).toEqual([[2, 1]]);
        expect(r.stderr).toContain(REFUSED('1.7e12').replace('@timestamp', 'event.ingested'));
      });
    }
  }
});
