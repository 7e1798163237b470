// Field access that behaves like Elasticsearch's view of a document: `process.name` finds the value
// whether the source nests objects (`{"process":{"name":…}}`), uses flat dotted keys
// (`{"process.name":…}`) or mixes both, and arrays of objects along the path are flattened into
// one multi-valued field (`{"a":[{"b":1},{"b":2}]}` gives a.b = [1, 2]).

export type Accessor = (source: Record<string, unknown>) => unknown;

const cache = new Map<string, Accessor>();
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The name of every accessor made so far, in the order made (accessor i is number i): a plain
 * mark's scope says which of them may trust it (PlainScope), and a FieldWalker looks up which of
 * these fields it knows.
 */
const registry: string[] = [];

/**
 * Returns a function reading `name` from a source document: the value, an array when the field is
 * multi-valued, or undefined when absent. Accessors are cached per name.
 */
export function fieldAccessor(name: string): Accessor {
  let fn = cache.get(name);
  if (!fn) {
    fn = buildAccessor(name, registry.length);
    registry.push(name);
    cache.set(name, fn);
  }
  return fn;
}

// A source whose objects hold no dotted key (`{"process.name": …}`) — nearly every event — can
// answer "absent" as soon as the nested walk stops, without the general lookup that looks for the
// field under dotted keys. The router checks each event once (markPlain, or its FieldWalker's walk)
// and the accessors of every rule's conditions then read it at the fast path's cost. The mark is
// one source at a time: sources are not mutated once read (see EventDoc.source), so the check
// stays true while it is set.
//
// A walker's mark is relative: it looks for dotted keys only where they could spell one of the
// fields it knows, and skips the rest of the event unread. So the mark carries a scope, the
// accessors that may trust it; markPlain, which looks at every key, vouches for all.
let plainSource: object | null = null;

/**
 * Which accessors a plain mark vouches for: those (numbered as in registry) that `members` holds a
 * 1 for, or all when `members` is null.
 */
export interface PlainScope {
  readonly members: Uint8Array | null;
}

const ALL: PlainScope = { members: null };
let plainScope: PlainScope = ALL;

/** Bound on the keys markPlain looks at: a larger source is simply not marked. */
const PLAIN_MAX_KEYS = 4096;

/**
 * Checks that no object in `source` has a key with a dot and, if so, lets the accessors treat
 * missing fields of it as absent at once (until another source is marked). Returns whether it did.
 */
export function markPlain(source: Record<string, unknown>): boolean {
  if (source === plainSource && plainScope === ALL) return true;
  plainSource = null;
  budget = PLAIN_MAX_KEYS;
  if (!noDottedKeys(source, 0)) return false;
  plainSource = source;
  plainScope = ALL;
  return true;
}

let budget = 0;

/** Whether `source` is the source marked plain now (by markPlain or a FieldWalker's walk, for some accessors at least). */
export function isMarkedPlain(source: object): boolean {
  return source === plainSource;
}

/**
 * The scope of the plain mark `source` has now (see plainScope), to give back to remarkPlain;
 * undefined when it is not marked.
 */
export function plainScopeOf(source: object): PlainScope | undefined {
  return source === plainSource ? plainScope : undefined;
}

/**
 * Marks a source plain again, with the scope it was marked with (plainScopeOf), that has not
 * changed since (sources are not mutated once read): the detection engine pushes events after the
 * router has walked a whole batch of them, when the mark belongs to the batch's last event.
 */
export function remarkPlain(source: object, scope: PlainScope): void {
  plainSource = source;
  plainScope = scope;
}

function noDottedKeys(o: object, depth: number): boolean {
  if (depth > 64) return false;
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) {
      const v: unknown = o[i];
      if (v !== null && typeof v === 'object' && !noDottedKeys(v, depth + 1)) return false;
    }
    return true;
  }
  const rec = o as Record<string, unknown>;
  for (const k in rec) {
    if (--budget < 0 || k.indexOf('.') >= 0) return false;
    const v = rec[k];
    if (v !== null && typeof v === 'object' && !noDottedKeys(v, depth + 1)) return false;
  }
  return true;
}

