// An index mapping, as Elasticsearch's `GET <index>/_mapping` returns it, for the decisions that
// depend on it: which fields exist (a `?field` that is not mapped is null; a field without `?`
// that is not mapped is an error, ES's "Unknown column"), and each field's type (dates, ips,
// versions, numbers compare by type; Doubles print as Java does). A `text` field is used through
// its keyword sub-field, as ES's EQL does; a text field without one cannot be used.
import type { Statement } from '../eql/ast.js';
import { EqlError } from '../eql/errors.js';
import { collectFields, forEachField, type FieldRef } from '../eql/index.js';
import { ioReason, readFileCapped } from '../util/files.js';

export interface IndexMapping {
  /** Leaf field → mapping type (`text` with a keyword sub-field is recorded as keyword). */
  types: Map<string, string>;
  /** Alias field → the field it points to. */
  aliases: Map<string, string>;
  /** Text fields without a keyword sub-field: mapped, but unusable in EQL. */
  inexact: Set<string>;
  /** `nested` fields: neither they nor the fields below them can be used in EQL. */
  nested: Set<string>;
}

const KEYWORD_FAMILY = new Set(['keyword', 'constant_keyword', 'wildcard']);
const TEXT_FAMILY = new Set(['text', 'match_only_text']);
/** Bound on the walk (hostile files): ES's own default limit is 1,000 fields per index. */
const MAX_FIELDS = 100_000;
const MAX_DEPTH = 64;

/** A mapping file's indices, each with its own mapping (ES resolves a search's fields per index). */
export interface IndexMappings {
  /** In file order; `name` is null for a mapping given without its index (`{"mappings": …}`). */
  indices: { name: string | null; mapping: IndexMapping }[];
}

/**
 * Reads a mapping: the `_mapping` response (`{"<index>": {"mappings": {...}}}`, one entry per
 * index), or one index's `{"mappings": {...}}`, or bare `{"properties": {...}}`. Throws an Error
 * with a one-line reason when the shape is not a mapping.
 */
export function parseIndexMappings(json: unknown): IndexMappings {
  if (!isObject(json)) throw new Error('a mapping must be a JSON object');
  const bodies: { name: string | null; body: Record<string, unknown> }[] = [];
  if (isObject(json.properties) || isObject(json.runtime)) bodies.push({ name: null, body: json });
  else if (isObject(json.mappings)) bodies.push({ name: null, body: json.mappings });
  else {
    for (const [index, v] of Object.entries(json)) {
      if (!isObject(v) || !isObject(v.mappings)) throw new Error(`"${index}" holds no "mappings" object (expected the response of GET <index>/_mapping)`);
      bodies.push({ name: index, body: v.mappings });
    }
  }
  let count = 0;
  return {
    indices: bodies.map(({ name, body }) => ({
      name,
      mapping: readBody(body, () => {
        if (++count > MAX_FIELDS) throw new Error(`more than ${MAX_FIELDS.toLocaleString('en-US')} fields`);
      }),
    })),
  };
}

/** Reads a mapping file; throws an Error with a one-line reason (`cannot read: no such file or directory`, the shape). */
export function loadIndexMappings(file: string): IndexMappings {
  let text: string;
  try {
    text = readFileCapped(file).toString('utf8');
  } catch (e) {
    throw new Error(`cannot read: ${ioReason(e)}`);
  }
  // JSON.parse would say "Unexpected end of JSON input" of an empty file (a failed curl > file).
  if (text.trim() === '') throw new Error("empty file: expected the JSON that Elasticsearch's GET <index>/_mapping returns");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  return parseIndexMappings(json);
}

/** The mapping of several indices together, as a search over all of them sees it. */
export function mergeMappings(list: readonly IndexMapping[]): IndexMapping {
  const m: IndexMapping = { types: new Map(), aliases: new Map(), inexact: new Set(), nested: new Set() };
  for (const one of list) {
    // Indices that disagree on a field's type: ES reports it as a conflict; the first one is kept.
    for (const [name, type] of one.types) if (!m.types.has(name)) m.types.set(name, type);
    for (const [name, path] of one.aliases) if (!m.aliases.has(name)) m.aliases.set(name, path);
    for (const name of one.inexact) m.inexact.add(name);
    for (const name of one.nested) m.nested.add(name);
  }
  // A field that is exact in one index (keyword sub-field) and inexact in another stays usable.
  for (const name of [...m.inexact]) if (list.some((one) => one.types.has(name) && !one.inexact.has(name))) m.inexact.delete(name);
  return m;
}

/** Every index of a mapping file merged (what `eqlite query`, which searches them all, uses). */
export function parseMapping(json: unknown): IndexMapping {
  return mergeMappings(parseIndexMappings(json).indices.map((i) => i.mapping));
}

/**
 * The mapping a search over some indices sees: the indices of the file the search's index patterns
 * select (a mapping given without its index applies to every search), merged; null when the file
 * holds none of them.
 */
