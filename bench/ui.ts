// The alerts API at a million alerts (`npm run bench`, section "web UI"; alone: `npx tsx
// bench/ui.ts`). Fills an alert store through the same writer `hunt --db` uses (once; reused from
// bench/data/), opens it as `eqlite ui` does, and times the requests the Alerts page makes, over
// HTTP, median of several runs. Reports numbers; asserts nothing.
//   EQLITE_BENCH_UI_ALERTS  alerts in the store (default 1000000)
//   EQLITE_BENCH_UI_ONLY    time only the requests whose label contains one of these (comma list)
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Alert } from '../src/detect/alerts.js';
import { AlertBrowser } from '../src/serve/ui-mode.js';
import { ServedAlerts } from '../src/serve/alerts.js';
import { openAlertStore } from '../src/store/sqlite.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SEVS = ['low', 'medium', 'medium', 'high', 'high', 'critical'];
const RULES = 60;

/** A deterministic pseudo-random stream (no Math.random: the same store every time). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Alerts shaped like the engine's: 20% sequences (a shell and two building blocks), the rest single events. */
function* alerts(n: number): Generator<Alert> {
  const r = rng(7);
  const t0 = Date.parse('2025-02-01T00:00:00Z');
  const span = 30 * 86_400_000;
  let i = 0;
  while (i < n) {
    const t = t0 + Math.floor((i / n) * span);
    const rule = Math.floor(r() * RULES);
    const host = `ws-${Math.floor(r() * 2000)}`;
    const user = `user${Math.floor(r() * 800)}`;
    const sev = SEVS[rule % SEVS.length]!;
    const name = `Rule ${rule}: suspicious ${['process', 'script', 'logon', 'registry', 'network'][rule % 5]} activity`;
    const proc = ['powershell.exe', 'cmd.exe', 'wscript.exe', 'rundll32.exe', 'regsvr32.exe', 'mshta.exe'][Math.floor(r() * 6)]!;
    const base = (id: string, ts: number): Alert => ({
      '@timestamp': new Date(ts).toISOString(),
      'kibana.alert.original_time': new Date(ts - 60_000).toISOString(),
      'kibana.alert.uuid': id,
      'kibana.alert.rule.rule_id': `rule-${rule}`,
      'kibana.alert.rule.name': name,
      'kibana.alert.rule.uuid': `uuid-${rule}`,
      'kibana.alert.severity': sev,
      'kibana.alert.risk_score': 21 + (rule % 80),
      'kibana.alert.reason': `process event with process ${proc}, parent process explorer.exe, by ${user} on ${host} created ${sev} alert ${name}.`,
      host: { name: host, id: `h-${host}` },
      user: { name: user, domain: 'CORP' },
      process: { name: proc, command_line: `${proc} -c job-${i}`, parent: { name: 'explorer.exe' } },
    });
    if (r() < 0.2 && i + 3 <= n) {
      const shell = `s${i}`;
      for (let k = 0; k < 2; k++) {
        const b = base(`b${i}-${k}`, t);
        b['kibana.alert.building_block_type'] = 'default';
        b['kibana.alert.group.id'] = shell;
        b['kibana.alert.group.index'] = k;
        yield b;
      }
      const s = base(shell, t);
      s['kibana.alert.group.id'] = shell;
      yield s;
      i += 3;
    } else {
      yield base(`a${i}`, t);
      i++;
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function runUiBench(log: (s: string) => void = console.log): Promise<void> {
  const n = Number(process.env.EQLITE_BENCH_UI_ALERTS ?? 1_000_000);
  const dir = path.join(here, 'data');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `alerts-${n}.db`);
  if (!existsSync(file)) {
    const tmp = `${file}.tmp`;
    rmSync(tmp, { force: true });
    const t = performance.now();
    const store = openAlertStore(tmp);
    let batch: Alert[] = [];
    for (const a of alerts(n)) {
      batch.push(a);
      if (batch.length === 5000) {
        store.write(batch);
        batch = [];
      }
    }
    store.write(batch);
    store.close();
    // Triage history: 3% acknowledged, 5% closed (through the service's own status writer).
    const served = new ServedAlerts(dir, tmp);
    const ids = (served.db.prepare('SELECT id FROM alerts WHERE building_block = 0 AND rowid % 100 < 8').all() as { id: string }[]).map((x) => x.id);
    served.setStatus(ids.slice(0, Math.floor((ids.length * 3) / 8)), 'acknowledged', 'bench');
    served.setStatus(ids.slice(Math.floor((ids.length * 3) / 8)), 'closed', 'bench');
    served.close();
    for (const ext of ['-wal', '-shm']) rmSync(tmp + ext, { force: true });
    renameSync(tmp, file);
    log(`filled ${n.toLocaleString('en')} alerts in ${((performance.now() - t) / 1000).toFixed(1)} s (hunt --db's writer, with the list indexes)`);
  }
  const t0 = performance.now();
  const b = await AlertBrowser.start({ file, host: '127.0.0.1', port: 0 });
  const openMs = performance.now() - t0;
  const base = `${b.url}/api/alerts`;
  const get = async (url: string) => {
    const t = performance.now();
    const res = await fetch(url);
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
    return { ms: performance.now() - t, body };
  };
  const only = process.env.EQLITE_BENCH_UI_ONLY;
  const time = async (label: string, url: string | (() => Promise<string>), runs = 5) => {
    if (only && !only.split(',').some((x) => label.includes(x)) && !label.startsWith('first page')) return {};
    const ms: number[] = [];
    let body: Record<string, unknown> = {};
    for (let i = 0; i < runs; i++) {
      const r = await get(typeof url === 'string' ? url : await url());
      ms.push(r.ms);
      body = r.body;
    }
    const total = typeof body.total === 'number' ? `${body.total.toLocaleString('en')}${body.total_relation === 'gte' ? '+' : ''} match` : '';
    log(`  ${label.padEnd(52)} ${median(ms).toFixed(1).padStart(8)} ms   ${total}`);
    return body;
  };
  const count = b.alerts.count();
  log(`web UI API over ${count.toLocaleString('en')} alerts (eqlite ui; opened, search index built, in ${(openMs / 1000).toFixed(1)} s); median of 5 requests:`);
  const first = (await time('first page (50, newest first, open)', `${base}?status=open`)) as { next: string };
  await time('next page (search_after cursor)', `${base}?search_after=${first.next}`);
  // A cursor half-way down the list: keyset paging costs the same at any depth.
  const mid = b.alerts.db.prepare('SELECT "@timestamp" AS ts, id FROM alerts WHERE building_block = 0 ORDER BY "@timestamp" DESC, id DESC LIMIT 1 OFFSET ?').get(Math.floor(count * 0.4)) as { ts: string; id: string };
  const deep = Buffer.from(JSON.stringify([mid.ts, mid.id])).toString('base64url');
  await time('page at 40% depth (search_after, any status)', `${base}?search_after=${deep}`);
  await time('page 2000 by offset (page=2000, for comparison)', `${base}?page=2000`, 3);
  await time('filter host', `${base}?status=open&host=ws-42`);
  await time('filter user + severity critical', `${base}?status=open&user=user7&severity=critical`);
  await time('filter rule', `${base}?status=open&rule=rule-5`);
  await time('status closed', `${base}?status=closed`);
  await time('last 24 hours of the data', `${base}?status=open&from=2025-03-02T00:00:00Z`);
  await time('sort by risk score', `${base}?status=open&sort=risk_score:desc`);
  await time('free-text search "regsvr32 job-4242"', `${base}?q=regsvr32%20job-4242`);
  await time('free-text search "mshta" (many hits)', `${base}?status=open&q=mshta`);
  await time('search "mshta", exact total (track_total_hits)', `${base}?status=open&q=mshta&track_total_hits=true`, 3);
  await time('search "mshta": histogram', `${base}/_histogram?status=open&q=mshta`, 3);
  await time('search "mshta": facet rule', `${base}/_facets?status=open&q=mshta&field=rule`, 3);
  await time('search "mshta": facet host', `${base}/_facets?status=open&q=mshta&field=host`, 3);
  await time('search "mshta": next page', async () => `${base}?status=open&q=mshta&search_after=${((await get(`${base}?status=open&q=mshta`)).body as { next: string }).next}`, 3);
  await time('filter host, every status', `${base}?host=ws-42`);
  await time('histogram by severity (all open)', `${base}/_histogram?status=open`);
  await time('histogram, one host', `${base}/_histogram?status=open&host=ws-42`);
  await time('facet: top 50 hosts (all open)', `${base}/_facets?status=open&field=host`);
  await time('facet: top 50 rules (all open)', `${base}/_facets?status=open&field=rule`);
  await time('facet: top users of one rule', `${base}/_facets?status=open&field=user&rule=rule-5`);
  await time('alert detail (sequence with building blocks)', async () => `${base}/${(b.alerts.db.prepare("SELECT id FROM alerts WHERE group_id = id LIMIT 1 OFFSET 1000").get() as { id: string }).id}`);
  await b.close();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runUiBench();
