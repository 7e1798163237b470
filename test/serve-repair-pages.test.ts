// Repair runs of real-time detection read their windows from the store in time order, a page at a
// time (SqliteEventLog.sortedRows, PartitionDetector's repairGroup): however long the look-back,
// a repair holds at most a page of events read, and its alerts are still those of `hunt` over the
// stored events.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { Alert } from '../src/detect/alerts.js';
import { DetectionEngine } from '../src/detect/engine.js';
import { prepareRule, RuleRouter } from '../src/detect/router.js';
import { stampEventTime } from '../src/events/order.js';
import type { EventDoc } from '../src/events/types.js';
import type { LogEvent, PartitionReader } from '../src/serve/event-log.js';
import type { DetectorRules } from '../src/serve/realtime.js';
import { openStateDb, type StateDb } from '../src/serve/state.js';
import { batchOf, EventStore, Op } from '../src/serve/store/event-store.js';
import { SqliteEventLog } from '../src/serve/store/sqlite-log.js';
import { makeRule } from './detect-helpers.js';
import { detectorOn } from './realtime-helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh store and its log. */
async function openLog(): Promise<{ store: EventStore; state: StateDb; log: SqliteEventLog; close: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-repair-pages-'));
  dirs.push(dir);
  const state = openStateDb(dir);
  const store = await EventStore.open({ dir, onUnavailable: () => undefined });
  const log = new SqliteEventLog(store, state);
  return {
    store,
    state,
    log,
    close: async () => {
      await store.close();
      state.close();
    },
  };
}

/** Stores documents (one request) and tells the log's readers, as ingest does; returns their positions. */
async function put(log: SqliteEventLog, store: EventStore, docs: Record<string, unknown>[]): Promise<number[]> {
  const res = await store.write(batchOf(docs.map((d, i) => ({ op: Op.Create, index: 'logs-test-default', id: String(d.id ?? i), src: JSON.stringify(d) }))));
  const seqs = [...res.seq];
  // (Not routed at ingest: the readers read the events from the store.)
  log.notify({ ingested: res.ingested, gen: 0, seqs: Float64Array.from(seqs), count: seqs.length, events: [], began: Date.now() });
  return seqs;
}

const proc = (id: string, at: number, host: string, name: string) => ({ id, '@timestamp': new Date(at).toISOString(), host: { id: host }, process: { name }, event: { category: ['process'] } });

describe('the store read in time order, a page at a time', () => {
  test('pages of at most `page` rows end where a millisecond ends; a millisecond longer than a page is split and counted', async () => {
    const { store, log, close } = await openLog();
    try {
      const base = Date.UTC(2026, 0, 1);
      // Stored out of time order; three events in one millisecond (nanosecond times), four in another.
      await put(log, store, [
        { id: 'e5', '@timestamp': new Date(base + 5).toISOString() },
        { id: 'e1', '@timestamp': new Date(base + 1).toISOString() },
        { id: 'n3', '@timestamp': '2026-01-01T00:00:00.003000300Z' },
        { id: 'n1', '@timestamp': '2026-01-01T00:00:00.003000100Z' },
        { id: 'x', message: 'no time' },
        { id: 'n2', '@timestamp': '2026-01-01T00:00:00.003000200Z' },
        { id: 'q1', '@timestamp': new Date(base + 9).toISOString() },
        { id: 'q2', '@timestamp': new Date(base + 9).toISOString() },
        { id: 'q3', '@timestamp': new Date(base + 9).toISOString() },
        { id: 'q4', '@timestamp': new Date(base + 9).toISOString() },
        { id: 'e2', '@timestamp': new Date(base + 2).toISOString() },
      ]);
      const pages: string[][] = [];
      let split = 0;
      for (const p of log.sortedRows(1, log.lastPosition(), 3)) {
        pages.push(p.events.map((e) => e.id));
        split += p.split;
      }
      // Positions order the events of a millisecond (n3 was stored before n1); q1–q4 exceed a page.
      expect(pages).toEqual([['e1', 'e2'], ['n3', 'n1', 'n2'], ['e5'], ['q1', 'q2', 'q3'], ['q4']]);
      expect(split).toBe(4);
      // An event-time range is read through the index alone; through bounds the positions.
      // A page of 2 splits both busy milliseconds (2 + 1 and 2 + 2 events).
      const some = [...log.sortedRows(1, 10, 2, undefined, { start: base + 2, end: base + 9 })];
      expect(some.map((p) => p.events.map((e) => e.id))).toEqual([['n3', 'n1'], ['n2'], ['e5'], ['q1', 'q2'], ['q3', 'q4']]);
      expect(some.reduce((n, p) => n + p.split, 0)).toBe(7);
    } finally {
      await close();
    }
  });
});

