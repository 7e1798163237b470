// The byte-level check of bulk source lines (src/serve/json-scan.ts) must accept exactly what
// JSON.parse of the UTF-8 text accepts as an object, and find the @timestamp JSON.parse keeps.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseInstant } from '../src/events/time.js';
import { fieldAccessor } from '../src/engine/fields.js';
import { fieldTrie, isoUtcMillis, MAX_DEPTH, scanObject, TS_NONE, TS_NUMBER, TS_OTHER, TS_STRING, type ScanResult } from '../src/serve/json-scan.js';
import { mulberry32 as rng } from './prng.js';

const out: ScanResult = { error: null, tsKind: 0, tsStart: 0, tsEnd: 0, picked: null };

function scan(text: string | Buffer): ScanResult {
  const b = typeof text === 'string' ? Buffer.from(text) : text;
  return { ...scanObject(b, 0, b.length, out) };
}

/** What JSON.parse says: an object, or not. */
function parsesAsObject(b: Buffer): boolean {
  try {
    const v = JSON.parse(b.toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

describe('scanObject', () => {
  test('accepts and refuses exactly what JSON.parse does, on hand-picked lines', () => {
    const good = [
      '{}',
      ' { } ',
      '{"a":1}',
      '{"a":-0.5e+10,"b":[1,2,{"c":null}],"d":true,"e":false,"f":"x\\u00e9\\n\\"\\\\\\/"}',
      '{"a":[]}',
      '{"a":{}}',
      '{"a":[[],[[]]]}',
      '{"a":0}',
      '{"a":1E5}',
      '{"\u00e9":"\u2028 \u{1f600}"}',
      '{"a":"\\ud800"}',
      '\t{"a" : [ 1 , 2 ] }\r',
    ];
    const bad = [
      '',
      '   ',
      '[1,2]',
      '"str"',
      '1',
      'null',
      '{',
      '{"a"}',
      '{"a":}',
      '{"a":1,}',
      '{"a":[1,]}',
      '{,"a":1}',
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":-}',
      '{"a":1e}',
      '{"a":+1}',
      '{"a":tru}',
      '{"a":nul}',
      '{"a":"\\x"}',
      '{"a":"\\u12"}',
      '{"a":"\\u12g4"}',
      '{"a":"tab\there"}',
      '{"a":"unterminated}',
      '{"a":1}{"b":2}',
      '{"a":1} x',
      "{'a':1}",
      '{a:1}',
      '{"a":1]',
      '{"a":[1}',
      '{"a":NaN}',
      '\ufeff{"a":1}',
    ];
    for (const t of good) {
      expect(parsesAsObject(Buffer.from(t)), t).toBe(true);
      expect(scan(t).error, t).toBeNull();
    }
    for (const t of bad) {
      expect(parsesAsObject(Buffer.from(t)), t).toBe(false);
      expect(scan(t).error, t).not.toBeNull();
    }
  });

  test('agrees with JSON.parse on 5,000 damaged copies of real events', () => {
    const lines = readFileSync('examples/windows-sample.ndjson', 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => Buffer.from(l));
    const rand = rng(42);
    const alphabet = Buffer.from('{}[]",:\\ -+.0123456789eEtrufalsn\t\u0001');
    let agreedValid = 0;
    for (let i = 0; i < 5_000; i++) {
      const src = lines[Math.floor(rand() * lines.length)]!;
      const b = Buffer.from(src);
      const edits = 1 + Math.floor(rand() * 3);
      let cur = b;
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(rand() * cur.length);
        const kind = rand();
        const ch = alphabet[Math.floor(rand() * alphabet.length)]!;
        if (kind < 0.4) cur = Buffer.concat([cur.subarray(0, at), cur.subarray(at + 1)]);
        else if (kind < 0.7) cur = Buffer.concat([cur.subarray(0, at), Buffer.from([ch]), cur.subarray(at)]);
        else {
          cur = Buffer.from(cur);
          cur[at] = ch;
        }
      }
      const expected = parsesAsObject(cur);
      expect(scan(cur).error === null, cur.toString()).toBe(expected);
      if (expected) agreedValid++;
    }
    // Some damaged copies are still valid JSON (a digit replaced by a digit, …): both kinds were checked.
    expect(agreedValid).toBeGreaterThan(100);
  });

  test('finds the top-level @timestamp that JSON.parse keeps', () => {
    const ts = (t: string) => {
      const b = Buffer.from(t);
      const r = scanObject(b, 0, b.length, out);
      return [r.tsKind, b.toString('utf8', r.tsStart, r.tsEnd)];
    };
    expect(ts('{"@timestamp":"2025-01-01T00:00:00Z","a":1}')).toEqual([TS_STRING, '2025-01-01T00:00:00Z']);
    expect(ts('{"a":{"@timestamp":"x"},"@timestamp":1700000000000}')).toEqual([TS_NUMBER, '1700000000000']);
    expect(ts('{"@timestamp":"a","@timestamp":"b"}')).toEqual([TS_STRING, 'b']);
    expect(ts('{"@timestamp":"a","@timestamp":null}')[0]).toBe(TS_NONE);
    expect(ts('{"@timestamp":["2025-01-01T00:00:00Z"]}')[0]).toBe(TS_OTHER);
    expect(ts('{"@timestamp":"2025\\u002d01-01T00:00:00Z"}')[0]).toBe(TS_OTHER);
    expect(ts('{"a":[{"@timestamp":"x"}]}')[0]).toBe(TS_NONE);
    expect(ts('{"@timestamps":"x","@timestam":"y"}')[0]).toBe(TS_NONE);
  });

  test(`nesting is bounded (${MAX_DEPTH} levels)`, () => {
    const deep = (n: number) => '{"a":' + '['.repeat(n - 1) + ']'.repeat(n - 1) + '}';
    expect(scan(deep(MAX_DEPTH)).error).toBeNull();
    expect(scan(deep(MAX_DEPTH + 1)).error).toMatch(/nested deeper than 512/);
    expect(scan(deep(100_000)).error).toMatch(/nested deeper/);
  });
});

describe('isoUtcMillis', () => {
  test('reads UTC ISO times as parseInstant does, and declines every other form', () => {
    const read = (s: string) => {
      const b = Buffer.from(`"${s}"`);
      return isoUtcMillis(b, 1, b.length - 1);
    };
    const same = [
      '2025-08-01T10:00:00Z',
      '2025-08-01T10:00:00.5Z',
      '2025-08-01T10:00:00.123Z',
      '2025-08-01T10:00:00.123456789Z',
      '1970-01-01T00:00:00Z',
      '2024-02-29T23:59:59.999Z',
    ];
    for (const s of same) expect(read(s), s).toBe(parseInstant(s)!.ms);
    // Forms the fast path leaves to parseInstant (null here): offsets, no zone, dates only,
    // two-digit years, more than 9 fraction digits, out-of-range fields, non-digits.
    const declined = [
      '2025-08-01T10:00:00+02:00',
      '2025-08-01T10:00:00',
      '2025-08-01',
      '0099-08-01T10:00:00Z',
      '2025-08-01T10:00:00.1234567891Z',
      '2025-13-01T10:00:00Z',
      '2025-12-31T24:00:00Z',
      '2016-12-31T23:59:60Z',
      '2025-02-29T10:00:00Z',
      '2025-06-31T10:00:00Z',
      '2025-08-01T10:61:00Z',
      '2025-08-01T1a:00:00Z',
      '2025-08-01 10:00:00Z',
      '2025-08-01T10:00:00.Z',
      '2025-08-01T10:00:00,5Z',
    ];
    for (const s of declined) expect(read(s), s).toBeNull();
  });
});

describe('scanObject picking fields', () => {
  const fields = ['event.category', 'process.name', 'process.parent.name', 'host.os.type', 'winlog.event_data.Image', 'tags', 'a.b.c'];
  const trie = fieldTrie(fields);
  const pickAll = (text: string | Buffer) => {
    const b = typeof text === 'string' ? Buffer.from(text) : text;
    const r = scanObject(b, 0, b.length, out, trie);
    expect(r.error).toBeNull();
    return r.picked!;
  };
  /** Every wanted field reads the same from the picked copy as from JSON.parse of the document. */
  const agrees = (text: string | Buffer) => {
    const picked = pickAll(text);
    const full = JSON.parse(text.toString()) as Record<string, unknown>;
    for (const f of fields) expect(fieldAccessor(f)(picked), `${f} in ${text.toString()}`).toEqual(fieldAccessor(f)(full));
  };

  test('keeps only the way to the wanted fields, nested or dotted, with their values as JSON.parse reads them', () => {
    expect(pickAll('{"@timestamp":"x","event":{"category":["process"],"type":["start"]},"process":{"name":"a.exe","pid":4,"parent":{"name":"b.exe","pid":1}},"user":{"name":"u"}}')).toEqual({
      event: { category: ['process'] },
      process: { name: 'a.exe', parent: { name: 'b.exe' } },
    });
    expect(pickAll('{"event.category":"file","process.parent":{"name":"c\\u002eexe"},"a":{"b.c":[1,{"x":2}]}}')).toEqual({
      'event.category': 'file',
      'process.parent': { name: 'c.exe' },
      a: { 'b.c': [1, { x: 2 }] },
    });
    expect(pickAll('{"tags":null,"host":{"os":{"type":true}},"process":{"name":-1.5e3}}')).toEqual({ tags: null, host: { os: { type: true } }, process: { name: -1500 } });
    // A key with an escape is read as JSON.parse reads it; __proto__ is never a wanted way.
    expect(pickAll('{"ev\\u0065nt":{"category":"x"},"__proto__":{"polluted":1}}')).toEqual({ event: { category: 'x' } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('agrees with JSON.parse on repeated keys, arrays on the way, objects as values, empty containers', () => {
    for (const t of [
      '{"process":{"name":"x"},"process":5}',
      '{"process":5,"process":{"name":"x"}}',
      '{"process":{"name":"x"},"process":{"pid":1}}',
      '{"process":[{"name":"x"},{"name":"y","parent":{"name":"z"}}]}',
      '{"event":{"category":{}},"tags":[],"a":{}}',
      '{"event":{"category":[[],["process",null]]}}',
      '{"process":{"parent":{}},"process.parent.name":"p"}',
      '{"winlog":{"event_data":{"Image":"C:\\\\Windows\\\\x.exe"}}}',
      '{"process":{"name":"\u00e9\u{1f600}"}}',
    ])
      agrees(t);
  });

  test('picked arrays: plain strings built from their bytes, anything else parsed, both as JSON.parse reads them', () => {
    // Built from the strings' bytes (no escape, no space, nothing but strings).
    expect(pickAll('{"event":{"category":["process"]}}')).toEqual({ event: { category: ['process'] } });
    expect(pickAll('{"event":{"category":["process","network",""]}}')).toEqual({ event: { category: ['process', 'network', ''] } });
    expect(pickAll('{"tags":["caf\u00e9","\u{1f600}x"]}')).toEqual({ tags: ['caf\u00e9', '\u{1f600}x'] });
    // Parsed: an escape, a space, another kind of value, a nested array, an empty one.
    expect(pickAll('{"tags":["a\\"b","c\\u0041"]}')).toEqual({ tags: ['a"b', 'cA'] });
    expect(pickAll('{"tags":[ "a", "b" ]}')).toEqual({ tags: ['a', 'b'] });
    expect(pickAll('{"tags":["a",1,null,true]}')).toEqual({ tags: ['a', 1, null, true] });
    expect(pickAll('{"tags":["a",["b"]],"event":{"category":[]}}')).toEqual({ tags: ['a', ['b']], event: { category: [] } });
    expect(pickAll('{"tags":["a"],"tags":["b","c"]}')).toEqual({ tags: ['b', 'c'] });
    // Invalid UTF-8 inside a picked string reads as JSON.parse of the decoded text reads it.
    agrees(Buffer.concat([Buffer.from('{"tags":["a'), Buffer.from([0xff, 0xc3]), Buffer.from('"],"process":{"name":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}}')]));
  });

  test('keys told apart by their first byte: dotted, escaped and empty names still reach their fields', () => {
    const t = fieldTrie(['a..b', 'x.y', 'event.type']);
    const pick = (text: string) => {
      const b = Buffer.from(text);
      const r = scanObject(b, 0, b.length, out, t);
      expect(r.error).toBeNull();
      return r.picked!;
    };
    expect(pick('{"a":{"":{"b":1,"c":2},"d":3},"b":4}')).toEqual({ a: { '': { b: 1 } } });
    expect(pick('{"a.":{"b":5},"x.y":6,"xy":7,"\\u0078":{"y":8},"event.type":["start"],"eventx":0}')).toEqual({ 'a.': { b: 5 }, 'x.y': 6, x: { y: 8 }, 'event.type': ['start'] });
  });

  test('agrees with JSON.parse on every example event', () => {
    for (const l of readFileSync('examples/windows-sample.ndjson', 'utf8').split('\n')) if (l.trim()) agrees(l);
  });
});

describe('firstInvalidUtf8', () => {
  test('agrees with Node on every byte sequence of random documents, and names the first bad byte', async () => {
    const { firstInvalidUtf8 } = await import('../src/util/utf8.js');
    const { isUtf8 } = await import('node:buffer');
    expect(firstInvalidUtf8(Buffer.from('plain ascii é 𝄞 €'), 0, Buffer.byteLength('plain ascii é 𝄞 €'))).toBe(-1);
    // overlong "/", a surrogate, above U+10FFFF, a truncated 3-byte sequence, a bad middle byte,
    // a Latin-1 "é" before a quote: each is wrong at the lead byte of the broken sequence
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xc0, 0xaf]), 0, 3)).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xed, 0xa0, 0x80]), 0, 4)).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]), 0, 4)).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xe2, 0x82]), 0, 3)).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0xe2, 0x82, 0x41]), 0, 3)).toBe(0);
    expect(firstInvalidUtf8(Buffer.from('caf\u00e9"', 'latin1'), 0, 5)).toBe(3);
    expect(firstInvalidUtf8(Buffer.from([0xc3, 0xc3, 0xa9]), 0, 3)).toBe(0);
    // only [start, end) is looked at
    expect(firstInvalidUtf8(Buffer.from([0xff, 0x41, 0x42, 0xff]), 1, 3)).toBe(-1);
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
    let bad = 0;
    for (let n = 0; n < 20000; n++) {
      const b = Buffer.from(Array.from({ length: 1 + (n % 7) }, () => (n % 3 === 0 ? rnd() : 0x80 + (rnd() & 0x7f))));
      const at = firstInvalidUtf8(b, 0, b.length);
      expect(at === -1).toBe(isUtf8(b));
      if (at >= 0) {
        bad++;
        // the bytes before it are valid UTF-8, and it starts no valid sequence
        expect(at).toBeLessThan(b.length);
        expect(isUtf8(b.subarray(0, at))).toBe(true);
      }
    }
    expect(bad).toBeGreaterThan(10000);
  });
});
