import { describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import type { ExceptionItem, ExceptionList, Rule } from '../src/rules/types.js';
import { seedPair, tempDir, writeNdjson } from './detect-helpers.js';

const seed = loadRules([defaultRulesDir()]).rules[0]!;
const withList = (r: Rule): Rule => ({ ...r, exceptions_list: [{ id: 'l1', list_id: 'wmi-exc', namespace_type: 'single', type: 'rule_default' }] });
const list = (items: Omit<ExceptionItem, 'list_id' | 'namespace_type' | 'name'>[]): ExceptionList => ({
  list_id: 'wmi-exc',
  id: 'l1',
  name: 'WMI exceptions',
  namespace_type: 'single',
  type: 'rule_default',
  items: items.map((i) => ({ ...i, list_id: 'wmi-exc', namespace_type: 'single', name: i.item_id })),
});

describe('hunt exceptions', () => {
  const dir = tempDir();
  // Two sequences: alice on h1, bob on h2.
  const input = writeNdjson(dir, 'seq.ndjson', [
    ...seedPair('2024-05-01T10:00:00Z', '2024-05-01T10:00:02Z', 'h1', 'alice'),
    ...seedPair('2024-05-01T10:01:00Z', '2024-05-01T10:01:02Z', 'h2', 'bob'),
  ]);
  const users = (alerts: Record<string, unknown>[]) =>
    alerts.filter((a) => a['kibana.alert.building_block_type'] === undefined).map((a) => (a.user as { name: string }).name);

  it('without exceptions both sequences alert', async () => {
    const { alerts } = await hunt({ rules: [withList(seed)], exceptionLists: [list([])], inputs: [input] });
    expect(users(alerts)).toEqual(['alice', 'bob']);
  });

  it('drops a sequence when an exception matches its FIRST event only', async () => {
    // Only the library-load step has dll.name; the process step does not.
    const exc = list([{ item_id: 'i1', entries: [{ type: 'match', field: 'dll.name', operator: 'included', value: 'wmiutils.dll' }, { type: 'match', field: 'host.id', operator: 'included', value: 'h2' }] }]);
    const { alerts, stats } = await hunt({ rules: [withList(seed)], exceptionLists: [exc], inputs: [input] });
    expect(users(alerts)).toEqual(['alice']);
    expect(alerts).toHaveLength(3);
    expect(stats.perRule[0]!.excepted).toBe(1);
    expect(stats.perRule[0]!.dispatched).toBe(4);
  });

  it('drops a sequence when an exception matches its LAST event only', async () => {
    const exc = list([{ item_id: 'i2', entries: [{ type: 'match', field: 'process.parent.name', operator: 'included', value: 'wmiprvse.exe' }, { type: 'match', field: 'user.name', operator: 'included', value: 'alice' }] }]);
    const { alerts, stats } = await hunt({ rules: [withList(seed)], exceptionLists: [exc], inputs: [input] });
    expect(users(alerts)).toEqual(['bob']);
    expect(stats.perRule[0]!.excepted).toBe(1);
  });

  it('honours excluded operators', async () => {
    const exc = list([
      // "user.name is not bob": excepts alice's events.
      { item_id: 'not-bob', entries: [{ type: 'match', field: 'user.name', operator: 'excluded', value: 'bob' }] },
    ]);
    const { alerts, stats } = await hunt({ rules: [withList(seed)], exceptionLists: [exc], inputs: [input] });
    expect(users(alerts)).toEqual(['bob']);
    expect(stats.perRule[0]!.excepted).toBe(2);
  });

  it("evaluates expire_time at each run's start, as Kibana does, not against the wall clock", async () => {
    const bobUntil = (expire: string) =>
      list([{ item_id: 'bob-until', expire_time: expire, entries: [{ type: 'match', field: 'user.name', operator: 'included', value: 'bob' }] }]);
    const shells = (alerts: Record<string, unknown>[]) =>
      alerts.filter((a) => a['kibana.alert.building_block_type'] === undefined).map((a) => [(a.user as { name: string }).name, a['@timestamp']]);
    const run = (expire: string) => hunt({ rules: [withList(seed)], exceptionLists: [bobUntil(expire)], inputs: [input], now: Date.parse('2030-01-01T00:00:00Z') });
    // The seed rule runs every 5m over now-9m: alice's sequence (10:00:00–10:00:02) lies in the
    // window of the run at 10:05 only, bob's (10:01:00–10:01:02) in those of 10:05 and 10:10.
    const midway = await run('2024-05-01T10:07:00Z'); // active for the 10:05 run, expired for 10:10
    expect(shells(midway.alerts)).toEqual([
      ['alice', '2024-05-01T10:05:00.000Z'],
      ['bob', '2024-05-01T10:10:00.000Z'],
    ]);
    expect(midway.stats.perRule[0]!.excepted).toBe(2); // bob's two events, withheld from one run
    const later = await run('2024-05-01T10:12:00Z'); // active for both runs
    expect(shells(later.alerts)).toEqual([['alice', '2024-05-01T10:05:00.000Z']]);
    const earlier = await run('2024-05-01T10:04:00Z'); // expired before either run started
    expect(shells(earlier.alerts)).toEqual([
      ['alice', '2024-05-01T10:05:00.000Z'],
      ['bob', '2024-05-01T10:05:00.000Z'],
    ]);
    expect(earlier.stats.perRule[0]!.excepted).toBe(0);
  });

  it('warns about a referenced list that was not loaded', async () => {
    const { alerts, stats } = await hunt({ rules: [withList(seed)], inputs: [input] });
    expect(users(alerts)).toEqual(['alice', 'bob']);
    expect(stats.warnings).toContain(
      'rule "Windows Script Interpreter Executing Process via WMI": exception list wmi-exc (single) not found; its exceptions are not applied',
    );
  });
});
