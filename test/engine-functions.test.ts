// Every EQL function and its `~` variant (docs/eql-language.md §5), with the edge cases that ES's
// processors define: no match, negative indices, null arguments, bases, IPv4/IPv6 blocks.
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/engine/index.js';
import { compileValue } from '../src/engine/expr.js';
import { parseExpression } from '../src/eql/index.js';

type Src = Record<string, unknown>;

/** Value of an expression on one document (constants are folded the same way). */
function val(text: string, src: Src = {}, options: CompileOptions = {}): unknown {
  return compileValue(parseExpression(text), options)(src);
}

/** Whether an event query condition matches one document. */
function holds(condition: string, source: Src, options: CompileOptions = {}): boolean {
  return compile(`any where ${condition}`, options).run([{ source, index: 'i', id: '1' }]).length === 1;
}

describe('between / between~', () => {
  const path = 'C:\\Windows\\System32\\cmd.exe';
  it('non-greedy by default, greedy when asked', () => {
    expect(val('between(p, "\\\\", "\\\\")', { p: path })).toBe('Windows');
    expect(val('between(p, "\\\\", "\\\\", false)', { p: path })).toBe('Windows');
    expect(val('between(p, "\\\\", "\\\\", true)', { p: path })).toBe('Windows\\System32');
    expect(val('between("a[1]b[2]c", "[", "]")')).toBe('1');
    expect(val('between("a[1]b[2]c", "[", "]", true)')).toBe('1]b[2');
  });
  it('no match gives the empty string', () => {
    expect(val('between("abc", "x", "c")')).toBe('');
    expect(val('between("abc", "a", "x")')).toBe('');
    expect(val('between("abc", "a", "x", true)')).toBe('');
    expect(val('between("xaby", "b", "a", true)')).toBe('');
    expect(val('between("", "a", "b")')).toBe('');
  });
  it('adjacent delimiters give the empty string', () => {
    expect(val('between("a()b", "(", ")")')).toBe('');
  });
  it('an empty left or right delimiter returns the source unchanged (ES StringUtils.between)', () => {
    expect(val('between("a(b)c", "", ")")')).toBe('a(b)c');
    expect(val('between("a(b)c", "(", "")')).toBe('a(b)c');
    expect(val('between(s, "", "", true)', { s: 'xyz' })).toBe('xyz');
  });
  it('is case-sensitive; between~ is not and keeps the source case', () => {
    expect(val('between("ABCdef", "b", "E")')).toBe('');
    expect(val('between~("ABCdef", "b", "E")')).toBe('Cd');
  });
  it('null when any argument is null', () => {
    expect(val('between(p, "a", "b")', {})).toBeNull();
    expect(val('between("abc", p, "c")', {})).toBeNull();
  });
});

describe('concat', () => {
  it('renders numbers and booleans as text', () => {
    expect(val('concat(pid, ":", name, 3)', { pid: 5, name: 'wininit.exe' })).toBe('5:wininit.exe3');
    expect(val('concat("a", true, false, 1.5, -2)')).toBe('atruefalse1.5-2');
    expect(val('concat("only")')).toBe('only');
    expect(val('concat(n)', { n: 42 })).toBe('42');
  });
  it('is null if any argument is null', () => {
    expect(val('concat("a", null)')).toBeNull();
    expect(val('concat("a", missing, "b")', {})).toBeNull();
  });
  it('in a predicate', () => {
    expect(holds('concat(a, "-", b) == "x-y"', { a: 'x', b: 'y' })).toBe(true);
    expect(holds('concat(a, "-", b) == "x-y"', { a: 'x' })).toBe(false);
  });
});

