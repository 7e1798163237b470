// Null handling (docs/eql-language.md §4): predicates are two-valued per document, negations are
// `must_not` (they match documents lacking the field), comparisons with the literal null are null
// tests, constants and unmapped `?` fields are folded with three-valued logic first.
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/engine/index.js';
import type { EventDoc } from '../src/events/types.js';

type Src = Record<string, unknown>;

function docs(sources: Src[]): EventDoc[] {
  return sources.map((source, i) => ({ source, index: 'test', id: String(i + 1) }));
}

function match(condition: string, sources: Src[], options: CompileOptions = {}): number[] {
  return compile(`any where ${condition}`, options)
    .run(docs(sources))
    .map((r) => {
      if (r.kind !== 'event') throw new Error('expected event results');
      return Number(r.event.id);
    });
}

// 1: has f = "a", n = 2; 2: has f = "b", n = 0; 3: has neither; 4: explicit nulls.
const rows: Src[] = [{ f: 'a', n: 2 }, { f: 'b', n: 0 }, {}, { f: null, n: null }];

describe('positive predicates on a missing field are false', () => {
  it.each([
    ['f == "a"', [1]],
    ['f : "*"', [1, 2]],
    ['f like "*"', [1, 2]],
    ['f regex ".*"', [1, 2]],
    ['f in ("a", "b")', [1, 2]],
    ['f in~ ("A", "B")', [1, 2]],
    ['n >= 0', [1, 2]],
    ['n < 100', [1, 2]],
    ['length(f) > 0', [1, 2]],
    ['length(f) >= 0', [1, 2]],
    ['startsWith(f, "")', [1, 2]],
  ] as const)('%s', (cond, expected) => {
    expect(match(cond, rows)).toEqual(expected);
  });
});

it('field compared with field is rejected, as in ES', () => {
  expect(() => compile('any where n + 0 == n + 0')).toThrow(/another field/);
});

describe('negations match events that lack the field', () => {
  it.each([
    ['f != "a"', [2, 3, 4]],
    ['not f == "a"', [2, 3, 4]],
    ['not f : "a*"', [2, 3, 4]],
    ['not f : ("a", "b")', [3, 4]],
    ['f not in ("a")', [2, 3, 4]],
    ['f not in~ ("A", "B")', [3, 4]],
    ['not f in ("a", "b")', [3, 4]],
    ['not f like "*"', [3, 4]],
    ['not f regex "a"', [2, 3, 4]],
    ['not (n > 1)', [2, 3, 4]],
    ['not n > 1', [2, 3, 4]],
    ['not (f == "a" or f == "b")', [3, 4]],
    ['not (f == "b" and n > -1)', [1, 3, 4]],
    ['not (f == "x" or g == "y")', [1, 2, 3, 4]],
    ['not startsWith(f, "a")', [2, 3, 4]],
    ['not startsWith~(f, "A")', [2, 3, 4]],
    ['not endsWith(f, "b")', [1, 3, 4]],
    ['not stringContains(f, "a")', [2, 3, 4]],
    ['not length(f) > 3', [1, 2, 3, 4]],
    ['length(f) != 1', [3, 4]],
    ['length(f) != 6', [1, 2, 3, 4]],
    ['not number(n, 16) == 2', [2, 3, 4]],
    ['substring(f, 0) not in ("a")', [2, 3, 4]],
    ['n != 2', [2, 3, 4]],
  ] as const)('%s', (cond, expected) => {
    expect(match(cond, rows)).toEqual(expected);
  });
});

describe('comparing with the literal null is a null test', () => {
  it('== null and != null', () => {
    expect(match('f == null', rows)).toEqual([3, 4]);
    expect(match('null == f', rows)).toEqual([3, 4]);
    expect(match('f != null', rows)).toEqual([1, 2]);
    expect(match('not f == null', rows)).toEqual([1, 2]);
    expect(match('not f != null', rows)).toEqual([3, 4]);
    expect(match('n == null', rows)).toEqual([3, 4]);
  });
  it('null == (exit_code > -1) is true when exit_code is missing', () => {
    const r = [{ exit_code: 0 }, { exit_code: -5 }, {}, { exit_code: 7 }];
    expect(match('null == (exit_code > -1)', r)).toEqual([3]);
    expect(match('(exit_code > -1) == null', r)).toEqual([3]);
    expect(match('(exit_code > -1) != null', r)).toEqual([1, 2, 4]);
  });
  it('a function returning null', () => {
    const r = [{ s: 'abc' }, { s: 'xyz' }, {}];
    expect(match('indexOf(s, "b") == null', r)).toEqual([2, 3]);
    expect(match('concat(s, "!") == null', r)).toEqual([3]);
    expect(match('concat(s, "!") == "abc!"', r)).toEqual([1]);
    expect(match('number(s) == null', r)).toEqual([1, 2, 3]);
    expect(match('between(s, "a", "c") == null', r)).toEqual([3]);
    expect(match('substring(s, 1) == null', r)).toEqual([3]);
    expect(match('string(s) == null', r)).toEqual([3]);
    expect(match('length(s) == null', r)).toEqual([3]);
  });
  it('arithmetic with a missing operand is null', () => {
    expect(match('n + 1 == null', rows)).toEqual([3, 4]);
    expect(match('n * 2 == 4', rows)).toEqual([1]);
  });
});

