// Numbers as text the way Elasticsearch prints them (src/engine/java-number.ts). Expected values
// are Java's: Double.toString as specified since JDK 19 (shortest decimal that rounds back,
// closest on equal length, one-digit results compete with two-digit ones; plain layout for
// 10^-3 ≤ |v| < 10^7 with at least one fraction digit, else d.dddE±n), and Long.toString for
// integers. Which class a value has in ES: a decimal literal is a Double, an integer literal an
// Integer/Long, arithmetic with a Double operand a Double (QL's Arithmetics), `number()` a Long
// unless DecimalFormat.parse found a fraction or left the long range, a field per its mapping
// (dynamic mapping: JSON fractions are floats, JSON integers longs).
import { describe, expect, it } from 'vitest';
import { compileValue } from '../src/engine/expr.js';
import { javaDoubleToString, javaNumberToString } from '../src/engine/java-number.js';
import { parseExpression } from '../src/eql/index.js';

describe('javaDoubleToString (Double.toString, JDK 19+)', () => {
  it.each([
    [0.1, '0.1'],
    [1.0, '1.0'],
    [100, '100.0'],
    [42.5, '42.5'],
    [0.30000000000000004, '0.30000000000000004'],
    // The plain range is 10^-3 ≤ |v| < 10^7; outside it, computerized scientific notation.
    [0.001, '0.001'],
    [0.00123, '0.00123'],
    [1.0e-4, '1.0E-4'],
    [-1.5e-7, '-1.5E-7'],
    [9999999.0, '9999999.0'],
    [1234567.0, '1234567.0'],
    [1e7, '1.0E7'],
    [12345678.9, '1.23456789E7'],
    [123456789012, '1.23456789012E11'],
    [1e21, '1.0E21'],
    [2e23, '2.0E23'],
    [2 ** 63, '9.223372036854776E18'],
    [9007199254740993, '9.007199254740992E15'],
    [1.7976931348623157e308, '1.7976931348623157E308'],
    [2.2250738585072014e-308, '2.2250738585072014E-308'],
    // One digit would round back (JavaScript: 5e-324, 1e-323), but a two-digit decimal is closer.
    [5e-324, '4.9E-324'],
    [1e-323, '9.9E-324'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [0, '0.0'],
    [-0, '-0.0'],
  ])('%s → %s', (v, text) => {
    expect(javaDoubleToString(v)).toBe(text);
  });

  it('Long/Integer print their digits; a fraction is always a Double', () => {
    expect(javaNumberToString(123456789012, false)).toBe('123456789012');
    expect(javaNumberToString(-7, false)).toBe('-7');
    expect(javaNumberToString(-0, false)).toBe('0');
    expect(javaNumberToString(2.5, false)).toBe('2.5');
    expect(javaNumberToString(7, true)).toBe('7.0');
  });
});

type Src = Record<string, unknown>;
function val(text: string, src: Src = {}, types: Record<string, string> = {}): unknown {
  return compileValue(parseExpression(text), { fieldType: (n) => types[n] })(src);
}

describe('string() and concat() print numbers by their Java class', () => {
  it('literals: decimal literals are Doubles, integers are not', () => {
    expect(val('string(1.0)')).toBe('1.0');
    expect(val('string(1)')).toBe('1');
    expect(val('string(1e7)')).toBe('1.0E7');
    expect(val('string(0.0001)')).toBe('1.0E-4');
    expect(val('string(123456789012)')).toBe('123456789012');
    expect(val('string(-0.0)')).toBe('-0.0');
    expect(val('concat("x", 1.5, 2, 10000000.0)')).toBe('x1.521.0E7');
  });
  it('arithmetic: a Double operand makes a Double, even when the result is whole (also after folding)', () => {
    expect(val('string(add(0.5, 0.5))')).toBe('1.0');
    expect(val('string(0.5 + 0.5)')).toBe('1.0');
    expect(val('string(add(1, 2))')).toBe('3');
    expect(val('string(divide(7, 2))')).toBe('3');
    expect(val('string(divide(7.0, 2))')).toBe('3.5');
    expect(val('string(multiply(n, 1.0))', { n: 123456789012 })).toBe('1.23456789012E11');
    expect(val('string(n * 2)', { n: 3 })).toBe('6');
  });
  it('fields: by mapping type; without one, as dynamic mapping types the JSON value', () => {
    expect(val('string(n)', { n: 1e7 })).toBe('10000000');
    expect(val('string(n)', { n: 1e7 }, { n: 'double' })).toBe('1.0E7');
    expect(val('string(n)', { n: 2 }, { n: 'float' })).toBe('2.0');
    expect(val('string(n)', { n: 0.0001 })).toBe('1.0E-4');
    expect(val('string(n)', { n: 42.5 })).toBe('42.5');
    expect(val('concat(n, "/", m)', { n: 3, m: 3 }, { m: 'scaled_float' })).toBe('3/3.0');
  });
  it('a Double computed from fields divides as a Double: (1.5 + 1.5) / 2 is 1.5, not 1', () => {
    expect(val('(a + b) / 2', { a: 1.5, b: 1.5 })).toBe(1.5);
    expect(val('divide(add(a, b), 2)', { a: 1.5, b: 1.5 })).toBe(1.5);
    expect(val('(a + b) / 2', { a: 1, b: 2 })).toBe(1);
  });
  it('number(): a Long unless the text has a fraction or leaves the long range', () => {
    expect(val('string(number("1.0"))')).toBe('1');
    expect(val('string(number("2.5"))')).toBe('2.5');
    expect(val('string(number("1E20"))')).toBe('1.0E20');
    expect(val('string(number(s))', { s: "12" })).toBe('12');
    expect(val('string(number(s))', { s: "0.25" })).toBe('0.25');
  });
});
