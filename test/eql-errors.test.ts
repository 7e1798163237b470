import { describe, expect, it } from 'vitest';
import { EqlError, parse, parseExpression } from '../src/eql/index.js';

/** Parses and returns the thrown EqlError (fails the test when nothing is thrown). */
function errorOf(text: string): EqlError {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof EqlError) return e;
    throw e;
  }
  throw new Error(`no error for: ${text}`);
}

// [query, kind, rendering of format('rule.eql')]: message, line:column, source line, caret and hint.
const CASES: [string, string, string][] = [
  ["process whre x == 1", "syntax", "rule.eql:1:9: error: expected \"where\" but found \"whre\"\n  process whre x == 1\n          ^^^^\nhint: did you mean `where`?"],
  ["process where a = 1", "unsupported", "rule.eql:1:17: error: `=` is not supported by Elasticsearch EQL\n  process where a = 1\n                  ^\nhint: use == for equality"],
  ["process where a == 'x'", "unsupported", "rule.eql:1:20: error: single-quoted strings are not supported by Elasticsearch EQL\n  process where a == 'x'\n                     ^^^\nhint: use double quotes: \"...\""],
  ["process where a == ?\"x\"", "unsupported", "rule.eql:1:20: error: raw strings written ?\"...\" are not supported by Elasticsearch EQL\n  process where a == ?\"x\"\n                     ^^^^\nhint: use a triple-quoted raw string: \"\"\"...\"\"\""],
  ["process where a < b < 1", "syntax", "rule.eql:1:21: error: chained comparison: unexpected \"<\" after a comparison\n  process where a < b < 1\n                      ^\nhint: combine two comparisons with and: a < b and b < c"],
  ["process where a == b", "unsupported", "rule.eql:1:15: error: comparing a field with another field is not supported by Elasticsearch EQL\n  process where a == b\n                ^^^^^^\nhint: compare a field (or a function of fields) with a literal value"],
  ["process where length(a) > length(b)", "unsupported", "rule.eql:1:15: error: comparing a field with another field is not supported by Elasticsearch EQL\n  process where length(a) > length(b)\n                ^^^^^^^^^^^^^^^^^^^^^\nhint: compare a field (or a function of fields) with a literal value"],
  ["process where a in (b)", "unsupported", "rule.eql:1:21: error: comparing a field with another field is not supported by Elasticsearch EQL\n  process where a in (b)\n                      ^\nhint: the values of in (...) must be literals (or functions of literals)"],
  ["process where a : b", "unsupported", "rule.eql:1:19: error: a pattern must be a literal string, not a field\n  process where a : b\n                    ^\nhint: comparing a field with another field is not supported by Elasticsearch EQL"],
  ["process where foo(a)", "semantic", "rule.eql:1:15: error: unknown function `foo`\n  process where foo(a)\n                ^^^\nhint: available functions: add, between, cidrMatch, concat, divide, endsWith, indexOf, length, modulo, multiply, number, startsWith, string, stringContains, substring, subtract"],
  ["process where strtswith(a, \"x\")", "semantic", "rule.eql:1:15: error: unknown function `strtswith`\n  process where strtswith(a, \"x\")\n                ^^^^^^^^^\nhint: did you mean `startsWith`?"],
  ["process where wildcard(a, \"x*\")", "unsupported", "rule.eql:1:15: error: function `wildcard` is not supported by Elasticsearch EQL\n  process where wildcard(a, \"x*\")\n                ^^^^^^^^\nhint: use `field : (\"pattern*\", ...)` or `field like~ (\"pattern*\", ...)`"],
  ["process where arrayContains(a, \"x\")", "unsupported", "rule.eql:1:15: error: function `arrayContains` is not supported by Elasticsearch EQL\n  process where arrayContains(a, \"x\")\n                ^^^^^^^^^^^^^\nhint: use `field in (...)` or `field : (...)`: a multi-valued field matches when any value matches"],
  ["process where length~(a)", "semantic", "rule.eql:1:15: error: function `length` has no case-insensitive (~) variant\n  process where length~(a)\n                ^^^^^^^\nhint: only between, endsWith, indexOf, startsWith, stringContains accept ~"],
  ["process where length(a, b) > 1", "semantic", "rule.eql:1:15: error: function `length` expects 1 argument but found 2\n  process where length(a, b) > 1\n                ^^^^^^^^^^^^\nhint: usage: length(source)"],
  ["process where between(a, \"x\") == \"\"", "semantic", "rule.eql:1:15: error: function `between` expects 3 to 4 arguments but found 2\n  process where between(a, \"x\") == \"\"\n                ^^^^^^^^^^^^^^^\nhint: usage: between(source, left, right[, greedy])"],
  ["process where file.Ext.sample == 1", "syntax", "rule.eql:1:24: error: `sample` is a keyword and cannot be part of a field name\n  process where file.Ext.sample == 1\n                         ^^^^^^\nhint: write it in backticks: `sample`"],
  ["sequence [a where true]", "semantic", "rule.eql:1:1: error: a sequence needs at least 2 terms, found 1\n  sequence [a where true]\n  ^^^^^^^^^^^^^^^^^^^^^^^\nhint: add another [...] term, or use a plain event query"],
  ["sequence [a where true] by x [b where true]", "semantic", "rule.eql:1:30: error: inconsistent number of join keys: expected 1 but found 0\n  sequence [a where true] by x [b where true]\n                               ^^^^^^^^^^^^^^\nhint: every term (and until) needs the same number of `by` keys"],
  ["sequence [a where true] ![b where true]", "semantic", "rule.eql:1:25: error: a sequence with missing-event terms (![...]) requires `with maxspan`\n  sequence [a where true] ![b where true]\n                          ^^^^^^^^^^^^^^^\nhint: write: sequence [by <keys>] with maxspan=<n><unit> ..."],
  ["sequence with maxspan=1s ![a where true] ![b where true]", "semantic", "rule.eql:1:1: error: a sequence needs at least one positive term ([...]), found only missing-event terms\n  sequence with maxspan=1s ![a where true] ![b where true]\n  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"],
  ["sequence [a where true] [b where true] until ![c where true]", "semantic", "rule.eql:1:46: error: the until term cannot be a missing-event term (![...])\n  sequence [a where true] [b where true] until ![c where true]\n                                               ^^^^^^^^^^^^^^^"],
  ["sequence by length(x) [a where true] [b where true]", "semantic", "rule.eql:1:13: error: join keys must be field names, found length(x)\n  sequence by length(x) [a where true] [b where true]\n              ^^^^^^^^^\nhint: use a field after `by`"],
  ["sample by x [a where true] [b where true] until [c where true]", "semantic", "rule.eql:1:43: error: `until` is not supported in samples\n  sample by x [a where true] [b where true] until [c where true]\n                                            ^^^^^\nhint: only sequences support until"],
  ["sample with maxspan=1s [a where true] [b where true]", "semantic", "rule.eql:1:8: error: `with maxspan` is not supported in samples\n  sample with maxspan=1s [a where true] [b where true]\n         ^^^^^^^^^^^^\nhint: samples ignore event order and time; use `sequence` for a time window"],
  ["sample [a where true] with runs=2 [b where true]", "semantic", "rule.eql:1:23: error: `with runs` is not supported in samples\n  sample [a where true] with runs=2 [b where true]\n                        ^^^^^^^^^\nhint: repeat the term instead"],
  ["sample [a where true] ![b where true]", "semantic", "rule.eql:1:23: error: missing-event terms (![...]) are not supported in samples\n  sample [a where true] ![b where true]\n                        ^^\nhint: use [...] terms in a sample"],
  ["sample [a where true]", "semantic", "rule.eql:1:1: error: a sample needs at least 2 terms, found 1\n  sample [a where true]\n  ^^^^^^^^^^^^^^^^^^^^^\nhint: add another [...] term, or use a plain event query"],
  ["a where true | head -1", "semantic", "rule.eql:1:14: error: pipe `head` expects a non-negative integer, found -1\n  a where true | head -1\n               ^^^^^^^^^"],
  ["a where true | count", "unsupported", "rule.eql:1:16: error: pipe `count` is not supported by Elasticsearch EQL\n  a where true | count\n                 ^^^^^\nhint: only `| head N` and `| tail N` are supported"],
  ["a where true | hed 2", "semantic", "rule.eql:1:16: error: unknown pipe `hed`\n  a where true | hed 2\n                 ^^^\nhint: did you mean `head`?"],
  ["join [a where true] [b where true]", "unsupported", "rule.eql:1:1: error: `join` is not supported by Elasticsearch EQL\n  join [a where true] [b where true]\n  ^^^^\nhint: use `sequence` (ordered) or `sample` (unordered) instead"],
  ["process where child of [a where true]", "unsupported", "rule.eql:1:15: error: lineage queries (`child of`) are not supported by Elasticsearch EQL\n  process where child of [a where true]\n                ^^^^^^^^\nhint: use a sequence joined by process entity id instead"],
  ["process where descendant of [a where true]", "unsupported", "rule.eql:1:15: error: lineage queries (`descendant of`) are not supported by Elasticsearch EQL\n  process where descendant of [a where true]\n                ^^^^^^^^^^^^^\nhint: use a sequence joined by process entity id instead"],
  ["sequence [a where true] fork [b where true]", "unsupported", "rule.eql:1:25: error: `fork` is not supported by Elasticsearch EQL\n  sequence [a where true] fork [b where true]\n                          ^^^^"],
  ["sequence with maxspan=5 [a where true] [b where true]", "semantic", "rule.eql:1:23: error: maxspan needs a time unit\n  sequence with maxspan=5 [a where true] [b where true]\n                        ^\nhint: did you mean 5s? units are ms, s, m, h, d"],
  ["sequence with maxspan=5y [a where true] [b where true]", "semantic", "rule.eql:1:24: error: unknown time unit \"y\" in maxspan\n  sequence with maxspan=5y [a where true] [b where true]\n                         ^\nhint: use one of ms, s, m, h, d"],
  ["sequence with maxspan=1.5s [a where true] [b where true]", "semantic", "rule.eql:1:23: error: decimal maxspan 1.5 is not supported\n  sequence with maxspan=1.5s [a where true] [b where true]\n                        ^^^\nhint: use a positive integer with a unit, e.g. 1500ms"],
  ["sequence with maxspan=0s [a where true] [b where true]", "semantic", "rule.eql:1:15: error: maxspan must be positive, found 0s\n  sequence with maxspan=0s [a where true] [b where true]\n                ^^^^^^^^^^"],
  ["sequence [a where true] with runs=101 [b where true]", "semantic", "rule.eql:1:10: error: runs must be between 1 and 100, found 101\n  sequence [a where true] with runs=101 [b where true]\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^"],
  ["sequence [a where true] with runs=0 [b where true]", "semantic", "rule.eql:1:10: error: runs must be between 1 and 100, found 0\n  sequence [a where true] with runs=0 [b where true]\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^"],
  ["process where a == 1 AND b == 2", "syntax", "rule.eql:1:22: error: expected an operator, \"|\" or end of query but found \"AND\"\n  process where a == 1 AND b == 2\n                       ^^^\nhint: keywords are lower case in Elasticsearch EQL: write `and`"],
  ["sequence with maxspan=1s by x [a where true] [b where true]", "syntax", "rule.eql:1:26: error: sequence `by` must come before `with maxspan`, not after\n  sequence with maxspan=1s by x [a where true] [b where true]\n                           ^^\nhint: write: sequence by <keys> with maxspan=<n><unit>"],
  ["process where x[0] == 1", "unsupported", "rule.eql:1:16: error: array indexing is not supported by Elasticsearch EQL\n  process where x[0] == 1\n                 ^^^\nhint: a predicate on a multi-valued field matches when any value matches"],
  ["process where \"abc", "syntax", "rule.eql:1:15: error: unterminated string\n  process where \"abc\n                ^^^^\nhint: close the string with a double quote (\")"],
  ["process where (a == 1", "syntax", "rule.eql:1:22: error: expected an operator or \")\" but found end of query\n  process where (a == 1\n                       ^"],
  ["process where a not like \"x\"", "syntax", "rule.eql:1:17: error: `not` cannot precede \"like\"\n  process where a not like \"x\"\n                  ^^^^^^^^\nhint: negate the whole predicate: not x like ..."],
  ["a where true |", "syntax", "rule.eql:1:15: error: expected a pipe name (head or tail) but found end of query\n  a where true |\n                ^"],
  ["process where x ==", "syntax", "rule.eql:1:19: error: expected an expression but found end of query\n  process where x ==\n                    ^"],
  ["process where a !: \"x\"", "syntax", "rule.eql:1:17: error: unexpected character \"!\"\n  process where a !: \"x\"\n                  ^\nhint: use `not` for negation, `!=` for inequality, or `![ ... ]` for a missing-event term"],
  ["process where $x == 1", "syntax", "rule.eql:1:15: error: unexpected character \"$\"\n  process where $x == 1\n                ^\nhint: variables and macros ($name) are not supported by Elasticsearch EQL"],
  ["process where a == 1\n  and b ==\n  /* oops */ ]", "syntax", "rule.eql:3:14: error: expected an expression but found \"]\"\n    /* oops */ ]\n               ^"],
];

