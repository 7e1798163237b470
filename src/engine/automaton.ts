// Finite automata for the pattern languages EQL hands to Lucene: `regex` (Lucene regular
// expressions, see regex.ts) and wildcards with `?` (see wildcard.ts).
//
// Elasticsearch never backtracks: Lucene turns a pattern into an automaton, determinizes it with
// a work limit (refusing the query as "too complex to determinize" when it would be exceeded) and
// runs the DFA, so matching costs one table step per character whatever the pattern. eqlite does
// the same: a pattern tree becomes a Thompson NFA, the NFA becomes a DFA by the subset
// construction, with Lucene's limit, when the query is compiled. A pattern that is too large is
// refused then, with an error naming it; a pattern that compiles matches in time linear in the
// value.

/** Elasticsearch's `max_determinized_states` default, passed to Lucene as its work limit. */
export const DETERMINIZE_WORK_LIMIT = 10_000;
/**
 * Lucene 9 counts the work of the subset construction as the total size of the NFA state sets it
 * visits and stops at ten times the limit (LUCENE-9981); the number of DFA states is bounded by
 * the limit itself.
 */
const EFFORT_LIMIT = DETERMINIZE_WORK_LIMIT * 10;
/** Bound on the NFA built from the pattern tree, checked before anything is allocated. */
const MAX_NFA_STATES = 100_000;
/** Bound on the DFA's transition table (states × character classes), 32 MB of Int32. */
const MAX_TABLE_ENTRIES = 1 << 23;

export const MAX_CODE_POINT = 0x10ffff;

/** A pattern that Lucene would refuse to determinize (Elasticsearch's too_complex_to_determinize_exception). */
export class TooComplexError extends Error {
  override name = 'TooComplexError';
}

/** Pattern tree shared by the regex and wildcard front ends. */
export type PatternNode =
  | { t: 'char'; cp: number }
  | { t: 'any' }
  /** Inclusive [lo, hi] pairs; `neg` complements the set (after case folding). */
  | { t: 'class'; ranges: number[]; neg: boolean }
  /** The empty string. */
  | { t: 'empty' }
  /** The empty language (`#`): matches nothing. */
  | { t: 'none' }
  | { t: 'cat'; items: PatternNode[] }
  | { t: 'alt'; items: PatternNode[] }
  /** `max` -1 is unbounded. */
  | { t: 'rep'; sub: PatternNode; min: number; max: number }
  /** Lucene's intersection `a&b`: strings both operands match. */
  | { t: 'and'; items: PatternNode[] }
  /** Lucene's complement `~a`: every string `a` does not match. */
  | { t: 'not'; sub: PatternNode };

// ---------------------------------------------------------------------------------------------
// Case folding

/**
 * Code points whose simple lower or upper case mapping is another code point, with those
 * mappings (first code point of the mapped string, as String#toLowerCase gives it). Built once,
 * on first use by a case-insensitive pattern; cased letters all lie below U+20000.
 */
let caseTable: Int32Array | null = null;

function caseVariants(): Int32Array {
  if (caseTable) return caseTable;
  const out: number[] = [];
  const BLOCK = 256;
  for (let base = 0; base < 0x20000; base += BLOCK) {
    if (base >= 0xd800 && base < 0xe000) continue;
    // Most blocks hold no cased letter: one conversion of the whole block skips them.
    let block = '';
    for (let cp = base; cp < base + BLOCK; cp++) block += String.fromCodePoint(cp);
    if (block.toLowerCase() === block && block.toUpperCase() === block) continue;
    for (let cp = base; cp < base + BLOCK; cp++) {
      const ch = String.fromCodePoint(cp);
      const lo = ch.toLowerCase();
      const up = ch.toUpperCase();
      const l = lo !== ch ? lo.codePointAt(0)! : -1;
      const u = up !== ch ? up.codePointAt(0)! : -1;
      if (l >= 0 || u >= 0) out.push(cp, l, u);
    }
  }
  caseTable = Int32Array.from(out);
  return caseTable;
}

/** Sorts and merges inclusive [lo, hi] pairs. */
export function normalizeRanges(r: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i]!, r[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1]! + 1) out[n - 1] = Math.max(out[n - 1]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

function inRanges(r: number[], cp: number): boolean {
  let lo = 0;
  let hi = r.length / 2 - 1;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (cp < r[2 * m]!) hi = m - 1;
    else if (cp > r[2 * m + 1]!) lo = m + 1;
    else return true;
  }
  return false;
}

