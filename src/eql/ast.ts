// Typed AST for Elasticsearch EQL. Every node keeps the source span it was parsed from so that
// the analyzer, the validator and error messages can point at the exact text.

/** Half-open range [start, end) of UTF-16 offsets into the query text. */
export interface Span {
  start: number;
  end: number;
}

export type LiteralValue = string | number | boolean | null;

export interface Literal {
  kind: 'literal';
  value: LiteralValue;
  /** True for numbers written with a decimal point or exponent: `/` on two integers truncates. */
  isFloat?: boolean;
  span: Span;
}

export interface Field {
  kind: 'field';
  /** Full dotted name as the user wrote it (backticks removed, `` `` `` unescaped). */
  name: string;
  /** `?field`: a field absent from the schema is null instead of an error. */
  optional: boolean;
  span: Span;
}

export interface Not {
  kind: 'not';
  operand: Expr;
  span: Span;
}

export interface Logical {
  kind: 'and' | 'or';
  left: Expr;
  right: Expr;
  span: Span;
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface Compare {
  kind: 'compare';
  op: CompareOp;
  left: Expr;
  right: Expr;
  span: Span;
}

export type ArithOp = '+' | '-' | '*' | '/' | '%';

export interface Arith {
  kind: 'arith';
  op: ArithOp;
  left: Expr;
  right: Expr;
  span: Span;
}

/** Unary minus. Unary plus is dropped by the parser. */
export interface Negate {
  kind: 'negate';
  operand: Expr;
  span: Span;
}

/** `x in (...)`, `x in~ (...)`, `x not in (...)`, `x not in~ (...)`. */
export interface In {
  kind: 'in';
  operand: Expr;
  values: Expr[];
  negated: boolean;
  caseInsensitive: boolean;
  span: Span;
}

/**
 * Pattern predicates. `:` is parsed as `like~` (ES defines them as the same operator).
 * `patterns` is one or more expressions (a single pattern or a parenthesised list).
 */
export interface Match {
  kind: 'match';
  op: 'like' | 'regex';
  caseInsensitive: boolean;
  /** True when written with `:` (only affects error messages and printing). */
  colon: boolean;
  operand: Expr;
  patterns: Expr[];
  span: Span;
}

export type FunctionName =
  | 'add'
  | 'between'
  | 'cidrMatch'
  | 'concat'
  | 'divide'
  | 'endsWith'
  | 'indexOf'
  | 'length'
  | 'modulo'
  | 'multiply'
  | 'number'
  | 'startsWith'
  | 'string'
  | 'stringContains'
  | 'substring'
  | 'subtract';

export interface Call {
  kind: 'call';
  /** Canonical camelCase name (ES function names are matched case-insensitively). */
  name: FunctionName;
  /** `fn~(...)` */
  caseInsensitive: boolean;
  args: Expr[];
  span: Span;
}

export type Expr = Literal | Field | Not | Logical | Compare | Arith | Negate | In | Match | Call;

export interface EventQuery {
  kind: 'event';
  /** Category value to match exactly; null for `any`. */
  category: string | null;
  condition: Expr;
  span: Span;
}

export interface SequenceTerm {
  query: EventQuery;
  /** Per-term `by` keys (the query-level keys are kept separately on the parent). */
  by: Expr[];
  /** `with runs=N`; 1 when absent. */
  runs: number;
  /** `![...]` missing-event term. */
  missing: boolean;
  span: Span;
}

export type TimeUnit = 'ms' | 's' | 'm' | 'h' | 'd';

export interface MaxSpan {
  value: number;
  unit: TimeUnit;
  /** Value converted to milliseconds. */
  millis: number;
  span: Span;
}

export interface SequenceQuery {
  kind: 'sequence';
  by: Expr[];
  maxspan: MaxSpan | null;
  terms: SequenceTerm[];
  until: SequenceTerm | null;
  span: Span;
}

export interface SampleQuery {
  kind: 'sample';
  by: Expr[];
  terms: SequenceTerm[];
  span: Span;
}

export interface Pipe {
  kind: 'head' | 'tail';
  count: number;
  span: Span;
}

export type Query = EventQuery | SequenceQuery | SampleQuery;

export interface Statement {
  query: Query;
  pipes: Pipe[];
  /** The query text the statement was parsed from. */
  source: string;
}
