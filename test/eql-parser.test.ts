import { describe, expect, it } from 'vitest';
import {
  collectFields,
  formatExpr,
  formatStatement,
  parse,
  parseExpression,
  type Expr,
  type SequenceQuery,
  type SampleQuery,
} from '../src/eql/index.js';
import { tokenize } from '../src/eql/lexer.js';
import { parseExpressionSyntax } from '../src/eql/parser.js';

/** Drops spans so trees can be compared structurally. */
function strip(e: unknown): unknown {
  if (Array.isArray(e)) return e.map(strip);
  if (e && typeof e === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (k !== 'span') out[k] = strip(v);
    return out;
  }
  return e;
}

const f = (name: string, optional = false) => ({ kind: 'field', name, optional });
const lit = (value: string | number | boolean | null, isFloat?: boolean) =>
  isFloat ? { kind: 'literal', value, isFloat: true } : { kind: 'literal', value };
const expr = (text: string) => strip(parseExpression(text));

describe('lexer', () => {
  it('scans every token kind with UTF-16 offsets', () => {
    // The emoji is two UTF-16 code units, so every later offset is shifted by one extra unit.
    const toks = tokenize('"😀" `a``b`.c ?x in~ startsWith~( 1.5e3 "s" ![ != // c\n/* x /* nested */ */ |');
    expect(toks.map((t) => [t.type, t.text, t.start, t.end])).toEqual([
      ['string', '"😀"', 0, 4],
      ['ident', '`a``b`.c', 5, 13],
      ['op', '?', 14, 15],
      ['ident', 'x', 15, 16],
      ['keyword', 'in~', 17, 20],
      ['tildeIdent', 'startsWith~', 21, 32],
      ['op', '(', 32, 33],
      ['number', '1.5e3', 34, 39],
      ['string', '"s"', 40, 43],
      ['op', '![', 44, 46],
      ['op', '!=', 47, 49],
      ['op', '|', 76, 77],
      ['eof', '', 77, 77],
    ]);
  });
});

describe('literals and strings', () => {
  it('parses numbers: int, decimal, leading dot, exponent', () => {
    expect(expr('1')).toEqual(lit(1));
    expect(expr('4.5')).toEqual(lit(4.5, true));
    expect(expr('.5')).toEqual(lit(0.5, true));
    expect(expr('1e3')).toEqual(lit(1000, true));
    expect(expr('2.5E-1')).toEqual(lit(0.25, true));
  });

  it('parses true, false, null', () => {
    expect(expr('true')).toEqual(lit(true));
    expect(expr('false')).toEqual(lit(false));
    expect(expr('null')).toEqual(lit(null));
  });

  it('processes escapes in double-quoted strings', () => {
    expect(expr(String.raw`"a\nb\rc\td\\e\"f"`)).toEqual(lit('a\nb\rc\td\\e"f'));
    expect(expr(String.raw`"\u{41}\u{1F600}\u{000000e9}"`)).toEqual(lit('A\u{1F600}é'));
  });

  it('keeps raw strings verbatim, including backslashes and trailing quotes', () => {
    expect(expr('"""C:\\Windows\\n"""')).toEqual(lit('C:\\Windows\\n'));
    expect(expr('"""say "hi""""')).toEqual(lit('say "hi"'));
  });
});

describe('fields', () => {
  it('parses dotted paths, @timestamp, backticks and optional fields', () => {
    expect(expr('process.parent.name')).toEqual(f('process.parent.name'));
    expect(expr('@timestamp')).toEqual(f('@timestamp'));
    expect(expr('`my-field`')).toEqual(f('my-field'));
    expect(expr('`a``b`.c')).toEqual(f('a`b.c'));
    expect(expr('?dll.name')).toEqual(f('dll.name', true));
    // A keyword is no identifier in ES's qualifiedName: backticks make it a segment.
    expect(expr('file.Ext.`sample`')).toEqual(f('file.Ext.sample'));
    expect(expr('`sequence`.id')).toEqual(f('sequence.id'));
  });

  it('accepts whitespace and comments around the dots, as hidden tokens of the grammar', () => {
    expect(expr('process . name')).toEqual(f('process.name'));
    expect(expr('process.\n  parent /* c */ .name')).toEqual(f('process.parent.name'));
    expect(expr('?dll . name')).toEqual(f('dll.name', true));
  });

  it('rejects an unquoted keyword anywhere in a dotted path (ES: mismatched input)', () => {
    for (const text of ['file.Ext.sample', 'a.in', 'sequence.id', 'x.by.y', 'a . where']) {
      expect(() => parseExpression(text), text).toThrow(/is a keyword and cannot be part of a field name/);
    }
  });

  it('records the field span including the ? marker', () => {
    const e = parseExpression('x == ?a.b');
    expect(e.kind === 'compare' && e.right.span).toEqual({ start: 5, end: 9 });
  });
});

