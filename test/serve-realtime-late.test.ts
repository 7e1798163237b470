// Real-time detection of events that come after later ones (realtime.ts): a rule that is one event
// query without pipes takes a late event at once, as if on time (same alerts as reading in time
// order, no repair run); sequences get a repair run over their window, read again from the log.
import { describe, expect, test, vi } from 'vitest';
import type { Alert } from '../src/detect/alerts.js';
import { DetectionEngine } from '../src/detect/engine.js';
import { stampEventTime } from '../src/events/order.js';
import type { EventDoc } from '../src/events/types.js';
import type { BatchHandler, Checkpoint, LogEvent, LogStart, PartitionReader, ReadOptions } from '../src/serve/event-log.js';
import { orderFree, type DetectorOptions, type DetectorRules, type DetectorStatus } from '../src/serve/realtime.js';
import { detectorOn, rulesOf } from './realtime-helpers.js';

/** A partition in memory that hands its batches over one at a time, each after the previous one was released. */
class PacedReader implements PartitionReader {
  readonly partition = 0;
  checkpoint: Checkpoint | null = null;
  delivered = 0;
  /** When each batch had been handed over (Date.now). */
  readonly deliveredAt: number[] = [];
  constructor(
    private readonly batches: LogEvent[][],
    /** Time between two batches; longer than the release tick, so a batch is pushed before the next one is read. */
    private readonly paceMs = 60,
  ) {}
  async claim(): Promise<Checkpoint | null> {
    return null;
  }
  async ack(c: Checkpoint): Promise<void> {
    this.checkpoint = c;
  }
  async consume(_start: LogStart, handler: BatchHandler, opts: ReadOptions): Promise<void> {
    for (const b of this.batches) {
      await handler(b);
      this.delivered++;
      this.deliveredAt.push(Date.now());
      await new Promise((r) => setTimeout(r, this.paceMs));
    }
    await new Promise<void>((r) => (opts.signal.aborted ? r() : opts.signal.addEventListener('abort', () => r(), { once: true })));
  }
  async replay(_start: LogStart, through: number, handler: BatchHandler): Promise<void> {
    await handler(this.batches.flat().filter((e) => e.position <= through));
  }
}

const T0 = Date.now() - 120_000;

/** One process event `ms` after T0, with its store position. */
function ev(position: number, ms: number, host: string, name: string): LogEvent {
  const source = { '@timestamp': new Date(T0 + ms).toISOString(), host: { id: host }, process: { name }, event: { category: ['process'] } };
  return { position, storedAt: T0 + 60_000 + position * 10, index: 'logs-test-default', id: `e${position}`, ingested: T0 + 60_000 + position * 10, source };
}

/**
 * Four batches in the order they are stored; the third holds the oldest events (a shipper that
 * buffered them): a@1s, b@2s on h1 complete a sequence, and two `x` events match the event query.
 */
function stored(): LogEvent[][] {
  return [
    [ev(1, 10_000, 'h1', 'x'), ev(2, 11_000, 'h2', 'c'), ev(3, 12_000, 'h1', 'a')],
    [ev(4, 20_000, 'h2', 'x'), ev(5, 21_000, 'h1', 'c')],
    [ev(6, 1_000, 'h1', 'a'), ev(7, 1_500, 'h2', 'x'), ev(8, 2_000, 'h1', 'b'), ev(9, 3_000, 'h3', 'x')],
    [ev(10, 30_000, 'h3', 'x'), ev(11, 31_000, 'h3', 'c')],
  ];
}

/**
 * `inFlight`: ingest requests being stored, as the detector is told of them: given the reader, when
 * the oldest one began that is in flight or ended after `after` (Infinity: none); and the
 * detector's reorder hold (default none).
 */
async function detect(rules: DetectorRules, batches: LogEvent[][], inFlight?: { since: (reader: PacedReader, after: number) => number; waitMs?: number; reorderMs?: number; paceMs?: number }): Promise<{ alerts: Alert[]; status: DetectorStatus }> {
  const alerts: Alert[] = [];
  const reader = new PacedReader(batches, inFlight?.paceMs);
  const d = detectorOn(reader, rules, alerts, undefined, inFlight ? { inFlightSince: (after) => inFlight.since(reader, after), inFlightWaitMs: inFlight.waitMs, ...(inFlight.reorderMs !== undefined ? { reorderMs: inFlight.reorderMs } : {}) } : {});
  await d.start();
  while (reader.delivered < batches.length) await new Promise((r) => setTimeout(r, 5));
  await d.drain();
  const status = d.status();
  await d.stop();
  return { alerts, status };
}

