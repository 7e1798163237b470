// Anchors: a necessary condition of a query that an index can test without running the query.
// When every way for an event to matter to a query requires a field to hold one of a few literal
// strings (`process.name : ("a.exe", "b.exe")`, `event.action == "load"`) — or to start with, end
// with or contain one (`process.executable : "?:\\Windows\\System32\\svchost.exe"` ends with
// `:\windows\system32\svchost.exe`) — a hunt over a thousand rules can look the event's value up
// in an index (detect/anchor-index.ts) and skip every rule whose anchor it misses, instead of
// evaluating each rule's condition. Numbers anchor too: integers (`destination.port == 445`),
// ranges (`dll.Ext.relative_file_creation_time <= 500`), and so do booleans and the presence of a
// field (`dns.question.name != null`).
import type { EventQuery, Expr, Query } from '../eql/ast.js';
import { regexFacts } from './regex-pieces.js';
import { containsClass, parseLuceneRegex } from './regex.js';

export interface Anchor {
  field: string;
  /** Accepted values; lower-cased when `caseInsensitive`. */
  values: string[];
  caseInsensitive: boolean;
  /**
   * Literal pieces of wildcard patterns (lower-cased when `caseInsensitive`): the field's value
   * may also start with one of `prefixes`, end with one of `suffixes` or contain one of
   * `infixes`. Absent when the anchor has none of that kind.
   */
  prefixes?: string[];
  suffixes?: string[];
  infixes?: string[];
  /**
   * Which of its term's requirements the anchor belongs to (absent: 0, the best). A term's
   * condition holds only if each of its requirements has an anchor the event meets: anchors of
   * one requirement are alternatives (the branches of an `or`), requirements are the conjuncts of
   * its `and`s that give anchors.
   */
  requirement?: number;
  /**
   * The values are integers (`destination.port == 445`), written as String(n): an event whose
   * value is an integer must be one of them; any other value (a string, a fraction) is left to
   * the query, whatever the field's type.
   */
  numeric?: boolean;
  /**
   * The values are `true` / `false` (`process.code_signature.trusted == false`): an event whose
   * value is a boolean must be one of them; any other value is left to the query.
   */
  boolean?: boolean;
  /**
   * A range of numbers (`dll.Ext.relative_file_creation_time <= 500`): an event whose value is a
   * number must lie in it; any other value (a string, a boolean) is left to the query. Only on
   * fields that compare numbers as numbers (not keyword, date, ip or version fields). `values` is
   * empty.
   */
  range?: NumberRange;
  /**
   * The field must hold a value (`dns.question.name != null`, `not x == null`: existence tests,
   * false when the field is missing, null or an empty or all-null array). `values` is empty.
   */
  exists?: boolean;
  /**
   * What the value itself must also be, beyond the anchor's values and pieces (a string anchor
   * only): the index looks its pieces up, then checks these on the value (anchor-index.ts).
   */
  check?: AnchorCheck;
  /**
   * The value must contain a character (a code point) in one of these inclusive ranges, given as
   * [lo, hi] pairs, all outside ASCII (a case-sensitive `regex ".*[ʰ-˿ᴬ-ᶻ]+.*"`: such characters are
   * rare in any field). `values` is empty.
   */
  chars?: number[];
}

/**
 * A string anchor's checks: necessary conditions a piece cannot express — the whole of a
 * case-sensitive regular expression (`C:\\Program Files\\\w+.exe` has no backslash after the
 * prefix), and the term's negated tests of the same field (`not process.executable : ("?:\\Program
 * Files\\*.exe")`) with the anchor's own wildcard patterns.
 */
export interface AnchorCheck {
  /** Lucene regular expressions (case-sensitive): the whole value matches one of them. */
  regex?: string[];
  /** The anchor's wildcard patterns (like Exclusion's): the value matches one of them. */
  like?: Exclusion;
  /** One per negated test of the field: the value matches none of its patterns. */
  unless?: Exclusion[];
}

