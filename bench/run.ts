// `npm run bench`: the EQL engine and detection benchmarks, measured in one run on this machine.
//
// Data: 1M realistic ECS Windows events over 500 hosts, generated once under bench/data/.
//  * Agent data (the main case): Elastic Defend and the Elastic Agent Windows integration only,
//    so every event carries its data stream (`data_stream.*`) and reaches every rule whose index
//    patterns name it — what a user with Elastic Agent data gets;
//  * mixed data (second case): Defend, Winlogbeat 7/8 and Agent hosts, as before.
// Each phase runs in its own process (peak memory is the phase's own) and is reported as events/s
// and as its time relative to read + JSON.parse of the same file measured in the same run, by the
// wall clock and by CPU time (user + system of the phase process; the steadier on a shared machine).
//   EQLITE_BENCH_EVENTS   number of events (default 1000000)
//   EQLITE_BENCH_SKIP     comma list of phases/sections to skip: order, filter, seed,
//                         hunt-seed, scaling, mixed, startup, threads, evtx, serve, cluster
//   EQLITE_BENCH_REPEAT   runs of each phase shorter than a minute, the median is reported
//                         (default 3): a shared 2-core VM varies by ±15% from run to run
//   EQLITE_BENCH_SCALE    rule counts of the scaling section (default 1,10,100,all)
//   EQLITE_BENCH_CLUSTER_EVENTS the `eqlite serve --cluster` section (needs nats-server): events
//                         per configuration (default 20000; skip with EQLITE_BENCH_SKIP=cluster)
//   EQLITE_BENCH_SERVE_EVENTS  the `eqlite serve` section: events sent per configuration
//                         (default 200000; skip the section with EQLITE_BENCH_SKIP=serve)
//   EQLITE_BENCH_UI_ALERTS  the web UI section: alerts in the store the alerts API is timed on
//                         (default 1000000; skip with EQLITE_BENCH_SKIP=ui)
//   EQLITE_BENCH_EVTX_REF another build's dist/ directory: the EVTX section also runs its decoder
//                         phases with it (before/after in one run)
//   EQLITE_BENCH_FILES    the worker-thread section: hunt over this many files (default 4) of
//                         EQLITE_BENCH_FILE_EVENTS events each (default 100000), time-interleaved,
//                         read on the main thread (--threads 0) and on one worker per core
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGenerated, type Shape } from '../src/generate/index.js';
import { inputBytes, youngGenerationDecision } from '../src/cli/young-rerun.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const events = Number(process.env.EQLITE_BENCH_EVENTS ?? 1_000_000);
const repeat = Math.max(1, Number(process.env.EQLITE_BENCH_REPEAT ?? 3));
const skip = new Set((process.env.EQLITE_BENCH_SKIP ?? '').split(',').filter(Boolean));
const scale = (process.env.EQLITE_BENCH_SCALE ?? '1,10,100,all').split(',').map((s) => s.trim());
const dataDir = path.join(here, 'data');
const corpus = path.resolve(root, '..', 'shared', 'corpus', 'elastic-rules', 'eql-rules.ndjson');
const haveCorpus = existsSync(corpus);
const AGENT: Shape[] = ['defend', 'agent'];

interface PhaseResult {
  phase: string;
  events: number;
  results: number;
  seconds: number;
  /** CPU time, user + system, of the phase's process (all threads). */
  cpuSeconds: number;
  peakRssMb: number;
  rules: number;
}

mkdirSync(dataDir, { recursive: true });

