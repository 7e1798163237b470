// EVTX reader benchmark: npx tsx bench/evtx.ts [--mb 200] [--workers N] [--repeat N] [--ref DIST]
// (after `npm run build`; also the last section of `npm run bench`).
//
// Builds (or reuses) a data set under bench/data/evtx (gitignored) of large .evtx files made by
// concatenating the valid chunks of the ../shared corpus samples behind a fresh file header
// (chunks are self-contained, so this is a valid log), and the same records as NDJSON (what
// `eqlite convert --raw` writes). Each phase runs in a process of its own, as a hunt does: the
// decoder's JIT warm-up is part of what it costs, and no phase inherits another's warm code.
//   baseline                   read + JSON.parse of the same records as NDJSON (the reader hunt
//                              uses for JSON input): what the events cost if they were JSON already
//   parse, 1 thread            the decoder alone: readEvtx(…).chunks() + toRaw() on the main thread
//   parse+ECS, 1 thread        the same plus mapRawWindowsEvent
//   input raw|ECS, main thread what `hunt`/`query --threads 0` read: openInput (ids, positions,
//                              time) on the main thread, files one after the other
//   input raw|ECS, N workers   what `--threads N` reads: the input workers (src/parallel) each
//                              decode (and map) their files; the main thread receives every
//                              event's time, id and position
// Each is run --repeat times (default EQLITE_BENCH_REPEAT or 3), phases interleaved, and the run
// of median CPU time is reported: records/s by the wall clock and per CPU second (user + system,
// all threads; on a shared machine the steadier one), the CPU time as a ratio to the baseline's,
// MB/s of EVTX and the phase's peak RSS. --ref DIST (or EQLITE_BENCH_EVTX_REF) also runs the two
// one-thread phases with another build's dist/ directory, in the same run, for before/after.

import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
const DIST = path.join(repoRoot, 'dist');

export interface BenchEvtxOptions {
  /** Size of the data set in MB (default 200). */
  targetMB?: number;
  /** Worker count for the parallel phases (default: available cores). */
  workers?: number;
  /** Runs of each phase; the median by CPU time is reported (default EQLITE_BENCH_REPEAT or 3). */
  repeat?: number;
  /** Another build's dist/ directory: the one-thread phases are also run with it. */
  ref?: string;
  /** Where the samples are (default ../shared/corpus/evtx). */
  corpusDir?: string;
  /** Where the data set is built (default bench/data/evtx). */
  dataDir?: string;
  /** Number of files the data set is split into (default 8). */
  files?: number;
  log?: (line: string) => void;
}

export interface BenchPhase {
  name: string;
  /** 'this build', or the --ref directory. */
  build: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  /** CPU seconds (user + system, all threads of the phase's process) and records per CPU second. */
  cpuSeconds: number;
  recordsPerCpuSec: number;
  /** CPU time relative to the baseline's (read + JSON.parse of the same records). */
  cpuRatio: number;
  mbPerSec: number;
  peakRssMB: number;
}

export interface BenchEvtxResult {
  files: number;
  totalMB: number;
  ndjsonMB: number;
  cores: number;
  repeat: number;
  phases: BenchPhase[];
}

const CHUNK = 0x10000;

/** All chunks with the ElfChnk magic from the sample files. */
function sampleChunks(corpusDir: string): Buffer[] {
  const out: Buffer[] = [];
  for (const f of readdirSync(corpusDir).filter((f) => f.endsWith('.evtx')).sort()) {
    const b = readFileSync(path.join(corpusDir, f));
    for (let off = 0x1000; off + CHUNK <= b.length; off += CHUNK) {
      if (b.toString('latin1', off, off + 8) === 'ElfChnk\0') out.push(b.subarray(off, off + CHUNK));
    }
  }
  return out;
}

