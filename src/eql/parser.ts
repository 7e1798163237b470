// Recursive-descent parser for Elasticsearch EQL, following the shape of EqlBase.g4:
//   booleanExpression: not > and > or
//   valueExpression:   operatorExpression [compareOp operatorExpression]   (no chaining)
//   operatorExpression: unary +/- binds tightest, then * / %, then + -
//                       and `primary predicate?`, so `in`, `:`, `like`, `regex` attach to the primary on their left
// Constructs ES rejects at parse time, or that cannot be represented in the AST (join, lineage, fork,
// `=`, pipes other than head/tail, options on samples) are reported here; checks that need the whole
// tree (arity, join key counts, missing-event rules, field-vs-field) live in analyzer.ts.

import type {
  CompareOp,
  EventQuery,
  Expr,
  FunctionName,
  Literal,
  MaxSpan,
  Pipe,
  Query,
  SampleQuery,
  SequenceQuery,
  SequenceTerm,
  Span,
  Statement,
  TimeUnit,
} from './ast.js';
import { EqlError, type EqlErrorKind } from './errors.js';
import { KEYWORDS, tokenize, type Token } from './lexer.js';

export const FUNCTION_NAMES: readonly FunctionName[] = [
  'add',
  'between',
  'cidrMatch',
  'concat',
  'divide',
  'endsWith',
  'indexOf',
  'length',
  'modulo',
  'multiply',
  'number',
  'startsWith',
  'string',
  'stringContains',
  'substring',
  'subtract',
];

const FUNCTIONS_BY_LOWER: ReadonlyMap<string, FunctionName> = new Map(FUNCTION_NAMES.map((f) => [f.toLowerCase(), f]));

/** Functions of Python eql that ES does not have, with the closest ES way of writing the same thing. */
const PYTHON_ONLY_FUNCTIONS: ReadonlyMap<string, [string, string]> = new Map([
  ['arraycontains', ['arrayContains', 'use `field in (...)` or `field : (...)`: a multi-valued field matches when any value matches']],
  ['arraycount', ['arrayCount', 'there is no equivalent; filter on the field values directly']],
  ['arraysearch', ['arraySearch', 'use a predicate on the multi-valued field: it matches when any value matches']],
  ['match', ['match', 'use `field regex "pattern"` (or regex~ for case-insensitive matching)']],
  ['matchlite', ['matchLite', 'use `field regex "pattern"` (or regex~ for case-insensitive matching)']],
  ['safe', ['safe', 'remove the safe(...) wrapper: a failing function is null and does not match']],
  ['wildcard', ['wildcard', 'use `field : ("pattern*", ...)` or `field like~ ("pattern*", ...)`']],
]);

const PYTHON_ONLY_PIPES: ReadonlySet<string> = new Set(['count', 'unique', 'unique_count', 'filter', 'sort', 'window']);

/**
 * Deepest expression tree accepted. Elasticsearch has no fixed bound: its parser fails with "EQL
 * statement is too large, causing stack overflow when generating the parsing tree" when the JVM
 * stack runs out. eqlite refuses earlier, at a fixed depth, with the position (the deepest
 * Elastic rule is 28 levels deep). Long chains of `and`/`or` do not count: they are built as
 * balanced trees.
 */
export const MAX_EXPRESSION_DEPTH = 200;
/** `and`/`or` chains with more operands than this become balanced trees (depth log2 n). */
const BALANCE_CHAINS_FROM = 16;

const COMPARE_OPS: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=']);

const UNIT_MILLIS: Readonly<Record<TimeUnit, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best !== undefined && bestDist <= Math.max(2, Math.floor(w.length / 3)) ? best : undefined;
}

class Parser {
  private readonly toks: Token[];
  private pos = 0;
  /** End offset of the last consumed token: the end of every node's span. */
  private lastEnd = 0;
  /** Current recursion depth of the expression parser (parentheses, calls, not, unary minus). */
  private nesting = 0;
  /** Tree depth of the inner nodes built so far (leaves are 1). */
  private readonly depths = new WeakMap<Expr, number>();

