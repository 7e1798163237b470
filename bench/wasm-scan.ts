// Would a WebAssembly scan of only the fields the rules read beat JSON.parse on an input worker?
// Per NDJSON line, in one process over the same bytes, chunk by chunk in turn (the order rotates
// per chunk and pass), CPU µs per line of:
//
//   a      today: UTF-8 decode of the chunk (the reader's Utf8Chunks), the line's slice,
//          JSON.parse, and the router's FieldWalker walk;
//   text   the chunk copied into WASM memory; the scanner (wasm/pick.ts) validates each line and
//          writes the compact JSON text of the document pruned to the wanted fields, which is
//          decoded (Buffer utf8Slice) and JSON.parsed; then the same walk;
//   tape   the chunk copied into WASM memory; the scanner writes a tape of the wanted values, from
//          which JavaScript builds the pruned document, strings made from WASM memory one by one
//          (latin1Slice when ASCII); then the walk;
//   tape+d the same tape, strings sliced from the chunk decoded as in `a` (the worker decodes it
//          anyway when it forwards line text; assumes lines without leading blanks, as the
//          scanner's offsets start at a line's `{`);
//   picker the product's LinePicker (src/events/line-picker.ts, a tape as above, with the
//          reader's own fields too) as the reader's byte path uses it.
//
// The wanted fields are every field an accessor reads on a worker once its router is built (the
// rules' anchors, conditions, join keys, exceptions and timestamp overrides: fields.ts
// accessorNames) plus what the reader reads itself (`_source`, `_id`, `_index`, `hits`,
// `@timestamp`, `data_stream`, `agent`). Before timing, every line is checked: each variant's
// document must give the walk the same values, in the same order, as the whole parsed document,
// and the router (with the rules' answers) the same routes and answers.
//
//   npm run build && npx tsx bench/wasm-scan.ts [--events N] [--passes N] [--route] FILE
//
// --route: each document is routed (with answers, as a hunt's worker routes it) instead of walked.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { abArgs, corpus, root } from './ab-args.js';
import { WA, type WasmMemory } from '../src/util/wasm.js';


const { file, limit, passes } = abArgs('wasm-scan.ts', 10);
const WARM = 2;

type Mod = Record<string, any>;
const imp = async (rel: string): Promise<Mod> => (await import(path.join(root, 'dist', rel))) as Mod;
const load = await imp('rules/load.js');
const routerMod = await imp('detect/router.js');
const fields = await imp('engine/fields.js');
const { Utf8Chunks } = await imp('util/utf8.js');
const { inferIndex } = await imp('events/sources.js');

// The router as a hunt's worker builds it (worker.ts routerFactory), and the walker it walks with.
const rules = load.loadRules([corpus]).rules.filter((r: Mod) => !r.unsupported);
const opts = { timestampField: '@timestamp', exceptionLists: [], now: Date.parse('2025-06-01T00:00:00Z'), replay: false };
const prepared = rules.map((r: Mod) => routerMod.prepareRule(r, opts)).filter((p: Mod) => !('skip' in p));
const router = new routerMod.RuleRouter(prepared) as Mod;
for (const r of rules) if (r.timestamp_override) fields.fieldAccessor(r.timestamp_override);
const walkNames = [...new Set<string>((router.anchorGroups as { field: string; exists: boolean }[]).filter((g) => !g.exists).map((g) => g.field))];
const walkAlso = [...new Set([...(router.tables as { field: string }[]).map((t) => t.field), ...(router.existsGroups as { field: string }[]).map((g) => g.field)])].filter(
  (f) => !walkNames.includes(f),
);
const walker = new fields.FieldWalker(walkNames, walkAlso) as { walk(s: unknown, v: (f: number, x: unknown) => void): boolean };
const READER_FIELDS = ['_source', '_id', '_index', 'hits', '@timestamp', 'data_stream', 'agent.type', 'agent.version'];
const wanted = [...new Set([...(fields.accessorNames() as string[]), ...READER_FIELDS])];

