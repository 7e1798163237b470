// Which sequences a tail selection keeps when Elasticsearch pages its sequence executor
// (src/engine/sequence-paged.ts). The expected values are derived by walking Elasticsearch's
// TumblingWindow and SequenceMatcher by hand (steps in the comments); the random test checks that
// with a page larger than the data the replay equals "all sequences, keep the last N".
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/engine/index.js';
import type { EventDoc } from '../src/events/types.js';
import { mulberry32 } from './prng.js';

type Src = Record<string, unknown>;
const BASE = Date.UTC(2024, 0, 1, 12, 0, 0);

/** Events with ids 1..n in the given (time) order; `c` is the category, `t` seconds after BASE. */
function events(rows: { c: string; k: string; t: number; x?: number }[]): EventDoc[] {
  return rows.map(({ c, k, t, x }, i) => ({
    source: { '@timestamp': new Date(BASE + t * 1000).toISOString(), event: { category: c }, k, ...(x === undefined ? {} : { x }) } as Src,
    index: 'test',
    id: String(i + 1),
  }));
}

function ids(query: string, evs: EventDoc[], options: CompileOptions): number[][] {
  return compile(query, options)
    .run(evs)
    .map((r) => (r.kind === 'sequence' ? r.events.map((e) => Number(e!.id)) : []));
}

const AB = 'sequence by k [a where true] [b where true]';

describe('tail selection through ES paging (fetch_size)', () => {
  // 1 a x · 2 a y · 3 a z · 4 b y · 5 b x
  const evs = events([
    { c: 'a', k: 'x', t: 1 },
    { c: 'a', k: 'y', t: 2 },
    { c: 'a', k: 'z', t: 3 },
    { c: 'b', k: 'y', t: 4 },
    { c: 'b', k: 'x', t: 5 },
  ]);

  it('one page holds everything: the last sequence overall (fetch_size 1,000)', () => {
    // Page 1 of stage a (descending, ≤ 1,000): {3, 2, 1}; the last page, so no restart. Stage b from
    // after event 1, keys {x, y, z}: [4, 5] → (2,4) and (1,5) complete; the set {(2,4), (1,5)}
    // holds 2 ≥ 1 → stop; its last 1 is (1,5).
    expect(ids(AB, evs, { size: 1 })).toEqual([[1, 5]]);
  });

  it('a sequence that starts on an older page is not seen once the newest page gives N (fetch_size 2)', () => {
    // Round 1: page {3, 2} (full: another page may follow). In flight: y@2, z@3; completed 0 < 1.
    // setupWindowFromTail(2): stage b reads after event 2 with keys {y, z}: [4] (5 has key x).
    // Event 4 takes y@2 → (2,4) completes; the set holds 1 ≥ 1 → stop. Page {1} is never read,
    // so (1,5), the last sequence overall, is not returned.
    expect(ids(AB, evs, { size: 1, fetchSize: 2 })).toEqual([[2, 4]]);
    // Head is not paged differently: the first completion in time is (2,4) either way.
    expect(ids(AB, evs, { size: 1, fetchSize: 2, resultPosition: 'head' })).toEqual([[2, 4]]);
    // With room for both, round 1 gives (2,4) (1 < 2, go on); round 2 clears in-flight sequences,
    // takes page {1}: x@1; stage b after 1 with keys {x, z} (StageToKeys still holds z from round 1;
    // y left when its group emptied): [5] → 5 takes x@1 → (1,5). The last 2, by last event.
    expect(ids(AB, evs, { size: 2, fetchSize: 2 })).toEqual([
      [2, 4],
      [1, 5],
    ]);
  });

  it('ES stops after the later-stage page that reaches N, not at the end of the data', () => {
    // 1 a x · 2 a y · 3 b x · 4 b x · 5 b y, fetch_size 2, size 1.
    // Round 1: page {2, 1} (full). In flight x@1, y@2. Stage b after 1, keys {x, y}: page [3, 4]
    // (full). 3 takes x@1 → (1,3) completes; 4 finds x's group empty. The set holds 1 ≥ 1 → stop,
    // before event 5 would have completed (2,5), the last sequence overall.
    const e2 = events([
      { c: 'a', k: 'x', t: 1 },
      { c: 'a', k: 'y', t: 2 },
      { c: 'b', k: 'x', t: 3 },
      { c: 'b', k: 'x', t: 4 },
      { c: 'b', k: 'y', t: 5 },
    ]);
    expect(ids(AB, e2, { size: 1, fetchSize: 2 })).toEqual([[1, 3]]);
    expect(ids(AB, e2, { size: 1, fetchSize: 3 })).toEqual([[2, 5]]);
    expect(ids(AB, e2, { size: 1 })).toEqual([[2, 5]]);
  });

  it('`| tail N` is the same limit as size with result_position tail', () => {
    expect(ids(`${AB} | tail 1`, evs, { fetchSize: 2 })).toEqual([[2, 4]]);
  });

  it('the same sequence found again in a later round counts once', () => {
    // 1 a x · 2 a x · 3 b x, fetch_size 1, size 5.
    // Round 1: page {2}: x@2; stage b after 2: [3] → (2,3). Round 2: page {1}: x@1 (in-flight
    // cleared); stage b after 1: [3] again → (1,3) has the same last event and key as (2,3): the
    // set keeps (2,3). Round 3: no page → end.
    const e3 = events([
      { c: 'a', k: 'x', t: 1 },
      { c: 'a', k: 'x', t: 2 },
      { c: 'b', k: 'x', t: 3 },
    ]);
    expect(ids(AB, e3, { size: 5, fetchSize: 1 })).toEqual([[2, 3]]);
  });
});

describe('with a page larger than the data, the replay is "all sequences, keep the last N"', () => {
  // Seeded: the same cases every run.
  const next = mulberry32(12345);
  const rand = (n: number) => Math.floor(next() * n);
  const queries = [
    AB,
    'sequence by k [a where true] [b where true] [c where true]',
    'sequence by k with maxspan=3s [a where true] [b where true]',
    'sequence by k [a where true] [b where true] until [c where true]',
    'sequence by k [a where true] with runs=2 [b where true]',
    'sequence [a where x < 2] [any where x > 0]',
  ];
  it('100 random streams × 6 queries × sizes 1, 3, 10', () => {
    let compared = 0;
    for (let round = 0; round < 100; round++) {
      const n = 5 + rand(40);
      const rows = [];
      for (let i = 0; i < n; i++) rows.push({ c: 'abc'[rand(3)]!, k: 'xyz'[rand(3)]!, t: i, x: rand(3) });
      const evs = events(rows);
      for (const q of queries) {
        const all = ids(q, evs, {});
        for (const size of [1, 3, 10]) {
          const expected = all.slice(Math.max(0, all.length - size));
          expect(ids(q, evs, { size, fetchSize: 1000 }), `${q} size ${size} round ${round}`).toEqual(expected);
          compared++;
        }
      }
    }
    expect(compared).toBe(1800);
  });
});
