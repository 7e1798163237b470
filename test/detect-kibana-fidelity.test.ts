// End-to-end through `eqlite hunt` (runHunt / hunt()): ids that do not depend on how inputs are
// named, a create-only --db, the reason and original_time in hunt output, rule filters, value
// lists as Kibana applies them to EQL rules, per-event overrides, and Elasticsearch exports whose
// hits carry data stream backing indices.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runHunt } from '../src/cli/hunt.js';
import { hunt } from '../src/detect/hunt.js';
import { dataStreamOf } from '../src/detect/index-pattern.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import type { ExceptionList, Rule } from '../src/rules/types.js';
import { makeRule, seedPair, tempDir, writeNdjson } from './detect-helpers.js';
import { runCli } from './cli-helpers.js';

const repo = path.resolve(import.meta.dirname, '..');
const sample = path.join(repo, 'examples', 'windows-sample.ndjson');

/** Runs the real `eqlite hunt` (src/cli/main.ts under tsx) in `cwd`, without blocking the test worker. */
async function cli(args: string[], cwd = repo, input?: Buffer): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runCli(['hunt', '--no-progress', ...args], { cwd, input });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const count = (db: string) => {
  const raw = new Database(db, { readonly: true });
  const n = (raw.prepare('SELECT COUNT(*) AS n FROM alerts').get() as { n: number }).n;
  raw.close();
  return n;
};

const ids = (ndjson: string) =>
  ndjson
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l)['kibana.alert.uuid'] as string)
    .sort();

describe('ids do not depend on how the inputs are named', () => {
  // Relative path from the repository, absolute path from elsewhere: Kibana would see one index.
  it('examples/ and $PWD/examples/windows-sample.ndjson into one --db store 27 rows, not 54', async () => {
    const db = path.join(tempDir(), 'alerts.db');
    const a = await cli(['examples/', '--db', db, '--format', 'none'], repo);
    expect(a.code).toBe(0);
    expect(count(db)).toBe(27);
    const b = await cli([sample, '--db', db, '--format', 'none'], tempDir());
    expect(b.code).toBe(0);
    expect(count(db)).toBe(27);
  }, 180_000);

  it('a copy under another name, a gzip of it and stdin give the same alert ids', async () => {
    const d = tempDir();
    const copy = path.join(d, 'renamed-copy.json');
    copyFileSync(sample, copy);
    const gz = path.join(d, 'x.ndjson.gz');
    writeFileSync(gz, gzipSync(readFileSync(sample)));
    const seed = loadRules([defaultRulesDir()]).rules;
    const huntIds = async (input: string) => (await hunt({ rules: seed, inputs: [input] })).alerts.map((a) => a['kibana.alert.uuid'] as string).sort();
    const base = await huntIds(sample);
    expect(base).toHaveLength(27);
    expect(await huntIds(copy)).toEqual(base);
    expect(await huntIds(gz)).toEqual(base);
    const viaStdin = await cli(['-', '--format', 'ndjson'], tempDir(), readFileSync(gz));
    expect(ids(viaStdin.out)).toEqual(base);
    // Ancestors name the event by content and position: <16 hex>:<line>.
    const first = JSON.parse(viaStdin.out.split('\n')[0]!);
    expect(first['kibana.alert.ancestors'][0].id).toMatch(/^[0-9a-f]{16}:\d+$/);
  }, 180_000);

  it('worker threads and the main thread give the same ids', async () => {
    const d = tempDir();
    copyFileSync(sample, path.join(d, 'a.ndjson'));
    writeNdjson(d, 'b.ndjson', seedPair('2024-05-01T10:00:00Z', '2024-05-01T10:00:02Z'));
    const seed = loadRules([defaultRulesDir()]).rules;
    const main = await hunt({ rules: seed, inputs: [d], threads: 0 });
    const workers = await hunt({ rules: seed, inputs: [d], threads: 2 });
    expect(workers.alerts.map((a) => a['kibana.alert.uuid'])).toEqual(main.alerts.map((a) => a['kibana.alert.uuid']));
    expect(main.alerts).toHaveLength(30);
  });

  it('two identical events at different lines stay two documents', async () => {
    const d = tempDir();
    const r = makeRule({ name: 'any process', index: ['winlogbeat-*'], query: 'process where true' });
    const ev = seedPair('2024-05-01T10:00:00Z', '2024-05-01T10:00:02Z')[1]!;
    const f = writeNdjson(d, 'twice.ndjson', [ev, ev]);
    const { alerts } = await hunt({ rules: [r], inputs: [f] });
    expect(alerts).toHaveLength(2);
    const anc = alerts.map((a) => (a['kibana.alert.ancestors'] as { id: string }[])[0]!.id);
    expect(anc[0]!.split(':')[0]).toBe(anc[1]!.split(':')[0]);
    expect(anc.map((x) => x.split(':')[1])).toEqual(['1', '2']);
  });
});