describe('constant folding and optional fields', () => {
  const exists = (names: string[]): CompileOptions => ({ fieldExists: (n) => names.includes(n) });
  const mapped = exists(['f', 'n']);

  it('?absent == ?other is true (both fold to null)', () => {
    expect(match('?absent == ?other', rows, mapped)).toEqual([1, 2, 3, 4]);
    expect(match('?absent != ?other', rows, mapped)).toEqual([]);
  });
  it('?absent == "x" is false, and its negations match every event', () => {
    expect(match('?absent == "x"', rows, mapped)).toEqual([]);
    expect(match('?absent != "x"', rows, mapped)).toEqual([1, 2, 3, 4]);
    expect(match('not (?absent == "x")', rows, mapped)).toEqual([1, 2, 3, 4]);
    expect(match('?absent == null', rows, mapped)).toEqual([1, 2, 3, 4]);
    expect(match('?absent != null', rows, mapped)).toEqual([]);
  });
  it('other predicates on ?absent are null, and so is their negation: nothing matches', () => {
    for (const c of [
      '?absent in ("x")',
      'not ?absent in ("x")',
      '?absent not in ("x")',
      '?absent : "x"',
      'not ?absent : "x"',
      '?absent > 1',
      'not ?absent > 1',
      'startsWith(?absent, "x")',
      'not startsWith(?absent, "x")',
    ]) {
      expect(match(c, rows, mapped), c).toEqual([]);
    }
  });
  it('C and null matches nothing; C or null is C', () => {
    expect(match('f == "a" and ?absent : "x"', rows, mapped)).toEqual([]);
    expect(match('f == "a" or ?absent : "x"', rows, mapped)).toEqual([1]);
    expect(match('?absent : "x" or f == "b"', rows, mapped)).toEqual([2]);
    expect(match('not (f == "a" or ?absent : "x")', rows, mapped)).toEqual([2, 3, 4]);
  });
  it('a mapped ?field behaves like the plain field', () => {
    expect(match('?f == "a"', rows, mapped)).toEqual([1]);
    expect(match('?f != "a"', rows, mapped)).toEqual([2, 3, 4]);
    expect(match('not ?f in ("a")', rows, mapped)).toEqual([2, 3, 4]);
  });
  it('without fieldExists every ?field is mapped: a missing one is null per document', () => {
    expect(match('not ?absent in ("x")', rows)).toEqual([1, 2, 3, 4]);
    expect(match('?absent == ?other', rows)).toEqual([]);
  });
  it('literal-only conditions fold', () => {
    expect(match('true', rows)).toEqual([1, 2, 3, 4]);
    expect(match('1 == 2', rows)).toEqual([]);
    expect(match('null == null', rows)).toEqual([1, 2, 3, 4]);
    expect(match('not null', rows)).toEqual([]);
    expect(match('f == "a" or null', rows)).toEqual([1]);
  });
});

// A null among `in`'s values (Elasticsearch's In, x-pack/plugin/ql): on a field, its terms query
// leaves nulls out (ExpressionTranslators.InComparisons); elsewhere InProcessor.apply compares with
// Comparisons.eq, null for a null side; a list of nulls alone folds to null (In.foldable/fold).
describe('null among the values of `in`', () => {
  const mapped: CompileOptions = { fieldExists: (n) => n === 'f' || n === 'n' };
  it.each([
    // A missing field never matches `in`, a null among the values or not; `not in` matches it.
    ['f in ("a", null)', [1]],
    ['f not in ("a", null)', [2, 3, 4]],
    ['not f in ("a", null)', [2, 3, 4]],
    ['n in (2, null)', [1]],
    ['n not in (2, null)', [2, 3, 4]],
    // Scripts: the same matches.
    ['length(f) in (1, null)', [1, 2]],
    ['length(f) not in (1, null)', [3, 4]],
    ['length(f) not in (5, null)', [1, 2, 3, 4]],
    // Only nulls: the whole `in` is null, negated or not.
    ['f in (null)', []],
    ['f not in (null)', []],
    ['not f in (null, null)', []],
    ['f == "a" or f not in (null)', [1]],
    // Inside an expression, equal to no value with a null among them is null, not false.
    ['(f in ("a", null)) == null', [2, 3, 4]],
    // `P == false` is `not P` (BooleanFunctionEqualsElimination, see below): must_not.
    ['(f in ("a", null)) == false', [2, 3, 4]],
    ['(f in ("a", "c")) == false', [2, 3, 4]],
  ] as const)('%s', (cond, expected) => {
    expect(match(cond, rows)).toEqual(expected);
  });
  it('folded constants are three-valued: a null among the values makes a miss null', () => {
    expect(match('"a" in ("a", null)', rows)).toEqual([1, 2, 3, 4]);
    expect(match('"a" in ("b", null)', rows)).toEqual([]);
    expect(match('not "a" in ("b", null)', rows)).toEqual([]);
    expect(match('"a" not in ("b", null)', rows)).toEqual([]);
    expect(match('not "a" in ("b")', rows)).toEqual([1, 2, 3, 4]);
    expect(match('?absent in ("x", null)', rows, mapped)).toEqual([]);
    expect(match('?absent not in ("x", null)', rows, mapped)).toEqual([]);
  });
});