describe('indexOf / indexOf~', () => {
  it('first position at or after start', () => {
    expect(val('indexOf("abcabc", "c")')).toBe(2);
    expect(val('indexOf("abcabc", "c", 3)')).toBe(5);
    expect(val('indexOf("abcabc", "c", 2)')).toBe(2);
    expect(val('indexOf("abcabc", "abc", 1)')).toBe(3);
  });
  it('a negative start counts as 0', () => {
    expect(val('indexOf("abcabc", "c", -4)')).toBe(2);
  });
  it('an empty substring returns start, clamped to 0', () => {
    expect(val('indexOf("abc", "")')).toBe(0);
    expect(val('indexOf("abc", "", 2)')).toBe(2);
    expect(val('indexOf("abc", "", -1)')).toBe(0);
    expect(val('indexOf("abc", "", 3)')).toBe(3);
  });
  it('an empty substring with start beyond the length is found at the end (Java String.indexOf)', () => {
    expect(val('indexOf("abc", "", 4)')).toBe(3);
    expect(val('indexOf("", "", 1)')).toBe(0);
  });
  it('null when not found or start beyond the length', () => {
    expect(val('indexOf("abc", "d")')).toBeNull();
    expect(val('indexOf("abc", "a", 1)')).toBeNull();
    expect(val('indexOf("abc", "c", 4)')).toBeNull();
    expect(val('indexOf("", "bar", 1)')).toBeNull();
    expect(val('indexOf(s, "a")', {})).toBeNull();
  });
  it('is case-sensitive; indexOf~ is not', () => {
    expect(val('indexOf("ABC", "c")')).toBeNull();
    expect(val('indexOf~("ABC", "c")')).toBe(2);
    expect(val('indexOf~("aBcAbC", "ABC", 1)')).toBe(3);
  });
});

describe('substring', () => {
  it('Python-style slicing', () => {
    expect(val('substring("hello", 1)')).toBe('ello');
    expect(val('substring("hello", 1, 3)')).toBe('el');
    expect(val('substring("hello", -3)')).toBe('llo');
    expect(val('substring("hello", -3, -1)')).toBe('ll');
    expect(val('substring("hello", 0, -1)')).toBe('hell');
    expect(val('substring("hello", -100, 2)')).toBe('he');
    expect(val('substring("hello", 0, 100)')).toBe('hello');
  });
  it('start at or after end, or beyond the length, gives ""', () => {
    expect(val('substring("hello", 3, 1)')).toBe('');
    expect(val('substring("hello", 2, 2)')).toBe('');
    expect(val('substring("hello", 10)')).toBe('');
    expect(val('substring("hello", -1, -3)')).toBe('');
  });
  it('null source gives null', () => {
    expect(val('substring(s, 1)', {})).toBeNull();
  });
});

describe('number', () => {
  it('parses longs and doubles with sign and whitespace', () => {
    expect(val('number("42")')).toBe(42);
    expect(val('number("  42 ")')).toBe(42);
    expect(val('number("-1.5")')).toBe(-1.5);
    expect(val('number("+7")')).toBe(7);
    expect(val('number("1e3")')).toBe(1000);
    expect(val('number(".5")')).toBe(0.5);
  });
  it('0x means base 16; an explicit base', () => {
    expect(val('number("0x1F")')).toBe(31);
    expect(val('number("0xff", 16)')).toBe(255);
    expect(val('number("ff", 16)')).toBe(255);
    expect(val('number("-ff", 16)')).toBe(-255);
    expect(val('number("101", 2)')).toBe(5);
    expect(val('number("z", 36)')).toBe(35);
    expect(val('number("777", 8)')).toBe(511);
  });
  it('invalid input gives null', () => {
    expect(val('number("abc")')).toBeNull();
    expect(val('number("12abc")')).toBeNull();
    expect(val('number("")')).toBeNull();
    expect(val('number("12", 2)')).toBeNull();
    expect(val('number("g", 16)')).toBeNull();
    expect(val('number(s)', {})).toBeNull();
  });
  it('in a predicate on a field', () => {
    expect(holds('number(s, 16) == 7', { s: '7' })).toBe(true);
    expect(holds('number(s, 16) == 16', { s: '0x10' })).toBe(true);
    expect(holds('number(s) > 5', { s: ' 10 ' })).toBe(true);
    expect(holds('number(s) > 5', { s: 'ten' })).toBe(false);
  });
});

