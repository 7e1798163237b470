// Cluster mode without a server: how rules are partitioned, where events are published, which
// results a partition keeps; the cluster settings; and the replay rule of a takeover (state
// rebuilt from checkpoint − 2 × maxspan gives the alerts of an uninterrupted run).
import { describe, expect, test } from 'vitest';
import { fnv1a32, partitionOfKey, Partitioner, ruleFamily } from '../src/cluster/partition.js';
import { prepareRule, type PreparedRule } from '../src/detect/router.js';
import type { Alert } from '../src/detect/alerts.js';
import { ConfigError, defaultConfig, loadConfigFile } from '../src/serve/config.js';
import type { BatchHandler, Checkpoint, LogEvent, LogStart, PartitionReader, ReadOptions } from '../src/serve/event-log.js';
import { lateSpanMs, stateSpanMs, type DetectorRules } from '../src/serve/realtime.js';
import { makeRule, tempDir } from './detect-helpers.js';
import { detectorOn, rulesOf } from './realtime-helpers.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { mulberry32 as rng } from './prng.js';

describe('partition hash', () => {
  test('FNV-1a 32 over UTF-8 bytes (the function of nats-server partition())', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // Multi-byte characters hash their UTF-8 bytes (é = C3 A9).
    expect(fnv1a32('é')).toBe(Math.imul((Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) >>> 0) ^ 0xa9, 0x01000193) >>> 0);
    expect(partitionOfKey(null, 8)).toBe(0x811c9dc5 % 8);
  });
});

describe('rule families', () => {
  test('sequence keys, per-term keys, unsplittable rules and event queries', () => {
    expect(ruleFamily('sequence by host.id with maxspan=5s [process where true] [network where true]', 'host.id')).toEqual({ kind: 'key', field: 'host.id', keyIndex: 0 });
    expect(ruleFamily('sequence by user.name, host.id [process where true] [network where true]', 'host.id')).toEqual({ kind: 'key', field: 'host.id', keyIndex: 1 });
    expect(ruleFamily('sequence by user.name [process where true] [network where true]', 'host.id')).toEqual({ kind: 'key', field: 'user.name', keyIndex: 0 });
    expect(ruleFamily('sequence [process where true] by process.entity_id [network where true] by process.entity_id', 'host.id')).toEqual({ kind: 'key', field: 'process.entity_id', keyIndex: 0 });
    expect(ruleFamily('sequence [process where true] by process.entity_id [network where true] by process.parent.entity_id', 'host.id')).toEqual({ kind: 'global' });
    expect(ruleFamily('sequence [process where true] [network where true]', 'host.id')).toEqual({ kind: 'global' });
    expect(ruleFamily('process where process.name == "cmd.exe"', 'host.id')).toEqual({ kind: 'event' });
  });
});

function prepared(queries: string[]): PreparedRule[] {
  return queries.map((q, i) => {
    const p = prepareRule(makeRule({ name: `r${i}`, query: q, index: ['logs-*'] }), { timestampField: '@timestamp', exceptionLists: [], now: Date.now(), replay: true, maxSignals: Infinity });
    if ('skip' in p) throw new Error(p.skip);
    return p;
  });
}

describe('Partitioner', () => {
  const rules = prepared([
    'sequence by host.id with maxspan=5s [process where process.name == "a"] [process where process.name == "b"]',
    'sequence by process.entity_id [process where process.name == "a"] [network where true]',
    'process where process.name == "a"',
  ]);
  const P = 16;
  const part = new Partitioner(rules, P, 'host.id');
  const ev = (source: Record<string, unknown>) => ({ source, index: 'logs-x', id: 'e1' });

  test('an event goes to the partition of each family key its rules use, once per partition', () => {
    const e = ev({ host: { id: 'host0' }, process: { name: 'a', entity_id: 'p-1' } });
    expect(part.partitionsOf(e, [0])).toEqual([partitionOfKey('host0', P)]);
    expect(part.partitionsOf(e, [1])).toEqual([partitionOfKey('p-1', P)]);
    // The event rule runs on the primary copy (host.id): no extra partition.
    expect(part.partitionsOf(e, [0, 2])).toEqual([partitionOfKey('host0', P)]);
    expect(part.partitionsOf(e, [0, 1, 2])).toEqual([...new Set([partitionOfKey('host0', P), partitionOfKey('p-1', P)])].sort((a, b) => a - b));
    expect(part.partitionsOf(e, [])).toEqual([]);
    // A multi-valued key reaches the partition of each value.
    const multi = ev({ host: { id: ['host0', 'host1'] }, process: { name: 'a' } });
    expect(part.partitionsOf(multi, [0])).toEqual([partitionOfKey('host0', P), partitionOfKey('host1', P)].sort((a, b) => a - b));
    expect(part.summary).toEqual({ event: 1, global: 0, families: { 'host.id': 1, 'process.entity_id': 1 } });
  });

  test('a partition runs a rule only on the events whose key maps to it', () => {
    const e = ev({ host: { id: 'host0' }, process: { name: 'a', entity_id: 'p-1' } });
    const ph = partitionOfKey('host0', P);
    const pe = partitionOfKey('p-1', P);
    expect(ph).not.toBe(pe);
    expect([...part.scope(ph).rulesFor(e, [0, 1, 2])]).toEqual([0, 2]);
    expect([...part.scope(pe).rulesFor(e, [0, 1, 2])]).toEqual([1]);
    const other = [...Array(P).keys()].find((p) => p !== ph && p !== pe)!;
    expect([...part.scope(other).rulesFor(e, [0, 1, 2])]).toEqual([]);
  });
});

