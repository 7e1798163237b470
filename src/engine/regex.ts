// Lucene regular expressions, as Elasticsearch's `regex`/`regex~` evaluate them: the pattern must
// match the whole value (implicitly anchored), `.` matches any character including newlines, `\`
// escapes the next character, `"..."` is a literal string, `@` is any string, `#` is the empty
// language, `<n-m>` is a numeric interval, `a&b` is the intersection and `~a` the complement, and
// \d \s \w (and negations) are classes as in Lucene 9.
// Like Lucene, the pattern is compiled to a deterministic automaton when the query is compiled
// (automaton.ts): matching is linear in the value, and a pattern whose automaton would be too large
// is refused then, with Lucene's "too complex to determinize" message.

import { compileDfa, TooComplexError, type PatternNode } from './automaton.js';

export class RegexSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

type Node = PatternNode;

const DIGIT = [48, 57];
const SPACE = [9, 13, 32, 32];
const WORD = [48, 57, 65, 90, 95, 95, 97, 122];

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly src: string) {}

  parse(): Node {
    const n = this.union();
    if (this.pos < this.src.length) throw this.error(`unexpected '${this.src[this.pos]}'`);
    return n;
  }

  private error(msg: string): RegexSyntaxError {
    return new RegexSyntaxError(`invalid regular expression at offset ${this.pos}: ${msg}`, this.pos);
  }

  private peek(): number {
    return this.pos < this.src.length ? this.src.codePointAt(this.pos)! : -1;
  }

  private next(): number {
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private union(): Node {
    const items = [this.inter()];
    while (this.peek() === 0x7c /* | */) {
      this.pos++;
      items.push(this.inter());
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }

  /** `a&b&c`: Lucene's intersection (Elasticsearch parses regex with every syntax flag on). */
  private inter(): Node {
    const items = [this.concat()];
    while (this.peek() === 0x26 /* & */) {
      this.pos++;
      if (this.peek() === -1) throw this.error("expected an expression after '&'");
      items.push(this.concat());
    }
    return items.length === 1 ? items[0]! : { t: 'and', items };
  }

  private concat(): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.peek();
      // As in Lucene, '&' ends a concatenation only after its first item: `a&&b` is a & "&b".
      if (c === -1 || c === 0x7c || c === 0x29 /* ) */ || (c === 0x26 && items.length > 0)) break;
      items.push(this.repeat());
    }
    if (items.length === 0) return { t: 'empty' };
    return items.length === 1 ? items[0]! : { t: 'cat', items };
  }

  private repeat(): Node {
    let n = this.complement();
    for (;;) {
      const c = this.peek();
      if (c === 0x3f) {
        this.pos++;
        n = { t: 'rep', sub: n, min: 0, max: 1 };
      } else if (c === 0x2a) {
        this.pos++;
        n = { t: 'rep', sub: n, min: 0, max: -1 };
      } else if (c === 0x2b) {
        this.pos++;
        n = { t: 'rep', sub: n, min: 1, max: -1 };
      } else if (c === 0x7b /* { */) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
        if (!m) throw this.error("expected '{n}', '{n,}' or '{n,m}'");
        this.pos += m[0].length;
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
        if (max !== -1 && max < min) throw this.error('repetition maximum is below its minimum');
        n = { t: 'rep', sub: n, min, max };
      } else {
        return n;
      }
    }
  }

  /**
   * `~a`: Lucene's complement, binding tighter than repetition (`~a*` is `(~a)*`). Counted rather
   * than recursed, so a long run of `~` cannot exhaust the stack; two cancel out.
   */
  private complement(): Node {
    let tildes = 0;
    while (this.peek() === 0x7e /* ~ */) {
      this.pos++;
      tildes++;
    }
    if (tildes > 0 && this.peek() === -1) throw this.error("expected an expression after '~'");
    const n = this.charClass();
    return tildes % 2 === 1 ? { t: 'not', sub: n } : n;
  }

  private charClass(): Node {
    if (this.peek() !== 0x5b /* [ */) return this.simple();
    this.pos++;
    let neg = false;
    if (this.peek() === 0x5e /* ^ */) {
      neg = true;
      this.pos++;
    }
    const ranges: number[] = [];
    let first = true;
    while (this.peek() !== 0x5d /* ] */ || first) {
      if (this.peek() === -1) throw this.error("missing ']'");
      first = false;
      if (this.peek() === 0x5c) {
        const cls = this.classEscape();
        if (cls) {
          ranges.push(...cls);
          continue;
        }
      }
      const lo = this.charExp();
      if (this.peek() === 0x2d /* - */ && this.src[this.pos + 1] !== ']') {
        this.pos++;
        const hi = this.charExp();
        if (hi < lo) throw this.error('character range is out of order');
        ranges.push(lo, hi);
      } else {
        ranges.push(lo, lo);
      }
    }
    this.pos++;
    return { t: 'class', ranges, neg };
  }

  /** `\d`, `\s`, `\w` and their negations inside or outside a class; null for other escapes. */
  private classEscape(): number[] | null {
    const c = this.src[this.pos + 1];
    if (c !== 'd' && c !== 's' && c !== 'w') return null;
    return this.predefinedClass()!.ranges;
  }

  private predefinedClass(): { ranges: number[]; neg: boolean } | null {
    const c = this.src[this.pos + 1];
    if (!c) return null;
    const table: Record<string, number[]> = { d: DIGIT, s: SPACE, w: WORD };
    const ranges = table[c.toLowerCase()];
    if (!ranges) return null;
    this.pos += 2;
    return { ranges, neg: c !== c.toLowerCase() };
  }

  private charExp(): number {
    if (this.peek() === 0x5c) {
      this.pos++;
      if (this.peek() === -1) throw this.error('dangling backslash');
    }
    return this.next();
  }

  private simple(): Node {
    const c = this.peek();
    switch (c) {
      case 0x2e:
        this.pos++;
        return { t: 'any' };
      case 0x23:
        this.pos++;
        return { t: 'none' };
      case 0x40:
        this.pos++;
        return { t: 'rep', sub: { t: 'any' }, min: 0, max: -1 };
      case 0x22: {
        this.pos++;
        const end = this.src.indexOf('"', this.pos);
        if (end < 0) throw this.error('missing closing \'"\'');
        const items: Node[] = [];
        for (const ch of this.src.slice(this.pos, end)) items.push({ t: 'char', cp: ch.codePointAt(0)! });
        this.pos = end + 1;
        return items.length === 1 ? items[0]! : items.length === 0 ? { t: 'empty' } : { t: 'cat', items };
      }
      case 0x28: {
        this.pos++;
        if (this.peek() === 0x29) {
          this.pos++;
          return { t: 'empty' };
        }
        if (++this.depth > MAX_REGEX_NESTING) throw this.error(`groups nested deeper than ${MAX_REGEX_NESTING}`);
        const n = this.union();
        this.depth--;
        if (this.peek() !== 0x29) throw this.error("missing ')'");
        this.pos++;
        return n;
      }
      case 0x3c: {
        const m = /^<(\d+)-(\d+)>/.exec(this.src.slice(this.pos));
        if (!m) throw this.error("expected a numeric interval '<n-m>'");
        this.pos += m[0].length;
        return numericInterval(m[1]!, m[2]!);
      }
      case 0x5c: {
        const cls = this.predefinedClass();
        if (cls) return { t: 'class', ranges: cls.ranges, neg: cls.neg };
        return { t: 'char', cp: this.charExp() };
      }
      default:
        if (c === 0x2a || c === 0x2b || c === 0x3f || c === 0x7b) throw this.error('nothing to repeat');
        return { t: 'char', cp: this.next() };
    }
  }
}

