// Proof that a performance change changed no result: hunts every active Elastic EQL rule
// (../shared/corpus/elastic-rules/eql-rules.ndjson) over generated data and the EVTX corpus with
// this checkout's build and with a reference build (another checkout, e.g. a git worktree of main
// taken before the change), and compares the alert ids (`kibana.alert.uuid`) and per-rule counts.
//
//   npm run build && npx tsx scripts/check-alerts.ts --ref /path/to/reference/checkout
//
// The reference checkout must be built (`npx tsc -p tsconfig.json` there). Its outputs are cached
// under bench/data/check/ by the reference commit, so re-checking after the next change only runs
// this build. Cases: Elastic Agent data (every event carries data_stream.*) on the main thread;
// the mixed Defend/Winlogbeat/Agent data split over two files with two worker threads; the same
// with --schedule (rule schedules replayed); the Agent data file on two workers (read in parts);
// the EVTX corpus; and, event by event over the Agent
// data, the set of rules each build's router hands the event to. Exit status 1 on any difference.
//   --events N   events per generated data set (default 60000)
//   --only NAME  run one case
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGenerated } from '../src/generate/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const shared = path.resolve(root, '..', 'shared');
const corpus = path.join(shared, 'corpus', 'elastic-rules', 'eql-rules.ndjson');
const evtxDir = path.join(shared, 'corpus', 'evtx');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv.includes('--route-worker')) await routeWorker(process.argv[process.argv.indexOf('--route-worker') + 1]!, process.argv[process.argv.indexOf('--route-worker') + 2]!);

/** Child process: routes every event through both builds' RuleRouter and compares. */
async function routeWorker(refDir: string, file: string): Promise<never> {
  type Mod = Record<string, any>;
  const load = async (dir: string): Promise<{ load: Mod; router: Mod }> => ({
    load: (await import(path.join(dir, 'dist', 'rules', 'load.js'))) as Mod,
    router: (await import(path.join(dir, 'dist', 'detect', 'router.js'))) as Mod,
  });
  const builds = [await load(root), await load(refDir)];
  const routers = builds.map((b) => {
    const loaded = b.load.loadRules([corpus]);
    const rules = loaded.rules.filter((r: Mod) => !r.unsupported);
    const opts = { timestampField: '@timestamp', exceptionLists: [], now: Date.parse('2025-06-01T00:00:00Z'), replay: false };
    const prepared = rules.map((r: Mod) => b.router.prepareRule(r, opts)).filter((p: Mod) => !('skip' in p));
    return { ids: prepared.map((p: Mod) => p.rule.rule_id as string), router: new b.router.RuleRouter(prepared) };
  });
  const { readEvents } = (await import(path.join(root, 'dist', 'events', 'sources.js'))) as Mod;
  let events = 0;
  let pairs = 0;
  let differences = 0;
  const examples: string[] = [];
  for await (const batch of readEvents(file).batches()) {
    for (const ev of batch) {
      events++;
      const sets = routers.map((r) => (r.router.route(ev) as number[]).map((i) => r.ids[i]!).sort().join(','));
      pairs += sets[0]!.length === 0 ? 0 : sets[0]!.split(',').length;
      if (sets[0] !== sets[1]) {
        differences++;
        if (examples.length < 5) examples.push(`${ev.position?.line}: this build [${sets[0]}] reference [${sets[1]}]`);
      }
    }
  }
  process.stdout.write(JSON.stringify({ events, pairs, differences, examples }) + '\n');
  process.exit(0);
}

const ref = arg('--ref');
const events = Number(arg('--events') ?? 60_000);
const only = arg('--only');
if (!ref || !existsSync(path.join(ref, 'dist', 'cli', 'main.js'))) {
  console.error('usage: tsx scripts/check-alerts.ts --ref <built reference checkout> [--events N] [--only CASE]');
  process.exit(2);
}
if (!existsSync(corpus)) {
  console.error(`${corpus} not found: nothing to check`);
  process.exit(2);
}

const dataDir = path.join(root, 'bench', 'data', 'check');
mkdirSync(dataDir, { recursive: true });
const agentFile = path.join(dataDir, `agent-${events}.ndjson`);
const mixedFiles = [0, 1].map((i) => path.join(dataDir, `mixed-${events}-${i}.ndjson`));
if (!existsSync(agentFile)) await writeGenerated({ events, hosts: 300, seed: 11, shapes: ['defend', 'agent'], out: agentFile });
for (const [i, f] of mixedFiles.entries()) {
  if (!existsSync(f)) await writeGenerated({ events: events >> 1, hosts: 150, seed: 20 + i, out: f });
}

