// Event search in cluster mode against one real nats-server (skipped when it is not installed):
// `_eql/search` and `_count` on event indices, asked of a node that did not ingest the events,
// answer exactly what a single node that stored the same events answers — each event once,
// although a rule keyed by another field made partition copies of many of them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inferIndex } from '../src/events/sources.js';
import { defaultRulesDir } from '../src/rules/load.js';
import { defaultClusterConfig, defaultConfig } from '../src/serve/config.js';
import type { Service as ServiceT } from '../src/serve/service.js';
import { NatsCluster, natsServerPath, NO_NATS } from './nats-helpers.js';

const nats = natsServerPath();
const log = pino({ level: 'silent' });

/** The seed rule, and a rule joined by process.entity_id (its events get copies in other partitions). */
function rulesDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-cluster-rules-'));
  writeFileSync(path.join(dir, 'seed.toml'), readFileSync(path.join(defaultRulesDir(), 'windows', 'initial_access_scripts_process_started_via_wmi.toml'), 'utf8'));
  writeFileSync(
    path.join(dir, 'entity.toml'),
    [
      '[metadata]',
      'creation_date = "2026/12/05"',
      '[rule]',
      'author = ["eqlite tests"]',
      'description = "Two process events of one entity."',
      'index = ["logs-*"]',
      'language = "eql"',
      'license = "Elastic License v2"',
      'name = "Entity pair"',
      'risk_score = 21',
      'rule_id = "6f1e2d3c-4b5a-4978-8a1b-2c3d4e5f6a7b"',
      'severity = "low"',
      'type = "eql"',
      "query = '''",
      'sequence by process.entity_id with maxspan=1s [process where true] [library where true]',
      "'''",
      '',
    ].join('\n'),
  );
  return dir;
}

function bulkBody(): string {
  return (
    readFileSync('examples/windows-sample.ndjson', 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l, i) => `${JSON.stringify({ create: { _index: inferIndex(JSON.parse(l) as Record<string, unknown>), _id: `e${i}` } })}\n${l}`)
      .join('\n') + '\n'
  );
}

describe.runIf(nats !== null)(nats ? 'cluster mode: event search over the stream' : NO_NATS, () => {
  let server: NatsCluster;
  const dirs: string[] = [];
  const svcs: ServiceT[] = [];
  let single: ServiceT;
  let other: ServiceT;

  beforeAll(async () => {
    server = await NatsCluster.start(1);
    const { Service } = await import('../src/serve/service.js');
    const rules = rulesDir();
    dirs.push(rules);
    for (let i = 0; i < 3; i++) {
      const config = defaultConfig();
      config.data = mkdtempSync(path.join(tmpdir(), 'eqlite-cluster-search-'));
      dirs.push(config.data);
      config.port = 0;
      config.rules = [rules];
      config.retention.maxBytes = 64 * 1024 * 1024;
      // Node 0 is a single node; 1 and 2 form a cluster.
      if (i > 0) config.cluster = { ...defaultClusterConfig(server.urls), name: 'search', nodeId: `q${i}`, partitions: 4, reorderMs: 200 };
      svcs.push(await Service.start({ config, log }));
    }
    single = svcs[0]!;
    other = svcs[2]!;
    const body = bulkBody();
    for (const s of [svcs[0]!, svcs[1]!]) {
      const r = await fetch(`${s.url}/_bulk`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
      expect(((await r.json()) as { errors: boolean }).errors).toBe(false);
    }
  }, 120_000);

  afterAll(async () => {
    for (const s of svcs) await s.close();
    await server?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  // The answer without `took`, and without event.ingested (each service stamped its own copy).
  const post = async (url: string, body: unknown) => {
    const r = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const j = JSON.parse(await r.text(), (k, v: unknown) => (k === 'ingested' ? undefined : v)) as Record<string, unknown>;
    delete j.took;
    return { status: r.status, json: j };
  };

  test('the stream holds copies of events (the entity rule), yet _count counts each event once, as a single node does', async () => {
    const res = other.cluster!.deps.res;
    const info = await res.jsm.streams.info(res.stream);
    expect(info.state.messages).toBeGreaterThan(1800);
    for (const [target, query] of [
      ['logs-*', undefined],
      ['logs-endpoint.events.*', undefined],
      ['logs-*', { term: { 'host.id': '96feae8c-1937-4284-b766-b1eea4204d5d' } }],
      ['logs-*,winlogbeat-*', { term: { 'event.category': 'process' } }],
      ['winlogbeat-*', undefined],
      ['*', undefined],
    ] as const) {
      const want = await post(`${single.url}/${target}/_count`, query ? { query } : {});
      const got = await post(`${other.url}/${target}/_count`, query ? { query } : {});
      expect(got).toEqual(want);
    }
    expect((await post(`${other.url}/*/_count`, {})).json.count).toBe(1800);
    expect((await post(`${other.url}/logs-*/_count`, {})).json.count).toBe(1134);
  });

  test('_eql/search (sequences, events, filter, head and tail, tiebreaker) answers as on a single node; the Elasticsearch client reads it', async () => {
    const queries: Record<string, unknown>[] = [
      { query: 'sequence by host.id with maxspan=5s [library where dll.name : "wmiutils.dll"] [process where process.parent.name : "wmiprvse.exe"]', size: 100 },
      { query: 'sequence by host.id with maxspan=5s [library where dll.name : "wmiutils.dll"] [process where process.parent.name : "wmiprvse.exe"]', size: 3 },
      { query: 'process where process.name : "cscript.exe"', size: 3, filter: { term: { 'host.os.type': 'windows' } }, fetch_size: 100, result_position: 'head' },
      { query: 'any where true', size: 50, tiebreaker_field: 'event.sequence' },
      { query: 'sequence by process.entity_id [process where true] [library where true]', size: 20 },
    ];
    for (const index of ['logs-*', 'logs-*,winlogbeat-*']) {
      for (const q of queries) {
        const want = await post(`${single.url}/${index}/_eql/search`, q);
        expect(want.status).toBe(200);
        const got = await post(`${other.url}/${index}/_eql/search`, q);
        expect(got).toEqual(want);
      }
    }
    const client = new Client({ node: other.url });
    const eql = await client.eql.search({ index: 'logs-*,winlogbeat-*', query: 'sequence by host.id with maxspan=5s [library where dll.name : "wmiutils.dll"] [process where process.parent.name : "wmiprvse.exe"]', size: 100 });
    expect(eql.hits.sequences).toHaveLength(13);
    await client.close();
  });
});
