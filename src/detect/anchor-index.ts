// The router's index of anchors on one field (engine/anchors.ts): given a value of the field, it
// marks every rule with an anchor the value satisfies — an exact value, a literal start, end or
// contained piece of a wildcard pattern — in a few map look-ups, however many rules share the field.
//
import { inRange, type AnchorCheck, type Exclusion, type NumberRange } from '../engine/anchors.js';
import { lower } from '../engine/expr.js';
import { classSearch, compileLuceneRegex } from '../engine/regex.js';
import { compileWildcardList } from '../engine/wildcard.js';

// Marking means `hit[rule] = stamp` (the router's per-event stamp), so nothing is allocated or
// cleared per event. The index only narrows: a marked rule still runs its own condition.

/** Rules whose anchor holds one literal piece. */
interface Entry {
  piece: string;
  rules: number[];
  /** Checked anchors (FieldAnchorIndex checks) holding the piece: their checks' numbers. */
  checks?: number[];
}

/** Adds a rule, or a check's number, to an entry. */
function addTo(entry: Entry, id: number, check: boolean): void {
  addRule(check ? (entry.checks ??= []) : entry.rules, id);
}

/** Prefixes and suffixes are looked up by their first / last KEY characters (all of a shorter one). */
const KEY = 8;

/**
 * Hash of the first (or last) `len` characters, computed a character at a time so that a value's
 * ends of every length are hashed in one walk without allocating substrings. Kept a small integer.
 */
const step = (h: number, c: number, len: number) => ((h * 31 + c) ^ (len << 24)) & 0x3fffffff;

/** A map from the hash of a value's first / last characters to the pieces it may start / end with. */
class EndIndex {
  private readonly byKey: Map<number, Entry[]>;
  /** Bit k set: some key is k characters long (1 ≤ k ≤ KEY). */
  private lengths: number;
  private maxLength: number;

  /** `built`: what data() gave, taken as it is (its maps and lists are not copied). */
  constructor(
    private readonly atStart: boolean,
    built?: EndIndexData,
  ) {
    this.byKey = built?.byKey ?? new Map();
    this.lengths = built?.lengths ?? 0;
    this.maxLength = built?.maxLength ?? 0;
  }

  /** What the index holds, as plain data (see AnchorIndexData). */
  data(): EndIndexData {
    return { byKey: this.byKey, lengths: this.lengths, maxLength: this.maxLength };
  }

  add(piece: string, rule: number, check = false): void {
    const len = Math.min(KEY, piece.length);
    let h = 0;
    for (let k = 1; k <= len; k++) h = step(h, piece.charCodeAt(this.atStart ? k - 1 : piece.length - k), k);
    this.lengths |= 1 << len;
    this.maxLength = Math.max(this.maxLength, len);
    let list = this.byKey.get(h);
    if (!list) this.byKey.set(h, (list = []));
    addTo(entryFor(list, piece), rule, check);
  }

  /** Appends the rule list of every piece the value starts (ends) with (and its checks to `checks`). */
  collect(v: string, into: number[][], checks: number[][]): void {
    const n = v.length;
    const max = Math.min(n, this.maxLength);
    let h = 0;
    for (let k = 1; k <= max; k++) {
      h = step(h, v.charCodeAt(this.atStart ? k - 1 : n - k), k);
      if ((this.lengths & (1 << k)) === 0) continue;
      const list = this.byKey.get(h);
      if (list === undefined) continue;
      for (let j = 0; j < list.length; j++) {
        const e = list[j]!;
        if (this.atStart ? v.startsWith(e.piece) : v.endsWith(e.piece)) {
          if (e.rules.length > 0) into.push(e.rules);
          if (e.checks !== undefined) checks.push(e.checks);
        }
      }
    }
  }
}

/**
 * Contained pieces (at least 3 characters), keyed by their first three characters: the value is
 * scanned once, each position tested against a bit table of the pieces' first two characters and
 * only then looked up. Characters are folded to 7 bits for the keys (a collision only costs a
 * `startsWith` that fails).
 */
class InfixIndex {
  private readonly byKey: Map<number, Entry[]>;
  private readonly firstTwo = new Uint8Array(1 << 14);
  size: number;

  /** `built`: what data() gave, taken as it is; the bit table is made again from its keys. */
  constructor(built?: InfixIndexData) {
    this.byKey = built?.byKey ?? new Map();
    this.size = built?.size ?? 0;
    // A key is c0 << 14 | c1 << 7 | c2: its first two characters are key >> 7.
    if (built !== undefined) for (const k of this.byKey.keys()) this.firstTwo[k >> 7] = 1;
  }