/**
 * Patterns of one test of a field: wildcard patterns, or exact strings (`in`); lower-cased when
 * `folded`, and then matched against the lower-cased value, as `:`, `like~` and `in~` match.
 */
export interface Exclusion {
  patterns: string[];
  folded: boolean;
  wildcard: boolean;
}

/** Bounds of a range anchor; an absent bound is unbounded. */
export interface NumberRange {
  min?: number;
  max?: number;
  /** The bound itself is outside (`>` / `<`). */
  minOpen?: boolean;
  maxOpen?: boolean;
}

/** Whether a number lies in a range. */
export function inRange(r: NumberRange, v: number): boolean {
  if (r.min !== undefined && (r.minOpen ? !(v > r.min) : !(v >= r.min))) return false;
  if (r.max !== undefined && (r.maxOpen ? !(v < r.max) : !(v <= r.max))) return false;
  return true;
}

/**
 * Shortest literal piece of a wildcard pattern the index looks up by its first characters; a
 * pattern with only shorter runs (`*\u{202E}*`, `?:\\*`) gives a one- or two-character piece,
 * tested by a scan of the value and chosen only over broad fields (SHORT_PIECE).
 */
export const MIN_PIECE = 3;

// Fields that nearly every event of a data source shares: an anchor on them rarely skips a rule,
// so a more specific conjunct is preferred when the query has one.
const BROAD = new Set([
  'host.os.type', 'host.os.family', 'host.os.name', 'host.os.platform', 'event.type', 'event.kind', 'event.outcome',
  'event.category', 'event.module', 'event.dataset', 'data_stream.dataset', 'agent.type', 'os.type',
]);

// Fields with few distinct values, each shared by a large share of a data source's events
// (`event.action == "load"` is every library load): better than a broad field, worse than a
// literal piece of a path or command line.
const MEDIUM = new Set([
  'event.action', 'event.code', 'event.provider', 'network.direction', 'network.transport', 'network.protocol',
  'network.type', 'user.domain', 'user.id', 'process.code_signature.status', 'dll.code_signature.status',
  'file.code_signature.status', 'process.code_signature.subject_name', 'dll.code_signature.subject_name', 'winlog.channel',
  'registry.hive', 'registry.data.type', 'dns.question.type',
]);

type PieceKind = 'prefix' | 'suffix' | 'infix';

/**
 * How little an anchor narrows (lower is better): exact values on a specific field 1; pieces of
 * wildcard patterns more the shorter they are (`.exe` is in most executables' paths), a contained
 * piece more than a prefix or suffix of the same length; anything on a broad field 100.
 */
const EXACT = 1;
const ON_MEDIUM = 10;
const ON_BROAD = 100;
/**
 * A piece shorter than MIN_PIECE, or a boolean: better than a broad field (the RTLO rule's `*\u{202E}*` is met
 * by almost no path, `host.os.type == "windows"` by every Windows event), worse than anything
 * else, and never an extra requirement (eventAnchors): `:\` is in most Windows paths.
 */
const SHORT_PIECE = ON_BROAD - 1;
/**
 * A range of numbers: most numeric tests in rules bound a rare or narrow quantity (a file created
 * in the last 500 s, a spoofed parent's pid), but some are met by nearly every event (`pid > 0`):
 * rated as a field of few values.
 */
const RANGE = ON_MEDIUM;
/**
 * The mere presence of a field: worse than anything else, so only a term with no other anchor
 * uses it (the DNS term of a sequence, `dns.question.name != null`), and never an extra
 * requirement — each one costs a look-up of its field in every event.
 */
const EXISTS = ON_BROAD + 1;
const pieceWeakness = (kind: PieceKind, length: number) => (length < MIN_PIECE ? SHORT_PIECE : (kind === 'infix' ? 3 : 2) + Math.max(0, 8 - length));

/**
 * The piece of one wildcard pattern (already lower-cased for `:`) an index tests best: its literal
 * start or end, else the longest literal run inside it; a run shorter than MIN_PIECE only when
 * there is no longer one; null when every run is empty (`*`, `?*`).
 */
