// Slow cluster test of `eqlite serve --cluster` on real nats-server processes (run by
// `npm run test:slow`, which .ci/run calls after installing nats-server from Debian):
//  * three NATS servers (JetStream, R3) and three eqlite nodes, each ingesting and detecting;
//  * two clients send bulk requests to the nodes and retry whatever was not acknowledged;
//  * under that load, kill -9 of an eqlite node (a worker holding partitions) and of a NATS
//    server (restarted later);
//  * afterwards: every acknowledged event is in the stream exactly once; the alerts, read from
//    every surviving node's API, are exactly those of hunting the same events offline (same
//    ids, none missing, none duplicated), and the alert bucket holds each id once;
//  * a workflow status set on one node and a rule disabled on another reach every node, also the
//    killed one once it is back.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, test } from 'vitest';
import { decodeEvent } from '../../src/cluster/jetstream-log.js';
import { partitionOfKey } from '../../src/cluster/partition.js';
import { hunt } from '../../src/detect/hunt.js';
import { inferIndex } from '../../src/events/sources.js';
import { loadRules } from '../../src/rules/load.js';
import { NatsCluster, natsServerPath, NO_NATS, releasePorts, reservePorts } from '../nats-helpers.js';

const ROOT = path.resolve(__dirname, '../..');
const RULES = path.join(ROOT, 'rules');
const NODE_ARGS = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')];
const NAME = 'eqtest';

interface EqNode {
  name: string;
  port: number;
  dir: string;
  log: string;
  proc: ChildProcess | null;
  url: string;
}

function startNode(n: EqNode, servers: string[]): void {
  const cfg = `${n.log}.toml`;
  writeFileSync(
    cfg,
    [
      '[log]',
      `file = ${JSON.stringify(n.log)}`,
      '[cluster]',
      `name = "${NAME}"`,
      `node_id = "${n.name}"`,
      'partitions = 8',
      'replicas = 3',
      'lease_ttl = "8s"',
      'reorder = "500ms"',
      '',
    ].join('\n'),
  );
  // The node's own output (a start-up error is one line on stderr) is kept for the failure message.
  const out = openSync(`${n.log}.out`, 'a');
  n.proc = spawn(process.execPath, [...NODE_ARGS, 'serve', '--cluster', servers.join(','), '--config', cfg, '--data', n.dir, '--listen', `127.0.0.1:${n.port}`, '--rules', RULES], {
    stdio: ['ignore', out, out],
    cwd: ROOT,
  });
  closeSync(out);
}

/** The last lines a node printed and logged, to say why it did not start. */
function tails(n: EqNode): string {
  const tail = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').slice(-6).join('\n') : '(none)');
  return `output:\n${tail(`${n.log}.out`)}\nlog:\n${tail(n.log)}`;
}