  /** What the index holds, as plain data (the bit table is not part of it). */
  data(): InfixIndexData {
    return { byKey: this.byKey, size: this.size };
  }

  add(piece: string, rule: number, check = false): void {
    const c0 = piece.charCodeAt(0) & 0x7f;
    const c1 = piece.charCodeAt(1) & 0x7f;
    const key = (c0 << 14) | (c1 << 7) | (piece.charCodeAt(2) & 0x7f);
    this.firstTwo[(c0 << 7) | c1] = 1;
    let list = this.byKey.get(key);
    if (!list) this.byKey.set(key, (list = []));
    const before = list.length;
    const entry = entryFor(list, piece);
    if (list.length > before) this.size++;
    addTo(entry, rule, check);
  }

  /** Appends the rule list of every piece the value contains (a list once per place it occurs; checks to `checks`). */
  collect(v: string, into: number[][], checks: number[][]): void {
    const end = v.length - 2;
    if (end <= 0) return;
    let c1 = v.charCodeAt(0) & 0x7f;
    for (let i = 0; i < end; i++) {
      const c0 = c1;
      c1 = v.charCodeAt(i + 1) & 0x7f;
      if (this.firstTwo[(c0 << 7) | c1] === 0) continue;
      const list = this.byKey.get((c0 << 14) | (c1 << 7) | (v.charCodeAt(i + 2) & 0x7f));
      if (list === undefined) continue;
      for (let j = 0; j < list.length; j++) {
        const e = list[j]!;
        if (v.startsWith(e.piece, i)) {
          if (e.rules.length > 0) into.push(e.rules);
          if (e.checks !== undefined) checks.push(e.checks);
        }
      }
    }
  }
}

/** The entry of a piece in a list of entries sharing a key, added when missing. */
function entryFor(list: Entry[], piece: string): Entry {
  for (let i = 0; i < list.length; i++) if (list[i]!.piece === piece) return list[i]!;
  const entry: Entry = { piece, rules: [] };
  list.push(entry);
  return entry;
}

/**
 * Adds a rule to a list unless it was the last added: the router adds its slots in increasing
 * order, so this keeps lists free of repeats without searching them (a list of a common field or
 * value holds hundreds of slots); a repeat from another caller would only mark a rule twice.
 */
function addRule(rules: number[], rule: number): void {
  if (rules.length === 0 || rules[rules.length - 1] !== rule) rules.push(rule);
}

const NONE: readonly (readonly number[])[] = Object.freeze([]);

function markAll(rules: readonly number[], hit: Float64Array, stamp: number): void {
  for (let i = 0; i < rules.length; i++) hit[rules[i]!] = stamp;
}

export interface AnchorPieces {
  values: readonly string[];
  /** Ranges of characters one of which the value must contain (engine/anchors.ts Anchor.chars). */
  chars?: readonly number[];
  /** A range anchor's bounds (engine/anchors.ts Anchor.range): numbers are looked up by markNumber. */
  range?: NumberRange;
  /** Checks on the value beyond the pieces (engine/anchors.ts Anchor.check). */
  check?: AnchorCheck;
  prefixes?: readonly string[];
  suffixes?: readonly string[];
  infixes?: readonly string[];
}

interface EndIndexData {
  byKey: Map<number, Entry[]>;
  lengths: number;
  maxLength: number;
}

interface InfixIndexData {
  byKey: Map<number, Entry[]>;
  size: number;
}

/**
 * What a FieldAnchorIndex holds once built, as plain data that survives structured cloning
 * (node:v8 serialize): maps, arrays, numbers and strings. The router's built index is kept on disk
 * in this form (see router-cache.ts); the memo of answers is not part of it.
 */
export interface AnchorIndexData {
  exact: Map<string, number[]>;
  all: number[];
  /** Values are case-folded before the look-up. */
  folded: boolean;
  prefixes: EndIndexData | null;
  suffixes: EndIndexData | null;
  infixes: InfixIndexData | null;
  /** Contained pieces shorter than the infix index's key (one or two characters). */
  shortInfixes: Entry[] | null;
  /** Ranges of numbers, each with its rules (absent in an index without them). */
  ranges?: RangeEntry[];
  /** Ranges of characters, each set with its rules (absent in an index without them). */
  chars?: CharsEntry[];
  /**
   * Anchors with checks, numbered: their pieces' entries list them (Entry.checks), their exact
   * values are in `exactChecks` (both absent in an index without them).
   */
  checks?: CheckData[];
  exactChecks?: Map<string, number[]>;
}