export function patternPiece(pattern: string): { kind: PieceKind; piece: string } | null {
  const runs = pattern.split(/[*?]/);
  if (runs.length === 1) return null;
  let best: { kind: PieceKind; piece: string } | null = null;
  let bestWeak = Infinity;
  const consider = (kind: PieceKind, piece: string) => {
    if (piece.length === 0) return;
    const w = pieceWeakness(kind, piece.length) - piece.length / 1000;
    if (w < bestWeak) {
      best = { kind, piece };
      bestWeak = w;
    }
  };
  consider('prefix', runs[0]!);
  consider('suffix', runs[runs.length - 1]!);
  for (let i = 1; i < runs.length - 1; i++) consider('infix', runs[i]!);
  return best;
}

/**
 * An integer literal: two integers are equal under every comparison a field's type can give them
 * (as numbers, as dates in the field's format, as the keyword text of the number), so an integer
 * value that is none of the anchor's integers cannot meet it.
 */
const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

interface Graded {
  anchor: Anchor;
  weakness: number;
}

const MIRROR = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' } as const;

/** A constant: a literal, or a negated number (`-1.5` parses as a negation of 1.5). */
function constantOf(e: Expr): { value: unknown } | null {
  if (e.kind === 'literal') return { value: e.value };
  if (e.kind === 'negate' && e.operand.kind === 'literal' && typeof e.operand.value === 'number') return { value: -e.operand.value };
  return null;
}

/** `field OP constant` (either way round), or null. */
function fieldVsConstant(e: Expr): { field: string; op: keyof typeof MIRROR; value: unknown } | null {
  if (e.kind !== 'compare') return null;
  const r = constantOf(e.right);
  if (e.left.kind === 'field' && r !== null) return { field: e.left.name, op: e.op, value: r.value };
  const l = constantOf(e.left);
  if (e.right.kind === 'field' && l !== null) return { field: e.right.name, op: MIRROR[e.op], value: l.value };
  return null;
}

/**
 * The wildcard patterns of anchors made from `:`/`like` with pieces: checked on the value (as the
 * anchor's `check.like`) only when the term also excludes values of the field (eventAnchors), as
 * the exclusions are checked then anyway.
 */
const wildcards = new WeakMap<Anchor, Exclusion>();

