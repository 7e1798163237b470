// Memory of a long hunt stays flat: what was read is not kept once the rules are done with it.
// A hunt driven with an abort signal (the CLI always passes one, for Ctrl-C) used to keep every
// batch it had read, through `Promise.race` with a promise that only settled on abort (see
// untilAborted in src/events/ordered.ts): about 4 KB per event, so a large file could not be hunted.
// Measured in a child process with --expose-gc: the live heap after a full collection, early in
// the hunt and at its end.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-hunt-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const huntModule = pathToFileURL(path.join(import.meta.dirname, '..', 'src', 'detect', 'hunt.ts')).href;

const EVENTS = 120_000;

describe('hunt memory', () => {
  it('a hunt with an abort signal keeps no batch it has read (live heap flat from 16k to 120k events)', async () => {
    const file = path.join(dir, 'events.ndjson');
    const t0 = Date.parse('2025-03-10T08:00:00Z');
    const lines: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const ts = new Date(t0 + i * 100).toISOString();
      lines.push(
        `{"@timestamp":"${ts}","data_stream":{"type":"logs","dataset":"endpoint.events.process","namespace":"default"},"event":{"category":["process"],"type":["start"],"id":"e${i}"},"host":{"id":"h${i % 50}","name":"host-${i % 50}"},"process":{"name":"p${i % 997}.exe","command_line":"p${i % 997}.exe --run ${i}"}}`,
      );
    }
    writeFileSync(file, lines.join('\n') + '\n');
    const script = `
      const { hunt } = await import(${JSON.stringify(huntModule)});
      const rule = { rule_id: 'r', name: 'r', type: 'eql', language: 'eql', query: 'process where process.name == "p1.exe"', index: ['logs-*'], from: 'now-9m', to: 'now', interval: '5m', max_signals: 100, severity: 'low', risk_score: 21, threat: [], tags: [], references: [], exceptions_list: [], version: 1, author: [], extra: {}, origin: { file: 'r' } };
      const stop = new AbortController();
      let early = null, late = null;
      const live = () => { globalThis.gc(); return process.memoryUsage().heapUsed; };
      const r = await hunt({ rules: [rule], inputs: [${JSON.stringify(file)}], threads: 0, hostIp: 'off', collect: false, signal: stop.signal,
        onProgress: (p) => { if (early === null && p.events >= 16384) early = live(); } });
      late = live();
      console.log(JSON.stringify({ events: r.stats.events, alerts: r.stats.alerts, early, late }));
    `;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--expose-gc', '--import', tsx, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`exit ${code}: ${stderr}`))));
    });
    const m = JSON.parse(out.trim().split('\n').pop()!) as { events: number; alerts: number; early: number; late: number };
    expect(m.events).toBe(EVENTS);
    expect(m.alerts).toBeGreaterThan(0);
    // Keeping every batch cost about 19 MB between the two measures here (about 190 bytes per
    // tiny event); what a hunt rightly holds does not grow with the events read.
    expect((m.late - m.early) / 1e6).toBeLessThan(10);
  }, 180_000);
});
