// Literal pieces every value a Lucene regular expression accepts must hold, for the router's
// anchors (engine/anchors.ts): `file.path regex~ """[A-Z]:\\:.+"""` cannot match a path without
// `:\:`, and `process.name regex~ """[a-z0-9]\.exe"""` only names like `a.exe`. An anchor narrows
// which rules an event is offered to, so a piece must be a NECESSARY condition: for every value
// the matcher (regex.ts, automaton.ts) accepts, the value — lower-cased by String#toLowerCase when
// the match is case-insensitive, as the router folds a case-insensitive anchor's values — must
// equal one of the exact values, or start with / end with / contain one of the pieces.
//
// Case-insensitive matching (regex~) lets a value character match a pattern character when it,
// its lower case or its upper case form is the pattern character (automaton.ts foldRanges): `K`
// (U+212A KELVIN SIGN) matches `k`, `İ` (U+0130) matches `i` and lower-cases to two code units.
// So a pattern character stands for the set of the lower-cased forms of every character that
// matches it (`i` → {`i`, `i̇`}), taken from the matcher's own folding; toLowerCase maps a string
// code point by code point except for the final sigma (`Σ` lower-cases to `σ` or `ς` by its
// neighbours), so a set holding `Σ` is not enumerated (the piece is unknown there).
import { foldRanges, normalizeRanges, type PatternNode } from './automaton.js';
import { parseLuceneRegex } from './regex.js';

/** Most strings a set of alternatives may hold (beyond: no constraint from that part). */
export const MAX_ALTERNATIVES = 128;
/** Most characters of one string in a set (longer exact languages are not enumerated). */
const MAX_STRING = 256;

/**
 * What is known of the strings a pattern node matches (lower-cased when case-insensitive). Each
 * set is a disjunction — every matched string equals / starts with / ends with / contains one of
 * its members — or null when nothing is known (a set holding '' says nothing and is null).
 */
interface Facts {
  exact: string[] | null;
  prefixes: string[] | null;
  suffixes: string[] | null;
  infixes: string[] | null;
}

const UNKNOWN: Facts = { exact: null, prefixes: null, suffixes: null, infixes: null };

/** Facts of a node matching exactly the strings of a set. */
function exactly(set: string[] | null): Facts {
  if (set === null) return UNKNOWN;
  const pieces = set.includes('') ? null : set;
  return { exact: set, prefixes: pieces, suffixes: pieces, infixes: pieces };
}

/** Every a + b, or null when there would be too many or too long strings. */
function product(a: readonly string[], b: readonly string[]): string[] | null {
  if (a.length * b.length > MAX_ALTERNATIVES) return null;
  const out = new Set<string>();
  for (const x of a) for (const y of b) {
    if (x.length + y.length > MAX_STRING) return null;
    out.add(x + y);
  }
  return [...out];
}

/** The union of sets, or null when one is unknown or there would be too many strings. */
function union(sets: readonly (readonly string[] | null)[]): string[] | null {
  const out = new Set<string>();
  for (const s of sets) {
    if (s === null) return null;
    for (const x of s) out.add(x);
    if (out.size > MAX_ALTERNATIVES) return null;
  }
  return [...out];
}

/** A set of pieces, null when it holds '' (a piece every string has) or is empty. */
const pieces = (s: string[] | null): string[] | null => (s === null || s.length === 0 || s.includes('') ? null : s);

/**
 * How weak a set of contained pieces is for choosing among them (lower is better): its shortest
 * piece, then its size.
 */
function weakness(s: readonly string[] | null): number {
  if (s === null) return Infinity;
  let shortest = Infinity;
  for (const x of s) shortest = Math.min(shortest, x.length);
  return (shortest >= 8 ? 0 : 8 - shortest) * 1000 + s.length;
}

const better = (a: string[] | null, b: string[] | null): string[] | null => (weakness(b) < weakness(a) ? b : a);

/**
 * The strings one value character of a set of code points stands for: the characters themselves
 * (case-sensitive), or the lower-cased forms of every character the matcher lets match one of
 * them. Null when the set is too large or holds a character toLowerCase maps by its context.
 */
