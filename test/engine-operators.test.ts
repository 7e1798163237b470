// Operators of EQL as Elasticsearch evaluates them (docs/eql-language.md §3): comparisons per
// mapping type, wildcard/regex/`in` predicates, arithmetic and boolean precedence.
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/engine/index.js';
import type { EventDoc } from '../src/events/types.js';

type Src = Record<string, unknown>;

function docs(sources: Src[]): EventDoc[] {
  return sources.map((source, i) => ({ source, index: 'test', id: String(i + 1) }));
}

/** Ids (1-based positions) of the documents an event query matches. */
function match(condition: string, sources: Src[], options: CompileOptions = {}): number[] {
  const results = compile(`any where ${condition}`, options).run(docs(sources));
  return results.map((r) => {
    if (r.kind !== 'event') throw new Error('expected event results');
    return Number(r.event.id);
  });
}

/** Whether a condition matches one document. */
function holds(condition: string, source: Src, options: CompileOptions = {}): boolean {
  return match(condition, [source], options).length === 1;
}

const types = (map: Record<string, string>): CompileOptions => ({ fieldType: (n) => map[n] });

describe('== and != on strings', () => {
  const rows = [{ s: 'cmd.exe' }, { s: 'CMD.EXE' }, { s: 'cmd*' }, { s: 'cmd' }];
  it('is case-sensitive and has no wildcards', () => {
    expect(match('s == "cmd.exe"', rows)).toEqual([1]);
    expect(match('s == "CMD.EXE"', rows)).toEqual([2]);
    expect(match('s == "cmd*"', rows)).toEqual([3]);
    expect(match('s != "cmd.exe"', rows)).toEqual([2, 3, 4]);
  });
  it('keyword mapping gives the same answers', () => {
    const o = types({ s: 'keyword' });
    expect(match('s == "cmd.exe"', rows, o)).toEqual([1]);
    expect(match('s == "cmd*"', rows, o)).toEqual([3]);
  });
  it('a literal on the left is mirrored', () => {
    expect(match('"cmd" == s', rows)).toEqual([4]);
  });
});

describe('< <= > >= on strings: case-sensitive lexicographic', () => {
  const rows = [{ s: 'System' }, { s: 'System Idle Process' }, { s: 's' }, { s: 'S' }, { s: 'a' }];
  it('orders by UTF-16 code units', () => {
    expect(match('s < "System Idle Process"', rows)).toEqual([1, 4]);
    expect(match('s <= "System Idle Process"', rows)).toEqual([1, 2, 4]);
    expect(match('s > "S"', rows)).toEqual([1, 2, 3, 5]);
    expect(match('s >= "a"', rows)).toEqual([3, 5]);
    expect(match('s < "a"', rows)).toEqual([1, 2, 4]);
  });
  it('mirrors a literal on the left', () => {
    expect(match('"S" < s', rows)).toEqual([1, 2, 3, 5]);
    expect(match('"a" >= s', rows)).toEqual([1, 2, 4, 5]);
  });
});

describe('comparisons on numbers', () => {
  const rows = [{ n: -3 }, { n: 0 }, { n: 2.5 }, { n: 10 }, { n: 100 }];
  it('compares numerically', () => {
    expect(match('n < 0', rows)).toEqual([1]);
    expect(match('n <= 0', rows)).toEqual([1, 2]);
    expect(match('n > 2', rows)).toEqual([3, 4, 5]);
    expect(match('n >= 10', rows)).toEqual([4, 5]);
    expect(match('n == 2.5', rows)).toEqual([3]);
    expect(match('n == 10.0', rows)).toEqual([4]);
    expect(match('n != 0', rows)).toEqual([1, 3, 4, 5]);
    expect(match('n > -3.5', rows)).toEqual([1, 2, 3, 4, 5]);
  });
  it('10 > 9 numerically (not as text)', () => {
    expect(match('n > 9', rows)).toEqual([4, 5]);
  });
});

