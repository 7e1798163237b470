// `npm run bench`: the EQL engine and detection benchmarks, measured in one run on this machine.
// Generates (or reuses) 1M realistic ECS Windows events over 500 hosts under bench/data/, then
// runs each phase in its own process (so peak memory is the phase's own) and reports events/s
// and each phase's cost as a ratio to read+parse, plus the EVTX reader benchmark.
//   EQLITE_BENCH_EVENTS   number of events (default 1000000)
//   EQLITE_BENCH_SKIP     comma list of phases to skip (e.g. hunt-corpus,evtx)
//   EQLITE_BENCH_REPEAT   runs of each single-query phase, the median is reported (default 3):
//                         a shared 2-core VM varies by ±15% from run to run
//   EQLITE_BENCH_CLUSTER_EVENTS the `eqlite serve --cluster` section (needs nats-server): events
//                         per configuration (default 20000; skip with EQLITE_BENCH_SKIP=cluster)
//   EQLITE_BENCH_SERVE_EVENTS  the `eqlite serve` section: events sent per configuration
//                         (default 200000; skip the section with EQLITE_BENCH_SKIP=serve)
//   EQLITE_BENCH_UI_ALERTS  the web UI section: alerts in the store the alerts API is timed on
//                         (default 1000000; skip with EQLITE_BENCH_SKIP=ui)
//   EQLITE_BENCH_FILES    the worker-thread section: hunt over this many files (default 4) of
//                         EQLITE_BENCH_FILE_EVENTS events each (default 100000), time-interleaved,
//                         read on the main thread (--threads 0) and on one worker per core
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGenerated } from '../src/generate/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const events = Number(process.env.EQLITE_BENCH_EVENTS ?? 1_000_000);
const repeat = Math.max(1, Number(process.env.EQLITE_BENCH_REPEAT ?? 3));
const skip = new Set((process.env.EQLITE_BENCH_SKIP ?? '').split(',').filter(Boolean));
const dataDir = path.join(here, 'data');
const file = path.join(dataDir, `events-${events}-h500-s7.ndjson`);
const corpus = path.resolve(root, '..', 'shared', 'corpus', 'elastic-rules', 'eql-rules.ndjson');

interface PhaseResult {
  phase: string;
  events: number;
  results: number;
  seconds: number;
  peakRssMb: number;
  rules: number;
}

mkdirSync(dataDir, { recursive: true });
if (!existsSync(file)) {
  process.stderr.write(`generating ${events} events over 500 hosts into ${path.relative(root, file)} …\n`);
  const t0 = Date.now();
  await writeGenerated({ events, hosts: 500, seed: 7, out: file });
  process.stderr.write(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
const mb = statSync(file).size / 1e6;

function runPhase(phase: string, extra: string[] = [], input = file, env: Record<string, string> = {}): PhaseResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(here, 'phase.ts'), phase, input, ...extra], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as PhaseResult;
}

const phases: [string, string, string[]][] = [
  ['parse', 'read + JSON.parse (baseline)', []],
  ['order', 'read + parse + time-ordered merge', []],
  ['filter', 'event query: process where event.type == "start" and process.name : "powershell.exe"', []],
  ['seed', 'seed rule sequence (eqlite query)', []],
  ['hunt-seed', 'eqlite hunt, bundled seed rule (alerts built)', []],
  ['hunt-corpus', 'eqlite hunt, all active Elastic EQL rules in one pass', [corpus]],
];

