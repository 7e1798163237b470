// Public entry points of the EQL front end.

import type { Expr, Field, Literal, SequenceTerm, Span, Statement } from './ast.js';
import { analyzeExpression, analyzeStatement } from './analyzer.js';
import { KEYWORDS } from './lexer.js';
import { parseExpressionSyntax, parseStatementSyntax } from './parser.js';
import type { FieldTypes } from './types.js';

export type * from './ast.js';
export { EqlError, lineColumn, type EqlErrorKind } from './errors.js';
export { FUNCTION_NAMES } from './parser.js';
export { INSENSITIVE_FUNCTIONS } from './analyzer.js';
export { checkTypes, type FieldTypes } from './types.js';

/**
 * Parses and checks a query. Throws EqlError with the position of the first problem. Argument
 * types are checked for literals always, for fields where `fields` knows their types.
 */
export function parse(text: string, fields: FieldTypes = {}): Statement {
  const stmt = parseStatementSyntax(text);
  analyzeStatement(stmt, fields);
  return stmt;
}

/** Parses and checks a standalone condition (as written after `where`). Throws EqlError. */
export function parseExpression(text: string, fields: FieldTypes = {}): Expr {
  const expr = parseExpressionSyntax(text);
  analyzeExpression(expr, text, fields);
  return expr;
}

export interface FieldRef {
  name: string;
  optional: boolean;
  span: Span;
}

/** Every field reference in source order, including `by` keys, duplicates kept. */
export function collectFields(stmt: Statement): FieldRef[] {
  const out: FieldRef[] = [];
  forEachField(stmt, (f) => out.push({ name: f.name, optional: f.optional, span: f.span }));
  return out;
}

/** Calls `fn` with every field node of the statement in source order (`by` keys included). */
export function forEachField(stmt: Statement, fn: (f: Field) => void): void {
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'field':
        fn(e);
        return;
      case 'literal':
        return;
      case 'not':
      case 'negate':
        visit(e.operand);
        return;
      case 'and':
      case 'or':
      case 'compare':
      case 'arith':
        visit(e.left);
        visit(e.right);
        return;
      case 'in':
        visit(e.operand);
        e.values.forEach(visit);
        return;
      case 'match':
        visit(e.operand);
        e.patterns.forEach(visit);
        return;
      case 'call':
        e.args.forEach(visit);
        return;
    }
  };
  const term = (t: SequenceTerm): void => {
    visit(t.query.condition);
    t.by.forEach(visit);
  };
  const q = stmt.query;
  if (q.kind === 'event') visit(q.condition);
  else {
    q.by.forEach(visit);
    q.terms.forEach(term);
    if (q.kind === 'sequence' && q.until) term(q.until);
  }
}

// ---- printing ----------------------------------------------------------------------------------

// Binding strength of each node when printed; a child weaker than its slot needs parentheses.
const enum Prec {
  Or = 10,
  And = 20,
  Not = 30,
  Compare = 40,
  Add = 50,
  Mul = 60,
  Unary = 70,
  Predicate = 75,
  Primary = 80,
}

function precOf(e: Expr): number {
  switch (e.kind) {
    case 'or':
      return Prec.Or;
    case 'and':
      return Prec.And;
    case 'not':
      return Prec.Not;
    case 'compare':
      return Prec.Compare;
    case 'arith':
      return e.op === '+' || e.op === '-' ? Prec.Add : Prec.Mul;
    case 'negate':
      return Prec.Unary;
    case 'in':
    case 'match':
      return Prec.Predicate;
    case 'literal':
      return typeof e.value === 'number' && e.value < 0 ? Prec.Unary : Prec.Primary;
    default:
      return Prec.Primary;
  }
}

const PLAIN_SEGMENT = /^[A-Za-z_@][A-Za-z0-9_]*$/;

function formatFieldName(name: string): string {
  const segments = name.split('.');
  const plain = segments.every((s) => PLAIN_SEGMENT.test(s)) && !(segments.length === 1 && KEYWORDS.has(name));
  return plain ? name : '`' + name.replace(/`/g, '``') + '`';
}

export function formatString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) out += '\\"';
    else if (c === 92) out += '\\\\';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c < 32) out += `\\u{${c.toString(16).padStart(2, '0')}}`;
    else out += s[i];
  }
  return out + '"';
}

