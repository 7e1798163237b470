// Anchor dispatch: a rule whose every term requires a literal field value is only handed events
// carrying one of those values; other events never reach it, and the alerts are unchanged.
import { describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { makeRule, tempDir, wlb, writeNdjson } from './detect-helpers.js';

describe('hunt: anchor dispatch', () => {
  it('hands a rule only the events its anchor accepts, including numbers it cannot judge', async () => {
    const dir = tempDir();
    const input = writeNdjson(dir, 'a.ndjson', [
      wlb('2024-01-01T00:00:00Z', 'process', { process: { name: 'CMD.EXE' } }),
      wlb('2024-01-01T00:00:01Z', 'process', { process: { name: 'notepad.exe' } }),
      wlb('2024-01-01T00:00:02Z', 'process', { process: { name: ['x.exe', 'cmd.exe'] } }),
      wlb('2024-01-01T00:00:03Z', 'process', { process: { name: 42 } }),
      wlb('2024-01-01T00:00:04Z', 'process', {}),
    ]);
    const anchored = makeRule({ name: 'anchored', index: ['winlogbeat-*'], query: 'process where process.name : "cmd.exe"' });
    // No literal the open rule requires: every line is parsed (no line is skipped unread).
    const open = makeRule({ name: 'open', index: ['winlogbeat-*'], query: 'process where process.name != "cmd.exe"' });
    const r = await hunt({ rules: [anchored, open], inputs: [input] });
    const byRule = new Map(r.stats.perRule.map((s) => [s.name, s]));
    // CMD.EXE (case-folded), the array holding cmd.exe, and the number 42 (left to the query).
    expect(byRule.get('anchored')).toMatchObject({ dispatched: 3, alerts: 2 });
    // `!=` is case-sensitive: CMD.EXE, notepad, the number, the missing name (the array holds cmd.exe).
    expect(byRule.get('open')).toMatchObject({ dispatched: 5, alerts: 4 });
    expect(r.alerts.filter((a) => a['kibana.alert.rule.name'] === 'anchored').map((a) => a['kibana.alert.original_time'])).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-01-01T00:00:02.000Z',
    ]);
  });

  it('reads lines holding none of the rules\' literals as stubs, which reach no rule', async () => {
    const dir = tempDir();
    const input = writeNdjson(dir, 'b.ndjson', [
      wlb('2024-01-01T00:00:00Z', 'process', { process: { name: 'CMD.EXE' } }),
      wlb('2024-01-01T00:00:01Z', 'process', { process: { name: 'notepad.exe' } }),
      wlb('2024-01-01T00:00:02Z', 'process', { process: { name: 42 } }),
    ]);
    const anchored = makeRule({ name: 'anchored', index: ['winlogbeat-*'], query: 'process where process.name : "cmd.exe"' });
    const r = await hunt({ rules: [anchored], inputs: [input] });
    // The notepad and number lines hold no "cmd.exe": never parsed, so never dispatched.
    expect(r.stats.events).toBe(3);
    expect(r.stats.perRule[0]).toMatchObject({ dispatched: 1, alerts: 1 });
    expect(r.stats.unrouted).toBe(2);
  });
});
