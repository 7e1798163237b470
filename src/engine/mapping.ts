// An index mapping, as Elasticsearch's `GET <index>/_mapping` returns it, for the decisions that
// depend on it: which fields exist (a `?field` that is not mapped is null; a field without `?`
// that is not mapped is an error, ES's "Unknown column"), and each field's type (dates, ips,
// versions, numbers compare by type; Doubles print as Java does). A `text` field is used through
// its keyword sub-field, as ES's EQL does; a text field without one cannot be used.
import type { Statement } from '../eql/ast.js';
import { EqlError } from '../eql/errors.js';
import { collectFields, forEachField } from '../eql/index.js';

export interface IndexMapping {
  /** Leaf field → mapping type (`text` with a keyword sub-field is recorded as keyword). */
  types: Map<string, string>;
  /** Alias field → the field it points to. */
  aliases: Map<string, string>;
  /** Text fields without a keyword sub-field: mapped, but unusable in EQL. */
  inexact: Set<string>;
}

const KEYWORD_FAMILY = new Set(['keyword', 'constant_keyword', 'wildcard']);
const TEXT_FAMILY = new Set(['text', 'match_only_text']);
/** Bound on the walk (hostile files): ES's own default limit is 1,000 fields per index. */
const MAX_FIELDS = 100_000;
const MAX_DEPTH = 64;

/**
 * Reads a mapping: the `_mapping` response (`{"<index>": {"mappings": {...}}}`, several indices
 * are merged), or one index's `{"mappings": {...}}`, or bare `{"properties": {...}}`. Throws an
 * Error with a one-line reason when the shape is not a mapping.
 */
export function parseMapping(json: unknown): IndexMapping {
  const m: IndexMapping = { types: new Map(), aliases: new Map(), inexact: new Set() };
  const bodies: Record<string, unknown>[] = [];
  if (!isObject(json)) throw new Error('a mapping must be a JSON object');
  if (isObject(json.properties) || isObject(json.runtime)) bodies.push(json);
  else if (isObject(json.mappings)) bodies.push(json.mappings);
  else {
    for (const [index, v] of Object.entries(json)) {
      if (!isObject(v) || !isObject(v.mappings)) throw new Error(`"${index}" holds no "mappings" object (expected the response of GET <index>/_mapping)`);
      bodies.push(v.mappings);
    }
  }
  let count = 0;
  const add = (name: string, type: string): void => {
    if (++count > MAX_FIELDS) throw new Error(`more than ${MAX_FIELDS.toLocaleString('en-US')} fields`);
    const had = m.types.get(name);
    // Indices that disagree on a field's type: ES reports it as a conflict; the first one is kept.
    if (had === undefined) m.types.set(name, type);
  };
  const walk = (props: Record<string, unknown>, prefix: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error(`fields nested deeper than ${MAX_DEPTH} levels`);
    for (const [key, raw] of Object.entries(props)) {
      if (!isObject(raw)) continue;
      const name = prefix + key;
      const type = typeof raw.type === 'string' ? raw.type : isObject(raw.properties) ? 'object' : undefined;
      if (isObject(raw.properties)) walk(raw.properties, name + '.', depth + 1);
      if (type === undefined || type === 'object' || type === 'nested') continue;
      if (type === 'alias') {
        if (typeof raw.path === 'string') m.aliases.set(name, raw.path);
        continue;
      }
      const subs = isObject(raw.fields) ? raw.fields : {};
      let exact = false;
      for (const [sub, sraw] of Object.entries(subs)) {
        if (!isObject(sraw) || typeof sraw.type !== 'string') continue;
        add(`${name}.${sub}`, sraw.type);
        if (KEYWORD_FAMILY.has(sraw.type)) exact = true;
      }
      if (TEXT_FAMILY.has(type)) {
        add(name, 'keyword');
        if (!exact) m.inexact.add(name);
      } else add(name, type);
    }
  };
  for (const b of bodies) {
    if (isObject(b.properties)) walk(b.properties, '', 0);
    // Runtime fields are mapped too, with their declared type.
    if (isObject(b.runtime)) for (const [name, r] of Object.entries(b.runtime)) if (isObject(r) && typeof r.type === 'string') add(name, r.type);
  }
  return m;
}

/** The field's mapping type (through aliases), or undefined when it is not mapped. */
export function mappingType(m: IndexMapping, name: string): string | undefined {
  return m.types.get(m.aliases.get(name) ?? name);
}

export function isMapped(m: IndexMapping, name: string): boolean {
  return m.types.has(m.aliases.get(name) ?? name);
}

/**
 * ES's verification of a query's fields against the mapping: a field written without `?` must be
 * mapped ("Unknown column"), and a text field needs a keyword sub-field. Throws EqlError.
 */
export function verifyFields(stmt: Statement, m: IndexMapping): void {
  for (const f of collectFields(stmt)) {
    const target = m.aliases.get(f.name) ?? f.name;
    if (!m.types.has(target)) {
      if (f.optional) continue;
      throw new EqlError(
        'semantic',
        `unknown field \`${f.name}\`: it is not in the mapping`,
        stmt.source,
        f.span,
        `write ?${f.name} for a field that may be missing from the mapping`,
      );
    }
    if (m.inexact.has(target)) {
      throw new EqlError(
        'semantic',
        `field \`${f.name}\` is a text field without a keyword sub-field, which EQL cannot use`,
        stmt.source,
        f.span,
        'map a keyword sub-field (for example "fields": {"keyword": {"type": "keyword"}})',
      );
    }
  }
}

/**
 * Points fields that are aliases at their targets, in place: an alias has no value of its own in
 * `_source`, ES reads the target's.
 */
export function resolveAliases(stmt: Statement, m: IndexMapping): void {
  if (m.aliases.size === 0) return;
  forEachField(stmt, (f) => {
    const target = m.aliases.get(f.name);
    if (target !== undefined) f.name = target;
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
