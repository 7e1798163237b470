import Database from 'better-sqlite3';
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { hash } from 'node:crypto';
const lines = readFileSync('/work/wt-serve/bench/data/serve-20000-h200-s11.ndjson').toString().split('\n').filter(Boolean).map(l => Buffer.from(l));
const rows = lines.map((b, i) => ({ idx: 'logs-endpoint.events.process-default', id: String(1e12 + i).padStart(8, '0') + hash('sha256', b, 'base64url').slice(0, 12), ts: 1741593600000 + i * 10 + (i % 7) * 100, b }));
function run(label, { page = 65536, ckpt = 1000, per = 3200, K = 1 } = {}) {
  let best = Infinity, bu = 0, bw = 0;
  for (let rep = 0; rep < 3; rep++) {
  const dir = mkdtempSync('/tmp/ib-'); const db = new Database(dir + '/e.sqlite');
  db.pragma('page_size = ' + page); db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL'); db.pragma('cache_size = -65536'); db.pragma('wal_autocheckpoint = ' + ckpt);
  db.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, idx TEXT NOT NULL, id TEXT NOT NULL, ts INTEGER, ingested INTEGER NOT NULL, routed INTEGER NOT NULL DEFAULT 0, src TEXT NOT NULL); CREATE UNIQUE INDEX events_key ON events(id, idx); CREATE INDEX events_ts ON events(ts);`);
  const one = db.prepare(`INSERT INTO events (idx, id, ts, ingested, routed, src) VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT)) ON CONFLICT (id, idx) DO NOTHING`);
  const many = K > 1 ? db.prepare('INSERT INTO events (idx, id, ts, ingested, routed, src) VALUES ' + Array(K).fill('(?, ?, ?, ?, ?, CAST(? AS TEXT))').join(',') + ' ON CONFLICT (id, idx) DO NOTHING') : null;
  const args = new Array(K * 6);
  const t = process.cpuUsage(); const t0 = performance.now();
  for (let g = 0; g < rows.length; g += per) {
    db.transaction(() => { const end = Math.min(rows.length, g + per); let i = g;
      if (many) for (; i + K <= end; i += K) { for (let k = 0; k < K; k++) { const r = rows[i + k]; const o = k * 6; args[o] = r.idx; args[o+1] = r.id; args[o+2] = r.ts; args[o+3] = 1; args[o+4] = -1; args[o+5] = r.b; } many.run(args); }
      for (; i < end; i++) { const r = rows[i]; one.run(r.idx, r.id, r.ts, 1, -1, r.b); } }).immediate();
  }
  const u = process.cpuUsage(t);
  const c = (u.user + u.system) / rows.length; if (c < best) { best = c; bu = u.user / rows.length; bw = (performance.now() - t0) * 1000 / rows.length; }
  db.close(); rmSync(dir, { recursive: true });
  }
  console.log(label.padEnd(24), 'min cpu µs/row', best.toFixed(2), 'user', bu.toFixed(2), 'wall', bw.toFixed(2));
}
const which = process.argv[2];
if (which === 'a') { run('64k'); run('64k ckpt 10000', { ckpt: 10000 }); run('64k K=32', { K: 32 }); run('32k', { page: 32768 }); run('64k per 6400', { per: 6400 }); }
