import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { getField } from '../src/engine/fields.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { makeRule, tempDir, writeNdjson } from './detect-helpers.js';

const seedRules = loadRules([defaultRulesDir()]).rules;

describe('hunt input mapping', () => {
  it('maps raw Winlogbeat documents to ECS before routing', async () => {
    const dir = tempDir();
    const raw = {
      '@timestamp': '2024-05-01T10:00:00.000Z',
      agent: { type: 'winlogbeat', version: '8.12.0' },
      host: { name: 'ws1' },
      winlog: {
        channel: 'Microsoft-Windows-Sysmon/Operational',
        provider_name: 'Microsoft-Windows-Sysmon',
        event_id: 1,
        computer_name: 'ws1',
        event_data: { Image: 'C:\\Windows\\System32\\cmd.exe', ParentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', User: 'CORP\\alice', ProcessId: '42' },
      },
    };
    const f = writeNdjson(dir, 'raw.ndjson', [raw]);
    const rule = makeRule({ name: 'wmi-child', index: ['winlogbeat-*'], query: 'process where process.parent.name : "wmiprvse.exe" and user.name == "alice"' });
    const { alerts } = await hunt({ rules: [rule], inputs: [f] });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!['kibana.alert.reason']).toBe('process event with process cmd.exe, parent process WmiPrvSE.exe, by alice on ws1 created low alert wmi-child.');
    // The index the reader inferred from agent.* (winlogbeat-8.12.0) is kept.
    expect((alerts[0]!['kibana.alert.ancestors'] as { index: string }[])[0]!.index).toBe('winlogbeat-8.12.0');
  });
});

const EVTX = path.resolve(import.meta.dirname, '..', '..', 'shared', 'corpus', 'evtx', 'sysmon-wmi-cscript-comsvcs.evtx');
describe.skipIf(!existsSync(EVTX))('hunt over EVTX (shared corpus)', () => {
  it('the seed rule does not fire on the near miss; a relaxed sequence does', async () => {
    const seed = await hunt({ rules: seedRules, inputs: [EVTX] });
    expect(seed.stats.events).toBe(6);
    expect(seed.alerts).toEqual([]);
    const relaxed = makeRule({
      name: 'relaxed',
      index: ['logs-windows.sysmon_operational-*'],
      query: 'sequence by host.id with maxspan=5s [any where dll.name : "wmiutils.dll"] [process where process.parent.name : "wmiprvse.exe"]',
    });
    const { alerts } = await hunt({ rules: [relaxed], inputs: [EVTX] });
    expect(alerts.map((a) => [getField(a, 'process.name') ?? null, a['kibana.alert.group.index'] ?? null])).toEqual([
      ['cscript.exe', 0],
      ['rundll32.exe', 1],
      [null, null],
    ]);
    expect((alerts[0]!['kibana.alert.ancestors'] as { index: string }[])[0]!.index).toBe('logs-windows.sysmon_operational-default');
  });
});

const SAMPLE = path.resolve(import.meta.dirname, '..', 'examples', 'windows-sample.ndjson');
describe.skipIf(!existsSync(SAMPLE))('examples/windows-sample.ndjson', () => {
  it('the bundled seed rule alerts on exactly the planted positives', async () => {
    const scenarios = new Map<string, Set<string>>();
    for (const line of readFileSync(SAMPLE, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const doc = JSON.parse(line) as Record<string, unknown>;
      const src = (doc._source as Record<string, unknown> | undefined) ?? doc;
      const label = getField(src, 'labels.eqlite_scenario');
      if (typeof label === 'string') scenarios.set(label, new Set());
    }
    const positives = [...scenarios.keys()].filter((s) => s.startsWith('seed-positive'));
    const nearMisses = [...scenarios.keys()].filter((s) => s.startsWith('seed-nearmiss'));
    expect(positives.length).toBeGreaterThan(0);
    const { alerts } = await hunt({ rules: seedRules, inputs: [SAMPLE] });
    const shells = alerts.filter((a) => a['kibana.alert.building_block_type'] === undefined);
    const blocks = alerts.filter((a) => a['kibana.alert.building_block_type'] === 'default');
    const alerted = new Set(blocks.map((a) => String(getField(a, 'labels.eqlite_scenario'))));
    expect([...alerted].sort()).toEqual([...positives].sort());
    for (const n of nearMisses) expect(alerted.has(n)).toBe(false);
    // Each positive is one sequence: one shell and two building blocks.
    expect(shells).toHaveLength(positives.length);
    expect(blocks).toHaveLength(2 * positives.length);
  });
});
