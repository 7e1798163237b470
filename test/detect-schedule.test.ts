import { describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { parseInterval, resolveDateMath, RuleSchedule, TimeExpressionError } from '../src/detect/schedule.js';
import { makeRule, tempDir, wlb, writeNdjson } from './detect-helpers.js';

const T = (s: string) => Date.parse(s);

describe('time expressions', () => {
  const now = T('2024-05-15T13:47:21.500Z');
  it('resolves date math and ISO times', () => {
    expect(resolveDateMath('now', now)).toBe(now);
    expect(resolveDateMath('now-24h', now)).toBe(T('2024-05-14T13:47:21.500Z'));
    expect(resolveDateMath('now-9m', now)).toBe(T('2024-05-15T13:38:21.500Z'));
    expect(resolveDateMath('now-1d/d', now)).toBe(T('2024-05-14T00:00:00Z'));
    expect(resolveDateMath('now/w', now)).toBe(T('2024-05-13T00:00:00Z'));
    expect(resolveDateMath('now-1M/M', now)).toBe(T('2024-04-01T00:00:00Z'));
    expect(resolveDateMath('2024-05-01T10:00:00Z', now)).toBe(T('2024-05-01T10:00:00Z'));
    expect(resolveDateMath('2024-05-01T10:00:00+02:00||+1h', now)).toBe(T('2024-05-01T09:00:00Z'));
  });
  it('rejects malformed expressions with a clear message', () => {
    expect(() => resolveDateMath('yesterday', now)).toThrow(new TimeExpressionError('invalid time "yesterday": expected an ISO 8601 time or date math such as now-24h'));
    expect(() => resolveDateMath('now-5x', now)).toThrow(/invalid date math "now-5x" at "-5x"/);
    expect(parseInterval('5m')).toBe(300_000);
    expect(parseInterval('1h')).toBe(3_600_000);
    expect(() => parseInterval('0m')).toThrow(/invalid interval "0m"/);
  });
});

describe('schedule replay', () => {
  const dir = tempDir();
  // interval 5m, from now-9m: windows overlap by 4 minutes. Runs at 10:05, 10:10, … (anchor 10:00).
  const rule = makeRule({ name: 'proc', index: ['winlogbeat-*'], query: 'process where true', from: 'now-9m', interval: '5m', max_signals: 2 });
  const p = (ts: string, name: string, extra: Record<string, unknown> = {}) => wlb(ts, 'process', { process: { name }, ...extra });
  const input = writeNdjson(dir, 'sched.ndjson', [
    p('2024-05-01T09:50:00Z', 'before'),
    p('2024-05-01T10:02:00Z', 'e1'), // windows 1 [10:00,10:05] and 2 [10:01,10:10]
    p('2024-05-01T10:03:00Z', 'e2'),
    p('2024-05-01T10:12:00Z', 'e3'), // windows 3 [10:06,10:15] and 4 [10:11,10:20]
    p('2024-05-01T10:13:00Z', 'e4'),
    p('2024-05-01T10:14:00Z', 'e5'),
    p('2024-05-01T10:45:00Z', 'after'),
  ]);
  const range = { from: '2024-05-01T10:00:00Z', to: '2024-05-01T10:30:00Z' };

  it('gives every window its own max_signals budget and never duplicates an alert', async () => {
    const { alerts, stats } = await hunt({ rules: [rule], inputs: [input], ...range });
    expect(alerts.map((a) => [(a.process as { name: string }).name, a['@timestamp']])).toEqual([
      ['e1', '2024-05-01T10:05:00.000Z'],
      ['e2', '2024-05-01T10:05:00.000Z'],
      // Runs keep the most recent max_signals matches (Elasticsearch's result_position tail).
      ['e4', '2024-05-01T10:15:00.000Z'],
      ['e5', '2024-05-01T10:15:00.000Z'],
    ]);
    const r = stats.perRule[0]!;
    expect(r.runs).toBe(4); // windows without events are never opened
    expect(r.results).toBe(8);
    expect(r.duplicates).toBe(4);
    expect(r.maxSignalsReached).toBe(4);
    expect(r.outsideWindows).toBe(2);
    expect(new Set(alerts.map((a) => a['kibana.alert.uuid'])).size).toBe(4);
    expect(r.dropped).toBe(2); // e3 cut from the runs at 10:15 and 10:20 (never alerted)
    expect(stats.warnings.filter((w) => w.includes('max_signals (2) reached'))).toEqual([
      'rule "proc": max_signals (2) reached in run at 2024-05-01T10:05:00.000Z (window 2024-05-01T10:00:00.000Z – 2024-05-01T10:05:00.000Z)',
      'rule "proc": max_signals (2) reached in run at 2024-05-01T10:10:00.000Z (window 2024-05-01T10:01:00.000Z – 2024-05-01T10:10:00.000Z)',
      'rule "proc": max_signals (2) reached in run at 2024-05-01T10:15:00.000Z (window 2024-05-01T10:06:00.000Z – 2024-05-01T10:15:00.000Z); 1 older match was not alerted by this run',
      'rule "proc": max_signals (2) reached in run at 2024-05-01T10:20:00.000Z (window 2024-05-01T10:11:00.000Z – 2024-05-01T10:20:00.000Z); 1 older match was not alerted by this run',
    ]);
    expect(stats.range).toEqual({ from: '2024-05-01T10:00:00.000Z', to: '2024-05-01T10:30:00.000Z' });
  });

  it('alerts the same ids as a single window for the same matches', async () => {
    const single = await hunt({ rules: [rule], inputs: [input], singleWindow: true });
    const replay = await hunt({ rules: [rule], inputs: [input], ...range });
    // One run over everything: max_signals 2 in total (the most recent two), with one warning.
    expect(single.alerts.map((a) => (a.process as { name: string }).name)).toEqual(['e5', 'after']);
    expect(single.stats.perRule[0]!.maxSignalsReached).toBe(1);
    expect(single.stats.perRule[0]!.dropped).toBe(5);
    expect(single.stats.range).toBeUndefined();
    expect(single.alerts[0]!['@timestamp']).toBe('2024-05-01T10:45:00.000Z'); // the last event's time
    expect(single.alerts[0]!['kibana.alert.uuid']).toBe(replay.alerts[3]!['kibana.alert.uuid']);
    // One window over a range: only the events in [from, to].
    const ranged = await hunt({ rules: [rule], inputs: [input], singleWindow: true, ...range, maxSignals: 100 });
    expect(ranged.alerts.map((a) => (a.process as { name: string }).name)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(ranged.alerts[0]!['@timestamp']).toBe('2024-05-01T10:30:00.000Z');
    expect(ranged.stats.perRule[0]!.outsideWindows).toBe(2);
  });

  it('by default replays the schedule over the data, runs at multiples of the interval since the epoch', async () => {
    const { alerts, stats } = await hunt({ rules: [rule], inputs: [input], maxSignals: 100 });
    expect(alerts.map((a) => (a.process as { name: string }).name)).toEqual(['before', 'e1', 'e2', 'e3', 'e4', 'e5', 'after']);
    // 09:50:00 is a run time itself; window ends are inclusive.
    expect(alerts.map((a) => a['@timestamp'])).toEqual([
      '2024-05-01T09:50:00.000Z',
      '2024-05-01T10:05:00.000Z',
      '2024-05-01T10:05:00.000Z',
      '2024-05-01T10:15:00.000Z',
      '2024-05-01T10:15:00.000Z',
      '2024-05-01T10:15:00.000Z',
      '2024-05-01T10:45:00.000Z',
    ]);
    expect(stats.range).toEqual({ from: '2024-05-01T09:50:00.000Z', to: '2024-05-01T10:45:00.000Z' });
    expect(stats.perRule[0]!.runs).toBe(8); // 09:50, 09:55, 10:05, 10:10, 10:15, 10:20, 10:45, 10:50: runs without events are never opened
    // --schedule says the same.
    expect((await hunt({ rules: [rule], inputs: [input], maxSignals: 100, schedule: true })).alerts).toEqual(alerts);
    await expect(hunt({ rules: [rule], inputs: [input], schedule: true, singleWindow: true })).rejects.toThrow('--single-window and --schedule exclude each other');
  });

  it("evaluates the rule's from/to date math, rounding included, at each run's time", async () => {
    // Every 30m over [now-1h/h, now/h]: the window is the previous full hour(s) up to the hour.
    const hourly = makeRule({ name: 'hourly', index: ['winlogbeat-*'], query: 'process where true', from: 'now-1h/h', to: 'now/h', interval: '30m' });
    const d = tempDir();
    const f = writeNdjson(d, 'hours.ndjson', [p('2024-05-01T10:10:00Z', 'a'), p('2024-05-01T10:59:59Z', 'b'), p('2024-05-01T11:00:00Z', 'c'), p('2024-05-01T11:20:00Z', 'd')]);
    const { alerts, stats } = await hunt({ rules: [hourly], inputs: [f] });
    // Run 11:00 searches [10:00, 11:00]: a, b, c. Run 11:30 the same window again (duplicates).
    // Run 12:00 and 12:30 search [11:00, 12:00]: c (again) and d.
    expect(alerts.map((a) => [(a.process as { name: string }).name, a['@timestamp']])).toEqual([
      ['a', '2024-05-01T11:00:00.000Z'],
      ['b', '2024-05-01T11:00:00.000Z'],
      ['c', '2024-05-01T11:00:00.000Z'],
      ['d', '2024-05-01T12:00:00.000Z'],
    ]);
    expect(stats.perRule[0]!.runs).toBe(4);
    expect(stats.perRule[0]!.duplicates).toBe(6); // a, b, c at 11:30; c at 12:00; c, d at 12:30
  });

  it('windows by timestamp_override with fallback to @timestamp', async () => {
    const d = tempDir();
    const f = writeNdjson(d, 'ingested.ndjson', [
      p('2024-05-01T10:02:00Z', 'late-ingest', { event: { category: ['process'], type: ['start'], ingested: '2024-05-01T10:12:00Z' } }),
      p('2024-05-01T10:03:00Z', 'no-ingested'),
    ]);
    const r = makeRule({ name: 'ovr', index: ['winlogbeat-*'], query: 'process where true', from: 'now-9m', interval: '5m', timestamp_override: 'event.ingested' });
    const { alerts } = await hunt({ rules: [r], inputs: [f], ...range });
    expect(alerts.map((a) => [(a.process as { name: string }).name, a['@timestamp']])).toEqual([
      ['no-ingested', '2024-05-01T10:05:00.000Z'],
      ['late-ingest', '2024-05-01T10:15:00.000Z'],
    ]);
    const strict = makeRule({ name: 'ovr2', index: ['winlogbeat-*'], query: 'process where true', from: 'now-9m', interval: '5m', timestamp_override: 'event.ingested', timestamp_override_fallback_disabled: true });
    const s = await hunt({ rules: [strict], inputs: [f], ...range });
    expect(s.alerts.map((a) => (a.process as { name: string }).name)).toEqual(['late-ingest']);
    expect(s.stats.perRule[0]!.outsideWindows).toBe(1);
  });

  it('replays sequences per window without duplicating them', async () => {
    const d = tempDir();
    const f = writeNdjson(d, 'seq.ndjson', [
      wlb('2024-05-01T10:04:00Z', 'process', { process: { name: 'a' } }),
      wlb('2024-05-01T10:04:30Z', 'file', { process: { name: 'a' } }),
    ]);
    const r = makeRule({ name: 'seq', index: ['winlogbeat-*'], query: 'sequence by process.name [process where true] [file where true]', from: 'now-9m', interval: '5m' });
    const { alerts, stats } = await hunt({ rules: [r], inputs: [f], ...range });
    expect(alerts).toHaveLength(3);
    expect(stats.perRule[0]!.results).toBe(2); // found by windows 1 and 2
    expect(stats.perRule[0]!.duplicates).toBe(3);
  });

  it('rejects a reversed range', async () => {
    await expect(hunt({ rules: [rule], inputs: [input], from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' })).rejects.toThrow(
      '--from (2024-05-02T00:00:00.000Z) must be before --to (2024-05-01T00:00:00.000Z)',
    );
  });
});

describe('tiebreaker_field', () => {
  const dir = tempDir();
  // Same timestamp; the file has b before a, the tiebreaker puts a first.
  const f = writeNdjson(dir, 'ties.ndjson', [
    wlb('2024-05-01T10:02:00Z', 'process', { process: { name: 'b' }, event: { category: ['process'], sequence: 2 } }),
    wlb('2024-05-01T10:02:00Z', 'process', { process: { name: 'a' }, event: { category: ['process'], sequence: 1 } }),
  ]);
  const q = 'sequence [process where process.name == "a"] [process where process.name == "b"]';

  it('orders equal timestamps by the rule tiebreaker, in one run and in replayed windows', async () => {
    // from now-9m, interval 5m: 10:02 lies in the windows of the runs at 10:05 and 10:10.
    const plain = makeRule({ name: 'plain', index: ['winlogbeat-*'], query: q, from: 'now-9m' });
    const tb = makeRule({ name: 'tb', index: ['winlogbeat-*'], query: q, tiebreaker_field: 'event.sequence', from: 'now-9m' });
    const one = await hunt({ rules: [plain, tb], inputs: [f], singleWindow: true });
    expect(one.stats.perRule.map((r) => [r.name, r.results])).toEqual([
      ['plain', 0],
      ['tb', 1],
    ]);
    const replay = await hunt({ rules: [plain, tb], inputs: [f], from: '2024-05-01T10:00:00Z', to: '2024-05-01T10:30:00Z' });
    expect(replay.stats.perRule.map((r) => [r.name, r.runs, r.results, r.alerts, r.duplicates])).toEqual([
      ['plain', 2, 0, 0, 0],
      ['tb', 2, 2, 3, 3],
    ]);
  });
});

describe('RuleSchedule.runsContaining', () => {
  // Runs every 5 minutes from the anchor, each searching the 9 minutes before it: a time lies in
  // the windows of the two runs at or after it, 5 minutes apart.
  const anchor = T('2024-05-01T00:00:00Z');
  const fixed = new RuleSchedule({ interval: '5m', from: 'now-9m', to: 'now' }, { anchor, clipEnd: T('2024-05-01T01:00:00Z') });
  const searched = new RuleSchedule({ interval: '5m', from: 'now-9m/m', to: 'now' }, { anchor, clipStart: T('2024-05-01T00:10:00Z') });

  it('writes the runs into the object it is given, which it returns, as into a new one', () => {
    const out = { lo: -7, hi: -7 };
    for (const [s, t, lo, hi] of [
      [fixed, T('2024-05-01T00:12:00Z'), 3, 4],
      [fixed, T('2024-05-01T00:59:30Z'), 12, 12],
      [fixed, T('2024-05-01T02:00:00Z'), 1, 0],
      [searched, T('2024-05-01T00:12:00Z'), 3, 4],
      [searched, T('2024-05-01T00:05:00Z'), 1, 0],
    ] as const) {
      expect(s.runsContaining(t)).toEqual({ lo, hi });
      expect(s.runsContaining(t, out)).toBe(out);
      expect(out).toEqual({ lo, hi });
    }
  });
});