async function dataFile(name: string, opts: { events: number; hosts: number; seed: number; shapes?: Shape[] }): Promise<string> {
  const file = path.join(dataDir, name);
  if (!existsSync(file)) {
    process.stderr.write(`generating ${opts.events} events over ${opts.hosts} hosts into ${path.relative(root, file)} …\n`);
    const t0 = Date.now();
    await writeGenerated({ ...opts, out: file });
    process.stderr.write(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  return file;
}

/**
 * The node flags `eqlite hunt` would run a hunt over `input` with: over large files the command
 * re-runs itself with a larger young generation for its main thread (src/cli/young-rerun.ts), and
 * the hunt phases call the library, so they take the same decision here (the re-run's second start
 * of Node, ~0.1 s of CPU, is not in their figures).
 */
function huntFlags(phase: string, input: string, env: Record<string, string>): string[] {
  if (!phase.startsWith('hunt-')) return [];
  const d = youngGenerationDecision({ ...process.env, ...env }, process.execArgv, (enough) => inputBytes([input], enough));
  return d.rerun ? [`--max-semi-space-size=${d.semiSpaceMb}`] : [];
}

function runPhase(phase: string, input: string, extra: string[] = [], env: Record<string, string> = {}): PhaseResult {
  const out = execFileSync(process.execPath, [...huntFlags(phase, input, env), '--import', 'tsx', path.join(here, 'phase.ts'), phase, input, ...extra], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as PhaseResult;
}

/** Median of `repeat` runs for phases under a minute; a longer phase runs once. */
function measure(phase: string, input: string, extra: string[] = [], env: Record<string, string> = {}): PhaseResult {
  const first = runPhase(phase, input, extra, env);
  if (repeat === 1 || first.seconds > 60) return first;
  const runs = [first, ...Array.from({ length: repeat - 1 }, () => runPhase(phase, input, extra, env))];
  // The median by CPU time: on a shared machine the wall clock mostly measures the other load.
  runs.sort((a, b) => a.cpuSeconds - b.cpuSeconds);
  return runs[runs.length >> 1]!;
}

const mbOf = (file: string) => statSync(file).size / 1e6;
const rate = (r: PhaseResult) => Math.round(r.events / r.seconds).toLocaleString('en');

/** Rows: [label, phase, description, extra arguments, extra environment]. */
type Row = [string, string, string, string[], Record<string, string>?];

function table(title: string, file: string, rows: Row[]): PhaseResult | null {
  const mb = mbOf(file);
  console.log('');
  console.log(title);
  console.log('phase        events/s   MB/s   ratio  CPU ev/s  CPU ratio  peak RSS  results  what');
  let base: PhaseResult | null = null;
  for (const [phase, name, what, extra, env] of rows) {
    const r = measure(name, file, extra, env ?? {});
    base ??= r;
    const label = r.rules ? `${what} (${r.rules} rules)` : what;
    console.log(
      `${phase.padEnd(11)} ${rate(r).padStart(9)} ${(mb / r.seconds).toFixed(0).padStart(6)} ${(r.seconds / base.seconds).toFixed(2).padStart(6)}× ` +
        `${Math.round(r.events / r.cpuSeconds).toLocaleString('en').padStart(9)} ${(r.cpuSeconds / base.cpuSeconds).toFixed(2).padStart(9)}× ` +
        `${`${r.peakRssMb.toFixed(0)} MB`.padStart(9)} ${String(r.results).padStart(8)}  ${label}`,
    );
  }
  return base;
}

const agentFile = await dataFile(`agent-${events}-h500-s7.ndjson`, { events, hosts: 500, seed: 7, shapes: AGENT });
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(
  `eqlite benchmark: ${events.toLocaleString('en')} events, node ${process.version}, ${cpus().length} cores, load average ${load()}; ` +
    `(median by CPU time of ${repeat} runs for phases under a minute)`,
);
process.on('exit', () => console.log(`\nload average at the end: ${load()} (1, 5, 15 min)`));

/**
 * An outline cache (src/engine/outline.ts) holding every rule, as `eqlite hunt` leaves its cache
 * directory after a first run: the rule-set phases above compile every rule before reading (a
 * first run, or the library without `outlines`); `rules-all+c` measures what later runs of the
 * command do. Warmed by one hunt over the Agent file's first 2,000 lines.
 */
function warmOutlines(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-bench-outlines-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const head = path.join(dir, 'head.ndjson');
  const fd = openSync(agentFile, 'r');
  const buf = Buffer.alloc(16 << 20);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  let end = 0;
  for (let lines = 0; lines < 2000 && end < n; lines++) end = buf.indexOf(10, end) + 1 || n;
  writeFileSync(head, buf.subarray(0, end));
  runPhase('hunt-corpus', head, [corpus], { EQLITE_BENCH_OUTLINES: dir });
  return dir;
}

// ---- main case: Agent data
const rows: Row[] = [['parse', 'parse', 'read + JSON.parse (baseline)', []]];
if (!skip.has('order')) rows.push(['order', 'order', 'read + parse + time-ordered merge', []]);
if (!skip.has('filter')) rows.push(['filter', 'filter', 'eqlite query: process where event.type == "start" and process.name : "powershell.exe"', []]);
if (!skip.has('seed')) rows.push(['seed', 'seed', "eqlite query: the seed rule's sequence", []]);
if (!skip.has('hunt-seed')) rows.push(['hunt-seed', 'hunt-seed', 'eqlite hunt, bundled seed rule (alerts built)', []]);
if (haveCorpus && !skip.has('scaling')) {
  for (const n of scale) rows.push([`rules-${n}`, 'hunt-corpus', 'eqlite hunt, active Elastic EQL rules in one pass', n === 'all' ? [corpus] : [corpus, n]]);
  if (scale.includes('all')) rows.push(['rules-all+c', 'hunt-corpus', 'the same with the outline cache warm, as `eqlite hunt` runs from its second run on', [corpus], { EQLITE_BENCH_OUTLINES: warmOutlines() }]);
}
table(`Agent data (every event carries data_stream.*): ${mbOf(agentFile).toFixed(0)} MB NDJSON`, agentFile, rows);
if (!haveCorpus) console.log(`(rule-set phases skipped: ${corpus} not found)`);

// ---- second case: mixed Defend / Winlogbeat / Agent data
if (!skip.has('mixed')) {
  const mixedFile = await dataFile(`events-${events}-h500-s7.ndjson`, { events, hosts: 500, seed: 7 });
  const mixedRows: Row[] = [['parse', 'parse', 'read + JSON.parse (baseline)', []]];
  if (haveCorpus) mixedRows.push(['rules-all', 'hunt-corpus', 'eqlite hunt, all active Elastic EQL rules in one pass', [corpus]]);
  table(`Mixed data (Defend, Winlogbeat 7/8, Agent hosts): ${mbOf(mixedFile).toFixed(0)} MB NDJSON`, mixedFile, mixedRows);
}

// ---- start-up with all rules: process start to the first event read (EQLITE_TRACE_STARTUP), by
// CPU time and wall clock, with an empty cache directory (first run) and a warm one (median of the
// next runs); for the Kibana export NDJSON and for the detection-rules TOML tree installed with
// `eqlite rules update` (the default rule set of a hunt).
if (haveCorpus && !skip.has('startup')) {
  const one = path.join(dataDir, 'one-event.ndjson');
  // The first line only (the data file can be larger than a string can hold).
  const head = Buffer.alloc(1 << 16);
  const fd = openSync(agentFile, 'r');
  const got = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const first = head.toString('utf8', 0, got).split('\n')[0]!;
  writeFileSync(one, first + '\n');
  const tmp = mkdtempSync(path.join(tmpdir(), 'eqlite-bench-startup-'));
  // What `eqlite` runs: the package's executable (dist/cli/eqlite.cjs, one CommonJS script), not
  // dist/cli/main.js (the same code as an ES module, which also sets up Node's module loader).
  const bin = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.eqlite!;
  const cli = path.join(root, bin);
  const rulesHome = path.join(tmp, 'rules-home');
  const tomlDir = path.resolve(path.dirname(corpus), 'toml');
  const haveToml = existsSync(tomlDir);
  if (haveToml) execFileSync(process.execPath, [cli, 'rules', 'update', tomlDir], { env: { ...process.env, EQLITE_RULES_HOME: rulesHome }, stdio: 'ignore' });
  console.log('');
  console.log(`start-up with all active Elastic EQL rules: process start to the first event read (EQLITE_TRACE_STARTUP=1, node ${bin})`);
  console.log('rules                                     cache   CPU ms   wall ms   (runs: CPU/wall)');
  const cases: [string, string[]][] = [['-r eql-rules.ndjson (Kibana export)', ['-r', corpus]]];
  if (haveToml) cases.push(['installed detection-rules TOML (default)', []]);
  for (const [label, args] of cases) {
    const cache = path.join(tmp, `cache-${cases.findIndex((c) => c[0] === label)}`);
    const runs: { cpu: number; wall: number }[] = [];
    for (let i = 0; i < Math.max(4, repeat + 1); i++) {
      const r = spawnSync(process.execPath, [cli, 'hunt', ...args, '--format', 'none', '--no-progress', one], {
        encoding: 'utf8',
        env: { ...process.env, EQLITE_TRACE_STARTUP: '1', EQLITE_CACHE_HOME: cache, EQLITE_RULES_HOME: rulesHome },
      });
      const m = /startup: first event read (\d+) ms CPU, (\d+) ms wall/.exec(r.stderr);
      if (r.status !== 0 || !m) throw new Error(`start-up run failed: ${r.stderr}`);
      runs.push({ cpu: Number(m[1]), wall: Number(m[2]) });
    }
    const [cold, ...warm] = runs;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    console.log(`${label.padEnd(42)}cold ${String(cold!.cpu).padStart(8)} ${String(cold!.wall).padStart(9)}`);
    console.log(
      `${''.padEnd(42)}warm ${String(median(warm.map((w) => w.cpu))).padStart(8)} ${String(median(warm.map((w) => w.wall))).padStart(9)}   (${warm.map((w) => `${w.cpu}/${w.wall}`).join(', ')})`,
    );
  }
  // Node alone, in the same environment: the part of the figures above that is not eqlite's. On a
  // machine whose environment sets NODE_EXTRA_CA_CERTS, Node 20 reads and parses those
  // certificates at every start, before any script runs (about 40 ms of CPU for a bundle of 144).
  const alone: { cpu: number; wall: number }[] = [];
  for (let i = 0; i < Math.max(3, repeat); i++) {
    const r = spawnSync(process.execPath, ['-e', 'const c = process.cpuUsage(); console.log(((c.user + c.system) / 1000).toFixed(0), performance.now().toFixed(0))'], { encoding: 'utf8' });
    const [cpu, wall] = r.stdout.trim().split(' ').map(Number);
    alone.push({ cpu: cpu!, wall: wall! });
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const extraCerts = process.env.NODE_EXTRA_CA_CERTS ? `; NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS} is set` : '';
  console.log(`${'node alone (an empty script)'.padEnd(42)}     ${String(mid(alone.map((a) => a.cpu))).padStart(8)} ${String(mid(alone.map((a) => a.wall))).padStart(9)}   (${alone.map((a) => `${a.cpu}/${a.wall}`).join(', ')}${extraCerts})`);
  rmSync(tmp, { recursive: true, force: true });
}

if (!skip.has('threads')) {
  // Several time-interleaved files: what worker threads are for (each reads, parses and routes
  // whole files; the main thread merges and runs the rules' state on the events they need).
  const nFiles = Number(process.env.EQLITE_BENCH_FILES ?? 4);
  const perFile = Number(process.env.EQLITE_BENCH_FILE_EVENTS ?? 100_000);
  const dir = path.join(dataDir, `agent-files-${nFiles}x${perFile}`);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < nFiles; i++) {
    const out = path.join(dir, `part-${i}.ndjson`);
    if (!existsSync(out)) await writeGenerated({ events: perFile, hosts: 125, seed: 100 + i, shapes: AGENT, out });
  }
  const cores = availableParallelism();
  const dirMb = readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0) / 1e6;
  console.log('');
  console.log(`worker threads: hunt over ${nFiles} Agent-data files × ${perFile.toLocaleString('en')} events (${dirMb.toFixed(0)} MB), --threads 0 vs ${cores}`);
  console.log('phase        threads  events/s  speedup  peak RSS  alerts');
  for (const [phase, extra] of [['hunt-seed', []], ['hunt-corpus', [corpus]]] as [string, string[]][]) {
    if (phase === 'hunt-corpus' && !haveCorpus) continue;
    let serial: PhaseResult | null = null;
    for (const threads of [0, cores]) {
      const r = runPhase(phase, dir, extra, { EQLITE_THREADS: String(threads) });
      serial ??= r;
      console.log(
        `${phase.padEnd(11)} ${String(threads).padStart(8)} ${rate(r).padStart(9)} ${(serial.seconds / r.seconds).toFixed(2).padStart(7)}× ${`${r.peakRssMb.toFixed(0)} MB`.padStart(9)} ${String(r.results).padStart(7)}`,
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
    const r = await benchEvtx({ log: () => {}, repeat, ref: process.env.EQLITE_BENCH_EVTX_REF });
    console.log(`EVTX: ${r.totalMB.toFixed(0)} MB in ${r.files} files (${r.ndjsonMB.toFixed(0)} MB as NDJSON), ${r.cores} cores; CPU ratio to read + JSON.parse of the same records as NDJSON`);
    console.log('phase                                        records/s  CPU rec/s  CPU ratio   MB/s  peak RSS');
    for (const p of r.phases) {
      console.log(
        `${p.name.padEnd(44)} ${p.recordsPerSec.toLocaleString('en').padStart(9)} ${p.recordsPerCpuSec.toLocaleString('en').padStart(10)} ` +
          `${p.cpuRatio.toFixed(2).padStart(9)}× ${p.mbPerSec.toFixed(0).padStart(6)} ${`${p.peakRssMB.toFixed(0)} MB`.padStart(9)}${p.build === 'this build' ? '' : `  [${p.build}]`}`,
      );
    }
  } else console.log(`\nEVTX benchmark skipped: ${corpusEvtx} not found`);
}
