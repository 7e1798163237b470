// Semantic checks that Elasticsearch makes after parsing (LogicalPlanBuilder, function resolution and
// the query translator), reported before anything runs so a rule fails at load time, not mid-hunt.

import type { Call, Expr, FunctionName, SequenceTerm, Span, Statement } from './ast.js';
import { EqlError, type EqlErrorKind } from './errors.js';
import { checkExpressionTypes, checkTypes, readsRequiredField, type FieldTypes } from './types.js';

/** [min, max] argument counts; max Infinity for variadic functions. */
const ARITY: Readonly<Record<FunctionName, readonly [number, number]>> = {
  add: [2, 2],
  between: [3, 4],
  cidrMatch: [2, Infinity],
  concat: [1, Infinity],
  divide: [2, 2],
  endsWith: [2, 2],
  indexOf: [2, 3],
  length: [1, 1],
  modulo: [2, 2],
  multiply: [2, 2],
  number: [1, 2],
  startsWith: [2, 2],
  string: [1, 1],
  stringContains: [2, 2],
  substring: [2, 3],
  subtract: [2, 2],
};

const SIGNATURE: Readonly<Record<FunctionName, string>> = {
  add: 'add(a, b)',
  between: 'between(source, left, right[, greedy])',
  cidrMatch: 'cidrMatch(ip, cidr[, ...])',
  concat: 'concat(value[, ...])',
  divide: 'divide(a, b)',
  endsWith: 'endsWith(source, substring)',
  indexOf: 'indexOf(source, substring[, start])',
  length: 'length(source)',
  modulo: 'modulo(a, b)',
  multiply: 'multiply(a, b)',
  number: 'number(source[, base])',
  startsWith: 'startsWith(source, substring)',
  string: 'string(value)',
  stringContains: 'stringContains(source, substring)',
  substring: 'substring(source, start[, end])',
  subtract: 'subtract(a, b)',
};

export const INSENSITIVE_FUNCTIONS: ReadonlySet<FunctionName> = new Set(['between', 'endsWith', 'indexOf', 'startsWith', 'stringContains']);

export const MAX_RUNS = 100;

class Analyzer {
  constructor(private readonly src: string) {}

  private fail(kind: EqlErrorKind, message: string, span: Span, hint?: string): never {
    throw new EqlError(kind, message, this.src, span, hint);
  }

  private text(span: Span): string {
    return this.src.slice(span.start, span.end);
  }

  statement(stmt: Statement): void {
    const q = stmt.query;
    if (q.kind === 'event') {
      this.expr(q.condition);
    } else if (q.kind === 'sequence') {
      this.keys(q.by);
      if (q.maxspan && q.maxspan.value <= 0) {
        this.fail('semantic', `maxspan must be positive, found ${q.maxspan.value}${q.maxspan.unit}`, q.maxspan.span);
      }
      const all = q.until ? [...q.terms, q.until] : q.terms;
      for (const t of all) this.term(t);
      for (const t of q.terms) {
        if (t.runs < 1 || t.runs > MAX_RUNS) {
          this.fail('semantic', `runs must be between 1 and ${MAX_RUNS}, found ${t.runs}`, t.span);
        }
      }
      // ES expands `with runs=N` into N stages before counting.
      const stages = q.terms.reduce((n, t) => n + t.runs, 0);
      if (stages < 2) {
        this.fail('semantic', `a sequence needs at least 2 terms, found ${stages}`, q.span, 'add another [...] term, or use a plain event query');
      }
      if (q.until) {
        if (q.until.missing) this.fail('semantic', 'the until term cannot be a missing-event term (![...])', q.until.span);
        if (q.until.runs !== 1) this.fail('semantic', '`with runs` is not allowed on the until term', q.until.span);
      }
      const missing = q.terms.find((t) => t.missing);
      if (missing) {
        if (q.terms.every((t) => t.missing)) {
          this.fail('semantic', 'a sequence needs at least one positive term ([...]), found only missing-event terms', q.span);
        }
        if (!q.maxspan) {
          this.fail('semantic', 'a sequence with missing-event terms (![...]) requires `with maxspan`', missing.span, 'write: sequence [by <keys>] with maxspan=<n><unit> ...');
        }
      }
      this.keyCounts(q.by.length, all);
    } else {
      this.keys(q.by);
      for (const t of q.terms) this.term(t);
      if (q.terms.length < 2) {
        this.fail('semantic', `a sample needs at least 2 terms, found ${q.terms.length}`, q.span, 'add another [...] term, or use a plain event query');
      }
      this.keyCounts(q.by.length, q.terms);
    }
    for (const p of stmt.pipes) {
      if (!Number.isInteger(p.count) || p.count < 0) {
        this.fail('semantic', `pipe \`${p.kind}\` expects a non-negative integer, found ${p.count}`, p.span);
      }
    }
  }

