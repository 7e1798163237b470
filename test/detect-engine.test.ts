import { describe, expect, it } from 'vitest';
import { DetectionEngine } from '../src/detect/engine.js';
import { prepareRule, type PreparedRule } from '../src/detect/router.js';
import type { Alert } from '../src/detect/alerts.js';
import type { EventDoc } from '../src/events/types.js';
import { makeRule, wlb } from './detect-helpers.js';

const T = (s: string) => Date.parse(s);

/** A rule prepared as hunt prepares it, or (`stream`) as serve's real-time detection does: no query size. */
function prepared(fields: Record<string, unknown>, stream = false): PreparedRule {
  const p = prepareRule(makeRule(fields), { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: true, ...(stream ? { maxSignals: Infinity } : {}) });
  if ('skip' in p) throw new Error(p.skip);
  return p;
}

function ev(id: string, ts: string, name: string): EventDoc {
  return { id, index: 'winlogbeat-8.12.0', source: wlb(ts, 'process', { process: { name } }), time: { ms: T(ts), ns: 0 }, timeField: '@timestamp' };
}

const rule = { name: 'proc', index: ['winlogbeat-*'], query: 'process where process.name != "x"', from: 'now-6m', interval: '5m' };
const events = [ev('a', '2024-05-01T10:01:00Z', 'p1'), ev('b', '2024-05-01T10:04:00Z', 'p2'), ev('c', '2024-05-01T10:08:00Z', 'p3')];

