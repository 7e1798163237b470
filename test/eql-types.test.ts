// Argument types, conditions and join keys, checked as Elasticsearch's verifier checks them. The
// cases are those of ES's VerifierTests and QueryTranslatorFailTests (x-pack/plugin/eql), each
// refused one with eqlite's message and position, each accepted one accepted; the mapping is shaped
// like theirs (mapping-default.json and friends).
import { describe, expect, it } from 'vitest';
import { compile } from '../src/engine/index.js';
import { mappingCompileOptions, parseMapping } from '../src/engine/mapping.js';
import { EqlError, parse } from '../src/eql/index.js';

const mapping = parseMapping({
  properties: {
    '@timestamp': { type: 'date' },
    event: { properties: { category: { type: 'keyword' } } },
    bool: { type: 'boolean' },
    pid: { type: 'long' },
    ppid: { type: 'long' },
    opcode: { type: 'long' },
    exit_code: { type: 'long' },
    serial_event_id: { type: 'long' },
    md5: { type: 'keyword' },
    command_line: { type: 'keyword' },
    process_name: { type: 'keyword' },
    process_path: { type: 'keyword' },
    user_domain: { type: 'keyword' },
    hostname: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
    constant_keyword: { type: 'constant_keyword' },
    source_address: { type: 'ip' },
    long_field: { type: 'long' },
    double_field: { type: 'double' },
    date: { type: 'date' },
    date_nanos_field: { type: 'date_nanos' },
    boolean_field: { type: 'boolean' },
    blob: { type: 'binary' },
    ip_addr: { type: 'ip' },
    version_field: { type: 'version' },
    location: { type: 'geo_point' },
    site: { type: 'geo_shape' },
    ip_range_field: { type: 'ip_range' },
    labels: { type: 'flattened' },
  },
});
const typed = mappingCompileOptions(mapping);

/** `line:column: message` of the error compiling `query` against the mapping, or 'accepted'. */
function verdict(query: string): string {
  try {
    compile(query, typed);
    return 'accepted';
  } catch (e) {
    if (!(e instanceof EqlError)) throw e;
    return `${e.line}:${e.column}: ${e.message}`;
  }
}

describe('conditions (VerifierTests.testQueryCondition)', () => {
  it('refuses a condition that is not a boolean', () => {
    expect(verdict('any where bool')).toBe('accepted');
    expect(verdict('any where pid')).toBe('1:11: a condition must be a boolean, found `pid` (long)');
    expect(verdict('any where @timestamp')).toBe('1:11: a condition must be a boolean, found `@timestamp` (date)');
    expect(verdict('any where command_line')).toBe('1:11: a condition must be a boolean, found `command_line` (keyword)');
    expect(verdict('any where hostname')).toBe('1:11: a condition must be a boolean, found `hostname` (keyword)');
    expect(verdict('any where constant_keyword')).toBe('1:11: a condition must be a boolean, found `constant_keyword` (constant_keyword)');
    expect(verdict('any where source_address')).toBe('1:11: a condition must be a boolean, found `source_address` (ip)');
  });
  it('accepts null and missing optional fields as conditions (ES folds them to null)', () => {
    expect(verdict('any where ?inexistent_field')).toBe('accepted');
    expect(verdict('any where null')).toBe('accepted');
  });
  it('checks every term of a sequence, the until term too', () => {
    expect(verdict('sequence [process where true] [process where pid] until [process where true]')).toBe(
      '1:46: a condition must be a boolean, found `pid` (long)',
    );
    expect(verdict('sequence [process where true] [process where true] until [process where md5]')).toBe(
      '1:73: a condition must be a boolean, found `md5` (keyword)',
    );
  });
});