/** One checked anchor: its checks and its rules. */
interface CheckData extends AnchorCheck {
  rules: number[];
}

/** Rules whose anchor is one set of ranges of characters ([lo, hi] code point pairs). */
interface CharsEntry {
  ranges: number[];
  rules: number[];
}

/** Rules whose anchor is one range of numbers. */
interface RangeEntry {
  range: NumberRange;
  rules: number[];
}

/**
 * Bounds of an index's memo of answers (see FieldAnchorIndex.mark): values longer than this are
 * not remembered, and the memo is emptied when it holds this many values or characters.
 */
export const MEMO_VALUE_CHARS = 256;
export const MEMO_VALUES = 1024;
export const MEMO_CHARS = 65_536;

/** Every anchor of every rule on one field and case sensitivity. */
export class FieldAnchorIndex {
  private readonly exact: Map<string, number[]>;
  private prefixes: EndIndex | null;
  private suffixes: EndIndex | null;
  private infixes: InfixIndex | null;
  /**
   * Contained pieces of one or two characters (the RTLO rule's U+202E): too short for the infix
   * index's three-character keys, each is looked for with one `indexOf` per value.
   */
  private shortInfixes: Entry[] | null;
  /** Ranges of numbers (few: a rule set has a few dozen), tested one by one. */
  private ranges: RangeEntry[] | null;
  /**
   * Sets of character ranges (a rule set has one or two), each tested by one search of the value
   * (`charTests`, made when first needed: a RegExp of the class alone).
   */
  private chars: CharsEntry[] | null;
  private readonly charTests: RegExp[] = [];
  /**
   * Anchors with checks (AnchorPieces.check), numbered: their pieces are in the same entries as
   * the others' (Entry.checks), their exact values in `exactChecks`, so one scan of a value finds
   * both; a check runs only on a value that holds one of its anchor's pieces. `tests` are compiled
   * when first run; `candidates` is listsFor's scratch list of checks found.
   */
  private checks: CheckData[] | null;
  private exactChecks: Map<string, number[]> | null;
  private readonly tests: (((v: string) => boolean) | undefined)[] = [];
  private readonly candidates: number[][] = [];
  /** Every rule with an anchor here, for values the index cannot judge (numbers, booleans). */
  readonly all: number[];
  /**
   * The answer for each value seen lately, keyed by the value as the event holds it (before case
   * folding): most values of the fields rules anchor on (executables, library paths, actions)
   * recur from event to event, and a look-up here replaces folding the value and scanning it for
   * pieces.
   */
  private readonly memo = new Map<string, readonly (readonly number[])[]>();
  private memoChars = 0;
  private readonly fold: ((v: string) => string) | null;

  /**
   * `fold`: how values are case-folded before the look-up (null: they are compared as they are).
   * `built`: what data() of an index gave, taken as it is — its maps and lists are not copied, so
   * nothing may be added to it; its values are folded with `fold` when they were folded then.
   */
  constructor(fold: ((v: string) => string) | null = null, built?: AnchorIndexData) {
    this.fold = built === undefined || built.folded ? fold : null;
    this.exact = built?.exact ?? new Map();
    this.all = built?.all ?? [];
    this.prefixes = built?.prefixes ? new EndIndex(true, built.prefixes) : null;
    this.suffixes = built?.suffixes ? new EndIndex(false, built.suffixes) : null;
    this.infixes = built?.infixes ? new InfixIndex(built.infixes) : null;
    this.shortInfixes = built?.shortInfixes ?? null;
    this.ranges = built?.ranges ?? null;
    this.chars = built?.chars ?? null;
    this.checks = built?.checks ?? null;
    this.exactChecks = built?.exactChecks ?? null;
  }

  /** What the index holds, as plain data (shared with the index, not copied). */
  data(): AnchorIndexData {
    return {
      exact: this.exact,
      all: this.all,
      folded: this.fold !== null,
      prefixes: this.prefixes === null ? null : this.prefixes.data(),
      suffixes: this.suffixes === null ? null : this.suffixes.data(),
      infixes: this.infixes === null ? null : this.infixes.data(),
      shortInfixes: this.shortInfixes,
      ...(this.ranges === null ? {} : { ranges: this.ranges }),
      ...(this.chars === null ? {} : { chars: this.chars }),
      ...(this.checks === null ? {} : { checks: this.checks, exactChecks: this.exactChecks ?? new Map() }),
    };
  }

