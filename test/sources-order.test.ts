import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeOrdered, sortEvents, type OrderOptions } from '../src/events/order.js';
import { readEvents } from '../src/events/sources.js';
import type { EventDoc, SkippedItem } from '../src/events/types.js';

function ev(id: string, ts: unknown, extra: Record<string, unknown> = {}): EventDoc {
  const source: Record<string, unknown> = { ...extra };
  if (ts !== undefined) source['@timestamp'] = ts;
  return { source, index: '', id, position: { file: 'mem', line: Number(id.replace(/\D/g, '')) || 0 } };
}

async function* gen(events: EventDoc[]): AsyncGenerator<EventDoc> {
  for (const e of events) yield e;
}

async function merge(inputs: EventDoc[][], opts: OrderOptions = {}) {
  const skipped: SkippedItem[] = [];
  const warnings: string[] = [];
  const m = mergeOrdered(inputs.map(gen), { ...opts, onSkip: (s) => skipped.push(s), onWarning: (w) => warnings.push(w) });
  const ids: string[] = [];
  for await (const e of m) ids.push(e.id);
  return { ids, skipped, warnings, stats: m.stats };
}

const t = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString();

describe('mergeOrdered', () => {
  it('merges three sorted inputs, ties by tiebreaker then input order', async () => {
    const a = [ev('a1', t(1)), ev('a2', t(3), { seq: 2 }), ev('a3', t(5))];
    const b = [ev('b1', t(2)), ev('b2', t(3), { seq: 1 }), ev('b3', t(3)), ev('b4', t(6))];
    const c = [ev('c1', t(0)), ev('c2', t(3), { seq: 2 }), ev('c3', t(3), { seq: 10 }), ev('c4', t(5))];
    const { ids, skipped, stats } = await merge([a, b, c], { tiebreakerField: 'seq' });
    // At t(3): seq 1 (b2), seq 2 from a then c (input order), seq 10 (c3), missing seq last (b3).
    expect(ids).toEqual(['c1', 'a1', 'b1', 'b2', 'a2', 'c2', 'c3', 'b3', 'a3', 'c4', 'b4']);
    expect(skipped).toEqual([]);
    expect(stats).toMatchObject({ emitted: 11, late: 0, noTimestamp: 0 });
  });

  it('without a tiebreaker, equal timestamps keep input order', async () => {
    const a = [ev('a1', t(1)), ev('a2', t(1))];
    const b = [ev('b1', t(1)), ev('b2', t(0))];
    const { ids } = await merge([a, b]);
    expect(ids).toEqual(['b2', 'a1', 'a2', 'b1']);
  });

  it('compares tiebreakers: numbers numerically, strings by code unit, numbers before strings, missing last', async () => {
    const a = [
      ev('x1', t(1), { tb: 10 }),
      ev('x2', t(1), { tb: 9 }),
      ev('x3', t(1), { tb: 'b' }),
      ev('x4', t(1), { tb: 'B' }),
      ev('x5', t(1)),
      ev('x6', t(1), { tb: [2, 100] }),
    ];
    const { ids } = await merge([a], { tiebreakerField: 'tb' });
    expect(ids).toEqual(['x6', 'x2', 'x1', 'x4', 'x3', 'x5']);
  });

  it('fixes local disorder within the reorder window', async () => {
    const a = [ev('a3', t(3)), ev('a1', t(1)), ev('a2', t(2)), ev('a5', t(5)), ev('a4', t(4))];
    const b = [ev('b2', t(2)), ev('b6', t(6))];
    const { ids, skipped, stats } = await merge([a, b], { reorderWindow: 6 });
    expect(ids).toEqual(['a1', 'a2', 'b2', 'a3', 'a4', 'a5', 'b6']);
    expect(skipped).toEqual([]);
    expect(stats.late).toBe(0);
  });

  it('reports late events beyond the window, counts them and never emits them out of order', async () => {
    // Window of 1 per input: 'a0' arrives after a(5), a(6) and b(...) were released.
    const a = [ev('a5', t(5)), ev('a6', t(6)), ev('a7', t(7)), ev('a0', t(0)), ev('a8', t(8))];
    const b = [ev('b1', t(1))];
    const { ids, skipped, warnings, stats } = await merge([a, b], { reorderWindow: 1 });
    expect(ids).toEqual(['b1', 'a5', 'a6', 'a7', 'a8']);
    expect(stats.late).toBe(1);
    expect(stats.lateByInput).toEqual(new Map([['input 1', 1]]));
    const hint =
      'input input 1 is not sorted by @timestamp beyond the reorder window (1 events); sort it by time first, or raise --reorder-window';
    expect(skipped).toEqual([
      {
        position: { file: 'mem', line: 0 },
        reason: `late event a0: 2024-01-01T00:00:00.000Z is older than 2024-01-01T00:00:06.000Z already emitted; ${hint}`,
      },
    ]);
    expect(warnings).toEqual([hint]);
  });

  it('releases by time window when reorderWindowMs is set', async () => {
    // Time window 1500 ms: a(1) is released once a(3) is read, so a(0.5) is late for it.
    const a = [ev('a1', t(1)), ev('a3', t(3)), ev('a2', t(2)), ev('a0', '2024-01-01T00:00:00.500Z'), ev('a4', t(4))];
    const { ids, stats } = await merge([a], { reorderWindowMs: 1500 });
    expect(ids).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(stats.late).toBe(1);
  });

  it('skips and reports events without a parseable timestamp', async () => {
    const a = [ev('a1', t(1)), ev('a2', undefined), ev('a3', 'yesterday'), ev('a4', t(2))];
    const { ids, skipped, stats } = await merge([a]);
    expect(ids).toEqual(['a1', 'a4']);
    expect(stats.noTimestamp).toBe(2);
    expect(skipped.map((s) => s.reason)).toEqual([
      'event a2 has no @timestamp; skipped',
      'event a3 has an unparseable @timestamp "yesterday"; skipped',
    ]);
  });

  it('orders nanosecond timestamps and epoch numbers exactly', async () => {
    const a = [ev('n2', '2024-01-01T00:00:00.000000002Z'), ev('n9', '2024-01-01T00:00:00.000000900Z')];
    const b = [ev('n1', '2024-01-01T00:00:00.000000001Z'), ev('n3', '2024-01-01T00:00:00.000000003Z'), ev('m1', 1704067200001)];
    const c = [ev('n0', '2023-12-31T19:00:00-05:00')];
    const { ids } = await merge([a, b, c], { reorderWindow: 0 });
    expect(ids).toEqual(['n0', 'n1', 'n2', 'n3', 'n9', 'm1']);
  });

  it('uses a custom timestamp field, nested or flat', async () => {
    const a = [ev('a2', undefined, { event: { created: t(2) } }), ev('a1', undefined, { 'event.created': t(1) })];
    const { ids } = await merge([a], { timestampField: 'event.created' });
    expect(ids).toEqual(['a1', 'a2']);
  });
});