describe('cluster settings', () => {
  test('the [cluster] table, with clear one-line errors', () => {
    const dir = tempDir('eqlite-cluster-cfg-');
    const f = path.join(dir, 'c.toml');
    writeFileSync(f, '[cluster]\nservers = ["nats://10.0.0.1:4222", "10.0.0.2:4222"]\nname = "prod"\nroles = ["detect"]\nreplicas = 3\npartitions = 64\nlease_ttl = "20s"\nreorder = "2s"\n');
    const c = loadConfigFile(f, defaultConfig()).cluster!;
    expect(c.servers).toEqual(['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222']);
    expect(c.name).toBe('prod');
    expect(c.roles).toEqual({ ingest: false, detect: true });
    expect(c.replicas).toBe(3);
    expect(c.partitions).toBe(64);
    expect(c.leaseTtlMs).toBe(20_000);
    expect(c.reorderMs).toBe(2000);
    expect(c.partitionKey).toBe('host.id');
    writeFileSync(f, '[cluster]\nreplicas = 7\n');
    expect(() => loadConfigFile(f, defaultConfig())).toThrow(new ConfigError(`${f}: cluster.replicas: JetStream keeps 1 to 5 replicas`));
    writeFileSync(f, '[cluster]\nroles = ["ingest", "search"]\n');
    expect(() => loadConfigFile(f, defaultConfig())).toThrow(/unknown role "search"/);
    writeFileSync(f, '[cluster]\nservers = ["http://x"]\n');
    expect(() => loadConfigFile(f, defaultConfig())).toThrow(/invalid NATS server URL "http:\/\/x"/);
  });
});

// ---- takeover: silent replay from checkpoint − 2 × maxspan ------------------------------------------

/** A partition in memory: positions 1…n, store time = position × 100 ms. */
class MemoryReader implements PartitionReader {
  readonly partition = 0;
  checkpoint: Checkpoint | null = null;
  owner = 0;
  constructor(readonly events: LogEvent[], private readonly upTo = Infinity) {}
  async claim(): Promise<Checkpoint | null> {
    this.owner++;
    return this.checkpoint;
  }
  async ack(c: Checkpoint): Promise<void> {
    this.checkpoint = c;
  }
  private from(start: LogStart): number {
    const i = 'position' in start ? this.events.findIndex((e) => e.position >= start.position) : this.events.findIndex((e) => e.storedAt >= start.time);
    return i < 0 ? this.events.length : i;
  }
  async consume(start: LogStart, handler: BatchHandler, opts: ReadOptions): Promise<void> {
    const list = this.events.filter((e) => e.position <= this.upTo);
    for (let i = this.from(start); i < list.length; i += 7) await handler(list.slice(i, i + 7));
    await new Promise<void>((r) => (opts.signal.aborted ? r() : opts.signal.addEventListener('abort', () => r(), { once: true })));
  }
  async replay(start: LogStart, through: number, handler: BatchHandler): Promise<void> {
    await handler(this.events.slice(this.from(start)).filter((e) => e.position <= through));
  }
}

/** n events on `hosts` hosts, in time order, 0–1.5 s apart, stored 100 ms apart. */
function stream(seed: number, n: number, hosts: number): LogEvent[] {
  const r = rng(seed);
  const t0 = Date.now() - 60_000 - n * 1500;
  let t = t0;
  const out: LogEvent[] = [];
  for (let i = 1; i <= n; i++) {
    t += Math.floor(r() * 1500);
    const name = ['a', 'b', 'c', 'x'][Math.floor(r() * 4)]!;
    const source = { '@timestamp': new Date(t).toISOString(), host: { id: `h${Math.floor(r() * hosts)}` }, process: { name }, event: { category: ['process'] } };
    out.push({ position: i, storedAt: t0 + i * 100, index: 'logs-test-default', id: `e${i}`, ingested: t0 + i * 100, source });
  }
  return out;
}

