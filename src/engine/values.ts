// Value semantics shared by comparisons, `in`, keys and functions: how Elasticsearch compares a
// document value with a query constant given the field's mapping type (or, without a mapping,
// the JSON type of the value, which is what dynamic mapping would have chosen).
import { compareInstants, parseInstant } from '../events/time.js';
import { compareIps, parseIp } from './ip.js';

/** How two values are ordered: by the mapping type of the field involved. */
export type CompareMode = 'auto' | 'date' | 'version' | 'ip' | 'number' | 'string' | 'boolean';

const NUMERIC_TYPES = new Set([
  'long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long',
]);

/** Maps an Elasticsearch/ECS field type to the comparison it implies. */
export function modeForType(type: string | undefined): CompareMode {
  if (!type) return 'auto';
  if (type === 'date' || type === 'date_nanos') return 'date';
  if (type === 'version') return 'version';
  if (type === 'ip') return 'ip';
  if (type === 'boolean') return 'boolean';
  if (NUMERIC_TYPES.has(type)) return 'number';
  if (type === 'keyword' || type === 'wildcard' || type === 'constant_keyword' || type === 'text' || type === 'match_only_text') return 'string';
  return 'auto';
}

const NUMERIC = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

export function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/** Renders a scalar as Elasticsearch renders it into a keyword. */
export function scalarToString(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/**
 * Orders a (document value) and b (usually a constant); null when they cannot be compared,
 * which makes the predicate not match, as a failed Lucene query would.
 */
export function compareValues(a: unknown, b: unknown, mode: CompareMode): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  switch (mode) {
    case 'date': {
      const x = parseInstant(a);
      const y = parseInstant(b);
      return x && y ? compareInstants(x, y) : null;
    }
    case 'version':
      return compareVersions(String(a), String(b));
    case 'ip': {
      const x = parseIp(String(a));
      const y = parseIp(String(b));
      return x && y ? compareIps(x, y) : null;
    }
    case 'number': {
      const x = toNumber(a);
      const y = toNumber(b);
      return x === null || y === null ? null : x - y;
    }
    case 'string': {
      const x = scalarToString(a)!;
      const y = scalarToString(b)!;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'boolean': {
      const x = toBoolean(a);
      const y = toBoolean(b);
      return x === null || y === null ? null : Number(x) - Number(y);
    }
    default:
      return compareAuto(a, b);
  }
}

function toBoolean(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return null;
}

function compareAuto(a: unknown, b: unknown): number | null {
  const ta = typeof a;
  const tb = typeof b;
  if (ta === 'string' && tb === 'string') return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  if (ta === 'number' && tb === 'number') return (a as number) - (b as number);
  if (ta === 'boolean' || tb === 'boolean') {
    const x = toBoolean(a);
    const y = toBoolean(b);
    return x === null || y === null ? null : Number(x) - Number(y);
  }
  if ((ta === 'number' && tb === 'string') || (ta === 'string' && tb === 'number')) {
    // A numeric field compared with a string constant, or a keyword holding digits compared with a
    // number: ES converts the constant to the field's type, so compare as numbers when possible.
    const x = toNumber(a);
    const y = toNumber(b);
    if (x !== null && y !== null) return x - y;
    const sa = String(a);
    const sb = String(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  return null;
}

/**
 * Semantic-version order as ES's `version` field type sorts: numeric dot parts, a release sorts
 * after its pre-releases, pre-release identifiers compare numerically or lexically. Strings that
 * are not versions sort after all valid versions, lexically.
 */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) {
    if (pa) return -1;
    if (pb) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const n = Math.max(pa.nums.length, pb.nums.length);
  for (let i = 0; i < n; i++) {
    const d = (pa.nums[i] ?? 0) - (pb.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length === 0 ? 0 : pa.pre.length === 0 ? 1 : -1;
  const m = Math.max(pa.pre.length, pb.pre.length);
  for (let i = 0; i < m; i++) {
    const x = pa.pre[i];
    const y = pb.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : null;
    const ny = /^\d+$/.test(y) ? Number(y) : null;
    if (nx !== null && ny !== null) {
      if (nx !== ny) return nx - ny;
    } else if (nx !== null) return -1;
    else if (ny !== null) return 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function parseVersion(s: string): { nums: number[]; pre: string[] } | null {
  const m = /^(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(s);
  if (!m) return null;
  return { nums: m[1]!.split('.').map(Number), pre: m[2] ? m[2].split('.') : [] };
}

/**
 * Join-key encoding: values that Elasticsearch considers equal encode equally; a number and a
 * string never collide. A string is its own encoding (unless it starts with U+0000, the mark that
 * every other kind of value starts with), so a single-field key is the event's own string: a
 * sequence's maps then hash each value once, however many rules look it up, instead of hashing a
 * fresh prefixed copy per rule (the largest cost of a sequence's state with every rule).
 */
export function encodeKeyValue(v: unknown): string {
  if (typeof v === 'string') return v.charCodeAt(0) === 0 ? '\u0000s' + v : v;
  if (v === null || v === undefined) return '\u0000';
  if (typeof v === 'number') return '\u0000n' + String(v);
  if (typeof v === 'boolean') return v ? '\u0000T' : '\u0000F';
  return '\u0000j' + JSON.stringify(v);
}
