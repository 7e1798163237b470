// Elasticsearch's type resolution of an EQL query: every function and operator checks the types
// of its arguments (TypeResolutions.isString, isNumeric, isInteger, isBoolean, isIP, isFoldable in
// each function's resolveType()), a `where` condition must be boolean, and the join keys of a
// sequence must have compatible types. ES refuses such a query before it runs; so do we.
//
// Types come from literals (always known) and from fields, through a resolver the caller gives
// (the index mapping, or ECS for the data Elastic's rules target). A field whose type is unknown,
// or an expression built on one, is never refused: only what ES would certainly refuse is.

import type { Call, Expr, SequenceTerm, Span, Statement } from './ast.js';
import { EqlError } from './errors.js';

/** What the type checks know about fields. */
export interface FieldTypes {
  /** Mapping type of a field (`long`, `keyword`, `ip`, ...); undefined when unknown. */
  fieldType?: (name: string) => string | undefined;
  /** Whether the field exists at all: a `?field` that does not is null. Default: unknown. */
  fieldExists?: (name: string) => boolean;
}

/**
 * ES's data-type families. `number` is a numeric whose width is unknown (arithmetic over a field
 * of unknown type: whatever that field is, the result is numeric or the operator is refused).
 */
type Family = 'string' | 'integer' | 'rational' | 'number' | 'boolean' | 'date' | 'ip' | 'version' | 'null' | 'unresolved';

/** A resolved type: its family for the checks, its name for messages. Undefined: unknown. */
interface EsType {
  family: Family;
  name: string;
}

/** Mapping types ES's EQL resolves, by family; any other type (object, flattened, geo_point, ...) is left unknown. */
const FAMILY_OF_MAPPING: Readonly<Record<string, Family>> = {
  keyword: 'string',
  constant_keyword: 'string',
  wildcard: 'string',
  text: 'string',
  match_only_text: 'string',
  long: 'integer',
  integer: 'integer',
  short: 'integer',
  byte: 'integer',
  unsigned_long: 'integer',
  double: 'rational',
  float: 'rational',
  half_float: 'rational',
  scaled_float: 'rational',
  date: 'date',
  date_nanos: 'date',
  boolean: 'boolean',
  ip: 'ip',
  version: 'version',
};

/**
 * Mapping types ES's EQL cannot use at all ("Cannot use field [x] with unsupported type [...]" in
 * its VerifierTests: geo and shape types, ranges). Other types it does not resolve are left unknown.
 */
const UNUSABLE = new Set(['geo_point', 'geo_shape', 'point', 'shape', 'integer_range', 'float_range', 'long_range', 'double_range', 'date_range', 'ip_range']);

const NULL_TYPE: EsType = { family: 'null', name: 'null' };
/**
 * A field the mapping does not have (an error of its own, mapping.ts): ES resolves nothing above
 * it, so no check of an expression holding it is made.
 */
const UNRESOLVED: EsType = { family: 'unresolved', name: 'unresolved' };
const BOOLEAN: EsType = { family: 'boolean', name: 'boolean' };
const KEYWORD: EsType = { family: 'string', name: 'keyword' };
const INTEGER: EsType = { family: 'integer', name: 'integer' };
const LONG: EsType = { family: 'integer', name: 'long' };
const DOUBLE: EsType = { family: 'rational', name: 'double' };
const NUMBER: EsType = { family: 'number', name: 'number' };

/** What an argument must be, as ES's TypeResolutions checks it; `null` always passes. */
interface Want {
  /** Families that pass; an unknown-width number passes wherever any number could. */
  accepts: ReadonlySet<Family>;
  /** "a string", "an integer", ... */
  label: string;
}

const STRING: Want = { accepts: new Set(['string']), label: 'a string' };
const NUMERIC: Want = { accepts: new Set(['integer', 'rational', 'number']), label: 'a number' };
const INTEGRAL: Want = { accepts: new Set(['integer', 'number']), label: 'an integer' };
const BOOL: Want = { accepts: new Set(['boolean']), label: 'a boolean' };
const IP: Want = { accepts: new Set(['ip']), label: 'an ip' };