describe('--db is create-only', () => {
  it('a rerun never rewrites an alert that is already stored', async () => {
    const db = path.join(tempDir(), 'alerts.db');
    const quiet = { stdout: new PassThrough(), stderr: new PassThrough() };
    expect(await runHunt([sample], { db, format: 'none', progress: false }, quiet)).toBe(0);
    const raw = new Database(db);
    raw.prepare("UPDATE alerts SET doc = json_set(doc, '$.\"kibana.alert.workflow_status\"', 'closed'), reason = 'triaged'").run();
    raw.close();
    expect(await runHunt([sample], { db, format: 'none', progress: false }, quiet)).toBe(0);
    const again = new Database(db, { readonly: true });
    const rows = again.prepare("SELECT reason, json_extract(doc, '$.\"kibana.alert.workflow_status\"') AS status FROM alerts").all() as { reason: string; status: string }[];
    again.close();
    expect(rows).toHaveLength(27);
    expect(rows.every((r) => r.reason === 'triaged' && r.status === 'closed')).toBe(true);
  });
});

describe('reason and original_time in hunt output', () => {
  it('are Kibana\'s for single-event alerts', async () => {
    const d = tempDir();
    const r = makeRule({ name: 'Net', severity: 'high', risk_score: 73, index: ['logs-*'], query: 'network where true' });
    const f = writeNdjson(d, 'net.ndjson', [
      {
        '@timestamp': '2025-03-10T09:00:00.5+02:00',
        data_stream: { type: 'logs', dataset: 'x', namespace: 'default' },
        event: { category: ['network'] },
        source: { ip: '10.0.0.1', address: '10.0.0.1', port: 5000 },
        destination: { ip: '8.8.8.8', port: '53' },
        host: { name: 'h' },
      },
    ]);
    const { alerts } = await hunt({ rules: [r], inputs: [f] });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!['kibana.alert.reason']).toBe('network event with source 10.0.0.1 destination 8.8.8.8:53, on h created high alert Net.');
    expect(alerts[0]!['kibana.alert.original_time']).toBe('2025-03-10T07:00:00.500Z');
    expect(alerts[0]!['kibana.alert.original_data_stream.dataset']).toBe('x');
  });
});