describe('accepted queries (VerifierTests.testQueryOk and the per-type tests)', () => {
  it.each([
    'process where serial_event_id == "abcdef"',
    'process where serial_event_id == 1',
    'process where serial_event_id < 4',
    'process where exit_code > -1',
    'process where -1 < exit_code',
    'process where process_name == "impossible name" or (serial_event_id < 4.5 and serial_event_id >= 3.1)',
    'process where (serial_event_id<=8 and not serial_event_id > 7) and (opcode==3 and opcode>2)',
    'process where not (exit_code > -1)\n  and serial_event_id in (58, 64, 69, 74, 80, 85, 90, 93, 94)',
    'file where serial_event_id == 82 and (true == (process_name in ("svchost.EXE", "bad.exe", "bad2.exe")))',
    'file where serial_event_id - 1 == 81',
    'file where serial_event_id + 1 == 83',
    'file where serial_event_id * 2 == 164',
    'file where serial_event_id / 2 == 41',
    'file where serial_event_id % 40 == 2',
    'file where ?foo == 123',
    'file where ?foo == null',
    'file where serial_event_id == 82 and (true == (?bar in ("abc", "xyz")))',
    'file where concat(?foo, "test", ?bar) == "onetest!"',
    'foo where long_field == 0',
    'foo where double_field == 0',
    'foo where date == ""',
    'foo where date == "2020-02-41"',
    'foo where date_nanos_field == "20200241"',
    'foo where boolean_field == true',
    'foo where boolean_field == "bar"',
    'foo where boolean_field == 123456',
    'foo where blob == 0',
    'foo where ip_addr == 0',
    'sequence [process where true] by hostname [process where true] by user_domain',
  ])('%s', (query) => {
    expect(verdict(query)).toBe('accepted');
  });
});

describe('operators', () => {
  it('`:` compares strings only (testIncorrectUsageOfStringEquals)', () => {
    expect(verdict('foo where pid : 123')).toBe('1:11: the left operand of `:` must be a string, found `pid` (long)');
    expect(verdict('foo where process_name : 123')).toBe('1:26: the right operand of `:` must be a string, found 123 (integer)');
    expect(verdict('foo where process_name : ("a*", true)')).toBe('1:33: the right operand of `:` must be a string, found true (boolean)');
    expect(verdict('foo where source_address : "10.*"')).toBe('1:11: the left operand of `:` must be a string, found `source_address` (ip)');
    // The verifier accepts a null pattern (its string checks let null through); on a field the
    // translation then fails (engine-nulls.test.ts), on a function it is a comparison with null.
    expect(verdict('foo where concat(process_name) : ("a*", null) and hostname : "x"')).toBe('accepted');
  });
  it('like and regex need a string on the left; a regex pattern must be a string (testLikeWithNumericField)', () => {
    expect(verdict('process where pid like "*.exe"')).toBe('1:15: the left operand of `like` must be a string, found `pid` (long)');
    expect(verdict('process where pid regex~ ".*"')).toBe('1:15: the left operand of `regex~` must be a string, found `pid` (long)');
    expect(verdict('process where process_name regex ("a.*", 1)')).toBe('1:42: pattern 2 of `regex` must be a string, found 1 (integer)');
    // ES turns a like pattern into text whatever it is.
    expect(verdict('process where process_name like 1 and process_name like~ "*.EXE"')).toBe('accepted');
  });
  it('in needs values of the operand type (testMixedSet); in~ needs strings', () => {
    expect(verdict('foo where long_field in (1, "string")')).toBe('1:29: value 2 of `in` must be of the type of `long_field` (long), found "string" (keyword)');
    expect(verdict('foo where source_address in ("10.0.0.1")')).toBe('1:30: value 1 of `in` must be of the type of `source_address` (ip), found "10.0.0.1" (keyword)');
    expect(verdict('foo where pid in~ ("1")')).toBe('1:11: the operand of `in~` must be a string, found `pid` (long)');
    expect(verdict('foo where process_name not in~ ("a", 2)')).toBe('1:38: value 2 of `not in~` must be a string, found 2 (integer)');
    expect(verdict('foo where long_field in (1, 2.5, null) and process_name in ("a", null) and concat(md5) in~ ("A", null)')).toBe('accepted');
    expect(verdict('foo where hostname in ("a") and length(md5) in (32, 40)')).toBe('accepted');
    // testPropertyEquationInClauseFilterUnsupported: In's values are constants, whatever its operand.
    expect(verdict('foo where "SYSTEM" in (process_name)')).toBe('1:24: the values of `in` must be constants, found process_name');
    expect(verdict('foo where "SYSTEM" in~ (process_name)')).toBe('accepted');
  });
  it('arithmetic needs numbers, not and/or need booleans', () => {
    expect(verdict('process where process_name + 1 == 2')).toBe('1:15: the first operand of `+` must be a number, found `process_name` (keyword)');
    expect(verdict('process where pid * "2" == 2')).toBe('1:21: the second operand of `*` must be a number, found "2" (keyword)');
    expect(verdict('process where -md5 == 2')).toBe('1:16: the operand of unary `-` must be a number, found `md5` (keyword)');
    expect(verdict('process where not pid')).toBe('1:19: the operand of `not` must be a boolean, found `pid` (long)');
    expect(verdict('process where pid and true')).toBe('1:15: the first operand of `and` must be a boolean, found `pid` (long)');
    expect(verdict('process where true or "x"')).toBe('1:23: the second operand of `or` must be a boolean, found "x" (keyword)');
    expect(verdict('process where pid + 1.5 > 2 and -exit_code < 0 and not bool and bool or ?missing')).toBe('accepted');
  });
  it('comparisons accept mismatched types, as ES does', () => {
    expect(verdict('process where pid == "1" and md5 != 5 and @timestamp > 0 and bool < "x"')).toBe('accepted');
  });
});