/** Alerted source events: rule name and event id, sorted. */
const alerted = (as: Alert[]) =>
  as
    .filter((a) => a['kibana.alert.building_block_type'] === undefined)
    .map((a) => `${String(a['kibana.alert.rule.name'])}:${String((a['kibana.alert.ancestors'] as { id: string }[])[0]!.id)}`)
    .sort();
const ids = (as: Alert[]) => as.map((a) => String(a['kibana.alert.uuid'])).sort();

describe('late events in real time', () => {
  const EVENT = 'process where process.name == "x"';
  const SEQUENCE = 'sequence by host.id with maxspan=5s [process where process.name == "a"] [process where process.name == "b"]';

  test('which rules judge each event alone', () => {
    const r = rulesOf([EVENT, SEQUENCE, 'process where process.name == "x" | head 1', 'sample by host.id [process where true] [process where true]']);
    expect(r.stream.map(orderFree)).toEqual([true, false, false, false]);
  });

  test('an event query takes late events at once: the alerts of reading in time order, no repair run', async () => {
    const rules = rulesOf([EVENT]);
    const late = await detect(rules, stored());
    // The same events read in time order (the buffered batch first).
    const b = stored();
    const inOrder = await detect(rules, [b[2]!, b[0]!, b[1]!, b[3]!]);
    // (Only the `x` events are routed to the rule: two of them are late.)
    expect(late.status.late).toBe(2);
    expect(late.status.repairs).toBe(0);
    expect(inOrder.status.late).toBe(0);
    expect(alerted(late.alerts)).toEqual(['r0:e1', 'r0:e10', 'r0:e4', 'r0:e7', 'r0:e9']);
    expect(ids(late.alerts)).toEqual(ids(inOrder.alerts));
  });

  test('a sequence completed by late events is found by a repair run of that rule only', async () => {
    const rules = rulesOf([EVENT, SEQUENCE]);
    const late = await detect(rules, stored());
    const b = stored();
    const inOrder = await detect(rules, [b[2]!, b[0]!, b[1]!, b[3]!]);
    expect(late.status.late).toBe(4);
    // One run of the sequence rule (the event query took its late events itself).
    expect(late.status.repairs).toBe(1);
    expect(ids(late.alerts)).toEqual(ids(inOrder.alerts));
    const shells = late.alerts.filter((a) => a['kibana.alert.group.id'] !== undefined && a['kibana.alert.building_block_type'] === undefined);
    expect(shells.map((a) => String(a['kibana.alert.rule.name']))).toEqual(['r1']);
  });

  test('events read while an earlier request is still being stored wait for it: none late, no repair run', async () => {
    const rules = rulesOf([EVENT, SEQUENCE]);
    // The request holding the buffered batch (the third) began before the first batch was read
    // and is stored last.
    const began = Date.now() - 1;
    // (The helper's detector has no reorder hold; the wait allowed here is long.)
    const waited = await detect(rules, stored(), { since: (reader) => (reader.delivered < 3 ? began : Infinity), waitMs: 60_000 });
    const b = stored();
    const inOrder = await detect(rules, [b[2]!, b[0]!, b[1]!, b[3]!]);
    expect(waited.status.late).toBe(0);
    expect(waited.status.repairs).toBe(0);
    expect(ids(waited.alerts)).toEqual(ids(inOrder.alerts));
    expect(alerted(waited.alerts)).toEqual(alerted(inOrder.alerts));
  });

  test('with a reorder hold, events read after an earlier request began also wait for that request\'s own hold: pushed with its events, none late', async () => {
    const rules = rulesOf([EVENT, SEQUENCE]);
    const b = stored();
    const inOrder = await detect(rules, [b[2]!, b[0]!, b[1]!, b[3]!]);
    const began = Date.now() - 1;
    // The request of the third batch began before the first was read; it ends when that batch is
    // handed over. Each batch comes 250 ms after the one before; the hold is 600 ms (times wide
    // enough that a loaded machine's late timers do not change which batch is pushed when).
    const request = { since: (reader: PacedReader, after: number) => (reader.delivered < 3 || reader.deliveredAt[2]! > after ? began : Infinity), waitMs: 60_000, reorderMs: 600, paceMs: 250 };
    const waited = await detect(rules, stored(), request);
    expect(waited.status.late).toBe(0);
    expect(waited.status.repairs).toBe(0);
    expect(ids(waited.alerts)).toEqual(ids(inOrder.alerts));
    // Told only of the request while it is stored (not until its own events were held), the first
    // two batches are due before the third; until the eleventh session they were pushed then and
    // the third's older events were late (4, and a repair run). Now due events newer than events
    // still held stay with them (the release's watermark): none late either.
    const unheld = await detect(rules, stored(), { ...request, since: (reader: PacedReader) => (reader.delivered < 3 ? began : Infinity) });
    expect(unheld.status.late).toBe(0);
    expect(unheld.status.repairs).toBe(0);
    expect(ids(unheld.alerts)).toEqual(ids(inOrder.alerts));
  });

  test('the wait for a request in flight is bounded (by default by the reorder hold): with none, the late events are repaired as before', async () => {
    const rules = rulesOf([EVENT, SEQUENCE]);
    const began = Date.now() - 1;
    const late = await detect(rules, stored(), { since: (reader) => (reader.delivered < 3 ? began : Infinity) });
    expect(late.status.late).toBe(4);
    expect(late.status.repairs).toBe(1);
    const b = stored();
    expect(ids(late.alerts)).toEqual(ids((await detect(rules, [b[2]!, b[0]!, b[1]!, b[3]!])).alerts));
  });
});