  add(anchor: AnchorPieces, rule: number): void {
    // Answers remembered before would miss the new anchor.
    if (this.memo.size > 0) {
      this.memo.clear();
      this.memoChars = 0;
    }
    addRule(this.all, rule);
    // Indexed loops: the router adds ~15,000 values at start-up, mostly in the interpreter.
    const values = anchor.values;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const l = this.exact.get(v);
      if (l === undefined) this.exact.set(v, [rule]);
      else addRule(l, rule);
    }
    if (anchor.check !== undefined) {
      // Its values and pieces lead to its check, which leads to its rule.
      const checks = (this.checks ??= []);
      const id = checks.length;
      checks.push({ ...(JSON.parse(JSON.stringify(anchor.check)) as AnchorCheck), rules: [rule] });
      const exact = (this.exactChecks ??= new Map());
      for (const v of anchor.values) {
        const l = exact.get(v);
        if (l === undefined) exact.set(v, [id]);
        else addRule(l, id);
      }
      this.addPieces(anchor, id, true);
      return;
    }
    const chars = anchor.chars;
    if (chars !== undefined && chars.length > 0) {
      const list = (this.chars ??= []);
      let entry = list.find((e) => e.ranges.length === chars.length && e.ranges.every((x, i) => x === chars[i]));
      if (entry === undefined) list.push((entry = { ranges: [...chars], rules: [] }));
      addRule(entry.rules, rule);
    }
    const range = anchor.range;
    if (range !== undefined) {
      const list = (this.ranges ??= []);
      let entry = list.find((e) => e.range.min === range.min && e.range.max === range.max && e.range.minOpen === range.minOpen && e.range.maxOpen === range.maxOpen);
      if (entry === undefined) list.push((entry = { range: { ...range }, rules: [] }));
      addRule(entry.rules, rule);
    }
    this.addPieces(anchor, rule, false);
  }

  /** Adds an anchor's pieces for a rule (or, `check`, for a check's number). */
  private addPieces(anchor: AnchorPieces, id: number, check: boolean): void {
    const { prefixes, suffixes, infixes } = anchor;
    if (prefixes !== undefined && prefixes.length > 0) {
      const index = (this.prefixes ??= new EndIndex(true));
      for (let i = 0; i < prefixes.length; i++) index.add(prefixes[i]!, id, check);
    }
    if (suffixes !== undefined && suffixes.length > 0) {
      const index = (this.suffixes ??= new EndIndex(false));
      for (let i = 0; i < suffixes.length; i++) index.add(suffixes[i]!, id, check);
    }
    if (infixes !== undefined && infixes.length > 0) {
      for (let i = 0; i < infixes.length; i++) {
        const piece = infixes[i]!;
        if (piece.length >= 3) (this.infixes ??= new InfixIndex()).add(piece, id, check);
        else if (piece.length > 0) addTo(entryFor((this.shortInfixes ??= []), piece), id, check);
      }
    }
  }

  /** Marks the rules whose anchor here the (already case-folded) string satisfies. */
  markString(v: string, hit: Float64Array, stamp: number): void {
    for (const l of this.listsFor(v)) markAll(l, hit, stamp);
  }

  /**
   * The rule lists markString would mark for the string (already case-folded), as the index's own
   * lists (not to be changed); an empty array when none.
   */
  listsFor(v: string): readonly (readonly number[])[] {
    const lists: number[][] = [];
    const checks = this.candidates;
    checks.length = 0;
    const l = this.exact.get(v);
    if (l !== undefined) lists.push(l);
    if (this.prefixes !== null) this.prefixes.collect(v, lists, checks);
    if (this.suffixes !== null) this.suffixes.collect(v, lists, checks);
    if (this.infixes !== null) this.infixes.collect(v, lists, checks);
    const short = this.shortInfixes;
    if (short !== null) {
      for (let i = 0; i < short.length; i++) {
        const e = short[i]!;
        if (!v.includes(e.piece)) continue;
        if (e.rules.length > 0) lists.push(e.rules);
        if (e.checks !== undefined) checks.push(e.checks);
      }
    }
    const chars = this.chars;
    if (chars !== null) {
      for (let i = 0; i < chars.length; i++) {
        const test = (this.charTests[i] ??= charsTest(chars[i]!.ranges));
        if (test.test(v)) lists.push(chars[i]!.rules);
      }
    }
    if (this.checks !== null) {
      const x = this.exactChecks?.get(v);
      if (x !== undefined) checks.push(x);
      for (let i = 0; i < checks.length; i++) {
        const ids = checks[i]!;
        for (let j = 0; j < ids.length; j++) {
          const id = ids[j]!;
          const c = this.checks[id]!;
          const test = (this.tests[id] ??= this.compileCheck(c));
          if (test(v)) lists.push(c.rules);
        }
      }
      checks.length = 0;
    }
    return lists.length === 0 ? NONE : lists;
  }

  /**
   * The test of a check, on a value as listsFor gets it (lower-cased when the index folds). A
   * pattern the engine could not compile would have kept the rule from compiling; should one fail
   * here all the same, its part of the check is left out (the value passes it).
   */
  private compileCheck(c: AnchorCheck): (v: string) => boolean {
    const folds = this.fold !== null;
    // A test of the value as given, or lower-cased; null when the value was folded and the
    // patterns need it as the event holds it (the anchors never ask for that).
    const on = (x: Exclusion): ((v: string) => boolean) | null => {
      if (!x.folded && folds) return null;
      let t: (v: string) => boolean;
      if (!x.wildcard) {
        const set = new Set(x.patterns);
        t = (v) => set.has(v);
      } else {
        try {
          t = compileWildcardList(x.patterns);
        } catch {
          return null;
        }
      }
      return x.folded && !folds ? (v) => t(lower(v)) : t;
    };
    const parts: ((v: string) => boolean)[] = [];
    if (c.regex !== undefined && !folds) {
      try {
        const rs = c.regex.map((p) => compileLuceneRegex(p, false));
        parts.push((v) => rs.some((r) => r(v)));
      } catch {
        /* left out */
      }
    }
    if (c.like !== undefined) {
      const t = on(c.like);
      if (t !== null) parts.push(t);
    }
    for (const x of c.unless ?? []) {
      const t = on(x);
      if (t !== null) parts.push((v) => !t(v));
    }
    return (v) => {
      for (let i = 0; i < parts.length; i++) if (!parts[i]!(v)) return false;
      return true;
    };
  }

  /** The rule lists mark() marks for the event's string (not yet case-folded), without the memo. */
  listsForRaw(raw: string): readonly (readonly number[])[] {
    return this.listsFor(this.fold === null ? raw : this.fold(raw));
  }

  /** Marks the rules whose anchor here the event's string (not yet case-folded) satisfies. */
  mark(raw: string, hit: Float64Array, stamp: number): void {
    let lists = this.memo.get(raw);
    if (lists === undefined) {
      lists = this.listsFor(this.fold === null ? raw : this.fold(raw));
      if (raw.length <= MEMO_VALUE_CHARS) {
        if (this.memo.size >= MEMO_VALUES || this.memoChars >= MEMO_CHARS) {
          this.memo.clear();
          this.memoChars = 0;
        }
        this.memo.set(raw, lists);
        this.memoChars += raw.length;
      }
    }
    for (let i = 0; i < lists.length; i++) markAll(lists[i]!, hit, stamp);
  }

  /** Marks the rules with the string among their exact values (nothing else is looked at). */
  markExact(v: string, hit: Float64Array, stamp: number): void {
    const l = this.exact.get(v);
    if (l !== undefined) markAll(l, hit, stamp);
  }

  /** Marks the rules with a range holding the number. */
  markNumber(v: number, hit: Float64Array, stamp: number): void {
    const ranges = this.ranges;
    if (ranges === null) return;
    for (let i = 0; i < ranges.length; i++) if (inRange(ranges[i]!.range, v)) markAll(ranges[i]!.rules, hit, stamp);
  }

  /** Marks every rule anchored here (a value the index cannot judge). */
  markAll(hit: Float64Array, stamp: number): void {
    markAll(this.all, hit, stamp);
  }
}

/** The search of a character anchor's ranges (validated where the anchor was made: anchors.ts). */
function charsTest(ranges: readonly number[]): RegExp {
  const re = classSearch(ranges);
  if (re === null) throw new Error(`character anchor with invalid ranges: ${ranges.join(',')}`);
  return re;
}