/** Argument types of each function (resolveType() of its ES class); null: not checked (isExact only). */
const ARGUMENTS: Readonly<Record<Call['name'], readonly Want[] | null>> = {
  add: [NUMERIC, NUMERIC],
  subtract: [NUMERIC, NUMERIC],
  multiply: [NUMERIC, NUMERIC],
  divide: [NUMERIC, NUMERIC],
  modulo: [NUMERIC, NUMERIC],
  between: [STRING, STRING, STRING, BOOL],
  endsWith: [STRING, STRING],
  startsWith: [STRING, STRING],
  stringContains: [STRING, STRING],
  indexOf: [STRING, STRING, INTEGRAL],
  length: [STRING],
  number: [STRING, INTEGRAL],
  substring: [STRING, INTEGRAL, INTEGRAL],
  concat: null,
  string: null,
  cidrMatch: null, // its own rule below: an ip, then constant strings
};

const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth'];

function ordinal(i: number): string {
  return ORDINALS[i] ?? `${i + 1}th`;
}

/** ES's DataTypes.areCompatible: same family (strings with strings, numbers with numbers, ...), or null. */
function compatible(a: EsType, b: EsType): boolean {
  if (a.family === 'null' || b.family === 'null') return true;
  const numeric = (t: EsType) => t.family === 'integer' || t.family === 'rational' || t.family === 'number';
  return a.family === b.family || (numeric(a) && numeric(b));
}

/** The type ES gives the result of arithmetic (DataTypeConverter.commonType over numbers). */
function arithmeticType(left: EsType | undefined, right: EsType | undefined): EsType {
  if (left?.family === 'null') return right ?? NUMBER;
  if (right?.family === 'null') return left ?? NUMBER;
  if (!left || !right || left.family === 'number' || right.family === 'number') return NUMBER;
  if (left.family === 'rational' || right.family === 'rational') return DOUBLE;
  return left.name === 'integer' && right.name === 'integer' ? INTEGER : LONG;
}

/** The type of a numeric literal as ES's parser builds it: Integer, else Long, else Double. */
function numberType(value: number, isFloat: boolean | undefined): EsType {
  if (isFloat || !Number.isInteger(value)) return DOUBLE;
  if (value >= -2147483648 && value <= 2147483647) return INTEGER;
  return Math.abs(value) <= 9223372036854775807 ? LONG : DOUBLE;
}

const MAX_SHOWN = 40;

class TypeChecker {
  /** Every problem found so far, in the order ES's verifier lists them. */
  readonly problems: EqlError[] = [];

  constructor(
    private readonly src: string,
    private readonly fields: FieldTypes,
  ) {}

  /** Ends the check of the current node (its type becomes unresolved; see typeOf). */
  private fail(message: string, span: Span, hint?: string): never {
    throw new EqlError('semantic', message, this.src, span, hint);
  }

  /** Runs one check, recording its problem instead of stopping at it. */
  collect(check: () => void): void {
    try {
      check();
    } catch (e) {
      if (!(e instanceof EqlError)) throw e;
      this.problems.push(e);
    }
  }

  /** Throws one EqlError standing for every problem found, if any. */
  throwProblems(): void {
    if (this.problems.length > 0) throw EqlError.of(this.problems);
  }

  /** How a message names an expression: a field by name, anything else by its text. */
  private show(e: Expr): string {
    if (e.kind === 'field') return `\`${e.name}\``;
    const text = this.src.slice(e.span.start, e.span.end).replace(/\s+/g, ' ');
    const shown = text.length > MAX_SHOWN ? text.slice(0, MAX_SHOWN - 1) + '…' : text;
    return e.kind === 'literal' ? shown : `\`${shown}\``;
  }