  constructor(private readonly src: string) {
    this.toks = tokenize(src);
  }

  // ---- token helpers -------------------------------------------------------------------------

  private peek(k = 0): Token {
    const t = this.toks[this.pos + k];
    return t ?? this.toks[this.toks.length - 1]!;
  }

  private advance(): Token {
    const t = this.toks[this.pos]!;
    if (t.type !== 'eof') this.pos++;
    this.lastEnd = t.end;
    return t;
  }

  private isOp(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.type === 'op' && t.text === text;
  }

  private isKw(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.type === 'keyword' && t.text === text;
  }

  private isIdentWord(word: string, k = 0): boolean {
    const t = this.peek(k);
    return t.type === 'ident' && !t.quoted && !t.dotted && t.value === word;
  }

  private fail(kind: EqlErrorKind, message: string, span: Span, hint?: string): never {
    throw new EqlError(kind, message, this.src, span, hint);
  }

  private tooDeep(at: Span): never {
    this.fail(
      'syntax',
      `expression nested too deeply: more than ${MAX_EXPRESSION_DEPTH} levels`,
      at,
      'Elasticsearch rejects such a statement as too large; simplify the expression',
    );
  }

  /** Enters one level of parser recursion at token `t`. */
  private enter(t: Token): void {
    if (++this.nesting > MAX_EXPRESSION_DEPTH) this.tooDeep(t);
  }

  /** Records the tree depth of a new inner node (1 + its deepest child) and enforces the bound. */
  private node<T extends Expr>(e: T, at: Span, ...children: Expr[]): T {
    let deepest = 0;
    for (const c of children) {
      const d = this.depths.get(c) ?? 1;
      if (d > deepest) deepest = d;
    }
    if (deepest + 1 > MAX_EXPRESSION_DEPTH) this.tooDeep(at);
    this.depths.set(e, deepest + 1);
    return e;
  }

  private describe(t: Token): string {
    return t.type === 'eof' ? 'end of query' : JSON.stringify(t.text);
  }

  /** "expected X but found Y", with a hint for the usual mistakes behind the unexpected token. */
  private expected(what: string, hint?: string): never {
    const t = this.peek();
    if (hint === undefined) {
      if (t.type === 'ident' && !t.quoted && !t.dotted && KEYWORDS.has(String(t.value).toLowerCase())) {
        hint = `keywords are lower case in Elasticsearch EQL: write \`${String(t.value).toLowerCase()}\``;
      } else if (t.type === 'op' && t.text === '=') {
        this.fail('unsupported', '`=` is not supported by Elasticsearch EQL', t, 'use == for equality');
      } else if (t.type === 'op' && t.text === '~') {
        hint = 'the ~ suffix must follow in, like, regex or a function name without a space (in~, like~, startsWith~(...))';
      }
    }
    this.fail('syntax', `expected ${what} but found ${this.describe(t)}`, t, hint);
  }

  private expectOp(text: string, what = JSON.stringify(text)): Token {
    if (!this.isOp(text)) this.expected(what);
    return this.advance();
  }

  private expectKw(text: string): Token {
    if (!this.isKw(text)) this.expected(JSON.stringify(text));
    return this.advance();
  }

  // ---- statement -----------------------------------------------------------------------------

  parseStatement(): Statement {
    const query = this.parseQuery();
    const pipes: Pipe[] = [];
    while (this.isOp('|')) pipes.push(this.parsePipe());
    if (this.peek().type !== 'eof') {
      this.expected(pipes.length > 0 || query.kind !== 'event' ? '"|" or end of query' : 'an operator, "|" or end of query');
    }
    return { query, pipes, source: this.src };
  }

  parseSingleExpression(): Expr {
    const e = this.parseExpr();
    if (this.peek().type !== 'eof') this.expected('end of expression');
    return e;
  }

