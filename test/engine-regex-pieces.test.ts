// Anchors of `regex` / `regex~` conditions (src/engine/regex-pieces.ts): each must be a necessary
// condition of the matcher (src/engine/regex.ts), or the router withholds an event a rule would
// alert on. Exact expected anchors for the Elastic rules' patterns, then every value the matcher
// accepts — values differing only in case, non-ASCII case pairs (K and the Kelvin sign, İ, ı, ſ,
// ß, Σ/σ/ς, ligatures) — checked against the anchor as the router tests it.
import { describe, expect, it } from 'vitest';
import { FieldAnchorIndex } from '../src/detect/anchor-index.js';
import { compile } from '../src/engine/index.js';
import { lower } from '../src/engine/expr.js';
import { compileLuceneRegex } from '../src/engine/regex.js';
import { regexFacts } from '../src/engine/regex-pieces.js';

const anchors = (q: string) => compile(q).terms![0]!.anchors;

/** Whether the router's index, holding the condition's anchors, marks the value. */
function routerAccepts(q: string, value: string): boolean {
  const list = anchors(q);
  if (list === null) return true;
  for (const a of list) {
    const index = new FieldAnchorIndex(a.caseInsensitive ? lower : null);
    index.add(a, 0);
    if (index.listsForRaw(value).length > 0) return true;
  }
  return false;
}