/**
 * Reads many fields of a source in one walk of it, instead of one look-up per field: the router
 * reads about 190 anchored fields of every event, most of them absent. The walk follows only the
 * keys that lead to a field it knows — its own fields and the `also` fields — through a tree of
 * the fields' segments, and skips the rest unread: nothing under a key that leads to no known
 * field can be one, even spelled with dotted keys, as every spelling of a field runs through keys
 * that lead to it. It finds each value the field's accessor finds — nested objects, flat dotted
 * keys or both, arrays along the path flattened — and, where an accessor would return only the
 * first of several spellings of a field (`{"process":{"name":…},"process.name":…}`), the values of
 * all of them. When no key it followed has a dot, it marks the source plain for the accessors of
 * the fields it knows (see PlainScope): any other accessor looks for dotted keys as if unmarked.
 */
export class FieldWalker {
  private readonly root: WalkNode = { next: new Map(), field: -1, outside: false, seen: 0 };
  private visit: (field: number, value: unknown) => void = () => {};
  /** Nodes added for keys met outside the known fields (see WalkNode.outside); at most OUTSIDE_NODES. */
  private outsideNodes = 0;
  /**
   * Per accessor (registry), up to `synced`: 1 when the tree knows its field. Fixed once written,
   * as the fields the tree knows are (outside nodes lead to none), so a mark made before more
   * accessors were taken in stays true for them too.
   */
  private members = new Uint8Array(256);
  private scope: PlainScope = { members: this.members };
  private synced = 0;

  /**
   * `names[i]` is reported as field i; the `also` fields are walked to as well, unreported, so
   * that their accessors may trust the plain mark.
   */
  constructor(names: readonly string[], also: readonly string[] = []) {
    names.forEach((name, i) => {
      const node = this.add(name);
      if (node.field >= 0) throw new Error(`field ${name} given twice`);
      node.field = i;
    });
    for (const name of also) this.add(name);
  }

  /** The node of a field, made along its path. */
  private add(name: string): WalkNode {
    let node = this.root;
    for (const part of name.split('.')) {
      let next = node.next.get(part);
      if (!next) node.next.set(part, (next = { next: new Map(), field: -1, outside: false, seen: 0 }));
      node = next;
    }
    return node;
  }

  /** Whether the tree knows field `name` (every segment of it leads on). */
  private knows(name: string): boolean {
    let node: WalkNode | undefined = this.root;
    for (const part of name.split('.')) if ((node = node.next.get(part)) === undefined || node.outside) return false;
    return true;
  }

  /** Takes the accessors made since the last walk into `members`. */
  private sync(): void {
    const n = registry.length;
    if (n > this.members.length) {
      const grown = new Uint8Array(Math.max(n, this.members.length * 2));
      grown.set(this.members);
      this.members = grown;
      this.scope = { members: grown };
    }
    for (let i = this.synced; i < n; i++) this.members[i] = this.knows(registry[i]!) ? 1 : 0;
    this.synced = n;
  }

  /**
   * Calls `visit(i, value)` for every value of field i in `source` that is not an object, an array
   * or null (an array's elements are visited one by one), and marks it plain for the accessors of
   * the fields it knows when no key that leads to one of them has a dot. Returns false, having
   * visited only some of the values and marked nothing, when the source is too large or deep to
   * walk (more than PLAIN_MAX_KEYS keys walked, 64 levels): the caller then reads the fields one
   * by one.
   */
  walk(source: Record<string, unknown>, visit: (field: number, value: unknown) => void): boolean {
    plainSource = null;
    if (this.synced !== registry.length) this.sync();
    budget = PLAIN_MAX_KEYS;
    dotted = false;
    this.visit = visit;
    const ok = this.object(source, this.root, 0);
    if (ok && !dotted) {
      plainSource = source;
      plainScope = this.scope;
    }
    return ok;
  }

  /** Walks an object's keys from `node`; false when over budget. */
  private object(o: Record<string, unknown>, node: WalkNode, depth: number): boolean {
    if (depth > 64) return false;
    for (const k in o) {
      if (--budget < 0) return false;
      let next: WalkNode | null | undefined = node.next.get(k);
      if (next === undefined) {
        if ((next = this.unknownKey(node, k)) === null) continue;
      } else if (next.outside) continue;
      if (!this.value(o[k], next, depth + 1)) return false;
    }
    return true;
  }