// ---- The scanner: compiled from wasm/pick.ts with the assemblyscript devDependency.
const asc = (await import('assemblyscript/asc')) as unknown as {
  main(argv: string[], o: { writeFile(name: string, contents: Uint8Array | string): void; stdout?: unknown; stderr?: unknown }): Promise<{ error: Error | null; stderr: { toString(): string } }>;
};
let wasmBytes: Uint8Array | null = null;
{
  const r = await asc.main([path.join(root, 'wasm', 'pick.ts'), '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd', '--outFile', 'pick.wasm'], {
    writeFile(name, contents) {
      if (name.endsWith('.wasm')) wasmBytes = contents as Uint8Array;
    },
  });
  if (r.error || !wasmBytes) throw new Error(`asc: ${r.error?.message ?? 'no output'}\n${r.stderr.toString()}`);
}
const wasmModule = new WA.Module(wasmBytes!);

const FORM_TAPE = 1;
const FORM_TEXT = 2;
const MiB = 1 << 20;
// Memory layout (see wasm/pick.ts): trie nodes, children, names, tape, numbers, scratch, text out, input.
const NODES = 1 * MiB;
const KIDS = NODES + 256 * 1024;
const NAMES = KIDS + 256 * 1024;
const TAPE = 2 * MiB;
const TAPE_MAX = 32768;
const NUMS = 3 * MiB;
const SCRATCH = 4 * MiB;
const OUT = 5 * MiB;
const INPUT = 8 * MiB;
/** Longest line the scanner takes (scratch and output hold one line's bytes); longer ones fall back. */
const MAX_LINE = MiB;

interface Trie {
  nodes: { kids: number[]; terminal: boolean }[];
  kids: { name: string; node: number; id: number }[];
  names: string[];
}
/** The fields' segments as a trie (node 0 the document); no `__proto__` key is ever picked. */
function trie(list: readonly string[]): Trie {
  const t: Trie = { nodes: [{ kids: [], terminal: false }], kids: [], names: [] };
  const ids = new Map<string, number>();
  for (const f of list) {
    let n = 0;
    for (const part of f.split('.')) {
      if (part === '__proto__') break;
      let k = t.nodes[n]!.kids.map((i) => t.kids[i]!).find((c) => c.name === part);
      if (!k) {
        let id = ids.get(part);
        if (id === undefined) ids.set(part, (id = t.names.push(part) - 1));
        k = { name: part, node: t.nodes.push({ kids: [], terminal: false }) - 1, id };
        t.nodes[n]!.kids.push(t.kids.push(k) - 1);
      }
      n = k.node;
    }
    if (n !== 0) t.nodes[n]!.terminal = true;
  }
  return t;
}

