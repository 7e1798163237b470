// Proof, function by function, that a performance change changed no result: imports a module
// from this checkout's build and from a reference build (another checkout, e.g. main before the
// change; see check-alerts.ts) and feeds both the same generated and hostile inputs, comparing
// the outputs exactly. Covers the timestamp parse (events/time.ts), the field walk with its memo
// of outside keys (engine/fields.ts), json-split's depth pre-scan, the EVTX value renderers and,
// over the EVTX corpus in ../shared and mutants of it (bytes flipped, sizes and counts made huge,
// areas zeroed, files truncated), every event, record, XML text and warning the readers give.
//
//   npm run build && npx tsx scripts/check-modules.ts --ref /path/to/built/reference [--mutants N]
//
// Exit status 1 on any difference (the first few are printed).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type Mod = Record<string, any>;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ref = arg('--ref');
if (!ref || !existsSync(path.join(ref, 'dist', 'events', 'time.js'))) {
  console.error('usage: tsx scripts/check-modules.ts --ref <built reference checkout> [--mutants N]');
  process.exit(2);
}
const mutants = Number(arg('--mutants') ?? 300);
const load = async (rel: string): Promise<[Mod, Mod]> => [(await import(path.join(ref, 'dist', rel))) as Mod, (await import(path.join(root, 'dist', rel))) as Mod];

let seed = 12345;
const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
const ri = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(a: readonly T[]): T => a[ri(a.length)]!;

let failed = false;
/** Counts comparisons and prints the first differences of one check. */
function checker(name: string): { cmp: (input: unknown, a: unknown, b: unknown) => void; done: (extra?: string) => void } {
  let n = 0;
  let d = 0;
  return {
    cmp(input, a, b) {
      n++;
      const ja = JSON.stringify(a);
      const jb = JSON.stringify(b);
      if (ja === jb) return;
      d++;
      failed = true;
      if (d <= 5) console.log(`  ${name} DIFF on ${JSON.stringify(input)?.slice(0, 300)}\n    reference ${ja?.slice(0, 300)}\n    this      ${jb?.slice(0, 300)}`);
    },
    done(extra = '') {
      console.log(`${name.padEnd(16)} ${d === 0 ? 'ok' : 'DIFFERENT'}: ${n} inputs${extra}, ${d} differences`);
    },
  };
}

async function checkTime(): Promise<void> {
  const [o, m] = await load('events/time.js');
  const c = checker('parseInstant');
  const pad = (x: number, w: number) => String(x).padStart(w, '0');
  const years = ['0000', '0099', '0100', '1899', '1969', '1970', '2000', '2023', '2024', '2100', '9999', '+2020', '-0001', '10000', '999', '\uff12020'];
  const parts = [['00', '01', '02', '12', '13', '1', '\u0661\u0661'], ['00', '01', '28', '29', '30', '31', '32', '1'], ['00', '09', '23', '24', '25', '-1'], ['00', '59', '60', '5'], ['00', '59', '60', '61', '5']];
  const fracs = ['', '.', '.1', '.123', '.1234', '.123456', '.1234567', '.123456789', '.1234567890', ',5', '.12a', '.+1', '. 1'];
  const zones = ['Z', 'Z', 'z', '', '+00:00', '-05:30', '+0530', ' Z', 'Z ', 'ZZ'];
  const one = (s: unknown) => c.cmp(s, o.parseInstant(s), m.parseInstant(s));
  for (let i = 0; i < 300_000; i++) {
    const [mo, d, h, mi, se] = parts.map((p) => pick(p));
    one(`${pick(['', '', '', ' ', '\t'])}${pick(years)}-${mo}-${d}${pick(['T', 'T', 't', ' ', ''])}${h}:${mi}:${se}${pick(fracs)}${pick(zones)}`);
  }
  for (let i = 0; i < 200_000; i++) {
    // Valid texts over the fast path's range; the same day again with other times and forms.
    const day = `${pad(100 + ri(9900), 4)}-${pad(1 + ri(12), 2)}-${pad(1 + ri(31), 2)}`;
    const fd = ri(10);
    one(`${day}T${pad(ri(25), 2)}:${pad(ri(60), 2)}:${pad(ri(61), 2)}${fd ? '.' + pad(ri(1e9), 9).slice(0, fd) : ''}Z`);
    one(`${day}T23:59:60.999999999Z`);
    one(`${day}T12:00:00+01:00`);
  }
  const alphabet = '0123456789-:T.tZz+ ,\u0660\uff10a';
  for (let i = 0; i < 200_000; i++) {
    const s = '2024-02-29T11:22:33.123456789Z'.split('');
    for (let k = 1 + ri(3); k > 0; k--) {
      const at = ri(s.length + 1);
      const op = ri(3);
      if (op === 0) s[at] = pick([...alphabet]);
      else if (op === 1) s.splice(at, 0, pick([...alphabet]));
      else s.splice(at, 1);
    }
    one(s.join(''));
  }
  for (const v of [[], ['2024-02-29T11:22:33Z'], 0, -1.5, 1e20, Number.NaN, '1700000000000.5', '-1.5', null, {}]) one(v);
  c.done();
}

