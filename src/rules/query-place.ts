// Where a rule's query goes wrong, in its file: for the messages about rules that cannot run.
// Apart from position.ts, which the rule loader imports: this one compiles, so it loads the engine.

import { compile } from '../engine/index.js';
import { EqlError } from '../eql/index.js';
import { queryPosition } from './position.js';
import type { Rule } from './types.js';

/**
 * `file:line:column` of the first problem in a rule's query, for the messages that name a rule
 * skipped because its query does not compile (hunt's summary, explain): the rule's own line
 * points at its `[rule]` table, not at the mistake. Compiled anew here, without the run's options,
 * only for those few rules; undefined when that compile succeeds (the failure came from an option
 * such as --mapping) or the problem has no place, so the caller keeps the rule's line.
 */
export function queryProblemPlace(rule: Rule): string | undefined {
  if (!rule.query) return undefined;
  try {
    compile(rule.query);
  } catch (e) {
    if (!(e instanceof EqlError)) return undefined;
    const pos = queryPosition(rule.origin.query, rule.query, e.span.start);
    return `${rule.origin.file}:${pos.line}:${pos.column}`;
  }
  return undefined;
}