/** The anchor a single conjunct gives, if it is a field tested against literal strings only. */
function anchorOf(e: Expr): Graded | null {
  const grade = (anchor: Anchor, weakness: number): Graded => ({
    anchor,
    weakness: BROAD.has(anchor.field) ? ON_BROAD : MEDIUM.has(anchor.field) ? Math.max(weakness, ON_MEDIUM) : weakness,
  });
  const c = fieldVsConstant(e);
  // `F != null` and `not F == null` are existence tests (EQL §4); any other negation (`F != "a"`,
  // `not F : "a*"`, `F not in (…)`) also matches events that lack the field: no anchor.
  const negated = e.kind === 'not' ? fieldVsConstant(e.operand) : null;
  if ((c !== null && c.op === '!=' && c.value === null) || (negated !== null && negated.op === '==' && negated.value === null)) {
    const field = (c ?? negated)!.field;
    return { anchor: { field, values: [], caseInsensitive: false, exists: true }, weakness: EXISTS };
  }
  if (c !== null && c.op !== '==' && c.op !== '!=') {
    // A range holds only for a number (or a string the query decides on); a missing field is null.
    if (typeof c.value !== 'number' || !Number.isFinite(c.value)) return null;
    const n = c.value;
    const range: NumberRange = c.op === '<' ? { max: n, maxOpen: true } : c.op === '<=' ? { max: n } : c.op === '>' ? { min: n, minOpen: true } : { min: n };
    return { anchor: { field: c.field, values: [], caseInsensitive: false, range }, weakness: RANGE };
  }
  if (e.kind === 'compare' && e.op === '==') {
    const [f, l] = e.left.kind === 'field' ? [e.left, e.right] : [e.right, e.left];
    if (f.kind === 'field' && l.kind === 'literal' && typeof l.value === 'string') {
      return grade({ field: f.name, values: [l.value], caseInsensitive: false }, EXACT);
    }
    if (f.kind === 'field' && l.kind === 'literal' && typeof l.value === 'boolean') {
      // Two booleans are equal under every comparison. Most events have `trusted: true`, and a
      // value marking every rule that wants it cost more than the offers it saved (route() 7%
      // more instructions per Agent event as an extra requirement): only better than a broad field.
      return { anchor: { field: f.name, values: [String(l.value)], caseInsensitive: false, boolean: true }, weakness: BROAD.has(f.name) ? ON_BROAD : SHORT_PIECE };
    }
    if (f.kind === 'field' && l.kind === 'literal' && isInteger(l.value)) {
      return grade({ field: f.name, values: [String(l.value)], caseInsensitive: false, numeric: true }, EXACT);
    }
    return null;
  }
  if (e.kind === 'in' && !e.negated && e.operand.kind === 'field' && e.values.length > 0 && e.values.every((v) => v.kind === 'literal' && isInteger(v.value))) {
    return grade({ field: e.operand.name, values: e.values.map((v) => String((v as { value: number }).value)), caseInsensitive: false, numeric: true }, EXACT);
  }
  if (e.kind === 'in' && !e.negated && e.operand.kind === 'field') {
    if (!e.values.every((v) => v.kind === 'literal' && typeof v.value === 'string')) return null;
    const values = e.values.map((v) => (v as { value: string }).value);
    return grade({ field: e.operand.name, values: e.caseInsensitive ? values.map((v) => v.toLowerCase()) : values, caseInsensitive: e.caseInsensitive }, EXACT);
  }
  if (e.kind === 'match' && e.op === 'like' && e.operand.kind === 'field') {
    const values: string[] = [];
    const pieces: Record<PieceKind, string[]> = { prefix: [], suffix: [], infix: [] };
    let weakness = EXACT;
    for (const p of e.patterns) {
      if (p.kind !== 'literal' || typeof p.value !== 'string') return null;
      // The matcher compares the lower-cased value with the lower-cased pattern (engine/expr.ts).
      const pattern = e.caseInsensitive ? p.value.toLowerCase() : p.value;
      if (!pattern.includes('*') && !pattern.includes('?')) {
        values.push(pattern);
        continue;
      }
      const piece = patternPiece(pattern);
      if (!piece) return null;
      pieces[piece.kind].push(piece.piece);
      weakness = Math.max(weakness, pieceWeakness(piece.kind, piece.piece.length));
    }
    const anchor: Anchor = { field: e.operand.name, values, caseInsensitive: e.caseInsensitive };
    if (pieces.prefix.length > 0) anchor.prefixes = pieces.prefix;
    if (pieces.suffix.length > 0) anchor.suffixes = pieces.suffix;
    if (pieces.infix.length > 0) anchor.infixes = pieces.infix;
    if (anchor.prefixes || anchor.suffixes || anchor.infixes) {
      wildcards.set(anchor, { patterns: e.patterns.map((p) => (e.caseInsensitive ? (p as { value: string }).value.toLowerCase() : (p as { value: string }).value)), folded: e.caseInsensitive, wildcard: true });
    }
    return grade(anchor, weakness);
  }
  if (e.kind === 'match' && e.op === 'regex' && e.operand.kind === 'field') return regexAnchor(e.operand.name, e.patterns, e.caseInsensitive, grade);
  return null;
}

/**
 * The anchor of `field regex[~] (patterns)`: per pattern, its exact values when its language is
 * small, else the set of pieces (starts, ends or contained) that narrows best (regex-pieces.ts);
 * null when a pattern gives nothing. Pieces are lower-cased for regex~, as the router folds them.
 */