async function checkWalker(): Promise<void> {
  const [o, m] = await load('engine/fields.js');
  const c = checker('FieldWalker');
  const names = ['process.name', 'process.parent.name', 'process.args', 'a', 'a.b', 'a.b.c', '__proto__.x', 'constructor', 'deep.d1.d2.d3'];
  const segs = ['process', 'name', 'parent', 'args', 'a', 'b', 'c', '__proto__', 'x', 'constructor', 'toString', 'deep', 'd1', 'd2', 'd3', 'other', ''];
  let fresh = 0;
  let dots = false;
  const key = (): string => {
    const r = rnd();
    if (r < 0.1) return `k${fresh++}`;
    if (dots && r < 0.25) return Array.from({ length: 2 + ri(3) }, () => pick(segs)).join('.');
    if (dots && r < 0.27) return pick(['.', 'a.', '.a', '..']);
    return pick(segs);
  };
  const val = (depth: number): string => {
    const r = rnd();
    if (depth > 70 || r < 0.2) return JSON.stringify(pick(['v', 'x.y', '{["}]', '"\\', '']));
    if (r < 0.3) return String(ri(100));
    if (r < 0.35) return 'null';
    if (r < 0.5) return `[${Array.from({ length: ri(4) }, () => val(depth + 1)).join(',')}]`;
    return obj(depth + 1);
  };
  const obj = (depth: number): string => `{${Array.from({ length: ri(depth < 3 ? 8 : 3) }, () => `${JSON.stringify(key())}:${val(depth)}`).join(',')}}`;
  const probes = [...names, 'process', 'process.other', 'other.a.b', 'a.b.c.d', 'a.other', 'deep.d1.x', 'k1.name', 'x', 'toString.a'];
  const wo = new o.FieldWalker(names);
  const wm = new m.FieldWalker(names);
  const one = (text: string) => {
    const doc = JSON.parse(text);
    const vo: unknown[] = [];
    const vm: unknown[] = [];
    const ro = wo.walk(doc, (f: number, v: unknown) => vo.push([f, v]));
    // What the walk's plain mark decides: the answers of accessors of its fields and of others
    // (the reference marks only sources with no dotted key anywhere; this build, since session
    // 16, marks for its own fields alone, and the others' accessors look as if unmarked).
    const ao = probes.map((n) => o.fieldAccessor(n)(doc));
    const rm = wm.walk(doc, (f: number, v: unknown) => vm.push([f, v]));
    const am = probes.map((n) => m.fieldAccessor(n)(doc));
    // A source too large to walk whole (the reference gives up, having visited some values) may be
    // walked whole by this build, which leaves unread what leads to none of its fields.
    if (!ro && rm) c.cmp(text, [false, ao], [false, am]);
    else c.cmp(text, [ro, vo, ao], [rm, vm, am]);
  };
  // Plain keys first, many of them new (the memo of outside keys fills), then dotted keys.
  for (let i = 0; i < 3000; i++) one(obj(0));
  dots = true;
  for (let i = 0; i < 30_000; i++) one(obj(0));
  const nest = (d: number, inner: string) => {
    let s = inner;
    for (let i = 0; i < d; i++) s = `{${JSON.stringify(pick(segs))}:${s}}`;
    return s;
  };
  for (let d = 55; d < 75; d++) for (const inner of ['{"q":1}', '{"q.r":1}', '[{"a.b":1}]']) one(`{"process":${nest(d, inner)},"a.b":1}`);
  for (const n of [4095, 4096, 4097]) one(JSON.stringify({ other: Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, { q: 1 }])), process: { name: 'p' } }));
  c.done(` (${fresh} distinct outside keys)`);
}