describe('rule filters are part of the search', () => {
  const d = tempDir();
  const proc = (ts: string, host: string, name?: string) => ({
    '@timestamp': ts,
    data_stream: { type: 'logs', dataset: 'endpoint.events.process', namespace: 'default' },
    event: { category: ['process'], type: ['start'] },
    host: { name: host },
    ...(name ? { process: { name, pid: 100 } } : {}),
  });
  const f = writeNdjson(d, 'p.ndjson', [
    proc('2024-01-01T00:00:00Z', 'Host-b4d9hu1a56', 'cmd.exe'),
    proc('2024-01-01T00:00:01Z', 'Host-b4d9hu1a56'),
    proc('2024-01-01T00:00:02Z', 'other', 'cmd.exe'),
    proc('2024-01-01T00:00:03Z', 'Host-b4d9hu1a56', 'powershell.exe'),
  ]);
  // Kibana's vector (build_eql_search_request.test.ts "should build a request with filters").
  const kibanaFilters = [
    { meta: { alias: null, negate: false, disabled: false, type: 'exists', key: 'process.name', value: 'exists' }, query: { exists: { field: 'process.name' } } },
    { meta: { alias: null, negate: false, disabled: false, type: 'phrase', key: 'host.name', params: { query: 'Host-b4d9hu1a56' } }, query: { match_phrase: { 'host.name': 'Host-b4d9hu1a56' } } },
  ];
  const rule = (filters: unknown[]) => makeRule({ name: 'procs', index: ['logs-endpoint.events.process-*'], query: 'process where true', filters });
  const names = (alerts: Record<string, unknown>[]) => alerts.map((a) => `${(a.host as { name: string }).name}/${(a.process as { name?: string } | undefined)?.name ?? '-'}`);

  it('exists and match_phrase filters select the events', async () => {
    const { alerts, stats } = await hunt({ rules: [rule(kibanaFilters)], inputs: [f] });
    expect(names(alerts)).toEqual(['Host-b4d9hu1a56/cmd.exe', 'Host-b4d9hu1a56/powershell.exe']);
    expect(stats.perRule[0]!.filtered).toBe(2);
    // The filters are kept in the alert's rule parameters.
    expect((alerts[0]!['kibana.alert.rule.parameters'] as { filters: unknown }).filters).toEqual(kibanaFilters);
  });

  it('negate excludes, disabled is ignored, legacy and bool/range filters work', async () => {
    const negated = [{ meta: { negate: true, disabled: false }, query: { match_phrase: { 'process.name': 'cmd.exe' } } }];
    expect(names((await hunt({ rules: [rule(negated)], inputs: [f] })).alerts)).toEqual(['Host-b4d9hu1a56/-', 'Host-b4d9hu1a56/powershell.exe']);
    const disabled = [{ meta: { negate: false, disabled: true }, query: { match_phrase: { 'host.name': 'nobody' } } }];
    expect((await hunt({ rules: [rule(disabled)], inputs: [f] })).alerts).toHaveLength(4);
    const legacy = [{ meta: { negate: false, disabled: false }, exists: { field: 'process.name' } }];
    expect((await hunt({ rules: [rule(legacy)], inputs: [f] })).alerts).toHaveLength(3);
    const bool = [{ meta: {}, query: { bool: { should: [{ match: { 'process.name': 'powershell.exe' } }, { term: { 'host.name': 'other' } }], minimum_should_match: 1 } } }];
    expect(names((await hunt({ rules: [rule(bool)], inputs: [f] })).alerts)).toEqual(['other/cmd.exe', 'Host-b4d9hu1a56/powershell.exe']);
    const range = [{ meta: {}, query: { range: { '@timestamp': { gte: '2024-01-01T00:00:01Z', lt: '2024-01-01T00:00:03Z' } } } }];
    expect(names((await hunt({ rules: [rule(range)], inputs: [f] })).alerts)).toEqual(['Host-b4d9hu1a56/-', 'other/cmd.exe']);
  });

  it('a filter that excludes one step of a sequence kills the sequence', async () => {
    const seed = loadRules([defaultRulesDir()]).rules[0]!;
    const s = writeNdjson(tempDir(), 'seq.ndjson', [...seedPair('2024-05-01T10:00:00Z', '2024-05-01T10:00:02Z', 'h1'), ...seedPair('2024-05-01T10:01:00Z', '2024-05-01T10:01:02Z', 'h2')]);
    const withFilter: Rule = { ...seed, extra: { ...seed.extra, filters: [{ meta: { negate: true }, query: { match_phrase: { 'dll.name': 'wmiutils.dll' } } }, { meta: {}, query: { term: { 'host.id': 'h2' } } }] } };
    const { alerts } = await hunt({ rules: [withFilter], inputs: [s] });
    expect(alerts).toEqual([]);
  });

  it('a filter eqlite cannot evaluate skips the rule with the reason', async () => {
    const bad = [{ meta: {}, query: { query_string: { query: 'host.name:x' } } }];
    const { stats } = await hunt({ rules: [rule(bad)], inputs: [f] });
    expect(stats.rulesRun).toBe(0);
    expect(stats.rulesSkipped[0]!.reason).toBe('rule filters cannot be applied: filter 1: query type "query_string" is not supported offline');
  });
});

