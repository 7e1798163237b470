// End to end through the real `eqlite hunt` command (a child process, as a user runs it): one
// dataset checks at once what Kibana's detection engine would write for it — which matches a full
// run keeps (the most recent max_signals, with the cut reported), alert ids by Kibana's formula
// from the hits' backing indices and _ids, the reason sentence, original_time in UTC, rule filters
// — and that the alerts depend only on the data: a folder gives the alerts of its files hunted one
// by one, whatever the working directory and however the paths are typed.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, type CliResult } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';

const BACKING = '.ds-logs-endpoint.events.process-default-2024.04.28-000007';
const R1 = '6f1d2c3b-0000-4000-8000-000000000001';
const R2 = '6f1d2c3b-0000-4000-8000-000000000002';
const R3 = '6f1d2c3b-0000-4000-8000-000000000003';

const rule = (id: string, rule_id: string, fields: Record<string, unknown>) => ({
  id,
  rule_id,
  type: 'eql',
  language: 'eql',
  severity: 'low',
  risk_score: 21,
  interval: '5m',
  from: 'now-6m',
  to: 'now',
  description: rule_id,
  ...fields,
});

const rules = [
  rule(R1, 'recent-ticks', { name: 'Ticks', index: ['logs-endpoint.events.process-*'], query: 'process where process.name == "tick.exe"', max_signals: 2 }),
  rule(R2, 'net', { name: 'Net', severity: 'high', risk_score: 73, index: ['logs-network.traffic-*'], query: 'network where true' }),
  rule(R3, 'cmd-not-h2', {
    name: 'Cmd',
    index: ['logs-endpoint.events.process-*'],
    query: 'process where process.name == "cmd.exe"',
    filters: [{ meta: { negate: true, disabled: false, type: 'phrase', key: 'host.name', params: { query: 'h2' } }, query: { match_phrase: { 'host.name': 'h2' } } }],
  }),
];

const proc = (id: string, ts: string, host: string, name: string) => ({
  _index: BACKING,
  _id: id,
  _source: {
    '@timestamp': ts,
    event: { category: ['process'], type: ['start'], kind: 'event' },
    host: { name: host },
    process: { name, parent: { name: 'explorer.exe' } },
    user: { name: 'alice' },
  },
});

/** An Elasticsearch _search response: five tick.exe starts in one 5-minute run, two cmd.exe. */
const search = {
  took: 1,
  hits: {
    total: { value: 7 },
    hits: [
      proc('t1', '2024-05-01T10:00:10Z', 'h1', 'tick.exe'),
      proc('t2', '2024-05-01T10:00:20Z', 'h1', 'tick.exe'),
      proc('t3', '2024-05-01T10:00:30Z', 'h1', 'tick.exe'),
      proc('t4', '2024-05-01T10:00:40Z', 'h1', 'tick.exe'),
      proc('t5', '2024-05-01T10:00:50Z', 'h1', 'tick.exe'),
      proc('c1', '2024-05-01T10:01:00Z', 'h1', 'cmd.exe'),
      proc('c2', '2024-05-01T10:01:01Z', 'h2', 'cmd.exe'),
    ],
  },
};

/** Agent-style documents without _id, in another folder, in a +02:00 offset. */
const net = [
  {
    '@timestamp': '2024-05-01T12:00:00.5+02:00',
    data_stream: { type: 'logs', dataset: 'network.traffic', namespace: 'default' },
    event: { category: ['network'], type: ['connection'] },
    source: { ip: '10.0.0.1', port: 5000 },
    destination: { ip: '8.8.8.8', port: '53' },
    host: { name: 'h3' },
  },
];

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Kibana's generateId for an alert on one EQL hit (no _version), default space. */
const kibanaId = (index: string, id: string, ruleUuid: string) => sha256(index + id + 'undefined' + 'default:' + ruleUuid);

type Alert = Record<string, unknown>;
const parse = (r: CliResult): Alert[] =>
  r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Alert);
const uuids = (alerts: Alert[]) => alerts.map((a) => a['kibana.alert.uuid'] as string).sort();
const rows = (db: string) => {
  const raw = new Database(db, { readonly: true });
  const n = (raw.prepare('SELECT COUNT(*) AS n FROM alerts').get() as { n: number }).n;
  raw.close();
  return n;
};

