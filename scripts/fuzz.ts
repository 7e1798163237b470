// Seeded, time-boxed fuzzing of the two readers that take untrusted bytes: EVTX and JSON.
//
//   npm run fuzz -- --seconds 60 [--seed N] [--kind evtx|json|all] [--out DIR]
//
// EVTX samples are generated structurally (random templates that repeat and nest substitutions,
// random value types including arrays and nested BinXml, many records per chunk), then often
// mutated byte-wise; the shared corpus files are mutated too when ../shared is present. JSON
// samples mix NDJSON, pretty-printed objects, arrays and hits with deep nesting, long strings,
// escapes, truncations and stray bytes, plain and gzip. Each sample must be read without an
// exception other than a positioned EvtxError, with the JSON splitter giving the same result
// whatever the read size, nothing emitted beyond the depth and size caps, within a time bound.
// Samples run on a worker thread under a watchdog and a heap cap, so a hang or a memory blow-up
// is caught too; the offending sample is written to DIR with the seed and iteration to replay.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { JsonSplitter, MAX_JSON_DEPTH } from '../src/events/json-split.js';
import { LineFilter } from '../src/events/prefilter.js';
import { readEvents } from '../src/events/sources.js';
import { mapRawWindowsEvent } from '../src/events/windows/index.js';
import { EvtxError, readEvtx } from '../src/evtx/index.js';
import { buildFile, ChunkWriter, type ElSpec, type Part, type ValueSpec, v } from '../test/evtx-build.js';
import { mulberry32 as prng } from '../test/prng.js';


type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

// ---------------------------------------------------------------------------------------------
// EVTX samples

const NAMES = ['Event', 'System', 'EventData', 'Data', 'UserData', 'X', 'Binary', 'Provider', 'EventID'];

/** A random template of at most `size.n` elements (a big one simply overflows its chunk). */
function randomTemplate(r: Rand, depth: number, subs: number, size = { n: 200 }): ElSpec {
  const part = (): Part => (r() < 0.6 ? { sub: int(r, subs + 2), opt: r() < 0.5 } : pick(r, ['', 'a', 'Name', 'x'.repeat(int(r, 40))]));
  const el: ElSpec = { name: pick(r, NAMES) };
  if (r() < 0.4) el.attrs = Array.from({ length: 1 + int(r, r() < 0.1 ? 300 : 3) }, () => [pick(r, ['Name', 'A', 'SystemTime']), Array.from({ length: 1 + int(r, 3) }, part)]);
  const n = int(r, r() < 0.1 ? 400 : 5);
  if (n > 0) {
    el.children = [];
    for (let i = 0; i < n; i++) el.children.push(depth > 0 && r() < 0.4 && size.n-- > 0 ? randomTemplate(r, depth - 1, subs, size) : part());
  }
  return el;
}

/** `budget.n`: nested BinXml values this record may still hold (keeps generation itself cheap). */
function randomValue(r: Rand, nest: number, budget: { n: number }): ValueSpec {
  const k = int(r, 14);
  switch (k) {
    case 0:
      return v.null(int(r, 3));
    case 1:
      return v.u8(int(r, 256));
    case 2:
      return v.u32(int(r, 2 ** 32));
    case 3:
      return v.u64(BigInt(int(r, 2 ** 32)) * BigInt(int(r, 2 ** 20)), pick(r, [0x0a, 0x11, 0x15, 0x09]));
    case 4:
      return v.hex32(int(r, 2 ** 32));
    case 5:
      return v.bool(int(r, 3));
    case 6:
      return v.raw(pick(r, [0x0f, 0x13, 0x0e, 0x12, 0x0b, 0x0c]), Buffer.from(Array.from({ length: int(r, 40) }, () => int(r, 256))));
    case 7:
      return v.strArray(Array.from({ length: int(r, r() < 0.2 ? 3000 : 5) }, () => 's'.repeat(int(r, 4))));
    case 8:
      return v.raw(0x84, Buffer.alloc(int(r, r() < 0.2 ? 20_000 : 10), int(r, 256)));
    case 9:
    case 10:
      if (nest > 0 && budget.n-- > 0) {
        const subs = int(r, 4);
        const tpl = randomTemplate(r, 2, subs);
        const key = `n${int(r, 4)}`;
        return v.nested((w) => {
          w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
          w.templateInstance(key, tpl, Array.from({ length: subs }, () => randomValue(r, nest - 1, budget)));
          w.u8(0x00);
        });
      }
      return v.str('leaf');
    default:
      return v.str('v'.repeat(int(r, r() < 0.05 ? 5000 : 20)));
  }
}