/** One process event at `at` (epoch ms) on `host`, stored at position `position` a little after now. */
function evAt(position: number, at: number, host: string, name: string): LogEvent {
  const source = { '@timestamp': new Date(at).toISOString(), host: { id: host }, process: { name }, event: { category: ['process'] } };
  const stored = Date.now() - 10_000 + position * 10;
  return { position, storedAt: stored, index: 'logs-test-default', id: `o${position}`, ingested: stored, source };
}

/** Alert ids of `hunt` over these events: the rules' scheduled windows replayed over them in time order. */
function huntIds(rules: DetectorRules, events: LogEvent[]): string[] {
  const alerts: Alert[] = [];
  const engine = new DetectionEngine({ rules: rules.prepared, mode: 'schedule', now: Date.now(), sink: (g) => void alerts.push(...g) });
  const docs = events.map((e) => ({ source: e.source, index: e.index, id: e.id }) as EventDoc).filter((d) => stampEventTime(d, '@timestamp'));
  docs.sort((a, b) => a.time!.ms - b.time!.ms);
  for (const d of docs) engine.push(d, d.time!.ms, rules.router.route(d));
  engine.finish();
  return ids(alerts);
}

describe('out-of-order commits: real time alerts what hunt alerts over the stored events', () => {
  const SEQUENCE = 'sequence by host.id with maxspan=5s [process where process.name == "a"] [process where process.name == "b"]';
  const UNBOUNDED = 'sequence by host.id [process where process.name == "a"] [process where process.name == "c"]';
  const EVENT = 'process where process.name == "x"';

  test('events older than the look-back: a sequence whose first event is stored after its second is repaired around its own time', async () => {
    const rules = rulesOf([EVENT, SEQUENCE, UNBOUNDED]);
    // Two hours old (a shipper's backlog): far outside every rule's current window (now-9m).
    const base = Date.now() - 2 * 3_600_000;
    const batches = [
      [evAt(1, base + 10_000, 'h1', 'x'), evAt(2, base + 12_000, 'h1', 'b'), evAt(3, base + 13_000, 'h2', 'c')],
      [evAt(4, base + 20_000, 'h2', 'x')],
      // Stored last, older than all of the above: completes h1's a→b (2 s) and h2's a→c.
      [evAt(5, base + 9_000, 'h1', 'a'), evAt(6, base + 1_000, 'h2', 'a'), evAt(7, base + 5_000, 'h3', 'x')],
    ];
    const late = await detect(rules, batches);
    const expected = huntIds(rules, batches.flat());
    // x@10s, x@20s, x@5s; a→b on h1 (2 building blocks + shell), a→c on h2 (3).
    expect(expected).toHaveLength(3 + 3 + 3);
    expect(late.status.late).toBe(3);
    expect(ids(late.alerts)).toEqual(expected);
    // Each alert once.
    expect(new Set(ids(late.alerts)).size).toBe(late.alerts.length);
  });

  test('a sequence whose first event commits after its second, within the look-back: the same ids as hunt', async () => {
    const rules = rulesOf([SEQUENCE]);
    const base = Date.now() - 60_000;
    const batches = [[evAt(1, base + 3_000, 'h1', 'b'), evAt(2, base + 4_000, 'h1', 'b')], [evAt(3, base + 10_000, 'h2', 'x')], [evAt(4, base + 2_500, 'h1', 'a')]];
    const late = await detect(rules, batches);
    const expected = huntIds(rules, batches.flat());
    expect(expected).toHaveLength(3);
    expect(late.status.late).toBe(1);
    expect(late.status.repairs).toBe(1);
    expect(ids(late.alerts)).toEqual(expected);
  });

  test('a late event just before the edge of the current window and of a scheduled run', async () => {
    const rules = rulesOf([SEQUENCE, UNBOUNDED]);
    // The runs are every 5 minutes on the epoch grid, each over the 9 minutes before it: `a` falls
    // 1 s before a run's window starts and 1 s before the current window's (now − 9m) start.
    const now = Date.now();
    const edge = Math.floor((now - 9 * 60_000) / 300_000) * 300_000;
    for (const a of [edge - 1_000, now - 9 * 60_000 - 1_000]) {
      const batches = [[evAt(1, a + 2_000, 'h1', 'b'), evAt(2, a + 3_000, 'h1', 'c')], [evAt(3, a + 4_000, 'h9', 'x')], [evAt(4, a, 'h1', 'a')]];
      const late = await detect(rules, batches);
      const expected = huntIds(rules, batches.flat());
      expect(expected).toHaveLength(6);
      expect(late.status.late).toBe(1);
      expect(ids(late.alerts)).toEqual(expected);
    }
  });
});

