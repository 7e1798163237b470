// One benchmark phase, run in its own process so that its peak memory is its own. It measures the
// compiled package (dist/, what `eqlite` runs), not the TypeScript sources through tsx, whose
// transpiled output is measurably slower on the hot paths.
// Usage: tsx bench/phase.ts <parse|order|filter|seed|hunt-seed|hunt-corpus> FILE|DIR [RULES]
// EQLITE_THREADS sets hunt's worker threads (default: hunt's own default).
import { readFileSync } from 'node:fs';
import { compile } from '../dist/engine/index.js';
import { openInputs } from '../dist/events/inputs.js';
import { mergeOrdered } from '../dist/events/order.js';
import { readEvents } from '../dist/events/sources.js';
import { hunt } from '../dist/detect/hunt.js';
import { defaultRulesDir, loadRules } from '../dist/rules/load.js';

export const SIMPLE_FILTER = 'process where event.type == "start" and process.name : "powershell.exe"';

export function seedQuery(): string {
  const toml = readFileSync(new URL('../rules/windows/initial_access_scripts_process_started_via_wmi.toml', import.meta.url), 'utf8');
  const m = /query = '''\n([\s\S]*?)'''/.exec(toml);
  if (!m) throw new Error('seed rule query not found');
  return m[1]!;
}

async function main(): Promise<void> {
  const [phase, file, rulesPath] = process.argv.slice(2) as [string, string, string | undefined];
  const t0 = process.hrtime.bigint();
  let events = 0;
  let results = 0;
  let live = 0;
  let rules = 0;
  if (phase.startsWith('hunt-')) {
    const loaded = loadRules([phase === 'hunt-corpus' ? rulesPath! : defaultRulesDir()]);
    const eql = loaded.rules.filter((r) => !r.unsupported);
    rules = eql.length;
    const threads = process.env.EQLITE_THREADS === undefined ? undefined : Number(process.env.EQLITE_THREADS);
    const r = await hunt({ rules: eql, exceptionLists: loaded.exceptionLists, inputs: [file], threads, collect: false, onAlert: () => results++ });
    events = r.stats.events;
  } else if (phase === 'parse') {
    for await (const batch of readEvents(file).batches()) events += batch.length;
  } else {
    const inputs = await openInputs([file]);
    const stream = mergeOrdered(inputs, { reorderWindow: process.env.EQLITE_REORDER ? Number(process.env.EQLITE_REORDER) : undefined });
    if (phase === 'order') {
      for await (const batch of stream.batches()) events += batch.length;
    } else {
      const q = compile(phase === 'seed' ? seedQuery() : SIMPLE_FILTER);
      const run = q.createRun(() => results++);
      for await (const batch of stream.batches()) {
        events += batch.length;
        for (const ev of batch) run.push(ev);
      }
      results += run.finish().length;
      live = (run as { liveSequences?: number }).liveSequences ?? 0;
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ phase, events, results, seconds, peakRssMb, live, rules }) + '\n');
}

await main();
