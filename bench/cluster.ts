// `npm run bench` cluster section (also alone: `npm run build && npx tsx bench/cluster.ts`):
// `eqlite serve --cluster` on a three-server NATS JetStream cluster (Debian's nats-server, on
// loopback), every process on this machine: one ingest node receiving the load, and 1, 2 or 4
// detection workers, with the stream and buckets at R1 and at R3.
//
// Per configuration (a fresh cluster name, so fresh streams): the load generator sends generated
// Windows events (200 hosts, the seed rule) in bulk requests of 1,600 over 4 connections to the
// ingest node. Reported: events/s acknowledged (JetStream acknowledged every publish), events/s
// through detection (until every worker is idle), p50/p99 acknowledgement latency, real-time
// alert latency (ingest to alert stored, the workers' histogram), alerts, and the CPU time
// (user + system, from /proc) each part spent per event: the ingest node, the workers together,
// the three NATS servers together. On a shared machine the CPU per event is the figure that
// carries over to other hardware; the rates depend on what else runs.
//   EQLITE_BENCH_CLUSTER_EVENTS  events per configuration (default 20000)
//   EQLITE_BENCH_CLUSTER_WORKERS worker counts (default 1,2,4)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUp } from './wait-up.js';
import { writeGenerated } from '../src/generate/index.js';
import { inferIndex } from '../src/events/sources.js';
import { NatsCluster, natsServerPath, releasePorts, reservePorts } from '../test/nats-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

