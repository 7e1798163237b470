// `eqlite serve` leaves a document unparsed when RuleRouter.mayDispatch, given only the fields
// picked from its bytes, says no rule can use it. That must never lose an event: whenever routing
// the whole parsed event gives a rule, mayDispatch of the picked fields says yes.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { prepareRule, RuleRouter, type PreparedRule } from '../src/detect/router.js';
import { markPlain } from '../src/engine/fields.js';
import { inferIndex } from '../src/events/sources.js';
import { generateEvents } from '../src/generate/index.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { fieldTrie, scanObject, type ScanResult } from '../src/serve/json-scan.js';

const CORPUS = path.resolve(__dirname, '../../shared/corpus/elastic-rules/eql-rules.ndjson');

function prepared(paths: string[]): PreparedRule[] {
  const out: PreparedRule[] = [];
  for (const rule of loadRules(paths).rules) {
    const p = prepareRule(rule, { timestampField: '@timestamp', exceptionLists: [], now: Date.now(), replay: false });
    if (!('skip' in p)) out.push(p);
  }
  return out;
}

function events(): { line: string; index: string }[] {
  const docs: Record<string, unknown>[] = [];
  for (const l of readFileSync('examples/windows-sample.ndjson', 'utf8').split('\n')) if (l.trim()) docs.push(JSON.parse(l) as Record<string, unknown>);
  for (const d of generateEvents({ events: 3000, hosts: 12, seed: 5 })) docs.push(d);
  return docs.map((d) => ({ line: JSON.stringify(d), index: inferIndex(d) }));
}

function check(rules: PreparedRule[]): { routed: number; dispatchable: number; total: number } {
  const router = new RuleRouter(rules);
  const trie = fieldTrie(router.dispatchFields());
  const out: ScanResult = { error: null, tsKind: 0, tsStart: 0, tsEnd: 0, picked: null };
  let routed = 0;
  let dispatchable = 0;
  const all = events();
  for (const { line, index } of all) {
    const b = Buffer.from(line);
    expect(scanObject(b, 0, b.length, out, trie).error).toBeNull();
    // As the bulk parser asks: the picked object marked plain first (see markPlain).
    markPlain(out.picked!);
    const may = router.mayDispatch(out.picked!, index);
    const routes = router.route({ source: JSON.parse(line) as Record<string, unknown>, index, id: 'x' });
    if (routes.length > 0) {
      routed++;
      expect(may, line).toBe(true);
    }
    if (may) dispatchable++;
  }
  return { routed, dispatchable, total: all.length };
}

describe('deciding from picked fields which events no rule can use', () => {
  test('the seed rule: every event it is routed is dispatchable from its picked fields; most others are not', () => {
    const r = check(prepared([defaultRulesDir()]));
    expect(r.routed).toBeGreaterThan(0);
    // Anchored on process names: few events are worth parsing.
    expect(r.dispatchable).toBeLessThan(r.total / 4);
  });

  test.runIf(existsSync(CORPUS))('every Elastic EQL rule (../shared): no routed event is lost', () => {
    const r = check(prepared([CORPUS]));
    expect(r.routed).toBeGreaterThan(0);
  });
});