describe('after a repair, the stream has the late events: on-time events go to the stream, not to more repairs', () => {
  const UNBOUNDED = 'sequence by host.id [process where process.name == "a"] [process where process.name == "c"]';
  const SEQUENCE = 'sequence by host.id with maxspan=30s [process where process.name == "a"] [process where process.name == "b"]';
  const EVENT = 'process where process.name == "x"';

  test('a late `a` completed by later on-time events: one repair, the stream alerts the rest, the alerts of hunt', async () => {
    const rules = rulesOf([EVENT, UNBOUNDED, SEQUENCE]);
    const base = Date.now() - 120_000;
    const batches = [
      [evAt(1, base + 10_000, 'h1', 'x'), evAt(2, base + 11_000, 'h2', 'c')],
      // Late: older than what was pushed; within every rule's span of the events to come.
      [evAt(3, base + 1_000, 'h1', 'a'), evAt(4, base + 2_000, 'h3', 'a')],
      // On time, each read after the repair ended: they complete h1's a→c (no maxspan) and
      // h3's a→b (maxspan 30 s) with the late `a`s, and h4's a→c with an on-time `a`.
      [evAt(5, base + 20_000, 'h1', 'c'), evAt(6, base + 21_000, 'h4', 'a')],
      [evAt(7, base + 25_000, 'h3', 'b'), evAt(8, base + 26_000, 'h4', 'c'), evAt(9, base + 27_000, 'h5', 'x')],
    ];
    const r = await detect(rules, batches, { since: () => Infinity, paceMs: 400 });
    const expected = huntIds(rules, batches.flat());
    // x@10s, x@27s; a→c on h1 and h4, a→b on h3 (3 alerts each).
    expect(expected).toHaveLength(2 + 3 * 3);
    expect(r.status.late).toBe(2);
    // One repair run per ordered rule the late events concern (both sequences), then their
    // stream states rebuilt: the on-time events after it need no repair (until now each one
    // within the late events' span sent its rule to another repair run).
    expect(r.status.repairs).toBe(2);
    expect(r.status.rebuilds).toBe(2);
    expect(ids(r.alerts)).toEqual(expected);
    expect(new Set(ids(r.alerts)).size).toBe(r.alerts.length);
  });
});