// `in~` and `:` with null among their values. Elasticsearch's parser makes each value an
// InsensitiveEquals (x-pack/plugin/eql …/parser/ExpressionBuilder.java); on a field the query
// translator makes it a case-insensitive term query (…/planner/QueryTranslator.java), whose builder
// throws on a null value (server …/index/query/BaseTermQueryBuilder.java), so the search fails; on
// a function or a constant StringComparisons.insensitiveEquals is null for a null side. `like` and
// `regex` with a null pattern fail whatever the operand (the parser and Match.makeSubstitute call
// toString() on it).
describe('null among the values of `in~` and the patterns of `:`, `like`, `regex`', () => {
  const mapped: CompileOptions = { fieldExists: (n) => n === 'f' || n === 'n' };
  it.each([
    'f in~ ("a", null)',
    'f not in~ ("a", null)',
    'not f in~ ("A", null)',
    'f in~ (null)',
    'f : null',
    'f : ("a*", null)',
    'not f : ("a", null)',
    'n == 2 or f in~ (null, "b")',
    '?f in~ ("a", null)',
  ])('on a field the query is refused: %s', (cond) => {
    expect(() => match(cond, rows, mapped)).toThrow(/compares the field with null, which Elasticsearch cannot search/);
  });
  it.each(['f like null', 'f like~ ("a", null)', 'f regex null', 'f regex~ ("a", null)', '"a" like null', 'concat(f) regex null'])('like and regex with a null pattern are refused whatever the operand: %s', (cond) => {
    expect(() => match(cond, rows)).toThrow(/with the pattern null is not supported by Elasticsearch EQL/);
  });
  it.each([
    // On a function (a script in Elasticsearch) the null value never matches; `not` is outside.
    ['concat(f, "") in~ ("A", null)', [1]],
    ['concat(f, "") not in~ ("A", null)', [2, 3, 4]],
    ['not concat(f, "") in~ ("A", null)', [2, 3, 4]],
    ['concat(f, "") in~ (null)', []],
    ['concat(f, "") not in~ (null)', [1, 2, 3, 4]],
    ['concat(f, "") : ("A*", null)', [1]],
    ['concat(f, "") : null', []],
    ['not concat(f, "") : ("A", null)', [2, 3, 4]],
    // Inside an expression a miss with a null value is null, not false.
    ['(concat(f, "") in~ ("A", null)) == null', [2, 3, 4]],
    ['(concat(f, "") in~ ("A", "c")) == null', [3, 4]],
    ['(concat(f, "") : ("A", null)) == null', [2, 3, 4]],
    // Constants fold three-valued: a hit is true, a miss with a null value is null.
    ['"a" in~ ("A", null)', [1, 2, 3, 4]],
    ['"a" in~ ("b", null)', []],
    ['"a" not in~ ("b", null)', []],
    ['"a" : ("b", null)', []],
    ['"a" : ("A*", null)', [1, 2, 3, 4]],
    // An unmapped optional field is the constant null: nothing matches, negated or not.
    ['?absent in~ ("x", null)', []],
    ['?absent not in~ ("x", null)', []],
    ['?absent : null', []],
    // Pruned before translation: no term query is built, so no error.
    ['f in~ (null) and false', []],
    ['f : null and false', []],
  ] as const)('%s', (cond, expected) => {
    expect(match(cond, rows, mapped)).toEqual(expected);
  });
});

