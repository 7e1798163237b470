// `.*C.*` / `.*C+.*` (a class C) is tested by the JS engine's own regular expression, as a search for
// one character of C (engine/regex.ts containsClass), instead of by the DFA: it must answer as the
// DFA does on every value — astral code points, lone surrogates, newlines, the empty string.
import { describe, expect, it } from 'vitest';
import { compileDfa } from '../src/engine/automaton.js';
import { compileLuceneRegex, containsClass, parseLuceneRegex } from '../src/engine/regex.js';

const dfa = (p: string, fold = false) => compileDfa(parseLuceneRegex(p), fold, p).run;

const VALUES = [
  '',
  'cmd.exe /c whoami',
  'cmd.exe /c wʰoami',
  'ʰ',
  '\u02AF',
  '\u02B0',
  '\u02FF',
  '\u0300',
  'net \u1D2C user',
  '\u1D2B\u1DBC', // just outside ᴬ-ᶻ (U+1D2C-U+1DBB)
  'x\u1DBBx',
  'line one\nline \u02C8two',
  '\uD83D\uDE00 smile',
  'lone \uD83D high',
  'lone \uDE00 low',
  'abc',
  'ABC',
  'zzz',
  'b',
  '\n',
];

describe('regex: values containing a character of a class', () => {
  it('answers as the DFA does', () => {
    const patterns = [
      '.*[ʰ-˿ᴬ-ᶻ]+.*', // the Unicode modifier letters rule
      '.*[a-c].*',
      '@[b]@',
      '.*[\u{1F600}-\u{1F64F}]+.*',
      '.*[\uD800-\uDBFF].*',
      '.*[\uDE00].*',
      '.*[\n].*',
      // not that shape: the DFA's own answers (two in a row; a negated class; a class alone)
      '.*[a-c]{2,}.*',
      '.*[^a-c].*',
      '[a-c]',
      '.*[a-c]+',
    ];
    for (const p of patterns) {
      const fast = compileLuceneRegex(p, false);
      const slow = dfa(p);
      expect(VALUES.map((v) => [p, v, fast(v)])).toEqual(VALUES.map((v) => [p, v, slow(v)]));
    }
    // Exact answers for the rule's pattern.
    const rule = compileLuceneRegex('.*[ʰ-˿ᴬ-ᶻ]+.*', false);
    expect(VALUES.filter(rule)).toEqual(['cmd.exe /c wʰoami', 'ʰ', '\u02B0', '\u02FF', 'net \u1D2C user', 'x\u1DBBx', 'line one\nline \u02C8two']);
    expect(VALUES.filter(compileLuceneRegex('.*[\uD800-\uDBFF].*', false))).toEqual(['lone \uD83D high']);
    expect(VALUES.filter(compileLuceneRegex('.*[\u{1F600}-\u{1F64F}]+.*', false))).toEqual(['\uD83D\uDE00 smile']);
  });

  it('takes only that shape', () => {
    const re = (p: string) => containsClass(parseLuceneRegex(p))?.source ?? null;
    expect(re('.*[ʰ-˿ᴬ-ᶻ]+.*')).toBe('[\\u{2b0}-\\u{2ff}\\u{1d2c}-\\u{1dbb}]');
    expect(re('@[b]@')).toBe('[\\u{62}-\\u{62}]');
    expect(re('.*[a-c]{1,3}.*')).toBe('[\\u{61}-\\u{63}]');
    for (const p of ['.*[a-c]{2,}.*', '.*[^a-c].*', '[a-c]', '.*[a-c]+', '.+[a-c].*', '.*a.*', '.*(a|b).*']) expect(re(p)).toBeNull();
  });

  it('leaves regex~ to the DFA, which folds case', () => {
    const p = '.*[a-c].*';
    expect(VALUES.filter(compileLuceneRegex(p, true))).toEqual(VALUES.filter(dfa(p, true)));
    expect(compileLuceneRegex(p, true)('ABC')).toBe(true);
    expect(compileLuceneRegex(p, false)('ABC')).toBe(false);
  });
});
