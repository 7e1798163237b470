// The field walk alone (engine/fields.ts FieldWalker): the CPU time one walk of an event takes with
// the fields every active Elastic EQL rule's router reads, for this checkout's build and,
// optionally, a reference build, in one process over the same parsed events, chunk by chunk in
// turn (which goes first alternates) as bench/route.ts does. The visit callback only counts (and
// sums the values' kinds), so the walk's own cost is what is timed; the counts must be equal.
//
//   npm run build && npx tsx bench/walk.ts [--ref <built checkout>] [--events N] [--passes N] FILE
import path from 'node:path';
import { abArgs, corpus, root } from './ab-args.js';

const { file, ref, limit, passes } = abArgs('walk.ts', 8);

type Mod = Record<string, any>;
interface Build {
  name: string;
  walker: { walk(source: unknown, visit: (field: number, v: unknown) => void): boolean };
  times: number[];
}

/**
 * The router's walked fields: its anchor groups' fields, in the order it gives them to its walker,
 * and the fields it walks to unreported (a build before session 16's relative plain mark ignores them).
 */
async function fieldNames(dir: string): Promise<{ names: string[]; also: string[] }> {
  const load = (await import(path.join(dir, 'dist', 'rules', 'load.js'))) as Mod;
  const router = (await import(path.join(dir, 'dist', 'detect', 'router.js'))) as Mod;
  const rules = load.loadRules([corpus]).rules.filter((r: Mod) => !r.unsupported);
  const opts = { timestampField: '@timestamp', exceptionLists: [], now: Date.parse('2025-06-01T00:00:00Z'), replay: false };
  const prepared = rules.map((r: Mod) => router.prepareRule(r, opts)).filter((p: Mod) => !('skip' in p));
  const r = new router.RuleRouter(prepared) as Mod;
  const names = [...new Set<string>((r.anchorGroups as { field: string; exists: boolean }[]).filter((g) => !g.exists).map((g) => g.field))];
  const anchors = (await import(path.join(dir, 'dist', 'engine', 'anchors.js'))) as Mod;
  const also = [...(r.tables as { field: string }[]).map((t) => t.field), anchors.GATE_FIELD as string, ...(r.existsGroups as { field: string }[]).map((g) => g.field)];
  return { names, also: [...new Set(also)].filter((f) => !names.includes(f)) };
}

const { names, also } = await fieldNames(root);
async function build(dir: string, name: string): Promise<Build> {
  const fields = (await import(path.join(dir, 'dist', 'engine', 'fields.js'))) as Mod;
  return { name, walker: new fields.FieldWalker(names, also), times: [] };
}
const builds = [await build(root, 'this build')];
if (ref) builds.push(await build(path.resolve(ref), 'reference'));

const { readEvents } = (await import(path.join(root, 'dist', 'events', 'sources.js'))) as Mod;
const events: { source: unknown }[] = [];
outer: for await (const batch of readEvents(file).batches()) {
  for (const ev of batch) {
    events.push(ev);
    if (events.length >= limit) break outer;
  }
}

let seen = 0;
let kinds = 0;
const visit = (field: number, v: unknown): void => {
  seen++;
  kinds += field + (typeof v === 'string' ? 1 : 2);
};
const CHUNK = 1000;
const counts = builds.map(() => [0, 0]);
const ratios: number[] = [];
for (let p = 0; p < passes; p++) {
  const used = builds.map(() => 0);
  for (let from = 0, c = 0; from < events.length; from += CHUNK, c++) {
    const to = Math.min(events.length, from + CHUNK);
    for (let j = 0; j < builds.length; j++) {
      const bi = (c + p) % 2 === 0 ? j : builds.length - 1 - j;
      const b = builds[bi]!;
      seen = 0;
      kinds = 0;
      const start = process.cpuUsage();
      for (let i = from; i < to; i++) b.walker.walk(events[i]!.source, visit);
      const u = process.cpuUsage(start);
      used[bi]! += u.user + u.system;
      counts[bi]![0]! += seen;
      counts[bi]![1]! += kinds;
    }
  }
  builds.forEach((b, i) => b.times.push(used[i]! / events.length));
  if (builds.length === 2) ratios.push(used[0]! / used[1]!);
}
for (const [i, b] of builds.entries()) {
  const sorted = [...b.times].sort((x, y) => x - y);
  console.log(
    `${b.name}: ${names.length} fields, ${events.length} events, ${passes} passes, µs of CPU per walk best ${sorted[0]!.toFixed(2)} median ${sorted[sorted.length >> 1]!.toFixed(2)}; values visited ${counts[i]![0]}, checksum ${counts[i]![1]}`,
  );
}
if (builds.length === 2) {
  const sorted = ratios.slice(1).sort((a, b) => a - b);
  console.log(`this build / reference, CPU per pass after the first: median ${sorted[sorted.length >> 1]!.toFixed(3)}, range ${sorted[0]!.toFixed(3)}–${sorted[sorted.length - 1]!.toFixed(3)}`);
}