describe('value lists in exceptions of EQL rules', () => {
  const d = tempDir();
  const f = writeNdjson(d, 'v.ndjson', [
    { '@timestamp': '2024-01-01T00:00:00Z', data_stream: { type: 'logs', dataset: 'x', namespace: 'default' }, event: { category: ['process'] }, user: { name: 'svc' } },
    { '@timestamp': '2024-01-01T00:00:01Z', data_stream: { type: 'logs', dataset: 'x', namespace: 'default' }, event: { category: ['process'] }, user: { name: 'alice' } },
  ]);
  const rule = makeRule({
    name: 'procs',
    index: ['logs-*'],
    query: 'process where true',
    exceptions_list: [{ id: 'L', list_id: 'L', namespace_type: 'single', type: 'detection' }],
  });
  const lists = (type: string): ExceptionList[] => [
    {
      list_id: 'L',
      id: 'L',
      name: 'L',
      namespace_type: 'single',
      type: 'detection',
      items: [{ item_id: 'i', list_id: 'L', name: 'service accounts', namespace_type: 'single', entries: [{ type: 'list', field: 'user.name', operator: 'included', list: { id: 'svc', type } }] }],
    },
  ];
  it('applies keyword lists', async () => {
    const { alerts, stats } = await hunt({ rules: [rule], exceptionLists: lists('keyword'), valueLists: new Map([['svc', new Set(['svc'])]]), inputs: [f] });
    expect(alerts.map((a) => (a.user as { name: string }).name)).toEqual(['alice']);
    expect(stats.warnings).toEqual([]);
  });
  it('does not apply text lists or lists over 65,536 values, with Kibana\'s warning', async () => {
    for (const [type, values] of [
      ['text', new Set(['svc'])],
      ['keyword', new Set(['svc', ...Array.from({ length: 65536 }, (_, i) => `u${i}`)])],
    ] as const) {
      const r = await hunt({ rules: [rule], exceptionLists: lists(type), valueLists: new Map([['svc', values]]), inputs: [f] });
      expect(r.alerts).toHaveLength(2);
      expect(r.stats.warnings).toContain("rule \"procs\": The following exceptions won't be applied to rule execution: service accounts");
    }
  });
  it('applies ip_range lists up to 200 from-to ranges', async () => {
    const ipRule = makeRule({ ...{ name: 'ips', index: ['logs-*'], query: 'network where true' }, exceptions_list: [{ id: 'L', list_id: 'L', namespace_type: 'single', type: 'detection' }] });
    const g = writeNdjson(tempDir(), 'ip.ndjson', [
      { '@timestamp': '2024-01-01T00:00:00Z', data_stream: { type: 'logs', dataset: 'x', namespace: 'default' }, event: { category: ['network'] }, source: { ip: '10.0.0.5' } },
    ]);
    const ipLists: ExceptionList[] = lists('ip_range').map((l) => ({ ...l, items: l.items.map((i) => ({ ...i, entries: [{ type: 'list', field: 'source.ip', operator: 'included', list: { id: 'nets', type: 'ip_range' } }] })) }));
    const ranges = (n: number) => new Set(Array.from({ length: n }, (_, i) => `10.0.${i}.0-10.0.${i}.255`));
    const within = await hunt({ rules: [ipRule], exceptionLists: ipLists, valueLists: new Map([['nets', ranges(200)]]), inputs: [g] });
    expect(within.alerts).toHaveLength(0);
    const over = await hunt({ rules: [ipRule], exceptionLists: ipLists, valueLists: new Map([['nets', ranges(201)]]), inputs: [g] });
    expect(over.alerts).toHaveLength(1);
    expect(over.stats.warnings).toContain("rule \"ips\": The following exceptions won't be applied to rule execution: service accounts");
  });
});

describe('per-event overrides on single-event alerts', () => {
  it('severity_mapping, risk_score_mapping and rule_name_override', async () => {
    const d = tempDir();
    const r = makeRule({
      name: 'Endpoint alert',
      severity: 'low',
      risk_score: 21,
      index: ['logs-*'],
      query: 'any where true',
      rule_name_override: 'message',
      risk_score_mapping: [{ field: 'event.risk_score', operator: 'equals', value: '' }],
      severity_mapping: [
        { field: 'event.severity', operator: 'equals', value: '99', severity: 'critical' },
        { field: 'event.severity', operator: 'equals', value: '73', severity: 'high' },
        { field: 'event.severity', operator: 'equals', value: '21', severity: 'low' },
      ],
    });
    const ds = { type: 'logs', dataset: 'endpoint.alerts', namespace: 'default' };
    const f = writeNdjson(d, 'o.ndjson', [
      { '@timestamp': '2024-01-01T00:00:00Z', data_stream: ds, message: 'Malware Prevention Alert', event: { severity: 73, risk_score: 88 } },
      { '@timestamp': '2024-01-01T00:00:01Z', data_stream: ds, event: { severity: 5, risk_score: 'n/a' } },
    ]);
    const { alerts } = await hunt({ rules: [r], inputs: [f] });
    expect(alerts.map((a) => [a['kibana.alert.rule.name'], a['kibana.alert.severity'], a['kibana.alert.risk_score'], a['kibana.alert.rule.severity'], a['kibana.alert.rule.risk_score']])).toEqual([
      ['Malware Prevention Alert', 'high', 88, 'low', 21],
      ['Endpoint alert', 'low', 21, 'low', 21],
    ]);
    expect(alerts[0]!['kibana.alert.reason']).toBe('event created high alert Malware Prevention Alert.');
    // Kibana sorts the mapping by severity (in place) when it applies it.
    expect((alerts[0]!['kibana.alert.rule.severity_mapping'] as { severity: string }[]).map((m) => m.severity)).toEqual(['low', 'high', 'critical']);
  });
});