function randomEvtx(r: Rand): Buffer {
  const chunks: Buffer[] = [];
  let id = 1;
  for (let c = 0, nc = 1 + int(r, 3); c < nc; c++) {
    const w = new ChunkWriter();
    const templates = Array.from({ length: 1 + int(r, 3) }, (_, i) => {
      const subs = 1 + int(r, 12);
      return { key: `t${i}`, subs, tpl: randomTemplate(r, 4, subs) };
    });
    for (let n = 0, nr = 1 + int(r, 300); n < nr; n++) {
      const t = pick(r, templates);
      const budget = { n: 12 };
      const values = Array.from({ length: t.subs }, () => randomValue(r, int(r, 8), budget));
      const at = w.pos;
      try {
        w.record(id++, 133500000000000000n + BigInt(id) * 10_000_000n, (w) => {
          w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
          w.templateInstance(t.key, t.tpl, values);
          w.u8(0x00);
        });
      } catch {
        // The chunk is full: drop the partial record and close the chunk.
        w.pos = at;
        w.buf.fill(0, at);
        break;
      }
    }
    chunks.push(w.finish());
  }
  let file = buildFile(chunks);
  if (r() < 0.5) file = mutate(r, file);
  return file;
}

function mutate(r: Rand, b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let k = 0, n = 1 + int(r, 4); k < n; k++) {
    const at = int(r, out.length);
    switch (int(r, 4)) {
      case 0:
        for (let i = 0, m = 1 + int(r, 32); i < m; i++) out[int(r, out.length)] ^= 1 << int(r, 8);
        break;
      case 1:
        if (at + 4 <= out.length) out.writeUInt32LE(pick(r, [0xffffffff, 0x7fffffff, 0x10000, 0, 512, 24, 0x21]), at);
        break;
      case 2:
        out.fill(int(r, 256), at, Math.min(out.length, at + int(r, 512)));
        break;
      default:
        return out.subarray(0, at);
    }
  }
  return out;
}

/** Reads a sample; returns how many records hit an expansion or nesting limit. */
async function checkEvtx(file: string): Promise<number> {
  let n = 0;
  let limited = 0;
  try {
    const reader = readEvtx(file, { onWarning: (w) => void (/\(limit\)|nested deeper/.test(w.reason) && limited++) });
    for await (const rec of reader) {
      n++;
      const raw = rec.toRaw();
      rec.toXml();
      mapRawWindowsEvent(raw);
    }
    if (reader.stats.recordsRead !== n) throw new Error(`stats say ${reader.stats.recordsRead} records, ${n} were read`);
  } catch (e) {
    if (!(e instanceof EvtxError && e.message.startsWith(file))) throw e;
  }
  return limited;
}

// ---------------------------------------------------------------------------------------------
// JSON samples

function randomJson(r: Rand, depth: number): string {
  if (depth > 0 && r() < 0.5) {
    const n = int(r, 4);
    if (r() < 0.5) return `[${Array.from({ length: n }, () => randomJson(r, depth - 1)).join(',')}]`;
    return `{${Array.from({ length: n }, (_, i) => `"k${i}${pick(r, ['', '\\"', '\\\\', '}', '['])}":${randomJson(r, depth - 1)}`).join(',')}}`;
  }
  return pick(r, ['1', '-2.5e3', 'true', 'null', '"s"', '"a\\"b"', '"\\\\"', '"\\u00e9"', `"${'x'.repeat(int(r, r() < 0.05 ? 60_000 : 30))}"`, '"é€𝄞"']);
}