/** Code point → the code points whose lower or upper case form it is (built with caseTable). */
let reverseCase: Map<number, number[]> | null = null;

function reverseVariants(): Map<number, number[]> {
  if (reverseCase) return reverseCase;
  const table = caseVariants();
  const rev = new Map<number, number[]>();
  const add = (target: number, from: number) => {
    const list = rev.get(target);
    if (list) list.push(from);
    else rev.set(target, [from]);
  };
  for (let i = 0; i < table.length; i += 3) {
    if (table[i + 1]! >= 0) add(table[i + 1]!, table[i]!);
    if (table[i + 2]! >= 0 && table[i + 2] !== table[i + 1]) add(table[i + 2]!, table[i]!);
  }
  reverseCase = rev;
  return rev;
}

/**
 * The set plus every code point whose lower or upper case form is in it: a value character
 * matches case-insensitively when it, its lower case or its upper case form is in the set.
 * (Exported for the router's anchors of regex~ patterns, engine/regex-pieces.ts, which must
 * accept every character the matcher accepts.)
 */
export function foldRanges(r: number[]): number[] {
  const base = normalizeRanges(r);
  const extra: number[] = [];
  let size = 0;
  for (let i = 0; i < base.length; i += 2) size += base[i + 1]! - base[i]! + 1;
  if (size <= 256) {
    // Small sets (letters, short classes): look their members up in the reverse map.
    const rev = reverseVariants();
    for (let i = 0; i < base.length; i += 2) {
      for (let cp = base[i]!; cp <= base[i + 1]!; cp++) {
        const from = rev.get(cp);
        if (from) for (const f of from) extra.push(f, f);
      }
    }
  } else {
    const table = caseVariants();
    for (let i = 0; i < table.length; i += 3) {
      const cp = table[i]!;
      const l = table[i + 1]!;
      const u = table[i + 2]!;
      if ((l >= 0 && inRanges(base, l)) || (u >= 0 && inRanges(base, u))) extra.push(cp, cp);
    }
  }
  return extra.length === 0 ? base : normalizeRanges(base.concat(extra));
}

function complementRanges(r: number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) out.push(next, r[i]! - 1);
    next = r[i + 1]! + 1;
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT);
  return out;
}

// ---------------------------------------------------------------------------------------------
// NFA

/** Size of the NFA a node gives (saturating), so hostile repetitions are refused before building. */
function nfaSize(n: PatternNode, cap: number): number {
  switch (n.t) {
    case 'char':
    case 'any':
    case 'class':
    case 'none':
      return 1;
    case 'empty':
      return 0;
    case 'cat':
    case 'alt':
    case 'and': {
      let s = n.items.length;
      for (const i of n.items) {
        s += nfaSize(i, cap);
        if (s > cap) return cap + 1;
      }
      return s;
    }
    case 'rep': {
      const sub = nfaSize(n.sub, cap);
      const copies = n.max === -1 ? Math.max(n.min, 1) : n.max;
      const s = (sub + 1) * copies + 1;
      return s > cap ? cap + 1 : s;
    }
    case 'not': {
      const s = nfaSize(n.sub, cap) + 1;
      return s > cap ? cap + 1 : s;
    }
  }
}

/** The character ranges a node's edges use (folded as the NFA folds them), for the class boundaries. */
function collectRanges(n: PatternNode, fold: boolean, out: number[][]): void {
  switch (n.t) {
    case 'char':
      out.push(fold ? foldRanges([n.cp, n.cp]) : [n.cp, n.cp]);
      return;
    case 'class': {
      const r = fold ? foldRanges(n.ranges) : normalizeRanges(n.ranges);
      out.push(n.neg ? complementRanges(r) : r);
      return;
    }
    case 'cat':
    case 'alt':
    case 'and':
      for (const i of n.items) collectRanges(i, fold, out);
      return;
    case 'rep':
    case 'not':
      collectRanges(n.sub, fold, out);
      return;
    default:
      return;
  }
}

/** Sorted class boundaries: maximal intervals of code points on which every range agrees. */
function classBounds(ranges: number[][]): Int32Array {
  const points = new Set<number>([0]);
  for (const r of ranges) {
    for (let k = 0; k < r.length; k += 2) {
      points.add(r[k]!);
      if (r[k + 1]! < MAX_CODE_POINT) points.add(r[k + 1]! + 1);
    }
  }
  return Int32Array.from([...points].sort((a, b) => a - b));
}