describe('Elasticsearch exports with data stream backing indices', () => {
  it('names the data stream of a backing index', () => {
    expect(dataStreamOf('.ds-logs-endpoint.events.process-default-2024.04.28-000007')).toBe('logs-endpoint.events.process-default');
    expect(dataStreamOf('partial-.ds-logs-x-default-2024.04.28-000001')).toBe('logs-x-default');
    expect(dataStreamOf('logs-endpoint.events.process-default')).toBeNull();
  });

  it('routes hits by their data stream and keeps the backing index in ids and ancestry', async () => {
    const d = tempDir();
    const [lib, proc] = seedPair('2024-05-01T10:00:00Z', '2024-05-01T10:00:02Z');
    const hits = [
      { _index: '.ds-logs-endpoint.events.library-default-2024.04.28-000007', _id: 'AAA', _source: lib },
      { _index: '.ds-logs-endpoint.events.process-default-2024.04.28-000007', _id: 'BBB', _source: proc },
    ];
    mkdirSync(path.join(d, 'export'));
    const file = path.join(d, 'export', 'search.json');
    writeFileSync(file, JSON.stringify({ took: 3, hits: { total: { value: 2 }, hits } }));
    const seed = loadRules([defaultRulesDir()]).rules;
    const { alerts, stats } = await hunt({ rules: seed, inputs: [file] });
    expect(stats.noIndex).toBe(0);
    expect(alerts).toHaveLength(3);
    expect((alerts[0]!['kibana.alert.ancestors'] as unknown[])[0]).toEqual({ id: 'AAA', index: '.ds-logs-endpoint.events.library-default-2024.04.28-000007', type: 'event', depth: 0 });
  });
});

const evtxDir = path.resolve(repo, '..', 'shared', 'corpus', 'evtx');
const corpus = path.resolve(repo, '..', 'shared', 'corpus', 'elastic-rules', 'eql-rules.ndjson');

describe.skipIf(!existsSync(evtxDir) || !existsSync(corpus))('EVTX ids', () => {
  it('come from the record, not the path: a renamed copy gives the same alert ids', async () => {
    const rules = loadRules([corpus]).rules.filter((r) => !r.unsupported);
    const file = path.join(evtxDir, 'sysmon-uacme64-dns-filedelete.evtx');
    const copy = path.join(tempDir(), 'renamed.evtx');
    copyFileSync(file, copy);
    const a = await hunt({ rules, inputs: [file] });
    const b = await hunt({ rules, inputs: [copy] });
    expect(a.alerts.length).toBeGreaterThan(0);
    expect(b.alerts.map((x) => x['kibana.alert.uuid'])).toEqual(a.alerts.map((x) => x['kibana.alert.uuid']));
    expect((a.alerts[0]!['kibana.alert.ancestors'] as { id: string }[])[0]!.id).toMatch(/^[0-9a-f]{16}:r\d+$/);
  }, 120_000);
});

describe("a rule's own timestamp_field", () => {
  it('orders the events its EQL query sees, as the EQL search does', async () => {
    const d = tempDir();
    const ds = { type: 'logs', dataset: 'x', namespace: 'default' };
    const ev = (ts: string, created: string | undefined, name: string) => ({
      '@timestamp': ts,
      data_stream: ds,
      event: { category: ['process'], ...(created ? { created } : {}) },
      host: { id: 'h' },
      process: { name },
    });
    // By @timestamp "b" comes first; by event.created "a" does.
    const f = writeNdjson(d, 't.ndjson', [
      ev('2024-01-01T00:00:00Z', '2024-01-01T00:00:09Z', 'b'),
      ev('2024-01-01T00:00:01Z', '2024-01-01T00:00:05Z', 'a'),
      ev('2024-01-01T00:00:02Z', undefined, 'a'),
    ]);
    const query = 'sequence by host.id [process where process.name == "a"] [process where process.name == "b"]';
    const plain = makeRule({ name: 'by @timestamp', index: ['logs-*'], query });
    const own = makeRule({ name: 'by event.created', index: ['logs-*'], query, timestamp_field: 'event.created' });
    const r = await hunt({ rules: [plain, own], inputs: [f] });
    const shells = r.alerts.filter((a) => a['kibana.alert.group.index'] === undefined).map((a) => a['kibana.alert.rule.name']);
    expect(shells).toEqual(['by event.created']);
    expect(r.stats.warnings).toContain('rule "by event.created": 1 event(s) without a event.created (the rule\'s timestamp_field) cannot be ordered and were not searched');
    expect((r.alerts[0]!['kibana.alert.rule.parameters'] as { timestamp_field: string }).timestamp_field).toBe('event.created');
  });
});