function randomNdjson(r: Rand): string {
  const items: string[] = [];
  for (let i = 0, n = 1 + int(r, 40); i < n; i++) {
    const k = int(r, 10);
    if (k === 0) items.push(`${'['.repeat(MAX_JSON_DEPTH - 5 + int(r, 10))}${']'.repeat(MAX_JSON_DEPTH - 5 + int(r, 10))}`);
    else if (k === 1) items.push(JSON.stringify(JSON.parse(`{"a":${randomJson(r, 4)}}`), null, pick(r, [1, 2, '\t'])));
    else if (k === 2) items.push(`[${Array.from({ length: int(r, 5) }, () => `{"e":${randomJson(r, 3)}}`).join(',\n')}]`);
    else if (k === 3) items.push(`{"_index":"i","_id":"${i}","_source":{"a":${randomJson(r, 3)}}}`);
    else items.push(`{"a":${randomJson(r, 5)}}`);
  }
  let text = items.join(r() < 0.2 ? '\r\n' : '\n');
  for (let k = 0, n = int(r, 4); k < n; k++) {
    // A cut between the halves of a surrogate pair would leave a lone surrogate, which
    // Buffer.from writes as U+FFFD: the sample would then hold the character the UTF-8 check
    // below takes as proof of bytes read wrongly. Cut at a code point boundary.
    let at = int(r, text.length + 1);
    if (at > 0 && at < text.length && (text.charCodeAt(at) & 0xfc00) === 0xdc00) at--;
    const junk = pick(r, ['\n', '"', '{', '}', '[', ']', '\\', ',', ' '.repeat(200), '\u0000', 'xyz', '\n{"a":', '"\n']);
    text = r() < 0.3 ? text.slice(0, at) : text.slice(0, at) + junk + text.slice(at);
  }
  return text;
}

function depthOf(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) max = d;
    for (const c of Array.isArray(x) ? x : Object.values(x)) stack.push([c, d + 1]);
  }
  return max;
}

function splitAll(text: string, chunks: number[], max: number): string {
  const out: string[] = [];
  const s = new JsonSplitter({ value: (v, line) => out.push(`${line} ${JSON.stringify(v)}`), bad: (line, reason) => out.push(`${line} ! ${reason}`) }, max);
  let i = 0;
  for (let k = 0; i < text.length; k++) {
    const n = chunks[k % chunks.length]!;
    s.push(text.slice(i, i + n));
    i += n;
  }
  s.end();
  return out.join('\n');
}