describe('DetectionEngine', () => {
  it('alerts a window when the clock passes its end, once per alert id', () => {
    const out: string[] = [];
    const engine = new DetectionEngine({
      rules: [prepared(rule)],
      mode: 'schedule',
      from: T('2024-05-01T10:00:00Z'),
      now: 0,
      sink: (group: Alert[]) => out.push(...group.map((a) => `${(a.process as { name: string }).name}@${String(a['@timestamp'])}`)),
    });
    engine.push(events[0]!, events[0]!.time!.ms, [0]);
    engine.push(events[1]!, events[1]!.time!.ms, [0]);
    expect(out).toEqual([]); // run 1 (10:05) has not ended yet
    engine.advance(T('2024-05-01T10:05:00Z'));
    expect(out).toEqual([]); // window ends are inclusive: an event at 10:05:00 could still come
    engine.advance(T('2024-05-01T10:05:00.001Z'));
    expect(out).toEqual(['p1@2024-05-01T10:05:00.000Z', 'p2@2024-05-01T10:05:00.000Z']);
    engine.push(events[2]!, events[2]!.time!.ms, [0]);
    engine.finish();
    // Run 2 (10:10, window 10:04–10:10) finds p2 again (same id: not written twice) and p3.
    expect(out).toEqual(['p1@2024-05-01T10:05:00.000Z', 'p2@2024-05-01T10:05:00.000Z', 'p3@2024-05-01T10:10:00.000Z']);
    expect(engine.stats[0]).toMatchObject({ runs: 2, results: 4, alerts: 3, duplicates: 1 });
    expect(engine.range).toEqual({ from: '2024-05-01T10:00:00.000Z', to: '2024-05-01T10:08:00.000Z' });
  });

  it('runWindow runs one scheduled execution over stored events with the same ids, skipping ids already written', () => {
    const pushed: Alert[] = [];
    const a = new DetectionEngine({ rules: [prepared(rule)], mode: 'schedule', from: T('2024-05-01T10:00:00Z'), now: 0, sink: (g) => pushed.push(...g) });
    for (const e of events) a.push(e, e.time!.ms, [0]);
    a.finish();

    const ledger = new Set<string>([pushed[0]!['kibana.alert.uuid'] as string]);
    const ran: Alert[] = [];
    const b = new DetectionEngine({ rules: [prepared(rule)], mode: 'schedule', now: 0, ledger, sink: (g) => ran.push(...g) });
    // Run at 10:10 searches [10:04, 10:10]: p2 and p3, plus p1 which is outside and ignored.
    b.runWindow(0, T('2024-05-01T10:10:00Z'), events);
    expect(ran.map((x) => (x.process as { name: string }).name)).toEqual(['p2', 'p3']);
    expect(ran.map((x) => x['kibana.alert.uuid'])).toEqual(pushed.slice(1).map((x) => x['kibana.alert.uuid']));
    expect(ran[0]!['@timestamp']).toBe('2024-05-01T10:10:00.000Z');
    // The run at 10:05 finds p1 (already in the ledger) and p2 (written by the previous run).
    b.runWindow(0, T('2024-05-01T10:05:00Z'), events);
    expect(ran).toHaveLength(2);
    expect(b.stats[0]).toMatchObject({ runs: 2, results: 4, alerts: 2, duplicates: 2 });
  });

  it('stream mode: groups replayed after a restart (already in the ledger) cost no max_signals budget', () => {
    const five = ['p1', 'p2', 'p3', 'p4', 'p5'].map((n, i) => ev(`e${i}`, `2024-05-01T10:0${i}:00Z`, n));
    const first: Alert[] = [];
    const clock = () => T('2024-05-01T10:10:00Z');
    const a = new DetectionEngine({ rules: [prepared({ ...rule, max_signals: 3 }, true)], mode: 'stream', now: 0, clock, sink: (g) => first.push(...g) });
    for (const e of five.slice(0, 2)) a.push(e, e.time!.ms, [0]);
    a.finish();
    expect(first.map((x) => (x.process as { name: string }).name)).toEqual(['p1', 'p2']);

    // The restarted detector replays p1 and p2 (written: in the ledger), then sees p3, p4, p5.
    const ledger = new Set(first.map((x) => x['kibana.alert.uuid'] as string));
    const warnings: string[] = [];
    const again: Alert[] = [];
    const b = new DetectionEngine({ rules: [prepared({ ...rule, max_signals: 3 }, true)], mode: 'stream', now: 0, clock, ledger, sink: (g) => again.push(...g), onWarning: (w) => warnings.push(w) });
    for (const e of [...five, ev('e9', '2024-05-01T10:09:00Z', 'p6')]) b.push(e, e.time!.ms, [0]);
    b.finish();
    // Budget 3: p3, p4, p5 are new and fit (the two replayed groups were free); p6 is beyond it.
    expect(again.map((x) => (x.process as { name: string }).name)).toEqual(['p3', 'p4', 'p5']);
    expect(warnings).toEqual(['rule "proc": max_signals (3) reached in real time within one interval; further matches are left to the scheduled runs']);
    expect(b.stats[0]).toMatchObject({ results: 6, alerts: 3, duplicates: 2, maxSignalsReached: 1 });
  });

  it('lets go of a worker\'s answers once the event is placed, and keeps them for an event held among ties until it is placed', () => {
    const names = (g: Alert[]) => g.map((x) => (x.process as { name: string }).name);
    const out: string[] = [];
    const engine = new DetectionEngine({
      rules: [prepared(rule), prepared({ ...rule, name: 'tied', tiebreaker_field: 'event.sequence' })],
      mode: 'single',
      now: 0,
      sink: (g, r) => out.push(...names(g).map((n) => `${r.name}:${n}`)),
    });
    // The answers say that rule 1's query does not take p1 and rule 0's does not take p3, although
    // the queries would: the runs go by the answers, so they are read (and only then let go).
    const withAnswers = (e: EventDoc, routed: number[], answers: { mask: number }[]): EventDoc => Object.assign(e, { routed, answers });
    const p1 = withAnswers(ev('a', '2024-05-01T10:01:00Z', 'p1'), [0, 1], [{ mask: 1 }, { mask: 0 }]);
    engine.push(p1, p1.time!.ms, [0, 1]);
    // Rule 1 holds p1 among the events of its millisecond: their order is only known after it.
    expect(p1.answers).toEqual([{ mask: 1 }, { mask: 0 }]);
    const p2 = withAnswers(ev('b', '2024-05-01T10:02:00Z', 'p2'), [0], [{ mask: 1 }]);
    engine.push(p2, p2.time!.ms, [0]);
    expect(p2.answers).toBeUndefined();
    const p3 = withAnswers(ev('c', '2024-05-01T10:03:00Z', 'p3'), [0], [{ mask: 0 }]);
    engine.push(p3, p3.time!.ms, [0]);
    expect(p3.answers).toBeUndefined();
    engine.finish();
    expect(out.sort()).toEqual(['proc:p1', 'proc:p2']);
  });
});