describe('functions (QueryTranslatorFailTests)', () => {
  it.each([
    ['process where between(process_name, 1, 2)', '1:37: the second argument of `between` must be a string, found 1 (integer)'],
    ['process where between(process_name, "s", 2)', '1:42: the third argument of `between` must be a string, found 2 (integer)'],
    ['process where between(process_name, "s", "e", 1)', '1:47: the fourth argument of `between` must be a boolean, found 1 (integer)'],
    ['process where between(process_name, "s", "e", "true")', '1:47: the fourth argument of `between` must be a boolean, found "true" (keyword)'],
    ['process where cidrMatch(source_address, hostname)', '1:41: the second argument of `cidrMatch` must be a constant, found `hostname`'],
    ['process where cidrMatch(hostname, "10.0.0.0/8")', '1:25: the first argument of `cidrMatch` must be an ip, found `hostname` (keyword)'],
    ['process where cidrMatch(source_address, 12345)', '1:41: the second argument of `cidrMatch` must be a string, found 12345 (integer)'],
    ['process where number(pid) == 1', '1:22: the first argument of `number` must be a string, found `pid` (long)'],
    ['process where number(process_name, 1.0) == 1', '1:36: the second argument of `number` must be an integer, found 1.0 (double)'],
    ['process where stringContains(process_name, 1)', '1:44: the second argument of `stringContains` must be a string, found 1 (integer)'],
    ['process where startsWith(pid, "1")', '1:26: the first argument of `startsWith` must be a string, found `pid` (long)'],
    ['process where endsWith~(process_name, 1)', '1:39: the second argument of `endsWith~` must be a string, found 1 (integer)'],
    ['process where indexOf(process_name, "a", "1") == 0', '1:42: the third argument of `indexOf` must be an integer, found "1" (keyword)'],
    ['process where length(pid) == 1', '1:22: the first argument of `length` must be a string, found `pid` (long)'],
    ['process where substring(process_name, 0, 2.5) == "a"', '1:42: the third argument of `substring` must be an integer, found 2.5 (double)'],
    ['process where add(pid, "1") == 2', '1:24: the second argument of `add` must be a number, found "1" (keyword)'],
    ['process where modulo(md5, 2) == 0', '1:22: the first argument of `modulo` must be a number, found `md5` (keyword)'],
    // The innermost problem is reported first, as ES resolves children before their parent.
    ['process where startsWith(substring(pid, 1), 2)', '1:36: the first argument of `substring` must be a string, found `pid` (long)'],
    ['process where startsWith(length(md5), "3")', '1:26: the first argument of `startsWith` must be a string, found `length(md5)` (integer)'],
  ])('%s', (query, message) => {
    expect(verdict(query)).toBe(message);
  });
  it.each([
    'process where between(process_name, "s", "e") == "x" and between~(hostname, "s", "e", true) == "x"',
    'process where cidrMatch(source_address, "10.0.0.0/8", "192.168.0.0/16", null) and cidrMatch(?gone, "10.0.0.0/8")',
    'process where number(process_name) == 1 and number(process_name, 16) == 1 and number(md5, length(md5)) > 0',
    'process where stringContains(process_name, "e") and startsWith~(command_line, hostname) and endsWith(md5, null)',
    'process where indexOf(process_name, "a", 1) == 0 and substring(process_name, 0, -1) == "a" and length(hostname) > 0',
    'process where add(pid, 1.5) > 2 and divide(number(md5), 2) > 0 and string(pid) == "1" and concat(pid, md5, bool) == "x"',
    'process where startsWith(string(pid), "1") and length(concat(pid)) > 0',
  ])('accepts %s', (query) => {
    expect(verdict(query)).toBe('accepted');
  });
});

