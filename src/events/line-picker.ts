// NDJSON lines read into documents holding only the fields that will be read: a WebAssembly scan
// (wasm/pick.ts, embedded as pick-wasm.ts) validates each line's bytes as JSON.parse of its text
// would and writes a tape of the wanted values, from which the document is built here. With every
// Elastic rule, an input worker reads 320 of an Agent event's fields (about 56% of its 2.7 KB) and
// this costs 7–8 µs less per line than decoding, JSON.parse and the router's walk (about 15
// against 22 at a load of 7: bench/wasm-scan.ts; docs/performance-log.md, nineteenth session).
//
// What the scan does not settle exactly (not JSON, bytes that are not UTF-8, an escaped key on
// the way to a wanted field, a lone surrogate, nesting deeper than 64, a line over MAX_LINE) it
// declines, and the caller parses the line as before. For the lines it takes, the document has
// the keys the line has on the way to each wanted field (nested or dotted, in their order), under
// a wanted field the whole value, and values as JSON.parse makes them: reading a wanted field
// from it gives what reading it from the whole document gives.
import { PICK_WASM } from './pick-wasm.js';
import { WA, type WasmMemory, type WasmModule } from '../util/wasm.js';
import { BUILT_WALK_MAX_KEYS, type BuiltWalk, type FieldWalker, type WalkNode } from '../engine/fields.js';

// Memory (wasm/pick.ts): the trie from TRIE, the tape, its numbers, scratch for unescaped strings,
// and the input from INPUT on (grown as reads need).
const KIB = 1024;
const TRIE = 64 * KIB;
const TAPE_ENTRIES = 1 << 15;
const TAPE = 1024 * KIB;
const NUMS = TAPE + TAPE_ENTRIES * 32;
const SCRATCH = NUMS + TAPE_ENTRIES * 8;
/** Longest line taken (its unescaped strings must fit the scratch area); longer ones are declined. */
export const MAX_LINE = 1024 * KIB;
const OUT = SCRATCH + MAX_LINE;
const INPUT = OUT + 16 * KIB;
const PAGE = 64 * KIB;
const FORM_TAPE = 1;

// Tape kinds and flags (wasm/pick.ts).
const K_OBJ = 1;
const K_ARR = 2;
const K_END = 3;
const K_STR = 4;
const K_ESC = 5;
const K_NUM = 6;
const K_NUMT = 7;
const K_TRUE = 8;
const K_FALSE = 9;
const K_NULL = 10;
const ASCII = 256;
const KEY_ASCII = 512;

/** Buffer's own slicers: one native call per string, no argument checks. */
type Slicer = Buffer & { latin1Slice(a: number, b: number): string; utf8Slice(a: number, b: number): string };

interface Exports {
  memory: WasmMemory;
  setup(nodes: number, kids: number, tape: number, entries: number, nums: number, scratch: number, out: number, form: number): void;
  scan(start: number, limit: number): number;
  lineChars(): number;
}

let compiled: WasmModule | null | undefined;