/**
 * `<n-m>`: decimal integers in the range, as Lucene's Automata.makeDecimalInterval builds them.
 * When both bounds are written with the same number of digits, values have exactly that many
 * digits (zero-padded: `<01-10>` matches `01` … `10`); otherwise any number of leading zeros is
 * accepted (`<8-12>` matches `8`, `008` and `12`). The automaton is built digit by digit, so
 * its size grows with the number of digits, not with the width of the range.
 */
function numericInterval(a: string, b: string): PatternNode {
  let lo = BigInt(a);
  let hi = BigInt(b);
  if (lo > hi) [lo, hi] = [hi, lo];
  if (a.length === b.length) {
    const w = a.length;
    return digitRange(lo.toString().padStart(w, '0'), hi.toString().padStart(w, '0'));
  }
  // Any number of leading zeros, then the number without them (0 itself is "0").
  const alts: PatternNode[] = [];
  const los = lo.toString();
  const his = hi.toString();
  for (let len = los.length; len <= his.length; len++) {
    const first = len === 1 ? 0n : 10n ** BigInt(len - 1);
    const last = 10n ** BigInt(len) - 1n;
    const from = lo > first ? lo : first;
    const to = hi < last ? hi : last;
    if (from <= to) alts.push(digitRange(from.toString(), to.toString()));
  }
  const zeros: PatternNode = { t: 'rep', sub: { t: 'char', cp: 48 }, min: 0, max: -1 };
  return { t: 'cat', items: [zeros, alts.length === 1 ? alts[0]! : { t: 'alt', items: alts }] };
}

const DIGITS = (lo: number, hi: number): PatternNode => ({ t: 'class', ranges: [48 + lo, 48 + hi], neg: false });