describe('join keys (VerifierTests.testKeysWith*)', () => {
  it('refuses keys of incompatible types at the same position', () => {
    expect(verdict('sequence [process where true] by pid [process where true] by md5')).toBe(
      "1:62: join key `md5` (keyword) is incompatible with the first term's key `pid` (long)",
    );
    expect(verdict('sequence [process where true] by @timestamp [process where true] by opcode')).toBe(
      "1:69: join key `opcode` (long) is incompatible with the first term's key `@timestamp` (date)",
    );
    expect(verdict('sequence by md5 [process where true] by pid [process where true] by ppid until [process where true] by source_address')).toBe(
      "1:104: join key `source_address` (ip) is incompatible with the first term's key `pid` (long)",
    );
  });
  it('accepts strings with strings, numbers with numbers, and unmapped optional keys', () => {
    expect(verdict('sequence [process where true] by hostname, pid [process where true] by user_domain, double_field')).toBe('accepted');
    expect(verdict('sequence [process where true] by ?gone [process where true] by pid')).toBe('accepted');
    // ES checks the key types of sequences only (its check applies to Join plans; a Sample is not one).
    expect(verdict('sample [process where true] by pid [process where true] by md5')).toBe('accepted');
  });
});

describe('fields of unknown type are never refused', () => {
  it('without field types, only literals are checked', () => {
    expect(() => parse('process where startsWith(pid, "1") and pid : "4*" and md5 + 1 > 2 and cidrMatch(x, "10.0.0.0/8")')).not.toThrow();
    expect(() => parse('process where between(123, "1", "3") == "2"')).toThrow('the first argument of `between` must be a string, found 123 (integer)');
    expect(() => parse('process where "a" + 1 == 2')).toThrow('the first operand of `+` must be a number, found "a" (keyword)');
  });
  it('types ES does not resolve (binary, flattened) and unmapped optional fields are not refused', () => {
    expect(verdict('foo where startsWith(blob, "a") and labels like "y" and ?gone : "z"')).toBe('accepted');
  });
  it('geo, shape and range fields cannot be used at all (testGeo, testRange)', () => {
    expect(verdict('foo where location == 0')).toBe('1:11: field `location` has type geo_point, which Elasticsearch EQL cannot use');
    expect(verdict('foo where true and ?site == ""')).toBe('1:20: field `site` has type geo_shape, which Elasticsearch EQL cannot use');
    expect(verdict('foo where ip_range_field == ""')).toBe('1:11: field `ip_range_field` has type ip_range, which Elasticsearch EQL cannot use');
  });
  it('arithmetic over an unknown field is still a number', () => {
    expect(() => parse('process where startsWith(x + 1, "1")', {})).toThrow('the first argument of `startsWith` must be a string, found `x + 1` (number)');
  });
  it('a compile without field types checks literals only', () => {
    expect(() => compile('process where pid : "4*"')).not.toThrow();
    expect(() => compile('process where pid : "4*"', { fieldType: () => 'long' })).toThrow('the left operand of `:` must be a string, found `pid` (long)');
  });
});

