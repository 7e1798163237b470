// The external sort: any input order in, the merge's order out, within a memory budget.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExternalSorter } from '../src/events/external-sort.js';
import { compareKeyed, Keyer, sortEvents } from '../src/events/order.js';
import type { EventDoc } from '../src/events/types.js';
import { mulberry32 as rng } from './prng.js';

function events(n: number, seed: number): EventDoc[] {
  const r = rng(seed);
  const words = ['é', '日本語', '🙂', 'plain', 'a"quote', 'back\\slash', 'new\nline'];
  return Array.from({ length: n }, (_, i) => {
    // Few distinct timestamps: many ties, broken by the input-given _id (or, without one, input order).
    const ms = Date.UTC(2024, 0, 1) + Math.floor(r() * 50) * 1000;
    const explicit = r() < 0.7;
    return {
      id: explicit ? `id-${(i * 7919) % 100003}` : `f:${i + 1}`, // unique, in no particular order
      derivedId: explicit ? undefined : true,
      index: 'logs-x',
      source: { '@timestamp': new Date(ms).toISOString(), n: i, text: words[i % words.length]!.repeat(1 + (i % 5)) },
      position: { file: 'f', line: i + 1 },
    } as EventDoc;
  });
}

function shuffled<T>(xs: T[], seed: number): T[] {
  const r = rng(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function sortAll(docs: EventDoc[], memory: number, fanIn?: number) {
  const sorter = new ExternalSorter(memory, undefined, fanIn);
  const keyer = new Keyer({});
  docs.forEach((d, i) => sorter.add(d, keyer.key(d, 0, i)!));
  const dir = sorter.directory;
  const out: EventDoc[] = [];
  for await (const b of sorter.sorted(100)) out.push(...b);
  return { out, stats: sorter.stats, dir };
}

describe('ExternalSorter', () => {
  const docs = events(3000, 7);
  const input = shuffled(docs, 11);
  // The reference: the same events sorted in memory by the merge's comparator.
  const keyer = new Keyer({});
  const expected = input
    .map((d, i) => keyer.key(d, 0, i)!)
    .sort(compareKeyed)
    .map((k) => k.doc);

  it('sorts in memory when the budget holds everything', async () => {
    const { out, stats, dir } = await sortAll(input, 64 * 1024 * 1024);
    expect(stats).toEqual({ events: 3000, runs: 0, spilledBytes: 0, mergePasses: 0 });
    expect(dir).toBeNull();
    expect(out.map((e) => e.source)).toEqual(expected.map((e) => e.source));
    expect(out.map((e) => [e.id, e.derivedId, e.index, e.position])).toEqual(expected.map((e) => [e.id, e.derivedId, e.index, e.position]));
    expect(out[0]!.time).toEqual({ ms: Date.parse(String(expected[0]!.source['@timestamp'])), ns: 0 });
  });

  it('spills sorted runs to temporary files, merges them in several passes, and removes them', async () => {
    const { out, stats, dir } = await sortAll(input, 16 * 1024, 3);
    expect(stats.runs).toBeGreaterThan(20);
    expect(stats.mergePasses).toBeGreaterThanOrEqual(2);
    expect(stats.spilledBytes).toBeGreaterThan(0);
    expect(out).toHaveLength(3000);
    expect(out.map((e) => e.source)).toEqual(expected.map((e) => e.source));
    expect(dir).not.toBeNull();
    expect(existsSync(dir!)).toBe(false);
  });

  it('orders ties by the input-given _id, so any input order gives the same sequence', async () => {
    const explicit = docs.filter((d) => !d.derivedId);
    const a = sortEvents(shuffled(explicit, 1)).map((e) => e.id);
    const b = (await sortAll(shuffled(explicit, 2), 8 * 1024)).out.map((e) => e.id);
    expect(b).toEqual(a);
    expect(sortEvents(explicit).map((e) => e.id)).toEqual(a);
  });
});
