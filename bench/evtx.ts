// EVTX reader benchmark: npx tsx bench/evtx.ts [--mb 200] [--workers N] [--keep]
//
// Builds (or reuses) a data set under bench/data/evtx (gitignored) of large .evtx files made by
// concatenating the valid chunks of the ../shared corpus samples behind a fresh file header
// (chunks are self-contained, so this is a valid log), then measures:
//   parse, 1 thread            the decoder alone: readEvtx(…).chunks() + toRaw() on the main thread
//   parse+ECS, 1 thread        the same plus mapRawWindowsEvent
//   input raw|ECS, main thread what `hunt`/`query --threads 0` read: openInput (ids, positions,
//                              time) on the main thread, files one after the other
//   input raw|ECS, N workers   what `--threads N` reads: the input workers (src/parallel) each
//                              decode (and map) their files; the main thread receives every
//                              event's time, id and position (no rule needs the events here, so
//                              none travels whole)
// reporting records/s (wall clock and per CPU second of the process: on a shared machine the
// CPU figure is the one to compare), MB/s and the process's peak RSS so far (workers are threads, so their
// memory is included).

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';
// The compiled package (dist/) is measured: it is what eqlite runs, and its workers load worker.js.
import { readEvtx } from '../dist/evtx/index.js';
import { openParallelInputs } from '../dist/parallel/pool.js';
import { openInput } from '../dist/events/inputs.js';
import { timeOrSkip } from '../dist/events/order.js';
import { mapRawWindowsEvent } from '../dist/events/windows/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');

export interface BenchEvtxOptions {
  /** Size of the data set in MB (default 200). */
  targetMB?: number;
  /** Worker count for the parallel phases (default: available cores). */
  workers?: number;
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
  records: number;
  seconds: number;
  recordsPerSec: number;
  /** CPU seconds (user + system, all threads of this process) and records per CPU second. */
  cpuSeconds: number;
  recordsPerCpuSec: number;
  mbPerSec: number;
  peakRssMB: number;
}

export interface BenchEvtxResult {
  files: number;
  totalMB: number;
  cores: number;
  phases: BenchPhase[];
}

const CHUNK = 0x10000;

/** Reads the files one after the other on this thread as hunt does with --threads 0. */
async function countMainThread(files: string[], evtx: 'ecs' | 'raw'): Promise<number> {
  const tsField = evtx === 'raw' ? 'System.TimeCreated' : '@timestamp';
  let n = 0;
  for (const f of files) {
    for await (const b of openInput({ path: f, kind: 'evtx' }, { evtx, onSkip: () => undefined }).batches()) {
      for (const ev of b) if (timeOrSkip(ev, tsField, undefined)) n++;
    }
  }
  return n;
}

/** Reads every file through the input workers and counts the events delivered. */
async function countParallel(files: string[], threads: number, evtx: 'ecs' | 'raw'): Promise<number> {
  const par = openParallelInputs(
    files.map((p) => ({ path: p, kind: 'evtx' as const })),
    {
      threads,
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
}

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

function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export async function benchEvtx(opts: BenchEvtxOptions = {}): Promise<BenchEvtxResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const files = ensureDataSet(opts);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const totalMB = bytes / 1024 / 1024;
  const cores = availableParallelism();
  const workers = opts.workers ?? cores;
  const phases: BenchPhase[] = [];
  log(`EVTX bench: ${files.length} files, ${totalMB.toFixed(1)} MB, ${cores} cores, ${workers} workers`);

  const phase = async (name: string, run: () => Promise<number>): Promise<void> => {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const records = await run();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const p: BenchPhase = {
      name,
      records,
      seconds: Number(seconds.toFixed(2)),
      recordsPerSec: Math.round(records / seconds),
      cpuSeconds: Number(cpuSeconds.toFixed(2)),
      recordsPerCpuSec: Math.round(records / cpuSeconds),
      mbPerSec: Number((totalMB / seconds).toFixed(1)),
      peakRssMB: peakRssMB(),
    };
    phases.push(p);
    log(
      `${name.padEnd(24)} ${String(records).padStart(8)} records  ${p.seconds.toFixed(2).padStart(6)} s  ` +
        `${String(p.recordsPerSec).padStart(8)} rec/s  ${p.mbPerSec.toFixed(1).padStart(6)} MB/s  ` +
        `CPU ${p.cpuSeconds.toFixed(2).padStart(6)} s ${String(p.recordsPerCpuSec).padStart(8)} rec/CPU-s  peak RSS ${p.peakRssMB} MB`,
    );
  };

  await phase('parse, 1 thread', async () => {
    let n = 0;
    for (const f of files) for await (const rs of readEvtx(f).chunks()) for (const r of rs) if (r.toRaw().System) n++;
    return n;
  });
  await phase('parse+ECS, 1 thread', async () => {
    let n = 0;
    for (const f of files) for await (const rs of readEvtx(f).chunks()) for (const r of rs) if (mapRawWindowsEvent(r.toRaw()).index) n++;
    return n;
  });
  for (const evtx of ['raw', 'ecs'] as const) {
    const label = evtx === 'raw' ? 'input raw' : 'input ECS';
    await phase(`${label}, main thread`, () => countMainThread(files, evtx));
    await phase(`${label}, ${workers} workers`, () => countParallel(files, workers, evtx));
  }

  return { files: files.length, totalMB: Number(totalMB.toFixed(1)), cores, phases };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const mb = arg('--mb');
  const w = arg('--workers');
  benchEvtx({ targetMB: mb ? Number(mb) : undefined, workers: w ? Number(w) : undefined }).catch((e: unknown) => {
    console.error(`bench failed: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
