// Slow fault tests of `eqlite serve` (run by `npm run test:slow`, which .ci/run calls):
//  * kill -9 under continuous load: the service is killed repeatedly while clients send bulk
//    requests and retry what was not acknowledged; afterwards every acknowledged event is stored
//    exactly once and the alerts are exactly those of `hunt` over the same events (same ids);
//  * a full disk: 429 answers and a clear log line, no crash, no damaged store, recovery when
//    space is freed; a read-only data directory at start: one line and exit code 2 (needs root
//    for tmpfs mounts; skipped otherwise);
//  * the data directory turning read-only under the running service (ext4 on a loop device with
//    errors=remount-ro, an ext4 error triggered as a failing disk would): 503 answers and a log
//    line, no crash; after repair the store is intact and holds every acknowledged event once
//    (needs root and loop devices; skipped otherwise).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { hunt } from '../../src/detect/hunt.js';
import { inferIndex } from '../../src/events/sources.js';
import { loadRules } from '../../src/rules/load.js';
import { eventSource } from '../../src/serve/store/event-store.js';
import { reservePorts } from '../nats-helpers.js';

const ROOT = path.resolve(__dirname, '../..');
const RULES = path.join(ROOT, 'rules');
// One process (tsx as a loader, not its CLI, which would run the service in a child process that
// a kill would miss).
const NODE_ARGS = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')];

function startServer(dir: string, port: number, logFile: string): ChildProcess {
  const cfg = `${logFile}.toml`;
  writeFileSync(cfg, `[log]\nfile = ${JSON.stringify(logFile)}\n[retention]\ncheck_every = "500ms"\n`);
  return spawn(process.execPath, [...NODE_ARGS, 'serve', '--config', cfg, '--data', dir, '--listen', `127.0.0.1:${port}`, '--rules', RULES], {
    stdio: ['ignore', 'ignore', 'ignore'],
    cwd: ROOT,
  });
}