describe('mixed numeric strings', () => {
  it('a numeric document value with a string constant compares as numbers', () => {
    const rows = [{ n: 5 }, { n: 10 }];
    expect(match('n == "5"', rows)).toEqual([1]);
    expect(match('n > "9"', rows)).toEqual([2]);
    expect(match('n > "9"', rows, types({ n: 'long' }))).toEqual([2]);
  });
  it('a string of digits equals the same number', () => {
    const rows = [{ s: '5' }, { s: '10' }];
    expect(match('s == 5', rows)).toEqual([1]);
    expect(match('s == 5', rows, types({ s: 'keyword' }))).toEqual([1]);
  });
  it('a keyword field compares the constant as text', () => {
    const rows = [{ s: '5' }, { s: '10' }];
    // As a keyword, "10" < "9" and "5" < "9".
    expect(match('s > 9', rows, types({ s: 'keyword' }))).toEqual([]);
    expect(match('s < 9', rows, types({ s: 'keyword' }))).toEqual([1, 2]);
  });
  it('a long field compares a numeric keyword-looking value as a number', () => {
    const rows = [{ n: '5' }, { n: '10' }];
    expect(match('n > 9', rows, types({ n: 'long' }))).toEqual([2]);
  });
});

describe('booleans', () => {
  const rows = [{ b: true }, { b: false }, { b: 'true' }, {}];
  it('== and != true/false', () => {
    expect(match('b == true', rows)).toEqual([1, 3]);
    expect(match('b == false', rows)).toEqual([2]);
    expect(match('b != true', rows)).toEqual([2, 4]);
  });
  it('boolean mapping', () => {
    expect(match('b == "true"', rows, types({ b: 'boolean' }))).toEqual([1, 3]);
  });
});

describe('dates', () => {
  const o = types({ '@timestamp': 'date', d: 'date' });
  const rows = [
    { '@timestamp': '2017-08-30T20:47:32.999Z' },
    { '@timestamp': '2017-08-30T20:47:33Z' },
    { '@timestamp': '2017-08-30T20:47:33.999Z' },
    { '@timestamp': '2017-08-30T20:47:34.000Z' },
    { '@timestamp': 1504126053500 }, // 2017-08-30T20:47:33.500Z as epoch millis
  ];
  it('a literal covers its whole precision: == "…33Z" is the whole second', () => {
    expect(match('@timestamp == "2017-08-30T20:47:33Z"', rows, o)).toEqual([2, 3, 5]);
    expect(match('@timestamp != "2017-08-30T20:47:33Z"', rows, o)).toEqual([1, 4]);
    expect(match('@timestamp == "2017-08-30T20:47:33.999Z"', rows, o)).toEqual([3]);
    expect(match('@timestamp == "2017-08-30T20:47"', rows, o)).toEqual([1, 2, 3, 4, 5]);
  });
  it('range bounds round outwards like ES date math', () => {
    expect(match('@timestamp < "2017-08-30T20:47:33Z"', rows, o)).toEqual([1]);
    expect(match('@timestamp < "2017-08-30T20:47:32Z"', rows, o)).toEqual([]);
    expect(match('@timestamp <= "2017-08-30T20:47:32Z"', rows, o)).toEqual([1]);
    expect(match('@timestamp > "2017-08-30T20:47:33Z"', rows, o)).toEqual([4]);
    expect(match('@timestamp >= "2017-08-30T20:47:33Z"', rows, o)).toEqual([2, 3, 4, 5]);
    expect(match('@timestamp <= "2017-08-30T20:47:33Z"', rows, o)).toEqual([1, 2, 3, 5]);
  });
  it('epoch millis literals denote one millisecond', () => {
    expect(match('@timestamp == 1504126053500', rows, o)).toEqual([5]);
    expect(match('@timestamp == 1504126053000', rows, o)).toEqual([2]);
    expect(match('@timestamp < 1504126053000', rows, o)).toEqual([1]);
    expect(match('@timestamp >= 1504126053999', rows, o)).toEqual([3, 4]);
  });
  it('in / not in on a date field are refused, as ES refuses them (In needs values of the field\'s type)', () => {
    expect(() => match('@timestamp in ("2017-08-30T20:47:33Z")', rows, o)).toThrow(
      'value 1 of `in` must be of the type of `@timestamp` (date), found "2017-08-30T20:47:33Z" (keyword)',
    );
    expect(() => match('@timestamp not in (1504126054000)', rows, o)).toThrow(
      'value 1 of `not in` must be of the type of `@timestamp` (date), found 1504126054000 (long)',
    );
    // Without a mapping the field's type is unknown: nothing to refuse, == spans apply.
    expect(match('@timestamp in ("2017-08-30T20:47:33Z")', rows)).toEqual([2, 3, 5]);
  });
  it('the timestamp field compares as a date even without a mapping', () => {
    expect(match('@timestamp == "2017-08-30T20:47:33Z"', rows)).toEqual([2, 3, 5]);
  });
  it('date_nanos compares at nanosecond precision', () => {
    const ns = types({ d: 'date_nanos' });
    const r = [{ d: '2023-01-01T00:00:00.000000001Z' }, { d: '2023-01-01T00:00:00.000000002Z' }];
    expect(match('d == "2023-01-01T00:00:00.000000001Z"', r, ns)).toEqual([1]);
    expect(match('d > "2023-01-01T00:00:00.000000001Z"', r, ns)).toEqual([2]);
    expect(match('d == "2023-01-01T00:00:00.000Z"', r, ns)).toEqual([1, 2]);
  });
  it('an offset is honoured', () => {
    expect(match('d == "2017-08-30T22:47:33+02:00"', [{ d: '2017-08-30T20:47:33.100Z' }], o)).toEqual([1]);
  });
});

