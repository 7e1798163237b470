import { describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { compileIndexPatterns, DEFAULT_INDEX_PATTERNS, ruleIndexMatcher, splitIndexPatterns } from '../src/detect/index-pattern.js';
import { makeRule, tempDir, wlb, writeNdjson } from './detect-helpers.js';

describe('index patterns', () => {
  it('matches wildcards and exact names, case-sensitively', () => {
    const m = compileIndexPatterns(['winlogbeat-*', 'logs-endpoint.events.process-*']);
    expect(m('winlogbeat-8.12.0')).toBe(true);
    expect(m('logs-endpoint.events.process-default')).toBe(true);
    expect(m('logs-endpoint.events.file-default')).toBe(false);
    expect(m('Winlogbeat-8.12.0')).toBe(false);
    expect(compileIndexPatterns(['auditbeat-7'])('auditbeat-7')).toBe(true);
    expect(compileIndexPatterns(['auditbeat-7'])('auditbeat-70')).toBe(false);
  });

  it('splits comma lists and applies exclusions left to right', () => {
    expect(splitIndexPatterns(['logs-*, -logs-test-*', ' ,x'])).toEqual(['logs-*', '-logs-test-*', 'x']);
    const m = compileIndexPatterns(['logs-*,-logs-test-*']);
    expect(m('logs-windows.sysmon_operational-default')).toBe(true);
    expect(m('logs-test-default')).toBe(false);
    // A leading exclusion removes nothing; the later inclusion still selects.
    expect(compileIndexPatterns(['-logs-*', 'logs-*'])('logs-a')).toBe(true);
    // An exclusion only removes what the entries before it selected.
    expect(compileIndexPatterns(['logs-*', '-logs-a', 'logs-a'])('logs-a')).toBe(true);
  });

  it('drops cross-cluster prefixes and never matches an unknown index', () => {
    expect(compileIndexPatterns(['remote:winlogbeat-*'])('winlogbeat-8.1.0')).toBe(true);
    expect(compileIndexPatterns(['*'])('')).toBe(false);
    expect(compileIndexPatterns(['*'])('anything')).toBe(true);
  });

  it("uses Kibana's default index patterns for rules without index", () => {
    expect(DEFAULT_INDEX_PATTERNS).toContain('winlogbeat-*');
    const m = ruleIndexMatcher(undefined);
    expect(m('logs-system.security-default')).toBe(true);
    expect(m('logs-elastic-cloud-logs-8')).toBe(false);
    expect(m('custom-index')).toBe(false);
    expect(ruleIndexMatcher([])('filebeat-8.0.0')).toBe(true);
  });
});

describe('hunt routing and dispatch', () => {
  const dir = tempDir();
  const ep = (ts: string, category: string, extra: Record<string, unknown> = {}) => ({
    '@timestamp': ts,
    data_stream: { type: 'logs', dataset: `endpoint.events.${category}`, namespace: 'default' },
    host: { id: 'h2', name: 'host-2' },
    event: { category: [category], type: ['start'] },
    ...extra,
  });
  const input = writeNdjson(dir, 'mixed.ndjson', [
    wlb('2024-05-01T10:00:00Z', 'process', { process: { name: 'a.exe' } }), // winlogbeat-8.12.0
    ep('2024-05-01T10:00:01Z', 'process', { process: { name: 'b.exe' } }), // logs-endpoint.events.process-default
    wlb('2024-05-01T10:00:02Z', 'network', { destination: { port: 443 } }),
    wlb('2024-05-01T10:00:03Z', 'process', { process: { name: 'c.exe' } }),
    ep('2024-05-01T10:00:04Z', 'file', { file: { name: 'x.txt' }, process: { name: 'b.exe' } }), // logs-endpoint.events.file-default
    { '@timestamp': '2024-05-01T10:00:05Z', event: { category: ['process'] }, process: { name: 'd.exe' } }, // no index
    wlb('2024-05-01T10:00:06Z', 'registry'),
  ]);
  const rules = [
    makeRule({ name: 'wlb-process', index: ['winlogbeat-*'], query: 'process where true' }),
    makeRule({ name: 'endpoint-process', index: ['logs-endpoint.events.process-*'], query: 'process where true' }),
    makeRule({ name: 'wlb-any', index: ['winlogbeat-*'], query: 'any where true' }),
    makeRule({ name: 'endpoint-seq', index: ['logs-endpoint.events.*'], query: 'sequence by process.name [process where true] [file where true]' }),
    makeRule({ name: 'network-logs', index: ['logs-*'], query: 'network where true' }),
  ];

  it('hands each event only to rules whose index and category match, in one pass', async () => {
    const { alerts, stats } = await hunt({ rules, inputs: [input] });
    expect(stats.events).toBe(7);
    const dispatched = Object.fromEntries(stats.perRule.map((r) => [r.name, r.dispatched]));
    expect(dispatched).toEqual({ 'wlb-process': 2, 'endpoint-process': 1, 'wlb-any': 4, 'endpoint-seq': 2, 'network-logs': 0 });
    expect(stats.noIndex).toBe(1);
    expect(stats.unrouted).toBe(0);
    const byRule = (n: string) => alerts.filter((a) => a['kibana.alert.rule.name'] === n).map((a) => (a.process as { name?: string } | undefined)?.name ?? null);
    expect(byRule('wlb-process')).toEqual(['a.exe', 'c.exe']);
    expect(byRule('endpoint-process')).toEqual(['b.exe']);
    expect(byRule('wlb-any')).toEqual(['a.exe', null, 'c.exe', null]);
    // 2 building blocks + shell (the shell keeps process.name: both events agree on it).
    expect(byRule('endpoint-seq')).toEqual(['b.exe', 'b.exe', 'b.exe']);
    expect(stats.warnings.some((w) => w.includes('1 event(s) have no index'))).toBe(true);
  });

  it('routes index-less events with --index', async () => {
    const { stats } = await hunt({ rules, inputs: [input], index: 'winlogbeat-custom' });
    const dispatched = Object.fromEntries(stats.perRule.map((r) => [r.name, r.dispatched]));
    expect(dispatched['wlb-process']).toBe(3);
    expect(dispatched['wlb-any']).toBe(5);
    expect(stats.noIndex).toBe(0);
  });

  it('skips non-EQL and broken rules with the reason', async () => {
    const bad = [
      makeRule({ name: 'kql', type: 'query', language: 'kuery', query: 'process.name: x' }),
      makeRule({ name: 'broken', query: 'process where (' }),
      rules[0]!,
    ];
    const { stats } = await hunt({ rules: bad, inputs: [input] });
    expect(stats.rulesRun).toBe(1);
    expect(stats.rulesSkipped.map((s) => [s.name, s.type])).toEqual([
      ['kql', 'query'],
      ['broken', 'eql'],
    ]);
    expect(stats.rulesSkipped[1]!.reason).toMatch(/^query does not compile: /);
  });
});