async function waitHealthy(url: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200 || r.status === 503) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error('service did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The sample, copied `copies` times onto distinct hosts, with times moved to end now. */
function events(copies: number): Record<string, unknown>[] {
  const base = readFileSync(path.join(ROOT, 'examples/windows-sample.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const last = Date.parse(String((JSON.parse(base[base.length - 1]!) as Record<string, unknown>)['@timestamp']));
  const shift = Date.now() - 60_000 - last;
  const out: Record<string, unknown>[] = [];
  for (let c = 0; c < copies; c++) {
    for (const l of base) {
      const d = JSON.parse(l) as Record<string, any>;
      d['@timestamp'] = new Date(Date.parse(d['@timestamp']) + shift).toISOString();
      if (d.host) {
        d.host.id = `${d.host.id}-${c}`;
        d.host.name = `${d.host.name}-${c}`;
      }
      out.push(d);
    }
  }
  return out;
}

describe('kill -9 under continuous load', () => {
  test('every acknowledged event is stored once; the alerts are those of hunting the stored events', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-kill-'));
    const [port] = (await reservePorts(1)) as [number]; // kept until the file ends: the service restarts on it
    const url = `http://127.0.0.1:${port}`;
    const docs = events(4);
    const batches: string[] = [];
    for (let i = 0; i < docs.length; i += 50) {
      batches.push(docs.slice(i, i + 50).map((d) => `{"create":{"_index":"${inferIndex(d)}"}}\n${JSON.stringify(d)}\n`).join(''));
    }
    let server = startServer(dir, port, path.join(tmpdir(), `eqlite-kill-${port}.log`));
    await waitHealthy(url);
    let kills = 0;
    let stop = false;
    // The killer: every 1–2.5 s, kill -9 and start again.
    const killer = (async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1500));
        if (stop) break;
        server.kill('SIGKILL');
        await new Promise((r) => server.once('exit', r));
        kills++;
        server = startServer(dir, port, path.join(tmpdir(), `eqlite-kill-${port}.log`));
        await waitHealthy(url);
      }
    })();
    // Two clients, each retrying its batch until every item is acknowledged.
    let retries = 0;
    const client = async (mine: string[]) => {
      for (const body of mine) {
        for (;;) {
          try {
            const r = await fetch(`${url}/_bulk`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' }, signal: AbortSignal.timeout(30_000) });
            const j = (await r.json()) as { items?: Record<string, { status: number }>[] };
            if (r.status === 200 && j.items && j.items.every((it) => Object.values(it)[0]!.status < 300 || Object.values(it)[0]!.status === 409)) break;
          } catch {
            /* connection refused or reset: not acknowledged */
          }
          retries++;
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    };
    await Promise.all([client(batches.filter((_, i) => i % 2 === 0)), client(batches.filter((_, i) => i % 2 === 1))]);
    stop = true;
    await killer;
    expect(kills).toBeGreaterThanOrEqual(3);
    // The kills happened under load: requests failed and were retried.
    expect(retries).toBeGreaterThan(0);
    // Every acknowledged event is stored once (read while the service runs: WAL readers do not block it).
    const edb = new Database(path.join(dir, 'events.sqlite'), { readonly: true });
    // (in time order: the offline hunt reads a file as shippers would write it)
    const rows = edb.prepare('SELECT idx, id, ingested, src FROM events ORDER BY ts, seq').all() as { idx: string; id: string; ingested: number; src: string }[];
    expect(edb.pragma('integrity_check', { simple: true })).toBe('ok');
    edb.close();
    expect(rows).toHaveLength(docs.length);
    const sent = new Set(docs.map((d) => JSON.stringify(d)));
    for (const r of rows) expect(sent.has(r.src)).toBe(true);
    expect(new Set(rows.map((r) => r.src)).size).toBe(docs.length);

    const exportFile = path.join(dir, 'export.ndjson');
    writeFileSync(exportFile, rows.map((r) => JSON.stringify({ _index: r.idx, _id: r.id, _source: eventSource(r) })).join('\n') + '\n');
    const { rules, exceptionLists } = loadRules([RULES]);
    const offline = (await hunt({ rules, exceptionLists, inputs: [exportFile], threads: 0 })).alerts.map((a) => String(a['kibana.alert.uuid'])).sort();
    // Real-time detection (and its replay after the last restart) catches up: wait for it, with a
    // bound (a loaded machine can take a while), then stop the service cleanly.
    const servedAlerts = (): string[] => {
      if (!existsSync(path.join(dir, 'alerts.sqlite'))) return [];
      const adb = new Database(path.join(dir, 'alerts.sqlite'), { readonly: true });
      try {
        return (adb.prepare('SELECT id FROM alerts ORDER BY id').all() as { id: string }[]).map((r) => r.id);
      } finally {
        adb.close();
      }
    };
    for (const end = Date.now() + 120_000; Date.now() < end; ) {
      if (servedAlerts().length >= offline.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    const served = servedAlerts();
    const after = new Database(path.join(dir, 'events.sqlite'), { readonly: true });
    expect(after.pragma('integrity_check', { simple: true })).toBe('ok');
    expect((after.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(docs.length);
    after.close();
    expect(offline).toHaveLength(4 * 27);
    expect(served).toEqual(offline);
    console.log(`kill -9: ${kills} kills, ${retries} retried requests, ${rows.length} events stored once, ${served.length} alerts = hunt`);
    rmSync(dir, { recursive: true, force: true });
  }, 600_000);
});

const isRoot = process.getuid?.() === 0;
function tryMount(dir: string, sizeMb: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.runIf(isRoot)('full disk and read-only data directory', () => {
  test('429 when the disk is full, 503 when read-only, a log line, no crash, an intact store, recovery', async () => {
    const mnt = mkdtempSync(path.join(tmpdir(), 'eqlite-fs-'));
    if (!tryMount(mnt, 24)) {
      console.log('tmpfs mount not permitted here: skipped');
      return;
    }
    const dir = path.join(mnt, 'data');
    mkdirSync(dir);
    const [port] = (await reservePorts(1)) as [number]; // kept until the file ends: the service restarts on it
    const url = `http://127.0.0.1:${port}`;
    const logFile = path.join(tmpdir(), `eqlite-fs-${port}.log`);
    let server = startServer(dir, port, logFile);
    try {
      await waitHealthy(url);
      const doc = (i: number) => JSON.stringify({ '@timestamp': new Date().toISOString(), n: i, pad: 'x'.repeat(2000) });
      let i = 0;
      let full: Response | null = null;
      // Fill the disk (a filler file takes most of it first).
      writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(16 * 1024 * 1024));
      for (let round = 0; round < 400 && !full; round++) {
        const body = Array.from({ length: 200 }, () => `{"create":{"_index":"logs-fill-default"}}\n${doc(i++)}\n`).join('');
        const r = await fetch(`${url}/_bulk`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        if (r.status !== 200) full = r;
        else await r.arrayBuffer();
      }
      expect(full?.status).toBe(429);
      expect(((await full!.json()) as any).error.type).toBe('es_rejected_execution_exception');
      expect((await fetch(`${url}/healthz`)).status).toBe(503);
      // Space again: writes succeed again.
      rmSync(path.join(mnt, 'filler'));
      let ok = false;
      for (let t = 0; t < 50 && !ok; t++) {
        await new Promise((r) => setTimeout(r, 200));
        const r = await fetch(`${url}/_bulk`, { method: 'POST', body: `{"create":{"_index":"logs-fill-default"}}\n${doc(i++)}\n`, headers: { 'content-type': 'application/json' } });
        ok = r.status === 200;
        await r.arrayBuffer();
      }
      expect(ok).toBe(true);
      // Read-only data directory at start: one clear line and exit code 2, no stack trace.
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const ro = spawn(process.execPath, [...NODE_ARGS, 'serve', '--data', dir, '--listen', `127.0.0.1:${port}`, '--rules', RULES], { stdio: ['ignore', 'ignore', 'pipe'], cwd: ROOT });
      let stderr = '';
      ro.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise((r) => ro.once('exit', r));
      expect(code).toBe(2);
      expect(stderr).toMatch(/^error: cannot use the data directory .*it must be writable\n$/);
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
      server = startServer(dir, port, logFile);
      await waitHealthy(url);
      const again = await fetch(`${url}/_bulk`, { method: 'POST', body: `{"create":{"_index":"logs-fill-default"}}\n${doc(i++)}\n`, headers: { 'content-type': 'application/json' } });
      expect(again.status).toBe(200);
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      const log = readFileSync(logFile, 'utf8');
      expect(log).toContain('disk full');
      const db = new Database(path.join(dir, 'events.sqlite'), { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
      server = null as unknown as ChildProcess;
    } finally {
      if (server && server.exitCode === null) {
        server.kill('SIGKILL');
        await new Promise((r) => server.once('exit', r));
      }
      try {
        execFileSync('umount', ['-l', mnt]);
      } catch {
        /* already unmounted */
      }
      try {
        rmSync(mnt, { recursive: true, force: true });
      } catch {
        /* a lazily unmounted directory goes when the last user is gone */
      }
    }
  }, 300_000);
});

/**
 * An ext4 file system on a loop device, mounted with errors=remount-ro (the usual default): an
 * ext4 error then turns it read-only under the running service, as a failing disk does. Null when
 * this machine cannot (no loop devices, no root).
 */
function ext4(dir: string): { mnt: string; img: string; loop: string; remount(): void; close(): void } | null {
  const img = path.join(dir, 'fs.img');
  const mnt = path.join(dir, 'mnt');
  mkdirSync(mnt);
  let loop = '';
  try {
    execFileSync('truncate', ['-s', '64M', img]);
    execFileSync('mkfs.ext4', ['-q', '-F', img], { stdio: 'ignore' });
    loop = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
    execFileSync('mount', ['-o', 'errors=remount-ro', loop, mnt], { stdio: 'ignore' });
  } catch {
    if (loop) execFileSync('losetup', ['-d', loop], { stdio: 'ignore' });
    return null;
  }
  const fs = {
    mnt,
    img,
    loop,
    /** Unmounts, repairs (e2fsck, as an administrator would) and mounts again read-write. */
    remount() {
      execFileSync('umount', [mnt]);
      try {
        execFileSync('e2fsck', ['-f', '-y', fs.loop], { stdio: 'ignore' });
      } catch {
        /* exit 1: errors corrected */
      }
      execFileSync('mount', ['-o', 'errors=remount-ro', fs.loop, mnt], { stdio: 'ignore' });
    },
    close() {
      try {
        execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
      } catch {
        /* not mounted */
      }
      try {
        execFileSync('losetup', ['-d', fs.loop], { stdio: 'ignore' });
      } catch {
        /* already detached */
      }
    },
  };
  return fs;
}

describe.runIf(isRoot)('the data directory turns read-only under the running service', () => {
  test('503 and a log line while read-only, no crash; after repair every acknowledged event is there once, the store is intact, ingest resumes', async () => {
    const base = mkdtempSync(path.join(tmpdir(), 'eqlite-ro-'));
    const fs = ext4(base);
    if (!fs) {
      console.log('loop device or ext4 not available here: skipped');
      rmSync(base, { recursive: true, force: true });
      return;
    }
    const dir = path.join(fs.mnt, 'data');
    mkdirSync(dir);
    const [port] = (await reservePorts(1)) as [number]; // kept until the file ends: the service restarts on it
    const url = `http://127.0.0.1:${port}`;
    const logFile = path.join(base, 'serve.log');
    let server: ChildProcess | null = startServer(dir, port, logFile);
    const bulk = (ids: string[]) =>
      fetch(`${url}/_bulk`, {
        method: 'POST',
        body: ids.map((id) => `{"create":{"_index":"logs-ro-default","_id":"${id}"}}\n${JSON.stringify({ '@timestamp': new Date().toISOString(), id })}\n`).join(''),
        headers: { 'content-type': 'application/json' },
      });
    try {
      await waitHealthy(url);
      const acked: string[] = [];
      for (let b = 0; b < 5; b++) {
        const ids = Array.from({ length: 100 }, (_, i) => `a${b}-${i}`);
        const r = await bulk(ids);
        expect(r.status).toBe(200);
        expect(((await r.json()) as { errors: boolean }).errors).toBe(false);
        acked.push(...ids);
      }
      // The disk fails: ext4 goes read-only under the open store.
      writeFileSync(`/sys/fs/ext4/${path.basename(fs.loop)}/trigger_fs_error`, 'eqlite test\n');
      let refused: Response | null = null;
      for (let t = 0; t < 20 && !refused; t++) {
        const r = await bulk([`late-${t}`]);
        if (r.status === 200) {
          // Accepted before the error reached the store: acknowledged, so it must survive too.
          if (!((await r.json()) as { errors: boolean }).errors) acked.push(`late-${t}`);
        } else refused = r;
      }
      expect(refused?.status).toBe(503);
      expect(((await refused!.json()) as any).error.reason).toMatch(/event store cannot be written/);
      // Still running and answering: health says why.
      expect((await fetch(`${url}/healthz`)).status).toBe(503);
      expect((await fetch(`${url}/`)).status).toBe(200);
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
      server = null;
      expect(readFileSync(logFile, 'utf8')).toContain('ingest answers 503 until this is fixed');
      // The administrator repairs the file system; the store is intact and holds every
      // acknowledged event exactly once.
      fs.remount();
      const db = new Database(path.join(dir, 'events.sqlite'));
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const ids = (db.prepare("SELECT id FROM events WHERE idx = 'logs-ro-default'").all() as { id: string }[]).map((r) => r.id);
      db.close();
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of acked) expect(ids).toContain(id);
      // And ingest resumes.
      server = startServer(dir, port, logFile);
      await waitHealthy(url);
      const again = await bulk(['after-repair']);
      expect(again.status).toBe(200);
      expect(((await again.json()) as { errors: boolean }).errors).toBe(false);
    } finally {
      if (server && server.exitCode === null) {
        server.kill('SIGKILL');
        await new Promise((r) => server!.once('exit', r));
      }
      fs.close();
      rmSync(base, { recursive: true, force: true });
    }
  }, 300_000);
});
