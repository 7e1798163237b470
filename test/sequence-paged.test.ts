// Which sequences a tail selection keeps when Elasticsearch pages its sequence executor
// (src/engine/sequence-paged.ts). The expected values are derived by walking Elasticsearch's
// TumblingWindow and SequenceMatcher by hand (steps in the comments); the random test checks that
// with a page larger than the data the replay equals "all sequences, keep the last N".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/engine/index.js';
import { PagedTailSequences } from '../src/engine/sequence-paged.js';
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
    .map((r) => (r.kind === 'sequence' ? r.events.map((e) => (e ? Number(e.id) : 0)) : []));
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

  it('three stages: a full page of the second stage boxes the third into its window, and ES stops there', () => {
    // Found by the random test below (seed 12345, round 72); traced by hand through TumblingWindow:
    // a: 1z 3x 10z 13x 14y 15y 20y 21y 27z 30z 34y 35x (12) · b: 5y 6y 7x 8x 11x 12x 16z 17x 22x 24y
    // 25z 28x 29x 31x 32z (15) · c: 2y 4z 9y 18z 19z 23y 26y 33y 36x (9); fetch_size 15, size 1.
    // Stage a: one page of 12 (< 15: no restart). Stage b after event 1, keys {x,y,z}: all 15, a FULL
    // page, so its window [5, 32] is not the last: (3,7) (10,16) (13,17) (21,24) (30,32) advance.
    // Stage c is boxed to (5, 32]: 9 18 19 23 26 → 18 completes (10,16,18), 26 completes
    // (21,24,26); the set holds 2 ≥ 1 → stop, last 1: (21,24,26). Event 36, which would complete
    // (13,17,36), the last sequence overall, lies past the window and is never read.
    const rows = '1az 2cy 3ax 4cz 5by 6by 7bx 8bx 9cy 10az 11bx 12bx 13ax 14ay 15ay 16bz 17bx 18cz 19cz 20ay 21ay 22bx 23cy 24by 25bz 26cy 27az 28bx 29bx 30az 31bx 32bz 33cy 34ay 35ax 36cx'
      .split(' ')
      .map((w, i) => ({ c: w.at(-2)!, k: w.at(-1)!, t: i }));
    const q = 'sequence by k [a where true] [b where true] [c where true]';
    expect(ids(q, events(rows), {}).at(-1)).toEqual([13, 17, 36]);
    expect(ids(q, events(rows), { size: 1, fetchSize: 15 })).toEqual([[21, 24, 26]]);
    // One more per page: no page is full, every search returns all, the answer is streaming's.
    expect(ids(q, events(rows), { size: 1, fetchSize: 16 })).toEqual([[13, 17, 36]]);
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

describe('ES search semantics inside the replay', () => {
  it('join keys filter per field (term queries), so an event whose values each occur in flight takes a place on the page', () => {
    // 1 a (x,1) · 2 a (y,2) · 3 b (x,2) · 4 b (y,2) · 5 b (x,1); by k, x; fetch_size 2, size 1.
    // Page {2, 1} (full). Stage b after event 1 filtered by k ∈ {x, y} AND x ∈ {1, 2}: event 3 (x,2)
    // passes although no sequence has the key (x,2): page [3, 4]. 3 advances nothing, 4 completes
    // (2,4); the set holds 1 → stop. Filtering by whole keys would have read [4, 5] and returned (1,5).
    const evs = events([
      { c: 'a', k: 'x', t: 1, x: 1 },
      { c: 'a', k: 'y', t: 2, x: 2 },
      { c: 'b', k: 'x', t: 3, x: 2 },
      { c: 'b', k: 'y', t: 4, x: 2 },
      { c: 'b', k: 'x', t: 5, x: 1 },
    ]);
    const q = 'sequence by k, x [a where true] [b where true]';
    expect(ids(q, evs, {}).at(-1)).toEqual([1, 5]);
    expect(ids(q, evs, { size: 1, fetchSize: 2 })).toEqual([[2, 4]]);
  });

  it('more than 128 distinct values of a key field in flight: no key filter (BoxedQueryRequest.MAX_TERMS)', () => {
    // 130 first-stage events with keys k0…k129 (one page of 200, the last: no restart), then stage b:
    // b k129 (completes), 198 b events with a key nobody has, b k0, b k1. Stage b reads after the oldest a
    // WITHOUT a key filter (130 > 128): page 1 = [b k129, 198 × b zz, b k0] (200, full) → (k129) and
    // (k0) complete; the set holds 2 ≥ size 2 → stop before b k1. With 128 keys or fewer in flight the
    // filtered page would hold b k129, b k0 and b k1 alike; here the unfiltered one cuts b k1 off.
    const rows: { c: string; k: string; t: number }[] = [];
    for (let i = 0; i < 130; i++) rows.push({ c: 'a', k: `k${i}`, t: i });
    rows.push({ c: 'b', k: 'k129', t: 200 });
    for (let i = 0; i < 198; i++) rows.push({ c: 'b', k: 'zz', t: 201 + i });
    rows.push({ c: 'b', k: 'k0', t: 500 }, { c: 'b', k: 'k1', t: 501 });
    const evs = events(rows);
    const first = (r: number[]) => r[0];
    expect(ids(AB, evs, { size: 2 }).map(first)).toEqual([1, 2]);
    expect(ids(AB, evs, { size: 2, fetchSize: 200 }).map(first)).toEqual([130, 1]);
  });
});

describe('missing-event terms (![…]) through the paging', () => {
  // 1 a x · 2 a y · 3 a z · 4 b y · 5 b x (as the first case above), fetch_size 2, size 1.
  const rows = [
    { c: 'a', k: 'x', t: 1 },
    { c: 'a', k: 'y', t: 2 },
    { c: 'a', k: 'z', t: 3 },
    { c: 'b', k: 'y', t: 4 },
    { c: 'b', k: 'x', t: 5 },
  ];
  const q = 'sequence by k with maxspan=1h [a where true] [b where true] ![c where true]';

  it('a sequence waits for its check; ES stops on the first round once the check has passed it', () => {
    // Round 1: page {3, 2}; stage b after 2, keys {y, z}: [4] → (2,4) waits for its check (the set
    // is still empty, so ES goes on). Stage b's page is the last: tumbleWindow(a) checks (2,4): no c
    // after it → completed. Page {1}: matching it finds the set at 1 ≥ 1 → stop. (1,5), the last
    // sequence overall, is never found.
    const evs = events(rows);
    expect(ids(q, evs, {}).at(-1)).toEqual([1, 5, 0]);
    expect(ids(q, evs, { size: 1, fetchSize: 2 })).toEqual([[2, 4, 0]]);
  });

  it('a sequence the check rejects does not count: ES reads another round', () => {
    // Event 6 c y at 6 s: the check of (2,4) finds it after event 4 and within maxspan → rejected, the
    // set stays empty. Round 2: page {1}: x@1; stage b after 1 with keys {z, x} (y left): [5] → (1,5)
    // waits, passes at the end (no c with key x) → [(1,5)].
    const evs = events([...rows, { c: 'c', k: 'y', t: 6 }]);
    expect(ids(q, evs, { size: 1, fetchSize: 2 })).toEqual([[1, 5, 0]]);
    // A c event for y farther than maxspan does not reject (2,4), which then ends the run.
    const far = events([...rows, { c: 'c', k: 'y', t: 7200 }]);
    expect(ids(q, far, { size: 1, fetchSize: 2 })).toEqual([[2, 4, 0]]);
  });
});

describe('with pages that hold every term\'s events, the replay is "all sequences, keep the last N"', () => {
  // Seeded: the same cases every run.
  const next = mulberry32(12345);
  const rand = (n: number) => Math.floor(next() * n);
  type Row = { c: string; k: string; t: number; x: number };
  const cat = (c: string) => (r: Row) => r.c === c;
  // Each query with the filters of its terms (until included), to size the page: fetch_size is one
  // more than the largest term's count, so every search returns all in one page that is not full.
  // Runs keep the streaming answer there without replaying; alwaysReplay makes them replay.
  // (With a page exactly full, ES would query on and may stop earlier: see the 3-stage case above.)
  const queries: [string, ((r: Row) => boolean)[]][] = [
    [AB, [cat('a'), cat('b')]],
    ['sequence by k [a where true] [b where true] [c where true]', [cat('a'), cat('b'), cat('c')]],
    ['sequence by k with maxspan=3s [a where true] [b where true]', [cat('a'), cat('b')]],
    ['sequence by k [a where true] [b where true] until [c where true]', [cat('a'), cat('b'), cat('c')]],
    ['sequence by k [a where true] with runs=2 [b where true]', [cat('a'), cat('b')]],
    ['sequence [a where x < 2] [any where x > 0]', [(r) => r.c === 'a' && r.x < 2, (r) => r.x > 0]],
    ['sequence by k with maxspan=4s [a where true] [b where true] ![c where true]', [cat('a'), cat('b')]],
    ['sequence by k with maxspan=4s ![c where true] [a where true] [b where true]', [cat('a'), cat('b')]],
    ['sequence by k with maxspan=4s [a where true] ![c where true] [b where true]', [cat('a'), cat('b')]],
  ];
  beforeAll(() => {
    PagedTailSequences.alwaysReplay = true;
  });
  afterAll(() => {
    PagedTailSequences.alwaysReplay = false;
  });
  it('100 random streams × 9 queries × sizes 1, 3, 10', () => {
    let compared = 0;
    for (let round = 0; round < 100; round++) {
      const n = 5 + rand(40);
      const rows: Row[] = [];
      for (let i = 0; i < n; i++) rows.push({ c: 'abc'[rand(3)]!, k: 'xyz'[rand(3)]!, t: i, x: rand(3) });
      const evs = events(rows);
      for (const [q, terms] of queries) {
        const fetchSize = 1 + Math.max(0, ...terms.map((f) => rows.filter(f).length));
        const all = ids(q, evs, {});
        for (const size of [1, 3, 10]) {
          const expected = all.slice(Math.max(0, all.length - size));
          expect(ids(q, evs, { size, fetchSize }), `${q} size ${size} round ${round}`).toEqual(expected);
          compared++;
        }
      }
    }
    expect(compared).toBe(2700);
  });
});

describe('the buffer keeps only events a returned sequence can hold', () => {
  // Pages of 1–3 events make the replay take many rounds, restarts and boxed windows; keys are
  // sometimes multi-valued and timestamps sometimes equal. Keeping every event must give the same
  // sequences as keeping only the first stage's events and later-stage events whose key a
  // first-stage event had before them within maxspan (a returned event that was not kept throws).
  const next = mulberry32(777);
  const rand = (n: number) => Math.floor(next() * n);
  const queries = [
    AB,
    'sequence by k with maxspan=2s [a where true] [b where true] [c where true]',
    'sequence by k with maxspan=3s [a where true] [b where true] until [c where x == 2]',
    'sequence by k [a where true] with runs=2 [any where x > 0]',
    'sequence by k with maxspan=4s ![c where true] [a where true] [b where true]',
    'sequence by k with maxspan=4s [a where true] ![c where true] [b where true]',
    'sequence by k with maxspan=1s [a where true] [b where true] ![c where true]',
    'sequence [a where x < 2] [any where x > 0]',
  ];
  afterAll(() => {
    PagedTailSequences.keepAllEvents = false;
  });
  it('100 random streams × 8 queries × page sizes 1–3 × sizes 1, 5: the same sequences', () => {
    let compared = 0;
    let sequences = 0;
    for (let round = 0; round < 100; round++) {
      const n = 5 + rand(40);
      const evs: EventDoc[] = [];
      let t = 0;
      for (let i = 0; i < n; i++) {
        t += rand(3) === 0 ? 0 : 0.5 + rand(3) * 0.5;
        const k = rand(5) === 0 ? ['x', 'y'] : 'xyz'[rand(3)]!;
        const source: Src = { '@timestamp': new Date(BASE + t * 1000).toISOString(), event: { category: 'abc'[rand(3)]! }, k, x: rand(3) };
        evs.push({ source, index: 'test', id: String(i + 1) });
      }
      for (const q of queries) {
        for (const fetchSize of [1, 2, 3]) {
          for (const size of [1, 5]) {
            PagedTailSequences.keepAllEvents = true;
            const expected = ids(q, evs, { size, fetchSize });
            PagedTailSequences.keepAllEvents = false;
            expect(ids(q, evs, { size, fetchSize }), `${q} fetch ${fetchSize} size ${size} round ${round}`).toEqual(expected);
            compared++;
            sequences += expected.length;
          }
        }
      }
    }
    expect(compared).toBe(4_800);
    // Not a vacuous comparison: most runs return sequences.
    expect(sequences).toBeGreaterThan(3_000);
  });
});

describe('first-stage events that maxspan left without a continuation are let go (prune)', () => {
  // Long streams (prune runs every 256 buffered events), dense in time: most first-stage events
  // see no later stage of their key within maxspan. Letting them go must change no answer.
  const next = mulberry32(4242);
  const rand = (n: number) => Math.floor(next() * n);
  const queries = [
    'sequence by k with maxspan=2s [a where true] [b where x == 1]',
    'sequence by k with maxspan=3s [a where x != 2] [b where true] [c where x == 0]',
    'sequence by k with maxspan=1s [a where true] [a where x == 2]',
    'sequence by k with maxspan=2s [a where true] [b where true] until [c where x == 2]',
    'sequence by k with maxspan=3s ![c where x == 1] [a where true] [b where x == 2]',
  ];
  afterAll(() => {
    PagedTailSequences.keepAllEvents = false;
  });
  it('10 random streams of 1,500 events × 5 queries × fetch sizes 7, 100 × sizes 1, 10, 200: the same sequences', () => {
    const before = PagedTailSequences.prunedEvents;
    let sequences = 0;
    for (let round = 0; round < 10; round++) {
      const evs: EventDoc[] = [];
      let t = 0;
      for (let i = 0; i < 1500; i++) {
        t += rand(4) === 0 ? 0 : 0.25 + rand(4) * 0.25;
        const k = rand(8) === 0 ? ['k1', 'k2'] : `k${rand(12)}`;
        const c = rand(6) === 0 ? 'b' : rand(5) === 0 ? 'c' : 'a';
        evs.push({ source: { '@timestamp': new Date(BASE + t * 1000).toISOString(), event: { category: c }, k, x: rand(3) }, index: 'test', id: String(i + 1) });
      }
      for (const q of queries) {
        for (const fetchSize of [7, 100]) {
          for (const size of [1, 10, 200]) {
            PagedTailSequences.keepAllEvents = true;
            const expected = ids(q, evs, { size, fetchSize });
            PagedTailSequences.keepAllEvents = false;
            expect(ids(q, evs, { size, fetchSize }), `${q} fetch ${fetchSize} size ${size} round ${round}`).toEqual(expected);
            sequences += expected.length;
          }
        }
      }
    }
    expect(sequences).toBe(4_940);
    // Not vacuous: events were let go — exactly as many as when the keys' times were kept in maps
    // keyed by the key's text (before key slots: the same events let go).
    expect(PagedTailSequences.prunedEvents - before).toBe(145_050);
  });

  it('with one positive term (and missing-event terms), its events are whole sequences and none is let go', () => {
    // Found by a differential check: such a run let its first-stage events go after maxspan, as
    // if a later stage had to continue them, and the replay then failed ("a returned event was
    // not kept") whenever paging returned an old one.
    const evs: EventDoc[] = [];
    let t = 0;
    for (let i = 0; i < 1200; i++) {
      t += rand(4) === 0 ? 0 : 0.25 + rand(4) * 0.25;
      const c = rand(3) === 0 ? 'c' : 'a';
      evs.push({ source: { '@timestamp': new Date(BASE + t * 1000).toISOString(), event: { category: c }, k: `k${rand(6)}`, x: rand(3) }, index: 'test', id: String(i + 1) });
    }
    const before = PagedTailSequences.prunedEvents;
    let sequences = 0;
    for (const q of ['sequence with maxspan=500ms ![any where true] [a where x == 1]', 'sequence by k with maxspan=1s [a where true] ![c where x == 2]', 'sequence by k with maxspan=2s ![c where x == 0] [a where x != 0] ![c where x == 1]']) {
      for (const fetchSize of [1, 7, 100]) {
        for (const size of [1, 10]) {
          PagedTailSequences.keepAllEvents = true;
          const expected = ids(q, evs, { size, fetchSize });
          PagedTailSequences.keepAllEvents = false;
          expect(ids(q, evs, { size, fetchSize }), `${q} fetch ${fetchSize} size ${size}`).toEqual(expected);
          sequences += expected.length;
        }
      }
    }
    expect(sequences).toBe(99);
    expect(PagedTailSequences.prunedEvents - before).toBe(0);
  });
});

describe('long runs: recent first-stage keys are forgotten after maxspan, and later stages that none can precede skip the matcher', () => {
  // Streams long enough for the buffer to forget first-stage keys (sweepRecent, here at every
  // prune: every 256 buffered events), with few keys and rare first-stage events, and for the matcher to be told that a later-stage event has no
  // first-stage event of its keys within maxspan (onTerm answers false; the matcher then does not
  // look its waiting sequences up). Neither may change an answer: the streamed one (a page larger
  // than the data, so no replay) must equal the last N of all sequences found without a tail
  // buffer, and the replayed one must equal the replay that keeps every event.
  const next = mulberry32(9001);
  const rand = (n: number) => Math.floor(next() * n);
  const queries = [
    'sequence by k with maxspan=2s [a where true] [b where x == 1]',
    'sequence by k with maxspan=3s [a where x != 2] [b where true] [c where x == 0]',
    'sequence by k with maxspan=2s [a where true] [b where true] until [c where x == 2]',
    'sequence by k with maxspan=3s [a where true] with runs=2 [b where x != 1]',
    'sequence by k with maxspan=3s [a where true] ![c where x == 1] [b where x == 2]',
    'sequence by k [a where x == 0] [b where x == 1]',
  ];
  const streams: EventDoc[][] = [];
  for (let round = 0; round < 3; round++) {
    const evs: EventDoc[] = [];
    let t = 0;
    for (let i = 0; i < 6000; i++) {
      t += rand(4) === 0 ? 0 : 0.25 + rand(4) * 0.25;
      const k = rand(8) === 0 ? ['k1', `k${rand(8)}`] : `k${rand(8)}`;
      const c = rand(6) === 0 ? 'a' : rand(2) === 0 ? 'b' : 'c';
      evs.push({ source: { '@timestamp': new Date(BASE + t * 1000).toISOString(), event: { category: c }, k, x: rand(3) }, index: 'test', id: String(i + 1) });
    }
    streams.push(evs);
  }
  beforeAll(() => {
    PagedTailSequences.sweepEveryPrunes = 1;
  });
  afterAll(() => {
    PagedTailSequences.keepAllEvents = false;
    PagedTailSequences.sweepEveryPrunes = 4;
  });

  it('streamed answers (no paging): the last N of all sequences', () => {
    let sequences = 0;
    for (const evs of streams) {
      for (const q of queries) {
        const all = ids(q, evs, {});
        for (const size of [1, 10, 100_000]) {
          const expected = all.slice(Math.max(0, all.length - size));
          expect(ids(q, evs, { size, fetchSize: 1_000_000 }), `${q} size ${size}`).toEqual(expected);
          sequences += expected.length;
        }
      }
    }
    expect(sequences).toBe(2_438);
  });

  it('replayed answers (pages of 50 and 500): the same as keeping every event', () => {
    const before = PagedTailSequences.prunedEvents;
    let sequences = 0;
    for (const evs of streams) {
      for (const q of queries) {
        for (const fetchSize of [50, 500]) {
          for (const size of [1, 10, 200]) {
            PagedTailSequences.keepAllEvents = true;
            const expected = ids(q, evs, { size, fetchSize });
            PagedTailSequences.keepAllEvents = false;
            expect(ids(q, evs, { size, fetchSize }), `${q} fetch ${fetchSize} size ${size}`).toEqual(expected);
            sequences += expected.length;
          }
        }
      }
    }
    expect(sequences).toBe(4_290);
    // Not vacuous: first-stage events were let go (as many as before keys were forgotten).
    expect(PagedTailSequences.prunedEvents - before).toBe(27_138);
  });
});

describe('join keys of several fields whose values hold the separator stay apart', () => {
  // ("a\u0001b", "c") and ("a", "b\u0001c") are different keys (ES compares the values); joined
  // with \u0001 unescaped they were one key: the second first-stage event replaced the first, and
  // a later-stage event of one key took the other's sequence.
  afterAll(() => {
    PagedTailSequences.alwaysReplay = false;
  });
  const row = (c: string, k1: string, k2: string, t: number): EventDoc => ({
    source: { '@timestamp': new Date(BASE + t * 1000).toISOString(), event: { category: c }, k1, k2 } as Src,
    index: 'test',
    id: String(t),
  });
  // (A third key, ("a\u0002\u0003b", "c"), is what an escape of \u0001 alone would make of the first.)
  const evs = [
    row('a', 'a\u0001b', 'c', 1),
    row('a', 'a', 'b\u0001c', 2),
    row('b', 'a\u0002\u0003b', 'c', 2.5),
    row('b', 'a\u0001b', 'c', 3),
    row('b', 'a', 'b\u0001c', 4),
  ];
  const expected = [
    [['a\u0001b', 'c'], ['1', '3']],
    [['a', 'b\u0001c'], ['2', '4']],
  ];
  const run = (options: CompileOptions) =>
    compile('sequence by k1, k2 [a where true] [b where true]', options)
      .run(evs)
      .map((r) => (r.kind === 'sequence' ? [r.joinKeys, r.events.map((e) => e?.id)] : null));
  it('streamed', () => {
    expect(run({})).toEqual(expected);
  });
  it('replayed', () => {
    PagedTailSequences.alwaysReplay = true;
    expect(run({ size: 10 })).toEqual(expected);
  });
});

describe('the shared key table is let go when no run uses it', () => {
  it('held while a tail run is in progress, not after its result', () => {
    const evs = events([
      { c: 'a', k: 'x', t: 1 },
      { c: 'b', k: 'x', t: 2 },
    ]);
    expect(PagedTailSequences.keyTablesHeld).toBe(0);
    const run = compile(AB, { size: 1 }).createRun();
    for (const ev of evs) run.push(ev);
    expect(PagedTailSequences.keyTablesHeld).toBe(1);
    expect(run.finish().map((r) => (r.kind === 'sequence' ? r.events.map((e) => e?.id) : null))).toEqual([['1', '2']]);
    expect(PagedTailSequences.keyTablesHeld).toBe(0);
  });
});
