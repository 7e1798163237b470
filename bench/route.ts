// Routing alone: the CPU time RuleRouter.route() takes per event with every active Elastic EQL
// rule, for this checkout's build and, optionally, a reference build, both in one process over the
// same parsed events (so reading and parsing are left out and both builds see the same heap and
// machine load). The best and the median pass of each are reported, and the median ratio.
//
//   npm run build && npx tsx bench/route.ts [--ref <built checkout>] [--events N] [--passes N] [--answers] [--fresh] FILE
//
// --fresh: each build routes events parsed again from their lines just before its turn at a chunk
// (outside the timed part), as a hunt routes events it has just parsed: their strings are new
// objects, whose hashes the router's look-ups compute again, where reused events keep theirs.
//
// FILE: NDJSON events, e.g. `head -n 20000` of the bench's Agent data. Also reports, per build,
// how many rules each event was offered (dispatched) and kept, which must be equal across builds.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { abArgs, corpus, root } from './ab-args.js';

const { file, ref, limit, passes } = abArgs('route.ts', 6);
// With --answers, route() also writes the routed rules' answers, as a hunt's input workers ask it
// to (the rules' conditions run on the event then).
const answers: unknown[] | undefined = process.argv.includes('--answers') ? [] : undefined;

type Mod = Record<string, any>;
interface Build {
  name: string;
  router: { route(ev: unknown, answers?: unknown[]): readonly number[]; counters: { dispatched: number[] } };
  times: number[];
}

async function build(dir: string, name: string): Promise<Build> {
  const load = (await import(path.join(dir, 'dist', 'rules', 'load.js'))) as Mod;
  const router = (await import(path.join(dir, 'dist', 'detect', 'router.js'))) as Mod;
  const rules = load.loadRules([corpus]).rules.filter((r: Mod) => !r.unsupported);
  const opts = { timestampField: '@timestamp', exceptionLists: [], now: Date.parse('2025-06-01T00:00:00Z'), replay: false };
  const prepared = rules.map((r: Mod) => router.prepareRule(r, opts)).filter((p: Mod) => !('skip' in p));
  return { name, router: new router.RuleRouter(prepared), times: [] };
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
const fresh = process.argv.includes('--fresh');
const lines: string[] = [];
if (fresh) {
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    lines.push(line);
    if (lines.length >= events.length) break;
  }
  if (lines.length !== events.length) throw new Error(`--fresh: ${lines.length} lines for ${events.length} events`);
}

// Each pass routes the events in chunks of CHUNK, every chunk through both builds in turn (which
// goes first alternates), so that both builds meet the same machine load, and sums each build's
// CPU time over the chunks: on a loaded machine the ratio of those sums varies far less than
// whole passes timed one after the other.
const CHUNK = 1000;
const kept = builds.map(() => 0);
const ratios: number[] = [];
for (let p = 0; p < passes; p++) {
  const used = builds.map(() => 0);
  const k = builds.map(() => 0);
  for (let from = 0, c = 0; from < events.length; from += CHUNK, c++) {
    const to = Math.min(events.length, from + CHUNK);
    for (let j = 0; j < builds.length; j++) {
      const bi = (c + p) % 2 === 0 ? j : builds.length - 1 - j;
      const b = builds[bi]!;
      if (fresh) for (let i = from; i < to; i++) events[i]!.source = JSON.parse(lines[i]!);
      const start = process.cpuUsage();
      for (let i = from; i < to; i++) {
        if (answers !== undefined) answers.length = 0;
        k[bi]! += b.router.route(events[i], answers).length;
      }
      const u = process.cpuUsage(start);
      used[bi]! += u.user + u.system;
    }
  }
  builds.forEach((b, i) => {
    b.times.push(used[i]! / events.length);
    kept[i] = k[i]!;
  });
  if (builds.length === 2) ratios.push(used[0]! / used[1]!);
}

for (const [i, b] of builds.entries()) {
  const sorted = [...b.times].sort((x, y) => x - y);
  const offered = b.router.counters.dispatched.reduce((a, c) => a + c, 0) / passes / events.length;
  console.log(
    `${b.name}: ${events.length} events, ${passes} passes, µs of CPU per event best ${sorted[0]!.toFixed(1)} median ${sorted[sorted.length >> 1]!.toFixed(1)}` +
      ` (all: ${b.times.map((t) => t.toFixed(1)).join(' ')}); rules offered per event ${offered.toFixed(2)}, kept ${(kept[i]! / events.length).toFixed(3)}`,
  );
}
if (builds.length === 2) {
  // The first pass warms both builds up (JIT), so it is left out of the ratios' median.
  const sorted = ratios.slice(1).sort((a, b) => a - b);
  console.log(`this build / reference, CPU per pass after the first: median ${sorted[sorted.length >> 1]!.toFixed(3)}, range ${sorted[0]!.toFixed(3)}–${sorted[sorted.length - 1]!.toFixed(3)}`);
}