/**
 * Thompson NFA: state i has epsilon edges eps[i] and character edges (lo[i][k]..hi[i][k]) →
 * to[i][k]. State 0 is the accepting state.
 */
class Nfa {
  eps: number[][] = [];
  lo: number[][] = [];
  hi: number[][] = [];
  to: number[][] = [];

  /**
   * `operand` turns an operand of `&` or `~` into a DFA over the pattern's character classes
   * (`bounds`); intersection and complement are taken on DFAs, as Lucene does, and the result is
   * embedded here as ordinary states.
   */
  constructor(
    private readonly fold: boolean,
    private readonly bounds: Int32Array,
    private readonly operand: (n: PatternNode) => DfaTable,
  ) {
    this.add(); // 0: accept
  }

  /** Embeds a DFA so that its accepting states continue to `next`; returns its entry state. */
  private embed(d: DfaTable, next: number): number {
    const K = this.bounds.length;
    const base = this.eps.length;
    for (let i = 0; i < d.rows.length; i++) this.add();
    for (let i = 0; i < d.rows.length; i++) {
      const s = base + i;
      const row = d.rows[i]!;
      if (d.accepting[i]) this.eps[s]!.push(next);
      // Adjacent classes with the same target become one edge.
      for (let c = 0; c < K; ) {
        const t = row[c]!;
        let e = c + 1;
        while (e < K && row[e] === t) e++;
        if (t !== DEAD) {
          this.lo[s]!.push(this.bounds[c]!);
          this.hi[s]!.push(e < K ? this.bounds[e]! - 1 : MAX_CODE_POINT);
          this.to[s]!.push(base + t);
        }
        c = e;
      }
    }
    return base + d.start;
  }

  add(): number {
    this.eps.push([]);
    this.lo.push([]);
    this.hi.push([]);
    this.to.push([]);
    return this.eps.length - 1;
  }

  private edges(ranges: number[], next: number): number {
    const s = this.add();
    for (let i = 0; i < ranges.length; i += 2) {
      this.lo[s]!.push(ranges[i]!);
      this.hi[s]!.push(ranges[i + 1]!);
      this.to[s]!.push(next);
    }
    return s;
  }

