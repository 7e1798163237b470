// Lucene regular expressions, as Elasticsearch's `regex`/`regex~` evaluate them: the pattern must
// match the whole value (implicitly anchored), `.` matches any character including newlines, `\`
// escapes the next character, `"..."` is a literal string, `@` is any string, `#` is the empty
// language, `<n-m>` is a numeric interval, and \d \s \w (and negations) are classes as in Lucene 9.
// Lucene runs patterns on an automaton, so no pattern can make it backtrack exponentially. We use
// JavaScript's RegExp when the pattern cannot backtrack badly (no nested repetition) and an NFA
// simulation, linear in the input, when it could.

export class RegexSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

type Node =
  | { t: 'char'; cp: number }
  | { t: 'any' }
  | { t: 'class'; ranges: number[]; neg: boolean }
  | { t: 'empty' }
  | { t: 'none' }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; sub: Node; min: number; max: number };

const DIGIT = [48, 57];
const SPACE = [9, 13, 32, 32];
const WORD = [48, 57, 65, 90, 95, 95, 97, 122];

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parse(): Node {
    const n = this.union();
    if (this.pos < this.src.length) throw this.error(`unexpected '${this.src[this.pos]}'`);
    return n;
  }

  private error(msg: string): RegexSyntaxError {
    return new RegexSyntaxError(`invalid regular expression at offset ${this.pos}: ${msg}`, this.pos);
  }

  private peek(): number {
    return this.pos < this.src.length ? this.src.codePointAt(this.pos)! : -1;
  }

  private next(): number {
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private union(): Node {
    const items = [this.inter()];
    while (this.peek() === 0x7c /* | */) {
      this.pos++;
      items.push(this.inter());
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }

  private inter(): Node {
    const n = this.concat();
    if (this.peek() === 0x26 /* & */) {
      throw this.error("the intersection operator '&' is not supported by eqlite");
    }
    return n;
  }

  private concat(): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.peek();
      if (c === -1 || c === 0x7c || c === 0x29 /* ) */ || c === 0x26) break;
      items.push(this.repeat());
    }
    if (items.length === 0) return { t: 'empty' };
    return items.length === 1 ? items[0]! : { t: 'cat', items };
  }

  private repeat(): Node {
    let n = this.complement();
    for (;;) {
      const c = this.peek();
      if (c === 0x3f) {
        this.pos++;
        n = { t: 'rep', sub: n, min: 0, max: 1 };
      } else if (c === 0x2a) {
        this.pos++;
        n = { t: 'rep', sub: n, min: 0, max: -1 };
      } else if (c === 0x2b) {
        this.pos++;
        n = { t: 'rep', sub: n, min: 1, max: -1 };
      } else if (c === 0x7b /* { */) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
        if (!m) throw this.error("expected '{n}', '{n,}' or '{n,m}'");
        this.pos += m[0].length;
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
        if (max !== -1 && max < min) throw this.error('repetition maximum is below its minimum');
        if (min > 1000 || max > 1000) throw this.error('repetition bound above 1000');
        n = { t: 'rep', sub: n, min, max };
      } else {
        return n;
      }
    }
  }

  private complement(): Node {
    if (this.peek() === 0x7e /* ~ */) throw this.error("the complement operator '~' is not supported by eqlite");
    return this.charClass();
  }

  private charClass(): Node {
    if (this.peek() !== 0x5b /* [ */) return this.simple();
    this.pos++;
    let neg = false;
    if (this.peek() === 0x5e /* ^ */) {
      neg = true;
      this.pos++;
    }
    const ranges: number[] = [];
    let first = true;
    while (this.peek() !== 0x5d /* ] */ || first) {
      if (this.peek() === -1) throw this.error("missing ']'");
      first = false;
      if (this.peek() === 0x5c) {
        const cls = this.classEscape();
        if (cls) {
          ranges.push(...cls);
          continue;
        }
      }
      const lo = this.charExp();
      if (this.peek() === 0x2d /* - */ && this.src[this.pos + 1] !== ']') {
        this.pos++;
        const hi = this.charExp();
        if (hi < lo) throw this.error('character range is out of order');
        ranges.push(lo, hi);
      } else {
        ranges.push(lo, lo);
      }
    }
    this.pos++;
    return { t: 'class', ranges, neg };
  }

  /** `\d`, `\s`, `\w` and their negations inside or outside a class; null for other escapes. */
  private classEscape(): number[] | null {
    const c = this.src[this.pos + 1];
    if (c !== 'd' && c !== 's' && c !== 'w') return null;
    return this.predefinedClass()!.ranges;
  }

  private predefinedClass(): { ranges: number[]; neg: boolean } | null {
    const c = this.src[this.pos + 1];
    if (!c) return null;
    const table: Record<string, number[]> = { d: DIGIT, s: SPACE, w: WORD };
    const ranges = table[c.toLowerCase()];
    if (!ranges) return null;
    this.pos += 2;
    return { ranges, neg: c !== c.toLowerCase() };
  }

  private charExp(): number {
    if (this.peek() === 0x5c) {
      this.pos++;
      if (this.peek() === -1) throw this.error('dangling backslash');
    }
    return this.next();
  }

  private simple(): Node {
    const c = this.peek();
    switch (c) {
      case 0x2e:
        this.pos++;
        return { t: 'any' };
      case 0x23:
        this.pos++;
        return { t: 'none' };
      case 0x40:
        this.pos++;
        return { t: 'rep', sub: { t: 'any' }, min: 0, max: -1 };
      case 0x22: {
        this.pos++;
        const end = this.src.indexOf('"', this.pos);
        if (end < 0) throw this.error('missing closing \'"\'');
        const items: Node[] = [];
        for (const ch of this.src.slice(this.pos, end)) items.push({ t: 'char', cp: ch.codePointAt(0)! });
        this.pos = end + 1;
        return items.length === 1 ? items[0]! : items.length === 0 ? { t: 'empty' } : { t: 'cat', items };
      }
      case 0x28: {
        this.pos++;
        if (this.peek() === 0x29) {
          this.pos++;
          return { t: 'empty' };
        }
        const n = this.union();
        if (this.peek() !== 0x29) throw this.error("missing ')'");
        this.pos++;
        return n;
      }
      case 0x3c: {
        const m = /^<(\d+)-(\d+)>/.exec(this.src.slice(this.pos));
        if (!m) throw this.error("expected a numeric interval '<n-m>'");
        this.pos += m[0].length;
        return numericInterval(m[1]!, m[2]!);
      }
      case 0x5c: {
        const cls = this.predefinedClass();
        if (cls) return { t: 'class', ranges: cls.ranges, neg: cls.neg };
        return { t: 'char', cp: this.charExp() };
      }
      default:
        if (c === 0x2a || c === 0x2b || c === 0x3f || c === 0x7b) throw this.error('nothing to repeat');
        return { t: 'char', cp: this.next() };
    }
  }
}