describe('string', () => {
  it('renders values', () => {
    expect(val('string(42)')).toBe('42');
    expect(val('string(42.5)')).toBe('42.5');
    expect(val('string(true)')).toBe('true');
    expect(val('string("x")')).toBe('x');
    expect(val('string(n)', { n: -3 })).toBe('-3');
    expect(val('string(null)')).toBeNull();
  });
  it('string(x) in~ (...)', () => {
    expect(holds('string(n) in~ ("1", "2")', { n: 2 })).toBe(true);
    expect(holds('string(b) : "TR*"', { b: true })).toBe(true);
  });
});

describe('length', () => {
  it('counts UTF-16 code units like Java', () => {
    expect(val('length("")')).toBe(0);
    expect(val('length("héllo")')).toBe(5);
    expect(val('length(s)', { s: 'cmd.exe' })).toBe(7);
    expect(val('length(s)', { s: '😀' })).toBe(2);
    expect(val('length(s)', {})).toBeNull();
  });
});

describe('startsWith / endsWith / stringContains and ~', () => {
  it('case-sensitive forms', () => {
    expect(val('startsWith("Hello", "He")')).toBe(true);
    expect(val('startsWith("Hello", "he")')).toBe(false);
    expect(val('endsWith("cmd.EXE", ".EXE")')).toBe(true);
    expect(val('endsWith("cmd.EXE", ".exe")')).toBe(false);
    expect(val('stringContains("Regsvr32.exe", "svr")')).toBe(true);
    expect(val('stringContains("Regsvr32.exe", "regsvr32")')).toBe(false);
  });
  it('~ forms are case-insensitive', () => {
    expect(val('startsWith~("Hello", "hE")')).toBe(true);
    expect(val('endsWith~("cmd.EXE", ".exe")')).toBe(true);
    expect(val('stringContains~("Regsvr32.exe", "REGSVR32")')).toBe(true);
    expect(val('startsWith~("Hello", "x")')).toBe(false);
  });
  it('null arguments give null', () => {
    expect(val('startsWith(s, "a")', {})).toBeNull();
    expect(val('endsWith("a", s)', {})).toBeNull();
    expect(val('stringContains(s, "a")', {})).toBeNull();
  });
  it('on a field, an empty constant is a prefix/wildcard query that matches any present value', () => {
    expect(holds('stringContains(s, "")', { s: 'abc' })).toBe(true);
    expect(holds('startsWith(s, "")', { s: '' })).toBe(true);
    expect(holds('stringContains(s, "")', {})).toBe(false);
  });
  it('on a field with a constant, any element of a multi-valued field matches', () => {
    expect(holds('startsWith(t, "b")', { t: ['ab', 'bc'] })).toBe(true);
    expect(holds('endsWith~(t, "C")', { t: ['ab', 'bc'] })).toBe(true);
    expect(holds('stringContains(t, "x")', { t: ['ab', 'bc'] })).toBe(false);
  });
});

