// Slow cluster test (`npm run test:slow`): a workflow status set on one node reaches the replicas of
// the others after kill -9 and restart of the NATS server holding the replicas' consumers.
//
// Every node reads the status bucket with an ordered consumer (src/cluster/alerts.ts). Killing the
// server that holds those consumers makes the client library re-create them, and its re-created
// consumer pulled nothing (a batch of 0) until two missed 15 s heartbeats: statuses reached other
// nodes 45-90 s late — the failure of test/slow/cluster.test.ts at "acknowledged on node b". The
// node now re-creates its consumer itself (restartOnRecovery in src/cluster/nats.ts). Three nodes
// run in this process (the parts of `serve --cluster` that replicate) on three real servers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { ClusterAlerts } from '../../src/cluster/alerts.js';
import { openCluster, type ClusterResources } from '../../src/cluster/nats.js';
import { ServedAlerts } from '../../src/serve/alerts.js';
import { defaultClusterConfig, defaultConfig } from '../../src/serve/config.js';
import { NatsCluster, natsServerPath, NO_NATS } from '../nats-helpers.js';

const nats = natsServerPath();
const NAME = 'replica';
/** How long a status may take to reach every node: the library's own recovery took 45-90 s. */
const BOUND_MS = 20_000;

interface Node {
  res: ClusterResources;
  served: ServedAlerts;
  alerts: ClusterAlerts;
  dir: string;
}

/** Per server: how many of the status bucket's consumers it holds (monitoring /jsz). */
async function statusConsumers(cluster: NatsCluster): Promise<number[]> {
  return Promise.all(
    cluster.nodes.map(async (n) => {
      if (!n.proc) return 0;
      const j = (await (await fetch(`http://127.0.0.1:${n.monitorPort}/jsz?consumers=true`)).json()) as { account_details?: { stream_detail?: { name: string; consumer_detail?: unknown[] }[] }[] };
      let count = 0;
      for (const a of j.account_details ?? []) for (const s of a.stream_detail ?? []) if (s.name === `KV_${NAME}_alert_status`) count += s.consumer_detail?.length ?? 0;
      return count;
    }),
  );
}

describe.runIf(nats !== null)(nats ? 'cluster: status replicas across kill -9 of a NATS server' : NO_NATS, () => {
  test('a status set on any node reaches every node after the server holding the consumers was killed and restarted', async () => {
    const cluster = await NatsCluster.start(3);
    const log = pino({ level: 'silent' });
    const nodes: Node[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const config = defaultConfig();
        config.cluster = { ...defaultClusterConfig(cluster.urls), name: NAME, partitions: 4, replicas: 3, nodeId: `r${i}`, leaseTtlMs: 8000 };
        const res = await openCluster(config, log);
        const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-replica-'));
        const served = new ServedAlerts(dir);
        const alerts = new ClusterAlerts(res, served, log);
        await alerts.startReplica();
        nodes.push({ res, served, alerts, dir });
      }
      const statusOn = (n: Node, id: string) => (n.served.db.prepare('SELECT status FROM alert_status WHERE id = ?').get(id) as { status: string } | undefined)?.status ?? null;
      /** Sets the status of `id` on node `from`; per node, whether it showed it within the bound. */
      const put = async (id: string, from: number) => {
        await nodes[from]!.alerts.setStatus([id], 'acknowledged', 'test');
        const end = Date.now() + BOUND_MS;
        let seen = nodes.map((n) => statusOn(n, id));
        while (seen.some((s) => s !== 'acknowledged') && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 50));
          seen = nodes.map((n) => statusOn(n, id));
        }
        return `${id} from r${from}: ${seen.map((s, i) => `r${i}=${s ?? 'none'}`).join(' ')}`;
      };
      const want = (id: string, from: number) => `${id} from r${from}: r0=acknowledged r1=acknowledged r2=acknowledged`;
      expect(await put('before', 0)).toBe(want('before', 0));

      // Kill the server holding most of the replicas' consumers; bring it back 10 s later, as the
      // cluster test does (src/cluster/alerts.ts: consumers are ephemeral, on one server each).
      const held = await statusConsumers(cluster);
      const victim = held.indexOf(Math.max(...held));
      expect(held[victim]).toBeGreaterThan(0);
      await cluster.kill(victim);
      await new Promise((r) => setTimeout(r, 10_000));
      await cluster.restart(victim);
      const got: string[] = [];
      const expected: string[] = [];
      for (let k = 0; k < 6; k++) {
        got.push(await put(`after${k}`, k % 3));
        expected.push(want(`after${k}`, k % 3));
      }
      expect(got).toEqual(expected);
    } finally {
      for (const n of nodes) {
        await n.alerts.stop();
        await n.res.nc.close().catch(() => undefined);
        n.served.close();
        rmSync(n.dir, { recursive: true, force: true });
      }
      await cluster.stop();
    }
  }, 300_000);
});