interface Scanner {
  scan(start: number, limit: number): number;
  lastLineEnd(): number;
  outEnd(): number;
  lineChars(): number;
  mem: Buffer;
  tape: Int32Array;
  nums: Float64Array;
  names: string[];
}
function scanner(form: number, t: Trie, inputBytes: number): Scanner {
  const inst = new WA.Instance(wasmModule, { env: { abort: () => { throw new Error('abort'); } } });
  const x = inst.exports as Record<string, any>;
  const memory = x.memory as WasmMemory;
  const need = INPUT + inputBytes + 64;
  memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  const mem = Buffer.from(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  // Children of a node are consecutive: laid out node by node.
  let kid = 0;
  let nameAt = NAMES;
  t.nodes.forEach((node, i) => {
    i32[(NODES >> 2) + i * 4] = kid;
    i32[(NODES >> 2) + i * 4 + 1] = node.kids.length;
    i32[(NODES >> 2) + i * 4 + 2] = node.terminal ? 1 : 0;
    for (const k of node.kids.map((j) => t.kids[j]!)) {
      const bytes = Buffer.from(k.name);
      mem.set(bytes, nameAt);
      i32[(KIDS >> 2) + kid * 4] = nameAt;
      i32[(KIDS >> 2) + kid * 4 + 1] = bytes.length;
      i32[(KIDS >> 2) + kid * 4 + 2] = k.node;
      i32[(KIDS >> 2) + kid * 4 + 3] = k.id;
      nameAt += bytes.length;
      kid++;
    }
  });
  x.setup(NODES, KIDS, TAPE, TAPE_MAX, NUMS, SCRATCH, OUT, form);
  return {
    scan: x.scan,
    lastLineEnd: x.lastLineEnd,
    outEnd: x.outEnd,
    lineChars: x.lineChars,
    mem,
    tape: new Int32Array(memory.buffer, TAPE, TAPE_MAX * 8),
    nums: new Float64Array(memory.buffer, NUMS, TAPE_MAX),
    names: t.names,
  };
}

// Tape kinds (wasm/pick.ts).
const K_OBJ = 1, K_ARR = 2, K_END = 3, K_STR = 4, K_ESC = 5, K_NUM = 6, K_NUMT = 7, K_TRUE = 8, K_FALSE = 9;
const ASCII = 256, KEY_ASCII = 512;

type Slicer = Buffer & { latin1Slice(a: number, b: number): string; utf8Slice(a: number, b: number): string };
const stack: unknown[] = [];
/**
 * The pruned document from `count` tape entries. Strings: sliced from `text` (the line's decoded
 * text starting at `at`) when given, else made from WASM memory.
 */
function fromTape(s: Scanner, count: number, text: string | null, at: number): Record<string, unknown> {
  const t = s.tape;
  const mem = s.mem as Slicer;
  const doc: Record<string, unknown> = {};
  let cur: any = doc;
  let inArray = false;
  let depth = 0;
  for (let i = 0, w = 0; i < count; i++, w += 8) {
    const k = t[w]!;
    const kind = k & 255;
    if (kind === K_END) {
      cur = stack[--depth];
      inArray = Array.isArray(cur);
      continue;
    }
    let v: unknown;
    switch (kind) {
      case K_OBJ: v = {}; break;
      case K_ARR: v = []; break;
      case K_STR:
        v = text !== null ? text.slice(at + t[w + 4]!, at + t[w + 5]!) : k & ASCII ? mem.latin1Slice(t[w + 2]!, t[w + 3]!) : mem.utf8Slice(t[w + 2]!, t[w + 3]!);
        break;
      case K_ESC: v = k & ASCII ? mem.latin1Slice(t[w + 2]!, t[w + 3]!) : mem.utf8Slice(t[w + 2]!, t[w + 3]!); break;
      case K_NUM: v = s.nums[i]; break;
      case K_NUMT: v = Number(mem.latin1Slice(t[w + 2]!, t[w + 3]!)); break;
      case K_TRUE: v = true; break;
      case K_FALSE: v = false; break;
      default: v = null;
    }
    if (inArray) cur.push(v);
    else {
      const id = t[w + 1]!;
      const key = id >= 0 ? s.names[id]! : k & KEY_ASCII ? mem.latin1Slice(t[w + 6]!, t[w + 7]!) : mem.utf8Slice(t[w + 6]!, t[w + 7]!);
      // JSON.parse makes `__proto__` an own property; an assignment would set the prototype.
      if (key === '__proto__') Object.defineProperty(cur, key, { value: v, writable: true, enumerable: true, configurable: true });
      else cur[key] = v;
    }
    if (kind === K_OBJ || kind === K_ARR) {
      stack[depth++] = cur;
      cur = v;
      inArray = kind === K_ARR;
    }
  }
  return doc;
}

// ---- The lines: the file's first `limit` lines as its bytes, in chunks of CHUNK lines.
const CHUNK = 1000;
const all = readFileSync(file);
const chunks: Buffer[] = [];
{
  let at = 0;
  let lines = 0;
  let from = 0;
  while (lines < limit && at < all.length) {
    const nl = all.indexOf(10, at);
    at = nl < 0 ? all.length : nl + 1;
    lines++;
    if (lines % CHUNK === 0 || lines === limit || at >= all.length) {
      chunks.push(all.subarray(from, at));
      from = at;
    }
  }
}
const lineCount = chunks.reduce((n, c) => n + c.toString('latin1').split('\n').filter((l) => l !== '').length, 0);
const maxChunk = Math.max(...chunks.map((c) => c.length));

const t = trie(wanted);
const textScan = scanner(FORM_TEXT, t, maxChunk);
const tapeScan = scanner(FORM_TAPE, t, maxChunk);

let visited = 0;
let sum = 0;
const visit = (f: number, v: unknown): void => {
  visited++;
  sum += f + (typeof v === 'string' ? v.length : 1);
};

type Variant = (chunk: Buffer, each: (doc: Record<string, unknown>) => void) => number;
/** Lines of a chunk whose scan fell back (counted, to be reported). */
let fallbacks = 0;

const parsed: Variant = (chunk, each) => {
  const text = new Utf8Chunks().write(chunk) as string;
  let n = 0;
  for (let at = 0; at < text.length; ) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    if (nl > at) {
      each(JSON.parse(text.slice(at, nl)));
      n++;
    }
    at = nl + 1;
  }
  return n;
};