describe('cidrMatch', () => {
  const ip = { fieldType: (n: string) => (n === 'ip' ? 'ip' : undefined) };
  it('IPv4 blocks', () => {
    expect(val('cidrMatch(ip, "10.0.0.0/8")', { ip: '10.1.2.3' }, ip)).toBe(true);
    expect(val('cidrMatch(ip, "10.0.0.0/8")', { ip: '11.1.2.3' }, ip)).toBe(false);
    expect(val('cidrMatch(ip, "192.168.1.0/25")', { ip: '192.168.1.127' }, ip)).toBe(true);
    expect(val('cidrMatch(ip, "192.168.1.0/25")', { ip: '192.168.1.128' }, ip)).toBe(false);
    expect(val('cidrMatch(ip, "0.0.0.0/0")', { ip: '8.8.8.8' }, ip)).toBe(true);
    expect(val('cidrMatch(ip, "8.8.8.8/32")', { ip: '8.8.8.8' }, ip)).toBe(true);
    expect(val('cidrMatch(ip, "8.8.8.8")', { ip: '8.8.8.9' }, ip)).toBe(false);
  });
  it('IPv6 blocks; v4 and v6 do not mix', () => {
    expect(val('cidrMatch(ip, "2001:db8::/32")', { ip: '2001:db8:1::1' }, ip)).toBe(true);
    expect(val('cidrMatch(ip, "2001:db8::/32")', { ip: '2001:db9::1' }, ip)).toBe(false);
    expect(val('cidrMatch(ip, "fe80::/10")', { ip: 'febf::1' }, ip)).toBe(true);
    expect(val('cidrMatch(ip, "fe80::/10")', { ip: 'fec0::1' }, ip)).toBe(false);
    expect(val('cidrMatch(ip, "::/0")', { ip: '::1' }, ip)).toBe(true);
    expect(val('cidrMatch(ip, "2001:db8::/32")', { ip: '10.0.0.1' }, ip)).toBe(false);
  });
  it('several blocks: true if any contains the address', () => {
    const q = 'cidrMatch(ip, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")';
    expect(val(q, { ip: '172.31.255.255' }, ip)).toBe(true);
    expect(val(q, { ip: '172.32.0.0' }, ip)).toBe(false);
    expect(val(q, { ip: 'fd12::1' }, ip)).toBe(true);
    expect(val(q, { ip: '8.8.8.8' }, ip)).toBe(false);
  });
  it('a multi-valued address field matches when any value is in a block', () => {
    const q = 'cidrMatch(ip, "192.168.0.0/16")';
    expect(holds(q, { ip: ['10.0.0.1', '192.168.1.1'] }, ip)).toBe(true);
    expect(holds(`not ${q}`, { ip: ['10.0.0.1', '192.168.1.1'] }, ip)).toBe(false);
    expect(holds(q, { ip: ['10.0.0.1', '172.16.0.1'] }, ip)).toBe(false);
  });
  it('missing address is null; not cidrMatch matches it', () => {
    expect(val('cidrMatch(ip, "10.0.0.0/8")', {}, ip)).toBeNull();
    expect(holds('not cidrMatch(ip, "10.0.0.0/8")', {}, ip)).toBe(true);
    expect(holds('cidrMatch(ip, "10.0.0.0/8")', {}, ip)).toBe(false);
  });
});

describe('add, subtract, multiply, divide, modulo', () => {
  it('integer arithmetic', () => {
    expect(val('add(1, 2)')).toBe(3);
    expect(val('subtract(-2, 4)')).toBe(-6);
    expect(val('multiply(3, -4)')).toBe(-12);
    expect(val('divide(7, 2)')).toBe(3);
    expect(val('divide(-7, 2)')).toBe(-3);
    expect(val('modulo(-7, 5)')).toBe(-2);
    expect(val('modulo(7, -5)')).toBe(2);
  });
  it('a float operand gives float arithmetic', () => {
    expect(val('divide(7.0, 2)')).toBe(3.5);
    expect(val('divide(7, 2.0)')).toBe(3.5);
    expect(val('add(0.5, 1)')).toBe(1.5);
    expect(val('modulo(5.5, 2)')).toBe(1.5);
  });
  it('fields, and null propagation', () => {
    expect(val('add(n, 10)', { n: 5 })).toBe(15);
    expect(val('divide(n, 4)', { n: 10 })).toBe(2);
    expect(val('add(n, 1)', {})).toBeNull();
    expect(val('multiply(null, 2)')).toBeNull();
    expect(holds('divide(n, 2) == 41', { n: 83 })).toBe(true);
    expect(holds('subtract(n, 1) > 0', {})).toBe(false);
    expect(holds('not subtract(n, 1) > 0', {})).toBe(true);
  });
});

describe('arithmetic on fields mapped as floating point', () => {
  const o: CompileOptions = { fieldType: (n) => ({ d: 'double', f: 'float', l: 'long' })[n] };
  it('a double/float field gives float division even for an integral JSON value', () => {
    expect(val('divide(d, 2)', { d: 7 }, o)).toBe(3.5);
    expect(val('f / 2', { f: 7 }, o)).toBe(3.5);
    expect(holds('d / 2 == 3.5', { d: 7 }, o)).toBe(true);
    expect(holds('d / 2 == 3', { d: 7 }, o)).toBe(false);
  });
  it('a long field keeps integer division', () => {
    expect(val('divide(l, 2)', { l: 7 }, o)).toBe(3);
    expect(val('l / 2', { l: 7 }, o)).toBe(3);
  });
});
