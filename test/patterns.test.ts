// Patterns as automata (issue 14): regex, wildcards and index patterns match in time linear in
// the value whatever the pattern, and patterns whose automaton would be too large are refused
// when the query is compiled, with Lucene's message.

import { describe, expect, it } from 'vitest';
import { compileIndexPatterns } from '../src/detect/index-pattern.js';
import { compile } from '../src/engine/index.js';
import { compileDfa, DETERMINIZE_WORK_LIMIT, TooComplexError } from '../src/engine/automaton.js';
import { compileLuceneRegex, MAX_REGEX_LENGTH, RegexSyntaxError } from '../src/engine/regex.js';
import { compileEscapedWildcard, compileWildcard } from '../src/engine/wildcard.js';
import { EqlError } from '../src/eql/index.js';

const re = (p: string, ci = false) => compileLuceneRegex(p, ci);

describe('Lucene regex as a DFA', () => {
  it('keeps the semantics of the backtracking engine it replaces', () => {
    expect(re('abc')('abc')).toBe(true);
    expect(re('abc')('xabc')).toBe(false);
    expect(re('[^a-c][0-9]')('d1')).toBe(true);
    expect(re('[^a-c][0-9]', true)('A1')).toBe(false); // negation after case folding
    expect(re('a.b')('a\nb')).toBe(true);
    expect(re('a.b')('a\u{1F600}b')).toBe(true); // `.` is one code point
    expect(re('"a.b"')('a.b')).toBe(true);
    expect(re('"a.b"')('axb')).toBe(false);
    expect(re('foo@')('foobar')).toBe(true);
    expect(re('#')('')).toBe(false);
    expect(re('(a|aa)*c')('a'.repeat(5000) + 'b')).toBe(false);
    expect(re('HELLO', true)('hello')).toBe(true);
    expect(re('k', true)('\u212a')).toBe(true); // KELVIN SIGN lower-cases to k
  });

  it('<n-m> follows Lucene: fixed width when both bounds have as many digits, else any leading zeros', () => {
    const p = re('port<8-12>');
    expect(['port7', 'port8', 'port008', 'port12', 'port13', 'port10'].map(p)).toEqual([false, true, true, true, false, true]);
    const w = re('<01-10>');
    expect(['01', '1', '10', '11', '00'].map(w)).toEqual([true, false, true, false, false]);
    const big = re('<0-99999999999999999999>');
    expect(['0', '000', '99999999999999999999', '100000000000000000000'].map(big)).toEqual([true, true, true, false]);
  });

  it('matches a hostile pattern in time linear in the value', () => {
    const stars = re('.*.*.*.*.*.*.*.*.*.*.*.*x');
    expect(stars('a'.repeat(100_000))).toBe(false);
    expect(stars('a'.repeat(99_999) + 'x')).toBe(true);
    expect(re('(a+)+b')('a'.repeat(100_000) + '!')).toBe(false);
  });

  it('refuses patterns Lucene cannot determinize, with its message, at compile time', () => {
    const tooComplex = (p: string) => {
      try {
        re(p);
      } catch (e) {
        expect(e).toBeInstanceOf(RegexSyntaxError);
        return (e as Error).message;
      }
      return 'compiled';
    };
    expect(tooComplex('(((a{1,1000}){1,1000}){1,1000})')).toBe(
      `regular expression too complex to determinize: Determinizing "(((a{1,1000}){1,1000}){1,1000})" would require more than ${DETERMINIZE_WORK_LIMIT} effort`,
    );
    expect(tooComplex('.*a.{20}')).toMatch(/too complex to determinize/);
    expect(tooComplex('.*a.{5}')).toBe('compiled');
    expect(tooComplex('a'.repeat(MAX_REGEX_LENGTH + 1))).toBe(
      `The length of regex [${MAX_REGEX_LENGTH + 1}] used in the Regexp Query request has exceeded the allowed maximum of [${MAX_REGEX_LENGTH}] (Elasticsearch's index.max_regex_length)`,
    );
    expect(tooComplex('('.repeat(101) + 'a' + ')'.repeat(101))).toMatch(/groups nested deeper than 100/);
  });

  it('compiles every regex of the query language through the same path (compile() reports an EqlError)', () => {
    expect(() => compile('process where process.name regex "(((a{1,1000}){1,1000}){1,1000})"')).toThrow(EqlError);
    expect(() => compile('process where process.name : "*a????????????????????????"')).toThrow(/wildcard pattern too complex to determinize/);
  });

  it("intersection '&' and complement '~' as Lucene parses them (Elasticsearch turns every syntax flag on)", () => {
    const m = (p: string, vals: string[], ci = false) => vals.map(re(p, ci));
    expect(m('~(abc)', ['abc', 'ab', 'abcd', '', 'ABC'])).toEqual([false, true, true, true, true]);
    expect(m('~(abc)', ['abc', 'ABC', 'aBd'], true)).toEqual([false, false, true]);
    expect(m('[a-z]+&~(foo)', ['foo', 'fo', 'bar', 'FOO', ''])).toEqual([false, true, true, false, false]);
    expect(m('.*cmd.*&.*\\.exe', ['cmd.exe', 'x.exe', 'cmd.ex', 'acmdb.exe'])).toEqual([true, false, false, true]);
    expect(m('x~(y)z', ['xz', 'xyz', 'xyyz', 'xaz'])).toEqual([true, false, true, true]);
    // '~' binds tighter than repetition: (~a)* holds every string but "a".
    expect(m('~a*', ['', 'a', 'b', 'aa', 'ab'])).toEqual([true, false, true, true, true]);
    expect(m('~~a', ['a', 'b'])).toEqual([true, false]);
    expect(m('~#', ['', 'x'])).toEqual([true, true]);
    expect(m('#&a', ['a', ''])).toEqual([false, false]);
    // As in Lucene, '&' ends a concatenation only after its first item: a&&b is a & "&b".
    expect(m('a&&b', ['a', '&b'])).toEqual([false, false]);
    expect(m('@&~(@secret@)', ['top SECRET', 'public'], true)).toEqual([false, true]);
    // A long run of '~' is counted, not recursed into.
    expect(m('~'.repeat(999) + 'a', ['a', 'b'])).toEqual([false, true]);
    expect(() => re('a&')).toThrow("invalid regular expression at offset 2: expected an expression after '&'");
    expect(() => re('a~')).toThrow("invalid regular expression at offset 2: expected an expression after '~'");
    // The work limit holds across the operands.
    expect(() => re('.*a.{20}&.*')).toThrow(`regular expression too complex to determinize: Determinizing ".*a.{20}&.*" would require more than ${DETERMINIZE_WORK_LIMIT} effort`);
    // Through the query language: regex~ folds case on both operands.
    const names = ['notepad.exe', 'CMD.EXE', 'cmd.exe', 'Setup.EXE', 'a.dll'];
    const hits = compile('any where process.name regex~ "[a-z]+\\\\.exe&~(cmd\\\\.exe)"')
      .run(names.map((n, i) => ({ source: { event: { category: 'process' }, process: { name: n } }, index: 'x', id: String(i + 1) })))
      .map((r) => (r.kind === 'event' ? r.event.id : '?'));
    expect(hits).toEqual(['1', '4']);
  });

  it('a DFA over a tiny alphabet stays small', () => {
    const d = compileDfa({ t: 'rep', sub: { t: 'class', ranges: [97, 122], neg: false }, min: 1, max: 1000 }, false, 'x');
    expect(d.states).toBe(1001);
    expect(d.classes).toBe(3);
    expect(() => compileDfa({ t: 'rep', sub: { t: 'any' }, min: 0, max: 20_000 }, false, '"x"')).toThrow(TooComplexError);
  });
});

