// Peak memory of `eqlite serve` answering one very large _bulk request: N tiny documents (default
// 1,000,000: 83 MB) sent at once by fetch, with Beats' filter_path and with the full response.
// Not part of `npm run bench` (one request, memory only). Run: `npm run build && npx tsx
// bench/serve-bulk-memory.ts [N]`; EQLITE_BENCH_SERVE_MAIN=PATH runs another build's main.js.
// Reports the service's peak RSS (Linux VmHWM) and the seconds to the full answer.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUp } from './wait-up.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = process.env.EQLITE_BENCH_SERVE_MAIN ?? path.join(root, 'dist/cli/main.js');
const n = Number(process.argv[2] ?? 1_000_000);

async function once(filterPath: string | null): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-bench-bulk-'));
  writeFileSync(path.join(dir, 'eqlite.toml'), '[log]\nlevel = "warn"\n');
  const port = 19100 + Math.floor(Math.random() * 300);
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [main, 'serve', '--config', path.join(dir, 'eqlite.toml'), '--data', path.join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--rules', path.join(root, 'rules')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const peak = () => Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  try {
    await waitUp(url);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`{"create":{"_index":"logs-tiny"}}\n{"@timestamp":"2026-12-05T10:00:00Z","n":${i}}\n`);
    const body = Buffer.from(parts.join(''));
    parts.length = 0;
    const before = peak();
    const t0 = performance.now();
    const r = await fetch(`${url}/_bulk${filterPath ? `?filter_path=${filterPath}` : ''}`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
    const text = await r.text();
    if (r.status !== 200 || !text.includes('"errors":false')) throw new Error(`bulk answered ${r.status}: ${text.slice(0, 200)}`);
    const s = (performance.now() - t0) / 1000;
    console.log(
      `${(filterPath ? 'filter_path=' + filterPath : 'full response').padEnd(50)} body ${(body.length / 1e6).toFixed(0)} MB  response ${(text.length / 1e6).toFixed(0)} MB  ${s.toFixed(1)} s  RSS before ${before.toFixed(0)} MB, peak ${peak().toFixed(0)} MB`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`eqlite serve: one _bulk of ${n.toLocaleString('en')} tiny documents (${main})`);
await once('errors,items.*.error,items.*.status');
await once(null);