describe('version fields', () => {
  const o = types({ v: 'version' });
  const rows = [{ v: '1.11.3' }, { v: '1.5.0' }, { v: '1.2.4-SNAPSHOT' }, { v: '1.5.0-rc1' }, { v: '2.0.0' }];
  it('orders semantically, pre-releases before the release', () => {
    expect(match('v > "1.5.0"', rows, o)).toEqual([1, 5]);
    expect(match('v < "1.5.0"', rows, o)).toEqual([3, 4]);
    expect(match('v >= "1.5.0"', rows, o)).toEqual([1, 2, 5]);
    expect(match('v == "1.5.0"', rows, o)).toEqual([2]);
    expect(match('v == "1.11.3" or v == "2.0.0"', rows, o)).toEqual([1, 5]);
    expect(() => match('v in ("1.11.3", "2.0.0")', rows, o)).toThrow('value 1 of `in` must be of the type of `v` (version), found "1.11.3" (keyword)');
  });
  it('without the mapping, versions compare as text ("1.11.3" < "1.5.0" < "1.5.0-rc1")', () => {
    expect(match('v > "1.5.0"', rows)).toEqual([4, 5]);
  });
});

describe('ip fields', () => {
  const o = types({ ip: 'ip' });
  const rows = [{ ip: '10.0.0.9' }, { ip: '10.0.0.10' }, { ip: '::ffff:10.0.0.9' }, { ip: '2001:db8::1' }];
  it('compares addresses, not text', () => {
    expect(match('ip > "10.0.0.9"', rows, o)).toEqual([2, 4]);
    expect(match('ip == "10.0.0.9"', rows, o)).toEqual([1, 3]);
    expect(match('ip == "2001:0db8:0:0:0:0:0:1"', rows, o)).toEqual([4]);
    expect(match('ip == "10.0.0.10" or ip == "2001:db8::1"', rows, o)).toEqual([2, 4]);
    // ES's In needs values of the field's type and a string literal is a keyword: refused.
    expect(() => match('ip in ("10.0.0.10", "2001:db8::1")', rows, o)).toThrow('value 1 of `in` must be of the type of `ip` (ip), found "10.0.0.10" (keyword)');
  });
  it('== with CIDR notation matches the whole block (term query on an ip field)', () => {
    expect(match('ip == "10.0.0.8/31"', rows, o)).toEqual([1, 3]);
    expect(match('ip == "10.0.0.0/24"', rows, o)).toEqual([1, 2, 3]);
    expect(match('ip != "10.0.0.8/31"', rows, o)).toEqual([2, 4]);
    expect(match('ip == "2001:db8::/32" or ip == "10.0.0.10"', rows, o)).toEqual([2, 4]);
    expect(match('not ip == "10.0.0.0/8"', rows, o)).toEqual([4]);
    expect(match('ip == "10.0.0.0/24"', [{ ip: ['192.168.0.1', '10.0.0.200'] }], o)).toEqual([1]);
  });
});