  /** Refuses `e` unless its type is unknown, null, or one `want` accepts. */
  private expect(e: Expr, t: EsType | undefined, want: Want, what: string, hint?: string): void {
    if (!t || t.family === 'null' || t.family === 'unresolved' || want.accepts.has(t.family)) return;
    this.fail(`${what} must be ${want.label}, found ${this.show(e)} (${t.name})`, e.span, hint);
  }

  /**
   * The type of `e`, checking its arguments bottom-up as ES does (the innermost problem first).
   * Above an unresolved field nothing is checked: ES resolves no type there either. A node that
   * fails its own check is recorded and becomes unresolved, so that its ancestors add no noise
   * (ES's verifier skips a node whose children are unresolved) while its siblings are still
   * checked: every problem of the query is found, one per node.
   */
  typeOf(e: Expr): EsType | undefined {
    try {
      return this.resolve(e);
    } catch (err) {
      if (!(err instanceof EqlError)) throw err;
      this.problems.push(err);
      return UNRESOLVED;
    }
  }

  private resolve(e: Expr): EsType | undefined {
    switch (e.kind) {
      case 'literal':
        if (e.value === null) return NULL_TYPE;
        if (typeof e.value === 'string') return KEYWORD;
        if (typeof e.value === 'boolean') return BOOLEAN;
        return numberType(e.value, e.isFloat);
      case 'field': {
        if (this.fields.fieldExists && !this.fields.fieldExists(e.name)) return e.optional ? NULL_TYPE : UNRESOLVED;
        const mapped = this.fields.fieldType?.(e.name);
        if (mapped !== undefined && UNUSABLE.has(mapped)) {
          this.fail(`field \`${e.name}\` has type ${mapped}, which Elasticsearch EQL cannot use`, e.span);
        }
        const family = mapped === undefined ? undefined : FAMILY_OF_MAPPING[mapped];
        return family === undefined ? undefined : { family, name: mapped! };
      }
      case 'not': {
        const t = this.typeOf(e.operand);
        if (unresolved(t)) return UNRESOLVED;
        this.expect(e.operand, t, BOOL, 'the operand of `not`');
        return BOOLEAN;
      }
      case 'and':
      case 'or': {
        const left = this.typeOf(e.left);
        const right = this.typeOf(e.right);
        if (unresolved(left, right)) return UNRESOLVED;
        this.expect(e.left, left, BOOL, `the first operand of \`${e.kind}\``);
        this.expect(e.right, right, BOOL, `the second operand of \`${e.kind}\``);
        return BOOLEAN;
      }
      case 'compare': {
        // ES checks only that both sides are exact (keyword-backed): `pid == "abc"` is accepted.
        const left = this.typeOf(e.left);
        const right = this.typeOf(e.right);
        return unresolved(left, right) ? UNRESOLVED : BOOLEAN;
      }
      case 'arith': {
        const left = this.typeOf(e.left);
        const right = this.typeOf(e.right);
        if (unresolved(left, right)) return UNRESOLVED;
        this.expect(e.left, left, NUMERIC, `the first operand of \`${e.op}\``);
        this.expect(e.right, right, NUMERIC, `the second operand of \`${e.op}\``);
        return arithmeticType(left, right);
      }
      case 'negate': {
        const t = this.typeOf(e.operand);
        if (unresolved(t)) return UNRESOLVED;
        this.expect(e.operand, t, NUMERIC, 'the operand of unary `-`');
        return t ?? NUMBER;
      }
      case 'in':
        return this.inTypes(e);
      case 'match':
        return this.matchTypes(e);
      case 'call':
        return this.callType(e);
    }
  }

