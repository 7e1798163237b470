// The plain-source mark between routing and the engine (EventDoc.plain): a hunt routes a batch of
// events, then the detection engine pushes them, so without the event's own note the accessors of
// the sequence runs' term filters see the mark of the batch's last event and read every missing
// field the slow way. Two routers and two engines of this build take the same events, batch by
// batch (which goes first alternates), one with the note and one without; the CPU time of each
// pass is summed per side, and the median ratio of the passes after the first is reported.
//
//   npm run build && npx tsx bench/plain-mark.ts FILE [PASSES]
//
// FILE: NDJSON events, e.g. `head -n 20000` of the bench's Agent data (needs ../shared).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const corpus = path.resolve(root, '..', 'shared', 'corpus', 'elastic-rules', 'eql-rules.ndjson');
const file = process.argv[2];
const passes = Number(process.argv[3] ?? 6);
if (!file) {
  console.error('usage: npx tsx bench/plain-mark.ts FILE [PASSES] (needs ../shared)');
  process.exit(2);
}
type Mod = Record<string, any>;
const load = (p: string): Promise<Mod> => import(path.join(root, 'dist', p)) as Promise<Mod>;
const { loadRules } = await load('rules/load.js');
const router = await load('detect/router.js');
const { DetectionEngine } = await load('detect/engine.js');
const { inferIndex } = await load('events/sources.js');
const { parseInstant } = await load('events/time.js');
const { isMarkedPlain } = await load('engine/fields.js');

const now = Date.parse('2026-01-01T00:00:00Z');
const loaded = loadRules([corpus]);
const prepared: unknown[] = [];
for (const rule of loaded.rules) {
  const p = router.prepareRule(rule, { timestampField: '@timestamp', exceptionLists: loaded.exceptionLists, now, replay: true });
  if (!('skip' in p)) prepared.push(p);
}
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
// Each side parses its own copy: the engines keep events, and a shared source would share marks.
const parsed = () =>
  lines.map((line, i) => {
    const source = JSON.parse(line) as Record<string, unknown>;
    const t = parseInstant(source['@timestamp']);
    return { source, index: inferIndex(source), id: `e:${i}`, time: { ms: t.ms, ns: t.ns }, timeField: '@timestamp' } as Mod;
  });
/** About one read's worth of Agent events (64 KiB pieces of 1 MiB reads). */
const BATCH = 400;
const ratios: number[] = [];
for (let p = 0; p < passes; p++) {
  const events = [parsed(), parsed()];
  const routers = [new router.RuleRouter(prepared), new router.RuleRouter(prepared)];
  const alerts = [0, 0];
  const engines = [0, 1].map(
    (k) => new DetectionEngine({ rules: prepared, mode: 'schedule', now, timestampField: '@timestamp', onWarning: () => {}, sink: (g: unknown[]) => (alerts[k]! += g.length) }),
  );
  const used = [0, 0];
  for (let from = 0, c = 0; from < lines.length; from += BATCH, c++) {
    for (let j = 0; j < 2; j++) {
      const k = (c + p) % 2 === 0 ? j : 1 - j;
      const start = process.cpuUsage();
      const batch = events[k]!.slice(from, from + BATCH);
      for (const ev of batch) {
        const routes = routers[k]!.route(ev) as number[];
        ev.plain = k === 0 ? isMarkedPlain(ev.source) : false;
        ev.routed = routes.slice();
      }
      for (const ev of batch) engines[k]!.push(ev, ev.time.ms, ev.routed);
      const u = process.cpuUsage(start);
      used[k]! += u.user + u.system;
    }
  }
  engines[0]!.finish();
  engines[1]!.finish();
  ratios.push(used[0]! / used[1]!);
  console.log(`pass ${p}: with the note ${(used[0]! / 1000).toFixed(0)} ms, without ${(used[1]! / 1000).toFixed(0)} ms (${(used[0]! / used[1]!).toFixed(3)}); alerts ${alerts[0]} and ${alerts[1]}`);
}
// The first pass warms both sides up (JIT), so it is left out of the median.
const sorted = ratios.slice(1).sort((a, b) => a - b);
console.log(`with / without, CPU per pass after the first: median ${sorted[sorted.length >> 1]!.toFixed(3)}, range ${sorted[0]!.toFixed(3)}–${sorted[sorted.length - 1]!.toFixed(3)}`);
