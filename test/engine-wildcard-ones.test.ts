// Wildcard patterns whose `?`s all come before the first `*` are matched without an automaton
// (engine/wildcard.ts, compileLeadingOnes). The automaton stays the reference: compileEscapedWildcard
// builds it for the same pattern when the pattern has no backslash.
import { describe, expect, it } from 'vitest';
import { compileEscapedWildcard, compileWildcard } from '../src/engine/wildcard.js';

describe('wildcards with leading ?', () => {
  it('match as the automaton does, surrogate pairs included', () => {
    const m = (p: string, v: string) => compileWildcard(p)(v);
    expect(m('?:\\windows\\*\\svchost.exe', 'c:\\windows\\system32\\svchost.exe')).toBe(true);
    expect(m('?:\\windows\\*\\svchost.exe', 'cc:\\windows\\system32\\svchost.exe')).toBe(false);
    expect(m('?:\\windows\\*', 'd:\\windows\\')).toBe(true);
    expect(m('?:\\windows\\*', ':\\windows\\')).toBe(false);
    expect(m('a??', 'abc')).toBe(true);
    expect(m('a??', 'ab')).toBe(false);
    expect(m('a??', 'abcd')).toBe(false);
    // `?` is one code point: an emoji is one character, two UTF-16 units.
    expect(m('a?', 'a\u{1F600}')).toBe(true);
    expect(m('a??', 'a\u{1F600}')).toBe(false);
    expect(m('?*x', '\u{1F600}yx')).toBe(true);
    expect(m('??*x', '\u{1F600}x')).toBe(false);
  });

  it('agree with the automaton on generated patterns and values', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = (alphabet: string[], len: number) => Array.from({ length: len }, () => alphabet[rand(alphabet.length)]).join('');
    let compared = 0;
    for (let i = 0; i < 400; i++) {
      // `?`s only before the first `*`: head of literals and `?`, then literals and `*`.
      const pattern = pick(['a', 'b', '?', ':'], rand(5)) + (rand(3) ? '*' + pick(['a', 'b', '*', ':'], rand(6)) : '');
      const mine = compileWildcard(pattern);
      const ref = compileEscapedWildcard(pattern);
      for (let j = 0; j < 30; j++) {
        const v = pick(['a', 'b', ':', 'A', '\u{1F600}'], rand(9));
        expect({ pattern, v, r: mine(v) }).toEqual({ pattern, v, r: ref(v) });
        compared++;
      }
    }
    expect(compared).toBe(12_000);
  });
});