  private inTypes(e: Extract<Expr, { kind: 'in' }>): EsType {
    const operand = this.typeOf(e.operand);
    const values = e.values.map((v) => this.typeOf(v));
    if (unresolved(operand, ...values)) return UNRESOLVED;
    const op = `${e.negated ? 'not ' : ''}in${e.caseInsensitive ? '~' : ''}`;
    if (e.caseInsensitive) {
      // ES expands `x in~ (a, b)` into `x : a or x : b`: strings on both sides.
      this.expect(e.operand, operand, STRING, `the operand of \`${op}\``, 'use in (...) to compare other types');
      e.values.forEach((v, i) => this.expect(v, values[i], STRING, `value ${i + 1} of \`${op}\``, 'use in (...) to compare other types'));
      return BOOLEAN;
    }
    // ES's In: every value must be compatible with the operand's type.
    if (!operand) return BOOLEAN;
    e.values.forEach((v, i) => {
      const t = values[i];
      if (t && !compatible(operand, t)) {
        this.fail(`value ${i + 1} of \`${op}\` must be of the type of ${this.show(e.operand)} (${operand.name}), found ${this.show(v)} (${t.name})`, v.span);
      }
    });
    return BOOLEAN;
  }

  private matchTypes(e: Extract<Expr, { kind: 'match' }>): EsType {
    const operand = this.typeOf(e.operand);
    const patterns = e.patterns.map((p) => this.typeOf(p));
    if (unresolved(operand)) return UNRESOLVED;
    const op = e.colon ? ':' : `${e.op}${e.caseInsensitive ? '~' : ''}`;
    if (e.colon) {
      // InsensitiveWildcardEquals: both sides strings, ES suggests == for anything else.
      this.expect(e.operand, operand, STRING, 'the left operand of `:`', 'use == to compare values that are not strings');
      e.patterns.forEach((p, i) => this.expect(p, patterns[i], STRING, 'the right operand of `:`', 'use == to compare values that are not strings'));
      return BOOLEAN;
    }
    this.expect(e.operand, operand, STRING, `the left operand of \`${op}\``);
    // A `like` pattern is used as text whatever it is (ES folds it to a string); a regex must be one.
    if (e.op === 'regex') e.patterns.forEach((p, i) => this.expect(p, patterns[i], STRING, `pattern ${i + 1} of \`${op}\``));
    return BOOLEAN;
  }

  private callType(c: Call): EsType | undefined {
    const types = c.args.map((a) => this.typeOf(a));
    if (unresolved(...types)) return UNRESOLVED;
    const fn = `\`${c.name}${c.caseInsensitive ? '~' : ''}\``;
    if (c.name === 'cidrMatch') {
      this.expect(c.args[0]!, types[0], IP, `the first argument of ${fn}`);
      for (let i = 1; i < c.args.length; i++) this.expect(c.args[i]!, types[i], STRING, `the ${ordinal(i)} argument of ${fn}`);
      for (let i = 1; i < c.args.length; i++) {
        const a = c.args[i]!;
        if (readsRequiredField(a)) this.fail(`the ${ordinal(i)} argument of ${fn} must be a constant, found ${this.show(a)}`, a.span, 'cidrMatch takes address blocks written in the query');
      }
      return BOOLEAN;
    }
    const wants = ARGUMENTS[c.name];
    if (wants) c.args.forEach((a, i) => this.expect(a, types[i], wants[i]!, `the ${ordinal(i)} argument of ${fn}`));
    switch (c.name) {
      case 'add':
      case 'subtract':
      case 'multiply':
      case 'divide':
      case 'modulo':
        return arithmeticType(types[0], types[1]);
      case 'between':
      case 'concat':
      case 'string':
      case 'substring':
        return KEYWORD;
      case 'length':
      case 'indexOf':
        return INTEGER;
      case 'number':
        return DOUBLE;
      case 'endsWith':
      case 'startsWith':
      case 'stringContains':
        return BOOLEAN;
    }
  }

  /** ES's verifier after type resolution: a filter's condition must be boolean (or null). */
  condition(e: Expr, t: EsType | undefined): void {
    if (!t || t.family === 'boolean' || t.family === 'null' || t.family === 'unresolved') return;
    this.fail(`a condition must be a boolean, found ${this.show(e)} (${t.name})`, e.span, 'compare it with a value (==, :, in, ...) or use a function that tests it');
  }

