// The JSON splitter under hostile and randomly chunked input: results must not depend on where
// reads split the text, items beyond the size cap or the depth cap are reported and skipped with
// their neighbours intact, and no input makes it recurse or rescan without bound.

import { describe, expect, it } from 'vitest';
import { findJsonError, JsonSplitter, MAX_JSON_DEPTH, nestedDeeperThan, parsedDeeperThan } from '../src/events/json-split.js';
import { mulberry32 as prng } from './prng.js';

interface Outcome {
  values: [unknown, number][];
  bad: [number, string][];
}

function split(text: string, chunk: number, max?: number): Outcome {
  const out: Outcome = { values: [], bad: [] };
  const s = new JsonSplitter({ value: (v, line) => out.values.push([v, line]), bad: (line, reason) => out.bad.push([line, reason]) }, max);
  for (let i = 0; i < text.length; i += chunk) s.push(text.slice(i, i + chunk));
  s.end();
  return out;
}

const good = (i: number) => JSON.stringify({ i, s: 'a\\"b}{][', p: 'C:\\Windows\\x' });

describe('JsonSplitter: chunking never changes the result', () => {
  it('on 300 random documents mixing NDJSON, pretty-printed objects, arrays, broken and deep items', () => {
    const rnd = prng(14);
    const pieces = [
      () => good(Math.floor(rnd() * 1000)),
      () => JSON.stringify({ nested: { a: [1, { b: '\\\\' }] } }, null, 2),
      () => `[${good(1)}, ${good(2)},\n ${good(3)}]`,
      () => '{"broken": "no end',
      () => '{"a": [1, 2',
      () => 'garbage line',
      () => '   ',
      () => '{"a":'.repeat(MAX_JSON_DEPTH + 5) + '1' + '}'.repeat(MAX_JSON_DEPTH + 5),
      () => `[${'['.repeat(MAX_JSON_DEPTH + 2)}${']'.repeat(MAX_JSON_DEPTH + 2)}, ${good(7)}]`,
      () => `{"long":"${'x'.repeat(3000)}"}`,
      () => `${good(4)}${good(5)}`,
      () => '{"esc":"\\\\\\\\\\\\"}',
    ];
    for (let doc = 0; doc < 300; doc++) {
      const lines: string[] = [];
      const n = 1 + Math.floor(rnd() * 8);
      for (let k = 0; k < n; k++) lines.push(pieces[Math.floor(rnd() * pieces.length)]!());
      const text = lines.join(rnd() < 0.2 ? '\r\n' : '\n') + (rnd() < 0.5 ? '\n' : '');
      const whole = split(text, 1 << 20, 2000);
      for (const chunk of [1, 2, 3, 7, 64, 1000]) {
        expect(split(text, chunk, 2000), `document ${doc}, chunks of ${chunk}:\n${text.slice(0, 300)}`).toEqual(whole);
      }
    }
  });
});