describe(': (case-insensitive wildcard)', () => {
  const rows = [
    { s: 'CMD.EXE' },
    { s: 'cmd.exe' },
    { s: 'powershell.exe' },
    { s: 'C:\\Windows\\System32\\cmd.exe' },
    { s: 'ab' },
    { s: 'abc' },
  ];
  it('exact, *, ? and lists', () => {
    expect(match('s : "cmd.exe"', rows)).toEqual([1, 2]);
    expect(match('s : "CMD*"', rows)).toEqual([1, 2]);
    expect(match('s : "*.EXE"', rows)).toEqual([1, 2, 3, 4]);
    expect(match('s : "*system32*"', rows)).toEqual([4]);
    expect(match('s : ("power*", "ab")', rows)).toEqual([3, 5]);
    expect(match('s : "a?"', rows)).toEqual([5]);
    expect(match('s : "a?c"', rows)).toEqual([6]);
    expect(match('s : "?"', rows)).toEqual([]);
    expect(match('s : "c?d*e*e"', rows)).toEqual([1, 2]);
    expect(match('s : "c*d*e*e"', rows)).toEqual([1, 2, 4]);
  });
  it('backslashes are literal characters', () => {
    expect(match('s : "c:\\\\windows\\\\*"', rows)).toEqual([4]);
    expect(match('s : """C:\\Windows\\System32\\*"""', rows)).toEqual([4]);
    expect(match('s : "C:\\\\Windows\\\\cmd.exe"', rows)).toEqual([]);
  });
  it('a `?` in the pattern is a wildcard for exactly one character, also non-ASCII', () => {
    expect(match('s : "?"', [{ s: 'é' }, { s: '😀' }, { s: 'ab' }])).toEqual([1, 2]);
  });
});

describe('like / like~', () => {
  const rows = [{ s: 'Cmd.exe' }, { s: 'cmd.exe' }, { s: 'cmd.com' }];
  it('like is case-sensitive', () => {
    expect(match('s like "cmd*"', rows)).toEqual([2, 3]);
    expect(match('s like ("Cmd*", "*.com")', rows)).toEqual([1, 3]);
    expect(match('s like "cmd.ex?"', rows)).toEqual([2]);
  });
  it('like~ is case-insensitive', () => {
    expect(match('s like~ "CMD*"', rows)).toEqual([1, 2, 3]);
    expect(match('s like~ ("*.EXE")', rows)).toEqual([1, 2]);
  });
});