  private parseQuery(): Query {
    const t = this.peek();
    if (t.type === 'keyword') {
      if (t.text === 'sequence') return this.parseSequence();
      if (t.text === 'sample') return this.parseSample();
      if (t.text === 'join') {
        this.fail('unsupported', '`join` is not supported by Elasticsearch EQL', t, 'use `sequence` (ordered) or `sample` (unordered) instead');
      }
    }
    return this.parseEventQuery();
  }

  private parseEventQuery(): EventQuery {
    const t = this.peek();
    const start = t.start;
    let category: string | null;
    if (t.type === 'keyword' && t.text === 'any') {
      category = null;
    } else if (t.type === 'string') {
      category = String(t.value);
    } else if (t.type === 'ident' && !t.quoted && !t.dotted) {
      category = String(t.value);
    } else if (t.type === 'ident') {
      this.fail('syntax', `invalid event category ${JSON.stringify(t.text)}`, t, `quote a category with special characters: "${String(t.value)}"`);
    } else {
      this.expected('an event category (a name, a quoted string or `any`)');
    }
    this.advance();
    if (!this.isKw('where')) {
      const n = this.peek();
      const hint =
        n.type === 'ident' && closest(String(n.value), ['where']) === 'where' ? 'did you mean `where`?' : undefined;
      this.expected('"where"', hint);
    }
    this.advance();
    const condition = this.parseExpr();
    return { kind: 'event', category, condition, span: { start, end: this.lastEnd } };
  }

  // ---- sequence / sample -----------------------------------------------------------------------

  private parseSequence(): SequenceQuery {
    const start = this.advance().start;
    let by: Expr[] = [];
    let maxspan: MaxSpan | null = null;
    if (this.isKw('by')) by = this.parseByKeys();
    if (this.isKw('with')) {
      maxspan = this.parseMaxspan();
      if (this.isKw('by')) {
        this.fail('syntax', 'sequence `by` must come before `with maxspan`, not after', this.peek(), 'write: sequence by <keys> with maxspan=<n><unit>');
      }
    }
    const terms: SequenceTerm[] = [];
    while (this.isOp('[') || this.isOp('![')) terms.push(this.parseTerm('sequence'));
    if (terms.length === 0) this.expected('"[" starting a sequence term');
    let until: SequenceTerm | null = null;
    if (this.isKw('until')) {
      this.advance();
      if (!this.isOp('[') && !this.isOp('![')) this.expected('"[" starting the until term');
      until = this.parseTerm('until');
    }
    return { kind: 'sequence', by, maxspan, terms, until, span: { start, end: this.lastEnd } };
  }

  private parseSample(): SampleQuery {
    const start = this.advance().start;
    let by: Expr[] = [];
    if (this.isKw('by')) by = this.parseByKeys();
    if (this.isKw('with')) {
      const w = this.peek();
      const end = this.isKw('maxspan', 1) ? this.peek(1).end : w.end;
      this.fail('semantic', '`with maxspan` is not supported in samples', { start: w.start, end }, 'samples ignore event order and time; use `sequence` for a time window');
    }
    const terms: SequenceTerm[] = [];
    while (this.isOp('[') || this.isOp('![')) terms.push(this.parseTerm('sample'));
    if (terms.length === 0) this.expected('"[" starting a sample term');
    if (this.isKw('until')) {
      this.fail('semantic', '`until` is not supported in samples', this.peek(), 'only sequences support until');
    }
    return { kind: 'sample', by, terms, span: { start, end: this.lastEnd } };
  }

  private parseByKeys(): Expr[] {
    this.advance();
    const keys = [this.parseExpr()];
    while (this.isOp(',')) {
      this.advance();
      keys.push(this.parseExpr());
    }
    return keys;
  }