describe('JsonSplitter: bounds', () => {
  it('reports a line nested 100,000 levels deep and reads the lines around it', () => {
    const d = 100_000;
    const text = `${good(1)}\n${'{"a":'.repeat(d)}1${'}'.repeat(d)}\n${'['.repeat(d)}${']'.repeat(d)}\n${good(2)}\n`;
    const out = split(text, 65536);
    expect(out.values.map(([v, l]) => [(v as { i: number }).i, l])).toEqual([
      [1, 1],
      [2, 4],
    ]);
    expect(out.bad).toEqual([
      [2, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`],
      [3, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`],
    ]);
  });

  it('accepts exactly the maximum depth', () => {
    const text = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}\n{"a":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}\n`;
    const out = split(text, 4096);
    expect(out.bad).toEqual([]);
    expect(out.values.map(([, l]) => l)).toEqual([1, 2]);
  });

  it('skips a deep element of an array and keeps the other elements', () => {
    const text = `[${good(1)},${'{"a":'.repeat(5000)}1${'}'.repeat(5000)},${good(2)}]\n${good(3)}\n`;
    const out = split(text, 100);
    expect(out.values.map(([v]) => (v as { i: number }).i)).toEqual([1, 2, 3]);
    expect(out.bad).toEqual([[1, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`]]);
  });

  it('reports an over-long line once, without keeping it, and reads what follows', () => {
    const text = `${good(1)}\n{"big":"${'x'.repeat(50_000)}"}\n${good(2)}\n`;
    const out = split(text, 1000, 10_000);
    expect(out.values.map(([v, l]) => [(v as { i: number }).i, l])).toEqual([
      [1, 1],
      [2, 3],
    ]);
    expect(out.bad).toEqual([[2, 'item longer than 10 KB (unterminated value or missing newline?)']]);
  });

  it('follows an over-long element of an array to its end and keeps the rest of the array', () => {
    const text = `[${good(1)},\n{"big":"${'x'.repeat(50_000)}",\n"more":[1,2]},\n${good(2)}]\n${good(3)}\n`;
    const out = split(text, 999, 10_000);
    expect(out.values.map(([v, l]) => [(v as { i: number }).i, l])).toEqual([
      [1, 1],
      [2, 4],
      [3, 5],
    ]);
    expect(out.bad).toEqual([[2, 'item longer than 10 KB (unterminated value or missing newline?)']]);
  });

  it('does not hold blank runs: a megabyte of spaces between values costs nothing to keep', () => {
    const out = split(`${good(1)}\n${' '.repeat(1 << 20)}${good(2)}\n`, 4096, 10_000);
    expect(out.values.map(([, l]) => l)).toEqual([1, 2]);
    expect(out.bad).toEqual([]);
  });

  it('reads each line again at most once after an abandoned value (no quadratic rescans)', () => {
    // Every line opens an object that never closes, then a string breaks at a line end: the
    // scanner follows one value through all of it and reports it once.
    const lines = [good(1)];
    for (let i = 0; i < 20_000; i++) lines.push(' {"a":');
    lines.push('"broken', good(2));
    const out = split(lines.join('\n') + '\n', 4096);
    expect(out.values.map(([v]) => (v as { i: number }).i)).toEqual([1, 2]);
    expect(out.bad).toEqual([[2, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`]]);
  });

  it('recovers the NDJSON lines swallowed by a truncated value, each read once as a line', () => {
    // Line 2 opens an array that swallows line 3; line 4 breaks inside a string: line 2 is
    // reported, lines 3 and 4 are read again on their own.
    const text = [good(1), '{"a":[1,', ' {"b":2}', ' "c":"x', good(2)].join('\n') + '\n';
    for (const chunk of [5, 4096]) {
      const out = split(text, chunk);
      expect(out.values).toEqual([
        [JSON.parse(good(1)), 1],
        [{ b: 2 }, 3],
        [JSON.parse(good(2)), 5],
      ]);
      expect(out.bad).toEqual([
        [2, 'invalid JSON: unterminated string (the line ends inside a string)'],
        [4, 'expected a JSON object or array, found "\\"c\\":\\"x"'],
      ]);
    }
  });
});

describe('findJsonError and nestedDeeperThan', () => {
  it('explain a 100,000-deep invalid text without recursion', () => {
    const text = '['.repeat(100_000) + 'x';
    expect(findJsonError(text)).toEqual({ pos: 100_000, message: 'unexpected "x", expected a value', kind: 'syntax' });
    expect(findJsonError('{"a":'.repeat(100_000))).toMatchObject({ kind: 'eof' });
  });
  it('keep their messages for ordinary mistakes', () => {
    expect(findJsonError('{"a":1,}')).toEqual({ pos: 7, message: 'unexpected "}", expected a property name in double quotes', kind: 'syntax' });
    expect(findJsonError('[1,]')).toEqual({ pos: 3, message: 'unexpected "]", expected a value', kind: 'syntax' });
    expect(findJsonError('{"a":1}{')).toEqual({ pos: 7, message: 'unexpected "{" after the end of a value', kind: 'trailing' });
    expect(findJsonError('{"a":[1,{"b":2}')).toMatchObject({ kind: 'eof' });
  });
  it('nestedDeeperThan ignores brackets inside strings', () => {
    const s = JSON.stringify({ a: '['.repeat(50) }) + '[[[';
    expect(nestedDeeperThan(s, 0, s.length, 3)).toBe(false);
    expect(nestedDeeperThan('[[[[', 0, 4, 3)).toBe(true);
  });
  it('parsedDeeperThan agrees with nestedDeeperThan on valid JSON, at the limits of its bound', () => {
    const M = MAX_JSON_DEPTH;
    const arrays = (d: number) => '['.repeat(d) + ']'.repeat(d);
    const objects = (d: number) => '{"":'.repeat(d - 1) + '{}' + '}'.repeat(d - 1);
    const cases: [string, boolean][] = [
      [arrays(M), false],
      [arrays(M + 1), true],
      [objects(M), false],
      [objects(M + 1), true],
      // Settled by the bound: 5,000 characters, no '[' (3·0 + 5,000 + 3 > 5,000: the count decides).
      [JSON.stringify({ a: 'x'.repeat(4990) }), false],
      // Long enough for the bound, its '[' in a string: counted, then the exact scan says no.
      [JSON.stringify({ a: '['.repeat(1500) }), false],
      // Deep under a long key, then padding: beyond the bound, decided by the exact scan.
      ['{"k":' + objects(M) + ',"p":"' + 'y'.repeat(3000) + '"}', true],
      ['{"k":' + objects(M - 1) + ',"p":"' + 'y'.repeat(3000) + '"}', false],
    ];
    for (const [text, deep] of cases) {
      expect(JSON.parse(text)).toBeDefined();
      expect([nestedDeeperThan(text, 0, text.length, M), parsedDeeperThan(text, 0, text.length, M)]).toEqual([deep, deep]);
    }
    // Random valid values around a small limit: mixed arrays and objects, keys of any length,
    // brackets inside strings, blanks; the text offered inside a longer buffer.
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const value = (depth: number): string => {
      if (depth === 0) return ['1', '"[{"', 'null', '"x"', '[]', '{}'][rnd(6)]!;
      const inner = value(depth - 1);
      const pad = ' '.repeat(rnd(3));
      const sib = rnd(3) === 0 ? `,"${'['.repeat(rnd(4))}"` : '';
      return rnd(2) === 0 ? `[${pad}${inner}${sib}]` : `{"${'k'.repeat(rnd(3))}":${pad}${inner}${sib ? `,"s"${sib.replace(',', ':')}` : ''}}`;
    };
    // The depth, from the parsed value.
    const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    let settled = 0;
    let deep = 0;
    for (let k = 0; k < 3000; k++) {
      const text = value(4 + rnd(12));
      const want = depthOf(JSON.parse(text)) > 12;
      const buf = `xx${text}\n`;
      expect(nestedDeeperThan(buf, 2, 2 + text.length, 12)).toBe(want);
      expect(parsedDeeperThan(buf, 2, 2 + text.length, 12)).toBe(want);
      if (text.length > 24 && 5 * 12 - text.length - 3 >= 0) settled++;
      if (want) deep++;
    }
    expect(settled).toBeGreaterThan(100);
    expect(deep).toBeGreaterThan(100);
  });
});