  /**
   * The node a key that is not a child of `node` leads to, or null when nothing under it can be
   * a known field. A key without a dot is remembered as outside; a dotted key that spells a known
   * field's path leads there, and sets `dotted` (an accessor's nested walk would not find what is
   * under it).
   */
  private unknownKey(node: WalkNode, k: string): WalkNode | null {
    if (k.indexOf('.') < 0) {
      this.outsideNode(node, k);
      return null;
    }
    let next: WalkNode | undefined = node;
    for (const part of k.split('.')) if ((next = next.next.get(part)) === undefined || next.outside) return null;
    dotted = true;
    return next;
  }

  /**
   * For a builder that follows a document's keys as it makes them (LinePicker with walkWith):
   * the node key `k` of an object at `node` leads to, as walk() follows it, or null when it is
   * not followed. `id` numbers the key among the builder's names (-1: none), so that the next
   * look-up of the same key is an array read.
   */
  keyNode(node: WalkNode, k: string, id: number): WalkNode | null {
    if (id >= 0) {
      const known = node.ids?.[id];
      if (known !== undefined) return known;
    }
    const next = node.next.get(k);
    const found = next === undefined ? this.unknownKey(node, k) : next.outside ? null : next;
    // (A dotted key is never cached: it must set `dotted` each time.)
    if (id >= 0 && k.indexOf('.') < 0) (node.ids ??= [])[id] = found;
    return found;
  }

  /**
   * Numbers keyNode's keys by `names` (a builder's names, by the ids it passes): the answers
   * remembered for another numbering are forgotten.
   */
  numberKeys(names: readonly string[]): void {
    if (this.keyNames === names) return;
    this.keyNames = names;
    // (Without recursion: a rule may name a field of thousands of segments.)
    const todo: WalkNode[] = [this.root];
    for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
      n.ids = undefined;
      for (const c of n.next.values()) todo.push(c);
    }
  }
  private keyNames: readonly string[] | null = null;

  /** The root of the tree, where keyNode starts. */
  get rootNode(): WalkNode {
    return this.root;
  }

  /**
   * Reports the values of `built` (what a builder found following `source`'s keys, see BuiltWalk)
   * as walk(source, visit) would, and marks the source plain as it would.
   */
  walkBuilt(source: Record<string, unknown>, built: BuiltWalk, visit: (field: number, value: unknown) => void): void {
    plainSource = null;
    if (this.synced !== registry.length) this.sync();
    const v = built.values;
    for (let i = 0; i < v.length; i += 2) visit(v[i] as number, v[i + 1]);
    if (!built.dotted) {
      plainSource = source;
      plainScope = this.scope;
    }
  }

  /** Starts a builder's walk (see keyNode): `dotted` is reset, and read back by builtDotted. */
  startBuilt(): void {
    dotted = false;
  }

  /** Whether a key the builder followed since startBuilt had a dot. */
  builtDotted(): boolean {
    return dotted;
  }

  /**
   * Remembers a key without a dot that leads to no known field under `node` (while fewer than
   * OUTSIDE_NODES are): the same keys recur from event to event, and finding the key in the map the
   * walk looks it up in anyway spares testing it for a dot.
   */
  private outsideNode(node: WalkNode, k: string): void {
    if (this.outsideNodes >= OUTSIDE_NODES) return;
    this.outsideNodes++;
    node.next.set(k, { next: new Map(), field: -1, outside: true, seen: 0 });
  }

  /** A value reached at `node`: reported if the node is a field, walked if it leads further. */
  private value(v: unknown, node: WalkNode, depth: number): boolean {
    if (v === null || v === undefined) return true;
    if (typeof v !== 'object') {
      if (node.field >= 0) this.visit(node.field, v);
      return true;
    }
    if (Array.isArray(v)) return this.array(v, node, depth, true);
    return this.object(v as Record<string, unknown>, node, depth);
  }

  /**
   * An array at `node`. Its own elements are the field's values; the elements of arrays inside it
   * are not (an accessor returns them as arrays, which the caller cannot use either), but objects
   * at any depth lead on, as arrays along a path are flattened.
   */
  private array(a: unknown[], node: WalkNode, depth: number, own: boolean): boolean {
    if (depth > 64) return false;
    // Elements are not counted against the budget, as markPlain does not count them: a long array
    // costs time in proportion to the input's size.
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (x === null || x === undefined) continue;
      if (typeof x !== 'object') {
        if (own && node.field >= 0) this.visit(node.field, x);
      } else if (Array.isArray(x)) {
        if (!this.array(x, node, depth + 1, false)) return false;
      } else if (!this.object(x as Record<string, unknown>, node, depth + 1)) return false;
    }
    return true;
  }
}