/** Rules as a detector runs them; `ingested`: windowed by event.ingested, as most prebuilt rules. */
function rulesOf(specs: { query: string; ingested?: boolean }[]): DetectorRules {
  const mk = (max: number) =>
    specs.map((spec, i) => {
      const rule = makeRule({ name: `r${i}`, query: spec.query, index: ['logs-*'], from: 'now-9m', interval: '5m', ...(spec.ingested ? { timestamp_override: 'event.ingested' } : {}) });
      const p = prepareRule(rule, { timestampField: '@timestamp', exceptionLists: [], now: Date.now(), replay: true, maxSignals: max });
      if ('skip' in p) throw new Error(p.skip);
      return p;
    });
  const prepared = mk(100);
  return { gen: 1, prepared, stream: mk(Infinity), router: new RuleRouter(prepared) };
}

/** Alert ids of `hunt` over the stored events (as read back: with event.ingested). */
function huntIds(rules: DetectorRules, events: LogEvent[]): string[] {
  const alerts: Alert[] = [];
  const engine = new DetectionEngine({ rules: rules.prepared, mode: 'schedule', now: Date.now(), sink: (g) => void alerts.push(...g) });
  const docs = events.map((e) => ({ source: e.source, index: e.index, id: e.id }) as EventDoc).filter((d) => stampEventTime(d, '@timestamp'));
  docs.sort((a, b) => a.time!.ms - b.time!.ms || a.time!.ns - b.time!.ns);
  for (const d of docs) engine.push(d, d.time!.ms, rules.router.route(d));
  engine.finish();
  return ids(alerts);
}

/** Every event of the log, as a repair reads it back. */
function storedEvents(log: SqliteEventLog): LogEvent[] {
  const stored: LogEvent[] = [];
  for (const b of log.rows(1, log.lastPosition())) stored.push(...b.events);
  return stored;
}

const ids = (as: Alert[]) => as.map((a) => String(a['kibana.alert.uuid'])).sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the detector has read the events at `positions` and pushed them (nothing left in
 * its reorder hold): which events are late depends on what was pushed before them, and a fixed
 * sleep leaves that to the machine's speed (a loaded one reads two requests in one batch, in
 * time order, and nothing is late).
 */
async function pushedThrough(d: { status(): { position: number; held: number } }, positions: number[]): Promise<void> {
  const last = Math.max(...positions);
  const end = Date.now() + 30_000;
  while (!(d.status().position >= last && d.status().held === 0)) {
    if (Date.now() > end) throw new Error(`the detector did not push position ${last} within 30 s`);
    await sleep(5);
  }
}

/** The rules both repair scenarios run: an event query, and a sequence without and one with a maxspan. */
const SCENARIO_RULES = [
  { query: 'process where process.name == "x"' },
  // No maxspan, windowed by event.ingested: a repair reads every event stored in its look-back.
  { query: 'sequence by host.id [process where process.name == "a"] [process where process.name == "c"]', ingested: true },
  { query: 'sequence by host.id with maxspan=30s [process where process.name == "a"] [process where process.name == "b"]' },
];

