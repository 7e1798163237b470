import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildEventAlert, eventAlertId, ruleUuid } from '../src/detect/alerts.js';
import { hunt } from '../src/detect/hunt.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { KIBANA_VERSION } from '../src/detect/alerts.js';
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
      // The first replayed run whose window holds the sequence: runs every 5m on the epoch grid.
      expect(a['@timestamp']).toBe('2024-05-01T10:05:00.000Z');
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
    // The shell keeps only what both events share (disjoint arrays become []).
    expect(shell!.host).toEqual({ id: 'h1', name: 'host-1', os: { type: 'windows' } });
    expect(shell!.user).toEqual({ name: 'alice', domain: 'CORP' });
    expect(shell!.process).toBeUndefined();
    expect(shell!.event).toEqual({ category: [], type: ['start'] });
    expect(shell!['kibana.alert.original_event.category']).toEqual([]);
    expect(shell!['kibana.alert.original_event.kind']).toBe('event');
    expect(shell!['kibana.alert.reason']).toBe('event by alice on host-1 created medium alert Windows Script Interpreter Executing Process via WMI.');
    const ev = (b: Record<string, unknown>) => (b['kibana.alert.ancestors'] as { id: string; index: string }[])[0]!;
    expect(b0!['kibana.alert.ancestors']).toEqual([{ id: ev(b0!).id, index: 'winlogbeat-8.12.0', type: 'event', depth: 0 }]);
    expect(ev(b0!).id).toMatch(/^[0-9a-f]{16}:1$/);
    expect(ev(b1!).id).toMatch(/^[0-9a-f]{16}:2$/);
    expect(b0!['kibana.alert.depth']).toBe(1);
    expect(shell!['kibana.alert.depth']).toBe(2);
    const uuid = ruleUuid(seed);
    // The shell's ancestry interleaves each event with its building block (index "").
    expect(shell!['kibana.alert.ancestors']).toEqual([
      { id: ev(b0!).id, index: 'winlogbeat-8.12.0', type: 'event', depth: 0 },
      { id: b0!['kibana.alert.uuid'], index: '', type: 'signal', depth: 1, rule: uuid },
      { id: ev(b1!).id, index: 'winlogbeat-8.12.0', type: 'event', depth: 0 },
      { id: b1!['kibana.alert.uuid'], index: '', type: 'signal', depth: 1, rule: uuid },
    ]);

    // Kibana's building-block id: sha256(Σ(ancestor id + index + rule uuid), then the position).
    const base = ev(b0!).id + ev(b0!).index + uuid + ev(b1!).id + ev(b1!).index + uuid;
    expect(b0!['kibana.alert.uuid']).toBe(sha256(base + '0'));
    expect(b1!['kibana.alert.uuid']).toBe(sha256(base + '1'));
    expect(shell!['kibana.alert.uuid']).toBe(sha256(ev(b0!).id + ev(b0!).index + b0!['kibana.alert.uuid'] + ev(b1!).id + ev(b1!).index + b1!['kibana.alert.uuid'] + uuid));
    // Framework fields and the rule fields Kibana writes.
    for (const a of alerts) {
      expect(a['kibana.version']).toBe(KIBANA_VERSION);
      expect(a['kibana.alert.start']).toBe('2024-05-01T10:05:00.000Z'); // the run's time
      expect(a['kibana.alert.last_detected']).toBe('2024-05-01T10:05:00.000Z');
      expect(a['kibana.alert.rule.execution.timestamp']).toBe('2024-05-01T10:05:00.000Z');
      expect(a['kibana.alert.rule.created_at']).toBe('2020-11-27T00:00:00.000Z');
      expect(a['kibana.alert.rule.updated_at']).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
      expect(a['kibana.alert.rule.actions']).toEqual([]);
      expect(a['kibana.alert.rule.immutable']).toBe(true);
      const p = a['kibana.alert.rule.parameters'] as Record<string, unknown>;
      expect(p.immutable).toBe(true);
      expect(p.rule_source).toEqual({ type: 'external', is_customized: false });
      expect(p.related_integrations).toEqual([{ package: 'endpoint', version: '*' }, { package: 'windows', version: '*' }]);
      expect(p.setup).toMatch(/^## Setup/);
      // required_fields: the fields the query reads, sorted, with their ECS types.
      const names = (p.required_fields as { name: string }[]).map((f) => f.name);
      expect(names).toEqual([...new Set(names)].sort());
      expect(p.required_fields).toContainEqual({ name: 'host.id', type: 'keyword', ecs: true });
      expect(p.required_fields).toContainEqual({ name: 'process.parent.name', type: 'keyword', ecs: true });
    }
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

  it("event alert id is Kibana's sha256(_index + _id + 'undefined' + 'default:' + rule uuid)", () => {
    const ev = { source: { '@timestamp': '2024-01-01T00:00:00Z' }, index: 'logs-x', id: 'abc' };
    expect(eventAlertId(ev, 'u1')).toBe(sha256('logs-xabcundefineddefault:u1'));
    const a = buildEventAlert(rule, ev, { runTime: '2024-01-01T00:05:00.000Z', executionUuid: 'e' })!;
    expect(a['kibana.alert.uuid']).toBe(sha256('logs-xabcundefineddefault:' + ruleUuid(rule)));
    expect(ruleUuid(rule)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('uses the Kibana id of exported rules', () => {
    const r = makeRule({ name: 'Exp', id: '9a1a2dae-0b5f-4c3d-8305-a268d404c306', query: 'process where true' });
    expect(ruleUuid(r)).toBe('9a1a2dae-0b5f-4c3d-8305-a268d404c306');
  });

  it('writes original_time in UTC with milliseconds whatever the source format', () => {
    const ctx = { runTime: '2025-03-10T08:00:00.000Z', executionUuid: 'e' };
    const time = (t: unknown) => buildEventAlert(rule, { source: { '@timestamp': t }, index: 'logs-x', id: String(t) }, ctx)!['kibana.alert.original_time'];
    expect(time('2025-03-10T09:00:00.5+02:00')).toBe('2025-03-10T07:00:00.500Z');
    expect(time('2025-03-10T07:00:00.500123456Z')).toBe('2025-03-10T07:00:00.500Z');
    expect(time('2025-03-10T07:00:00Z')).toBe('2025-03-10T07:00:00.000Z');
    expect(time(1741590000500)).toBe('2025-03-10T07:00:00.500Z');
    expect(time('1741590000500')).toBe('2025-03-10T07:00:00.500Z');
  });

  it('drops source fields that do not fit ECS, replaces event.kind and keeps the event in original_event', () => {
    const ctx = { runTime: '2025-03-10T08:00:00.000Z', executionUuid: 'e' };
    const a = buildEventAlert(rule, {
      source: { '@timestamp': '2025-03-10T07:00:00Z', event: { kind: 'event', category: ['network'] }, source: { ip: 'not-an-ip', port: 53 }, agent: 'x', labels: {}, tags: [], kibana: { alert: { uuid: 'old' } } },
      index: 'logs-x',
      id: 'z',
    }, ctx)!;
    expect(a.source).toEqual({ port: 53 });
    expect(a.agent).toBeUndefined();
    expect(a.labels).toBeUndefined();
    expect(a.tags).toBeUndefined();
    expect(a.kibana).toBeUndefined();
    expect(a.event).toEqual({ category: ['network'] });
    expect(a['event.kind']).toBe('signal');
    expect(a['kibana.alert.original_event.kind']).toBe('event');
    expect(a['kibana.alert.original_event.category']).toEqual(['network']);
  });
});