describe('wildcards and index patterns', () => {
  it('star patterns match by leftmost placement, also with thousands of stars', () => {
    const t = compileWildcard('*'.repeat(5000) + 'x');
    expect(t('a'.repeat(100_000))).toBe(false);
    expect(t('a'.repeat(100_000) + 'x')).toBe(true);
    expect(compileWildcard('a*b*c')('aXbYbc')).toBe(true);
    expect(compileWildcard('a*b*c')('abcX')).toBe(false);
    expect(compileWildcard('a*bc*bc')('abcbc')).toBe(true);
  });

  it('? patterns run on a DFA; one too large to determinize is refused', () => {
    expect(compileWildcard('cmd.ex?')('cmd.exe')).toBe(true);
    expect(compileWildcard('a?c')('a\u{1F600}c')).toBe(true);
    expect(compileWildcard('*a?b*')('xxaZbyy')).toBe(true);
    expect(() => compileWildcard('*a' + '?'.repeat(24))).toThrow(TooComplexError);
  });

  it("Kibana exception wildcards honour backslash escapes, without a RegExp", () => {
    expect(compileEscapedWildcard('a\\*b')('a*b')).toBe(true);
    expect(compileEscapedWildcard('a\\*b')('axb')).toBe(false);
    expect(compileEscapedWildcard('C:\\\\Users\\\\*\\\\x.exe')('C:\\Users\\bob\\x.exe')).toBe(true);
    expect(compileEscapedWildcard('*a*a*a*a*a*a*a*a*a*b')('a'.repeat(100_000))).toBe(false);
  });

  it('an index pattern of 5,000 stars then x is matched in linear time', () => {
    const m = compileIndexPatterns(['*'.repeat(5000) + 'x', '-*y*x']);
    expect(m('logs-' + 'a'.repeat(100_000) + 'x')).toBe(true);
    expect(m('logs-' + 'a'.repeat(100_000))).toBe(false);
    expect(m('logs-yx')).toBe(false);
  });
});