  /** Builds `n` so that it continues to `next`; returns its entry state. */
  build(n: PatternNode, next: number): number {
    switch (n.t) {
      case 'char':
        return this.edges(this.fold ? foldRanges([n.cp, n.cp]) : [n.cp, n.cp], next);
      case 'any':
        return this.edges([0, MAX_CODE_POINT], next);
      case 'none':
        return this.add(); // no way out
      case 'class': {
        let r = this.fold ? foldRanges(n.ranges) : normalizeRanges(n.ranges);
        if (n.neg) r = complementRanges(r);
        return this.edges(r, next);
      }
      case 'empty':
        return next;
      case 'cat': {
        let entry = next;
        for (let i = n.items.length - 1; i >= 0; i--) entry = this.build(n.items[i]!, entry);
        return entry;
      }
      case 'alt': {
        const s = this.add();
        for (const item of n.items) this.eps[s]!.push(this.build(item, next));
        return s;
      }
      case 'rep': {
        let entry = next;
        if (n.max === -1) {
          const loop = this.add();
          this.eps[loop]!.push(this.build(n.sub, loop), next);
          entry = loop;
        } else {
          // Optional copies, innermost first: each may be skipped straight to `next`.
          for (let i = n.max; i > n.min; i--) {
            const s = this.add();
            this.eps[s]!.push(this.build(n.sub, entry), next);
            entry = s;
          }
        }
        for (let i = 0; i < n.min; i++) entry = this.build(n.sub, entry);
        return entry;
      }
      case 'and': {
        let d = this.operand(n.items[0]!);
        for (let i = 1; i < n.items.length; i++) d = intersect(d, this.operand(n.items[i]!));
        return this.embed(d, next);
      }
      case 'not':
        return this.embed(complement(this.operand(n.sub)), next);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// DFA

/** A deterministic automaton over character classes; `run` is the anchored whole-value test. */
export interface Dfa {
  states: number;
  classes: number;
  run(value: string): boolean;
}

const DEAD = -1;

/** A DFA as rows of class → target (DEAD: no way on), with its accepting states. */
interface DfaTable {
  rows: Int32Array[];
  accepting: boolean[];
  start: number;
}

/** Limits shared by every determinization of one pattern (Lucene's work limit). */
interface Budget {
  effort: number;
  tooComplex(): never;
}

/** Subset construction of `nfa` from `start` over the classes `bounds`. */
function determinize(nfa: Nfa, start: number, bounds: Int32Array, classOf: (cp: number) => number, budget: Budget): DfaTable {
  const n = nfa.eps.length;
  const K = bounds.length;
  // Epsilon closure into a sorted list of "important" states (those with character edges, and
  // the accepting state), which identify a DFA state.
  const mark = new Uint32Array(n);
  let gen = 0;
  const stack: number[] = [];
  const closure = (seeds: number[]): number[] => {
    gen++;
    const out: number[] = [];
    for (const s of seeds) stack.push(s);
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (mark[s] === gen) continue;
      mark[s] = gen;
      if (s === 0 || nfa.lo[s]!.length > 0) out.push(s);
      const e = nfa.eps[s]!;
      for (let k = e.length - 1; k >= 0; k--) stack.push(e[k]!);
    }
    return out.sort((a, b) => a - b);
  };

  const ids = new Map<string, number>();
  const sets: number[][] = [];
  const stateOf = (set: number[]): number => {
    if (set.length === 0) return DEAD;
    const key = set.join(',');
    let id = ids.get(key);
    if (id === undefined) {
      id = sets.length;
      if (id >= DETERMINIZE_WORK_LIMIT) budget.tooComplex();
      ids.set(key, id);
      sets.push(set);
    }
    return id;
  };

  const first = stateOf(closure([start]));
  const rows: Int32Array[] = [];
  const accepting: boolean[] = [];
  const buckets: number[][] = Array.from({ length: K }, () => []);
  for (let d = 0; d < sets.length; d++) {
    const set = sets[d]!;
    budget.effort += set.length;
    if (budget.effort >= EFFORT_LIMIT || (d + 1) * K > MAX_TABLE_ENTRIES) budget.tooComplex();
    accepting.push(set[0] === 0);
    const used: number[] = [];
    for (const s of set) {
      const lo = nfa.lo[s]!;
      const hi = nfa.hi[s]!;
      const to = nfa.to[s]!;
      for (let k = 0; k < lo.length; k++) {
        const last = classOf(hi[k]!);
        for (let c = classOf(lo[k]!); c <= last; c++) {
          const b = buckets[c]!;
          if (b.length === 0) used.push(c);
          b.push(to[k]!);
        }
      }
    }
    const row = new Int32Array(K).fill(DEAD);
    // Classes with the same targets share one closure computation.
    const memo = new Map<string, number>();
    for (const c of used) {
      const b = buckets[c]!;
      const key = b.join(',');
      let target = memo.get(key);
      if (target === undefined) {
        target = stateOf(closure(b));
        memo.set(key, target);
      }
      row[c] = target;
      b.length = 0;
    }
    rows.push(row);
  }
  if (first === DEAD) {
    // The empty language: one state, not accepting, no way on.
    return { rows: [new Int32Array(K).fill(DEAD)], accepting: [false], start: 0 };
  }
  return { rows, accepting, start: first };
}

/** Every string the DFA does not accept: a sink replaces DEAD, and acceptance flips. */
function complement(d: DfaTable): DfaTable {
  const K = d.rows[0]!.length;
  const sink = d.rows.length;
  if (sink + 1 > DETERMINIZE_WORK_LIMIT) throw new TooComplexError(`Determinizing a complement would require more than ${DETERMINIZE_WORK_LIMIT} effort`);
  const rows = d.rows.map((r) => r.map((t) => (t === DEAD ? sink : t)));
  rows.push(new Int32Array(K).fill(sink));
  return { rows, accepting: [...d.accepting.map((a) => !a), true], start: d.start };
}

/** Strings both DFAs accept (the product automaton of the pairs reachable from the starts). */
function intersect(a: DfaTable, b: DfaTable): DfaTable {
  const K = a.rows[0]!.length;
  const ids = new Map<number, number>();
  const pairs: number[] = [];
  const idOf = (x: number, y: number): number => {
    if (x === DEAD || y === DEAD) return DEAD;
    const key = x * b.rows.length + y;
    let id = ids.get(key);
    if (id === undefined) {
      id = pairs.length / 2;
      if (id >= DETERMINIZE_WORK_LIMIT) throw new TooComplexError(`Determinizing an intersection would require more than ${DETERMINIZE_WORK_LIMIT} effort`);
      ids.set(key, id);
      pairs.push(x, y);
    }
    return id;
  };
  idOf(a.start, b.start);
  const rows: Int32Array[] = [];
  const accepting: boolean[] = [];
  for (let p = 0; p < pairs.length / 2; p++) {
    const x = pairs[2 * p]!;
    const y = pairs[2 * p + 1]!;
    const ra = a.rows[x]!;
    const rb = b.rows[y]!;
    const row = new Int32Array(K);
    for (let c = 0; c < K; c++) row[c] = idOf(ra[c]!, rb[c]!);
    rows.push(row);
    accepting.push(a.accepting[x]! && b.accepting[y]!);
  }
  return { rows, accepting, start: 0 };
}

/**
 * Compiles a pattern tree into a DFA. `fold` makes letters match either case. `what` names the
 * pattern in the TooComplexError message. Throws TooComplexError.
 */
export function compileDfa(root: PatternNode, fold: boolean, what: string): Dfa {
  const budget: Budget = {
    effort: 0,
    tooComplex(): never {
      throw new TooComplexError(`Determinizing ${what} would require more than ${DETERMINIZE_WORK_LIMIT} effort`);
    },
  };
  if (nfaSize(root, MAX_NFA_STATES) > MAX_NFA_STATES) budget.tooComplex();

  // Character classes: maximal intervals on which every edge of the pattern agrees (computed
  // from the tree, so that the operands of & and ~ are determinized over the same classes).
  const ranges: number[][] = [];
  collectRanges(root, fold, ranges);
  ranges.push([0, MAX_CODE_POINT]);
  const bounds = classBounds(ranges);
  const K = bounds.length;
  const classOf = (cp: number): number => {
    let lo = 0;
    let hi = K - 1;
    while (lo < hi) {
      const m = (lo + hi + 1) >> 1;
      if (bounds[m]! <= cp) lo = m;
      else hi = m - 1;
    }
    return lo;
  };
  const operand = (n: PatternNode): DfaTable => {
    const sub = new Nfa(fold, bounds, operand);
    return determinize(sub, sub.build(n, 0), bounds, classOf, budget);
  };
  let dfa: DfaTable;
  try {
    const nfa = new Nfa(fold, bounds, operand);
    dfa = determinize(nfa, nfa.build(root, 0), bounds, classOf, budget);
  } catch (e) {
    // Intersections and complements say "an intersection"; the error names the pattern.
    if (e instanceof TooComplexError && !e.message.includes(what)) budget.tooComplex();
    throw e;
  }
  const rows = dfa.rows;
  const accepting = dfa.accepting;

  // States that cannot reach acceptance are dead: the run stops at the first character that
  // leads there.
  const S = rows.length;
  const live = new Uint8Array(S);
  const reverse: number[][] = Array.from({ length: S }, () => []);
  for (let d = 0; d < S; d++) for (const t of rows[d]!) if (t !== DEAD) reverse[t]!.push(d);
  const work: number[] = [];
  for (let d = 0; d < S; d++) if (accepting[d]) {
    live[d] = 1;
    work.push(d);
  }
  while (work.length > 0) {
    for (const p of reverse[work.pop()!]!) if (!live[p]) {
      live[p] = 1;
      work.push(p);
    }
  }
  const table = new Int32Array(S * K);
  for (let d = 0; d < S; d++) {
    const row = rows[d]!;
    for (let c = 0; c < K; c++) {
      const t = row[c]!;
      table[d * K + c] = t !== DEAD && live[t] ? t * K : DEAD;
    }
  }
  const accept = Uint8Array.from(accepting, (a) => (a ? 1 : 0));
  const ascii = new Int32Array(128);
  for (let cp = 0; cp < 128; cp++) ascii[cp] = classOf(cp);
  const startRow = live[dfa.start] ? dfa.start * K : DEAD;

  return {
    states: S,
    classes: K,
    run(v: string): boolean {
      // Rows are pre-multiplied by K: state * K is the row offset.
      let row = startRow;
      const len = v.length;
      for (let i = 0; i < len && row !== DEAD; i++) {
        let c = v.charCodeAt(i);
        if (c < 128) {
          row = table[row + ascii[c]!]!;
          continue;
        }
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
          const d = v.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
            i++;
          }
        }
        row = table[row + classOf(c)]!;
      }
      return row !== DEAD && accept[row / K]! === 1;
    },
  };
}