describe('operators and precedence', () => {
  it('binds not > and > or', () => {
    expect(expr('a == 1 or not b == 2 and c == 3')).toEqual({
      kind: 'or',
      left: { kind: 'compare', op: '==', left: f('a'), right: lit(1) },
      right: {
        kind: 'and',
        left: { kind: 'not', operand: { kind: 'compare', op: '==', left: f('b'), right: lit(2) } },
        right: { kind: 'compare', op: '==', left: f('c'), right: lit(3) },
      },
    });
  });

  it('parses every comparison operator', () => {
    for (const op of ['==', '!=', '<', '<=', '>', '>='] as const) {
      expect(expr(`a ${op} 1`)).toEqual({ kind: 'compare', op, left: f('a'), right: lit(1) });
    }
  });

  it('binds unary minus tighter than * and * tighter than +', () => {
    expect(expr('-a * 2 + 3 % b - 1')).toEqual({
      kind: 'arith',
      op: '-',
      left: {
        kind: 'arith',
        op: '+',
        left: { kind: 'arith', op: '*', left: { kind: 'negate', operand: f('a') }, right: lit(2) },
        right: { kind: 'arith', op: '%', left: lit(3), right: f('b') },
      },
      right: lit(1),
    });
  });

  it('drops unary plus and keeps parentheses as grouping only', () => {
    expect(expr('+(a + 1) / 2')).toEqual({
      kind: 'arith',
      op: '/',
      left: { kind: 'arith', op: '+', left: f('a'), right: lit(1) },
      right: lit(2),
    });
  });

  it('spans a parenthesised left operand from its opening parenthesis', () => {
    const e = parseExpression('(a or b) and c');
    expect(e.span).toEqual({ start: 0, end: 14 });
  });
});

describe('predicates', () => {
  it('parses in, in~, not in, not in~', () => {
    expect(expr('a in (1, "x")')).toEqual({ kind: 'in', operand: f('a'), values: [lit(1), lit('x')], negated: false, caseInsensitive: false });
    expect(expr('a in~ ("x")')).toEqual({ kind: 'in', operand: f('a'), values: [lit('x')], negated: false, caseInsensitive: true });
    expect(expr('a not in (1)')).toEqual({ kind: 'in', operand: f('a'), values: [lit(1)], negated: true, caseInsensitive: false });
    expect(expr('a not in~ ("x")')).toEqual({ kind: 'in', operand: f('a'), values: [lit('x')], negated: true, caseInsensitive: true });
  });

  it('parses : as like~ with a single pattern or a list', () => {
    expect(expr('a : "x*"')).toEqual({ kind: 'match', op: 'like', caseInsensitive: true, colon: true, operand: f('a'), patterns: [lit('x*')] });
    expect(expr('a : ("x", "y")')).toEqual({
      kind: 'match',
      op: 'like',
      caseInsensitive: true,
      colon: true,
      operand: f('a'),
      patterns: [lit('x'), lit('y')],
    });
  });

  it('parses like, like~, regex, regex~', () => {
    const m = (op: 'like' | 'regex', ci: boolean) => ({ kind: 'match', op, caseInsensitive: ci, colon: false, operand: f('a'), patterns: [lit('p')] });
    expect(expr('a like "p"')).toEqual(m('like', false));
    expect(expr('a like~ "p"')).toEqual(m('like', true));
    expect(expr('a regex "p"')).toEqual(m('regex', false));
    expect(expr('a regex~ ("p")')).toEqual(m('regex', true));
  });

  it('attaches a predicate to the operand immediately on its left', () => {
    // The tree only: ES's type checks refuse a number plus a boolean (below).
    expect(strip(parseExpressionSyntax('1 + a in (2)'))).toEqual({
      kind: 'arith',
      op: '+',
      left: lit(1),
      right: { kind: 'in', operand: f('a'), values: [lit(2)], negated: false, caseInsensitive: false },
    });
    expect(() => parseExpression('1 + a in (2)')).toThrow('the second operand of `+` must be a number, found `a in (2)` (boolean)');
    expect(expr('string(x) in~ ("1")')).toEqual({
      kind: 'in',
      operand: { kind: 'call', name: 'string', caseInsensitive: false, args: [f('x')] },
      values: [lit('1')],
      negated: false,
      caseInsensitive: true,
    });
    expect(expr('(a + 1) in (2) == true')).toEqual({
      kind: 'compare',
      op: '==',
      left: { kind: 'in', operand: { kind: 'arith', op: '+', left: f('a'), right: lit(1) }, values: [lit(2)], negated: false, caseInsensitive: false },
      right: lit(true),
    });
  });
});