function regexAnchor(field: string, patterns: readonly Expr[], caseInsensitive: boolean, grade: (a: Anchor, w: number) => Graded): Graded | null {
  const chars = charsAnchor(patterns, caseInsensitive);
  if (chars !== null) return grade({ field, values: [], caseInsensitive: false, chars }, CHARS);
  const values: string[] = [];
  const pieces: Record<PieceKind, string[]> = { prefix: [], suffix: [], infix: [] };
  let weakness = EXACT;
  for (const p of patterns) {
    if (p.kind !== 'literal' || typeof p.value !== 'string') return null;
    const f = regexFacts(p.value, caseInsensitive);
    if (f === null) return null;
    if (f.exact !== null) {
      values.push(...f.exact);
      continue;
    }
    let best: { kind: PieceKind; set: string[]; weak: number } | null = null;
    const consider = (kind: PieceKind, set: string[] | null) => {
      if (set === null) return;
      let weak = 0;
      for (const x of set) weak = Math.max(weak, pieceWeakness(kind, x.length));
      if (best === null || weak < best.weak || (weak === best.weak && set.length < best.set.length)) best = { kind, set, weak };
    };
    consider('prefix', f.prefixes);
    consider('suffix', f.suffixes);
    consider('infix', f.infixes);
    if (best === null) return null;
    const b: { kind: PieceKind; set: string[]; weak: number } = best;
    pieces[b.kind].push(...b.set);
    weakness = Math.max(weakness, b.weak);
  }
  const anchor: Anchor = { field, values: [...new Set(values)], caseInsensitive };
  if (pieces.prefix.length > 0) anchor.prefixes = pieces.prefix;
  if (pieces.suffix.length > 0) anchor.suffixes = pieces.suffix;
  if (pieces.infix.length > 0) anchor.infixes = pieces.infix;
  // A piece says little of a regular expression's value (a prefix and then only word characters):
  // the router runs the whole expression on values that hold a piece. Case-sensitive only: the
  // index lower-cases the values of a case-insensitive anchor, and regex~ folds inside the matcher.
  if (!caseInsensitive && (anchor.prefixes || anchor.suffixes || anchor.infixes)) anchor.check = { regex: patterns.map((p) => (p as { value: string }).value) };
  return grade(anchor, weakness);
}

/**
 * A character outside ASCII the value must contain: about as narrow as a contained piece of four
 * characters (most values of most fields are ASCII), tested by one scan of the value.
 */
const CHARS = 7;

/**
 * The ranges of `regex ".*C+.*"` (every pattern of that shape, C a class of characters outside
 * ASCII only, case-sensitive: regex~ folds, and a folded class can hold ASCII letters): the value
 * must contain a character of one of them. Null for anything else.
 */
function charsAnchor(patterns: readonly Expr[], caseInsensitive: boolean): number[] | null {
  if (caseInsensitive || patterns.length === 0) return null;
  const ranges: number[] = [];
  for (const p of patterns) {
    if (p.kind !== 'literal' || typeof p.value !== 'string') return null;
    let ast;
    try {
      ast = parseLuceneRegex(p.value);
    } catch {
      return null;
    }
    if (containsClass(ast) === null || ast.t !== 'cat') return null;
    const c = ast.items[1]!;
    const cls = c.t === 'class' ? c : c.t === 'rep' && c.sub.t === 'class' ? c.sub : null;
    if (cls === null || cls.ranges.length === 0) return null;
    for (let i = 0; i < cls.ranges.length; i += 2) if (cls.ranges[i]! < 0x80) return null;
    ranges.push(...cls.ranges);
  }
  return ranges;
}

type FieldTest = (field: string) => boolean;

interface Choice {
  /** Alternatives: the condition holds only if one of them does. */
  anchors: Anchor[];
  /** The weakest alternative's weakness (see pieceWeakness). */
  weakness: number;
}

/**
 * Anchors of a condition: a conjunction takes the better of its parts (the first on ties), a
 * disjunction the union of its branches' (when every branch has some). `not` (but for
 * `not F == null`, an existence test) and anything else give none; a term's top-level negations
 * of a field become checks of its anchors on that field (eventAnchors).
 */
