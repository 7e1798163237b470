import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { alertReason, buildEventAlert, eventAlertId, intersect, ruleUuid } from '../src/detect/alerts.js';
import { hunt } from '../src/detect/hunt.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { makeRule, seedPair, tempDir, writeNdjson } from './detect-helpers.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const seed = loadRules([defaultRulesDir()]).rules.find((r) => r.rule_id === 'b64b183e-1a76-422d-9179-7b389513e74d')!;

describe('seed rule sequence alerts', () => {
  const dir = tempDir();
  const input = writeNdjson(dir, 'seq.ndjson', seedPair('2024-05-01T10:00:00.000Z', '2024-05-01T10:00:02.000Z'));

  it('produces 2 building blocks and 1 shell sharing the group id, with the rule fields', async () => {
    const { alerts, stats } = await hunt({ rules: [seed], inputs: [input] });
    expect(stats.perRule[0]!.results).toBe(1);
    expect(alerts).toHaveLength(3);
    const [b0, b1, shell] = alerts as Record<string, unknown>[];
    const group = shell!['kibana.alert.uuid'];
    expect(shell!['kibana.alert.group.id']).toBe(group);
    expect(b0!['kibana.alert.group.id']).toBe(group);
    expect(b1!['kibana.alert.group.id']).toBe(group);
    expect([b0!['kibana.alert.group.index'], b1!['kibana.alert.group.index']]).toEqual([0, 1]);
    expect([b0!['kibana.alert.building_block_type'], b1!['kibana.alert.building_block_type'], shell!['kibana.alert.building_block_type']]).toEqual(['default', 'default', undefined]);
    for (const a of alerts) {
      expect(a['kibana.alert.severity']).toBe('medium');
      expect(a['kibana.alert.risk_score']).toBe(47);
      expect(a['kibana.alert.rule.severity']).toBe('medium');
      expect(a['kibana.alert.rule.risk_score']).toBe(47);
      expect(a['kibana.alert.rule.rule_id']).toBe('b64b183e-1a76-422d-9179-7b389513e74d');
      expect(a['kibana.alert.rule.name']).toBe('Windows Script Interpreter Executing Process via WMI');
      expect(a['kibana.alert.rule.type']).toBe('eql');
      expect(a['kibana.alert.rule.from']).toBe('now-9m');
      expect(a['kibana.alert.rule.interval']).toBe('5m');
      expect(a['kibana.alert.rule.max_signals']).toBe(100);
      expect(a['kibana.alert.rule.note']).toMatch(/^## Triage and analysis/);
      expect(a['kibana.alert.workflow_status']).toBe('open');
      expect(a['kibana.alert.status']).toBe('active');
      expect(a['event.kind']).toBe('signal');
      // The single run of an offline hunt happens at the last event's time.
      expect(a['@timestamp']).toBe('2024-05-01T10:00:02.000Z');
      const threat = a['kibana.alert.rule.threat'] as { technique?: { id: string; subtechnique?: { id: string }[] }[] }[];
      const ids = threat.flatMap((t) => (t.technique ?? []).flatMap((x) => [x.id, ...(x.subtechnique ?? []).map((s) => s.id)]));
      expect(ids).toEqual(['T1566', 'T1566.001', 'T1047', 'T1059', 'T1059.005', 'T1059.007']);
    }
    expect(b0!['kibana.alert.original_time']).toBe('2024-05-01T10:00:00.000Z');
    expect(b1!['kibana.alert.original_time']).toBe('2024-05-01T10:00:02.000Z');
    expect(b0!['kibana.alert.original_event.category']).toEqual(['library']);
    expect(b0!['kibana.alert.original_event.kind']).toBe('event');
    expect((b0!.event as Record<string, unknown>).kind).toBeUndefined();
    expect(b1!['kibana.alert.reason']).toBe(
      'process event with process cmd.exe, parent process wmiprvse.exe, by alice on host-1 created medium alert Windows Script Interpreter Executing Process via WMI.',
    );
    // The shell keeps only what both events share.
    expect(shell!.host).toEqual({ id: 'h1', name: 'host-1', os: { type: 'windows' } });
    expect(shell!.user).toEqual({ name: 'alice', domain: 'CORP' });
    expect(shell!.process).toBeUndefined();
    expect(shell!['kibana.alert.reason']).toBe(' event with by alice on host-1 created medium alert Windows Script Interpreter Executing Process via WMI.');
    expect(b0!['kibana.alert.ancestors']).toEqual([{ id: `${(b0!['kibana.alert.ancestors'] as { id: string }[])[0]!.id}`, index: 'winlogbeat-8.12.0', type: 'event', depth: 0 }]);
    expect(b0!['kibana.alert.depth']).toBe(1);
    expect(shell!['kibana.alert.depth']).toBe(2);
    expect((shell!['kibana.alert.ancestors'] as unknown[]).length).toBe(4);

    // Kibana's building-block id: sha256(Σ(ancestor id + index + rule uuid), then the position).
    const uuid = ruleUuid(seed);
    const ev = (b: Record<string, unknown>) => (b['kibana.alert.ancestors'] as { id: string; index: string }[])[0]!;
    const base = ev(b0!).id + ev(b0!).index + uuid + ev(b1!).id + ev(b1!).index + uuid;
    expect(b0!['kibana.alert.uuid']).toBe(sha256(base + '0'));
    expect(b1!['kibana.alert.uuid']).toBe(sha256(base + '1'));
  });

  it('gives the same ids on a second hunt', async () => {
    const a = await hunt({ rules: [seed], inputs: [input] });
    const b = await hunt({ rules: [seed], inputs: [input] });
    expect(b.alerts.map((x) => x['kibana.alert.uuid'])).toEqual(a.alerts.map((x) => x['kibana.alert.uuid']));
    expect(JSON.stringify(b.alerts)).toBe(JSON.stringify(a.alerts));
  });

  it('does not alert on near misses (NT AUTHORITY, other host, too far apart)', async () => {
    const d = tempDir();
    const nt = seedPair('2024-05-01T11:00:00Z', '2024-05-01T11:00:01Z', 'h3');
    (nt[1]!.user as Record<string, unknown>).domain = 'NT AUTHORITY';
    const split = seedPair('2024-05-01T12:00:00Z', '2024-05-01T12:00:01Z', 'h4');
    (split[1]!.host as Record<string, unknown>).id = 'h5';
    const late = seedPair('2024-05-01T13:00:00Z', '2024-05-01T13:00:06Z', 'h6');
    const f = writeNdjson(d, 'near.ndjson', [...nt, ...split, ...late]);
    const { alerts, stats } = await hunt({ rules: [seed], inputs: [f] });
    expect(alerts).toEqual([]);
    expect(stats.perRule[0]!.dispatched).toBe(6);
  });
});

describe('alert building', () => {
  const rule = makeRule({ name: 'Net', severity: 'high', risk_score: 73, index: ['logs-*'], query: 'network where true' });

  it("event alert id is Kibana's sha256(index + id + version + rule uuid)", () => {
    const ev = { source: { '@timestamp': '2024-01-01T00:00:00Z' }, index: 'logs-x', id: 'abc' };
    expect(eventAlertId(ev, 'u1')).toBe(sha256('logs-xabcu1'));
    const a = buildEventAlert(rule, ev, { runTime: '2024-01-01T00:05:00.000Z', executionUuid: 'e' });
    expect(a['kibana.alert.uuid']).toBe(sha256('logs-xabc' + ruleUuid(rule)));
    expect(ruleUuid(rule)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('uses the Kibana id of exported rules', () => {
    const r = makeRule({ name: 'Exp', id: '9a1a2dae-0b5f-4c3d-8305-a268d404c306', query: 'process where true' });
    expect(ruleUuid(r)).toBe('9a1a2dae-0b5f-4c3d-8305-a268d404c306');
  });

  it('writes the reason with source/destination and multi-valued fields', () => {
    const src = { event: { category: ['network', 'session'] }, source: { address: '10.0.0.1', port: 5000 }, destination: { address: '8.8.8.8', port: 53 }, host: { name: 'h' } };
    expect(alertReason(rule, src)).toBe('network, session event with source 10.0.0.1:5000, destination 8.8.8.8:53, on h created high alert Net.');
  });

  it('intersects documents field by field', () => {
    expect(intersect([{ a: 1, b: { c: 2, d: 3 }, e: ['x', 'y'] }, { a: 1, b: { c: 2, d: 4 }, e: ['y', 'z'] }])).toEqual({ a: 1, b: { c: 2 }, e: ['y'] });
  });
});
