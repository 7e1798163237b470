// Wildcard patterns: `*` is any run of characters, `?` exactly one. EQL's `:`/`like` keep every
// other character literal, backslash included (Windows paths are written `C:\\Windows\\*` and must
// keep their backslashes); Kibana's exception `wildcard` entries use `\` to escape; index patterns
// only know `*`.
//
// Matching is linear in pattern plus value, whatever the pattern. Patterns made of literal pieces
// and stars are matched by placing each piece at its leftmost possible position (anchored first
// and last piece, string searches for the middle ones): leftmost placement never loses a match,
// so there is no backtracking. Patterns with `?` are compiled to a DFA, as Lucene compiles
// wildcard queries (automaton.ts); one whose automaton would be too large is refused with
// TooComplexError when it is compiled.

import { compileDfa, type PatternNode } from './automaton.js';

export type StringTest = (value: string) => boolean;

/** Whether a pattern contains wildcard characters at all. */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

type Token = string | typeof STAR | typeof ONE;
const STAR = 0;
const ONE = 1;

/**
 * Compiles one EQL pattern (already lower-cased by the caller for case-insensitive matching).
 * Common shapes get dedicated tests so that the hot path is a single string method call.
 * Throws TooComplexError for a `?` pattern whose automaton would be too large.
 */
export function compileWildcard(pattern: string): StringTest {
  if (!hasWildcard(pattern)) return (v) => v === pattern;
  if (!pattern.includes('?')) return compileStars(pattern.split('*'));
  const leading = compileLeadingOnes(pattern);
  if (leading) return leading;
  const tokens: Token[] = [];
  let lit = '';
  for (const ch of pattern) {
    if (ch === '*' || ch === '?') {
      if (lit !== '') tokens.push(lit);
      lit = '';
      tokens.push(ch === '*' ? STAR : ONE);
    } else lit += ch;
  }
  if (lit !== '') tokens.push(lit);
  return compileTokens(tokens, pattern);
}

/**
 * Compiles a Kibana exception `wildcard` value: `*` and `?` are wildcards, `\` makes the next
 * character literal. Case-sensitive. Throws TooComplexError like compileWildcard.
 */
export function compileEscapedWildcard(pattern: string): StringTest {
  const tokens: Token[] = [];
  let lit = '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\\' && i + 1 < chars.length) lit += chars[++i]!;
    else if (ch === '*' || ch === '?') {
      if (lit !== '') tokens.push(lit);
      lit = '';
      tokens.push(ch === '*' ? STAR : ONE);
    } else lit += ch;
  }
  if (lit !== '') tokens.push(lit);
  return compileTokens(tokens, pattern);
}

function compileTokens(tokens: Token[], pattern: string): StringTest {
  if (!tokens.includes(ONE)) {
    const pieces: string[] = [''];
    for (const t of tokens) {
      if (t === STAR) pieces.push('');
      else pieces[pieces.length - 1] += t as string;
    }
    return compileStars(pieces);
  }
  const items: PatternNode[] = [];
  for (const t of tokens) {
    if (t === STAR) items.push({ t: 'rep', sub: { t: 'any' }, min: 0, max: -1 });
    else if (t === ONE) items.push({ t: 'any' });
    else for (const ch of t as string) items.push({ t: 'char', cp: ch.codePointAt(0)! });
  }
  return compileDfa({ t: 'cat', items }, false, JSON.stringify(pattern)).run;
}