  private term(t: SequenceTerm): void {
    this.expr(t.query.condition);
    this.keys(t.by);
  }

  private keys(keys: Expr[]): void {
    for (const k of keys) {
      if (k.kind !== 'field') {
        this.fail('semantic', `join keys must be field names, found ${this.text(k.span)}`, k.span, 'use a field after `by`');
      }
    }
  }

  private keyCounts(shared: number, terms: SequenceTerm[]): void {
    const first = terms[0];
    if (!first) return;
    const expected = first.by.length;
    for (const t of terms) {
      if (t.by.length !== expected) {
        const span = t.by.length > 0 ? { start: t.by[0]!.span.start, end: t.by[t.by.length - 1]!.span.end } : t.span;
        this.fail(
          'semantic',
          `inconsistent number of join keys: expected ${expected} but found ${t.by.length}`,
          span,
          shared > 0 ? `every term needs the same number of \`by\` keys (besides the ${shared} shared one${shared > 1 ? 's' : ''})` : 'every term (and until) needs the same number of `by` keys',
        );
      }
    }
  }

  expr(e: Expr): void {
    switch (e.kind) {
      case 'literal':
      case 'field':
        return;
      case 'not':
      case 'negate':
        this.expr(e.operand);
        return;
      case 'and':
      case 'or':
      case 'arith':
        this.expr(e.left);
        this.expr(e.right);
        return;
      case 'compare':
        this.expr(e.left);
        this.expr(e.right);
        if (readsRequiredField(e.left) && readsRequiredField(e.right)) {
          this.fail(
            'unsupported',
            'comparing a field with another field is not supported by Elasticsearch EQL',
            e.span,
            'compare a field (or a function of fields) with a literal value',
          );
        }
        return;
      case 'in': {
        this.expr(e.operand);
        for (const v of e.values) this.expr(v);
        const other = e.values.find(readsRequiredField);
        if (other && readsRequiredField(e.operand)) {
          this.fail(
            'unsupported',
            'comparing a field with another field is not supported by Elasticsearch EQL',
            other.span,
            'the values of in (...) must be literals (or functions of literals)',
          );
        }
        // ES's In wants constant values whatever its operand (`"a" in (process.name)` too); in~
        // becomes `:` comparisons, which ES turns around to put the constant on the right.
        if (other && !e.caseInsensitive) {
          this.fail('unsupported', `the values of \`in\` must be constants, found ${this.text(other.span)}`, other.span, 'compare the field with the constant instead: field == "value"');
        }
        return;
      }
      case 'match': {
        this.expr(e.operand);
        // `like`/`regex` with the pattern null: Elasticsearch fails the query whatever the operand —
        // its parser renders each like pattern with toString() (x-pack/plugin/eql …/parser/
        // ExpressionBuilder.java), and the regex Match function does the same when the optimizer
        // substitutes it (…/function/scalar/string/Match.java, makeSubstitute), both on null.
        // `:` is checked after folding instead (engine/expr.ts, refuseNullTerms).
        const nul = e.colon ? undefined : e.patterns.find((p) => p.kind === 'literal' && p.value === null);
        if (nul) {
          const op = `${e.op}${e.caseInsensitive ? '~' : ''}`;
          this.fail('unsupported', `\`${op}\` with the pattern null is not supported by Elasticsearch EQL (the query fails)`, nul.span, 'test for a missing value with `field == null`');
        }
        return;
      }
      case 'call':
        this.call(e);
        return;
    }
  }

  private call(c: Call): void {
    const [min, max] = ARITY[c.name];
    const n = c.args.length;
    if (n < min || n > max) {
      const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      this.fail('semantic', `function \`${c.name}\` expects ${want} argument${want === '1' ? '' : 's'} but found ${n}`, c.span, `usage: ${SIGNATURE[c.name]}`);
    }
    if (c.caseInsensitive && !INSENSITIVE_FUNCTIONS.has(c.name)) {
      this.fail(
        'semantic',
        `function \`${c.name}\` has no case-insensitive (~) variant`,
        { start: c.span.start, end: c.span.start + c.name.length + 1 },
        `only ${[...INSENSITIVE_FUNCTIONS].join(', ')} accept ~`,
      );
    }
    for (const a of c.args) this.expr(a);
  }
}

/** The checks ES makes after parsing: the query's structure, then the types (see types.ts). */
export function analyzeStatement(stmt: Statement, fields: FieldTypes = {}): void {
  new Analyzer(stmt.source).statement(stmt);
  checkTypes(stmt, fields);
}

export function analyzeExpression(expr: Expr, source: string, fields: FieldTypes = {}): void {
  new Analyzer(source).expr(expr);
  checkExpressionTypes(expr, source, fields);
}