function formatLiteral(l: Literal): string {
  const v = l.value;
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return formatString(v);
  if (l.isFloat && Number.isInteger(v) && Math.abs(v) < 1e21) return `${v}.0`;
  return String(v);
}

function wrap(e: Expr, min: number): string {
  const s = formatExpr(e);
  return precOf(e) < min ? `(${s})` : s;
}

/** Canonical EQL text of an expression, with only the parentheses the tree needs. */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return formatLiteral(e);
    case 'field':
      return (e.optional ? '?' : '') + formatFieldName(e.name);
    case 'or':
      return `${wrap(e.left, Prec.Or)} or ${wrap(e.right, Prec.And)}`;
    case 'and':
      return `${wrap(e.left, Prec.And)} and ${wrap(e.right, Prec.Not)}`;
    case 'not':
      return `not ${wrap(e.operand, Prec.Not)}`;
    case 'compare':
      return `${wrap(e.left, Prec.Add)} ${e.op} ${wrap(e.right, Prec.Add)}`;
    case 'arith': {
      const p = e.op === '+' || e.op === '-' ? Prec.Add : Prec.Mul;
      return `${wrap(e.left, p)} ${e.op} ${wrap(e.right, p + 10)}`;
    }
    case 'negate': {
      const inner = wrap(e.operand, Prec.Unary);
      // `- -x` must not print as `--x`, and `-(-1)` keeps its structure.
      return inner.startsWith('-') ? `-(${inner})` : `-${inner}`;
    }
    case 'in': {
      const op = `${e.negated ? 'not ' : ''}in${e.caseInsensitive ? '~' : ''}`;
      return `${wrap(e.operand, Prec.Primary)} ${op} (${e.values.map(formatExpr).join(', ')})`;
    }
    case 'match': {
      const op = e.colon ? ':' : `${e.op}${e.caseInsensitive ? '~' : ''}`;
      const pats = e.patterns.length === 1 ? formatExpr(e.patterns[0]!) : `(${e.patterns.map(formatExpr).join(', ')})`;
      return `${wrap(e.operand, Prec.Primary)} ${op} ${pats}`;
    }
    case 'call':
      return `${e.name}${e.caseInsensitive ? '~' : ''}(${e.args.map(formatExpr).join(', ')})`;
  }
}

function formatKeys(keys: Expr[]): string {
  return keys.map(formatExpr).join(', ');
}

function formatCategory(category: string | null): string {
  if (category === null) return 'any';
  return PLAIN_SEGMENT.test(category) && !KEYWORDS.has(category) && !category.startsWith('@') ? category : formatString(category);
}

function formatTerm(t: SequenceTerm): string {
  let s = `${t.missing ? '![' : '['}${formatCategory(t.query.category)} where ${formatExpr(t.query.condition)}]`;
  if (t.by.length > 0) s += ` by ${formatKeys(t.by)}`;
  if (t.runs !== 1) s += ` with runs=${t.runs}`;
  return s;
}

/**
 * Canonical EQL text of a statement. Sequences and samples put each term on its own line, indented
 * by two spaces; pipes follow on the same line as the query's end.
 */
export function formatStatement(stmt: Statement): string {
  const q = stmt.query;
  let s: string;
  if (q.kind === 'event') {
    s = `${formatCategory(q.category)} where ${formatExpr(q.condition)}`;
  } else {
    s = q.kind;
    if (q.by.length > 0) s += ` by ${formatKeys(q.by)}`;
    if (q.kind === 'sequence' && q.maxspan) s += ` with maxspan=${q.maxspan.value}${q.maxspan.unit}`;
    for (const t of q.terms) s += `\n  ${formatTerm(t)}`;
    if (q.kind === 'sequence' && q.until) s += `\nuntil ${formatTerm(q.until)}`;
  }
  for (const p of stmt.pipes) s += ` | ${p.kind} ${p.count}`;
  return s;
}