describe('versions', () => {
  it('a version field is not a string', () => {
    expect(verdict('foo where version_field : "1.*"')).toBe('1:11: the left operand of `:` must be a string, found `version_field` (version)');
    expect(verdict('foo where version_field == "1.2.3" and version_field > "1.0"')).toBe('accepted');
  });
});

/** Every problem of the error compiling `query`, as `line:column: problem`. */
function problems(query: string): string[] {
  try {
    compile(query, typed);
    return [];
  } catch (e) {
    if (!(e instanceof EqlError)) throw e;
    return e.all().map((p) => `${p.line}:${p.column}: ${p.problem}`);
  }
}

describe('every problem of a query (ES: "Found N problems")', () => {
  it('lists each node that fails, innermost first, and counts the others in the message', () => {
    expect(problems('process where startsWith(pid, "a") and length(pid) > 0 and cidrMatch(md5, "10.0.0.0/8")')).toEqual([
      '1:26: the first argument of `startsWith` must be a string, found `pid` (long)',
      '1:47: the first argument of `length` must be a string, found `pid` (long)',
      '1:70: the first argument of `cidrMatch` must be an ip, found `md5` (keyword)',
    ]);
    expect(verdict('process where startsWith(pid, "a") and length(pid) > 0')).toBe(
      '1:26: the first argument of `startsWith` must be a string, found `pid` (long) (and 1 more problem)',
    );
  });
  it('does not report the ancestors of a failing node (ES skips a node whose children are unresolved)', () => {
    expect(problems('process where not (startsWith(pid, "a") + 1 == 2)')).toEqual(['1:31: the first argument of `startsWith` must be a string, found `pid` (long)']);
    // one problem per node: ES's type resolution stops at a node's first failing argument
    expect(problems('process where between(pid, ppid, md5, bool)')).toEqual(['1:23: the first argument of `between` must be a string, found `pid` (long)']);
  });
  it('checks conditions and join keys only when no argument is of the wrong type (ES\'s second pass)', () => {
    expect(problems('sequence [process where length(pid) > 0] by pid [process where ppid] by md5')).toEqual([
      '1:32: the first argument of `length` must be a string, found `pid` (long)',
    ]);
    expect(problems('sequence [process where pid] by pid [process where md5] by md5 [process where true] by @timestamp')).toEqual([
      "1:60: join key `md5` (keyword) is incompatible with the first term's key `pid` (long)",
      "1:88: join key `@timestamp` (date) is incompatible with the first term's key `pid` (long)",
      '1:25: a condition must be a boolean, found `pid` (long)',
      '1:52: a condition must be a boolean, found `md5` (keyword)',
    ]);
  });
  it('renders every problem with its own caret', () => {
    let err: unknown;
    try {
      compile('process where length(pid) > 0 or length(ppid) > 1', typed);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EqlError);
    expect((err as EqlError).format('rule.toml')).toBe(
      [
        'rule.toml:1:22: error: the first argument of `length` must be a string, found `pid` (long)',
        '  process where length(pid) > 0 or length(ppid) > 1',
        '                       ^^^',
        'rule.toml:1:41: error: the first argument of `length` must be a string, found `ppid` (long)',
        '  process where length(pid) > 0 or length(ppid) > 1',
        '                                          ^^^^',
      ].join('\n'),
    );
  });
});
