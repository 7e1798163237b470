import type { Span } from './ast.js';

/** Longest query line shown in full under an error; longer ones are shown around the error. */
const SNIPPET_WIDTH = 120;

/**
 * A line longer than SNIPPET_WIDTH cut to a window around the marked columns [col, col + width),
 * with `…` where text was cut; col and width moved to match. Shorter lines come back unchanged.
 */
export function snippetWindow(text: string, col: number, width: number): { text: string; col: number; width: number } {
  if (text.length <= SNIPPET_WIDTH) return { text, col, width };
  const from = Math.max(0, Math.min(col - SNIPPET_WIDTH / 2, text.length - SNIPPET_WIDTH));
  const to = Math.min(text.length, from + SNIPPET_WIDTH);
  const head = from > 0 ? '…' : '';
  const shown = head + text.slice(from, to) + (to < text.length ? '…' : '');
  const at = col - from + head.length;
  return { text: shown, col: at, width: Math.max(1, Math.min(width, to - from - (at - head.length))) };
}
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export type EqlErrorKind = 'syntax' | 'unsupported' | 'semantic';

/** Most further problems one error renders in full; the rest are counted. */
const MAX_OTHERS_SHOWN = 20;

/**
 * Every problem found in a query text. It carries the span so that callers can render
 * `line:column`, the offending line and a caret, without a stack trace.
 *
 * A check that finds several problems at once (Elasticsearch's verifier reports every problem
 * of a query, "Found 3 problems") throws the first, carrying the others in `others`; its
 * `message` then counts them, so that one-line reports do not hide them.
 */
export class EqlError extends Error {
  readonly kind: EqlErrorKind;
  readonly span: Span;
  readonly hint: string | undefined;
  readonly source: string;
  readonly line: number;
  readonly column: number;
  /** This problem alone, without the count of the others. */
  readonly problem: string;
  /** Further problems the same check found, in the order Elasticsearch lists them. */
  readonly others: readonly EqlError[];

  constructor(kind: EqlErrorKind, message: string, source: string, span: Span, hint?: string, others: readonly EqlError[] = []) {
    super(others.length === 0 ? message : `${message} (and ${others.length} more problem${others.length === 1 ? '' : 's'})`);
    this.name = 'EqlError';
    this.problem = message;
    this.others = others;
    this.kind = kind;
    this.span = span;
    this.hint = hint;
    this.source = source;
    const pos = lineColumn(source, span.start);
    this.line = pos.line;
    this.column = pos.column;
  }

  /**
   * Multi-line rendering:
   * ```
   * <origin>:3:12: error: expected "]" but found "where"
   *   [process whre x == 1]
   *            ^^^^
   * hint: ...
   * ```
   */
  format(origin = 'query'): string {
    const lines = this.source.split('\n');
    let text = lines[this.line - 1] ?? '';
    let col = this.column - 1;
    let width = Math.max(1, Math.min(this.span.end - this.span.start, text.length - col));
    // A long line (a generated query, a hostile one) is shown as a window around the error.
    ({ text, col, width } = snippetWindow(text, col, width));
    const caret = ' '.repeat(col) + '^'.repeat(width);
    // Control characters (tabs, terminal escapes) are shown as spaces: one column each, inert.
    let out = `${origin}:${this.line}:${this.column}: error: ${this.problem}\n  ${text.replace(CONTROL, ' ')}\n  ${caret}`;
    if (this.hint) out += `\nhint: ${this.hint}`;
    for (const other of this.others.slice(0, MAX_OTHERS_SHOWN)) out += '\n' + other.format(origin);
    const unshown = this.others.length - MAX_OTHERS_SHOWN;
    if (unshown > 0) out += `\n${origin}: and ${unshown} more problem${unshown === 1 ? '' : 's'}`;
    return out;
  }

  /** Every problem this error stands for: itself, then the others. */
  all(): EqlError[] {
    return [this, ...this.others];
  }

  /** One error standing for every problem in `problems` (at least one), the first in front. */
  static of(problems: readonly EqlError[]): EqlError {
    const [first, ...others] = problems;
    if (!first) throw new RangeError('EqlError.of needs at least one problem');
    if (others.length === 0 && first.others.length === 0) return first;
    return new EqlError(first.kind, first.problem, first.source, first.span, first.hint, [...first.others, ...others]);
  }
}

/** 1-based line and column of a UTF-16 offset. */
export function lineColumn(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, source.length);
  for (let i = 0; i < end; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}