export interface ClusterBenchResult {
  replicas: number;
  workers: number;
  events: number;
  ackPerSec: number;
  detectedPerSec: number;
  ackP50Ms: number;
  ackP99Ms: number;
  alertP50Ms: number | null;
  alertP99Ms: number | null;
  alerts: number;
  cpu: { ingest: number; workers: number; nats: number; wall: number };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

/** Bucket counts of a Prometheus histogram, added over several nodes' metrics. */
function histBuckets(texts: string[], name: string): [number, number][] {
  const sum = new Map<number, number>();
  for (const t of texts) for (const m of t.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    sum.set(le, (sum.get(le) ?? 0) + Number(m[2]));
  }
  return [...sum].sort((a, b) => a[0] - b[0]);
}

function histQuantile(buckets: [number, number][], p: number): number | null {
  const total = buckets.length ? buckets[buckets.length - 1]![1] : 0;
  if (total === 0) return null;
  for (const [le, n] of buckets) if (n >= total * p) return le;
  return null;
}

/** CPU seconds (user + system) of a process so far, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function bodies(events: number): Promise<string[]> {
  const dir = path.join(here, 'data');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `serve-${events}-h200-s11.ndjson`);
  if (!existsSync(file)) await writeGenerated({ events, hosts: 200, seed: 11, out: file });
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 1600) {
    let b = '';
    for (const l of lines.slice(i, i + 1600)) b += `{"create":{"_index":"${inferIndex(JSON.parse(l) as Record<string, unknown>)}"}}\n${l}\n`;
    out.push(b);
  }
  return out;
}

interface Proc {
  url: string;
  child: ChildProcess;
}

function startNode(dir: string, name: string, port: number, servers: string[], cluster: string, replicas: number, roles: string): Proc {
  mkdirSync(dir, { recursive: true });
  const cfg = path.join(dir, 'eqlite.toml');
  writeFileSync(cfg, `[log]\nlevel = "warn"\n[cluster]\nname = "${cluster}"\nnode_id = "${name}"\nreplicas = ${replicas}\npartitions = 16\nreorder = "500ms"\n`);
  const child = spawn(process.execPath, [path.join(root, 'dist/cli/main.js'), 'serve', '--cluster', servers.join(','), '--roles', roles, '--config', cfg, '--data', path.join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--rules', path.join(root, 'rules')], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

type WorkerStatus = { worker: { partitions: { held: number; position: number; state: string }[] } | null };

async function workerStatus(url: string): Promise<WorkerStatus> {
  return (await (await fetch(`${url}/api/cluster`)).json()) as WorkerStatus;
}

/** `ports`: the ingest node's HTTP port, then one per detect worker (reserved: test/nats-helpers.ts). */
export async function benchCluster(nats: NatsCluster, replicas: number, workers: number, payloads: string[], ports: readonly number[]): Promise<ClusterBenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-bench-cluster-'));
  const name = `bench${replicas}x${workers}${Math.random().toString(36).slice(2, 6)}`;
  const ingest = startNode(path.join(dir, 'ingest'), 'ingest', ports[0]!, nats.urls, name, replicas, 'ingest');
  const procs: Proc[] = [ingest];
  try {
    await waitUp(ingest.url);
    const detect: Proc[] = [];
    for (let w = 0; w < workers; w++) detect.push(startNode(path.join(dir, `w${w}`), `w${w}`, ports[1 + w]!, nats.urls, name, replicas, 'detect'));
    procs.push(...detect);
    await Promise.all(detect.map((p) => waitUp(p.url)));
    // Every partition held, shared out (a fair share each), before the load starts.
    for (let i = 0; ; i++) {
      const held = await Promise.all(detect.map(async (p) => (await workerStatus(p.url)).worker?.partitions.length ?? 0));
      if (held.reduce((a, b) => a + b, 0) === 16 && Math.max(...held) <= Math.ceil(16 / workers)) break;
      if (i > 300) throw new Error(`partitions not shared out: ${held.join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const cpu0 = procs.map((p) => cpuSeconds(p.child.pid));
    const nats0 = nats.pids().map(cpuSeconds);
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    const sender = async () => {
      for (;;) {
        const i = next++;
        if (i >= payloads.length) return;
        for (;;) {
          const s = performance.now();
          const r = await fetch(`${ingest.url}/_bulk?filter_path=errors`, { method: 'POST', body: payloads[i], headers: { 'content-type': 'application/json' } });
          const text = await r.text();
          if (r.status === 200) {
            latencies.push(performance.now() - s);
            if (text.includes('"errors":true')) throw new Error(`bulk errors: ${text.slice(0, 200)}`);
            break;
          }
          await new Promise((res) => setTimeout(res, 50));
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, sender));
    const acked = (performance.now() - t0) / 1000;
    // Detection done: every worker idle (nothing held, positions unchanged) three polls in a row.
    let quiet = 0;
    let last = '';
    let doneAt = performance.now();
    while (quiet < 3) {
      const st = await Promise.all(detect.map((p) => workerStatus(p.url)));
      const key = JSON.stringify(st.map((s) => s.worker?.partitions.map((p) => p.position)));
      const idle = st.every((s) => (s.worker?.partitions ?? []).every((p) => p.held === 0));
      if (idle && key === last) quiet++;
      else {
        quiet = 0;
        doneAt = performance.now();
      }
      last = key;
      await new Promise((r) => setTimeout(r, 300));
    }
    const detected = (doneAt - t0) / 1000;
    const cpu = { ingest: cpuSeconds(ingest.child.pid) - cpu0[0]!, workers: detect.reduce((n, p, i) => n + cpuSeconds(p.child.pid) - cpu0[i + 1]!, 0), nats: nats.pids().reduce<number>((n, pid, i) => n + cpuSeconds(pid) - (nats0[i] ?? 0), 0), wall: detected };
    const metrics = await Promise.all(detect.map(async (p) => (await fetch(`${p.url}/metrics`)).text()));
    const buckets = histBuckets(metrics, 'eqlite_realtime_alert_latency_seconds');
    let alerts = 0;
    for (const m of metrics) for (const x of m.matchAll(/^eqlite_alerts_written_total(?:\{[^}]*\})? ([\d.e+-]+)$/gm)) alerts += Number(x[1]);
    latencies.sort((a, b) => a - b);
    const sent = payloads.reduce((n, b) => n + (b.split('\n').length - 1) / 2, 0);
    const p50 = histQuantile(buckets, 0.5);
    const p99 = histQuantile(buckets, 0.99);
    return {
      replicas,
      workers,
      events: sent,
      ackPerSec: sent / acked,
      detectedPerSec: sent / Math.max(acked, detected),
      ackP50Ms: percentile(latencies, 0.5),
      ackP99Ms: percentile(latencies, 0.99),
      alertP50Ms: p50 === null ? null : p50 * 1000,
      alertP99Ms: p99 === null ? null : p99 * 1000,
      alerts,
      cpu,
    };
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.child.exitCode === null ? new Promise((r) => p.child.once('exit', r)) : null)));
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printCluster(r: ClusterBenchResult, log: (s: string) => void): void {
  const ms = (v: number | null) => (v === null ? '—' : v === Infinity ? '>10 s' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);
  const c = r.cpu;
  const us = (sec: number) => `${Math.round((sec / r.events) * 1e6)}`.padStart(7);
  log(
    `R${r.replicas}  ${String(r.workers).padStart(7)} ${String(r.events).padStart(8)} ${Math.round(r.ackPerSec).toLocaleString('en').padStart(11)} ${Math.round(r.detectedPerSec).toLocaleString('en').padStart(14)} ${ms(r.ackP50Ms).padStart(8)} ${ms(r.ackP99Ms).padStart(8)} ${('≤' + ms(r.alertP50Ms)).padStart(10)} ${('≤' + ms(r.alertP99Ms)).padStart(10)} ${String(r.alerts).padStart(7)} ${us(c.ingest)} ${us(c.workers)} ${us(c.nats)}`,
  );
}

export async function runClusterBench(log: (s: string) => void = console.log): Promise<void> {
  if (!natsServerPath()) {
    log('cluster benchmark skipped: nats-server is not installed (apt-get install -y nats-server)');
    return;
  }
  const events = Number(process.env.EQLITE_BENCH_CLUSTER_EVENTS ?? 20_000);
  const workerCounts = (process.env.EQLITE_BENCH_CLUSTER_WORKERS ?? '1,2,4').split(',').map(Number);
  const payloads = await bodies(events);
  const nats = await NatsCluster.start(3);
  const ports = await reservePorts(1 + Math.max(...workerCounts));
  try {
    log(`eqlite serve --cluster: 3 nats-server (JetStream, loopback), 1 ingest node, 16 partitions; ${events.toLocaleString('en')} generated Windows events (200 hosts, seed rule) in bulk requests of 1,600 over 4 connections; every process on this machine`);
    log('repl  workers   events  acked ev/s  detected ev/s  ack p50  ack p99  alert p50  alert p99  alerts  CPU µs per event: ingest workers   nats');
    for (const replicas of [1, 3]) {
      for (const w of workerCounts) printCluster(await benchCluster(nats, replicas, w, payloads, ports), log);
    }
  } finally {
    await nats.stop();
    releasePorts(ports);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await runClusterBench();
