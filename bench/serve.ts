// `npm run bench` service section (also alone: `npm run build && npx tsx bench/serve.ts`): sustained
// ingest into `eqlite serve` (the compiled service in its own process) by a load generator on the
// same machine, with the seed rule and with every Elastic EQL rule from ../shared.
//
// The generator pre-builds Beats-sized bulk bodies (1,600 events, `create` actions, generated
// Windows ECS events) and sends them over 4 (EQLITE_BENCH_SERVE_CONNECTIONS) concurrent kept-alive connections (node:http),
// retrying 429s. Reported:
// events/s acknowledged (stored on disk), events/s through detection (until the real-time backlog
// is empty), p50/p99 acknowledgement latency (client side), real-time alert latency (the
// service's commit-to-alert histogram: the upper bounds of the buckets holding p50, p99 and the
// slowest alert group, and how many groups were timed — with about a hundred, p99 is the second
// slowest), peak RSS of the service, alerts, late events and repair
// runs of real-time detection, and CPU per event of the service's threads and of the generator.
//   EQLITE_BENCH_SERVE_EVENTS     events sent per configuration (default 200000)
//   EQLITE_BENCH_SERVE_NODE_ARGS  extra node options for the service (e.g. --cpu-prof)
//   EQLITE_BENCH_SERVE_MAIN       the service's main.js (default dist/cli/main.js): a copy of an
//                                 older build, to measure it against the current one in one run
//   EQLITE_BENCH_SERVE_ONLY       seed | all: one configuration only
//   EQLITE_BENCH_SERVE_CONNECTIONS concurrent connections of the generator (default 4; a fleet of
//                                 shippers sends over many more)
//   EQLITE_BENCH_SERVE_REDATE=1   every event's @timestamp shifted by one offset (whole seconds:
//                                 order and spacing kept) so that the last one is the run's start:
//                                 the events fall in the rules' current windows, as shippers' do,
//                                 and repair runs of late events find them (the generated data
//                                 is dated 2025-03-10, outside every window)
//   EQLITE_BENCH_SERVE_HUNT=1     after detection, `hunt` over the events the service stored (in
//                                 time order) with the same rules, and the alert ids compared
//   EQLITE_BENCH_SERVE_LATE=K     the request of payload K is sent after the 8 requests behind it
//                                 were acknowledged: its events are late (repair runs measured)
//   EQLITE_BENCH_SERVE_LOG=FILE   the service logs at info level to FILE (with EQLITE_DEBUG_HOLD=1:
//                                 real time's reads, releases and repairs)
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUp } from './wait-up.js';
import Database from 'better-sqlite3';
import { writeGenerated } from '../src/generate/index.js';
import { hunt } from '../src/detect/hunt.js';
import { inferIndex } from '../src/events/sources.js';
import { loadRules } from '../src/rules/load.js';
import { eventSource } from '../src/serve/store/event-store.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

export interface ServeBenchResult {
  label: string;
  rules: number;
  events: number;
  ackPerSec: number;
  detectedPerSec: number;
  ackP50Ms: number;
  ackP99Ms: number;
  alertP50Ms: number | null;
  alertP99Ms: number | null;
  /** Upper bound of the bucket holding the slowest alert, and how many alert groups were timed. */
  alertMaxMs: number | null;
  alertGroups: number;
  peakRssMb: number;
  alerts: number;
  retried429: number;
  /**
   * CPU time the service spent per event from the first request to the end of detection, by
   * thread (Linux /proc; null elsewhere): the main thread (HTTP, parsing, routing, real-time
   * detection), the store's writer thread, and the others (GC helpers, libuv). Unlike events/s,
   * this hardly depends on what else the machine is running.
   */
  cpuUsPerEvent: { main: number; writer: number; other: number } | null;
  /** CPU time of the load generator (this process) per event while it sent the requests, µs. */
  generatorUsPerEvent: number;
  /** Events real-time detection read late (after later ones were pushed), and repair runs done. */
  late: number;
  repairs: number;
  /** The machine's 1-minute load average at the end of the run (2 cores: above 2, others compete). */
  load: number;
  /** With EQLITE_BENCH_SERVE_HUNT: alerts of `hunt` over the stored events, and ids only one side has. */
  hunt?: { alerts: number; missing: number; extra: number };
}

