// Join keys as Elasticsearch's EQL response writes them (`join_keys` of sequences and samples):
// the values come back with the Java class of the key field's type, and Jackson prints numbers by
// class — a long's digits, a Double as Double.toString (`1.0`, `1.0E21`, `1.0E-4`), a Float as
// Float.toString — while a keyword (or ip, version, text) field holding a JSON number or boolean
// gives its text, a string. JSON.stringify would print `1`, `1e+21` and `0.0001`.
import type { Expr, Statement } from '../eql/ast.js';
import { javaDoubleToString, javaFloatToString } from './java-number.js';

/** How one key position prints: by its field's mapping type, or by its JSON value without one. */
export type KeyClass = 'long' | 'double' | 'float' | 'text' | 'raw' | 'dynamic';

const LONG_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const TEXT_TYPES = new Set(['keyword', 'constant_keyword', 'wildcard', 'text', 'match_only_text', 'ip', 'version']);

function classOf(e: Expr, fieldType: ((name: string) => string | undefined) | undefined): KeyClass {
  if (e.kind !== 'field') return 'dynamic';
  const t = fieldType?.(e.name);
  if (t === undefined) return 'dynamic';
  if (LONG_TYPES.has(t)) return 'long';
  if (t === 'double' || t === 'scaled_float') return 'double';
  if (t === 'float' || t === 'half_float') return 'float';
  if (TEXT_TYPES.has(t)) return 'text';
  return 'raw';
}

/** The class of each join key of a sequence or sample query (none for an event query). */
export function joinKeyClasses(stmt: Statement, fieldType?: (name: string) => string | undefined): KeyClass[] {
  const q = stmt.query;
  if (q.kind === 'event') return [];
  const keys = [...q.by, ...(q.terms[0]?.by ?? [])];
  return keys.map((k) => classOf(k, fieldType));
}

/** The JSON text of a result's join keys, each value printed as its class prints in ES. */
export function joinKeysJson(values: readonly unknown[], classes: readonly KeyClass[]): string {
  return '[' + values.map((v, i) => keyJson(v, classes[i] ?? 'dynamic')).join(',') + ']';
}

function keyJson(v: unknown, cls: KeyClass): string {
  if (typeof v === 'number' && Number.isFinite(v)) {
    switch (cls) {
      case 'long':
        return BigInt(Math.trunc(v)).toString();
      case 'double':
        return javaDoubleToString(v);
      case 'float':
        return javaFloatToString(v);
      case 'text':
        return JSON.stringify(String(v));
      case 'dynamic':
        // Dynamic mapping: a JSON integer makes a long, a fraction a float.
        return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? BigInt(v).toString() : javaFloatToString(v);
      default:
        return JSON.stringify(v);
    }
  }
  if (typeof v === 'boolean' && cls === 'text') return JSON.stringify(String(v));
  return JSON.stringify(v ?? null);
}