/** A PacedReader whose replays (repair reads) take `replayMs`: batches come while a repair runs. */
class SlowReplayReader extends PacedReader {
  constructor(
    batches: LogEvent[][],
    paceMs: number,
    private readonly replayMs: number,
  ) {
    super(batches, paceMs);
  }
  override async replay(start: LogStart, through: number, handler: BatchHandler): Promise<void> {
    await new Promise((r) => setTimeout(r, this.replayMs));
    await super.replay(start, through, handler);
  }
}

describe('events pushed on time while a repair runs', () => {
  const UNBOUNDED = 'sequence by host.id [process where process.name == "a"] [process where process.name == "c"]';
  const SEQUENCE = 'sequence by host.id with maxspan=30s [process where process.name == "a"] [process where process.name == "b"]';
  const EVENT = 'process where process.name == "x"';

  test('complete sequences with the late events: the stream rebuilt after the repair alerts them, no second repair', async () => {
    const rules = rulesOf([EVENT, UNBOUNDED, SEQUENCE]);
    const base = Date.now() - 120_000;
    const batches = [
      [evAt(1, base + 10_000, 'h1', 'x'), evAt(2, base + 11_000, 'h2', 'c')],
      [evAt(3, base + 1_000, 'h1', 'a'), evAt(4, base + 2_000, 'h3', 'a')],
      // Read while the repair of the late `a`s reads the log (600 ms): on time, but within the
      // late events' span, so the stream leaves their results to a repair.
      [evAt(5, base + 20_000, 'h1', 'c'), evAt(6, base + 21_000, 'h3', 'b')],
      [evAt(7, base + 25_000, 'h4', 'a'), evAt(8, base + 26_000, 'h4', 'c'), evAt(9, base + 27_000, 'h5', 'x')],
    ];
    const alerts: Alert[] = [];
    const reader = new SlowReplayReader(batches, 150, 600);
    const d = detectorOn(reader, rules, alerts);
    await d.start();
    while (reader.delivered < batches.length) await new Promise((r) => setTimeout(r, 5));
    await d.drain();
    const status = d.status();
    await d.stop();
    const expected = huntIds(rules, batches.flat());
    // x@10s, x@27s; a→c on h1 and h4, a→b on h3.
    expect(expected).toHaveLength(2 + 3 * 3);
    expect(status.late).toBe(2);
    // One repair run of each sequence rule; until now the events read meanwhile made a second.
    expect(status.repairs).toBe(2);
    expect(status.rebuilds).toBe(2);
    expect(ids(alerts)).toEqual(expected);
    expect(new Set(ids(alerts)).size).toBe(alerts.length);
  });
});

describe('the reorder hold', () => {
  const SEQUENCE = 'sequence by host.id with maxspan=5s [process where process.name == "a"] [process where process.name == "b"]';
  const EVENT = 'process where process.name == "x"';

  test('events due are not pushed before older events still held: none late, the alerts of hunt', async () => {
    const rules = rulesOf([EVENT, SEQUENCE]);
    const base = Date.now() - 60_000;
    // The second batch, read 400 ms after the first, holds older events. With a hold of 1 s,
    // the first is due 400 ms before the second (the release looks every 250 ms: at least once
    // in between); pushed then, alone, the second's events were late.
    const batches = [
      [evAt(1, base + 10_000, 'h1', 'b'), evAt(2, base + 11_000, 'h2', 'x')],
      [evAt(3, base + 8_000, 'h1', 'a'), evAt(4, base + 9_000, 'h3', 'x')],
    ];
    const alerts: Alert[] = [];
    const reader = new PacedReader(batches, 400);
    const d = detectorOn(reader, rules, alerts, undefined, { inFlightSince: () => Infinity, inFlightWaitMs: 5_000, reorderMs: 1_000 });
    await d.start();
    while (reader.delivered < batches.length) await new Promise((res) => setTimeout(res, 5));
    // Both released by the hold itself (1 s after the second was read), not by the drain.
    await new Promise((res) => setTimeout(res, 1_600));
    expect(d.status().held).toBe(0);
    await d.drain();
    const r = { alerts, status: d.status() };
    await d.stop();
    const expected = huntIds(rules, batches.flat());
    // x@11s, x@9s; a→b on h1.
    expect(expected).toHaveLength(2 + 3);
    expect(r.status.late).toBe(0);
    expect(r.status.repairs).toBe(0);
    expect(ids(r.alerts)).toEqual(expected);
  });
});