  private parseMaxspan(): MaxSpan {
    this.advance(); // with
    if (this.isIdentWord('runs')) {
      this.fail('syntax', '`with runs` applies to a sequence term, not to the whole sequence', this.peek(), 'write it after a term: [process where ...] with runs=2');
    }
    const kw = this.expectKw('maxspan');
    this.expectOp('=');
    const num = this.peek();
    if (num.type !== 'number') this.expected('a time span such as 5s');
    this.advance();
    if (num.isFloat) {
      this.fail('semantic', `decimal maxspan ${num.text} is not supported`, num, 'use a positive integer with a unit, e.g. 1500ms');
    }
    const unitTok = this.peek();
    if (unitTok.type !== 'ident' || unitTok.quoted || unitTok.dotted) {
      this.fail('semantic', 'maxspan needs a time unit', num, `did you mean ${num.text}s? units are ms, s, m, h, d`);
    }
    const unit = String(unitTok.value);
    if (!(unit in UNIT_MILLIS)) {
      this.fail('semantic', `unknown time unit ${JSON.stringify(unit)} in maxspan`, unitTok, 'use one of ms, s, m, h, d');
    }
    this.advance();
    const value = Number(num.value);
    const u = unit as TimeUnit;
    return { value, unit: u, millis: value * UNIT_MILLIS[u], span: { start: kw.start, end: unitTok.end } };
  }

  private parseTerm(context: 'sequence' | 'until' | 'sample'): SequenceTerm {
    const open = this.advance();
    const missing = open.text === '![';
    if (missing && context === 'sample') {
      this.fail('semantic', 'missing-event terms (![...]) are not supported in samples', open, 'use [...] terms in a sample');
    }
    const query = this.parseEventQuery();
    if (!this.isOp(']')) this.expected(this.peek().type === 'eof' ? '"]"' : 'an operator or "]"');
    this.advance();
    let by: Expr[] = [];
    if (this.isKw('by')) by = this.parseByKeys();
    let runs = 1;
    if (this.isKw('with')) {
      const w = this.peek();
      if (context === 'sample') {
        this.fail('semantic', '`with runs` is not supported in samples', { start: w.start, end: this.peek(1).end }, 'repeat the term instead');
      }
      if (this.isKw('maxspan', 1)) {
        this.fail('syntax', '`with maxspan` applies to the whole sequence, not to a term', { start: w.start, end: this.peek(1).end }, 'write: sequence [by <keys>] with maxspan=<n><unit> [...] [...]');
      }
      this.advance();
      if (!this.isIdentWord('runs')) this.expected('"runs"');
      this.advance();
      this.expectOp('=');
      const num = this.peek();
      if (num.type !== 'number') this.expected('a number of runs');
      this.advance();
      if (num.isFloat) this.fail('semantic', `runs must be an integer, found ${num.text}`, num);
      runs = Number(num.value);
    }
    if (this.isIdentWord('fork')) {
      this.fail('unsupported', '`fork` is not supported by Elasticsearch EQL', this.peek());
    }
    return { query, by, runs, missing, span: { start: open.start, end: this.lastEnd } };
  }

  private parsePipe(): Pipe {
    const bar = this.advance();
    const nameTok = this.peek();
    if (nameTok.type !== 'ident' || nameTok.dotted || nameTok.quoted) this.expected('a pipe name (head or tail)');
    const name = String(nameTok.value);
    if (name !== 'head' && name !== 'tail') {
      if (PYTHON_ONLY_PIPES.has(name)) {
        this.fail('unsupported', `pipe \`${name}\` is not supported by Elasticsearch EQL`, nameTok, 'only `| head N` and `| tail N` are supported');
      }
      const guess = closest(name, ['head', 'tail']);
      this.fail('semantic', `unknown pipe \`${name}\``, nameTok, guess ? `did you mean \`${guess}\`?` : 'only `| head N` and `| tail N` are supported');
    }
    this.advance();
    if (this.peek().type === 'eof' || this.isOp('|')) {
      this.fail('semantic', `pipe \`${name}\` expects exactly one argument, found none`, nameTok, `write: | ${name} 10`);
    }
    const arg = this.parseExpr();
    if (this.isOp(',')) {
      this.fail('semantic', `pipe \`${name}\` expects exactly one argument`, this.peek());
    }
    let count: number | undefined;
    if (arg.kind === 'literal' && typeof arg.value === 'number' && !arg.isFloat) count = arg.value;
    else if (arg.kind === 'negate' && arg.operand.kind === 'literal' && typeof arg.operand.value === 'number' && !arg.operand.isFloat) {
      count = -arg.operand.value;
    }
    if (count === undefined) {
      this.fail('semantic', `pipe \`${name}\` expects a non-negative integer, found ${this.src.slice(arg.span.start, arg.span.end)}`, arg.span);
    }
    return { kind: name, count, span: { start: bar.start, end: this.lastEnd } };
  }

