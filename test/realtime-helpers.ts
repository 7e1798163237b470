// Shared by the tests of the partition detector (realtime.ts): rules as a detector runs them, and a
// detector over a reader with no reorder hold whose alerts go to an array.
import pino from 'pino';
import type { Alert } from '../src/detect/alerts.js';
import { prepareRule, RuleRouter } from '../src/detect/router.js';
import type { PartitionReader } from '../src/serve/event-log.js';
import { PartitionDetector, WHOLE_LOG, type DetectorOptions, type DetectorRules } from '../src/serve/realtime.js';
import { makeRule } from './detect-helpers.js';

/** One rule per query (`r0`, `r1`, …) on logs-*, every 5 minutes over now-9m: scheduled and stream copies. */
export function rulesOf(queries: string[]): DetectorRules {
  const mk = (max: number) =>
    queries.map((q, i) => {
      const p = prepareRule(makeRule({ name: `r${i}`, query: q, index: ['logs-*'], from: 'now-9m', interval: '5m' }), { timestampField: '@timestamp', exceptionLists: [], now: Date.now(), replay: true, maxSignals: max });
      if ('skip' in p) throw new Error(p.skip);
      return p;
    });
  const prepared = mk(100);
  return { gen: 1, prepared, stream: mk(Infinity), router: new RuleRouter(prepared) };
}

/** A detector of the whole log from position 1, no reorder hold, acknowledging every 20 ms. */
export function detectorOn(reader: PartitionReader, rules: DetectorRules, alerts: Alert[], maxReplayMs = 3_600_000, extra: Partial<DetectorOptions> = {}): PartitionDetector {
  const ids = new Set<string>();
  return new PartitionDetector({
    reader,
    rules,
    scope: WHOLE_LOG,
    sink: (group) => void alerts.push(...group),
    ledger: { has: (id) => ids.has(id), add: (id) => void ids.add(id) },
    log: pino({ level: 'silent' }),
    reorderMs: 0,
    checkpointEveryMs: 20,
    maxReplayMs,
    initialStart: () => ({ position: 1 }),
    ...extra,
  });
}
