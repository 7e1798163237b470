// The EQL functions, on scalar arguments (multi-valued fields are reduced by the caller).
// Each returns null when a required argument is null, as Elasticsearch's processors do.
import type { FunctionName } from '../eql/ast.js';
import { inCidr, parseCidr, parseIp, type Cidr } from './ip.js';
import { scalarToString, toNumber } from './values.js';

export type Scalar = string | number | boolean | null;

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : scalarToString(v);
}

/**
 * Arithmetic with Java semantics: int/int division truncates, `%` takes the dividend's sign.
 * `floatHint` is set when a literal operand was written as a decimal.
 */
export function arithmetic(op: '+' | '-' | '*' | '/' | '%', a: unknown, b: unknown, floatHint: boolean): number | null {
  const x = toNumber(a);
  const y = toNumber(b);
  if (x === null || y === null) return null;
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      if (y === 0) return null;
      return !floatHint && Number.isInteger(x) && Number.isInteger(y) ? Math.trunc(x / y) : x / y;
    case '%':
      if (y === 0) return null;
      return x % y;
  }
}

export function between(src: unknown, left: unknown, right: unknown, greedy: unknown, ci: boolean): string | null {
  const s = str(src);
  const l = str(left);
  const r = str(right);
  if (s === null || l === null || r === null) return null;
  // ES (StringUtils.between): an empty source, left or right returns the source unchanged.
  if (s === '' || l === '' || r === '') return s;
  const hay = ci ? s.toLowerCase() : s;
  const lo = ci ? l.toLowerCase() : l;
  const ro = ci ? r.toLowerCase() : r;
  const li = hay.indexOf(lo);
  if (li < 0) return '';
  const start = li + lo.length;
  const ri = greedy === true ? hay.lastIndexOf(ro) : hay.indexOf(ro, start);
  if (ri < start) return '';
  return s.substring(start, ri);
}

export function concat(args: unknown[]): string | null {
  let out = '';
  for (const a of args) {
    const s = str(a);
    if (s === null) return null;
    out += s;
  }
  return out;
}

export function indexOf(src: unknown, sub: unknown, start: unknown, ci: boolean): number | null {
  const s = str(src);
  const t = str(sub);
  if (s === null || t === null) return null;
  let from = start === null || start === undefined ? 0 : toNumber(start);
  if (from === null) return null;
  // Java's String.indexOf, as ES calls it: a negative start counts as 0, and a start beyond the
  // end finds nothing, except the empty string, found at the end (JS indexOf clamps the same way).
  from = Math.max(0, Math.trunc(from));
  const i = ci ? s.toLowerCase().indexOf(t.toLowerCase(), from) : s.indexOf(t, from);
  return i < 0 ? null : i;
}

export function substring(src: unknown, start: unknown, end: unknown): string | null {
  const s = str(src);
  if (s === null) return null;
  const len = s.length;
  let a = start === null || start === undefined ? 0 : toNumber(start);
  let b = end === null || end === undefined ? len : toNumber(end);
  if (a === null || b === null) return null;
  a = Math.trunc(a);
  b = Math.trunc(b);
  if (a < 0) a = Math.max(0, len + a);
  if (b < 0) b = Math.max(0, len + b);
  b = Math.min(b, len);
  if (a >= b) return '';
  return s.substring(a, b);
}

/** `number(s[, base])`: Java Long/Double parsing; `0x` prefix means base 16. */
export function toNumberFn(src: unknown, base: unknown): number | null {
  if (src === null || src === undefined) return null;
  if (typeof src === 'number') return src;
  let s = String(src).trim();
  let radix = base === null || base === undefined ? 10 : toNumber(base);
  if (radix === null || radix < 2 || radix > 36) return null;
  let sign = 1;
  if (s.startsWith('+') || s.startsWith('-')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if ((radix === 10 && base === undefined) || radix === 16) {
    if (/^0[xX]/.test(s)) {
      radix = 16;
      s = s.slice(2);
    }
  }
  if (radix === 10) {
    if (/^\d+$/.test(s)) return sign * Number(s);
    if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return sign * Number(s);
    return null;
  }
  const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, radix);
  if (s.length === 0 || ![...s.toLowerCase()].every((c) => digits.includes(c))) return null;
  return sign * parseInt(s, radix);
}

export type FunctionImpl = (args: unknown[]) => unknown;

/** startsWith/endsWith/stringContains: null on a null argument, `~` folds both sides. */
function stringPredicate(ci: boolean, test: (s: string, sub: string) => boolean): FunctionImpl {
  return (a) => {
    const s = str(a[0]);
    const t = str(a[1]);
    if (s === null || t === null) return null;
    return ci ? test(s.toLowerCase(), t.toLowerCase()) : test(s, t);
  };
}

/**
 * The implementation of a function given its name and `~`. Argument checks that depend only on
 * the query (arity, constant CIDRs) were done at parse/compile time.
 */
export function functionImpl(name: FunctionName, ci: boolean, constArgs: (unknown | undefined)[]): FunctionImpl {
  switch (name) {
    case 'add':
      return (a) => arithmetic('+', a[0], a[1], false);
    case 'subtract':
      return (a) => arithmetic('-', a[0], a[1], false);
    case 'multiply':
      return (a) => arithmetic('*', a[0], a[1], false);
    case 'divide':
      return (a) => arithmetic('/', a[0], a[1], false);
    case 'modulo':
      return (a) => arithmetic('%', a[0], a[1], false);
    case 'between':
      return (a) => between(a[0], a[1], a[2], a[3] ?? false, ci);
    case 'concat':
      return concat;
    case 'endsWith':
      return stringPredicate(ci, (x, y) => x.endsWith(y));
    case 'startsWith':
      return stringPredicate(ci, (x, y) => x.startsWith(y));
    case 'stringContains':
      return stringPredicate(ci, (x, y) => x.includes(y));
    case 'indexOf':
      return (a) => indexOf(a[0], a[1], a[2], ci);
    case 'length':
      return (a) => {
        const s = str(a[0]);
        return s === null ? null : s.length;
      };
    case 'number':
      return (a) => toNumberFn(a[0], a[1]);
    case 'string':
      return (a) => str(a[0]);
    case 'substring':
      return (a) => substring(a[0], a[1], a[2]);
    case 'cidrMatch': {
      // CIDR blocks are constants in every valid query: parse them once.
      const blocks: (Cidr | null)[] = constArgs.slice(1).map((c) => (typeof c === 'string' ? parseCidr(c) : null));
      return (a) => {
        const s = str(a[0]);
        if (s === null) return null;
        const ip = parseIp(s);
        if (!ip) return false;
        for (let i = 1; i < a.length; i++) {
          const block = blocks[i - 1] ?? (typeof a[i] === 'string' ? parseCidr(a[i] as string) : null);
          if (block && inCidr(ip, block)) return true;
        }
        return false;
      };
    }
  }
}