async function checkNesting(): Promise<void> {
  const [o, m] = await load('events/json-split.js');
  const c = checker('nestedDeeperThan');
  const al = '{}[]"\\a:,';
  for (let i = 0; i < 100_000; i++) {
    const len = ri(200);
    let s = '';
    for (let j = 0; j < len; j++) s += al[ri(rnd() < 0.5 ? 4 : al.length)];
    const a = ri(len + 1);
    const b = a + ri(len - a + 1);
    for (const max of [0, 1, 3, 8, 64]) c.cmp([s, a, b, max], o.nestedDeeperThan(s, a, b, max), m.nestedDeeperThan(s, a, b, max));
  }
  c.done();
}

async function checkEvtxValues(): Promise<void> {
  const [o, m] = await load('evtx/values.js');
  const c = checker('evtx values');
  const u32 = () => pick([0, 0xffffffff, ri(256), 0x7fffffff + ri(3), ri(2 ** 32), ri(2 ** 32)]);
  for (let i = 0; i < 200_000; i++) {
    const lo = u32();
    const hi = rnd() < 0.5 ? u32() : ri(0x6c000000);
    c.cmp(['hex64', lo, hi], o.hex64(lo, hi), m.hex64(lo, hi));
    c.cmp(['hex64', lo], o.hex64(lo, 0), m.hex64(lo, 0));
    c.cmp(['renderFiletime', lo, hi], o.renderFiletime(lo, hi), m.renderFiletime(lo, hi));
    const x = rnd() < 0.5 ? ri(1e8) : Math.floor(rnd() * 2 ** 53);
    c.cmp(['decimal', x], o.decimal(x), m.decimal(x));
  }
  const types = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x20];
  for (let i = 0; i < 200_000; i++) {
    // Small Buffers come from Node's pool: a byteOffset other than 0, as chunks have.
    const buf = Buffer.allocUnsafe(8 + ri(40));
    for (let j = 0; j < buf.length; j++) buf[j] = rnd() < 0.3 ? 0 : rnd() < 0.2 ? 0xff : ri(256);
    const pos = ri(4);
    const size = Math.min(buf.length - pos, ri(24));
    const t = pick(types);
    const run = (mod: Mod) => {
      try {
        return mod.renderScalar(buf, pos, size, t, 'upper');
      } catch (e) {
        return `error ${(e as Error).message}`;
      }
    };
    c.cmp(['renderScalar', buf.toString('hex'), pos, size, t], run(o), run(m));
  }
  const units = [0x0000, 0x0041, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0x00e9, 0x4e2d, 0xfeff];
  for (let i = 0; i < 50_000; i++) {
    const k = 1 + ri(5);
    const sizes: number[] = [];
    const data: number[] = [];
    for (let j = 0; j < k; j++) {
      const chars = ri(6);
      sizes.push(chars * 2);
      for (let q = 0; q < chars; q++) data.push(pick(units));
    }
    const pre = ri(3);
    const buf = Buffer.allocUnsafe(pre + 4 * k + data.length * 2 + 2).fill(0);
    sizes.forEach((s, j) => (buf.writeUInt16LE(s, pre + 4 * j), (buf[pre + 4 * j + 2] = 1)));
    const start = pre + 4 * k;
    data.forEach((u, j) => buf.writeUInt16LE(u, start + 2 * j));
    const a: unknown[] = [];
    const b: unknown[] = [];
    o.renderUtf16Strings(buf, pre, 0, k, start, start + data.length * 2, a);
    m.renderUtf16Strings(buf, pre, 0, k, start, start + data.length * 2, b);
    c.cmp(['renderUtf16Strings', buf.toString('hex')], a, b);
  }
  c.done();
}