function charStrings(ranges: number[], fold: boolean): string[] | null {
  const r = fold ? foldRanges(ranges) : normalizeRanges(ranges);
  let size = 0;
  for (let i = 0; i < r.length; i += 2) {
    size += r[i + 1]! - r[i]! + 1;
    if (size > MAX_ALTERNATIVES) return null;
  }
  const out = new Set<string>();
  for (let i = 0; i < r.length; i += 2) {
    for (let cp = r[i]!; cp <= r[i + 1]!; cp++) {
      // Lone surrogates never pair up in a value's lower-cased text the way they do here.
      if (cp >= 0xd800 && cp <= 0xdfff) return null;
      const ch = String.fromCodePoint(cp);
      if (!fold) out.add(ch);
      else if (cp === 0x3a3) return null; // Σ: σ or ς by its neighbours (Final_Sigma)
      else out.add(ch.toLowerCase());
    }
  }
  return [...out];
}

function facts(n: PatternNode, fold: boolean): Facts {
  switch (n.t) {
    case 'empty':
      return exactly(['']);
    case 'char':
      return exactly(charStrings([n.cp, n.cp], fold));
    case 'class':
      return n.neg ? UNKNOWN : exactly(charStrings(n.ranges, fold));
    case 'cat': {
      let acc = exactly(['']);
      for (const item of n.items) acc = concat(acc, facts(item, fold));
      return acc;
    }
    case 'alt': {
      const all = n.items.map((i) => facts(i, fold));
      const exact = union(all.map((f) => f.exact));
      if (exact !== null) return exactly(exact);
      return {
        exact: null,
        prefixes: pieces(union(all.map((f) => f.prefixes))),
        suffixes: pieces(union(all.map((f) => f.suffixes))),
        // Each branch contains one of its best pieces (its prefixes and suffixes are contained too).
        infixes: pieces(union(all.map((f) => better(better(f.infixes, f.prefixes), f.suffixes)))),
      };
    }
    case 'rep': {
      const sub = facts(n.sub, fold);
      if (n.max !== -1 && n.max <= 64 && sub.exact !== null) {
        // A bounded repetition of a finite language: enumerate it (when small).
        let exact: string[] | null = [''];
        let all: string[] | null = n.min === 0 ? [''] : [];
        for (let k = 1; k <= n.max && exact !== null; k++) {
          exact = product(exact, sub.exact);
          if (k >= n.min && exact !== null) all = union([all, exact]);
        }
        if (exact !== null && all !== null) return exactly(all);
      }
      if (n.min === 0) return UNKNOWN;
      // At least one copy: each string starts and ends with one and contains one.
      return { exact: null, prefixes: sub.prefixes, suffixes: sub.suffixes, infixes: sub.infixes };
    }
    // `.`, `#`, intersections and complements: nothing known (a safe over-approximation).
    default:
      return UNKNOWN;
  }
}

/** Facts of the concatenation of two nodes' languages. */
function concat(a: Facts, b: Facts): Facts {
  const exact = a.exact !== null && b.exact !== null ? product(a.exact, b.exact) : null;
  if (exact !== null) return exactly(exact);
  // Every string is x·y with x from a and y from b.
  const prefixes = a.exact !== null ? pieces(product(a.exact, b.prefixes ?? [''])) ?? pieces(a.exact) : a.prefixes;
  const suffixes = b.exact !== null ? pieces(product(a.suffixes ?? [''], b.exact)) ?? pieces(b.exact) : b.suffixes;
  // Where x ends and y starts: some suffix of x then some prefix of y.
  const junction = pieces(product(a.suffixes ?? [''], b.prefixes ?? ['']));
  return { exact: null, prefixes, suffixes, infixes: better(better(better(a.infixes, b.infixes), junction), better(prefixes, suffixes)) };
}

/**
 * What a value must be for the regular expression to match it (see the file's comment): exact
 * values, or pieces it must start with, end with or contain (each a list of alternatives;
 * lower-cased when `caseInsensitive`). Null when nothing is known, or the pattern does not parse.
 */
export function regexFacts(pattern: string, caseInsensitive: boolean): Facts | null {
  let tree: PatternNode;
  try {
    tree = parseLuceneRegex(pattern);
  } catch {
    return null;
  }
  const f = facts(tree, caseInsensitive);
  return f.exact === null && f.prefixes === null && f.suffixes === null && f.infixes === null ? null : f;
}

export type { Facts as RegexFacts };
