// The main thread's share of `eqlite serve` ingest, alone: the bulk parser (src/serve/bulk.ts)
// over Beats-sized bodies of the serve bench's generated Windows events, with the bundled seed
// rule's router, with and without its needle filter (src/serve/needles.ts), in alternating rounds
// of one process (so that the load of the machine weighs on both alike). CPU µs per document,
// median of the rounds after two warm-up rounds:
//   npx tsx bench/serve-parse.ts              the bench's mix (Winlogbeat, Agent and Defend shapes)
//   EQLITE_BENCH_PARSE_ONLY=defend npx tsx bench/serve-parse.ts
//                                             the documents without a winlog event id (Defend's shape)
//   EQLITE_BENCH_PARSE_DOCS=N                 documents per round (default 32000)
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareRule, RuleRouter, type PreparedRule } from '../src/detect/router.js';
import { inferIndex } from '../src/events/sources.js';
import { writeGenerated } from '../src/generate/index.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { BulkParser, type BulkRouter } from '../src/serve/bulk.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const docs = Number(process.env.EQLITE_BENCH_PARSE_DOCS ?? 32_000);
const only = process.env.EQLITE_BENCH_PARSE_ONLY;

const rules: PreparedRule[] = [];
for (const rule of loadRules([defaultRulesDir()]).rules) {
  const p = prepareRule(rule, { timestampField: '@timestamp', exceptionLists: [], now: Date.now(), replay: true });
  if (!('skip' in p)) rules.push(p);
}
const router = new RuleRouter(rules);
const routerOf = (needles: readonly string[] | null): BulkRouter => ({
  gen: 1,
  fields: router.dispatchFields(),
  needles,
  wants: (index) => rules.some((p) => p.matchIndex(index)),
  mayDispatch: (picked, index) => router.mayDispatch(picked, index),
  route: (ev) => router.route(ev),
});

// The serve bench's data (generated once, as bench/serve.ts does).
const file = path.join(here, 'data', 'serve-100000-h200-s11.ndjson');
if (!existsSync(file)) await writeGenerated({ events: 100_000, hosts: 200, seed: 11, out: file });
let lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
if (only === 'defend') lines = lines.filter((l) => !l.includes('vent_id"'));
lines = lines.slice(0, docs);
const bodies: Buffer[] = [];
for (let i = 0; i < lines.length; i += 1600) {
  let b = '';
  for (const l of lines.slice(i, i + 1600)) b += `{"create":{"_index":"${inferIndex(JSON.parse(l) as Record<string, unknown>)}"}}\n${l}\n`;
  bodies.push(Buffer.from(b));
}

const configs: [string, BulkRouter][] = [
  ['needle filter', routerOf(router.needles)],
  ['no needle filter', routerOf(null)],
];
const times = new Map<string, number[]>(configs.map(([k]) => [k, []]));
let unscanned = 0;
for (let round = 0; round < 16; round++) {
  for (const [label, r] of configs) {
    const c0 = process.cpuUsage();
    let n = 0;
    for (const b of bodies) for (const it of new BulkParser({ router: r }).parse(b)) if (!it.checked && !it.doc && !it.error) n++;
    const c = process.cpuUsage(c0);
    if (round >= 2) times.get(label)!.push((c.user + c.system) / lines.length);
    if (label === 'needle filter') unscanned = n;
  }
}
console.log(`bulk parser, seed rule (needles ${JSON.stringify(router.needles)}), ${lines.length.toLocaleString('en')} documents (${only === 'defend' ? "Defend's shape" : "the serve bench's mix"}); ${unscanned.toLocaleString('en')} left unscanned with the filter`);
for (const [label, t] of times) {
  t.sort((a, b) => a - b);
  console.log(`  ${label.padEnd(18)} ${t[Math.floor(t.length / 2)]!.toFixed(2)} µs/document (median of ${t.length}; min ${t[0]!.toFixed(2)})`);
}
