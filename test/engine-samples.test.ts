// Samples (docs/eql-language.md §8): events per join key for every filter, time order ignored,
// samples ordered by key (null first), max_samples_per_key and size.
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/engine/index.js';
import type { EventDoc } from '../src/events/types.js';

type Src = Record<string, unknown>;

function docs(rows: Src[]): EventDoc[] {
  return rows.map((source, i) => ({ source: { '@timestamp': 1_700_000_000_000 + i, ...source }, index: 'test', id: String(i + 1) }));
}

interface Sample {
  ids: number[];
  keys: unknown[];
}

function run(query: string, rows: Src[], options: CompileOptions = {}): Sample[] {
  return compile(query, options)
    .run(docs(rows))
    .map((r) => {
      if (r.kind !== 'sample') throw new Error('expected samples');
      return { ids: r.events.map((e) => Number(e!.id)), keys: r.joinKeys };
    });
}

describe('samples by key', () => {
  it('one sample per key that has an event for every filter; events in filter order', () => {
    const rows = [
      { host: 'b', s: 2 },
      { host: 'a', s: 1 },
      { host: 'b', s: 1 },
      { host: 'c', s: 1 },
      { host: 'a', s: 2 },
    ];
    expect(run('sample by host [any where s == 1] [any where s == 2]', rows)).toEqual([
      { ids: [2, 5], keys: ['a'] },
      { ids: [3, 1], keys: ['b'] },
    ]);
  });
  it('chronological order is ignored', () => {
    const rows = [{ k: 'x', s: 3 }, { k: 'x', s: 2 }, { k: 'x', s: 1 }];
    expect(run('sample by k [any where s == 1] [any where s == 2] [any where s == 3]', rows)).toEqual([
      { ids: [3, 2, 1], keys: ['x'] },
    ]);
  });
  it('one document cannot fill two filters of the same sample', () => {
    const one = [{ k: 'x', n: 5 }];
    const two = [{ k: 'x', n: 5 }, { k: 'x', n: 6 }];
    const q = 'sample by k [any where n > 0] [any where n > 4]';
    expect(run(q, one)).toEqual([]);
    expect(run(q, two)).toEqual([{ ids: [1, 2], keys: ['x'] }]);
  });
  it('categories are checked per filter', () => {
    const rows = [
      { k: 'x', event: { category: 'process' } },
      { k: 'x', event: { category: 'network' } },
      { k: 'y', event: { category: 'process' } },
      { k: 'y', event: { category: 'file' } },
    ];
    expect(run('sample by k [process where true] [network where true]', rows)).toEqual([{ ids: [1, 2], keys: ['x'] }]);
  });
});

describe('per-filter keys', () => {
  it('keys are compared by value across different fields', () => {
    const rows = [
      { s: 1, src: '10.0.0.1' },
      { s: 2, dst: '10.0.0.2' },
      { s: 2, dst: '10.0.0.1' },
    ];
    expect(run('sample [any where s == 1] by src [any where s == 2] by dst', rows)).toEqual([{ ids: [1, 3], keys: ['10.0.0.1'] }]);
  });
  it('sample-level keys come before per-filter keys', () => {
    const rows = [
      { host: 'h', s: 1, user: 'u' },
      { host: 'h', s: 2, owner: 'u' },
      { host: 'g', s: 2, owner: 'u' },
    ];
    expect(run('sample by host [any where s == 1] by user [any where s == 2] by owner', rows)).toEqual([
      { ids: [1, 2], keys: ['h', 'u'] },
    ]);
  });
});

describe('ordering by key', () => {
  it('strings by code unit ("GTA" before "doom"), null first with an optional key', () => {
    const rows: Src[] = [];
    for (const k of ['doom', 'GTA', null, 'Zelda']) rows.push({ k, s: 1 }, { k, s: 2 });
    expect(run('sample by ?k [any where s == 1] [any where s == 2]', rows).map((s) => s.keys)).toEqual([[null], ['GTA'], ['Zelda'], ['doom']]);
  });
  it('a non-optional null key excludes the event', () => {
    const rows = [{ s: 1 }, { s: 2 }, { k: 'a', s: 1 }, { k: 'a', s: 2 }];
    expect(run('sample by k [any where s == 1] [any where s == 2]', rows)).toEqual([{ ids: [3, 4], keys: ['a'] }]);
    expect(run('sample by ?k [any where s == 1] [any where s == 2]', rows)).toEqual([
      { ids: [1, 2], keys: [null] },
      { ids: [3, 4], keys: ['a'] },
    ]);
  });
  it('booleans: false before true', () => {
    const rows = [{ b: true, s: 1 }, { b: true, s: 2 }, { b: false, s: 1 }, { b: false, s: 2 }];
    expect(run('sample by b [any where s == 1] [any where s == 2]', rows).map((s) => s.ids)).toEqual([
      [3, 4],
      [1, 2],
    ]);
  });
  it('numbers numerically', () => {
    const rows: Src[] = [];
    for (const n of [10, 9, 100]) rows.push({ n, s: 1 }, { n, s: 2 });
    expect(run('sample by n [any where s == 1] [any where s == 2]', rows).map((s) => s.keys)).toEqual([[9], [10], [100]]);
  });
  it('composite keys order by the first key, then the next', () => {
    const rows: Src[] = [];
    for (const [a, b] of [['y', 1], ['x', 2], ['x', 1]] as const) rows.push({ a, b, s: 1 }, { a, b, s: 2 });
    expect(run('sample by a, b [any where s == 1] [any where s == 2]', rows).map((s) => s.keys)).toEqual([
      ['x', 1],
      ['x', 2],
      ['y', 1],
    ]);
  });
  it('date keys are rendered as epoch millis', () => {
    const rows = [
      { d: '2022-12-17T00:00:00Z', s: 1 },
      { d: '2022-12-17T00:00:00.000Z', s: 2 },
    ];
    const o: CompileOptions = { fieldType: (n) => (n === 'd' ? 'date' : undefined) };
    expect(run('sample by d [any where s == 1] [any where s == 2]', rows, o)).toEqual([{ ids: [1, 2], keys: ['1671235200000'] }]);
  });
});