function choose(e: Expr, usable: FieldTest, numeric: FieldTest): Choice | null {
  if (e.kind === 'and') {
    const l = choose(e.left, usable, numeric);
    const r = choose(e.right, usable, numeric);
    if (!l || !r) return l ?? r;
    return r.weakness < l.weakness ? r : l;
  }
  if (e.kind === 'or') {
    const l = choose(e.left, usable, numeric);
    if (!l) return null;
    const r = choose(e.right, usable, numeric);
    if (!r) return null;
    return { anchors: [...l.anchors, ...r.anchors], weakness: Math.max(l.weakness, r.weakness) };
  }
  const a = anchorOf(e);
  if (!a) return null;
  const an = a.anchor;
  // Integers, booleans and presence mean the same under every field type; a range only where
  // numbers compare as numbers; strings only on keyword-like fields.
  if (an.range !== undefined ? !numeric(an.field) : !an.numeric && !an.boolean && !an.exists && !usable(an.field)) return null;
  return { anchors: [an], weakness: a.weakness };
}

/** Requirements clauses() keeps per expression. */
const MAX_CLAUSES = 3;

/**
 * Several requirements one conjunct implies (each a Choice: alternatives one of which must hold),
 * the best first, at most MAX_CLAUSES. An `and` implies every requirement of each part. An `or`
 * implies, for any requirement of its left and any of its right, their union: first the union of
 * both sides' best (choose()'s anchors, in the same order), then those sharing the fewest anchors
 * with it. So `(name : "a.exe"
 * and args : "x") or (name : "b.exe" and args : "y")` requires a name of the two and also an args
 * value of the two: an event with one of the names but neither args value is not offered.
 */
function clauses(e: Expr, usable: FieldTest, numeric: FieldTest): Choice[] {
  if (e.kind === 'and') {
    const l = clauses(e.left, usable, numeric);
    const r = clauses(e.right, usable, numeric);
    if (l.length === 0 || r.length === 0) return l.length === 0 ? r : l;
    // Both lists go from best to worst: merge them, the left part first on ties (as choose()).
    const out: Choice[] = [];
    let i = 0;
    let j = 0;
    while (out.length < MAX_CLAUSES && (i < l.length || j < r.length)) {
      if (j >= r.length || (i < l.length && l[i]!.weakness <= r[j]!.weakness)) out.push(l[i++]!);
      else out.push(r[j++]!);
    }
    return out;
  }
  if (e.kind === 'or') {
    const l = clauses(e.left, usable, numeric);
    if (l.length === 0) return [];
    const r = clauses(e.right, usable, numeric);
    if (r.length === 0) return [];
    const union = (a: Choice, b: Choice): Choice => ({ anchors: [...a.anchors, ...b.anchors], weakness: Math.max(a.weakness, b.weakness) });
    const best = union(l[0]!, r[0]!);
    const others: { c: Choice; shared: number }[] = [];
    for (let i = 0; i < l.length; i++) {
      for (let j = 0; j < r.length; j++) {
        if (i === 0 && j === 0) continue;
        const c = union(l[i]!, r[j]!);
        let shared = 0;
        for (const a of c.anchors) if (best.anchors.includes(a)) shared++;
        others.push({ c, shared });
      }
    }
    // Those sharing anchors with the first add less (most of an event's offers already met the
    // first): the fewest shared first, then the least weak; any as weak as a short piece last (it
    // can be no extra requirement: eventAnchors). Stable: on full ties the left side's first.
    const weak = (c: Choice) => (c.weakness >= SHORT_PIECE ? 1 : 0);
    others.sort((a, b) => weak(a.c) - weak(b.c) || a.shared - b.shared || a.c.weakness - b.c.weakness);
    return [best, ...others.slice(0, MAX_CLAUSES - 1).map((x) => x.c)];
  }
  const c = choose(e, usable, numeric);
  return c === null ? [] : [c];
}