export function mappingForIndices(m: IndexMappings, selects: (index: string) => boolean): IndexMapping | null {
  const picked = m.indices.filter((i) => i.name === null || selects(i.name)).map((i) => i.mapping);
  return picked.length === 0 ? null : mergeMappings(picked);
}

/** The compile options a mapping decides: field types and which fields exist. */
export function mappingCompileOptions(m: IndexMapping): { fieldType: (name: string) => string | undefined; fieldExists: (name: string) => boolean } {
  return { fieldType: (f) => mappingType(m, f), fieldExists: (f) => isMapped(m, f) };
}

/**
 * What ES's analyzer does with a query against a mapping before it runs: unknown fields and
 * unusable text fields are errors (EqlError), aliases read their targets (the statement is changed
 * in place).
 */
export function applyMapping(stmt: Statement, m: IndexMapping): void {
  verifyFields(stmt, m);
  resolveAliases(stmt, m);
}

function readBody(b: Record<string, unknown>, counted: () => void): IndexMapping {
  const m: IndexMapping = { types: new Map(), aliases: new Map(), inexact: new Set(), nested: new Set() };
  const add = (name: string, type: string): void => {
    counted();
    if (!m.types.has(name)) m.types.set(name, type);
  };
  const walk = (props: Record<string, unknown>, prefix: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error(`fields nested deeper than ${MAX_DEPTH} levels`);
    for (const [key, raw] of Object.entries(props)) {
      if (!isObject(raw)) continue;
      const name = prefix + key;
      const type = typeof raw.type === 'string' ? raw.type : isObject(raw.properties) ? 'object' : undefined;
      if (isObject(raw.properties)) walk(raw.properties, name + '.', depth + 1);
      if (type === 'nested') m.nested.add(name);
      if (type === undefined || type === 'object' || type === 'nested') continue;
      if (type === 'alias') {
        if (typeof raw.path === 'string') m.aliases.set(name, raw.path);
        continue;
      }
      const subs = isObject(raw.fields) ? raw.fields : {};
      let exact = false;
      for (const [sub, sraw] of Object.entries(subs)) {
        if (!isObject(sraw) || typeof sraw.type !== 'string') continue;
        // A text sub-field (ECS's `process.command_line.text`) has no exact variant of its own.
        if (TEXT_FAMILY.has(sraw.type)) {
          add(`${name}.${sub}`, 'keyword');
          m.inexact.add(`${name}.${sub}`);
        } else add(`${name}.${sub}`, sraw.type);
        if (KEYWORD_FAMILY.has(sraw.type)) exact = true;
      }
      if (TEXT_FAMILY.has(type)) {
        add(name, 'keyword');
        if (!exact) m.inexact.add(name);
      } else add(name, type);
    }
  };
  if (isObject(b.properties)) walk(b.properties, '', 0);
  // Runtime fields are mapped too, with their declared type.
  if (isObject(b.runtime)) for (const [name, r] of Object.entries(b.runtime)) if (isObject(r) && typeof r.type === 'string') add(name, r.type);
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
 * mapped ("Unknown column"), a text field needs a keyword sub-field, and nothing at or below a
 * `nested` field can be used. Throws one EqlError standing for every such field (ES lists them
 * all), in the order they are written.
 */
export function verifyFields(stmt: Statement, m: IndexMapping): void {
  const problems: EqlError[] = [];
  for (const f of collectFields(stmt)) {
    const problem = fieldProblem(f, m);
    if (problem) problems.push(new EqlError('semantic', problem.message, stmt.source, f.span, problem.hint));
  }
  if (problems.length > 0) throw EqlError.of(problems);
}

/** What is wrong with one field reference against the mapping, if anything. */
function fieldProblem(f: FieldRef, m: IndexMapping): { message: string; hint?: string } | null {
  const target = m.aliases.get(f.name) ?? f.name;
  const nested = nestedAbove(m, target);
  if (nested !== undefined) {
    return {
      message:
        nested === target
          ? `field \`${f.name}\` is nested, which Elasticsearch EQL cannot use`
          : `field \`${f.name}\` is below the nested field \`${nested}\`, which Elasticsearch EQL cannot use`,
    };
  }
  if (!m.types.has(target)) {
    if (f.optional) return null;
    return { message: `unknown field \`${f.name}\`: it is not in the mapping`, hint: `write ?${f.name} for a field that may be missing from the mapping` };
  }
  if (m.inexact.has(target)) {
    return {
      message: `field \`${f.name}\` is a text field without a keyword sub-field, which EQL cannot use`,
      hint: 'map a keyword sub-field (for example "fields": {"keyword": {"type": "keyword"}})',
    };
  }
  return null;
}

/** The field itself or the closest field above it that is `nested`, or undefined. */
function nestedAbove(m: IndexMapping, name: string): string | undefined {
  if (m.nested.size === 0) return undefined;
  for (let end = name.length; end > 0; end = name.lastIndexOf('.', end - 1)) {
    const prefix = name.slice(0, end);
    if (m.nested.has(prefix)) return prefix;
  }
  return undefined;
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