describe('eqlite hunt writes what Kibana writes, whatever the paths', () => {
  const d = tempDir('eqlite-e2e-');
  const rulesFile = path.join(d, 'rules.json');
  const exportFile = path.join(d, 'in', 'export', 'search.json');
  const netFile = path.join(d, 'in', 'net', 'net.ndjson');
  const db = path.join(d, 'alerts.db');
  let folder: CliResult;
  let alerts: Alert[];

  beforeAll(async () => {
    mkdirSync(path.dirname(exportFile), { recursive: true });
    mkdirSync(path.dirname(netFile), { recursive: true });
    writeFileSync(rulesFile, JSON.stringify(rules));
    writeFileSync(exportFile, JSON.stringify(search));
    writeFileSync(netFile, net.map((x) => JSON.stringify(x)).join('\n') + '\n');
    // The folder, by a relative path from the directory that holds it.
    folder = await runCli(['hunt', '--no-progress', '--rules', 'rules.json', '--format', 'ndjson', '--db', 'alerts.db', 'in'], { cwd: d });
    alerts = parse(folder);
  }, 180_000);

  it('keeps the most recent max_signals matches of a full run and says how many were cut', () => {
    expect(folder.code).toBe(0);
    const ticks = alerts.filter((a) => a['kibana.alert.rule.uuid'] === R1);
    expect(ticks.map((a) => (a['kibana.alert.ancestors'] as { id: string }[])[0]!.id)).toEqual(['t4', 't5']);
    expect(folder.stderr).toContain('max_signals: 1 run(s) of 1 rule(s) reached it; 3 older match(es) were cut from those runs');
    // The run at 10:05 (runs at multiples of the interval), searching now-6m..now.
    expect(ticks[0]!['@timestamp']).toBe('2024-05-01T10:05:00.000Z');
  });

  it("ids are Kibana's, from the backing index and _id of each hit, which routes by its data stream", () => {
    const ticks = alerts.filter((a) => a['kibana.alert.rule.uuid'] === R1);
    expect(ticks.map((a) => a['kibana.alert.uuid'])).toEqual([kibanaId(BACKING, 't4', R1), kibanaId(BACKING, 't5', R1)]);
    expect(ticks[1]!['kibana.alert.ancestors']).toEqual([{ id: 't5', index: BACKING, type: 'event', depth: 0 }]);
    expect(ticks[1]!['kibana.alert.reason']).toBe('process event with process tick.exe, parent process explorer.exe, by alice on h1 created low alert Ticks.');
  });

  it("the reason and original_time are Kibana's", () => {
    const [n] = alerts.filter((a) => a['kibana.alert.rule.uuid'] === R2);
    // source.port is a number in _source: Kibana's formatter leaves it out.
    expect(n!['kibana.alert.reason']).toBe('network event with source 10.0.0.1 destination 8.8.8.8:53, on h3 created high alert Net.');
    expect(n!['kibana.alert.original_time']).toBe('2024-05-01T10:00:00.500Z');
    expect(n!['kibana.alert.original_data_stream.dataset']).toBe('network.traffic');
  });

  it('rule filters are part of the search', () => {
    const cmd = alerts.filter((a) => a['kibana.alert.rule.uuid'] === R3);
    expect(cmd.map((a) => a['kibana.alert.uuid'])).toEqual([kibanaId(BACKING, 'c1', R3)]);
  });

  it('the folder gives the alerts of its files one by one, typed as absolute paths from elsewhere', async () => {
    expect(alerts).toHaveLength(4);
    expect(rows(db)).toBe(4);
    const elsewhere = tempDir('eqlite-e2e-cwd-');
    const one = await runCli(['hunt', '--no-progress', '--rules', rulesFile, '--format', 'ndjson', '--db', db, exportFile], { cwd: elsewhere });
    const two = await runCli(['hunt', '--no-progress', '--rules', rulesFile, '--format', 'ndjson', '--db', db, netFile], { cwd: repoRoot });
    expect([one.code, two.code]).toEqual([0, 0]);
    expect(uuids([...parse(one), ...parse(two)])).toEqual(uuids(alerts));
    expect(parse(two)).toEqual(alerts.filter((a) => a['kibana.alert.rule.uuid'] === R2));
    // The same alerts: the create-only store holds no second copy.
    expect(rows(db)).toBe(4);
  }, 180_000);
});