export interface WalkNode {
  next: Map<string, WalkNode>;
  /** The field this node ends, or -1. */
  field: number;
  /** A key without a dot met outside the known fields: nothing under it is walked (it has no children). */
  outside: boolean;
  /** keyNode's answers by the builder's key id (undefined: not asked yet). */
  ids?: (WalkNode | null)[];
  /**
   * A builder's number of the object it last followed a key to this node from: met again in the
   * same object, the key is a duplicate, whose first value JSON.parse drops and walk() never sees.
   */
  seen: number;
}

/**
 * A FieldWalker's walk of a document done by whoever built it (LinePicker): what walk() would
 * visit, as [field, value, field, value, …], and whether a key it followed had a dot. It is made
 * only when the walk would succeed (within its key budget and depth).
 */
export interface BuiltWalk {
  readonly walker: FieldWalker;
  readonly values: readonly unknown[];
  readonly dotted: boolean;
}

/** The keys a builder may follow in one document before its walk is given up (walk()'s budget). */
export const BUILT_WALK_MAX_KEYS = PLAIN_MAX_KEYS;

/** Bound on a walker's outside nodes: input with ever new keys must not grow it without limit. */
const OUTSIDE_NODES = 4096;

/** Set by a FieldWalker's walk when a key it follows has a dot. */
let dotted = false;

/**
 * The names of the accessors made so far (in the order made): once a worker's router is built,
 * every field anything on that thread reads through an accessor (bench/wasm-scan.ts prunes
 * documents to them).
 */
export function accessorNames(): readonly string[] {
  return registry;
}

/** One-off read; prefer `fieldAccessor` on hot paths. */
export function getField(source: Record<string, unknown>, name: string): unknown {
  return fieldAccessor(name)(source);
}

/**
 * Names with more segments than this are looked up by the object's own keys instead of through a
 * table of every sub-path, which costs memory cubic in the number of segments (a 5,000-segment
 * name in a rule would not fit in memory).
 */
const TABLE_SEGMENTS = 32;

function buildAccessor(name: string, seq: number): Accessor {
  const parts = name.split('.');
  const n = parts.length;
  // A segment that names an Object.prototype member (`constructor`, `toString`, …) must be read
  // as an own property; other segments can use a plain property read, since JSON values are
  // never functions and a missing key reads as undefined.
  const plain = parts.every((p) => !(p in Object.prototype));
  const joined = n > TABLE_SEGMENTS ? null : joinedTable(parts);
  const lookup = joined === null ? longLookup(name, parts) : tableLookup(parts, joined);

  /**
   * The nested walk stopped at step `at` (a key missing, or not an object). The field can still be
   * there under a flat dotted key at one of the levels walked (`{"process":{"parent.name":…}}`):
   * only then is the general lookup needed; a field that is simply absent — most fields of most
   * events — costs a few own-key tests.
   */
  const miss = (source: Record<string, unknown>, at: number): unknown => {
    // (A walker's mark vouches only for accessors made before its walk: see plainScope.)
    if (source === plainSource && (plainScope.members === null || plainScope.members[seq] === 1)) return undefined;
    if (joined === null) return lookup(source, 0);
    let cur: Record<string, unknown> = source;
    for (let k = 0; k <= at; k++) {
      const keys = joined[k]!;
      for (let j = k + 1; j < n; j++) if (hasOwn.call(cur, keys[j]!)) return lookup(source, 0);
      if (k === at) break;
      const next = cur[parts[k]!];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) break;
      cur = next as Record<string, unknown>;
    }
    return undefined;
  };

  if (n === 1) return (source) => (hasOwn.call(source, name) ? source[name] : undefined);
  if (!plain) return (source) => lookup(source, 0);
  // Fast path: plain nested objects with no arrays on the way, which is what most JSON logs are.
  // An array on the way goes to the general lookup; a missing step to `miss`.
  return (source) => {
    let cur: unknown = source;
    for (let i = 0; i < n; i++) {
      if (cur === null || typeof cur !== 'object') return miss(source, i - 1);
      if (Array.isArray(cur)) return lookup(source, 0);
      const next = (cur as Record<string, unknown>)[parts[i]!];
      if (next === undefined) return miss(source, i);
      cur = next;
    }
    return cur;
  };
}

