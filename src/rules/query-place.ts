// Where a rule's query goes wrong, in its file: for the messages about rules that cannot run.
// Apart from position.ts, which the rule loader imports: this one compiles, so it loads the engine.

import { compile, type CompileOptions } from '../engine/index.js';
import { EqlError } from '../eql/index.js';
import { queryPosition } from './position.js';
import type { Rule } from './types.js';

/**
 * The line and column, in the rule's file, of the first problem in its query, compiled anew with
 * `options` (only for the few rules that cannot run); undefined when that compile succeeds (the
 * failure came from another option, such as --mapping) or the problem has no place, so the caller
 * keeps the rule's own line.
 */
export function queryProblemPosition(rule: Rule, options?: CompileOptions): { line: number; column: number } | undefined {
  if (!rule.query) return undefined;
  try {
    compile(rule.query, options);
  } catch (e) {
    if (!(e instanceof EqlError)) return undefined;
    return queryPosition(rule.origin.query, rule.query, e.span.start);
  }
  return undefined;
}

/**
 * `file:line:column` of the first problem in a rule's query, for the messages that name a rule
 * skipped because its query does not compile (hunt's summary, explain): the rule's own line
 * points at its `[rule]` table, not at the mistake. Compiled without the run's options.
 */
export function queryProblemPlace(rule: Rule): string | undefined {
  const pos = queryProblemPosition(rule);
  return pos === undefined ? undefined : `${rule.origin.file}:${pos.line}:${pos.column}`;
}