/** Strings of digits of the same length as lo and hi (lo ≤ hi), between them. */
function digitRange(lo: string, hi: string): PatternNode {
  if (lo.length === 0) return { t: 'empty' };
  const l0 = lo.charCodeAt(0) - 48;
  const h0 = hi.charCodeAt(0) - 48;
  const restLo = lo.slice(1);
  const restHi = hi.slice(1);
  if (l0 === h0) return { t: 'cat', items: [DIGITS(l0, l0), digitRange(restLo, restHi)] };
  const anyRest = (): PatternNode => ({ t: 'rep', sub: DIGITS(0, 9), min: restLo.length, max: restLo.length });
  const allZero = /^0*$/.test(restLo);
  const allNine = /^9*$/.test(restHi);
  if (allZero && allNine) return { t: 'cat', items: [DIGITS(l0, h0), anyRest()] };
  const alts: PatternNode[] = [];
  let from = l0;
  let to = h0;
  if (!allZero) {
    alts.push({ t: 'cat', items: [DIGITS(l0, l0), digitRange(restLo, '9'.repeat(restLo.length))] });
    from = l0 + 1;
  }
  if (!allNine) to = h0 - 1;
  if (from <= to) alts.push({ t: 'cat', items: [DIGITS(from, to), anyRest()] });
  if (!allNine) alts.push({ t: 'cat', items: [DIGITS(h0, h0), digitRange('0'.repeat(restHi.length), restHi)] });
  return alts.length === 1 ? alts[0]! : { t: 'alt', items: alts };
}

/**
 * Elasticsearch's `index.max_regex_length` default: a longer pattern is refused before it is
 * parsed (Elasticsearch checks it when the regexp query is built).
 */
export const MAX_REGEX_LENGTH = 1000;
/** Bound on group nesting, so that the recursive parser cannot exhaust the stack. */
export const MAX_REGEX_NESTING = 100;

/** The pattern tree of a Lucene regular expression (throws RegexSyntaxError), as compileLuceneRegex parses it. */
export function parseLuceneRegex(pattern: string): PatternNode {
  if (pattern.length > MAX_REGEX_LENGTH) throw new RegexSyntaxError(`regex longer than ${MAX_REGEX_LENGTH}`, 0);
  return new Parser(pattern).parse();
}

/**
 * Compiles a Lucene regular expression into an anchored whole-value test that runs in time
 * linear in the value (a DFA). Throws RegexSyntaxError for invalid, unsupported or too complex
 * patterns; a too complex one carries Lucene's message.
 */
export function compileLuceneRegex(pattern: string, caseInsensitive: boolean): (v: string) => boolean {
  if (pattern.length > MAX_REGEX_LENGTH) {
    throw new RegexSyntaxError(
      `The length of regex [${pattern.length}] used in the Regexp Query request has exceeded the allowed maximum of [${MAX_REGEX_LENGTH}] (Elasticsearch's index.max_regex_length)`,
      0,
    );
  }
  const ast = new Parser(pattern).parse();
  try {
    const run = compileDfa(ast, caseInsensitive, JSON.stringify(pattern)).run;
    // Compiled all the same, so that a pattern is refused exactly when the DFA would refuse it.
    const contains = caseInsensitive ? null : containsClass(ast);
    return contains === null ? run : (v) => contains.test(v);
  } catch (e) {
    if (e instanceof TooComplexError) throw new RegexSyntaxError(`regular expression too complex to determinize: ${e.message}`, 0);
    throw e;
  }
}

/**
 * The pattern `.*C.*` or `.*C+.*` (`@` for `.*` too), C a class that is not negated: its language
 * is the values that contain a character of C, which the JS engine's own regular expression finds
 * (the class alone, unanchored, with the `u` flag so that it reads code points as the DFA does:
 * a surrogate pair as one, a lone surrogate as itself) in one native scan with no backtracking
 * instead of the DFA's walk of its table one character at a time: a few times faster on command
 * lines (the Unicode modifier letters rule's `.*[ʰ-˿ᴬ-ᶻ]+.*`). Null for any other pattern.
 */
export function containsClass(ast: Node): RegExp | null {
  if (ast.t !== 'cat' || ast.items.length !== 3) return null;
  const [a, c, b] = ast.items as [Node, Node, Node];
  const anyString = (n: Node) => n.t === 'rep' && n.sub.t === 'any' && n.min === 0 && n.max === -1;
  if (!anyString(a) || !anyString(b)) return null;
  const cls = c.t === 'class' ? c : c.t === 'rep' && c.min === 1 && c.sub.t === 'class' ? c.sub : null;
  if (cls === null || cls.neg) return null;
  return classSearch(cls.ranges);
}

/**
 * A search for one character of `ranges` ([lo, hi] code point pairs): the class alone, unanchored,
 * with the `u` flag so that it reads code points as the DFA does. Null when a pair is out of order
 * or beyond U+10FFFF. Also the router's test of a character anchor (detect/anchor-index.ts).
 */
export function classSearch(ranges: readonly number[]): RegExp | null {
  let body = '';
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    if (!(ranges[i]! <= ranges[i + 1]!) || ranges[i + 1]! > 0x10ffff) return null;
    body += `\\u{${ranges[i]!.toString(16)}}-\\u{${ranges[i + 1]!.toString(16)}}`;
  }
  try {
    return new RegExp(`[${body}]`, 'u');
  } catch {
    return null;
  }
}