/** The WASM variants: `form`, and for the tape whether strings are sliced from the decoded chunk. */
function wasmVariant(s: Scanner, form: number, decoded: boolean): Variant {
  return (chunk, each) => {
    // The chunk's bytes in WASM memory (a worker could read the file into it directly; here the
    // copy is timed), with 16 readable bytes after them for the SIMD string loop.
    s.mem.set(chunk, INPUT);
    const end = INPUT + chunk.length;
    s.mem.fill(0, end, end + 16);
    const text: string | null = decoded ? (new Utf8Chunks().write(chunk) as string) : null;
    const mem = s.mem as Slicer;
    let n = 0;
    let chars = 0;
    for (let p = INPUT; p < end; ) {
      let nl = mem.indexOf(10, p);
      if (nl < 0 || nl > end) nl = end;
      const r = nl - p > MAX_LINE ? -1 : s.scan(p, end);
      if (r < 0) {
        // Not settled by the scanner: what the worker does today.
        if (nl > p) {
          fallbacks++;
          const line = mem.utf8Slice(p, nl);
          each(JSON.parse(line));
          n++;
          chars += line.length + 1;
        } else chars++;
        p = nl + 1;
        continue;
      }
      const e = s.lastLineEnd();
      if (form === FORM_TEXT) each(JSON.parse(mem.utf8Slice(OUT, OUT + r)));
      else each(fromTape(s, r, text, chars));
      n++;
      chars += s.lineChars() + 1;
      p = e + 1;
    }
    return n;
  };
}

// The product's picker (src/events/line-picker.ts) as the reader's byte path uses it.
const { LinePicker } = await imp('events/line-picker.js');
const { PICK_READER_FIELDS } = await imp('events/sources.js');
const product = LinePicker.create([...wanted, ...PICK_READER_FIELDS]) as {
  load(b: Uint8Array, from: number, end: number): void;
  pick(p: number, nl: number): Record<string, unknown> | null;
};
const picked: Variant = (chunk, each) => {
  product.load(chunk, 0, chunk.length);
  let n = 0;
  for (let p = 0; p < chunk.length; ) {
    let nl = chunk.indexOf(10, p);
    if (nl < 0) nl = chunk.length;
    if (nl > p) {
      let doc = product.pick(p, nl);
      if (doc === null) {
        fallbacks++;
        doc = JSON.parse(chunk.toString('utf8', p, nl)) as Record<string, unknown>;
      }
      each(doc);
      n++;
    }
    p = nl + 1;
  }
  return n;
};

const variants: { name: string; run: Variant; times: number[] }[] = [
  { name: 'a (decode + JSON.parse + walk)', run: parsed, times: [] },
  { name: 'text (WASM pruned JSON text + JSON.parse + walk)', run: wasmVariant(textScan, FORM_TEXT, false), times: [] },
  { name: 'tape (WASM tape, strings from WASM memory + walk)', run: wasmVariant(tapeScan, FORM_TAPE, false), times: [] },
  { name: 'tape+d (WASM tape, strings sliced from the decoded chunk + walk)', run: wasmVariant(tapeScan, FORM_TAPE, true), times: [] },
  { name: 'picker (src/events/line-picker.ts, as the reader uses it + walk)', run: picked, times: [] },
];