describe('anchors of regular expressions', () => {
  it('gives the literal runs of the Elastic rules’ patterns', () => {
    // The ADS rule: a drive letter (any character regex~ folds onto A–Z, lower-cased), then `:\:`.
    const ads = anchors('file where file.path regex~ """[A-Z]:\\\\:.+"""')!;
    expect(ads).toHaveLength(1);
    expect(ads[0]!.field).toBe('file.path');
    expect(ads[0]!.caseInsensitive).toBe(true);
    expect(ads[0]!.values).toEqual([]);
    // ß, ı (dotless i), ſ (long s), ligatures…: their upper case starts with A–Z, so regex~ lets them match.
    expect(ads[0]!.prefixes!.map((p) => p.slice(0, -3)).sort().join('')).toBe('abcdefghijklmnopqrstuvwxyzßıſǰẖẗẘẙẚﬀﬁﬂﬃﬄﬅﬆ');
    expect(ads[0]!.prefixes!.every((p) => p.endsWith(':\\:'))).toBe(true);
    // The short-name rule: one folded letter or digit, then `.exe` — exact values, İ's two code units included.
    const short = anchors('process where process.name regex~ """[a-z0-9]\\.exe"""')!;
    expect(short[0]!.values.length).toBe(37);
    expect(short[0]!.values).toContain('a.exe');
    expect(short[0]!.values).toContain('9.exe');
    expect(short[0]!.values).toContain('i\u0307.exe');
    expect(short[0]!.prefixes).toBeUndefined();
    // Case-sensitive regex: pieces keep their case; an alternation of literal starts.
    expect(anchors('process where process.executable regex """(C:\\\\Program Files \\(x86\\)\\\\|C:\\\\Program Files\\\\)\\w+.exe"""')![0]!.prefixes!.length).toBe(126);
    expect(anchors('network where dns.question.name regex """.*\\.(top|buzz|ml)"""')).toEqual([
      // The router runs the expression itself on values with one of the ends (engine/anchors.ts check).
      { field: 'dns.question.name', values: [], suffixes: ['.top', '.buzz', '.ml'], caseInsensitive: false, check: { regex: ['.*\\.(top|buzz|ml)'] } },
    ]);
    // Nothing literal, but a character outside ASCII the value must hold (engine/anchors.ts chars).
    expect(anchors('process where process.command_line regex """.*[ʰ-˿ᴬ-ᶻ]+.*"""')).toEqual([
      { field: 'process.command_line', values: [], caseInsensitive: false, chars: [0x2b0, 0x2ff, 0x1d2c, 0x1dbb] },
    ]);
    // Nothing literal, or too many alternatives: no anchor.
    expect(anchors('process where process.name regex~ """.*"""')).toBeNull();
    expect(anchors('process where process.name regex~ """[^a].exe"""')).toEqual([
      { field: 'process.name', values: [], suffixes: ['exe'], caseInsensitive: true },
    ]);
  });

  it('keeps Σ unfolded: its lower case depends on its neighbours', () => {
    expect(regexFacts('aΣb', true)).toEqual({ exact: null, prefixes: ['a'], suffixes: ['b'], infixes: ['a'] });
    expect(regexFacts('aΣb', false)!.exact).toEqual(['aΣb']);
    expect(lower('aΣ')).toBe('aς');
    expect(lower('aΣb')).toBe('aσb');
  });

  const ALPHABET = ['a', 'A', 'k', 'K', '\u212a', 's', 'S', 'ſ', 'ß', 'i', 'I', 'İ', 'ı', 'Σ', 'σ', 'ς', 'ﬀ', 'f', 'F', ':', '\\', '.', 'e', 'x', '\u202e'];
  const PATTERNS = [
    '[A-Z]:\\\\:.+',
    '[a-z0-9]\\.exe',
    'k.*',
    '.*K',
    '(ss|ß)x',
    '[ks]{2}',
    'iı.*',
    '.*σ.*',
    '.*Σ',
    'ς',
    'ff|FF',
    '"ſ"a',
    'a?k+',
    '.*\\.(exe|EXE|k)',
    '[^a]:.*',
    '\u202e.*',
    '(a|b)(c|k)S',
    'a{2,3}',
  ];

  it('accepts every value each pattern matches, with and without case folding (seeded random values)', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let matched = 0;
    const missed: string[] = [];
    for (const pattern of PATTERNS) {
      for (const ci of [true, false]) {
        const test = compileLuceneRegex(pattern, ci);
        const q = `process where process.name ${ci ? 'regex~' : 'regex'} "${pattern.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
        const values = new Set<string>();
        for (let i = 0; i < 4000; i++) {
          let v = '';
          const len = rand(6);
          for (let k = 0; k < len; k++) v += ALPHABET[rand(ALPHABET.length)]!;
          values.add(v);
        }
        for (const v of values) {
          if (!test(v)) continue;
          matched++;
          if (!routerAccepts(q, v)) missed.push(`${pattern} ${ci} ${JSON.stringify(v)}`);
        }
      }
    }
    expect(missed).toEqual([]);
    expect(matched).toBeGreaterThan(500);
  });

  it('accepts the case variants of the rules’ values', () => {
    const ads = 'file where file.path regex~ """[A-Z]:\\\\:.+"""';
    // [value, the matcher's answer, the router's]: the router may let through what the rule rejects (K, the Kelvin sign, lower-cases to k but is no upper-case form of A–Z), never the reverse.
    const cases = ['C:\\:x', 'c:\\:x', '\u212a:\\:x', 'İ:\\:x', 'ı:\\:x', 'ſ:\\:x', 'ß:\\:x', 'ﬀ:\\:x', 'Σ:\\:x'];
    expect(cases.map((v) => [v, compileLuceneRegex('[A-Z]:\\\\:.+', true)(v), routerAccepts(ads, v)])).toEqual([
      ['C:\\:x', true, true],
      ['c:\\:x', true, true],
      ['\u212a:\\:x', false, true],
      ['İ:\\:x', false, false],
      ['ı:\\:x', true, true],
      ['ſ:\\:x', true, true],
      ['ß:\\:x', true, true],
      ['ﬀ:\\:x', true, true],
      ['Σ:\\:x', false, false],
    ]);
    expect(routerAccepts(ads, 'C:\\Windows\\x')).toBe(false);
    const short = 'process where process.name regex~ """[a-z0-9]\\.exe"""';
    const names = ['a.exe', 'A.EXE', '\u212a.Exe', 'İ.exe', 'ı.exe', '7.eXe', 'ß.exe'];
    expect(names.map((v) => [v, compileLuceneRegex('[a-z0-9]\\.exe', true)(v), routerAccepts(short, v)])).toEqual([
      ['a.exe', true, true],
      ['A.EXE', true, true],
      ['\u212a.Exe', true, true],
      ['İ.exe', true, true],
      ['ı.exe', false, false],
      ['7.eXe', true, true],
      ['ß.exe', false, false],
    ]);
    expect(routerAccepts(short, 'ab.exe')).toBe(false);
    expect(routerAccepts(short, 'cmd.exe')).toBe(false);
  });
});