async function checkJson(r: Rand, text: string, dir: string): Promise<void> {
  const max = 50_000;
  const whole = splitAll(text, [text.length + 1], max);
  for (let k = 0; k < 3; k++) {
    const sizes = Array.from({ length: 5 }, () => 1 + int(r, r() < 0.5 ? 8 : 5000));
    const got = splitAll(text, sizes, max);
    if (got !== whole) throw new Error(`the splitter's result depends on read sizes (${sizes.join(',')})`);
  }
  const s = new JsonSplitter(
    {
      value: (v) => {
        if (depthOf(v) > MAX_JSON_DEPTH) throw new Error('emitted a value nested deeper than the cap');
        if (JSON.stringify(v).length > max * 2) throw new Error('emitted a value longer than the cap');
      },
      bad: () => undefined,
    },
    max,
  );
  s.push(text);
  s.end();
  // The gzip path of the reader, whole or cut short.
  let gz = gzipSync(text);
  if (r() < 0.3) gz = gz.subarray(0, int(r, gz.length));
  const file = path.join(dir, 'sample.ndjson.gz');
  writeFileSync(file, gz);
  for await (const batch of readEvents(file, { onSkip: () => undefined, chunkSize: 1 + int(r, 4096) }).batches()) void batch;
  // Bytes that are not UTF-8 put anywhere: the lines holding them are skipped, and what is read
  // and skipped does not depend on read sizes or on the line filter's byte path.
  const bad = [[0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f]];
  let bytes = Buffer.from(text);
  for (let k = 0, n = 1 + int(r, 4); k < n; k++) {
    const at = int(r, bytes.length + 1);
    bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(pick(r, bad)), bytes.subarray(at)]);
  }
  const raw = path.join(dir, 'sample-bytes.ndjson');
  writeFileSync(raw, bytes);
  const readAll = async (o: { chunkSize?: number; filter?: boolean; byteLines?: boolean }) => {
    // (Events and skipped items apart: a skip is told when found, events when a batch is handed on.)
    const out: string[] = [];
    const skips: string[] = [];
    const opts = { chunkSize: o.chunkSize, byteLines: o.byteLines, lineFilter: o.filter ? new LineFilter(['k1'], '@timestamp') : null };
    for await (const batch of readEvents(raw, { ...opts, onSkip: (x) => skips.push(`${x.position.line} ! ${x.reason}`) }).batches()) {
      for (const e of batch) {
        const json = JSON.stringify(e.source) ?? '';
        if (json.includes('\ufffd')) throw new Error(`read a value holding U+FFFD from bytes that are not UTF-8 (line ${e.position?.line})`);
        out.push(`${e.position?.line} ${json}`);
      }
    }
    return [...out, ...skips].join('\n');
  };
  const plain = await readAll({});
  // (Reads of a few bytes only for small samples: a long one would take longer than a sample may.)
  const sized = bytes.length < 20_000 && r() < 0.5 ? 1 + int(r, 8) : 64 + int(r, 5000);
  if ((await readAll({ chunkSize: sized })) !== plain) throw new Error(`invalid UTF-8: the reader's result depends on read sizes (${sized})`);
  const filtered = await readAll({ filter: true });
  for (const byteLines of [true, false]) {
    if ((await readAll({ chunkSize: sized, filter: true, byteLines })) !== filtered) throw new Error(`invalid UTF-8: the filtered result depends on read sizes (${sized}) or the byte path (${byteLines})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Driver

interface Job {
  seed: number;
  /** Scratch directory for sample files (removed by the main thread). */
  dir: string;
  kind: 'evtx' | 'json' | 'all';
  corpus: string[];
}

type Msg = { t: 'start'; i: number; kind: string; sample: Uint8Array } | { t: 'done'; i: number; ms: number; limited: number } | { t: 'fail'; i: number; message: string };

async function workerMain(job: Job): Promise<void> {
  const dir = job.dir;
  const post = (m: Msg) => parentPort!.postMessage(m);
  for (let i = 0; ; i++) {
    const r = prng((job.seed * 1_000_003 + i) >>> 0);
    const kind = job.kind === 'all' ? (i % 2 === 0 ? 'evtx' : 'json') : job.kind;
    const t0 = performance.now();
    let limited = 0;
    try {
      if (kind === 'evtx') {
        const sample = job.corpus.length > 0 && r() < 0.25 ? mutate(r, readFileSync(pick(r, job.corpus))) : randomEvtx(r);
        post({ t: 'start', i, kind, sample });
        const file = path.join(dir, 'sample.evtx');
        writeFileSync(file, sample);
        limited = await checkEvtx(file);
      } else {
        const text = randomNdjson(r);
        post({ t: 'start', i, kind, sample: Buffer.from(text) });
        await checkJson(r, text, dir);
      }
      post({ t: 'done', i, ms: performance.now() - t0, limited });
    } catch (e) {
      post({ t: 'fail', i, message: (e as Error).stack ?? String(e) });
      return;
    }
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const seconds = Number(arg('--seconds') ?? 60);
  const seed = Number(arg('--seed') ?? Date.now() % 1_000_000_000);
  const kind = (arg('--kind') ?? 'all') as Job['kind'];
  const outDir = arg('--out') ?? 'fuzz-failures';
  const corpusDir = path.resolve(import.meta.dirname, '..', '..', 'shared', 'corpus', 'evtx');
  const corpus = existsSync(corpusDir) ? readdirSync(corpusDir).filter((f) => f.endsWith('.evtx')).map((f) => path.join(corpusDir, f)) : [];
  process.stdout.write(`fuzz: seed ${seed}, ${seconds} s, ${kind}${corpus.length ? `, ${corpus.length} corpus files` : ''}\n`);

  const scratch = mkdtempSync(path.join(tmpdir(), 'eqlite-fuzz-'));
  // Node 20 does not apply `--import` loaders to worker threads: the worker registers tsx first.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, {
    eval: true,
    workerData: { seed, kind, corpus, dir: scratch } satisfies Job,
    resourceLimits: { maxOldGenerationSizeMb: 1024 },
  });
  const counts = { evtx: 0, json: 0, limited: 0 };
  let current: Extract<Msg, { t: 'start' }> | null = null;
  let startedAt = Date.now();
  let slowest = 0;
  const SAMPLE_LIMIT_MS = 20_000;

  const save = (why: string): number => {
    mkdirSync(outDir, { recursive: true });
    const base = path.join(outDir, `seed-${seed}-iter-${current?.i ?? 'unknown'}`);
    if (current) writeFileSync(`${base}.${current.kind === 'evtx' ? 'evtx' : 'ndjson'}`, current.sample);
    writeFileSync(`${base}.txt`, `${why}\nreplay: npm run fuzz -- --seed ${seed} --kind ${current?.kind ?? kind}\n`);
    process.stdout.write(`fuzz: FAILED at iteration ${current?.i} (${current?.kind}): ${why.split('\n')[0]}\n  sample saved as ${base}.*\n`);
    return 1;
  };

  return new Promise<number>((finish) => {
    const resolve = (code: number) => {
      void worker.terminate().then(() => rmSync(scratch, { recursive: true, force: true }));
      finish(code);
    };
    const deadline = Date.now() + seconds * 1000;
    const timer = setInterval(() => {
      if (current && Date.now() - startedAt > SAMPLE_LIMIT_MS) {
        clearInterval(timer);
        void worker.terminate();
        resolve(save(`sample did not finish within ${SAMPLE_LIMIT_MS / 1000} s (hang)`));
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        void worker.terminate();
        process.stdout.write(
          `fuzz: ${counts.evtx} EVTX and ${counts.json} JSON samples in ${seconds} s, no failure (slowest sample ${slowest.toFixed(0)} ms; ${counts.limited} EVTX records stopped by a limit)\n`,
        );
        resolve(0);
      }
    }, 100);
    worker.on('message', (m: Msg) => {
      if (m.t === 'start') {
        current = m;
        startedAt = Date.now();
      } else if (m.t === 'done') {
        if (process.env.FUZZ_VERBOSE) process.stdout.write(`  ${m.i} ${current!.kind} ${current!.sample.length} bytes ${m.ms.toFixed(0)} ms\n`);
        counts[current!.kind as 'evtx' | 'json']++;
        counts.limited += m.limited;
        slowest = Math.max(slowest, m.ms);
        current = null;
      } else {
        clearInterval(timer);
        void worker.terminate();
        resolve(save(m.message));
      }
    });
    worker.on('error', (e) => {
      clearInterval(timer);
      resolve(save(`worker died: ${e.message}`));
    });
  });
}

export { checkEvtx, checkJson, prng, randomEvtx, randomNdjson };

if (!isMainThread) {
  await workerMain(workerData as Job);
} else if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  process.exitCode = await main();
}