describe('functions', () => {
  it('resolves names case-insensitively to the canonical name', () => {
    expect(expr('STARTSWITH(a, "x")')).toEqual({ kind: 'call', name: 'startsWith', caseInsensitive: false, args: [f('a'), lit('x')] });
    expect(expr('cidrmatch(ip, "10.0.0.0/8", "::1/128")')).toEqual({
      kind: 'call',
      name: 'cidrMatch',
      caseInsensitive: false,
      args: [f('ip'), lit('10.0.0.0/8'), lit('::1/128')],
    });
  });

  it('parses the ~ variants', () => {
    for (const name of ['between', 'endsWith', 'indexOf', 'startsWith', 'stringContains'] as const) {
      const args = name === 'between' ? 'a, "x", "y"' : 'a, "x"';
      const e = parseExpression(`${name}~(${args})`);
      expect(e.kind === 'call' && [e.name, e.caseInsensitive]).toEqual([name, true]);
    }
  });

  it('nests calls and arithmetic in arguments', () => {
    expect(expr('length(concat(a, "-", 1)) > 2 * 3')).toEqual({
      kind: 'compare',
      op: '>',
      left: {
        kind: 'call',
        name: 'length',
        caseInsensitive: false,
        args: [{ kind: 'call', name: 'concat', caseInsensitive: false, args: [f('a'), lit('-'), lit(1)] }],
      },
      right: { kind: 'arith', op: '*', left: lit(2), right: lit(3) },
    });
  });
});

describe('comments and whitespace', () => {
  it('ignores line and nested block comments anywhere', () => {
    const s = parse('process /* a /* b */ c */ where // tail\n  a == 1 // end');
    expect(strip(s.query)).toEqual({ kind: 'event', category: 'process', condition: { kind: 'compare', op: '==', left: f('a'), right: lit(1) } });
  });
});

describe('event queries', () => {
  it('parses categories: name, any, quoted and raw-quoted', () => {
    expect(parse('process where true').query).toMatchObject({ kind: 'event', category: 'process', span: { start: 0, end: 18 } });
    expect(parse('any where true').query).toMatchObject({ category: null });
    expect(parse('"my-cat" where true').query).toMatchObject({ category: 'my-cat' });
    expect(parse('"""x y""" where true').query).toMatchObject({ category: 'x y' });
  });

  it('keeps the source text on the statement', () => {
    expect(parse('file where true').source).toBe('file where true');
  });
});

describe('sequences', () => {
  it('parses by, maxspan (with spaces around =), term keys, runs, missing terms and until', () => {
    const s = parse(
      'sequence by host.id with maxspan = 5m\n  [process where a == 1] by p with runs=2\n  ![file where true] by p\n  [any where true] by q\nuntil [process where b] by r | head 3',
    );
    const q = s.query as SequenceQuery;
    expect(strip(q)).toEqual({
      kind: 'sequence',
      by: [f('host.id')],
      maxspan: { value: 5, unit: 'm', millis: 300_000 },
      terms: [
        {
          query: { kind: 'event', category: 'process', condition: { kind: 'compare', op: '==', left: f('a'), right: lit(1) } },
          by: [f('p')],
          runs: 2,
          missing: false,
        },
        { query: { kind: 'event', category: 'file', condition: lit(true) }, by: [f('p')], runs: 1, missing: true },
        { query: { kind: 'event', category: null, condition: lit(true) }, by: [f('q')], runs: 1, missing: false },
      ],
      until: { query: { kind: 'event', category: 'process', condition: f('b') }, by: [f('r')], runs: 1, missing: false },
    });
    expect(q.maxspan!.span).toEqual({ start: 25, end: 37 });
    expect(q.terms[0]!.span).toEqual({ start: 40, end: 79 });
    expect(s.pipes).toEqual([{ kind: 'head', count: 3, span: { start: 159, end: 167 } }]);
  });

  it('computes maxspan millis for every unit', () => {
    const millis = (u: string) => (parse(`sequence with maxspan=2${u} [a where true] [b where true]`).query as SequenceQuery).maxspan!.millis;
    expect(['ms', 's', 'm', 'h', 'd'].map(millis)).toEqual([2, 2000, 120_000, 7_200_000, 172_800_000]);
  });

  it('counts runs as stages: one term with runs=2 is a valid sequence', () => {
    expect((parse('sequence [a where true] with runs=2').query as SequenceQuery).terms[0]!.runs).toBe(2);
  });

  it('does not read the next term as an array index of a by key', () => {
    const q = parse('sequence by x [a where true] by y [b where true] by z').query as SequenceQuery;
    expect(q.terms.map((t) => strip(t.by))).toEqual([[f('y')], [f('z')]]);
  });
});