// Elasticsearch's optimizer rewrites `P == true` to P and `P == false` to `not P` (`!=` the other
// way round; `false == P` too) when P is a function of any kind — a comparison, `in`, a predicate,
// `and`/`or`/`not`, a function call — not a field (x-pack/plugin/ql …/optimizer/OptimizerRules.java,
// BooleanFunctionEqualsElimination, in x-pack/plugin/eql …/optimizer/Optimizer.java's batch).
describe('a predicate compared with true or false', () => {
  const flags: Src[] = [{ f: 'a', b: true }, { f: 'b', b: false }, {}, { f: null, b: null }];
  it.each([
    ['(f == "a") == false', [2, 3, 4]],
    ['false == (f == "a")', [2, 3, 4]],
    ['(f == "a") != true', [2, 3, 4]],
    ['(f == "a") == true', [1]],
    ['(f == "a") != false', [1]],
    ['true == (f == "a")', [1]],
    ['(f : "A*") == false', [2, 3, 4]],
    ['(f like "a") == false', [2, 3, 4]],
    ['(f regex "a") == false', [2, 3, 4]],
    ['(f in~ ("A")) == false', [2, 3, 4]],
    ['startsWith(f, "a") == false', [2, 3, 4]],
    ['stringContains(f, "a") != true', [2, 3, 4]],
    ['(f == "a" or f == "b") == false', [3, 4]],
    ['(f == "a" and b == true) == false', [2, 3, 4]],
    ['(not f == "a") == false', [1]],
    ['((f == "a") == false) == false', [1]],
    // A field compared with a boolean is a term query: missing values do not match.
    ['b == false', [2]],
    ['b != true', [2, 3, 4]],
    // Comparing with null is a null test (ReplaceNullChecks) and stays one.
    ['(f == "a") == null', [3, 4]],
    ['(f == "a") != null', [1, 2]],
  ] as const)('%s', (cond, expected) => {
    expect(match(cond, flags)).toEqual(expected);
  });
});

describe('multi-valued fields', () => {
  const mv: Src[] = [{ t: ['a', 'b'] }, { t: ['B', 'c'] }, { t: [] }, { t: [null] }, { t: 'a' }, { t: [null, 'a'] }];
  it('any element matches ==, :, in, like, regex', () => {
    expect(match('t == "b"', mv)).toEqual([1]);
    expect(match('t : "b"', mv)).toEqual([1, 2]);
    expect(match('t in ("c", "x")', mv)).toEqual([2]);
    expect(match('t in~ ("b")', mv)).toEqual([1, 2]);
    expect(match('t like "B"', mv)).toEqual([2]);
    expect(match('t regex "[bc]"', mv)).toEqual([1, 2]);
    expect(match('startsWith(t, "c")', mv)).toEqual([2]);
    expect(match('t == "a"', mv)).toEqual([1, 5, 6]);
  });
  it('!= is not(any ==): ["a","b"] != "a" is false', () => {
    expect(match('t != "a"', mv)).toEqual([2, 3, 4]);
    expect(match('t not in ("a")', mv)).toEqual([2, 3, 4]);
    expect(match('not t : "A"', mv)).toEqual([2, 3, 4]);
  });
  it('an empty array and [null] are missing', () => {
    expect(match('t == null', mv)).toEqual([3, 4]);
    expect(match('t != null', mv)).toEqual([1, 2, 5, 6]);
  });
  it('numeric ranges match when any element is in range', () => {
    const r = [{ n: [1, 10] }, { n: [2, 3] }];
    expect(match('n > 5', r)).toEqual([1]);
    expect(match('n < 2', r)).toEqual([1]);
    expect(match('not n > 5', r)).toEqual([2]);
  });
});

describe('document shapes', () => {
  it('nested objects, flat dotted keys and mixtures are the same field', () => {
    const r: Src[] = [
      { process: { name: 'x' } },
      { 'process.name': 'x' },
      { 'process.pid': 1, process: { name: 'x' } },
      { 'process': { 'parent.name': 'p' } },
      { process: { parent: { name: 'p' } } },
    ];
    expect(match('process.name == "x"', r)).toEqual([1, 2, 3]);
    expect(match('process.parent.name == "p"', r)).toEqual([4, 5]);
    expect(match('process.name == null', r)).toEqual([4, 5]);
  });
  it('arrays of objects flatten into a multi-valued field', () => {
    const r: Src[] = [{ a: [{ b: 1 }, { b: 2 }] }, { a: [{ b: 3 }, { c: 4 }] }, { a: [{ c: 1 }] }, { a: { b: [5, 6] } }];
    expect(match('a.b == 2', r)).toEqual([1]);
    expect(match('a.b in (3, 6)', r)).toEqual([2, 4]);
    expect(match('a.b == null', r)).toEqual([3]);
    expect(match('a.b != 1', r)).toEqual([2, 3, 4]);
  });
  it('an object value is not a string', () => {
    expect(match('process == "x"', [{ process: { name: 'x' } }])).toEqual([]);
  });
});