function header(chunks: number): Buffer {
  const h = Buffer.alloc(0x1000);
  h.write('ElfFile\0', 0, 'latin1');
  h.writeBigUInt64LE(BigInt(chunks - 1), 16);
  h.writeUInt32LE(128, 32);
  h.writeUInt16LE(1, 36);
  h.writeUInt16LE(3, 38);
  h.writeUInt16LE(0x1000, 40);
  h.writeUInt16LE(chunks & 0xffff, 42);
  h.writeUInt32LE(crc32(h.subarray(0, 120)), 124);
  return h;
}

/** Builds the data set unless files of the right size already exist. */
export function ensureDataSet(opts: BenchEvtxOptions = {}): string[] {
  const corpusDir = opts.corpusDir ?? path.resolve(repoRoot, '..', 'shared', 'corpus', 'evtx');
  const dataDir = opts.dataDir ?? path.join(here, 'data', 'evtx');
  const nFiles = opts.files ?? 8;
  const perFile = Math.ceil(((opts.targetMB ?? 200) * 1024 * 1024) / nFiles / CHUNK);
  const names = Array.from({ length: nFiles }, (_, i) => path.join(dataDir, `bench-${perFile}x${i}.evtx`));
  const want = 0x1000 + perFile * CHUNK;
  if (names.every((n) => existsSync(n) && statSync(n).size === want)) return names;
  if (!existsSync(corpusDir)) throw new Error(`sample corpus not found at ${corpusDir}`);
  const chunks = sampleChunks(corpusDir);
  mkdirSync(dataDir, { recursive: true });
  names.forEach((n, i) => {
    const body: Buffer[] = [header(perFile)];
    // Rotate through the samples so every file has the same mix.
    for (let k = 0; k < perFile; k++) body.push(chunks[(k + i) % chunks.length]!);
    writeFileSync(n, Buffer.concat(body));
  });
  return names;
}

/** The data set's records as NDJSON (RawWindowsEvent, as `eqlite convert --raw` writes them). */
async function ensureNdjson(files: string[]): Promise<string> {
  const out = files[0]!.replace(/x0\.evtx$/, `x${files.length}.ndjson`);
  if (existsSync(out) && statSync(out).size > 0) return out;
  const { readEvtx } = (await import(pathToFileURL(path.join(DIST, 'evtx', 'index.js')).href)) as typeof import('../dist/evtx/index.js');
  const tmp = `${out}.tmp`;
  const w = createWriteStream(tmp);
  for (const f of files) {
    for await (const rs of readEvtx(f, { onWarning: () => undefined }).chunks()) {
      let text = '';
      for (const r of rs) text += JSON.stringify(r.toRaw()) + '\n';
      if (!w.write(text)) await new Promise<void>((res) => w.once('drain', () => res()));
    }
  }
  await new Promise<void>((res, rej) => w.end((e?: Error | null) => (e ? rej(e) : res())));
  renameSync(tmp, out);
  return out;
}

// ---------------------------------------------------------------------------------------
// One phase, in this process (run as: tsx bench/evtx.ts --phase NAME --dist DIR --workers N FILE…)

interface PhaseRun {
  records: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMB: number;
}