describe('when the hold ends (fake timers: the release looks at the hold on a timer)', () => {
  const EVENT = 'process where process.name == "x"';

  /** The detector's held events and alerts at each of `at` (ms after it started), timers faked. */
  async function heldAt(batches: LogEvent[][], paceMs: number, opts: Partial<DetectorOptions>, at: number[]): Promise<{ held: number; alerts: number }[]> {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    try {
      const alerts: Alert[] = [];
      const reader = new PacedReader(batches, paceMs);
      const d = detectorOn(reader, rulesOf([EVENT]), alerts, undefined, { inFlightSince: () => Infinity, ...opts });
      await d.start();
      const seen: { held: number; alerts: number }[] = [];
      let now = 0;
      for (const t of at) {
        await vi.advanceTimersByTimeAsync(t - now);
        now = t;
        seen.push({ held: d.status().held, alerts: alerts.length });
      }
      const stopped = d.stop();
      await vi.advanceTimersByTimeAsync(1000);
      await stopped;
      return seen;
    } finally {
      vi.useRealTimers();
    }
  }

  test('an event is pushed at most a fifth of the hold (at most 50 ms) after it is due', async () => {
    // Read 130 ms after the start, due 1,130 ms after it. The release used to look every half
    // hold (250 ms here: at 1,000 and 1,250 ms); now every 50 ms.
    const batches = [[], [evAt(1, Date.now() - 60_000, 'h1', 'x')]];
    expect(await heldAt(batches, 130, { reorderMs: 1000 }, [1100, 1200])).toEqual([
      { held: 1, alerts: 0 },
      { held: 0, alerts: 1 },
    ]);
  });

  test('on a single node the hold counts from when the event was stored, not from when it was read', async () => {
    // Stored 1.8 s before it was read, with a hold of 2 s: due 200 ms after it was read.
    const stored = (): LogEvent[][] => [[{ ...evAt(1, Date.now() - 60_000, 'h1', 'x'), storedAt: Date.now() - 1_800 }]];
    expect(await heldAt(stored(), 60, { reorderMs: 2000, holdFromStored: true }, [150, 300])).toEqual([
      { held: 1, alerts: 0 },
      { held: 0, alerts: 1 },
    ]);
    // A log on other clocks (the cluster's): from when it was read.
    expect(await heldAt(stored(), 60, { reorderMs: 2000 }, [300, 1900, 2100])).toEqual([
      { held: 1, alerts: 0 },
      { held: 1, alerts: 0 },
      { held: 0, alerts: 1 },
    ]);
  });
});

describe('the hold for requests in flight', () => {
  const SEQUENCE = 'sequence by host.id with maxspan=5s [process where process.name == "a"] [process where process.name == "b"]';

  test('an event is held for a request begun before its own, not for one begun after it', async () => {
    const rules = rulesOf([SEQUENCE]);
    const base = Date.now() - 60_000;
    const requestBegan = Date.now() - 1_000;
    const batch = [evAt(1, base + 1_000, 'h1', 'a'), evAt(2, base + 2_000, 'h1', 'b')].map((e) => ({ ...e, began: requestBegan }));
    const run = async (inFlightBegan: number): Promise<{ held: number; alerts: number }> => {
      const alerts: Alert[] = [];
      const reader = new PacedReader([batch]);
      // A request still being stored all along (it never ends here); the wait allowed is long.
      const d = detectorOn(reader, rules, alerts, undefined, { inFlightSince: () => inFlightBegan, inFlightWaitMs: 60_000, reorderMs: 50 });
      await d.start();
      while (reader.delivered < 1) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 400));
      const seen = { held: d.status().held, alerts: alerts.length };
      await d.stop();
      return seen;
    };
    // Begun after the events' request (it holds newer events): not waited for.
    expect(await run(requestBegan + 500)).toEqual({ held: 0, alerts: 3 });
    // Begun before it (it may hold older events): waited for.
    expect(await run(requestBegan - 500)).toEqual({ held: 2, alerts: 0 });
  });
});