interface Case {
  name: string;
  args: string[];
  /** Rules other than the whole corpus. */
  rules?: string;
}
// The bundled seed rule alone: every stage needs a literal, so lines are skipped unparsed.
const seedRules = path.join(root, 'rules');
const cases: Case[] = [
  { name: 'seed-agent', rules: seedRules, args: ['--threads', '0', agentFile] },
  { name: 'seed-mixed', rules: seedRules, args: ['--threads', '2', ...mixedFiles] },
  { name: 'agent', args: ['--threads', '0', agentFile] },
  // One file on two workers: read in parts (src/parallel/chunks.ts) when the build does so.
  { name: 'agent-parts', args: ['--threads', '2', agentFile] },
  // One worker and the main thread share the file in parts: the default on 2 cores.
  { name: 'agent-main-parts', args: ['--threads', '1', agentFile] },
  { name: 'mixed-threads', args: ['--threads', '2', ...mixedFiles] },
  { name: 'mixed-schedule', args: ['--threads', '2', '--schedule', ...mixedFiles] },
];
if (existsSync(evtxDir)) cases.push({ name: 'evtx', args: ['--threads', '0', evtxDir] });

interface Outcome {
  ids: string[];
  perRule: Record<string, number>;
}

function runHunt(checkout: string, c: Case): Outcome {
  const out = execFileSync(
    process.execPath,
    [path.join(checkout, 'dist', 'cli', 'main.js'), 'hunt', '-r', c.rules ?? corpus, '--format', 'ndjson', '--no-progress', ...c.args],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ids: string[] = [];
  const perRule: Record<string, number> = {};
  for (const line of out.split('\n')) {
    if (!line) continue;
    const a = JSON.parse(line) as Record<string, unknown>;
    ids.push(String(a['kibana.alert.uuid']));
    const rule = String(a['kibana.alert.rule.rule_id']);
    perRule[rule] = (perRule[rule] ?? 0) + 1;
  }
  ids.sort();
  return { ids, perRule };
}

/** The reference's commit; for a checkout that is not a git work tree (e.g. `git archive main | tar -x`), its build's time. */
function gitHead(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return `build${Math.round(statSync(path.join(dir, 'dist', 'cli', 'main.js')).mtimeMs)}`;
  }
}

const refHead = gitHead(ref);
let failed = false;
for (const c of cases) {
  if (only && c.name !== only) continue;
  const cacheFile = path.join(dataDir, `ref-${refHead.slice(0, 12)}-${c.name}-${events}.json`);
  let expected: Outcome;
  if (existsSync(cacheFile)) expected = JSON.parse(readFileSync(cacheFile, 'utf8')) as Outcome;
  else {
    expected = runHunt(ref, c);
    writeFileSync(cacheFile, JSON.stringify(expected));
  }
  const t0 = Date.now();
  const got = runHunt(root, c);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const want = new Set(expected.ids);
  const have = new Set(got.ids);
  const missing = expected.ids.filter((id) => !have.has(id));
  const extra = got.ids.filter((id) => !want.has(id));
  if (missing.length === 0 && extra.length === 0 && got.ids.length === expected.ids.length) {
    console.log(`${c.name.padEnd(15)} ok: ${got.ids.length} alerts from ${Object.keys(got.perRule).length} rules, identical ids (${secs} s)`);
    continue;
  }
  failed = true;
  console.log(`${c.name.padEnd(15)} DIFFERENT: ${expected.ids.length} alerts expected, ${got.ids.length} found; ${missing.length} missing, ${extra.length} extra`);
  const rules = new Set([...Object.keys(expected.perRule), ...Object.keys(got.perRule)]);
  for (const r of rules) {
    if ((expected.perRule[r] ?? 0) !== (got.perRule[r] ?? 0)) console.log(`  rule ${r}: ${expected.perRule[r] ?? 0} → ${got.perRule[r] ?? 0}`);
  }
}
// Routing: for every event of the Agent data set, the rules each build's router says need it
// (index, category, anchors, exceptions, then the rules' own term filters) must be the same set.
// Alerts above come from a few rules; this checks the conditions of all of them, event by event.
if (!only || only === 'routing') {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--route-worker', ref, agentFile], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { events: number; pairs: number; differences: number; examples: string[] };
  if (r.differences === 0) console.log(`${'routing'.padEnd(15)} ok: ${r.events} events, ${r.pairs} (event, rule) pairs routed, identical`);
  else {
    failed = true;
    console.log(`${'routing'.padEnd(15)} DIFFERENT for ${r.differences} events, e.g.\n  ${r.examples.join('\n  ')}`);
  }
}
process.exit(failed ? 1 : 0);
