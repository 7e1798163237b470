// Glob patterns (`*` any run, `?` one character) outside EQL: rule filters' and `_search`'s
// `wildcard` queries, index patterns in URLs, `filter_path`, rule selection by name or tag.
//
// Never a JavaScript RegExp: `^.*a.*a.*…b$` backtracks through every way of placing its pieces,
// which for a hostile pattern over a long value never ends. Star-only globs place each literal
// piece leftmost (linear); globs with `?` run on a deterministic automaton as Lucene's wildcard
// queries do (engine/wildcard.ts). One whose automaton would be too large is either refused (the
// caller reports Elasticsearch's "too complex to determinize") or, where a refusal would make no
// sense (a rule selection on the command line), matched by a two-pointer scan: at most
// pattern × value steps, never exponential.

import { TooComplexError } from '../engine/automaton.js';
import { compileEscapedWildcard, compileStars, compileWildcard, type StringTest } from '../engine/wildcard.js';

export { TooComplexError };

export interface GlobOptions {
  /** Compare lower-cased (default false). */
  caseInsensitive?: boolean;
  /** `\` makes the next character literal, as in Elasticsearch's wildcard query (default false). */
  escapes?: boolean;
  /** `?` is a wildcard (default true); false for index patterns and `filter_path`, which know only `*`. */
  question?: boolean;
  /**
   * Throw TooComplexError for a pattern whose automaton would exceed Lucene's limit (as
   * Elasticsearch refuses the query); otherwise such a pattern is matched by the bounded scan.
   */
  refuseTooComplex?: boolean;
}

/** Compiles a glob into a test that costs at most pattern × value steps (usually value steps). */
export function compileGlob(pattern: string, opts: GlobOptions = {}): StringTest {
  const ci = opts.caseInsensitive === true;
  const p = ci ? pattern.toLowerCase() : pattern;
  let test: StringTest;
  if (opts.question === false && !opts.escapes) test = compileStars(p.split('*'));
  else {
    try {
      test = opts.escapes ? compileEscapedWildcard(p) : compileWildcard(p);
    } catch (e) {
      if (!(e instanceof TooComplexError) || opts.refuseTooComplex) throw e;
      test = scanMatcher(tokens(p, opts.escapes === true));
    }
  }
  return ci ? (v) => test(v.toLowerCase()) : test;
}

const STAR = -1;
const ONE = -2;

/** The pattern as code points, with STAR and ONE for the wildcards. */
function tokens(p: string, escapes: boolean): number[] {
  const chars = [...p];
  const out: number[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (escapes && c === '\\' && i + 1 < chars.length) out.push(chars[++i]!.codePointAt(0)!);
    else if (c === '*') out.push(STAR);
    else if (c === '?') out.push(ONE);
    else out.push(c.codePointAt(0)!);
  }
  return out;
}

/**
 * The classic two-pointer wildcard match: on a mismatch, resume after the last star, one character
 * further into the value. Only the last star is ever revisited, so the work is at most
 * pattern × value.
 */
function scanMatcher(pat: number[]): StringTest {
  return (value) => {
    const v: number[] = [];
    for (const ch of value) v.push(ch.codePointAt(0)!);
    let i = 0;
    let j = 0;
    let star = -1;
    let resume = 0;
    while (i < v.length) {
      const t = pat[j];
      if (j < pat.length && (t === ONE || t === v[i])) {
        i++;
        j++;
      } else if (j < pat.length && t === STAR) {
        star = j++;
        resume = i;
      } else if (star >= 0) {
        j = star + 1;
        i = ++resume;
      } else return false;
    }
    while (j < pat.length && pat[j] === STAR) j++;
    return j === pat.length;
  };
}