async function run(reader: MemoryReader, rules: DetectorRules, consumeAll: () => boolean, maxReplayMs = 3_600_000): Promise<Alert[]> {
  const alerts: Alert[] = [];
  const d = detectorOn(reader, rules, alerts, maxReplayMs);
  await d.start();
  while (!consumeAll()) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 30));
  await d.drain();
  await d.stop();
  return alerts;
}

describe('takeover: the new owner rebuilds state silently from checkpoint − 2 × maxspan', () => {
  const rules = rulesOf([
    'sequence by host.id with maxspan=5s [process where process.name == "a"] [process where process.name == "b"]',
    'sequence by host.id with maxspan=8s [process where process.name == "a"] [process where process.name == "b"] [process where process.name == "c"]',
  ]);
  const ids = (as: Alert[]) => as.map((a) => String(a['kibana.alert.uuid'])).sort();

  /** One run cut at a seeded position: [whole run, before the cut, after the takeover]. */
  async function takeover(seed: number, maxReplayMs?: number): Promise<[string[], string[], string[]]> {
    const events = stream(seed, 600, 4);
    const full = new MemoryReader(events);
    const whole = ids(await run(full, rules, () => full.checkpoint?.position === events.length));
    const cut = 150 + Math.floor(rng(seed * 7)() * 300);
    // First owner: reads up to the cut, acknowledges, dies.
    const first = new MemoryReader(events, cut);
    const before = await run(first, rules, () => first.checkpoint?.position === cut);
    // Second owner: claims the checkpoint, replays silently, continues.
    const second = new MemoryReader(events);
    second.checkpoint = first.checkpoint;
    const after = await run(second, rules, () => second.checkpoint?.position === events.length, maxReplayMs);
    return [whole, ids(before), ids(after)];
  }

  test.each([1, 2, 3, 4, 5, 6])('seed %i: alerts before the cut ∪ alerts after it = alerts of one uninterrupted run, none twice', async (seed) => {
    const [whole, before, after] = await takeover(seed);
    expect(whole.length).toBeGreaterThan(10);
    const beforeIds = new Set(before);
    // The new owner re-emits nothing the old one alerted, and together they alerted everything.
    expect(after.filter((id) => beforeIds.has(id))).toEqual([]);
    expect([...before, ...after].sort()).toEqual(whole);
  });

  test('control: without the silent replay, sequences open at the cut are lost', async () => {
    let lost = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const [whole, before, after] = await takeover(seed, 0);
      lost += whole.length - new Set([...before, ...after]).size;
    }
    expect(lost).toBeGreaterThan(0);
  });

});

// ---- late events and store-time gaps ----------------------------------------------------------------

/** A partition fed by the test, batch by batch (positions as given). */
class StepReader implements PartitionReader {
  readonly partition = 0;
  checkpoint: Checkpoint | null = null;
  readonly events: LogEvent[];
  constructor(stored: LogEvent[] = []) {
    this.events = [...stored];
  }
  private feed: ((b: LogEvent[]) => Promise<void>) | null = null;
  async claim(): Promise<Checkpoint | null> {
    return this.checkpoint;
  }
  async ack(c: Checkpoint): Promise<void> {
    this.checkpoint = c;
  }
  /** Hand the stored events over one at a time, each after the detector pushed the previous one. */
  paced = false;
  async consume(start: LogStart, handler: BatchHandler, opts: ReadOptions): Promise<void> {
    const first = this.events.filter((e) => ('position' in start ? e.position >= start.position : e.storedAt >= start.time));
    if (this.paced) {
      for (const e of first) {
        await handler([e]);
        await new Promise((r) => setTimeout(r, 60));
      }
    } else if (first.length > 0) await handler(first);
    this.feed = async (b) => handler(b);
    await new Promise<void>((r) => (opts.signal.aborted ? r() : opts.signal.addEventListener('abort', () => r(), { once: true })));
  }
  async replay(start: LogStart, through: number, handler: BatchHandler): Promise<void> {
    await handler(this.events.filter((e) => ('position' in start ? e.position >= start.position : e.storedAt >= start.time) && e.position <= through));
  }
  /** Stores a batch and hands it to the running consumer. */
  async add(b: LogEvent[]): Promise<void> {
    this.events.push(...b);
    await this.feed?.(b);
  }
}