  /**
   * ES's checkJoinKeyTypes: each key of every later term (and of `until`) must be compatible with
   * the key at the same position in the first term. Samples are not checked, as in ES (its check
   * applies to Join plans, and a Sample is not one).
   */
  private readonly keyTypes = new Map<Expr, EsType | undefined>();

  /** The type of a join key, resolved (and its problems recorded) once however often it is asked. */
  keyType(k: Expr): EsType | undefined {
    if (!this.keyTypes.has(k)) this.keyTypes.set(k, this.typeOf(k));
    return this.keyTypes.get(k);
  }

  joinKeys(shared: Expr[], terms: SequenceTerm[]): void {
    const first = terms[0];
    if (!first) return;
    const expected = [...shared, ...first.by];
    for (const t of terms.slice(1)) {
      [...shared, ...t.by].forEach((k, i) => {
        const want = expected[i];
        if (!want) return;
        const a = this.keyType(want);
        const b = this.keyType(k);
        if (a && b && a.family !== 'unresolved' && b.family !== 'unresolved' && !compatible(a, b)) {
          this.collect(() =>
            this.fail(
              `join key ${this.show(k)} (${b.name}) is incompatible with the first term's key ${this.show(want)} (${a.name})`,
              k.span,
              'keys at the same position must both be strings, both numbers, or of the same type',
            ),
          );
        }
      });
    }
  }
}

function unresolved(...types: (EsType | undefined)[]): boolean {
  return types.some((t) => t?.family === 'unresolved');
}

/**
 * Whether an expression reads a non-optional field, i.e. is not a constant (ES's foldable). A
 * `?field` may be missing from every mapping and ES folds it to null (`?a == ?b` is valid in ES's
 * own tests), so it does not count.
 */
export function readsRequiredField(e: Expr): boolean {
  switch (e.kind) {
    case 'literal':
      return false;
    case 'field':
      return !e.optional;
    case 'not':
    case 'negate':
      return readsRequiredField(e.operand);
    case 'and':
    case 'or':
    case 'compare':
    case 'arith':
      return readsRequiredField(e.left) || readsRequiredField(e.right);
    case 'in':
      return readsRequiredField(e.operand) || e.values.some(readsRequiredField);
    case 'match':
      return readsRequiredField(e.operand);
    case 'call':
      return e.args.some(readsRequiredField);
  }
}

/**
 * ES's type checks of a whole statement, in its verifier's two passes: argument types everywhere
 * first (every problem, term by term, innermost first); only when there is none, join keys of
 * sequences, then each condition. Throws one EqlError ('semantic') standing for every problem
 * of the pass that found some (`others`), as ES lists them all ("Found 2 problems").
 */
export function checkTypes(stmt: Statement, fields: FieldTypes = {}): void {
  const checker = new TypeChecker(stmt.source, fields);
  const q = stmt.query;
  const terms: SequenceTerm[] = q.kind === 'event' ? [] : q.kind === 'sequence' && q.until ? [...q.terms, q.until] : q.terms;
  const conditions = q.kind === 'event' ? [q.condition] : terms.map((t) => t.query.condition);
  // Each term's condition, then its keys (ES's keyed filter holds the query's `by` keys and its
  // own); a key shared by every term is one expression, checked once.
  const shared = q.kind === 'event' ? [] : q.by;
  const types = conditions.map((c, i) => {
    const t = checker.typeOf(c);
    const term = terms[i];
    if (term) for (const k of [...shared, ...term.by]) checker.keyType(k);
    return t;
  });
  checker.throwProblems();
  if (q.kind === 'sequence') checker.joinKeys(q.by, terms);
  conditions.forEach((c, i) => checker.collect(() => checker.condition(c, types[i])));
  checker.throwProblems();
}

/** ES's type checks of a standalone expression (no condition or join-key checks). Throws EqlError. */
export function checkExpressionTypes(expr: Expr, source: string, fields: FieldTypes = {}): void {
  const checker = new TypeChecker(source, fields);
  checker.typeOf(expr);
  checker.throwProblems();
}
