// The parts of a rule's query that `eqlite explain` watches: each stage (term) with its category
// and the conditions ANDed in its `where`, each compiled by the engine itself.
//
// There is no second evaluator. A stage's verdict is the engine's own compiled filter for that
// term (`compile()` of the term as an event query, what the engine builds for it). Conditions are
// the top-level `and` operands of the term's condition, each compiled by the same `compile()` as
// `any where <condition>`: the engine evaluates `a and b` as `a && b` of the operands' predicates
// (two-valued, after the same constant folding), so the stage passes exactly when its category
// and every condition pass. The explanation counts any event where that does not hold as
// `inconsistent`; tests keep it at zero.
import { collectFields, formatExpr } from '../eql/index.js';
import type { EventQuery, Expr, SequenceTerm, Statement } from '../eql/ast.js';
import { compile, type CompileOptions } from '../engine/index.js';
import { compileValue } from '../engine/expr.js';
import type { StageSpec } from '../engine/sequence.js';
import type { EventDoc } from '../events/types.js';

export interface ConditionPlan {
  /** The condition as written in the rule (whitespace collapsed). */
  text: string;
  /** Fields the condition reads, to show an event's values. */
  fields: string[];
  test: (ev: EventDoc) => boolean;
}

export interface StagePlan {
  /** `stage 1`, `stage 2 (run 2 of 3)`, `missing stage 2`, `until`, `sample term 1`, `query`. */
  label: string;
  role: 'positive' | 'missing' | 'until' | 'sample' | 'event';
  /** The term as written: `[process where …]`. */
  text: string;
  category: string | null;
  /** The engine's filter of the term: category and condition. */
  filter: (ev: EventDoc) => boolean;
  categoryTest: (ev: EventDoc) => boolean;
  conditions: ConditionPlan[];
  /** Join keys of the stage (query-level `by`, then the term's own), as the sequence state encodes them. */
  spec: StageSpec;
  keyNames: string[];
}

export interface QueryPlan {
  statement: Statement;
  kind: 'event' | 'sequence' | 'sample';
  stages: StagePlan[];
  /** Index into `stages` of each positive sequence stage (what SequenceTrace's `k` counts). */
  positives: number[];
  maxspanMs: number | null;
}

const TRUE: Expr = { kind: 'literal', value: true, span: { start: 0, end: 0 } };

/** The top-level `and` operands of a condition, in order. */
export function conjuncts(e: Expr): Expr[] {
  return e.kind === 'and' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

function sourceText(stmt: Statement, e: { span: { start: number; end: number } }, fallback: () => string): string {
  const t = stmt.source.slice(e.span.start, e.span.end);
  return (t.trim() === '' ? fallback() : t).replace(/\s+/g, ' ').trim();
}

export function planQuery(stmt: Statement, options: CompileOptions): QueryPlan {
  const opts: CompileOptions = { ...options, size: undefined, trace: undefined };
  const asEventQuery = (q: EventQuery) => compile({ query: q, pipes: [], source: stmt.source }, opts);
  const ctx = { fieldType: opts.fieldType, fieldExists: opts.fieldExists, timestampField: opts.timestampField ?? '@timestamp', source: stmt.source };
  const q = stmt.query;
  const queryBy = q.kind === 'event' ? [] : q.by;

  const stage = (label: string, role: StagePlan['role'], query: EventQuery, term: SequenceTerm | null): StagePlan => {
    const conds = conjuncts(query.condition).map((c) => {
      const sub: Statement = { query: { kind: 'event', category: null, condition: c, span: c.span }, pipes: [], source: stmt.source };
      const compiled = compile(sub, opts);
      const text = sourceText(stmt, c, () => formatExpr(c));
      return {
        // An `or` operand of an `and` was parenthesised in the query: keep it readable alone.
        text: c.kind === 'or' && !text.startsWith('(') ? `(${text})` : text,
        fields: [...new Set(collectFields(sub).map((f) => f.name))],
        test: (ev: EventDoc) => compiled.relevant(ev),
      };
    });
    const keys = [...queryBy, ...(term?.by ?? [])];
    return {
      label,
      role,
      text: term ? sourceText(stmt, term, () => `[${query.category ?? 'any'} where ${formatExpr(query.condition)}]`) : sourceText(stmt, query, () => formatExpr(query.condition)),
      category: query.category,
      filter: asEventQuery(query).relevant,
      categoryTest: asEventQuery({ kind: 'event', category: query.category, condition: TRUE, span: query.span }).relevant,
      conditions: conds,
      spec: {
        filter: () => true,
        keys: keys.map((k) => compileValue(k, ctx)),
        keyOptional: keys.map((k) => k.kind === 'field' && k.optional),
        keyNames: keys.map((k) => formatExpr(k)),
        missing: term?.missing ?? false,
      },
      keyNames: keys.map((k) => formatExpr(k)),
    };
  };

  const stages: StagePlan[] = [];
  const positives: number[] = [];
  if (q.kind === 'event') {
    stages.push(stage('query', 'event', q, null));
    return { statement: stmt, kind: 'event', stages, positives, maxspanMs: null };
  }
  if (q.kind === 'sample') {
    q.terms.forEach((t, i) => stages.push(stage(`sample term ${i + 1}`, 'sample', t.query, t)));
    return { statement: stmt, kind: 'sample', stages, positives, maxspanMs: null };
  }
  q.terms.forEach((t, i) => {
    for (let r = 0; r < t.runs; r++) {
      const runs = t.runs > 1 ? ` (run ${r + 1} of ${t.runs})` : '';
      if (!t.missing) positives.push(stages.length);
      stages.push(stage(`${t.missing ? 'missing ' : ''}stage ${i + 1}${runs}`, t.missing ? 'missing' : 'positive', t.query, t));
    }
  });
  if (q.until) stages.push(stage('until', 'until', q.until.query, q.until));
  return { statement: stmt, kind: 'sequence', stages, positives, maxspanMs: q.maxspan ? q.maxspan.millis : null };
}