/** `<n-m>`: integers in the range, optionally zero-padded to the width of the bounds as Lucene does. */
function numericInterval(a: string, b: string): Node {
  let lo = Number(a);
  let hi = Number(b);
  if (lo > hi) [lo, hi] = [hi, lo];
  if (hi - lo > 10_000) throw new RegexSyntaxError(`numeric interval <${a}-${b}> is too large`, 0);
  const width = a.length === b.length ? a.length : 0;
  const items: Node[] = [];
  for (let i = lo; i <= hi; i++) {
    const s = width ? String(i).padStart(width, '0') : String(i);
    items.push({ t: 'cat', items: [...s].map((ch) => ({ t: 'char', cp: ch.codePointAt(0)! }) as Node) });
  }
  return { t: 'alt', items };
}

/** True when a repeated sub-pattern itself repeats or alternates: the shapes that backtrack badly. */
function isRisky(n: Node, underRep = false): boolean {
  switch (n.t) {
    case 'rep':
      if (underRep && n.max !== 1) return true;
      return isRisky(n.sub, underRep || n.max === -1 || n.max > 1);
    case 'cat':
      return n.items.some((i) => isRisky(i, underRep));
    case 'alt':
      return (underRep && n.items.length > 1) || n.items.some((i) => isRisky(i, underRep));
    default:
      return false;
  }
}

function cpEscape(cp: number): string {
  return '\\u{' + cp.toString(16) + '}';
}

function toJs(n: Node): string {
  switch (n.t) {
    case 'char':
      return cpEscape(n.cp);
    case 'any':
      return '.';
    case 'empty':
      return '(?:)';
    case 'none':
      return '[^\\s\\S]';
    case 'class': {
      let s = n.neg ? '[^' : '[';
      for (let i = 0; i < n.ranges.length; i += 2) {
        s += cpEscape(n.ranges[i]!);
        if (n.ranges[i + 1] !== n.ranges[i]) s += '-' + cpEscape(n.ranges[i + 1]!);
      }
      return s + ']';
    }
    case 'cat':
      return n.items.map(toJs).join('');
    case 'alt':
      return '(?:' + n.items.map(toJs).join('|') + ')';
    case 'rep': {
      const q = n.min === 0 && n.max === -1 ? '*' : n.min === 1 && n.max === -1 ? '+' : n.min === 0 && n.max === 1 ? '?' : n.max === -1 ? `{${n.min},}` : `{${n.min},${n.max}}`;
      return '(?:' + toJs(n.sub) + ')' + q;
    }
  }
}

// ---- NFA simulation (Thompson), used for patterns that could backtrack badly ----

interface State {
  /** 0 = match, 1 = char test, 2 = split (epsilon to out and out2), 3 = epsilon */
  kind: 0 | 1 | 2 | 3;
  test?: (cp: number) => boolean;
  out: number;
  out2: number;
}