describe('rejected queries', () => {
  it.each(CASES)('%s', (query, kind, formatted) => {
    const e = errorOf(query);
    expect(e.kind).toBe(kind);
    expect(e.format('rule.eql')).toBe(formatted);
  });
});

describe('string escapes', () => {
  it('rejects an unknown escape with its position', () => {
    const e = errorOf(String.raw`process where x == "a\d"`);
    expect([e.kind, e.message, e.line, e.column, e.span]).toEqual(['syntax', String.raw`invalid escape sequence \d in string`, 1, 22, { start: 21, end: 23 }]);
    expect(e.hint).toBe(String.raw`supported escapes are \n \r \t \b \f \\ \" \' and \u{XX}; write \\ for a backslash or use a raw string """..."""`);
  });

  it('rejects \\u{} escapes outside 2 to 8 hex digits', () => {
    expect(errorOf(String.raw`process where x == "\u{1}"`).message).toBe(String.raw`invalid unicode escape: \u{...} needs 2 to 8 hex digits, found 1`);
    expect(errorOf(String.raw`process where x == "\u{123456789}"`).message).toBe(String.raw`invalid unicode escape: \u{...} needs 2 to 8 hex digits, found 9`);
    expect(errorOf(String.raw`process where x == "\u{110000}"`).message).toBe('invalid unicode escape: U+110000 is not a valid code point');
  });

  it('rejects a newline inside a double-quoted string', () => {
    expect(errorOf('process where x == "a\nb"').message).toBe('unterminated string: a newline is not allowed inside "..."');
  });

  it('rejects an unterminated raw string and comment', () => {
    expect(errorOf('process where x == """abc').message).toBe('unterminated raw string');
    expect(errorOf('process where true /* a /* b */').message).toBe('unterminated comment');
  });
});

describe('error positions', () => {
  it('reports 1-based line and column on later lines', () => {
    const e = errorOf('sequence\n  [process where true]\n  [file whre true]');
    expect([e.line, e.column, e.message]).toEqual([3, 9, 'expected "where" but found "whre"']);
  });

  it('reports errors from parseExpression with positions in the expression', () => {
    let err: unknown;
    try {
      parseExpression('a == 1 or');
    } catch (e) {
      err = e;
    }
    expect(err instanceof EqlError && [err.message, err.column]).toEqual(['expected an expression but found end of query', 10]);
  });
});

describe('accepted forms that look suspicious', () => {
  it('accepts an upper-case category: it is a value, not a keyword', () => {
    expect(parse('PROCESS where true').query).toMatchObject({ kind: 'event', category: 'PROCESS' });
  });

  it('accepts comparing optional fields: ES folds fields missing from the mapping to null first', () => {
    expect(parse('sample by ?x [any where ?a == ?b] [any where true]').query.kind).toBe('sample');
  });

  it('accepts a field compared with a function of literals, and fields as function arguments', () => {
    expect(parse('process where a == concat("x", 1) and startsWith(a, b)').pipes).toEqual([]);
  });
});
