// One benchmark phase, run in its own process so that its peak memory is its own. It measures the
// compiled package (dist/, what `eqlite` runs), not the TypeScript sources through tsx, whose
// transpiled output is measurably slower on the hot paths.
// Usage: tsx bench/phase.ts <parse|order|filter|seed|hunt-seed|hunt-corpus> FILE|DIR [RULES [N]]
//   filter, seed   what `eqlite query` does with the simple filter / the seed rule's query
//   hunt-corpus    hunt with the active rules of RULES (all, or N of them spread over the set)
// EQLITE_THREADS sets the worker threads (default: the commands' own default).
import { readFileSync } from 'node:fs';
import { compile } from '../dist/engine/index.js';
import { openInput } from '../dist/events/inputs.js';
import { mergeOrdered } from '../dist/events/order.js';
import { expandInputs, readEvents } from '../dist/events/sources.js';
import { openFiles } from '../dist/parallel/pool.js';
import { hunt } from '../dist/detect/hunt.js';
import { defaultRulesDir, loadRules } from '../dist/rules/load.js';
import type { Rule } from '../dist/rules/types.js';

export const SIMPLE_FILTER = 'process where event.type == "start" and process.name : "powershell.exe"';

export function seedQuery(): string {
  const toml = readFileSync(new URL('../rules/windows/initial_access_scripts_process_started_via_wmi.toml', import.meta.url), 'utf8');
  const m = /query = '''\n([\s\S]*?)'''/.exec(toml);
  if (!m) throw new Error('seed rule query not found');
  return m[1]!;
}

/** `n` of the rules, spread evenly over the set sorted by rule_id (all when n is absent). */
export function pickRules(rules: Rule[], n?: number): Rule[] {
  const sorted = [...rules].sort((a, b) => (a.rule_id < b.rule_id ? -1 : a.rule_id > b.rule_id ? 1 : 0));
  if (n === undefined || n >= sorted.length) return sorted;
  return Array.from({ length: n }, (_, i) => sorted[Math.floor((i * sorted.length) / n)]!);
}

const threads = process.env.EQLITE_THREADS === undefined ? undefined : Number(process.env.EQLITE_THREADS);

async function main(): Promise<void> {
  const [phase, file, rulesPath, limit] = process.argv.slice(2) as [string, string, string | undefined, string | undefined];
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let events = 0;
  let results = 0;
  let live = 0;
  let rules = 0;
  if (phase.startsWith('hunt-')) {
    const loaded = loadRules([phase === 'hunt-corpus' ? rulesPath! : defaultRulesDir()]);
    const eql = pickRules(
      loaded.rules.filter((r) => !r.unsupported),
      limit ? Number(limit) : undefined,
    );
    rules = eql.length;
    // EQLITE_BENCH_OUTLINES: an outline cache directory, as the command passes its own (run.ts warmOutlines).
    const outlines = process.env.EQLITE_BENCH_OUTLINES;
    const r = await hunt({ rules: eql, exceptionLists: loaded.exceptionLists, inputs: [file], threads, collect: false, onAlert: () => results++, ...(outlines ? { outlines } : {}) });
    events = r.stats.events;
  } else if (phase === 'parse') {
    for await (const batch of readEvents(file).batches()) events += batch.length;
  } else if (phase === 'order') {
    const inputs = (await expandInputs([file])).map((f) => openInput(f));
    for await (const batch of mergeOrdered(inputs).batches()) events += batch.length;
  } else {
    // As `eqlite query` runs a query (src/cli/query.ts).
    const query = phase === 'seed' ? seedQuery() : SIMPLE_FILTER;
    const q = compile(query);
    const opened = openFiles(await expandInputs([file]), {
      threads,
      route: { kind: 'query', query, timestampField: '@timestamp', tiebreakerField: null, eventCategoryField: 'event.category' },
      timestampField: '@timestamp',
      local: (f) => openInput(f, { needles: q.needles, timestampField: '@timestamp' }),
    });
    const run = q.createRun(() => results++);
    try {
      for await (const batch of mergeOrdered(opened.inputs).batches()) {
        events += batch.length;
        for (const ev of batch) if (ev.routed === undefined || ev.routed.length > 0) run.push(ev);
      }
    } finally {
      await opened.close();
    }
    results += run.finish().length;
    live = (run as { liveSequences?: number }).liveSequences ?? 0;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // CPU time of the whole process (every thread): on a shared machine whose other load takes the
  // cores away, it varies far less than the wall clock.
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ phase, events, results, seconds, cpuSeconds, peakRssMb, live, rules }) + '\n');
}

if (process.argv[2]) await main();