describe('mergeOrdered over files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'eqlite-order-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('merges EventReaders (batched) and names late inputs by file', async () => {
    const f1 = path.join(dir, 'one.ndjson');
    const f2 = path.join(dir, 'two.ndjson');
    writeFileSync(f1, [1, 4, 2, 6].map((s) => JSON.stringify({ '@timestamp': t(s), f: 1 })).join('\n'));
    writeFileSync(f2, [3, 5, 0].map((s) => JSON.stringify({ '@timestamp': t(s), f: 2 })).join('\n'));
    const skipped: SkippedItem[] = [];
    const m = mergeOrdered([readEvents(f1), readEvents(f2)], { reorderWindow: 2, onSkip: (s) => skipped.push(s) });
    const got: string[] = [];
    for await (const e of m) got.push(`${e.source.f}@${(e.source['@timestamp'] as string).slice(17, 19)}`);
    // Each input holds 2 events (the window never goes below min(1000, window) per input), which
    // absorbs one.ndjson's local disorder; two.ndjson's t(0) is its third event, read before the
    // first emission, so nothing is late.
    expect(got).toEqual(['2@00', '1@01', '1@02', '2@03', '1@04', '2@05', '1@06']);
    expect(skipped).toEqual([]);
  });

  it('reports a late event of a file with its file and line', async () => {
    const f = path.join(dir, 'late.ndjson');
    writeFileSync(f, [5, 6, 7, 1].map((s) => JSON.stringify({ '@timestamp': t(s) })).join('\n'));
    const skipped: SkippedItem[] = [];
    const m = mergeOrdered([readEvents(f)], { reorderWindow: 0, onSkip: (s) => skipped.push(s) });
    let n = 0;
    for await (const _ of m) n++;
    expect(n).toBe(3);
    expect(skipped.map((s) => s.position)).toEqual([{ file: f, line: 4 }]);
    expect(skipped[0]!.reason).toContain(`input ${f} is not sorted by @timestamp beyond the reorder window (0 events)`);
    expect(m.stats.lateByInput.get(f)).toBe(1);
  });
});