async function runPhaseHere(name: string, dist: string, workers: number, files: string[]): Promise<PhaseRun> {
  const mod = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(path.join(dist, rel)).href)) as T;
  const { readEvtx } = await mod<typeof import('../dist/evtx/index.js')>('evtx/index.js');
  const { mapRawWindowsEvent } = await mod<typeof import('../dist/events/windows/index.js')>('events/windows/index.js');
  const { openInput } = await mod<typeof import('../dist/events/inputs.js')>('events/inputs.js');
  const { timeOrSkip } = await mod<typeof import('../dist/events/order.js')>('events/order.js');
  const { openParallelInputs } = await mod<typeof import('../dist/parallel/pool.js')>('parallel/pool.js');
  const { readEvents } = await mod<typeof import('../dist/events/sources.js')>('events/sources.js');
  const noWarn = { onWarning: () => undefined };

  /** Reads the files one after the other on this thread as hunt does with --threads 0. */
  const mainThread = async (evtx: 'ecs' | 'raw'): Promise<number> => {
    const tsField = evtx === 'raw' ? 'System.TimeCreated' : '@timestamp';
    let n = 0;
    for (const f of files) {
      for await (const b of openInput({ path: f, kind: 'evtx' }, { evtx, onSkip: () => undefined }).batches()) {
        for (const ev of b) if (timeOrSkip(ev, tsField, undefined)) n++;
      }
    }
    return n;
  };
  /** Reads every file through the input workers and counts the events delivered. */
  const parallel = async (evtx: 'ecs' | 'raw'): Promise<number> => {
    const par = openParallelInputs(
      files.map((p) => ({ path: p, kind: 'evtx' as const })),
      {
        threads: workers,
        route: { kind: 'none' },
        evtx,
        // RawWindowsEvent objects carry their time in System; ECS documents in @timestamp.
        timestampField: evtx === 'raw' ? 'System.TimeCreated' : '@timestamp',
        // The samples include a dirty file whose damaged records every reader skips.
        onSkip: () => undefined,
      },
    );
    try {
      const counts = await Promise.all(
        par.inputs.map(async (input) => {
          let n = 0;
          for await (const b of input.batches()) n += b.length;
          return n;
        }),
      );
      return counts.reduce((a, b) => a + b, 0);
    } finally {
      await par.close();
    }
  };
  const phases: Record<string, () => Promise<number>> = {
    baseline: async () => {
      let n = 0;
      for (const f of files) for await (const batch of readEvents(f).batches()) n += batch.length;
      return n;
    },
    parse: async () => {
      let n = 0;
      for (const f of files) for await (const rs of readEvtx(f, noWarn).chunks()) for (const r of rs) if (r.toRaw().System) n++;
      return n;
    },
    'parse+ECS': async () => {
      let n = 0;
      for (const f of files) for await (const rs of readEvtx(f, noWarn).chunks()) for (const r of rs) if (mapRawWindowsEvent(r.toRaw()).index) n++;
      return n;
    },
    'input raw, main thread': () => mainThread('raw'),
    'input ECS, main thread': () => mainThread('ecs'),
    'input raw, workers': () => parallel('raw'),
    'input ECS, workers': () => parallel('ecs'),
  };
  const run = phases[name];
  if (!run) throw new Error(`unknown phase ${name}`);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const records = await run();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  return { records, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

function runPhase(name: string, dist: string, workers: number, files: string[]): PhaseRun {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--phase', name, '--dist', dist, '--workers', String(workers), ...files],
    { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as PhaseRun;
}

// ---------------------------------------------------------------------------------------

export async function benchEvtx(opts: BenchEvtxOptions = {}): Promise<BenchEvtxResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const files = ensureDataSet(opts);
  const ndjson = await ensureNdjson(files);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const totalMB = bytes / 1024 / 1024;
  const ndjsonMB = statSync(ndjson).size / 1024 / 1024;
  const cores = availableParallelism();
  const workers = opts.workers ?? cores;
  const repeat = Math.max(1, opts.repeat ?? Number(process.env.EQLITE_BENCH_REPEAT ?? 3));
  const ref = opts.ref ? path.resolve(opts.ref) : undefined;
  log(
    `EVTX bench: ${files.length} files, ${totalMB.toFixed(1)} MB (${ndjsonMB.toFixed(1)} MB as NDJSON), ${cores} cores, ${workers} workers, ` +
      `median by CPU time of ${repeat} runs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );

  interface Spec {
    name: string;
    label: string;
    dist: string;
    build: string;
    inputs: string[];
  }
  const specs: Spec[] = [{ name: 'baseline', label: 'baseline: read + JSON.parse of the NDJSON', dist: DIST, build: 'this build', inputs: [ndjson] }];
  for (const name of ['parse', 'parse+ECS']) {
    specs.push({ name, label: `${name}, 1 thread`, dist: DIST, build: 'this build', inputs: files });
    if (ref) specs.push({ name, label: `${name}, 1 thread`, dist: ref, build: ref, inputs: files });
  }
  for (const evtx of ['raw', 'ECS']) {
    specs.push({ name: `input ${evtx}, main thread`, label: `input ${evtx}, main thread`, dist: DIST, build: 'this build', inputs: files });
    specs.push({ name: `input ${evtx}, workers`, label: `input ${evtx}, ${workers} workers`, dist: DIST, build: 'this build', inputs: files });
  }
  // Interleaved: a change in the machine's load affects every phase alike.
  const runs: PhaseRun[][] = specs.map(() => []);
  for (let k = 0; k < repeat; k++) specs.forEach((s, i) => runs[i]!.push(runPhase(s.name, s.dist, workers, s.inputs)));
  const median = (rs: PhaseRun[]): PhaseRun => [...rs].sort((a, b) => a.cpuSeconds - b.cpuSeconds)[rs.length >> 1]!;
  const base = median(runs[0]!);
  const phases = specs.map((s, i): BenchPhase => {
    const r = median(runs[i]!);
    const mb = s.name === 'baseline' ? ndjsonMB : totalMB;
    const p: BenchPhase = {
      name: s.label,
      build: s.build,
      records: r.records,
      seconds: Number(r.seconds.toFixed(2)),
      recordsPerSec: Math.round(r.records / r.seconds),
      cpuSeconds: Number(r.cpuSeconds.toFixed(2)),
      recordsPerCpuSec: Math.round(r.records / r.cpuSeconds),
      cpuRatio: Number((r.cpuSeconds / base.cpuSeconds).toFixed(2)),
      mbPerSec: Number((mb / r.seconds).toFixed(1)),
      peakRssMB: r.peakRssMB,
    };
    log(
      `${p.name.padEnd(42)} ${String(p.records).padStart(7)} rec ${p.seconds.toFixed(2).padStart(6)} s ${String(p.recordsPerSec).padStart(8)} rec/s ` +
        `CPU ${p.cpuSeconds.toFixed(2).padStart(6)} s ${String(p.recordsPerCpuSec).padStart(8)} rec/CPU-s ${p.cpuRatio.toFixed(2).padStart(5)}× ` +
        `${p.mbPerSec.toFixed(1).padStart(6)} MB/s ${String(p.peakRssMB).padStart(5)} MB${p.build === 'this build' ? '' : `  [${p.build}]`}`,
    );
    return p;
  });
  if (ref) {
    for (const name of ['parse, 1 thread', 'parse+ECS, 1 thread']) {
      const [cur, old] = phases.filter((p) => p.name === name);
      if (cur && old) log(`${name}: this build ${(old.cpuSeconds / cur.cpuSeconds).toFixed(2)}× the records per CPU second of ${ref}`);
    }
  }
  return { files: files.length, totalMB: Number(totalMB.toFixed(1)), ndjsonMB: Number(ndjsonMB.toFixed(1)), cores, repeat, phases };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const phase = arg('--phase');
  if (phase) {
    // A child: one phase, its result as the last line of stdout.
    const files = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
    runPhaseHere(phase, arg('--dist') ?? DIST, Number(arg('--workers') ?? availableParallelism()), files).then(
      (r) => console.log(JSON.stringify(r)),
      (e: unknown) => {
        console.error(`phase ${phase} failed: ${(e as Error).message}`);
        process.exitCode = 1;
      },
    );
  } else {
    const mb = arg('--mb');
    const w = arg('--workers');
    const rep = arg('--repeat');
    benchEvtx({
      targetMB: mb ? Number(mb) : undefined,
      workers: w ? Number(w) : undefined,
      repeat: rep ? Number(rep) : undefined,
      ref: arg('--ref') ?? process.env.EQLITE_BENCH_EVTX_REF,
    }).catch((e: unknown) => {
      console.error(`bench failed: ${(e as Error).message}`);
      process.exitCode = 1;
    });
  }
}