console.log(`eqlite benchmark: ${events.toLocaleString('en')} events, ${mb.toFixed(0)} MB NDJSON, node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
console.log('');
console.log(`(median of ${repeat} runs per phase; hunt phases run once)`);
console.log('phase        events/s   MB/s   ratio  peak RSS  results  what');
let base: PhaseResult | null = null;
const results: PhaseResult[] = [];
for (const [phase, what, extra] of phases) {
  if (skip.has(phase)) continue;
  if (phase === 'hunt-corpus' && !existsSync(corpus)) {
    console.log(`hunt-corpus  (skipped: ${corpus} not found)`);
    continue;
  }
  // The multi-minute hunt phases run once; the others take the median of `repeat` runs.
  const runs = Array.from({ length: phase.startsWith('hunt-') ? 1 : repeat }, () => runPhase(phase, extra));
  runs.sort((a, b) => a.seconds - b.seconds);
  const r = runs[runs.length >> 1]!;
  results.push(r);
  base ??= r;
  const rate = r.events / r.seconds;
  const ratio = r.seconds / base.seconds;
  const label = r.rules ? `${what} (${r.rules} rules)` : what;
  console.log(
    `${phase.padEnd(11)} ${Math.round(rate).toLocaleString('en').padStart(9)} ${(mb / r.seconds).toFixed(0).padStart(6)} ${ratio.toFixed(2).padStart(6)}× ${`${r.peakRssMb.toFixed(0)} MB`.padStart(9)} ${String(r.results).padStart(8)}  ${label}`,
  );
}
const seed = results.find((r) => r.phase === 'seed');
const order = results.find((r) => r.phase === 'order');
if (seed && order) {
  console.log('');
  console.log(`sequence state (seed peak RSS − ordered-read peak RSS): ${(seed.peakRssMb - order.peakRssMb).toFixed(0)} MB`);
}

if (!skip.has('threads')) {
  // Several time-interleaved files: what worker threads are for (each reads, parses and routes
  // whole files; the main thread merges and runs the rules' state on the events they need).
  const nFiles = Number(process.env.EQLITE_BENCH_FILES ?? 4);
  const perFile = Number(process.env.EQLITE_BENCH_FILE_EVENTS ?? 100_000);
  const dir = path.join(dataDir, `files-${nFiles}x${perFile}`);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < nFiles; i++) {
    const out = path.join(dir, `part-${i}.ndjson`);
    if (!existsSync(out)) await writeGenerated({ events: perFile, hosts: 125, seed: 100 + i, out });
  }
  const cores = (await import('node:os')).availableParallelism();
  const dirMb = readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0) / 1e6;
  console.log('');
  console.log(`worker threads: hunt over ${nFiles} files × ${perFile.toLocaleString('en')} events (${dirMb.toFixed(0)} MB), --threads 0 vs ${cores}`);
  console.log('phase        threads  events/s  speedup  peak RSS  alerts');
  for (const [phase, extra] of [['hunt-seed', []], ['hunt-corpus', [corpus]]] as [string, string[]][]) {
    if (phase === 'hunt-corpus' && (!existsSync(corpus) || skip.has('hunt-corpus'))) continue;
    let serial: PhaseResult | null = null;
    for (const threads of [0, cores]) {
      const r = runPhase(phase, extra, dir, { EQLITE_THREADS: String(threads) });
      serial ??= r;
      console.log(
        `${phase.padEnd(11)} ${String(threads).padStart(8)} ${Math.round(r.events / r.seconds).toLocaleString('en').padStart(9)} ${(serial.seconds / r.seconds).toFixed(2).padStart(7)}× ${`${r.peakRssMb.toFixed(0)} MB`.padStart(9)} ${String(r.results).padStart(7)}`,
      );
      if (r.results !== serial.results) console.log(`  !! alert counts differ: ${serial.results} vs ${r.results}`);
    }
  }
}

if (!skip.has('serve')) {
  console.log('');
  const { runServeBench } = await import('./serve.js');
  await runServeBench();
}

if (!skip.has('cluster')) {
  console.log('');
  const { runClusterBench } = await import('./cluster.js');
  await runClusterBench();
}

if (!skip.has('ui')) {
  console.log('');
  const { runUiBench } = await import('./ui.js');
  await runUiBench();
}

if (!skip.has('evtx')) {
  const { benchEvtx } = await import('./evtx.js');
  const corpusEvtx = path.resolve(root, '..', 'shared', 'corpus', 'evtx');
  if (existsSync(corpusEvtx)) {
    console.log('');
    const r = await benchEvtx({ log: () => {} });
    console.log(`EVTX: ${r.totalMB.toFixed(0)} MB in ${r.files} files, ${r.cores} cores`);
    console.log('phase                        records/s    MB/s  peak RSS');
    for (const p of r.phases) {
      console.log(`${p.name.padEnd(28)} ${Math.round(p.recordsPerSec).toLocaleString('en').padStart(9)} ${p.mbPerSec.toFixed(0).padStart(7)} ${`${p.peakRssMB.toFixed(0)} MB`.padStart(9)}`);
    }
  } else console.log(`\nEVTX benchmark skipped: ${corpusEvtx} not found`);
}