describe('sortEvents', () => {
  it('sorts stably by time and tiebreaker and reports timeless events', () => {
    const skipped: SkippedItem[] = [];
    const events = [ev('e1', t(2), { s: 2 }), ev('e2', t(1)), ev('e3', t(2), { s: 1 }), ev('e4', null), ev('e5', t(2), { s: 1 })];
    const out = sortEvents(events, { tiebreakerField: 's', onSkip: (s) => skipped.push(s) });
    expect(out.map((e) => e.id)).toEqual(['e2', 'e3', 'e5', 'e1']);
    expect(skipped).toEqual([{ position: { file: 'mem', line: 4 }, reason: 'event e4 has an unparseable @timestamp null; skipped' }]);
  });
});

describe('mergeOrdered: adaptive default window', () => {
  // Sorted inputs keep a 256-event window (cheap); the first sign of disorder widens it to the
  // full default (4,000), so later, larger disorder is still repaired.
  const ms = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 10).toISOString();

  it('a straggler within 256 events widens the window for what follows', async () => {
    const order = Array.from({ length: 6000 }, (_, i) => i);
    // Small disorder first: event 100 arrives 50 events late.
    order.splice(order.indexOf(100), 1);
    order.splice(150, 0, 100);
    // Then event 3000 arrives 2,000 events late: only a full window can place it.
    order.splice(order.indexOf(3000), 1);
    order.splice(5000, 0, 3000);
    const { ids, skipped, stats } = await merge([order.map((i) => ev(`e${i}`, ms(i)))]);
    expect(skipped).toEqual([]);
    expect(stats).toMatchObject({ emitted: 6000, late: 0 });
    expect(ids).toEqual(Array.from({ length: 6000 }, (_, i) => `e${i}`));
  });

  it('disorder beyond 256 events as the first sign is reported as late, then repaired', async () => {
    const order = Array.from({ length: 6000 }, (_, i) => i);
    order.splice(order.indexOf(100), 1);
    order.splice(1000, 0, 100); // 900 events late, before any disorder was seen
    order.splice(order.indexOf(3000), 1);
    order.splice(5000, 0, 3000); // 2,000 late, after the window widened
    const { ids, skipped, stats } = await merge([order.map((i) => ev(`e${i}`, ms(i)))]);
    expect(stats).toMatchObject({ emitted: 5999, late: 1 });
    expect(skipped.map((s) => s.reason.slice(0, 14))).toEqual(['late event e10']);
    expect(ids).toEqual(Array.from({ length: 6000 }, (_, i) => `e${i}`).filter((id) => id !== 'e100'));
  });

  it('an explicit --reorder-window is used from the start', async () => {
    const order = Array.from({ length: 3000 }, (_, i) => i);
    order.splice(order.indexOf(100), 1);
    order.splice(1000, 0, 100);
    const { stats } = await merge([order.map((i) => ev(`e${i}`, ms(i)))], { reorderWindow: 2000 });
    expect(stats).toMatchObject({ emitted: 3000, late: 0 });
  });
});