describe('requests sent together, the last stored long after they began', () => {
  const SEQUENCE = 'sequence by host.id with maxspan=5s [process where process.name == "a"] [process where process.name == "b"]';
  const EVENT = 'process where process.name == "x"';

  /**
   * Two requests a shipper sent at once, begun 10 s ago, 1 ms apart: the second (newer events)
   * is stored first, the first (older events, among them the `a` of an a→b) 300 ms later. The
   * detector may wait 2 s for a request in flight, far less than the 10 s since they began.
   * `inFlight(reader, startedFrom)`: when the oldest request began that is in flight and began at
   * or after `startedFrom`.
   */
  async function run(rules: DetectorRules): Promise<{ alerts: Alert[]; status: DetectorStatus; expected: string[] }> {
    const began = Date.now() - 10_000;
    const base = Date.now() - 60_000;
    const older = [evAt(1, base + 1_000, 'h1', 'a'), evAt(2, base + 1_500, 'h2', 'x'), evAt(3, base + 2_000, 'h3', 'a')];
    const newer = [evAt(4, base + 3_000, 'h1', 'b'), evAt(5, base + 3_500, 'h3', 'b'), evAt(6, base + 4_000, 'h2', 'x')];
    // Stored in the other order: the newer request's events first (positions as stored).
    const batches = [newer.map((e, k) => ({ ...e, position: k + 1, began: began + 1 })), older.map((e, k) => ({ ...e, position: k + 4, began }))];
    const alerts: Alert[] = [];
    const reader = new PacedReader(batches, 300);
    const inFlight = (startedFrom: number) => (reader.delivered < 2 && began >= startedFrom ? began : Infinity);
    const d = detectorOn(reader, rules, alerts, undefined, { inFlightSince: (_after, startedFrom) => inFlight(startedFrom), inFlightWaitMs: 2_000, reorderMs: 0 });
    await d.start();
    while (reader.delivered < batches.length) await new Promise((r) => setTimeout(r, 5));
    await d.drain();
    const status = d.status();
    await d.stop();
    return { alerts, status, expected: huntIds(rules, batches.flat()) };
  }

  test('the first request is waited for: its older events are pushed with the newer ones, none late, no repair run, the alerts of hunt', async () => {
    const rules = rulesOf([EVENT, SEQUENCE]);
    const r = await run(rules);
    // x@1.5s, x@4s; a→b on h1 and on h3 (2 building blocks + shell each).
    expect(r.expected).toHaveLength(2 + 3 + 3);
    expect(r.status.late).toBe(0);
    expect(r.status.repairs).toBe(0);
    expect(ids(r.alerts)).toEqual(r.expected);
  });

  test('a request begun longer than the wait before an event\'s own is not waited for (a slow client holds up no one)', async () => {
    const rules = rulesOf([SEQUENCE]);
    const requestBegan = Date.now();
    const batch = [evAt(1, Date.now() - 60_000, 'h1', 'a'), evAt(2, Date.now() - 59_000, 'h1', 'b')].map((e) => ({ ...e, began: requestBegan }));
    const alerts: Alert[] = [];
    const reader = new PacedReader([batch]);
    // Still being stored all along: begun 3 s before the events' request, the wait is 2 s.
    const slow = requestBegan - 3_000;
    const d = detectorOn(reader, rules, alerts, undefined, { inFlightSince: (_after, startedFrom) => (slow >= startedFrom ? slow : Infinity), inFlightWaitMs: 2_000, reorderMs: 0 });
    await d.start();
    while (reader.delivered < 1) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 400));
    const seen = { held: d.status().held, alerts: alerts.length };
    await d.stop();
    expect(seen).toEqual({ held: 0, alerts: 3 });
  });
});