/**
 * The anchors of one event query, as requirements (see Anchor.requirement): the best conjunct of
 * its condition's top-level `and`s that gives anchors (alternatives on specific fields before
 * broad ones; the first conjunct on ties), then every other such conjunct not on a broad field —
 * the event must meet an anchor of each. Null when its condition requires no literal value.
 *
 * Why not the broad ones too: `host.os.type == "windows"` or `event.type == "start"` is a conjunct
 * of most Windows rules, and a value such as `windows` would mark several hundred requirements on
 * nearly every event, for few offers saved (measured: all rules over Agent data offered 6.7 rules
 * an event instead of 8.3, but routing took 7% more CPU than with them left out).
 */
export function eventAnchors(q: EventQuery, usable: FieldTest = () => true, numeric: FieldTest = () => true): Anchor[] | null {
  const choices: Choice[] = [];
  const excluded = new Map<string, Exclusion[]>();
  const conjuncts = (e: Expr): void => {
    if (e.kind === 'and') {
      conjuncts(e.left);
      conjuncts(e.right);
      return;
    }
    exclusions(e, usable, excluded);
    choices.push(...clauses(e, usable, numeric));
  };
  conjuncts(q.condition);
  if (choices.length === 0) return null;
  // Stable: among equally weak conjuncts the first stays first, as choose() prefers it.
  choices.sort((a, b) => a.weakness - b.weakness);
  const out: Anchor[] = [];
  choices.forEach((c, i) => {
    if (i > 0 && c.weakness >= SHORT_PIECE) return;
    for (const a of c.anchors) out.push(excluding(i === 0 ? a : { ...a, requirement: i }, excluded.get(a.field), wildcards.get(a)));
  });
  return out;
}

/**
 * Records what a top-level conjunct of a term excludes: `not F : (…)`, `not F like[~] (…)`,
 * `F not in[~] (…)`, `not F in[~] (…)` with literal strings, and each part of `not (X or Y)` (under
 * `not`, `or` is two-valued: neither X nor Y may hold). The term holds only if no value of F
 * matches such a test (`not` of a test true for one value of a multi-valued field is false).
 */
function exclusions(e: Expr, usable: FieldTest, into: Map<string, Exclusion[]>): void {
  const add = (field: string, x: Exclusion) => {
    const l = into.get(field);
    if (l === undefined) into.set(field, [x]);
    else l.push(x);
  };
  const strings = (xs: readonly Expr[]): string[] | null => (xs.length > 0 && xs.every((x) => x.kind === 'literal' && typeof x.value === 'string') ? xs.map((x) => (x as { value: string }).value) : null);
  const positive = (x: Expr): void => {
    if (x.kind === 'or') {
      positive(x.left);
      positive(x.right);
      return;
    }
    if (x.kind === 'match' && x.op === 'like' && x.operand.kind === 'field') {
      const p = strings(x.patterns);
      if (p !== null) add(x.operand.name, { patterns: x.caseInsensitive ? p.map((v) => v.toLowerCase()) : p, folded: x.caseInsensitive, wildcard: true });
    } else if (x.kind === 'in' && !x.negated && x.operand.kind === 'field' && usable(x.operand.name)) {
      // `in` compares as strings only on keyword-like fields (an ip field takes CIDR blocks).
      const p = strings(x.values);
      if (p !== null) add(x.operand.name, { patterns: x.caseInsensitive ? p.map((v) => v.toLowerCase()) : p, folded: x.caseInsensitive, wildcard: false });
    }
  };
  if (e.kind === 'not') positive(e.operand);
  else if (e.kind === 'in' && e.negated) positive({ ...e, negated: false });
}

/**
 * The anchor with the field's exclusions among its checks (a string anchor; a case-insensitive
 * anchor's values are lower-cased, so only exclusions that lower-case the value too), and then its
 * own wildcard patterns: a value with the anchor's piece that the anchor's patterns do not match
 * is no better than one an exclusion matches.
 */