  // ---- expressions -----------------------------------------------------------------------------

  parseExpr(): Expr {
    this.enter(this.peek());
    const e = this.parseChain('or');
    this.nesting--;
    return e;
  }

  /**
   * `a or b or …` (kind 'or', operands parsed by parseChain('and')) or `a and b and …` (operands
   * parsed by parseNot). Short chains are left-deep, as written; long ones are balanced, which
   * evaluates the same (three-valued and/or are associative) without a tree as deep as the chain.
   */
  private parseChain(kind: 'or' | 'and'): Expr {
    const operand = () => (kind === 'or' ? this.parseChain('and') : this.parseNot());
    const starts = [this.peek().start];
    const items = [operand()];
    const ends = [this.lastEnd];
    const ops: Token[] = [];
    while (this.isKw(kind)) {
      ops.push(this.advance());
      starts.push(this.peek().start);
      items.push(operand());
      ends.push(this.lastEnd);
    }
    if (items.length <= BALANCE_CHAINS_FROM) {
      let left = items[0]!;
      for (let i = 1; i < items.length; i++) {
        left = this.node({ kind, left, right: items[i]!, span: { start: starts[0]!, end: ends[i]! } }, ops[i - 1]!, left, items[i]!);
      }
      return left;
    }
    const build = (lo: number, hi: number): Expr => {
      if (lo === hi) return items[lo]!;
      const mid = (lo + hi) >> 1;
      const left = build(lo, mid);
      const right = build(mid + 1, hi);
      return this.node({ kind, left, right, span: { start: starts[lo]!, end: ends[hi]! } }, ops[mid]!, left, right);
    };
    return build(0, items.length - 1);
  }

  private parseNot(): Expr {
    const t = this.peek();
    if (t.type === 'keyword' && t.text === 'not') {
      this.advance();
      this.enter(t);
      const operand = this.parseNot();
      this.nesting--;
      return this.node({ kind: 'not', operand, span: { start: t.start, end: this.lastEnd } }, t, operand);
    }
    if (t.type === 'ident' && this.isKw('of', 1)) {
      this.fail(
        'unsupported',
        `lineage queries (\`${String(t.value)} of\`) are not supported by Elasticsearch EQL`,
        { start: t.start, end: this.peek(1).end },
        'use a sequence joined by process entity id instead',
      );
    }
    return this.parseComparison();
  }

  private parseComparison(): Expr {
    const start = this.peek().start;
    const left = this.parseAdditive();
    const t = this.peek();
    if (t.type !== 'op') return left;
    if (t.text === '=') this.fail('unsupported', '`=` is not supported by Elasticsearch EQL', t, 'use == for equality');
    if (!COMPARE_OPS.has(t.text)) return left;
    this.advance();
    const right = this.parseAdditive();
    const n = this.peek();
    if (n.type === 'op' && (COMPARE_OPS.has(n.text) || n.text === '=')) {
      this.fail('syntax', `chained comparison: unexpected ${JSON.stringify(n.text)} after a comparison`, n, 'combine two comparisons with and: a < b and b < c');
    }
    return this.node({ kind: 'compare', op: t.text as CompareOp, left, right, span: { start, end: this.lastEnd } }, t, left, right);
  }

