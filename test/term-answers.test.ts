// Term answers worked out ahead (CompiledQuery.writeAnswers, engine/answers.ts): a run fed an
// event with the answers its query wrote for it — passed between threads as the structured clone
// does — gives exactly the results and warnings of a run that reads the event itself, and reads
// none of the event's fields for its terms and keys.
import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { compile, type QueryResult } from '../src/engine/index.js';
import { NOT_ANSWERED, readAnswers } from '../src/engine/answers.js';
import type { TermAnswers } from '../src/engine/types.js';
import type { EventDoc } from '../src/events/types.js';
import { mulberry32 } from './prng.js';

const BASE = Date.UTC(2024, 0, 1, 12, 0, 0);

/** What the worker sends for one query and what the main thread reads back. */
function answersOf(query: ReturnType<typeof compile>, ev: EventDoc): TermAnswers | null {
  const flat: unknown[] = [];
  if (!query.writeAnswers(ev, flat)) return null;
  const out: (TermAnswers | null)[] = [null];
  readAnswers(deserialize(serialize(flat)) as unknown[], 1, out);
  return out[0]!;
}

const summary = (rs: QueryResult[]) => rs.map((r) => (r.kind === 'event' ? ['event', r.event.id] : [r.kind, r.joinKeys, r.events.map((e) => e?.id ?? null)]));

/** Random events over a few hosts and processes, some with multi-valued or missing keys. */
function randomEvents(seed: number, n: number): EventDoc[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: EventDoc[] = [];
  for (let i = 0; i < n; i++) {
    const host: unknown = rnd() < 0.05 ? ['h1', 'h2'] : rnd() < 0.05 ? undefined : rnd() < 0.03 ? null : pick(['h1', 'h2', 'h3']);
    const src: Record<string, unknown> = {
      '@timestamp': new Date(BASE + i * 700).toISOString(),
      event: { category: pick(['process', 'network', 'file']), type: pick(['start', 'end', 'change']) },
      process: { name: pick(['a.exe', 'b.exe', 'c.exe']), pid: pick([1, 2, 3, -0]) },
      user: rnd() < 0.5 ? { id: pick(['u1', 'u2']) } : {},
    };
    if (host !== undefined) src.host = { id: host };
    out.push({ source: src, index: 'logs', id: `e${i}`, time: { ms: BASE + i * 700, ns: 0 }, timeField: '@timestamp' });
  }
  return out;
}

const QUERIES = [
  'process where process.name == "a.exe"',
  'sequence by host.id with maxspan=5s [process where event.type == "start"] [network where true]',
  'sequence by host.id with maxspan=4s [process where process.name == "a.exe"] ![file where true] [network where true] | tail 3',
  'sequence by host.id with maxspan=4s [process where process.name == "a.exe"] [network where true] ![file where true]',
  'sequence by host.id, process.pid with maxspan=10s [process where true] [process where event.type == "end"] until [file where event.type == "change"]',
  'sequence by ?user.id [process where process.name == "b.exe"] with runs = 2 [network where true]',
  'sequence with maxspan=3s [process where process.name == "c.exe"] [file where true]',
  'sequence by host.id [process where true] by process.name [network where true] by process.name',
];

/** Results of the overlapping-windows case below (checked against the runs that read the events). */
const FOUND_IN_WINDOWS = 106;