/** Collects the values an array holds at a path, as one multi-valued field. */
function fromArray(arr: unknown[], from: number, lookup: (obj: unknown, from: number) => unknown): unknown {
  let out: unknown[] | undefined;
  let single: unknown;
  let count = 0;
  for (const el of arr) {
    const v = lookup(el, from);
    if (v === undefined || v === null) continue;
    if (count === 0 && !Array.isArray(v)) {
      single = v;
      count = 1;
      continue;
    }
    out ??= count === 1 ? [single] : [];
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
    count = 2;
  }
  return count === 0 ? undefined : count === 1 ? single : out;
}

/** General lookup from parts[from]: tries every split of the remaining path into key + rest. */
/** joined[i][j] = parts[i..j] joined with dots, precomputed so lookups never concatenate. */
function joinedTable(parts: string[]): string[][] {
  const n = parts.length;
  const joined: string[][] = [];
  for (let i = 0; i < n; i++) {
    joined.push([]);
    for (let j = i; j < n; j++) joined[i]![j] = parts.slice(i, j + 1).join('.');
  }
  return joined;
}

function tableLookup(parts: string[], joined: string[][]): (obj: unknown, from: number) => unknown {
  const n = parts.length;
  const lookup = (obj: unknown, from: number): unknown => {
    if (obj === null || typeof obj !== 'object') return undefined;
    if (Array.isArray(obj)) return fromArray(obj, from, lookup);
    const rec = obj as Record<string, unknown>;
    const keys = joined[from]!;
    for (let i = from; i < n; i++) {
      const key = keys[i]!;
      if (!hasOwn.call(rec, key)) continue;
      const v = rec[key];
      if (i === n - 1) {
        if (v !== undefined) return v;
        continue;
      }
      const found = lookup(v, i + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return lookup;
}

/** The same lookup for very long names: the object's own keys are matched against the rest of the name. */
function longLookup(name: string, parts: string[]): (obj: unknown, from: number) => unknown {
  const n = parts.length;
  const start: number[] = [];
  let off = 0;
  for (const p of parts) {
    start.push(off);
    off += p.length + 1;
  }
  const lookup = (obj: unknown, from: number): unknown => {
    if (obj === null || typeof obj !== 'object') return undefined;
    if (Array.isArray(obj)) return fromArray(obj, from, lookup);
    const rec = obj as Record<string, unknown>;
    const rest = name.slice(start[from]!);
    // Shorter keys first, as the table lookup tries them.
    const keys = Object.keys(rec).filter((k) => rest === k || rest.startsWith(k + '.'));
    keys.sort((a, b) => a.length - b.length);
    for (const key of keys) {
      const v = rec[key];
      if (key.length === rest.length) {
        if (v !== undefined) return v;
        continue;
      }
      let segments = 1;
      for (let i = key.indexOf('.'); i >= 0; i = key.indexOf('.', i + 1)) segments++;
      if (from + segments >= n) continue;
      const found = lookup(v, from + segments);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return lookup;
}

/**
 * A field's values as a flat list, as Elasticsearch indexes them: arrays (nested too) flattened,
 * nulls dropped. Query filters and exceptions test each value.
 */
export function leafValues(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return [v];
  const out: unknown[] = [];
  const walk = (a: unknown[]) => {
    for (const x of a) {
      if (Array.isArray(x)) walk(x);
      else if (x !== null && x !== undefined) out.push(x);
    }
  };
  walk(v);
  return out;
}