async function waitHealthy(n: EqNode, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(`${n.url}/healthz`);
      if (r.status === 200) return;
    } catch {
      /* not up yet */
    }
    const code = n.proc?.exitCode ?? n.proc?.signalCode ?? null;
    if (code !== null) throw new Error(`${n.name} (${n.url}) exited (${code}) before it answered\n${tails(n)}`);
    if (Date.now() > end) throw new Error(`${n.name} (${n.url}) did not start in ${ms / 1000} s\n${tails(n)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The sample, copied onto distinct hosts, with times moved to end a minute ago. */
function sampleCopies(copies: number): Record<string, unknown>[][] {
  const base = readFileSync(path.join(ROOT, 'examples/windows-sample.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const last = Date.parse(String((JSON.parse(base[base.length - 1]!) as Record<string, unknown>)['@timestamp']));
  const shift = Date.now() - 60_000 - last;
  const out: Record<string, unknown>[][] = [];
  for (let c = 0; c < copies; c++) {
    const docs: Record<string, unknown>[] = [];
    for (const l of base) {
      const d = JSON.parse(l) as Record<string, any>;
      d['@timestamp'] = new Date(Date.parse(d['@timestamp']) + shift).toISOString();
      if (d.host) {
        d.host.id = `${d.host.id}-${c}`;
        d.host.name = `${d.host.name}-${c}`;
      }
      docs.push(d);
    }
    out.push(docs);
  }
  return out;
}

async function alertIds(url: string): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const r = await fetch(`${url}/api/alerts?building_blocks=true&per_page=1000&page=${page}&sort=@timestamp:asc`);
    const j = (await r.json()) as { total: number; alerts: { id: string }[] };
    ids.push(...j.alerts.map((a) => a.id));
    if (j.alerts.length < 1000) return ids;
  }
}

const nats = natsServerPath();

describe.runIf(nats !== null)(nats ? 'eqlite serve --cluster on a three-server JetStream cluster' : NO_NATS, () => {
  test('kill -9 of a worker and of a NATS server under load: every acknowledged event once, alerts = offline hunt on every node', async () => {
    const cluster = await NatsCluster.start(3);
    // The nodes' HTTP ports are reserved too: w1 is killed and restarted on its own port.
    const ports = await reservePorts(3);
    const work = mkdtempSync(path.join(tmpdir(), 'eqlite-cluster-'));
    let keep = false;
    const nodes: EqNode[] = [0, 1, 2].map((i) => {
      const port = ports[i]!;
      return { name: `w${i + 1}`, port, dir: path.join(work, `w${i + 1}`), log: path.join(work, `w${i + 1}.log`), proc: null, url: `http://127.0.0.1:${port}` };
    });
    try {
      for (const n of nodes) startNode(n, cluster.urls);
      await Promise.all(nodes.map((n) => waitHealthy(n)));

      // Load: 10 copies of the sample on distinct hosts (90 alert groups: under the rule's max_signals of 100 a run, which the offline hunt applies); each client owns half the hosts (a
      // host's events arrive in order) and sends 50 events a request, to the next live node.
      const copies = sampleCopies(10);
      const total = copies.reduce((n, c) => n + c.length, 0);
      const bodies = (own: Record<string, unknown>[][]) => {
        const out: string[] = [];
        for (const docs of own) for (let i = 0; i < docs.length; i += 50) out.push(docs.slice(i, i + 50).map((d) => `{"create":{"_index":"${inferIndex(d)}"}}\n${JSON.stringify(d)}\n`).join(''));
        return out;
      };
      let retries = 0;
      let acked = 0;
      const client = async (k: number, mine: string[]) => {
        let target = k;
        for (const body of mine) {
          for (;;) {
            const n = nodes[target % nodes.length]!;
            try {
              if (!n.proc) throw new Error('node down');
              const r = await fetch(`${n.url}/_bulk`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' }, signal: AbortSignal.timeout(30_000) });
              const j = (await r.json()) as { items?: Record<string, { status: number }>[] };
              if (r.status === 200 && j.items && j.items.every((it) => Object.values(it)[0]!.status < 300 || Object.values(it)[0]!.status === 409)) {
                acked += j.items.length;
                break;
              }
            } catch {
              /* refused, reset or timed out: not acknowledged */
            }
            retries++;
            target++;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      };
      const loads = Promise.all([client(0, bodies(copies.filter((_, i) => i % 2 === 0))), client(1, bodies(copies.filter((_, i) => i % 2 === 1)))]);

      // Chaos under the load: kill -9 of node w1 (its partitions' leases expire and the others
      // take them over), then of NATS server n2, restarted 10 s later.
      await new Promise((r) => setTimeout(r, 4000));
      const w1 = nodes[0]!;
      w1.proc!.kill('SIGKILL');
      w1.proc = null;
      await new Promise((r) => setTimeout(r, 3000));
      await cluster.kill(1);
      await new Promise((r) => setTimeout(r, 10_000));
      await cluster.restart(1);
      await loads;
      expect(acked).toBe(total);

      // Every acknowledged event is in the stream once (first copies; further copies are the
      // same event in another partition).
      const nc = await connect({ servers: cluster.urls });
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const stored = new Map<string, { index: string; id: string; src: string; seq: number; ts: number }>();
      let firstCopies = 0;
      {
        const info = await jsm.streams.info(`${NAME}_events`);
        const c = await js.consumers.get(`${NAME}_events`, { filter_subjects: `${NAME}.ev.>` });
        const msgs = await c.consume();
        let seen = 0;
        for await (const m of msgs) {
          seen++;
          if (m.subject.endsWith('.p') || m.subject.startsWith(`${NAME}.ev.n.`)) {
            firstCopies++;
            const d = decodeEvent(m.data);
            stored.set(`${d.index}/${d.id}`, { index: d.index, id: d.id, src: d.src, seq: m.seq, ts: Date.parse(String((JSON.parse(d.src) as Record<string, unknown>)['@timestamp'])) });
          }
          if (seen >= info.state.messages) break;
        }
        await msgs.close();
      }
      expect(firstCopies).toBe(total);
      expect(stored.size).toBe(total);

      // The alerts of hunting those events offline (in time order, as a shipper's file would be).
      const exportFile = path.join(work, 'export.ndjson');
      const ordered = [...stored.values()].sort((a, b) => a.ts - b.ts || a.seq - b.seq);
      writeFileSync(exportFile, ordered.map((e) => JSON.stringify({ _index: e.index, _id: e.id, _source: JSON.parse(e.src) })).join('\n') + '\n');
      const { rules, exceptionLists } = loadRules([RULES]);
      const offlineAlerts = (await hunt({ rules, exceptionLists, inputs: [exportFile], threads: 0 })).alerts;
      const offline = offlineAlerts.map((a) => String(a['kibana.alert.uuid'])).sort();
      expect(offline.length).toBe(10 * 27);

      // Every surviving node serves the same alerts, equal to the offline ones (waiting for the
      // takeover's replay and the replicas).
      const live = nodes.filter((n) => n.proc);
      const end = Date.now() + 180_000;
      let got: string[][] = [];
      for (;;) {
        got = await Promise.all(live.map(async (n) => (await alertIds(n.url)).sort()));
        if (got.every((g) => g.length >= offline.length) || Date.now() > end) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (got.some((g) => g.length !== offline.length)) {
        // Say why before failing: the missing alerts (rule, host, partition, time), each node's
        // budget refusals, takeovers and partitions, and its warnings; the work directory is kept.
        keep = true;
        const have = new Set(got[0]);
        for (const a of offlineAlerts.filter((x) => !have.has(String(x['kibana.alert.uuid'])))) {
          const host = (a['host.id'] ?? (a.host as { id?: string } | undefined)?.id) as string;
          console.log(`missing: ${String(a['kibana.alert.rule.name'])} host ${host} partition ${partitionOfKey(host, 8)} time ${String(a['kibana.alert.original_time'])} building_block ${String(a['kibana.alert.building_block_type'] ?? '')}`);
        }
        for (const n of live) {
          const st = (await (await fetch(`${n.url}/api/cluster`)).json()) as Record<string, any>;
          console.log(`${n.name}: ${got[live.indexOf(n)]!.length} alerts; budget ${JSON.stringify(st.realtime_budget)}; takeovers ${String(st.takeovers)}`);
          for (const p of st.worker?.partitions ?? []) console.log(`  ${JSON.stringify(p)}`);
          const warns = readFileSync(n.log, 'utf8').split('\n').filter((l) => /"level":(40|50)/.test(l));
          console.log(warns.slice(-15).join('\n'));
        }
        console.log(`work directory kept: ${work}`);
      }
      for (const g of got) expect(g).toEqual(offline);
      // The bucket holds each alert once.
      const kvInfo = await jsm.streams.info(`KV_${NAME}_alerts`);
      expect(kvInfo.state.messages).toBe(offline.length);
      // A workflow status set on one node shows on the others; so does a rule disabled on one.
      const [a, b] = live as [EqNode, EqNode];
      const put = await fetch(`${a.url}/api/alerts/${offline[0]}/status`, { method: 'PUT', body: JSON.stringify({ status: 'acknowledged' }), headers: { 'content-type': 'application/json' } });
      expect(await put.json()).toEqual({ updated: 1, status: 'acknowledged' });
      const SEED = 'b64b183e-1a76-422d-9179-7b389513e74d';
      expect((await fetch(`${b.url}/api/rules/${SEED}/_disable`, { method: 'POST' })).status).toBe(200);
      // Both travel through JetStream buckets to every node's replica (src/cluster/alerts.ts,
      // node.ts): wait for them on every live node. A status used to stall 45-90 s after the NATS
      // server holding the replicas' consumers was restarted (test/slow/cluster-replica.test.ts);
      // the bound is far above the few seconds that takes now, even on a loaded machine.
      const viewOf = async (n: EqNode) => ({
        node: n.name,
        status: ((await (await fetch(`${n.url}/api/alerts/${offline[0]}`)).json()) as { summary: { status: string } }).summary.status,
        disabled: ((await (await fetch(`${n.url}/api/rules?enabled=false`)).json()) as { total: number }).total,
      });
      const wanted = live.map((n) => ({ node: n.name, status: 'acknowledged', disabled: 1 }));
      const propagated = Date.now() + 60_000;
      let views = await Promise.all(live.map(viewOf));
      while (JSON.stringify(views) !== JSON.stringify(wanted) && Date.now() < propagated) {
        await new Promise((r) => setTimeout(r, 250));
        views = await Promise.all(live.map(viewOf));
      }
      expect(views, `status set on ${a.name} and rule disabled on ${b.name}, as seen by every live node 60 s later`).toEqual(wanted);
      // The node that was killed comes back and catches up from the bucket.
      startNode(w1, cluster.urls);
      await waitHealthy(w1);
      expect((await alertIds(w1.url)).sort()).toEqual(offline);
      expect(((await (await fetch(`${w1.url}/api/alerts/${offline[0]}`)).json()) as { summary: { status: string } }).summary.status).toBe('acknowledged');
      expect(((await (await fetch(`${w1.url}/api/rules?enabled=false`)).json()) as { total: number }).total).toBe(1);
      const status = (await (await fetch(`${live[0]!.url}/api/cluster`)).json()) as { takeovers: number };
      console.log(`cluster: ${total} events acknowledged (${retries} retried requests), ${offline.length} alerts = hunt on ${live.length + 1} nodes; takeovers on ${live[0]!.name}: ${status.takeovers}`);
      await nc.close();
    } finally {
      for (const n of nodes) n.proc?.kill('SIGKILL');
      await cluster.stop();
      releasePorts(ports);
      if (!keep) rmSync(work, { recursive: true, force: true });
    }
  }, 600_000);
});