function excluding(a: Anchor, excluded: readonly Exclusion[] | undefined, like: Exclusion | undefined): Anchor {
  if (excluded === undefined || a.numeric || a.boolean || a.range || a.exists || a.chars) return a;
  const unless = excluded.filter((x) => x.folded || !a.caseInsensitive);
  if (unless.length === 0) return a;
  return { ...a, check: { ...a.check, ...(like !== undefined ? { like } : {}), unless } };
}

/**
 * Fields whose top-level test the router applies per data stream and value instead of through
 * the anchor index (RuleRouter's gates): `host.os.type == "windows"` is a conjunct of most Windows
 * rules, too broad for the index (eventAnchors), yet a Linux rule is offered every Windows event
 * of its category and action without it.
 */
export const GATE_FIELD = 'host.os.type';

/**
 * The alternatives of the first top-level conjunct of an event query that tests GATE_FIELD
 * against literal strings only (exact values: `==`, `in`, `in~`, `:` without wildcards), or
 * null. The event's value must be one of them (lower-cased when `caseInsensitive`) for the query
 * to match: the same necessary condition as an anchor's.
 */
export function eventGate(q: EventQuery, usable: FieldTest = () => true): Anchor[] | null {
  let gate: Anchor[] | null = null;
  const conjuncts = (e: Expr): void => {
    if (gate !== null) return;
    if (e.kind === 'and') {
      conjuncts(e.left);
      conjuncts(e.right);
      return;
    }
    const c = choose(e, usable, () => false);
    if (c === null || !c.anchors.every((a) => a.field === GATE_FIELD && !a.numeric && !a.boolean && !a.exists && !a.chars && !a.prefixes && !a.suffixes && !a.infixes)) return;
    gate = c.anchors.map((a) => ({ field: a.field, values: [...a.values], caseInsensitive: a.caseInsensitive }));
  };
  conjuncts(q.condition);
  return gate;
}

/** The best requirement's anchors of one event query (see eventAnchors), or null. */
function bestAnchors(q: EventQuery, usable: FieldTest, numeric: FieldTest): Anchor[] | null {
  return choose(q.condition, usable, numeric)?.anchors ?? null;
}

/**
 * `usable(field)` excludes fields whose comparisons are not plain string equality (dates compare
 * by time span, ip by address, numbers numerically): only keyword-like fields can be anchors of
 * strings. `numeric(field)`: the field compares a number with a number as numbers (numeric types,
 * or unmapped), as a range anchor needs.
 *
 * Anchors of a whole query: those of every event query it contains (sequence and sample terms, missing
 * terms and `until` included, since the query must see their events). Null when some term has
 * none, so the query has to see every event of its categories.
 */
export function queryAnchors(q: Query, usable: FieldTest = () => true, numeric: FieldTest = () => true): Anchor[] | null {
  const terms: EventQuery[] =
    q.kind === 'event' ? [q] : q.kind === 'sample' ? q.terms.map((t) => t.query) : [...q.terms.map((t) => t.query), ...(q.until ? [q.until.query] : [])];
  const out: Anchor[] = [];
  for (const t of terms) {
    const a = bestAnchors(t, usable, numeric);
    if (!a) return null;
    out.push(...a);
  }
  return out;
}

/** A copy of an anchor as plain data (for the outline cache). */
export function copyAnchor(a: Anchor): Anchor {
  const c: Anchor = { field: a.field, values: [...a.values], caseInsensitive: a.caseInsensitive };
  if (a.prefixes) c.prefixes = [...a.prefixes];
  if (a.suffixes) c.suffixes = [...a.suffixes];
  if (a.infixes) c.infixes = [...a.infixes];
  if (a.requirement !== undefined) c.requirement = a.requirement;
  if (a.numeric) c.numeric = true;
  if (a.boolean) c.boolean = true;
  if (a.range) c.range = { ...a.range };
  if (a.exists) c.exists = true;
  if (a.check) c.check = JSON.parse(JSON.stringify(a.check)) as AnchorCheck;
  if (a.chars) c.chars = [...a.chars];
  return c;
}