  private parseAdditive(): Expr {
    const start = this.peek().start;
    let left = this.parseMultiplicative();
    for (;;) {
      const t = this.peek();
      if (t.type !== 'op' || (t.text !== '+' && t.text !== '-')) return left;
      this.advance();
      const right = this.parseMultiplicative();
      left = this.node({ kind: 'arith', op: t.text, left, right, span: { start, end: this.lastEnd } }, t, left, right);
    }
  }

  private parseMultiplicative(): Expr {
    const start = this.peek().start;
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t.type !== 'op' || (t.text !== '*' && t.text !== '/' && t.text !== '%')) return left;
      this.advance();
      const right = this.parseUnary();
      left = this.node({ kind: 'arith', op: t.text, left, right, span: { start, end: this.lastEnd } }, t, left, right);
    }
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.type === 'op' && (t.text === '-' || t.text === '+')) {
      this.advance();
      this.enter(t);
      const operand = this.parseUnary();
      this.nesting--;
      if (t.text === '+') return operand;
      return this.node({ kind: 'negate', operand, span: { start: t.start, end: this.lastEnd } }, t, operand);
    }
    return this.parsePredicate();
  }

  /** `primary predicate?`: the predicate binds to the primary immediately on its left. */
  private parsePredicate(): Expr {
    const start = this.peek().start;
    const operand = this.parsePrimary();
    let t = this.peek();
    let negated = false;
    if (t.type === 'keyword' && t.text === 'not') {
      const n = this.peek(1);
      if (n.type === 'keyword' && (n.text === 'in' || n.text === 'in~')) {
        negated = true;
        this.advance();
        t = n;
      } else if ((n.type === 'keyword' && /^(like|regex)~?$/.test(n.text)) || (n.type === 'op' && n.text === ':')) {
        this.fail('syntax', `\`not\` cannot precede ${JSON.stringify(n.text)}`, { start: t.start, end: n.end }, `negate the whole predicate: not x ${n.text} ...`);
      } else {
        return operand;
      }
    }
    if (t.type === 'keyword' && (t.text === 'in' || t.text === 'in~')) {
      this.advance();
      this.expectOp('(', `"(" after ${t.text}`);
      const values = [this.parseExpr()];
      while (this.isOp(',')) {
        this.advance();
        values.push(this.parseExpr());
      }
      this.expectOp(')', '"," or ")"');
      return this.node({ kind: 'in', operand, values, negated, caseInsensitive: t.text === 'in~', span: { start, end: this.lastEnd } }, t, operand, ...values);
    }
    const isColon = t.type === 'op' && t.text === ':';
    if (isColon || (t.type === 'keyword' && (t.text === 'like' || t.text === 'like~' || t.text === 'regex' || t.text === 'regex~'))) {
      this.advance();
      const patterns: Expr[] = [];
      if (this.isOp('(')) {
        this.advance();
        patterns.push(this.parseConstant());
        while (this.isOp(',')) {
          this.advance();
          patterns.push(this.parseConstant());
        }
        this.expectOp(')', '"," or ")"');
      } else {
        patterns.push(this.parseConstant());
      }
      const match: Expr = {
        kind: 'match',
        op: isColon || t.text.startsWith('like') ? 'like' : 'regex',
        caseInsensitive: isColon || t.text.endsWith('~'),
        colon: isColon,
        operand,
        patterns,
        span: { start, end: this.lastEnd },
      };
      return this.node(match, t, operand);
    }
    return operand;
  }

  /** Patterns of `:`, like and regex are constants in the grammar, not expressions. */
  private parseConstant(): Literal {
    const t = this.peek();
    if (t.type === 'string' || t.type === 'number' || (t.type === 'keyword' && (t.text === 'true' || t.text === 'false' || t.text === 'null'))) {
      return this.parsePrimary() as Literal;
    }
    if (t.type === 'ident' || (t.type === 'op' && t.text === '?')) {
      this.fail('unsupported', 'a pattern must be a literal string, not a field', t, 'comparing a field with another field is not supported by Elasticsearch EQL');
    }
    return this.expected('a pattern string');
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.type) {
      case 'number':
        this.advance();
        return t.isFloat
          ? { kind: 'literal', value: Number(t.value), isFloat: true, span: { start: t.start, end: t.end } }
          : { kind: 'literal', value: Number(t.value), span: { start: t.start, end: t.end } };
      case 'string':
        this.advance();
        return { kind: 'literal', value: String(t.value), span: { start: t.start, end: t.end } };
      case 'keyword':
        if (t.text === 'true' || t.text === 'false' || t.text === 'null') {
          this.advance();
          return { kind: 'literal', value: t.text === 'null' ? null : t.text === 'true', span: { start: t.start, end: t.end } };
        }
        break;
      case 'op':
        if (t.text === '(') {
          this.advance();
          const inner = this.parseExpr();
          this.expectOp(')', 'an operator or ")"');
          return inner;
        }
        if (t.text === '?') {
          this.advance();
          const f = this.peek();
          if (f.type !== 'ident') this.expected('a field name after "?"');
          this.advance();
          this.rejectIndex();
          return { kind: 'field', name: String(f.value), optional: true, span: { start: t.start, end: f.end } };
        }
        break;
      case 'tildeIdent':
        return this.parseCall(t, true);
      case 'ident':
        if (this.isOp('(', 1)) return this.parseCall(t, false);
        this.advance();
        this.rejectIndex();
        return { kind: 'field', name: String(t.value), optional: false, span: { start: t.start, end: t.end } };
    }
    return this.expected('an expression');
  }

  /** `f[0]` is in the grammar but ES cannot execute it; `by f [process where ...]` is not an index. */
  private rejectIndex(): void {
    if (this.isOp('[') && this.peek(1).type === 'number' && this.isOp(']', 2)) {
      this.fail('unsupported', 'array indexing is not supported by Elasticsearch EQL', { start: this.peek().start, end: this.peek(2).end }, 'a predicate on a multi-valued field matches when any value matches');
    }
  }

  private parseCall(t: Token, tilde: boolean): Expr {
    if (tilde && !this.isOp('(', 1)) {
      this.advance();
      this.expected(`"(" after ${t.text}`);
    }
    const raw = String(t.value);
    if (t.dotted || t.quoted) this.fail('syntax', `invalid function name ${JSON.stringify(t.text)}`, t);
    const lower = raw.toLowerCase();
    const name = FUNCTIONS_BY_LOWER.get(lower);
    if (name === undefined) {
      const py = PYTHON_ONLY_FUNCTIONS.get(lower);
      if (py) this.fail('unsupported', `function \`${py[0]}\` is not supported by Elasticsearch EQL`, t, py[1]);
      const guess = closest(raw, FUNCTION_NAMES);
      this.fail('semantic', `unknown function \`${raw}\``, t, guess ? `did you mean \`${guess}\`?` : `available functions: ${FUNCTION_NAMES.join(', ')}`);
    }
    this.advance();
    this.advance(); // (
    const args: Expr[] = [];
    if (!this.isOp(')')) {
      args.push(this.parseExpr());
      while (this.isOp(',')) {
        this.advance();
        args.push(this.parseExpr());
      }
    }
    this.expectOp(')', '"," or ")"');
    return this.node({ kind: 'call', name, caseInsensitive: tilde, args, span: { start: t.start, end: this.lastEnd } }, t, ...args);
  }
}

/** Parses a statement without semantic checks (see analyzer.ts). Throws EqlError. */
export function parseStatementSyntax(text: string): Statement {
  return new Parser(text).parseStatement();
}

/** Parses a standalone expression without semantic checks. Throws EqlError. */
export function parseExpressionSyntax(text: string): Expr {
  return new Parser(text).parseSingleExpression();
}