describe('a repair over a window larger than its page', () => {
  test('holds at most a page of events read, rebuilds the stream, and alerts what hunt alerts over the stored events', async () => {
    const { store, log, close } = await openLog();
    const rules = rulesOf(SCENARIO_RULES);
    const PAGE = 4;
    const alerts: Alert[] = [];
    const d = detectorOn(log.reader(0), rules, alerts, 3_600_000, { repairPage: PAGE });
    await d.start();
    try {
      const base = Date.now() - 120_000;
      // 30 on-time events every 100 ms from base + 10 s (h10…h14: c, x and b, none completing a sequence).
      const names = ['c', 'x', 'b'];
      await pushedThrough(d, await put(log, store, Array.from({ length: 30 }, (_, k) => proc(`o${k}`, base + 10_000 + k * 100, `h${10 + (k % 5)}`, names[k % 3]!))));
      // Late: older than what was pushed, each a sequence's first event.
      await pushedThrough(d, await put(log, store, [proc('la1', base + 1_000, 'h1', 'a'), proc('la3', base + 2_000, 'h3', 'a'), proc('la10', base + 3_000, 'h10', 'a')]));
      await sleep(600);
      // On time: complete h1's a→c and h3's a→b (within 30 s of its a); h10's a→c and a→b were completed by o0 and o5 already.
      await pushedThrough(d, await put(log, store, [proc('c1', base + 20_000, 'h1', 'c'), proc('b3', base + 21_000, 'h3', 'b'), proc('x9', base + 22_000, 'h9', 'x')]));
      await sleep(400);
      await d.drain();
    } finally {
      await d.stop();
    }
    const status = d.status();
    const expected = huntIds(rules, storedEvents(log));
    await close();
    // x: 10 on time + x9; a→c on h1 and h10, a→b on h3 and h10 (3 alerts each).
    expect(expected).toHaveLength(11 + 12);
    expect(status.late).toBe(3);
    expect(status.repairs).toBe(2);
    expect(status.rebuilds).toBe(2);
    // The repair read 30 + 3 events of its rules (and more for the rebuild): never more than a page at once.
    expect(status.repairPeak).toBeGreaterThan(0);
    expect(status.repairPeak).toBeLessThanOrEqual(PAGE);
    expect(status.repairSplit).toBe(0);
    expect(ids(alerts)).toEqual(expected);
    expect(new Set(ids(alerts)).size).toBe(alerts.length);
  });
});

describe('events pushed on time while a paged repair reads', () => {
  test('are read back by position into the rebuilt stream states: their sequences with the late events alerted, no second repair, the alerts of hunt', async () => {
    const { store, log, close } = await openLog();
    const rules = rulesOf(SCENARIO_RULES);
    // The store's reader, its time-ordered reads starting 600 ms late: the next events come meanwhile.
    const inner = log.reader(0);
    let readBack = 0;
    const reader: PartitionReader = {
      partition: 0,
      claim: () => inner.claim(),
      ack: (c) => inner.ack(c),
      consume: (from, handler, opts) => inner.consume(from, handler, opts),
      replay: (from, through, handler, opts) => inner.replay(from, through, handler, opts),
      replaySorted: async (from, through, handler, opts) => {
        await sleep(600);
        return inner.replaySorted!(from, through, handler, opts);
      },
      replayPositions: (positions, handler, opts) => {
        readBack += positions.length;
        return inner.replayPositions!(positions, handler, opts);
      },
    };
    const alerts: Alert[] = [];
    const d = detectorOn(reader, rules, alerts, 3_600_000, { repairPage: 3 });
    await d.start();
    try {
      const base = Date.now() - 120_000;
      await pushedThrough(d, await put(log, store, [proc('x1', base + 10_000, 'h1', 'x'), proc('c2', base + 11_000, 'h2', 'c')]));
      await pushedThrough(d, await put(log, store, [proc('a1', base + 1_000, 'h1', 'a'), proc('a3', base + 2_000, 'h3', 'a')]));
      // On time while the repair waits to read, within the late events' span: the stream leaves
      // their results to a repair.
      await pushedThrough(d, await put(log, store, [proc('c1', base + 20_000, 'h1', 'c'), proc('b3', base + 21_000, 'h3', 'b')]));
      await put(log, store, [proc('a4', base + 25_000, 'h4', 'a'), proc('c4', base + 26_000, 'h4', 'c'), proc('x5', base + 27_000, 'h5', 'x')]);
      await sleep(1_500);
      await d.drain();
    } finally {
      await d.stop();
    }
    const status = d.status();
    const expected = huntIds(rules, storedEvents(log));
    await close();
    // x1, x5; a→c on h1 and h4, a→b on h3.
    expect(expected).toHaveLength(2 + 3 * 3);
    expect(status.late).toBe(2);
    // One repair run of each sequence rule, each rebuilt with the events pushed meanwhile read back.
    expect(status.repairs).toBe(2);
    expect(status.rebuilds).toBe(2);
    expect(readBack).toBeGreaterThan(0);
    expect(status.repairPeak).toBeLessThanOrEqual(3);
    expect(ids(alerts)).toEqual(expected);
    expect(new Set(ids(alerts)).size).toBe(alerts.length);
  });
});
