// What the instruction-count benches (rule-pass.ts, route-parts.ts) measure against: a built
// checkout's modules, every active Elastic EQL rule of ../shared prepared as a hunt prepares them,
// and the events of a file parsed and timed once, outside the measured pass.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Mod = Record<string, any>;

/** The rules' "now" (a fixed instant, so that every build prepares the same schedules). */
export const NOW = Date.parse('2026-01-01T00:00:00Z');

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = path.resolve(here, '..', '..', 'shared', 'corpus', 'elastic-rules', 'eql-rules.ndjson');

/** Loads `dir`'s dist modules, prepares every rule with its router module and reads `file`. */
export async function checkoutRulesAndEvents(dir: string, file: string) {
  const load = (p: string): Promise<Mod> => import(path.resolve(dir, 'dist', p)) as Promise<Mod>;
  const { loadRules } = await load('rules/load.js');
  const router = await load('detect/router.js');
  const { inferIndex } = await load('events/sources.js');
  const { parseInstant } = await load('events/time.js');
  const loaded = loadRules([corpus]);
  const prepared: unknown[] = [];
  for (const rule of loaded.rules) {
    const p = router.prepareRule(rule, { timestampField: '@timestamp', exceptionLists: loaded.exceptionLists, now: NOW, replay: true });
    if (!('skip' in p)) prepared.push(p);
  }
  const events = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((line, i) => {
      const source = JSON.parse(line) as Record<string, unknown>;
      const t = parseInstant(source['@timestamp']);
      return { source, index: inferIndex(source), id: `e:${i}`, time: { ms: t.ms as number, ns: t.ns as number }, timeField: '@timestamp' };
    });
  return { load, router, prepared, events };
}

/**
 * Runs `pass` twice to warm up, then `reset`, then once more inside a JSON.parse reviver — the
 * window that `valgrind --toggle-collect='v8::internal::JsonParseInternalizer::Internalize*'`
 * counts alone; gives that pass's CPU time in milliseconds.
 */
export function measuredPass(pass: () => void, reset: () => void): number {
  pass();
  pass();
  reset();
  const c0 = process.cpuUsage();
  JSON.parse('0', () => {
    pass();
    return 0;
  });
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}
