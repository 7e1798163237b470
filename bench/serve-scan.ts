// The byte check of bulk documents (src/serve/json-scan.ts, scanObject) alone, over the serve
// bench's generated Windows events, with no field picked (what the store's writer thread does),
// with the fields a raw Windows event is told by, and with those and the bundled seed rule's
// dispatch fields (what the main thread does for a wanted document). Two builds side by side, in
// alternating rounds of one process, after a check that both give the same results on every
// document; CPU µs per document, median of the rounds after two warm-up rounds:
//   npm run build && EQLITE_BENCH_SCAN_REF=/path/to/other/dist/serve/json-scan.js npx tsx bench/serve-scan.ts
// (without EQLITE_BENCH_SCAN_REF, this build alone). EQLITE_BENCH_SCAN_DOCS=N documents (16000).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { writeGenerated } from '../src/generate/index.js';

type Scan = typeof import('../src/serve/json-scan.js');

const here = path.dirname(fileURLToPath(import.meta.url));
const docs = Number(process.env.EQLITE_BENCH_SCAN_DOCS ?? 16_000);
const file = path.join(here, 'data', 'serve-100000-h200-s11.ndjson');
if (!existsSync(file)) await writeGenerated({ events: 100_000, hosts: 200, seed: 11, out: file });
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').slice(0, docs);
const body = Buffer.from(lines.join('\n') + '\n');
const spans: number[] = [];
for (let s = 0, i = body.indexOf(10); i >= 0; s = i + 1, i = body.indexOf(10, s)) spans.push(s, i);

const WINLOG = ['winlog.event_id', 'winlog.channel', 'winlog.provider_name', 'event.category', 'event.type'];
// The bundled seed rule's dispatch fields (RuleRouter.dispatchFields()) and the Windows ones.
const SEED = ['event.category', 'dll.name', 'file.name', 'process.name', 'process.parent.name', 'process.pe.original_file_name', 'process.executable', ...WINLOG];

const builds: [string, Scan][] = [['this build', (await import(pathToFileURL(path.join(here, '..', 'dist/serve/json-scan.js')).href)) as Scan]];
const ref = process.env.EQLITE_BENCH_SCAN_REF;
if (ref) builds.push([ref, (await import(pathToFileURL(path.resolve(ref)).href)) as Scan]);
const picks = ['none', 'winlog', 'seed'] as const;
const impl = builds.map(([label, m]) => ({
  label,
  m,
  out: { error: null, tsKind: 0, tsStart: 0, tsEnd: 0, picked: null } as import('../src/serve/json-scan.js').ScanResult,
  tries: { none: null, winlog: m.fieldTrie(WINLOG), seed: m.fieldTrie(SEED) },
}));

// Same results from both builds on every document.
if (impl.length === 2) {
  for (const p of picks) {
    for (let j = 0; j < spans.length; j += 2) {
      const [a, b] = impl.map((I) => {
        const r = I.m.scanObject(body, spans[j]!, spans[j + 1]!, I.out, I.tries[p]);
        return { ...r, picked: r.picked && (JSON.parse(JSON.stringify(r.picked)) as unknown) };
      });
      if (!isDeepStrictEqual(a, b)) throw new Error(`document ${j / 2 + 1}, picking ${p}: the builds differ`);
    }
  }
}

const times = new Map<string, number[]>();
for (let round = 0; round < 14; round++) {
  for (const p of picks) {
    for (const I of round % 2 ? [...impl].reverse() : impl) {
      const trie = I.tries[p];
      const c0 = process.cpuUsage();
      for (let j = 0; j < spans.length; j += 2) I.m.scanObject(body, spans[j]!, spans[j + 1]!, I.out, trie);
      const c = process.cpuUsage(c0);
      if (round < 2) continue;
      const k = `${p}\t${I.label}`;
      if (!times.has(k)) times.set(k, []);
      times.get(k)!.push((c.user + c.system) / (spans.length / 2));
    }
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`scanObject, ${spans.length / 2} documents (${(body.length / (spans.length / 2)).toFixed(0)} bytes each on average), CPU µs per document:`);
for (const p of picks) {
  const row = impl.map((I) => median(times.get(`${p}\t${I.label}`)!));
  const vs = row.length === 2 ? `  (${((row[0]! / row[1]! - 1) * 100).toFixed(1)}% against ${impl[1]!.label})` : '';
  console.log(`  picking ${p.padEnd(7)} ${row.map((x, i) => `${impl[i]!.label} ${x.toFixed(2)}`).join(', ')}${vs}`);
}