describe('regex / regex~ (Lucene syntax)', () => {
  it('is anchored to the whole value', () => {
    const rows = [{ s: 'abc' }, { s: 'xabcx' }];
    expect(match('s regex "abc"', rows)).toEqual([1]);
    expect(match('s regex "b"', rows)).toEqual([]);
    expect(match('s regex ".*b.*"', rows)).toEqual([1, 2]);
  });
  it('is case-sensitive; regex~ is not', () => {
    const rows = [{ s: 'Hello' }, { s: 'hello' }];
    expect(match('s regex "hello"', rows)).toEqual([2]);
    expect(match('s regex~ "HELLO"', rows)).toEqual([1, 2]);
    expect(match('s regex~ "[H]ello"', rows)).toEqual([1, 2]);
  });
  it('character classes, ranges, negation and repetition', () => {
    const rows = [{ s: 'a1' }, { s: 'b22' }, { s: 'z9' }, { s: 'A1' }];
    expect(match('s regex "[a-c][0-9]+"', rows)).toEqual([1, 2]);
    expect(match('s regex "[^a-c][0-9]"', rows)).toEqual([3, 4]);
    expect(match('s regex "[a-z][0-9]{2}"', rows)).toEqual([2]);
    expect(match('s regex "(a|z)[0-9]?"', rows)).toEqual([1, 3]);
  });
  it('a list matches when any pattern does', () => {
    expect(match('s regex ("x.*", "ab?c")', [{ s: 'ac' }, { s: 'xyz' }, { s: 'abbc' }])).toEqual([1, 2]);
  });
  it('`.` matches a newline', () => {
    expect(holds('s regex "a.b"', { s: 'a\nb' })).toBe(true);
  });
  it('"..." is a quoted literal string', () => {
    const rows = [{ s: 'a.b' }, { s: 'axb' }, { s: 'a.b.c' }];
    expect(match('s regex "\\"a.b\\""', rows)).toEqual([1]);
    expect(match('s regex "\\"a.b\\".*"', rows)).toEqual([1, 3]);
    expect(match('s regex "a\\\\.b"', rows)).toEqual([1]);
  });
  it('@ is any string, <n-m> is a numeric interval', () => {
    expect(match('s regex "foo@"', [{ s: 'foo' }, { s: 'foobar' }, { s: 'fo' }])).toEqual([1, 2]);
    expect(match('s regex "port<8-12>"', [{ s: 'port7' }, { s: 'port8' }, { s: 'port12' }, { s: 'port13' }])).toEqual([2, 3]);
  });
  it('\\d is a digit class', () => {
    const rows = [{ s: '123' }, { s: '12a' }, { s: '' }];
    expect(match('s regex "\\\\d+"', rows)).toEqual([1]);
    expect(match('s regex "\\\\d*"', rows)).toEqual([1, 3]);
  });
  it('$ and ^ are literal characters in Lucene', () => {
    expect(match('s regex "a+\\\\$"', [{ s: 'aa$' }, { s: 'aa' }])).toEqual([1]);
  });
  it('a hostile nested-quantifier pattern on a 50-character input returns quickly', () => {
    const evil = 'a'.repeat(50) + '!';
    const start = performance.now();
    expect(match('s regex "(a+)+b"', [{ s: evil }, { s: 'a'.repeat(50) + 'b' }])).toEqual([2]);
    expect(match('s regex "(a|aa)*c"', [{ s: evil }])).toEqual([]);
    expect(match('s regex~ "(A+)+!"', [{ s: evil }])).toEqual([1]);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('in / in~ / not in / not in~', () => {
  const rows = [{ s: 'a' }, { s: 'A' }, { s: 'b' }, { s: '1*' }, { s: '123' }];
  it('in is case-sensitive', () => {
    expect(match('s in ("a", "b")', rows)).toEqual([1, 3]);
    expect(match('s not in ("a", "b")', rows)).toEqual([2, 4, 5]);
  });
  it('in~ is case-insensitive without wildcards', () => {
    expect(match('s in~ ("a")', rows)).toEqual([1, 2]);
    expect(match('s in~ ("1*")', rows)).toEqual([4]);
    expect(match('s not in~ ("A", "B")', rows)).toEqual([4, 5]);
  });
  it('numbers and numeric strings', () => {
    const nums = [{ n: 1 }, { n: 2 }, { n: 3 }];
    expect(match('n in (1, 3)', nums)).toEqual([1, 3]);
    expect(match('n in ("2")', nums)).toEqual([2]);
    expect(match('n not in (1, 3)', nums)).toEqual([2]);
  });
  it('functions on the left', () => {
    expect(match('string(n) in~ ("1", "3")', [{ n: 1 }, { n: 2 }, { n: 3 }])).toEqual([1, 3]);
  });
});

describe('arithmetic', () => {
  it('integer division truncates', () => {
    const rows = [{ n: 81 }, { n: 82 }, { n: 83 }, { n: 84 }];
    expect(match('n / 2 == 41', rows)).toEqual([2, 3]);
    expect(match('n / 2 == 41.5', rows)).toEqual([]);
    expect(match('-n / 2 == -41', rows)).toEqual([2, 3]);
  });
  it('a float operand gives float division', () => {
    expect(match('n / 2.0 == 41.5', [{ n: 82 }, { n: 83 }])).toEqual([2]);
    expect(match('n / 2 == 1.25', [{ n: 2.5 }])).toEqual([1]);
  });
  it('% follows the sign of the dividend', () => {
    expect(holds('n % 5 == -2', { n: -7 })).toBe(true);
    expect(holds('n % -5 == 2', { n: 7 })).toBe(true);
    expect(holds('n % 5 == 3', { n: -7 })).toBe(false);
    expect(holds('n % 4 == 1.5', { n: 5.5 })).toBe(true);
  });
  it('* / % bind tighter than + -, unary minus tightest', () => {
    expect(holds('n + 2 * 3 == 10', { n: 4 })).toBe(true);
    expect(holds('(n + 2) * 3 == 18', { n: 4 })).toBe(true);
    expect(holds('n - 6 / 3 == 2', { n: 4 })).toBe(true);
    expect(holds('n - 1 - 1 == 2', { n: 4 })).toBe(true);
    expect(holds('n * 2 % 3 == 2', { n: 4 })).toBe(true);
    expect(holds('-n * 2 == -8', { n: 4 })).toBe(true);
    expect(holds('n - -1 == 5', { n: 4 })).toBe(true);
    expect(holds('-n == -4', { n: 4 })).toBe(true);
  });
  it('arithmetic on a missing field is null, so the predicate does not match', () => {
    expect(holds('n + 1 > 0', {})).toBe(false);
  });
});

describe('and / or / not precedence', () => {
  const rows: Src[] = [];
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 2; c++) rows.push({ a, b, c });
  // rows[i] (1-based id i+1): a = bit 2, b = bit 1, c = bit 0
  const where = (f: (a: number, b: number, c: number) => boolean) =>
    rows.flatMap((r, i) => (f(r.a as number, r.b as number, r.c as number) ? [i + 1] : []));
  it('and binds tighter than or', () => {
    expect(match('a == 1 or b == 1 and c == 1', rows)).toEqual(where((a, b, c) => a === 1 || (b === 1 && c === 1)));
    expect(match('a == 1 and b == 1 or c == 1', rows)).toEqual(where((a, b, c) => (a === 1 && b === 1) || c === 1));
  });
  it('not binds tighter than and/or', () => {
    expect(match('not a == 1 and b == 1', rows)).toEqual(where((a, b) => a !== 1 && b === 1));
    expect(match('not a == 1 or b == 1', rows)).toEqual(where((a, b) => a !== 1 || b === 1));
    expect(match('not (a == 1 or b == 1)', rows)).toEqual(where((a, b) => !(a === 1 || b === 1)));
    expect(match('not not a == 1', rows)).toEqual(where((a) => a === 1));
  });
  it('expected row sets are non-trivial', () => {
    expect(where((a, b, c) => a === 1 || (b === 1 && c === 1))).toEqual([4, 5, 6, 7, 8]);
  });
});

describe('event category', () => {
  it('matches the category exactly; any matches everything, including events without one', () => {
    const d = docs([{ event: { category: 'process' } }, { event: { category: ['network', 'process'] } }, { event: { category: 'Process' } }, {}]);
    const ids = (q: string) => compile(q).run(d).map((r) => (r.kind === 'event' ? r.event.id : '?'));
    expect(ids('process where true')).toEqual(['1', '2']);
    expect(ids('any where true')).toEqual(['1', '2', '3', '4']);
    expect(ids('"Process" where true')).toEqual(['3']);
  });
});

// A number written as text in a document. On a numeric field Elasticsearch indexes the number
// ("1.50" and "01" are 1.5 and 1; the number field mappers parse strings, coerce on), and `==` and
// `in` (term and terms queries on the number) compare numbers. On a keyword field the text is the
// term, and a number literal is turned into its Java text (a term query on a keyword field renders
// its value with toString(): 1.5 is "1.5", 1 is "1"), so "1.50" and "01" are other terms and ranges
// compare text.
describe('numbers written as text, on numeric and keyword fields', () => {
  const rows: Src[] = [
    { k: '1.50', p: '1.50' },
    { k: '01', p: '01' },
    { k: '1.5', p: '1.5' },
    { k: '1', p: '1' },
    { p: 1.5 },
    { p: 1 },
    { k: 'abc' },
    { k: '1.0' },
  ];
  const t = types({ k: 'keyword', p: 'double' });
  it.each([
    ['p == 1.5', [1, 3, 5]],
    ['p == "1.50"', [1, 3, 5]],
    ['p == "01"', [2, 4, 6]],
    ['p in (1.5)', [1, 3, 5]],
    ['p in (1)', [2, 4, 6]],
    ['p in (1, 1.5)', [1, 2, 3, 4, 5, 6]],
    ['p not in (1.5)', [2, 4, 6, 7, 8]],
    ['p > 1', [1, 3, 5]],
    ['k == 1.5', [3]],
    ['k == 1', [4]],
    ['k == "1.50"', [1]],
    ['k == "01"', [2]],
    ['k : "1.5"', [3]],
    ['k in ("01", "1.5")', [2, 3]],
    ['k < 2', [1, 2, 3, 4, 8]],
    ['k > 1', [1, 3, 7, 8]],
    // The decimal literal 1.0 is a Double: its term is "1.0", and 1 (an Integer) is "1".
    ['k == 1.0', [8]],
    ['k != 1.0', [1, 2, 3, 4, 5, 6, 7]],
    ['k >= 1.0', [1, 3, 7, 8]],
    ['k == -1.0', []],
  ] as const)('%s', (cond, expected) => {
    expect(match(cond, rows, t)).toEqual(expected);
  });
});

// A field of unknown type (no mapping, outside ECS): `==` compares a string value with a number
// constant as numbers when the text is one (compareAuto), and `in` does the same, so that
// `u in (1)` and `u == 1` never disagree (in Elasticsearch both are term queries on one field).
describe('numbers written as text, on a field of unknown type: `in` agrees with `==`', () => {
  const rows: Src[] = [{ u: '01' }, { u: '1.50' }, { u: 1 }, { u: 'x' }, { u: 1.5 }, {}];
  it.each([
    ['u == 1', [1, 3]],
    ['u in (1)', [1, 3]],
    ['u == 1.5', [2, 5]],
    ['u in (1.5)', [2, 5]],
    ['u in (1, 1.5)', [1, 2, 3, 5]],
    ['u == "1"', [3]],
    ['u in ("1")', [3]],
    ['u == "01"', [1, 3]],
    ['u in ("01")', [1, 3]],
    ['u not in (1)', [2, 4, 5, 6]],
  ] as const)('%s', (cond, expected) => {
    expect(match(cond, rows)).toEqual(expected);
  });
});
