// Numbers as Elasticsearch turns them into text inside EQL functions (`string`, `concat`): the
// value's Java class decides, Long/Integer print their digits, Double prints as Java's
// Double.toString (JDK 19 and later, which every supported Elasticsearch bundles):
//   * digits: the shortest decimal that rounds back to the double; among equally short ones the
//     closest, ties to an even last digit. When one digit would do, decimals of one OR two digits
//     compete, so the double nearest 4.9E-324 prints as 4.9E-324 where JavaScript prints 5e-324;
//   * form: 10^-3 ≤ |v| < 10^7 plain with at least one fraction digit (`1.0`, `0.001`,
//     `1234567.0`), otherwise one digit, a point, at least one more digit and `E` with the
//     exponent (`1.0E7`, `1.0E-4`, `1.23456789012E11`); `NaN`, `Infinity`, `-Infinity`, `-0.0`.
// JavaScript's own shortest digits differ only in the one-digit case and in ties, and its layout
// differs everywhere (`1`, `10000000`, `0.0001`, `1e+21`), so only the layout is reused from the
// engine: toExponential(p - 1) gives the decimal of p digits closest to the exact binary value.

/** Java's Double.toString(v). */
export function javaDoubleToString(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const neg = v < 0;
  const { digits, exp } = shortestDecimal(Math.abs(v));
  return (neg ? '-' : '') + layout(digits, exp);
}

/**
 * How Elasticsearch prints a number whose Java class is known: `isDouble` for a Double (a decimal
 * literal, a floating-point field, arithmetic with a Double, `number()` of a fraction), otherwise a
 * Long/Integer, whose digits JavaScript prints the same way (|v| < 2^63 < 10^21 never needs an
 * exponent).
 */
export function javaNumberToString(v: number, isDouble: boolean): string {
  if (isDouble || !Number.isInteger(v)) return javaDoubleToString(v);
  return Object.is(v, -0) ? '0' : String(v);
}

/** Significant digits (no trailing zeros) and the decimal exponent of the first digit. */
function shortestDecimal(x: number): { digits: string; exp: number } {
  for (let p = 1; p <= 17; p++) {
    let d = decimalOfLength(x, p);
    if (Number(`${d.digits}e${d.exp - d.digits.length + 1}`) !== x) continue;
    if (p === 1) {
      // One or two digits compete: the two-digit decimal closest to x is at least as close as
      // the one-digit one (which is also a two-digit decimal ending in 0), and rounds back too.
      const two = decimalOfLength(x, 2);
      if (Number(`${two.digits}e${two.exp - 1}`) === x) d = two;
    }
    d = evenOnTie(x, d);
    return { digits: stripZeros(d.digits), exp: d.exp };
  }
  // Unreachable: 17 digits always round back.
  const s = x.toExponential();
  const [m, e] = s.split('e') as [string, string];
  return { digits: stripZeros(m.replace('.', '')), exp: Number(e) };
}

/** The decimal of `p` significant digits closest to x (ties: the larger, as ECMAScript says). */
function decimalOfLength(x: number, p: number): { digits: string; exp: number } {
  const s = x.toExponential(p - 1);
  const at = s.indexOf('e');
  return { digits: s.slice(0, at).replace('.', ''), exp: Number(s.slice(at + 1)) };
}

/**
 * ECMAScript breaks a tie between two decimals upwards, Java towards the even last digit. A tie
 * means x lies exactly halfway: then the decimal one unit lower is as close, and is taken when
 * the chosen one ends in an odd digit and the lower one still rounds back to x.
 */
function evenOnTie(x: number, d: { digits: string; exp: number }): { digits: string; exp: number } {
  const last = d.digits.charCodeAt(d.digits.length - 1) - 48;
  if (last % 2 === 0) return d;
  const q = d.exp - d.digits.length + 1;
  const n = BigInt(d.digits);
  if (!isExactly(x, 2n * n - 1n, q, 2)) return d;
  const lower = (n - 1n).toString();
  if (lower.length !== d.digits.length) return d;
  if (Number(`${lower}e${q}`) !== x) return d;
  return { digits: lower, exp: d.exp };
}

/** Whether x equals num · 10^q / den exactly (x finite, positive). */
function isExactly(x: number, num: bigint, q: number, den: number): boolean {
  // x = mant · 2^e2 with an integer mantissa.
  let e2 = 0;
  let mant = x;
  while (!Number.isInteger(mant)) {
    mant *= 2;
    e2--;
  }
  while (mant > Number.MAX_SAFE_INTEGER) {
    mant /= 2;
    e2++;
  }
  // mant · 2^e2 · den == num · 10^q, both sides scaled to integers.
  let left = BigInt(mant) * BigInt(den);
  let right = num;
  if (e2 >= 0) left *= 2n ** BigInt(e2);
  else right *= 2n ** BigInt(-e2);
  if (q >= 0) right *= 10n ** BigInt(q);
  else left *= 10n ** BigInt(-q);
  return left === right;
}

function stripZeros(digits: string): string {
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
  return digits.slice(0, end);
}

/** Java's layout of digits d1 d2 … × 10^exp (exp: the power of the first digit). */
function layout(digits: string, exp: number): string {
  if (exp >= -3 && exp < 7) {
    if (exp < 0) return `0.${'0'.repeat(-exp - 1)}${digits}`;
    const intLen = exp + 1;
    if (digits.length <= intLen) return `${digits}${'0'.repeat(intLen - digits.length)}.0`;
    return `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  }
  const frac = digits.length > 1 ? digits.slice(1) : '0';
  return `${digits[0]}.${frac}E${exp}`;
}

/**
 * Java's Float.toString of the float nearest v (a `float`/`half_float` field's value as ES returns
 * it): the shortest decimal that rounds back to that float, in the same layout as a Double.
 */
export function javaFloatToString(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f) || !Number.isFinite(f) || f === 0) return javaDoubleToString(f);
  const x = Math.abs(f);
  for (let p = 1; p <= 9; p++) {
    let d = decimalOfLength(x, p);
    if (Math.fround(Number(`${d.digits}e${d.exp - d.digits.length + 1}`)) !== x) continue;
    if (p === 1) {
      const two = decimalOfLength(x, 2);
      if (Math.fround(Number(`${two.digits}e${two.exp - 1}`)) === x) d = two;
    }
    return (f < 0 ? '-' : '') + layout(stripZeros(d.digits), d.exp);
  }
  return javaDoubleToString(f);
}