/** Longest pattern given to compileLeadingOnes: its automaton stays far below the work limit. */
const LEADING_ONES_MAX = 256;
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Patterns whose `?`s all come before the first `*` (`?:\Windows\*\x.exe`, most `?` patterns
 * of Elastic's rules): the head is a fixed-length run of literal characters and `?`, tested in
 * place, and the rest is matched as compileStars matches — no automaton to build. `?` is one code
 * point, so a value holding a surrogate pair is left to the automaton, built the first time one
 * comes. Null for other patterns (or very long ones), which compile to an automaton at once, so
 * that a pattern Elasticsearch would refuse is still refused when the query is compiled.
 */
function compileLeadingOnes(pattern: string): StringTest | null {
  const star = pattern.indexOf('*');
  if (pattern.length > LEADING_ONES_MAX || pattern.indexOf('?', star < 0 ? pattern.length : star) >= 0) return null;
  if (SURROGATE.test(pattern)) return null;
  const head = star < 0 ? pattern : pattern.slice(0, star);
  const rest = star < 0 ? null : compileStars(['', ...pattern.slice(star + 1).split('*')]);
  const restMin = star < 0 ? 0 : pattern.length - star - 1 - (pattern.slice(star + 1).match(/\*/g)?.length ?? 0);
  const n = head.length;
  const ones: number[] = [];
  for (let i = 0; i < n; i++) if (head[i] === '?') ones.push(i);
  let automaton: StringTest | null = null;
  const slow = (v: string): boolean => (automaton ??= compileDfa(tokensOf(pattern), false, JSON.stringify(pattern)).run)(v);
  return (v) => {
    if (SURROGATE.test(v)) return slow(v);
    if (rest === null ? v.length !== n : v.length < n + restMin) return false;
    for (let i = 0, k = 0; i < n; i++) {
      if (k < ones.length && ones[k] === i) {
        k++;
        continue;
      }
      if (v.charCodeAt(i) !== head.charCodeAt(i)) return false;
    }
    return rest === null || rest(v.slice(n));
  };
}

/** The automaton of a pattern of literal characters, `*` and `?`. */
function tokensOf(pattern: string): PatternNode {
  const items: PatternNode[] = [];
  for (const ch of pattern) {
    if (ch === '*') items.push({ t: 'rep', sub: { t: 'any' }, min: 0, max: -1 });
    else if (ch === '?') items.push({ t: 'any' });
    else items.push({ t: 'char', cp: ch.codePointAt(0)! });
  }
  return { t: 'cat', items };
}

/**
 * Matcher for literal pieces separated by stars (`pieces` as from `pattern.split('*')`). Empty
 * middle pieces (runs of stars) are dropped, so 5,000 stars cost nothing at match time.
 */
export function compileStars(split: readonly string[]): StringTest {
  if (split.length === 1) {
    const only = split[0]!;
    return (v) => v === only;
  }
  const head = split[0]!;
  const tail = split[split.length - 1]!;
  const middle = split.slice(1, -1).filter((p) => p !== '');
  if (middle.length === 0) {
    if (tail === '') return head === '' ? () => true : (v) => v.startsWith(head);
    if (head === '') return (v) => v.endsWith(tail);
    const min = head.length + tail.length;
    return (v) => v.length >= min && v.startsWith(head) && v.endsWith(tail);
  }
  if (middle.length === 1 && head === '' && tail === '') {
    const mid = middle[0]!;
    return (v) => v.includes(mid);
  }
  const pieces = [head, ...middle, tail];
  return (v) => matchStars(v, pieces);
}

/** `a*b*c`: anchored first and last piece, leftmost search for the middle pieces. */
function matchStars(v: string, pieces: string[]): boolean {
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (v.length < first.length + last.length || !v.startsWith(first) || !v.endsWith(last)) return false;
  let pos = first.length;
  const end = v.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const p = pieces[i]!;
    const at = v.indexOf(p, pos);
    if (at < 0 || at + p.length > end) return false;
    pos = at + p.length;
  }
  return true;
}

/**
 * Compiles a list of patterns into one test: exact strings become a Set lookup, the rest are
 * tried in order.
 */
export function compileWildcardList(patterns: string[]): StringTest {
  const exact = new Set<string>();
  const tests: StringTest[] = [];
  for (const p of patterns) {
    if (hasWildcard(p)) tests.push(compileWildcard(p));
    else exact.add(p);
  }
  if (tests.length === 0) {
    if (exact.size === 1) {
      const only = [...exact][0]!;
      return (v) => v === only;
    }
    return (v) => exact.has(v);
  }
  if (exact.size === 0 && tests.length === 1) return tests[0]!;
  return (v) => {
    if (exact.has(v)) return true;
    for (let i = 0; i < tests.length; i++) if (tests[i]!(v)) return true;
    return false;
  };
}