// ---- Every line checked first: the walk's values and the router's decisions must be equal.
{
  const walkOf = (doc: Record<string, unknown>): string => {
    const seen: unknown[] = [];
    const ok = walker.walk(doc, (f, v) => seen.push(f, v));
    return JSON.stringify([ok, seen]);
  };
  const routeOf = (doc: Record<string, unknown>): string => {
    const answers: unknown[] = [];
    const routes = router.route({ source: doc, index: inferIndex(doc), id: 'x' }, answers);
    return JSON.stringify([routes, answers]);
  };
  const ref: { walk: string; route: string }[] = [];
  for (const c of chunks) parsed(c, (doc) => ref.push({ walk: walkOf(doc), route: routeOf(doc) }));
  for (const v of variants.slice(1)) {
    let i = 0;
    let bad = 0;
    for (const c of chunks)
      v.run(c, (doc) => {
        const r = ref[i++]!;
        if (walkOf(doc) !== r.walk || routeOf(doc) !== r.route) {
          if (bad++ < 3) {
            const w = walkOf(doc);
            let k = 0;
            while (k < w.length && w[k] === r.walk[k]) k++;
            console.error(`${v.name}: line ${i} differs at ${k}:\n  ${w.slice(k - 100, k + 200)}\n  ${r.walk.slice(k - 100, k + 200)}\n  ${routeOf(doc).slice(0, 300)}\n  ${r.route.slice(0, 300)}`);
          }
        }
      });
    if (i !== ref.length || bad > 0) throw new Error(`${v.name}: ${bad} of ${i} lines differ (${ref.length} expected)`);
  }
  console.log(`checked: ${ref.length} lines, walk values and routes equal in every variant; fallbacks ${fallbacks}; ${wanted.length} wanted fields, ${t.nodes.length - 1} trie nodes`);
  const textBytes: number[] = [];
  let bytes = 0;
  for (const c of chunks) {
    bytes += c.length;
    textScan.mem.set(c, INPUT);
    const end = INPUT + c.length;
    textScan.mem.fill(0, end, end + 16);
    for (let p = INPUT; p < end; ) {
      const r = textScan.scan(p, end);
      if (r < 0) break;
      textBytes.push(r);
      p = textScan.lastLineEnd() + 1;
    }
  }
  console.log(`bytes per line ${(bytes / lineCount).toFixed(0)}, pruned text ${(textBytes.reduce((a, b) => a + b, 0) / textBytes.length).toFixed(0)}`);
}

// ---- Timed: per chunk every variant in turn (rotating who goes first), CPU per line.
fallbacks = 0;
// --route: the router's whole decision with the rules' answers (which reads the walked fields and
// the conditions' fields through accessors) instead of the walk alone.
const routing = process.argv.includes('--route');
const answers: unknown[] = [];
const each = routing
  ? (doc: Record<string, unknown>): void => {
      answers.length = 0;
      router.route({ source: doc, index: inferIndex(doc), id: 'x' }, answers);
    }
  : (doc: Record<string, unknown>): void => void walker.walk(doc, visit);
for (let p = 0; p < WARM + passes; p++) {
  const used = variants.map(() => 0);
  const counts = variants.map(() => 0);
  for (let c = 0; c < chunks.length; c++) {
    for (let j = 0; j < variants.length; j++) {
      const vi = (c + p + j) % variants.length;
      const start = process.cpuUsage();
      counts[vi]! += variants[vi]!.run(chunks[c]!, each);
      const u = process.cpuUsage(start);
      used[vi]! += u.user + u.system;
    }
  }
  if (p >= WARM) variants.forEach((v, i) => v.times.push(used[i]! / counts[i]!));
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const base = variants[0]!.times;
console.log(`${routing ? 'each document routed with answers (--route), not walked; ' : ''}${lineCount} lines, ${passes} passes after ${WARM} warm-up, load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}; fallbacks while timed ${fallbacks}`);
for (const v of variants) {
  const s = [...v.times].sort((x, y) => x - y);
  const saved = v.times.map((x, i) => base[i]! - x);
  console.log(
    `${v.name}: µs of CPU per line median ${med(v.times).toFixed(2)} (range ${s[0]!.toFixed(2)}–${s[s.length - 1]!.toFixed(2)})` +
      (v === variants[0] ? '' : `; saved against a, per pass: median ${med(saved).toFixed(2)} (range ${Math.min(...saved).toFixed(2)}–${Math.max(...saved).toFixed(2)})`),
  );
}