/** CPU seconds per thread of a process (Linux), by thread id. */
function threadCpu(pid: number): Map<number, number> | null {
  const out = new Map<number, number>();
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch {
    return null;
  }
  return out;
}

/** Peak resident set size of a process in bytes (Linux VmHWM), or null. */
function peakRssOf(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Per-event CPU by thread between two samples: the main thread, the busiest other (the writer), the rest. */
function cpuPerEvent(pid: number, before: Map<number, number> | null, after: Map<number, number> | null, events: number): ServeBenchResult['cpuUsPerEvent'] {
  if (!before || !after) return null;
  let main = 0;
  const others: number[] = [];
  for (const [tid, s] of after) {
    const d = s - (before.get(tid) ?? 0);
    if (tid === pid) main = d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  const writer = others[0] ?? 0;
  const other = others.slice(1).reduce((a, b) => a + b, 0);
  const us = (s: number) => (s * 1e6) / events;
  return { main: us(main), writer: us(writer), other: us(other) };
}

/** One POST with a prepared body; the answer's status and text. */
function post(agent: Agent, port: number, urlPath: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

/** p-quantile of a Prometheus histogram (upper bound of the bucket holding it). */
function histQuantile(metrics: string, name: string, p: number): number | null {
  const buckets: [number, number][] = [];
  for (const m of metrics.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))) buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  const total = buckets.length ? buckets[buckets.length - 1]![1] : 0;
  if (total === 0) return null;
  for (const [le, n] of buckets) if (n >= total * p) return le;
  return null;
}

function metric(metrics: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : 0;
}

function sumMetric(metrics: string, name: string): number {
  let s = 0;
  for (const m of metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, 'gm'))) s += Number(m[1]);
  return s;
}

/** `"@timestamp":"<ISO>"` in a generated line (Z time, optional fraction of any length). */
const TIMESTAMP = /"@timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)((?:\.\d+)?Z)"/g;

/**
 * Every @timestamp of the lines moved by the same whole number of seconds so that the latest is
 * `end` (the fraction is kept as written: order and spacing unchanged).
 */
function redate(lines: string[], end: number): string[] {
  let latest = -Infinity;
  for (const l of lines) for (const m of l.matchAll(TIMESTAMP)) latest = Math.max(latest, Date.parse(`${m[1]}Z`));
  if (latest === -Infinity) return lines;
  const shift = Math.floor((end - latest) / 1000) * 1000;
  return lines.map((l) => l.replace(TIMESTAMP, (_m, secs: string, rest: string) => `"@timestamp":"${new Date(Date.parse(`${secs}Z`) + shift).toISOString().slice(0, 19)}${rest}"`));
}

async function bodies(events: number, redateTo?: number): Promise<Buffer[]> {
  const dir = path.join(here, 'data');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `serve-${events}-h200-s11.ndjson`);
  if (!existsSync(file)) await writeGenerated({ events, hosts: 200, seed: 11, out: file });
  let lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  if (redateTo !== undefined) lines = redate(lines, redateTo);
  const out: Buffer[] = [];
  for (let i = 0; i < lines.length; i += 1600) {
    let b = '';
    for (const l of lines.slice(i, i + 1600)) b += `{"create":{"_index":"${inferIndex(JSON.parse(l) as Record<string, unknown>)}"}}\n${l}\n`;
    // Encoded once: the generator's own work per request stays small.
    out.push(Buffer.from(b));
  }
  return out;
}