describe('samples', () => {
  it('parses shared and per-term keys', () => {
    const q = parse('sample by host [any where uptime > 0] by os [any where port > 100] by op_sys').query as SampleQuery;
    expect(strip(q)).toEqual({
      kind: 'sample',
      by: [f('host')],
      terms: [
        { query: { kind: 'event', category: null, condition: { kind: 'compare', op: '>', left: f('uptime'), right: lit(0) } }, by: [f('os')], runs: 1, missing: false },
        { query: { kind: 'event', category: null, condition: { kind: 'compare', op: '>', left: f('port'), right: lit(100) } }, by: [f('op_sys')], runs: 1, missing: false },
      ],
    });
  });
});

describe('pipes', () => {
  it('parses head and tail chains', () => {
    expect(parse('a where true | head 4 | tail 2').pipes.map((p) => [p.kind, p.count])).toEqual([
      ['head', 4],
      ['tail', 2],
    ]);
    expect(parse('a where true | head 0').pipes[0]!.count).toBe(0);
  });
});

describe('collectFields', () => {
  it('lists every field reference in source order, including by keys', () => {
    const s = parse('sequence by h [process where a == 1 and ?b : "x"] by p [file where length(c) > 1 and d in (1)] by q until [any where e] by r');
    expect(collectFields(s).map((x) => [x.name, x.optional, x.span.start])).toEqual([
      ['h', false, 12],
      ['a', false, 29],
      ['b', true, 40],
      ['p', false, 53],
      ['c', false, 74],
      ['d', false, 85],
      ['q', false, 98],
      ['e', false, 117],
      ['r', false, 123],
    ]);
  });
});

describe('formatting', () => {
  const roundTrip = [
    'a == 1 or b == 2 and not c == 3',
    '(a == 1 or b == 2) and c == 3',
    'not (a or b)',
    'a - (b - c) == 1',
    '(a + b) * c > -1',
    '-(-1) == x',
    'a : ("x*", "y") and b like~ "z" and c regex "r.*"',
    'x not in~ ("a", "1", null) and y in (true)',
    '(a + 1) in (2)',
    'startsWith~(`my-field`, "a\\"b") and between(f, "a", "b", true) == "c"',
    '?x.y == 1.0',
    '`sequence` == 1',
  ];
  it.each(roundTrip)('prints %s back unchanged', (text) => {
    const e = parseExpression(text);
    expect(formatExpr(e)).toBe(text);
    expect(strip(parseExpression(formatExpr(e)))).toEqual(strip(e));
  });

  it('prints statements in canonical layout', () => {
    const s = parse('sequence  by  a with maxspan=1h [process where x==1] by b with runs=3 ![file where true] by b until [any where true] by b |head 2');
    expect(formatStatement(s)).toBe(
      'sequence by a with maxspan=1h\n  [process where x == 1] by b with runs=3\n  ![file where true] by b\nuntil [any where true] by b | head 2',
    );
    expect(formatStatement(parse('"my-cat" where a : "b" | tail 1'))).toBe('"my-cat" where a : "b" | tail 1');
  });

  it('escapes control characters in strings', () => {
    expect(formatExpr(parseExpression('"a\\tb\\u{01}"'))).toBe('"a\\tb\\u{01}"');
  });
});

describe('expressions as Expr', () => {
  it('exposes the Expr type', () => {
    const e: Expr = parseExpression('a');
    expect(e.kind).toBe('field');
  });
});