async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

/** A detector reads everything stored in `reader` and stops: its alerts and late-event count. */
async function readThrough(reader: StepReader, rules: DetectorRules): Promise<{ alerts: Alert[]; late: number }> {
  const alerts: Alert[] = [];
  const d = detectorOn(reader, rules, alerts);
  await d.start();
  const last = reader.events[reader.events.length - 1]!.position;
  await until(() => reader.checkpoint?.position === last);
  await d.drain();
  await d.stop();
  return { alerts, late: d.status().late };
}

/**
 * A first owner reads the events through position `cut`, acknowledges and dies; a second claims
 * its checkpoint and reads them all (`paced`: stored events handed over one at a time).
 */
async function handOver(rules: DetectorRules, events: LogEvent[], cut: number, paced = false): Promise<{ before: Alert[]; after: Alert[]; late: number }> {
  const first = new StepReader(events.filter((e) => e.position <= cut));
  const before: Alert[] = [];
  const d1 = detectorOn(first, rules, before);
  await d1.start();
  await until(() => first.checkpoint?.position === cut);
  await d1.stop();
  const second = new StepReader(events);
  second.paced = paced;
  second.checkpoint = first.checkpoint;
  const { alerts: after, late } = await readThrough(second, rules);
  return { before, after, late };
}

describe('spans', () => {
  const rule = (query: string) => makeRule({ name: 'r', query, index: ['logs-*'], from: 'now-9m', interval: '5m' });
  const seq = rule('sequence by host.id with maxspan=5s [process where true] [network where true]');
  const open = rule('sequence by host.id [process where true] [network where true]');
  const sample = rule('sample by host.id [process where true] [network where true]');
  const event = rule('process where true');
  test('a late event reaches as far as its maxspan, else the look-back; the state span is twice the longest of the stateful rules, capped', () => {
    expect([seq, open, sample].map(lateSpanMs)).toEqual([5_000, 540_000, 540_000]);
    expect(stateSpanMs([event, seq], 3_600_000)).toBe(10_000);
    expect(stateSpanMs([event], 3_600_000)).toBe(0);
    expect(stateSpanMs([seq, sample], 3_600_000)).toBe(1_080_000);
    expect(stateSpanMs([seq, open], 60_000)).toBe(60_000);
  });
});