/** Lines in the bodies (each ends with a newline). */
function lines(payloads: Buffer[]): number {
  let n = 0;
  for (const b of payloads) for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

export async function benchServe(label: string, rules: string, events: number, connections = 4, opts: { redate?: boolean; hunt?: boolean } = {}): Promise<ServeBenchResult> {
  // (Re-dated to end about when the first request is sent: the service starts in a few seconds.)
  const payloads = await bodies(events, opts.redate ? Date.now() : undefined);
  const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-bench-serve-'));
  const port = 19500 + Math.floor(Math.random() * 400);
  const url = `http://127.0.0.1:${port}`;
  // EQLITE_BENCH_SERVE_LOG=FILE: the service logs at info level to FILE (with EQLITE_DEBUG_HOLD=1, real time's hold decisions).
  const logFile = process.env.EQLITE_BENCH_SERVE_LOG;
  writeFileSync(path.join(dir, 'eqlite.toml'), logFile ? `[log]\nlevel = "info"\nfile = ${JSON.stringify(logFile)}\n` : '[log]\nlevel = "warn"\n');
  // EQLITE_BENCH_SERVE_NODE_ARGS: extra node options for the service (e.g. --cpu-prof --cpu-prof-dir=…).
  const nodeArgs = (process.env.EQLITE_BENCH_SERVE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, process.env.EQLITE_BENCH_SERVE_MAIN ?? path.join(root, 'dist/cli/main.js'), 'serve', '--config', path.join(dir, 'eqlite.toml'), '--data', path.join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--rules', rules], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitUp(url);
    const ruleCount = ((await (await fetch(`${url}/api/rules?enabled=true&per_page=1`)).json()) as { total: number }).total;
    // Peak RSS: the kernel's high-water mark (Linux), so the service is not asked for it during
    // the run (its /metrics answer costs it CPU); elsewhere /metrics is polled.
    let peakRss = 0;
    let polling = peakRssOf(child.pid!) === null;
    const poller = (async () => {
      while (polling) {
        try {
          const m = await (await fetch(`${url}/metrics`)).text();
          peakRss = Math.max(peakRss, metric(m, 'eqlite_process_resident_memory_bytes'));
        } catch {
          /* ignore */
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    // node:http with kept-alive connections, one per sender: a Beats-like client that costs this
    // process little CPU per request (fetch cost about as much CPU per event as the service).
    const agent = new Agent({ keepAlive: true, maxSockets: connections });
    const latencies: number[] = [];
    let retried = 0;
    let next = 0;
    const cpu0 = threadCpu(child.pid!);
    const gen0 = process.cpuUsage();
    const t0 = performance.now();
    // EQLITE_BENCH_SERVE_LATE=K: the request of payload K is held back until the 8 requests after
    // it were acknowledged (a shipper that sends a buffered batch late): its events, older than
    // those detection already pushed, are late for sure — a run that measures repairs.
    const lateAt = process.env.EQLITE_BENCH_SERVE_LATE ? Number(process.env.EQLITE_BENCH_SERVE_LATE) : -1;
    let ackedAfterLate = 0;
    const sender = async () => {
      for (;;) {
        const i = next++;
        if (i >= payloads.length) return;
        if (i === lateAt) while (ackedAfterLate < 8 && next < payloads.length) await new Promise((r) => setTimeout(r, 10));
        for (;;) {
          const s = performance.now();
          const r = await post(agent, port, '/_bulk?filter_path=errors', payloads[i]!);
          const text = r.body;
          if (r.status === 200) {
            if (lateAt >= 0 && i > lateAt) ackedAfterLate++;
            latencies.push(performance.now() - s);
            if (text.includes('"errors":true')) throw new Error(`bulk errors: ${text.slice(0, 200)}`);
            break;
          }
          retried++;
          await new Promise((res) => setTimeout(res, 50));
        }
      }
    };
    await Promise.all(Array.from({ length: connections }, sender));
    const acked = (performance.now() - t0) / 1000;
    const gen = process.cpuUsage(gen0);
    agent.destroy();
    // Detection done: the real-time backlog (events held for reordering, late events not yet
    // repaired) is empty and no alert was written since the last look, a few times in a row.
    let quiet = 0;
    let written = -1;
    while (quiet < 3) {
      const m = await (await fetch(`${url}/metrics`)).text();
      const alerts = sumMetric(m, 'eqlite_alerts_written_total');
      quiet = metric(m, 'eqlite_detection_backlog_events') === 0 && alerts === written ? quiet + 1 : 0;
      written = alerts;
      await new Promise((r) => setTimeout(r, 100));
    }
    const detected = (performance.now() - t0) / 1000 - 0.3;
    const cpu1 = threadCpu(child.pid!);
    polling = false;
    await poller;
    peakRss = Math.max(peakRss, peakRssOf(child.pid!) ?? 0);
    const m = await (await fetch(`${url}/metrics`)).text();
    latencies.sort((a, b) => a - b);
    const sent = lines(payloads) / 2;
    const p50 = histQuantile(m, 'eqlite_realtime_alert_latency_seconds', 0.5);
    const p99 = histQuantile(m, 'eqlite_realtime_alert_latency_seconds', 0.99);
    const slowest = histQuantile(m, 'eqlite_realtime_alert_latency_seconds', 1);
    const offline = opts.hunt ? await huntStored(path.join(dir, 'data'), rules) : undefined;
    return {
      label,
      rules: ruleCount,
      events: sent,
      ackPerSec: sent / acked,
      detectedPerSec: sent / Math.max(acked, detected),
      ackP50Ms: percentile(latencies, 0.5),
      ackP99Ms: percentile(latencies, 0.99),
      alertP50Ms: p50 === null ? null : p50 * 1000,
      alertP99Ms: p99 === null ? null : p99 * 1000,
      alertMaxMs: slowest === null ? null : slowest * 1000,
      alertGroups: metric(m, 'eqlite_realtime_alert_latency_seconds_count'),
      peakRssMb: peakRss / 1e6,
      alerts: sumMetric(m, 'eqlite_alerts_written_total'),
      retried429: retried,
      cpuUsPerEvent: cpuPerEvent(child.pid!, cpu0, cpu1, sent),
      generatorUsPerEvent: (gen.user + gen.system) / sent,
      late: metric(m, 'eqlite_detection_late_events_total'),
      repairs: metric(m, 'eqlite_detection_repair_runs_total'),
      load: loadavg()[0]!,
      ...(offline ? { hunt: offline } : {}),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `hunt` over the events a service stored (read while it runs: WAL readers do not block it), in
 * time order as a shipper's file would hold them, with the service's rules; its alert ids against
 * those the service wrote.
 */
async function huntStored(data: string, rulesPath: string): Promise<{ alerts: number; missing: number; extra: number }> {
  const edb = new Database(path.join(data, 'events.sqlite'), { readonly: true });
  const rows = edb.prepare('SELECT idx, id, ingested, src FROM events ORDER BY ts, seq').all() as { idx: string; id: string; ingested: number; src: string }[];
  edb.close();
  const file = path.join(data, '..', 'stored.ndjson');
  // (Written in parts: 200,000 events are more than one string can hold.)
  const fd = openSync(file, 'w');
  for (let i = 0; i < rows.length; i += 10_000) writeSync(fd, rows.slice(i, i + 10_000).map((r) => JSON.stringify({ _index: r.idx, _id: r.id, _source: eventSource(r) }) + '\n').join(''));
  closeSync(fd);
  const { rules, exceptionLists } = loadRules([rulesPath]);
  const offline = new Set((await hunt({ rules, exceptionLists, inputs: [file], threads: 0 })).alerts.map((a) => String(a['kibana.alert.uuid'])));
  const adb = new Database(path.join(data, 'alerts.sqlite'), { readonly: true });
  const served = new Set((adb.prepare('SELECT id FROM alerts').all() as { id: string }[]).map((r) => r.id));
  adb.close();
  let missing = 0;
  for (const id of offline) if (!served.has(id)) missing++;
  let extra = 0;
  for (const id of served) if (!offline.has(id)) extra++;
  return { alerts: offline.size, missing, extra };
}

export function printServe(results: ServeBenchResult[], log: (s: string) => void = console.log, header = true): void {
  if (header) log('configuration                   rules   events  acked ev/s  detected ev/s  ack p50  ack p99  alert p50  alert p99  alert max (groups)  peak RSS  alerts  429s    late  repairs  CPU µs/event (main+writer+other; generator)  load');
  for (const r of results) {
    const ms = (v: number | null) => (v === null ? '—' : v === Infinity ? '>10 s' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);
    log(
      `${r.label.padEnd(30)} ${String(r.rules).padStart(6)} ${String(r.events).padStart(8)} ${Math.round(r.ackPerSec).toLocaleString('en').padStart(11)} ${Math.round(r.detectedPerSec).toLocaleString('en').padStart(14)} ${ms(r.ackP50Ms).padStart(8)} ${ms(r.ackP99Ms).padStart(8)} ${('≤' + ms(r.alertP50Ms)).padStart(10)} ${('≤' + ms(r.alertP99Ms)).padStart(10)} ${`≤${ms(r.alertMaxMs)} (${r.alertGroups})`.padStart(19)} ${`${r.peakRssMb.toFixed(0)} MB`.padStart(9)} ${String(r.alerts).padStart(7)} ${String(r.retried429).padStart(5)} ${String(r.late).padStart(7)} ${String(r.repairs).padStart(8)}  ${r.cpuUsPerEvent ? `${r.cpuUsPerEvent.main.toFixed(1)}+${r.cpuUsPerEvent.writer.toFixed(1)}+${r.cpuUsPerEvent.other.toFixed(1)}` : '—'}; ${Math.round(r.generatorUsPerEvent)}  ${r.load.toFixed(1)}/${cpus().length}${r.hunt ? `  hunt: ${r.hunt.alerts} alerts, ${r.hunt.missing} missing, ${r.hunt.extra} extra` : ''}`,
    );
  }
}

export async function runServeBench(log: (s: string) => void = console.log): Promise<void> {
  const events = Number(process.env.EQLITE_BENCH_SERVE_EVENTS ?? 200_000);
  const connections = Number(process.env.EQLITE_BENCH_SERVE_CONNECTIONS ?? 4);
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`EQLITE_BENCH_SERVE_CONNECTIONS must be a positive integer (got ${process.env.EQLITE_BENCH_SERVE_CONNECTIONS})`);
  const corpus = path.resolve(root, '..', 'shared', 'corpus', 'elastic-rules', 'eql-rules.ndjson');
  log(`eqlite serve: ${events.toLocaleString('en')} generated Windows events in bulk requests of 1,600 over ${connections} connections, load generator on the same machine`);
  // Each row is printed as soon as it is measured.
  const only = process.env.EQLITE_BENCH_SERVE_ONLY;
  const opts = { redate: process.env.EQLITE_BENCH_SERVE_REDATE === '1', hunt: process.env.EQLITE_BENCH_SERVE_HUNT === '1' };
  const dated = opts.redate ? ', re-dated to now' : '';
  if (only !== 'all') printServe([await benchServe(`seed rule${dated}`, path.join(root, 'rules'), events, connections, opts)], log);
  if (only === 'seed') return;
  if (existsSync(corpus)) printServe([await benchServe(`all Elastic EQL rules${dated}`, corpus, events, connections, opts)], log, false);
  else log(`(all-rules configuration skipped: ${corpus} not found)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await runServeBench();
