// Cluster mode against one real nats-server (skipped when it is not installed; .ci/run installs
// it): the publisher's partition function is the server's own `partition()` mapping; a retried
// publish is stored once; a checkpoint commit by a reader whose partition was claimed by another
// is refused (fencing); a replay reads exactly one partition from a store time.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { openCluster, type ClusterResources } from '../src/cluster/nats.js';
import { JetStreamEventLog } from '../src/cluster/jetstream-log.js';
import { partitionOfKey } from '../src/cluster/partition.js';
import { RealtimeBudget } from '../src/cluster/budget.js';
import { defaultClusterConfig, defaultConfig } from '../src/serve/config.js';
import { FencedError, type LogEvent } from '../src/serve/event-log.js';
import { batchOf, Op, type SimpleItem } from '../src/serve/store/event-store.js';
import type { Service as ServiceT } from '../src/serve/service.js';
import { NatsCluster, natsServerPath, NO_NATS } from './nats-helpers.js';
import { makeRule } from './detect-helpers.js';

const nats = natsServerPath();
const log = pino({ level: 'silent' });

describe.runIf(nats !== null)(nats ? 'cluster mode on one nats-server' : NO_NATS, () => {
  let server: NatsCluster;
  let nc: NatsConnection;
  const opened: ClusterResources[] = [];
  const open = async (partitions: number) => {
    const config = defaultConfig();
    config.retention.maxBytes = 64 * 1024 * 1024;
    config.cluster = { ...defaultClusterConfig(server.urls), name: 'unit', partitions, nodeId: `n${opened.length}` };
    const res = await openCluster(config, log);
    opened.push(res);
    return res;
  };

  beforeAll(async () => {
    server = await NatsCluster.start(1, ['mappings = { "map.*": "mapped.{{partition(8,1)}}.{{wildcard(1)}}" }']);
    nc = await connect({ servers: server.urls });
  }, 120_000);

  afterAll(async () => {
    for (const r of opened) await r.nc.close();
    await nc?.close();
    await server?.stop();
  });

  test("the publisher's partition is the server's partition(8, host) for 40 hosts", async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'MAPPED', subjects: ['mapped.>'] });
    const js = jetstream(nc);
    for (let i = 0; i < 40; i++) await js.publish(`map.host${i}`, 'x');
    const c = await js.consumers.get('MAPPED');
    const msgs = await c.fetch({ max_messages: 40, expires: 5000 });
    const got: Record<string, number> = {};
    for await (const m of msgs) {
      const [, p, host] = m.subject.split('.');
      got[host!] = Number(p);
    }
    const mine = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`host${i}`, partitionOfKey(`host${i}`, 8)]));
    expect(got).toEqual(mine);
    // Spread: every partition gets some of the 40 hosts.
    expect(new Set(Object.values(got)).size).toBe(8);
  });

  test('publish: acknowledged once stored; a retried create is stored once (409), events land in their partitions', async () => {
    const res = await open(4);
    const elog = new JetStreamEventLog(res, log, { partitionsOf: (ev) => [partitionOfKey((ev.source.host as { id: string }).id, 4)] });
    const items: SimpleItem[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((h, i) => ({ op: Op.Create, index: 'logs-x', id: `id${i}`, src: JSON.stringify({ '@timestamp': '2026-01-01T00:00:00Z', host: { id: h } }), routed: 1 }));
    const first = await elog.sink.write(batchOf(items));
    expect([...first.status]).toEqual([201, 201, 201, 201, 201, 201]);
    const again = await elog.sink.write(batchOf(items));
    expect([...again.status]).toEqual([409, 409, 409, 409, 409, 409]);
    const info = await res.jsm.streams.info(res.stream);
    expect(info.state.messages).toBe(6);
    // A replay of partition p from the start returns exactly its events, in order.
    for (let p = 0; p < 4; p++) {
      const seen: LogEvent[] = [];
      await elog.reader(p).replay({ time: 0 }, info.state.last_seq, (b) => void seen.push(...b), { signal: new AbortController().signal });
      const want = items.filter((it) => partitionOfKey((JSON.parse(it.src!) as { host: { id: string } }).host.id, 4) === p).map((it) => it.id);
      expect(seen.map((e) => e.id)).toEqual(want);
      for (const e of seen) expect(typeof (e.source.event as { ingested: string }).ingested).toBe('string');
    }
  });

  test('a Service in cluster mode: _bulk as on a single node (delete and update refused per item), alerts on both nodes, /api/cluster, /healthz', async () => {
    const { Service } = await import('../src/serve/service.js');
    const { defaultRulesDir } = await import('../src/rules/load.js');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { inferIndex } = await import('../src/events/sources.js');
    const svcs: ServiceT[] = [];
    const dirs: string[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const config = defaultConfig();
        config.data = mkdtempSync(path.join(tmpdir(), 'eqlite-cluster-svc-'));
        dirs.push(config.data);
        config.port = 0;
        config.rules = [defaultRulesDir()];
        config.retention.maxBytes = 64 * 1024 * 1024;
        config.cluster = { ...defaultClusterConfig(server.urls), name: 'svc', nodeId: `s${i}`, partitions: 4, reorderMs: 200, leaseTtlMs: 6000 };
        svcs.push(await Service.start({ config, log }));
      }
      const [a, b] = svcs as [ServiceT, ServiceT];
      const lines: string[] = [];
      for (const l of readFileSync('examples/windows-sample.ndjson', 'utf8').split('\n')) {
        if (!l.trim()) continue;
        const d = JSON.parse(l) as Record<string, unknown>;
        lines.push(JSON.stringify({ create: { _index: inferIndex(d) } }), l);
      }
      lines.push('{"delete":{"_index":"logs-x-default","_id":"1"}}', '{"update":{"_index":"logs-x-default","_id":"1"}}', '{"doc":{"a":1}}');
      const r = await fetch(`${a.url}/_bulk`, { method: 'POST', body: lines.join('\n') + '\n', headers: { 'content-type': 'application/json' } });
      const j = (await r.json()) as { errors: boolean; items: Record<string, { status: number; error?: { reason: string } }>[] };
      expect(r.status).toBe(200);
      expect(j.items).toHaveLength(1802);
      expect(j.items.slice(0, 1800).every((it) => it.create!.status === 201)).toBe(true);
      expect(j.items[1800]!.delete!.status).toBe(400);
      expect(j.items[1801]!.update!.error!.reason).toBe('[update] is not supported by eqlite serve --cluster: events are appended to a log and cannot be changed or removed');
      // The sample's 27 alerts (9 sequences and their building blocks), on both nodes.
      const total = async (url: string) => ((await (await fetch(`${url}/api/alerts?building_blocks=true&per_page=1`)).json()) as { total: number }).total;
      let got: number[] = [];
      for (let i = 0; i < 120; i++) {
        got = [await total(a.url), await total(b.url)];
        if (got[0] === 27 && got[1] === 27) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      expect(got).toEqual([27, 27]);
      const st = (await (await fetch(`${b.url}/api/cluster`)).json()) as { node: string; partitions: number; alerts: { created: number; existed: number } };
      expect(st.node).toBe('s1');
      expect(st.partitions).toBe(4);
      expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    } finally {
      for (const s of svcs) await s.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);

  test('the publisher: acknowledged with the stream sequence, a repeated id is a duplicate, no stream is "no responders"', async () => {
    const { AsyncPublisher } = await import('../src/cluster/publisher.js');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'PUBTEST', subjects: ['pubtest.>'] });
    const pub = new AsyncPublisher(nc);
    const acks = await Promise.all([1, 2, 3, 2].map((i) => pub.publish('pubtest.a', Buffer.from(`m${i}`), `id${i}`, 5000)));
    expect(acks.map((a) => a.duplicate)).toEqual([false, false, false, true]);
    expect(acks.map((a) => a.seq).slice(0, 3).sort()).toEqual([1, 2, 3]);
    expect(acks[3]!.seq).toBe(acks[1]!.seq);
    expect((await jsm.streams.info('PUBTEST')).state.messages).toBe(3);
    await expect(pub.publish('nostream.a', Buffer.from('x'), 'x1', 5000)).rejects.toThrow(/no responders/);
    expect(pub.inFlight).toBe(0);
    pub.close();
  });

  test('the real-time budget admits max_signals distinct groups per rule and interval; a group offered again (a replay) is admitted for free', async () => {
    const res = await open(4);
    const a = new RealtimeBudget(res.buckets.budget, log);
    const b = new RealtimeBudget(res.buckets.budget, log);
    const rule = makeRule({ name: 'budget unit', query: 'process where true', max_signals: 3, interval: '5m' });
    const t = Date.parse('2026-01-01T00:01:00Z');
    // Two nodes offer groups; g1 and g2 twice each (the second time by the node that took a partition over).
    const got = [];
    for (const [who, g] of [[a, 'g1'], [b, 'g2'], [b, 'g1'], [a, 'g2'], [a, 'g3'], [b, 'g3'], [b, 'g4'], [a, 'g1']] as const) got.push(`${g}:${await who.take(rule, g, t)}`);
    expect(got).toEqual(['g1:true', 'g2:true', 'g1:true', 'g2:true', 'g3:true', 'g3:true', 'g4:false', 'g1:true']);
    expect(a.refused + b.refused).toBe(1);
    // Concurrent offers of distinct groups: exactly max_signals admitted.
    const other = makeRule({ name: 'budget race', query: 'process where true', max_signals: 5, interval: '5m' });
    const race = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).take(other, `r${i}`, t)));
    expect(race.filter(Boolean)).toHaveLength(5);
    // The next interval has a budget of its own.
    expect(await a.take(rule, 'g4', t + 5 * 60_000)).toBe(true);
  });

  test('fencing: once another reader claimed the partition, the old reader cannot acknowledge', async () => {
    const a = new JetStreamEventLog(await open(4), log, { partitionsOf: () => [] }).reader(2);
    const b = new JetStreamEventLog(await open(4), log, { partitionsOf: () => [] }).reader(2);
    expect(await a.claim()).toBe(null);
    await a.ack({ position: 5, storedAt: 1000 });
    await a.ack({ position: 7, storedAt: 1100, stateFrom: 400 });
    // The new reader starts from the old one's last acknowledgement (with its state's store time)…
    expect(await b.claim()).toEqual({ position: 7, storedAt: 1100, stateFrom: 400 });
    // …and the old one is fenced.
    await expect(a.ack({ position: 9, storedAt: 1200 })).rejects.toBeInstanceOf(FencedError);
    await b.ack({ position: 9, storedAt: 1200 });
    expect(await a.claim()).toEqual({ position: 9, storedAt: 1200 });
    await expect(b.ack({ position: 10, storedAt: 1300 })).rejects.toBeInstanceOf(FencedError);
  });
});