class NfaBuilder {
  states: State[] = [];
  constructor(private readonly fold: boolean) {}

  add(s: State): number {
    this.states.push(s);
    return this.states.length - 1;
  }

  /** Builds `n` so that it continues to state `next`; returns its entry state. */
  build(n: Node, next: number): number {
    switch (n.t) {
      case 'char': {
        const cp = n.cp;
        const test = this.fold ? foldTest((c) => c === cp) : (c: number) => c === cp;
        return this.add({ kind: 1, test, out: next, out2: -1 });
      }
      case 'any':
        return this.add({ kind: 1, test: () => true, out: next, out2: -1 });
      case 'none':
        return this.add({ kind: 1, test: () => false, out: next, out2: -1 });
      case 'class': {
        const r = n.ranges;
        const inSet = (c: number) => {
          for (let i = 0; i < r.length; i += 2) if (c >= r[i]! && c <= r[i + 1]!) return true;
          return false;
        };
        const base = this.fold ? foldTest(inSet) : inSet;
        const test = n.neg ? (c: number) => !base(c) : base;
        return this.add({ kind: 1, test, out: next, out2: -1 });
      }
      case 'empty':
        return next;
      case 'cat': {
        let entry = next;
        for (let i = n.items.length - 1; i >= 0; i--) entry = this.build(n.items[i]!, entry);
        return entry;
      }
      case 'alt': {
        let entry = this.build(n.items[n.items.length - 1]!, next);
        for (let i = n.items.length - 2; i >= 0; i--) {
          entry = this.add({ kind: 2, out: this.build(n.items[i]!, next), out2: entry });
        }
        return entry;
      }
      case 'rep': {
        let entry = next;
        if (n.max === -1) {
          const loop = this.add({ kind: 2, out: -1, out2: next });
          this.states[loop]!.out = this.build(n.sub, loop);
          entry = loop;
        } else {
          for (let i = n.max; i > n.min; i--) {
            entry = this.add({ kind: 2, out: this.build(n.sub, entry), out2: next });
            next = entry;
          }
        }
        for (let i = 0; i < n.min; i++) entry = this.build(n.sub, entry);
        return entry;
      }
    }
  }
}

function foldTest(test: (cp: number) => boolean): (cp: number) => boolean {
  return (cp) => {
    if (test(cp)) return true;
    const ch = String.fromCodePoint(cp);
    const lo = ch.toLowerCase();
    const up = ch.toUpperCase();
    return (lo !== ch && test(lo.codePointAt(0)!)) || (up !== ch && test(up.codePointAt(0)!));
  };
}

function nfaMatcher(root: Node, fold: boolean): (v: string) => boolean {
  const b = new NfaBuilder(fold);
  const accept = b.add({ kind: 0, out: -1, out2: -1 });
  const start = b.build(root, accept);
  const states = b.states;
  const n = states.length;
  const mark = new Uint32Array(n);
  let gen = 0;
  let cur = new Int32Array(n);
  let nxt = new Int32Array(n);
  const stack = new Int32Array(n);

  // Adds a state and its epsilon closure to a list; `mark` de-duplicates within a generation.
  function addState(list: Int32Array, len: number, s: number): number {
    let sp = 0;
    stack[sp++] = s;
    while (sp > 0) {
      const i = stack[--sp]!;
      if (mark[i] === gen) continue;
      mark[i] = gen;
      const st = states[i]!;
      if (st.kind === 2) {
        stack[sp++] = st.out2;
        stack[sp++] = st.out;
      } else if (st.kind === 3) {
        stack[sp++] = st.out;
      } else {
        list[len++] = i;
      }
    }
    return len;
  }

  return (v: string) => {
    gen++;
    let curLen = addState(cur, 0, start);
    for (let p = 0; p < v.length && curLen > 0; ) {
      const cp = v.codePointAt(p)!;
      p += cp > 0xffff ? 2 : 1;
      gen++;
      let nxtLen = 0;
      for (let k = 0; k < curLen; k++) {
        const st = states[cur[k]!]!;
        if (st.kind === 1 && st.test!(cp)) nxtLen = addState(nxt, nxtLen, st.out);
      }
      const t = cur;
      cur = nxt;
      nxt = t;
      curLen = nxtLen;
    }
    for (let k = 0; k < curLen; k++) if (states[cur[k]!]!.kind === 0) return true;
    return false;
  };
}

/**
 * Compiles a Lucene regular expression into an anchored whole-value test.
 * Throws RegexSyntaxError for invalid or unsupported patterns.
 */
export function compileLuceneRegex(pattern: string, caseInsensitive: boolean): (v: string) => boolean {
  const ast = new Parser(pattern).parse();
  if (isRisky(ast)) return nfaMatcher(ast, caseInsensitive);
  const re = new RegExp('^(?:' + toJs(ast) + ')$', caseInsensitive ? 'sui' : 'su');
  return (v) => re.test(v);
}