describe('max_samples_per_key and size', () => {
  const rows: Src[] = [];
  for (const k of ['a', 'b']) for (let i = 0; i < 3; i++) rows.push({ k, s: 1 }, { k, s: 2 });
  // ids: a → 1..6 (s alternating 1, 2), b → 7..12
  const q = 'sample by k [any where s == 1] [any where s == 2]';
  it('default is one sample per key', () => {
    expect(run(q, rows)).toEqual([
      { ids: [1, 2], keys: ['a'] },
      { ids: [7, 8], keys: ['b'] },
    ]);
  });
  it('max_samples_per_key = 2 gives two samples per key', () => {
    const out = run(q, rows, { maxSamplesPerKey: 2 });
    expect(out.map((s) => s.keys)).toEqual([['a'], ['a'], ['b'], ['b']]);
    for (const s of out) {
      const [x, y] = s.ids as [number, number];
      expect(rows[x - 1]!.s).toBe(1);
      expect(rows[y - 1]!.s).toBe(2);
      expect(rows[x - 1]!.k).toBe(s.keys[0]);
      expect(rows[y - 1]!.k).toBe(s.keys[0]);
    }
  });
  it('samples of one key use distinct documents for a filter when there are enough', () => {
    const only = [{ k: 'a', s: 1 }, { k: 'a', s: 2 }, { k: 'a', s: 2 }];
    const out = run(q, only, { maxSamplesPerKey: 5 });
    expect(out).toEqual([
      { ids: [1, 2], keys: ['a'] },
      { ids: [1, 3], keys: ['a'] },
    ]);
  });
  it('size caps the total; | head and | tail apply to samples', () => {
    expect(run(q, rows, { maxSamplesPerKey: 3, size: 2 }).map((s) => s.keys)).toEqual([['a'], ['a']]);
    expect(run(`${q} | tail 1`, rows).map((s) => s.keys)).toEqual([['b']]);
    expect(run(`${q} | head 1`, rows).map((s) => s.keys)).toEqual([['a']]);
  });
});

describe('optional keys', () => {
  it('?field that is not mapped anywhere is null for every event: one null-key bucket', () => {
    const rows = [{ s: 1 }, { s: 2 }];
    const o: CompileOptions = { fieldExists: (n) => n === 's' };
    expect(run('sample by ?nope [any where s == 1] [any where s == 2]', rows, o)).toEqual([{ ids: [1, 2], keys: [null] }]);
  });
  it('an optional per-filter key pairs null with null only', () => {
    const rows = [
      { s: 1 },
      { s: 2, b: 'x' },
      { s: 2 },
    ];
    expect(run('sample [any where s == 1] by ?a [any where s == 2] by ?b', rows)).toEqual([{ ids: [1, 3], keys: [null] }]);
  });
});

describe('multi-valued keys', () => {
  it('an event joins one bucket per key value; nulls inside the array are ignored', () => {
    const rows = [
      { k: ['b', 'a', null], s: 1 },
      { k: 'a', s: 2 },
      { k: 'b', s: 2 },
      { k: 'c', s: 2 },
    ];
    expect(run('sample by k [any where s == 1] [any where s == 2]', rows)).toEqual([
      { ids: [1, 2], keys: ['a'] },
      { ids: [1, 3], keys: ['b'] },
    ]);
  });
  it('several multi-valued keys give every combination', () => {
    const rows = [
      { a: ['x', 'y'], b: [1, 2], s: 1 },
      { a: 'y', b: 2, s: 2 },
      { a: 'x', b: 1, s: 2 },
      { a: 'x', b: 3, s: 2 },
    ];
    expect(run('sample by a, b [any where s == 1] [any where s == 2]', rows)).toEqual([
      { ids: [1, 3], keys: ['x', 1] },
      { ids: [1, 2], keys: ['y', 2] },
    ]);
  });
  it('[null] and [] are a null key', () => {
    const rows = [{ k: [null], s: 1 }, { k: [], s: 2 }];
    expect(run('sample by k [any where s == 1] [any where s == 2]', rows)).toEqual([]);
    expect(run('sample by ?k [any where s == 1] [any where s == 2]', rows)).toEqual([{ ids: [1, 2], keys: [null] }]);
  });
});

describe('size and result_position on samples', () => {
  it('size keeps the first samples in key order whatever result_position says (as the ES QA suite expects)', () => {
    const rows: Src[] = [];
    for (const k of ['a', 'b', 'c']) rows.push({ k, s: 1 }, { k, s: 2 });
    const q = 'sample by k [any where s == 1] [any where s == 2]';
    expect(run(q, rows, { size: 2 }).map((s) => s.keys)).toEqual([['a'], ['b']]);
    expect(run(q, rows, { size: 2, resultPosition: 'head' }).map((s) => s.keys)).toEqual([['a'], ['b']]);
    const r = compile(q, { size: 2 }).createRun();
    for (const d of docs(rows)) r.push(d);
    expect(r.finish()).toHaveLength(2);
    expect(r.found).toBe(3);
  });
});