describe('late events and store-time gaps', () => {
  const SEQ = 'sequence by host.id with maxspan=5s [process where process.name == "a"] [process where process.name == "b"]';
  const t0 = Date.now() - 120_000;
  const ev = (position: number, host: string, name: string, dt: number, storedAt = t0 + position * 100): LogEvent => ({
    position,
    storedAt,
    index: 'logs-test-default',
    id: `e${position}`,
    ingested: storedAt,
    source: { '@timestamp': new Date(t0 + dt).toISOString(), host: { id: host }, process: { name }, event: { category: ['process'] } },
  });

  test('a late first event and an on-time second one, read after the late one was repaired, still make the sequence', async () => {
    const rules = rulesOf([SEQ]);
    const reader = new StepReader();
    const alerts: Alert[] = [];
    const d = detectorOn(reader, rules, alerts);
    await d.start();
    // Host h1 is ahead: its events at +0 s and +10 s are pushed (a "b" without an "a": no sequence).
    await reader.add([ev(1, 'h1', 'b', 0), ev(2, 'h1', 'b', 10_000)]);
    await until(() => d.status().held === 0);
    // Host h2's "a" at +7 s is late (older than +10 s): it is repaired alone (no "b" read yet).
    await reader.add([ev(3, 'h2', 'a', 7_000)]);
    await until(() => d.status().repairs === 1 && d.backlog === 0);
    // Its "b" at +11 s is on time, and 4 s after the "a": one sequence.
    await reader.add([ev(4, 'h2', 'b', 11_000)]);
    await until(() => d.status().held === 0);
    await d.drain();
    await d.stop();
    expect(alerts.filter((a) => a['kibana.alert.building_block_type'] === undefined).map((a) => (a['host'] as { id: string } | undefined)?.id ?? a['host.id'])).toEqual(['h2']);
  });

  test('a takeover rebuilds a sequence whose first event was stored long before the checkpoint', async () => {
    const rules = rulesOf([SEQ]);
    // h1's "a" stored at 0 s; other hosts' events, 1 s later in event time, stored 100 s later
    // (a shipper's backlog); then h1's "b", 2 s after its "a".
    const events = [ev(1, 'h1', 'a', 0, t0), ...[2, 3, 4, 5].map((p) => ev(p, `o${p}`, 'b', 1000, t0 + 100_000 + p)), ev(6, 'h1', 'b', 2000, t0 + 100_010)];
    const whole = (await readThrough(new StepReader(events), rules)).alerts;
    expect(whole.length).toBe(3);
    // First owner: reads through position 5, acknowledges it, dies; the second continues.
    const { before, after } = await handOver(rules, events, 5);
    expect(before).toEqual([]);
    expect(after.map((a) => a['kibana.alert.uuid']).sort()).toEqual(whole.map((a) => a['kibana.alert.uuid']).sort());
  });

  test.each([
    [11, [167, 0]],
    [12, [171, 0]],
    [13, [139, 4]],
  ])('seed %i: hosts that lag each other by seconds (many late events) lose none of the alerts of reading in time order', async (seed, expected) => {
    const rules = rulesOf([SEQ, 'sequence by host.id with maxspan=8s [process where process.name == "a"] [process where process.name == "b"] [process where process.name == "c"]']);
    const r = rng(seed);
    // Per host, events in time order; each host's shipper lags by 0–4 s, plus jitter.
    const lag = [0, 1, 2, 3].map(() => Math.floor(r() * 4000));
    const made: { e: LogEvent; arrives: number }[] = [];
    const clock = [0, 0, 0, 0];
    for (let i = 0; i < 240; i++) {
      const h = Math.floor(r() * 4);
      clock[h]! += Math.floor(r() * 1500);
      const e = ev(0, `h${h}`, ['a', 'b', 'c', 'x'][Math.floor(r() * 4)]!, clock[h]!);
      made.push({ e: { ...e, id: `s${seed}-${i}` }, arrives: clock[h]! + lag[h]! + Math.floor(r() * 300) });
    }
    const place = (list: LogEvent[]) => list.map((e, i) => ({ ...e, position: i + 1, storedAt: t0 + (i + 1) * 10 }));
    const byTime = place([...made].sort((a, b) => Date.parse(String(a.e.source['@timestamp'])) - Date.parse(String(b.e.source['@timestamp']))).map((m) => m.e));
    const byArrival = place([...made].sort((a, b) => a.arrives - b.arrives).map((m) => m.e));
    const { alerts: inOrder, late: lateInOrder } = await readThrough(new StepReader(byTime), rules);
    expect(lateInOrder).toBe(0);
    // Arrival order, in batches of 1–12 with the detector pushing between them.
    const live: Alert[] = [];
    const reader = new StepReader();
    const d = detectorOn(reader, rules, live);
    await d.start();
    for (let i = 0; i < byArrival.length; ) {
      const n = 1 + Math.floor(r() * 12);
      await reader.add(byArrival.slice(i, i + n));
      i += n;
      await until(() => d.status().held === 0 && d.backlog === 0);
    }
    await until(() => reader.checkpoint?.position === byArrival.length);
    await d.drain();
    await d.stop();
    expect(d.status().late).toBeGreaterThan(10);
    const ids = (as: Alert[]) => [...new Set(as.map((a) => String(a['kibana.alert.uuid'])))].sort();
    expect(ids(inOrder).length).toBeGreaterThan(10);
    // Nothing the in-order run alerts is missing. A few more can be alerted: a repair run sees the
    // events read so far, as a Kibana run does that starts before a late event is ingested (a
    // later "a" would have replaced the one its sequence used).
    const liveIds = ids(live);
    expect(ids(inOrder).filter((id) => !liveIds.includes(id))).toEqual([]);
    expect([liveIds.length, liveIds.length - ids(inOrder).length]).toEqual(expected);
  });

  test('an event the takeover replays too late for the stream still makes a sequence with an on-time event after the checkpoint', async () => {
    const rules = rulesOf([SEQ]);
    // Read together, h2's "a" (+7 s) goes before h1's "b" (+10 s); replayed one at a time, it comes
    // after it: late, and silent (before the checkpoint). h2's "b" at +11 s is on time.
    const events = [ev(1, 'h1', 'b', 10_000), ev(2, 'h2', 'a', 7_000), ev(3, 'h2', 'b', 11_000)];
    const { before, after, late } = await handOver(rules, events, 2, true);
    expect(before).toEqual([]);
    expect(late).toBe(0);
    expect(after.filter((a) => a['kibana.alert.building_block_type'] === undefined).map((a) => (a['host'] as { id: string } | undefined)?.id ?? a['host.id'])).toEqual(['h2']);
  });
});