async function checkEvtxFiles(): Promise<void> {
  const dir = path.resolve(root, '..', 'shared', 'corpus', 'evtx');
  if (!existsSync(dir)) {
    console.log(`EVTX files       skipped: ${dir} not found`);
    return;
  }
  const [oi, mi] = await load('events/inputs.js');
  const [ox, mx] = await load('evtx/index.js');
  const c = checker('EVTX files');
  const files = readdirSync(dir).filter((f) => f.endsWith('.evtx')).map((f) => path.join(dir, f));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'check-modules-'));
  let items = 0;
  const read = async (inputs: Mod, evtx: Mod, file: string): Promise<string[]> => {
    const out: string[] = [];
    const input = inputs.openInput({ path: file, kind: 'evtx' }, { onSkip: (s: unknown) => out.push(`skip ${JSON.stringify(s)}`), onWarning: (s: unknown) => out.push(`warn ${JSON.stringify(s)}`) });
    try {
      for await (const batch of input.batches()) for (const ev of batch) out.push(`${JSON.stringify(ev.source)} ${JSON.stringify(ev.position ?? null)}`);
    } catch (e) {
      out.push(`error ${(e as Error).message}`);
    }
    out.push(`counts ${JSON.stringify(input.counts())}`);
    const reader = evtx.readEvtx(file, { onWarning: (w: Mod) => out.push(`warning ${w.message}`) });
    try {
      for await (const recs of reader.chunks())
        for (const r of recs) {
          try {
            out.push(`${r.recordId} ${r.offset} ${r.timestamp} ${r.toXml()} ${JSON.stringify(r.toRaw())}`);
          } catch (e) {
            out.push(`record error ${(e as Error).message}`);
          }
        }
    } catch (e) {
      out.push(`error ${(e as Error).message}`);
    }
    out.push(`stats ${JSON.stringify(reader.stats)}`);
    return out;
  };
  const one = async (file: string, label: string) => {
    const a = await read(oi, ox, file);
    const b = await read(mi, mx, file);
    items += b.length;
    const i = a.findIndex((x, k) => x !== b[k]);
    c.cmp(label, i < 0 && a.length === b.length ? null : [i, a[i]], i < 0 && a.length === b.length ? null : [i, b[i]]);
  };
  try {
    for (const f of files) await one(f, path.basename(f));
    for (let k = 0; k < mutants; k++) {
      const src = pick(files);
      const buf = Buffer.from(readFileSync(src));
      const kind = ri(6);
      const at = () => 4096 + ri(Math.max(1, buf.length - 4096));
      let out = buf;
      if (kind === 0) for (let j = 1 + ri(20); j > 0; j--) buf[at()] = ri(256);
      else if (kind === 1)
        for (let j = 1 + ri(5); j > 0; j--) {
          const p = at() & ~3;
          if (p + 4 <= buf.length) buf.writeUInt32LE(pick([0xffffffff, 0xffff, 0x7fffffff, 0x10000, ri(2 ** 32), 0x200]), p);
        }
      else if (kind === 2) out = buf.subarray(0, 4096 + ri(buf.length - 4096));
      else if (kind === 3) {
        const p = at();
        buf.fill(0, p, Math.min(buf.length, p + 1 + ri(4096)));
      } else if (kind === 4) buf.writeUInt32LE(pick([0xffffffff, 0, 0x200, 0x10001, 0x1000]), 4096 + ri(Math.floor((buf.length - 4096) / 65536)) * 65536 + pick([48, 44, 40, 36]));
      else for (let j = 1 + ri(40); j > 0; j--) buf[at()] = pick([0x00, 0x01, 0x21, 0x81, 0x0e, 0x11, 0x13, 0x14, 0x15, 0x0f, 0xff, 0x0c]);
      const file = path.join(tmp, `mutant-${k % 4}.evtx`);
      writeFileSync(file, out);
      await one(file, `mutant ${k} of ${path.basename(src)} (kind ${kind})`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  c.done(` (${files.length} corpus files and ${mutants} mutants, ${items} events, records and warnings)`);
}

await checkTime();
await checkWalker();
await checkNesting();
await checkEvtxValues();
await checkEvtxFiles();
process.exit(failed ? 1 : 0);