describe('term answers worked out ahead', () => {
  for (const text of QUERIES) {
    it(`give the same results and warnings as reading the event: ${text}`, () => {
      let found = 0;
      for (const seed of [1, 2, 3]) {
        const q = compile(text, { size: 5 });
        const evs = randomEvents(seed, 400);
        const plain = q.createRun();
        const answered = q.createRun();
        let relevant = 0;
        for (const ev of evs) {
          // A router hands a run only the events relevant() accepts, and answers only those.
          if (!q.relevant(ev)) continue;
          relevant++;
          plain.push(ev);
          answered.push(ev, answersOf(q, ev) ?? undefined);
        }
        expect(relevant).toBeGreaterThan(20);
        const a = plain.finish();
        expect(summary(answered.finish())).toEqual(summary(a));
        expect(answered.warnings()).toEqual(plain.warnings());
        expect(answered.found).toBe(plain.found);
        found += a.length;
      }
      // The comparison means something only if results were found.
      expect(found).toBeGreaterThan(0);
    });
  }

  it("give each run its own results when a rule's overlapping windows take the same answers in turn", () => {
    // The detection engine hands one TermAnswers per (event, rule) to every open window's run, one
    // run after the other; the runs share the join keys made from it (sequence.ts, keysOfAnswer).
    let found = 0;
    for (const text of QUERIES) {
      const q = compile(text, { size: 5 });
      const evs = randomEvents(7, 400);
      // Three windows: the whole stream, from the 100th event, from the 250th to the 350th.
      const spans = [[0, 400], [100, 400], [250, 350]] as const;
      const plain = spans.map(() => q.createRun());
      const answered = spans.map(() => q.createRun());
      evs.forEach((ev, i) => {
        if (!q.relevant(ev)) return;
        const a = answersOf(q, ev) ?? undefined;
        spans.forEach(([from, to], w) => {
          if (i < from || i >= to) return;
          plain[w]!.push(ev);
          answered[w]!.push(ev, a);
        });
      });
      spans.forEach((_, w) => {
        const expected = summary(plain[w]!.finish());
        expect(summary(answered[w]!.finish())).toEqual(expected);
        expect(answered[w]!.warnings()).toEqual(plain[w]!.warnings());
        found += expected.length;
      });
    }
    expect(found).toBe(FOUND_IN_WINDOWS);
  });

  it('let a run read no field of an event that no sequence keeps', () => {
    const q = compile('sequence by host.id with maxspan=5s [process where process.name == "a.exe"] [network where true]');
    let reads = 0;
    const counted = (i: number, category: string, host: string): EventDoc => {
      const source = { '@timestamp': new Date(BASE + i * 1000).toISOString(), event: { category }, process: { name: 'x.exe' }, host: { id: host } };
      return {
        get source() {
          reads++;
          return source;
        },
        index: 'logs',
        id: `n${i}`,
        time: { ms: BASE + i * 1000, ns: 0 },
        timeField: '@timestamp',
      };
    };
    const evs = Array.from({ length: 50 }, (_, i) => counted(i, 'network', `h${i % 7}`));
    const answers = evs.map((ev) => answersOf(q, ev)!);
    expect(answers[0]).toEqual({ mask: 2, keys: [undefined, ['h0']] });
    reads = 0;
    const run = q.createRun();
    evs.forEach((ev, i) => run.push(ev, answers[i]));
    expect(run.finish()).toEqual([]);
    expect(reads).toBe(0);
    // Without the answers the run reads every event.
    const again = q.createRun();
    for (const ev of evs) again.push(ev);
    again.finish();
    expect(reads).toBeGreaterThanOrEqual(50);
  });

  it('say only whether a sample can use the event (the run reads it)', () => {
    const q = compile('sample by host.id [process where true] [network where true]');
    const ev = (category: string): EventDoc => ({ source: { '@timestamp': BASE, event: { category }, host: { id: 'h' } }, index: 'logs', id: 'x' });
    const flat: unknown[] = [];
    expect(q.writeAnswers(ev('process'), flat)).toBe(true);
    expect(q.writeAnswers(ev('file'), flat)).toBe(false);
    expect(flat).toEqual([NOT_ANSWERED, 0]);
  });

  it('say whether the event is relevant, and write nothing when it is not', () => {
    for (const text of QUERIES) {
      const q = compile(text);
      for (const ev of randomEvents(4, 200)) {
        const flat: unknown[] = [];
        expect(q.writeAnswers(ev, flat)).toBe(q.relevant(ev));
        expect(flat.length === 0).toBe(!q.relevant(ev));
      }
    }
  });

  it('carry a missing required key, and leave multi-valued keys to the run', () => {
    const q = compile('sequence by host.id [process where true] [network where true]');
    const ev = (host: unknown, category = 'process'): EventDoc => ({ source: { '@timestamp': BASE, event: { category }, host: { id: host } }, index: 'logs', id: 'x' });
    expect(answersOf(q, ev(null))).toEqual({ mask: 1, keys: [null] });
    expect(answersOf(q, ev(['a', 'b']))).toEqual({ mask: 1, keys: [undefined] });
    expect(answersOf(q, ev(['a', 'a', null]))).toEqual({ mask: 1, keys: [['a']] });
    expect(answersOf(q, ev('h', 'network'))).toEqual({ mask: 2, keys: [undefined, ['h']] });
  });
});
