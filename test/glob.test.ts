// Glob patterns outside EQL (issue 14): rule filters' and _search's wildcard queries, index
// patterns, filter_path, rule selection. They used to become JavaScript RegExps of `.*`, which
// backtrack without end on hostile patterns; now every one is linear or at worst pattern × value.

import { describe, expect, it } from 'vitest';
import { compileRuleFilters, FilterError } from '../src/detect/filters.js';
import { indexCovered, selectRules } from '../src/rules/select.js';
import { applyFilterPath, parseFilterPath } from '../src/serve/filter-path.js';
import { compileQuery } from '../src/serve/query-dsl.js';
import { compileGlob } from '../src/util/glob.js';
import { mulberry32 } from './prng.js';

/** A reference matcher (RegExp), safe on the short strings of the comparison. */
function reference(pattern: string, escapes: boolean, ci: boolean): (v: string) => boolean {
  let re = '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (escapes && c === '\\' && i + 1 < chars.length) re += chars[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const r = new RegExp(`^${re}$`, ci ? 'iu' : 'u');
  return (v) => r.test(v);
}

// The hostile shape: 14 pieces "a" between stars, then "b", over 64 "a"s: a RegExp tries every
// placement of the pieces (about 10^13) before failing.
const HOSTILE = `${'*a'.repeat(14)}*b`;
const A64 = 'a'.repeat(64);

describe('compileGlob', () => {
  it('matches as the reference does, with and without escapes and case folding, on the automaton and on the bounded scan', () => {
    const rnd = mulberry32(14);
    const alphabet = ['a', 'b', 'A', '*', '?', '\\', 'é'];
    const pick = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]!).join('');
    let checked = 0;
    for (let k = 0; k < 3000; k++) {
      const pattern = pick(1 + Math.floor(rnd() * 7));
      const escapes = rnd() < 0.5;
      const ci = rnd() < 0.3;
      const glob = compileGlob(pattern, { escapes, caseInsensitive: ci });
      const ref = reference(ci ? pattern.toLowerCase() : pattern, escapes, ci);
      for (let j = 0; j < 5; j++) {
        const v = pick(Math.floor(rnd() * 9)).replace(/[*?\\]/g, 'a');
        expect(glob(v), `${JSON.stringify(pattern)} escapes=${escapes} ci=${ci} on ${JSON.stringify(v)}`).toBe(ref(ci ? v.toLowerCase() : v));
        checked++;
      }
    }
    expect(checked).toBe(15_000);
    // Too complex for the automaton ("*a" then 14 "?": 2^15 states): the bounded scan, same answers.
    const many = `*a${'?'.repeat(14)}`;
    const scan = compileGlob(many);
    expect(() => compileGlob(many, { refuseTooComplex: true })).toThrow(/too complex|would require more than 10000/);
    expect([scan('xa' + 'b'.repeat(14)), scan('a' + 'b'.repeat(13)), scan('ba' + 'a'.repeat(14)), scan('a'.repeat(15))]).toEqual([true, false, true, true]);
  });

  it('answers a hostile pattern over a long value at once (a RegExp would not finish)', () => {
    expect(compileGlob(HOSTILE)(A64)).toBe(false);
    expect(compileGlob(HOSTILE)(A64 + 'b')).toBe(true);
    expect(compileGlob(HOSTILE, { escapes: true, caseInsensitive: true })('A'.repeat(100_000))).toBe(false);
    expect(compileGlob(`${'*'.repeat(5000)}x`, { question: false })('a'.repeat(100_000))).toBe(false);
    expect(compileGlob(`${'*a?'.repeat(40)}*b`)('a'.repeat(5000))).toBe(false);
  });
});

describe('users of globs', () => {
  it("a rule's filters: a hostile wildcard rejects quickly, a too complex one is refused as Elasticsearch refuses it", () => {
    const f = compileRuleFilters([{ query: { wildcard: { 'process.name': { value: HOSTILE } } } }], { now: 0 })!;
    expect([f({ process: { name: A64 } }), f({ process: { name: A64 + 'b' } })]).toEqual([false, true]);
    const ci = compileRuleFilters([{ query: { wildcard: { 'process.name': { value: 'CMD.*', case_insensitive: true } } } }], { now: 0 })!;
    expect([ci({ process: { name: 'cmd.exe' } }), ci({ process: { name: 'xcmd.exe' } })]).toEqual([true, false]);
    expect(() => compileRuleFilters([{ query: { wildcard: { 'process.name': `*a${'?'.repeat(14)}` } } }], { now: 0 })).toThrow(FilterError);
  });

  it('_search: a hostile wildcard query answers at once; a too complex one is a 400', () => {
    const q = compileQuery({ wildcard: { 'host.name': { value: HOSTILE } } });
    expect([q({ host: { name: A64 } }), q({ host: { name: `${A64}b` } })]).toEqual([false, true]);
    expect(() => compileQuery({ wildcard: { 'host.name': `*a${'?'.repeat(14)}` } })).toThrow(/too complex to determinize/);
  });

  it('filter_path and rule index patterns of thousands of stars', () => {
    const fp = parseFilterPath(`items.${'*'.repeat(5000)}x`)!;
    expect(applyFilterPath({ items: { ['a'.repeat(10_000)]: 1, ax: 2 } }, fp)).toEqual({ items: { ax: 2 } });
    expect(indexCovered([`${'*'.repeat(5000)}x`], 'logs-endpoint.events.process-default')).toBe(false);
    expect(indexCovered(['logs-*'], `${'*'.repeat(5000)}y`)).toBe(false);
    expect(indexCovered(['logs-*'], 'logs-windows.*')).toBe(true);
    const rules = [{ rule_id: 'r', name: 'a'.repeat(200), tags: [], threat: [], severity: 'low', index: ['logs-*'] }];
    expect(selectRules(rules as never, { names: [HOSTILE] }).selected).toEqual([]);
  });
});