/** The scanner's module, compiled once per thread; null where WebAssembly (with SIMD) is not available. */
function wasmModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = new WA.Module(Buffer.from(PICK_WASM, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled ?? null;
}

export class LinePicker {
  private readonly x: Exports;
  private mem!: Slicer;
  private tape!: Int32Array;
  private nums!: Float64Array;
  /** The trie children's names, by the id the tape gives them. */
  private readonly names: string[] = [];
  /** Input bytes loaded (from INPUT). */
  private loaded = 0;
  private readonly stack: unknown[] = [];
  /** The trie (node 0 the document), kept to answer picks(). */
  private readonly nodes: { kids: { name: string; node: number }[]; terminal: boolean }[];
  private get root() {
    return this.nodes[0]!;
  }
  /** The length of the last line taken in UTF-16 units (the length of its decoded text). */
  lineChars = 0;
  /** The walker whose walk of each document is made while it is built (walkWith), or null. */
  private walker: FieldWalker | null = null;
  /** The walk made with the last document pick() returned (takeWalk). */
  private built: BuiltWalk | null = null;
  /** Scratch of the walk being made: [field, value, …], and per open container its walk node and whether an array's elements are its field's own. */
  private readonly found: unknown[] = [];
  private readonly walkNodes: (WalkNode | null)[] = [];
  private readonly walkOwn: boolean[] = [];
  private readonly walkObjects: number[] = [];
  /** Numbers the objects buildWalking fills, across documents (WalkNode.seen). */
  private objectSerial = 0;

  /**
   * A picker for `fields` (dotted names; a name is wanted with everything under it), or null
   * when WebAssembly is not available here.
   */
  static create(fields: Iterable<string>): LinePicker | null {
    const m = wasmModule();
    return m === null ? null : new LinePicker(m, fields);
  }

  private constructor(m: WasmModule, fields: Iterable<string>) {
    this.x = new WA.Instance(m, {
      env: {
        abort: () => {
          throw new Error('line picker: abort');
        },
      },
    }).exports as unknown as Exports;
    // The trie, node 0 the document; children of a node consecutive. (A `__proto__` key is
    // picked as any other: build() makes it an own property, as JSON.parse does.)
    const nodes: { kids: { name: string; node: number }[]; terminal: boolean }[] = (this.nodes = [{ kids: [], terminal: false }]);
    for (const f of fields) {
      let n = 0;
      for (const part of f.split('.')) {
        let k = nodes[n]!.kids.find((c) => c.name === part);
        if (!k) {
          k = { name: part, node: nodes.push({ kids: [], terminal: false }) - 1 };
          nodes[n]!.kids.push(k);
        }
        n = k.node;
      }
      if (n !== 0) nodes[n]!.terminal = true;
    }
    const kidCount = nodes.reduce((s, n) => s + n.kids.length, 0);
    const kidsAt = TRIE + nodes.length * 16;
    let nameAt = kidsAt + kidCount * 16;
    const nameBytes = nodes.reduce((s, n) => s + n.kids.reduce((t, k) => t + Buffer.byteLength(k.name), 0), 0);
    if (nameAt + nameBytes > TAPE) throw new Error(`line picker: ${nameBytes} bytes of field names do not fit`);
    this.grow(INPUT);
    const mem = this.mem;
    const i32 = new Int32Array(this.x.memory.buffer);
    const ids = new Map<string, number>();
    let kid = 0;
    nodes.forEach((node, i) => {
      const at = (TRIE >> 2) + i * 4;
      i32[at] = kid;
      i32[at + 1] = node.kids.length;
      i32[at + 2] = node.terminal ? 1 : 0;
      for (const k of node.kids) {
        let id = ids.get(k.name);
        if (id === undefined) ids.set(k.name, (id = this.names.push(k.name) - 1));
        const bytes = Buffer.from(k.name);
        mem.set(bytes, nameAt);
        const w = (kidsAt >> 2) + kid * 4;
        i32[w] = nameAt;
        i32[w + 1] = bytes.length;
        i32[w + 2] = k.node;
        i32[w + 3] = id;
        nameAt += bytes.length;
        kid++;
      }
    });
    this.x.setup(TRIE, kidsAt, TAPE, TAPE_ENTRIES, NUMS, SCRATCH, OUT, FORM_TAPE);
  }

  /** Whether `field` is picked: it, or a field it lies under, is one of the picker's fields. */
  picks(field: string): boolean {
    let n = this.root;
    for (const part of field.split('.')) {
      if (n.terminal) return true;
      const k = n.kids.find((c) => c.name === part);
      if (k === undefined) return false;
      n = this.nodes[k.node]!;
    }
    return n.terminal;
  }

  /** Memory of at least `bytes`, and the views on it (a grown memory has a new buffer). */
  private grow(bytes: number): void {
    const memory = this.x.memory;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
    this.mem = Buffer.from(memory.buffer) as Slicer;
    this.tape = new Int32Array(memory.buffer, TAPE, TAPE_ENTRIES * 8);
    this.nums = new Float64Array(memory.buffer, NUMS, TAPE_ENTRIES);
  }

  /** Copies buf[from, end) in: the lines pick() reads (positions relative to `from`). */
  load(buf: Uint8Array, from: number, end: number): void {
    const n = end - from;
    // 16 readable bytes past the end: the scanner's string loop reads 16 at a time.
    if (INPUT + n + 16 > this.mem.length) this.grow(INPUT + n + 16);
    this.mem.set(buf.subarray(from, end), INPUT);
    this.mem.fill(0, INPUT + n, INPUT + n + 16);
    this.loaded = n;
  }

  /**
   * The document of the line [p, nl) of what was loaded (blanks, one object, blanks; `nl` its
   * newline or the end), or null when the scan declines it. Sets lineChars when it returns one.
   */
  pick(p: number, nl: number): Record<string, unknown> | null {
    this.built = null;
    if (nl - p > MAX_LINE) return null;
    const x = this.x;
    const count = x.scan(INPUT + p, INPUT + nl);
    if (count < 0) return null;
    this.lineChars = x.lineChars();
    return this.walker === null ? this.build(count) : this.buildWalking(count, this.walker);
  }

  /**
   * Makes `walker`'s walk of each document as it is built (null: no longer): the router that owns
   * the walker then reads its fields' values from it (FieldWalker.walkBuilt) instead of walking the
   * document's keys again (every rule over Agent data: about 2.6% less CPU in all, README
   * "The field walk").
   */
  walkWith(walker: FieldWalker | null): void {
    walker?.numberKeys(this.names);
    this.walker = walker;
  }

  /** The walk made with the document pick() returned last (see walkWith), once; null when none was made. */
  takeWalk(): BuiltWalk | null {
    const b = this.built;
    this.built = null;
    return b;
  }

  /** The value of tape entry `i` (its first word `k`, of `kind`, not K_END; `w` = 8i), as JSON.parse makes it. */
  private valueAt(k: number, kind: number, i: number, w: number): unknown {
    const t = this.tape;
    switch (kind) {
      case K_OBJ:
        return {};
      case K_ARR:
        return [];
      case K_STR:
      case K_ESC:
        // (K_STR: bytes of the input; K_ESC: of the scratch area, unescaped.)
        return k & ASCII ? this.mem.latin1Slice(t[w + 2]!, t[w + 3]!) : this.mem.utf8Slice(t[w + 2]!, t[w + 3]!);
      case K_NUM:
        return this.nums[i];
      case K_NUMT:
        // Number() reads a JSON number's text to the double JSON.parse gives.
        return Number(this.mem.latin1Slice(t[w + 2]!, t[w + 3]!));
      case K_TRUE:
        return true;
      case K_FALSE:
        return false;
      default:
        return null;
    }
  }

  /** The key of an object's member entry: a trie name (`id` >= 0), or its bytes in the input. */
  private keyAt(k: number, id: number, w: number): string {
    const t = this.tape;
    return id >= 0 ? this.names[id]! : k & KEY_ASCII ? this.mem.latin1Slice(t[w + 6]!, t[w + 7]!) : this.mem.utf8Slice(t[w + 6]!, t[w + 7]!);
  }

  /** The document from the tape's `count` entries. */
  private build(count: number): Record<string, unknown> {
    const t = this.tape;
    const stack = this.stack;
    const doc: Record<string, unknown> = {};
    let cur: Record<string, unknown> | unknown[] = doc;
    let inArray = false;
    let depth = 0;
    for (let i = 0, w = 0; i < count; i++, w += 8) {
      const k = t[w]!;
      const kind = k & 255;
      if (kind === K_END) {
        cur = stack[--depth] as Record<string, unknown> | unknown[];
        stack[depth] = undefined;
        inArray = Array.isArray(cur);
        continue;
      }
      const v = this.valueAt(k, kind, i, w);
      if (inArray) (cur as unknown[]).push(v);
      else {
        const id = t[w + 1]!;
        const key = this.keyAt(k, id, w);
        // JSON.parse makes `__proto__` an own property; an assignment would set the prototype.
        if (key === '__proto__') Object.defineProperty(cur, key, { value: v, writable: true, enumerable: true, configurable: true });
        else (cur as Record<string, unknown>)[key] = v;
      }
      if (kind === K_OBJ || kind === K_ARR) {
        stack[depth++] = cur;
        cur = v as Record<string, unknown> | unknown[];
        inArray = kind === K_ARR;
      }
    }
    return doc;
  }

  /**
   * build() that also makes `walker`'s walk of the document (BuiltWalk): it follows the keys as
   * FieldWalker.walk follows the document's (keyNode), records the values walk() would visit, and
   * gives up (no walk: the router walks the document itself) where walk() would fail — more keys
   * than its budget, or a followed container nested deeper than 64 levels — and where a followed
   * key is given twice in one object (the document keeps the last value, as JSON.parse does, but
   * the values of both were recorded).
   */
  private buildWalking(count: number, walker: FieldWalker): Record<string, unknown> {
    const t = this.tape;
    const stack = this.stack;
    const nodes = this.walkNodes;
    const owns = this.walkOwn;
    const found = this.found;
    let nf = 0;
    const doc: Record<string, unknown> = {};
    let cur: Record<string, unknown> | unknown[] = doc;
    let inArray = false;
    let depth = 0;
    // The walk node of the container being filled (null: not followed), and, for an array, whether
    // its elements are its field's own values (an array directly inside an array holds none).
    let node: WalkNode | null = walker.rootNode;
    let own = false;
    let budget = BUILT_WALK_MAX_KEYS;
    let gaveUp = false;
    // The number of the object being filled (WalkNode.seen), per depth.
    const objects = this.walkObjects;
    let object = ++this.objectSerial;
    walker.startBuilt();
    for (let i = 0, w = 0; i < count; i++, w += 8) {
      const k = t[w]!;
      const kind = k & 255;
      if (kind === K_END) {
        cur = stack[--depth] as Record<string, unknown> | unknown[];
        stack[depth] = undefined;
        inArray = Array.isArray(cur);
        node = nodes[depth]!;
        own = owns[depth]!;
        object = objects[depth]!;
        continue;
      }
      const v = this.valueAt(k, kind, i, w);
      let at: WalkNode | null = null;
      if (inArray) {
        (cur as unknown[]).push(v);
        at = node;
      } else {
        const id = t[w + 1]!;
        const key = this.keyAt(k, id, w);
        if (key === '__proto__') Object.defineProperty(cur, key, { value: v, writable: true, enumerable: true, configurable: true });
        else (cur as Record<string, unknown>)[key] = v;
        if (node !== null && !gaveUp) {
          if (--budget < 0) gaveUp = true;
          else if ((at = walker.keyNode(node, key, id)) !== null) {
            // A key given twice in one object (JSON.parse keeps the last value): walked by the router.
            if (at.seen === object) gaveUp = true;
            else at.seen = object;
          }
        }
      }
      if (kind === K_OBJ || kind === K_ARR) {
        stack[depth] = cur;
        nodes[depth] = node;
        owns[depth] = own;
        objects[depth] = object;
        depth++;
        // (walk() gives up on a container it enters deeper than 64 levels.)
        if (at !== null && depth > 64) gaveUp = true;
        own = kind === K_ARR && !inArray;
        node = gaveUp ? null : at;
        if (kind === K_OBJ) object = ++this.objectSerial;
        cur = v as Record<string, unknown> | unknown[];
        inArray = kind === K_ARR;
      } else if (at !== null && kind !== K_NULL && at.field >= 0 && (!inArray || own) && !gaveUp) {
        found[nf++] = at.field;
        found[nf++] = v;
      }
    }
    if (!gaveUp) this.built = { walker, values: found.slice(0, nf), dotted: walker.builtDotted() };
    return doc;
  }
}
