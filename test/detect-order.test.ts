// Results depend only on the data: hunting a folder gives exactly the alerts of hunting each file
// on its own, and of hunting all events concatenated in any order — with the inputs sorted through
// temporary files when they are out of order beyond the reorder window, never skipped as late.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { runHunt } from '../src/cli/hunt.js';
import { repoRoot, runCli } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';
import { mulberry32 as rng } from './prng.js';

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);
const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const iso = (ms: number) => new Date(ms).toISOString();

interface Hit {
  _index: string;
  _id: string;
  _source: Record<string, unknown>;
}

/** One host's events over two hours, in time order: background processes, whoami runs and planted seed-rule pairs. */
function hostEvents(host: string, seed: number): Hit[] {
  const r = rng(seed);
  const hits: Hit[] = [];
  let n = 0;
  const base = (ms: number, category: string, extra: Record<string, unknown>): Hit => ({
    _index: 'winlogbeat-8.12.0',
    _id: `${host}-${String(++n).padStart(4, '0')}`,
    _source: {
      '@timestamp': iso(ms),
      agent: { type: 'winlogbeat', version: '8.12.0' },
      host: { id: host, name: host, os: { type: 'windows' } },
      event: { category: [category], type: ['start'], kind: 'event', action: category === 'library' ? 'load' : 'start' },
      user: { name: `user-${host}`, domain: 'CORP' },
      ...extra,
    },
  });
  const times: number[] = [];
  // Whole seconds: the hosts' events share timestamps, which the order must settle by _id.
  for (let i = 0; i < 1200; i++) times.push(T0 + Math.floor(r() * 7200) * 1000);
  times.sort((a, b) => a - b);
  for (const ms of times) {
    const pick = r();
    if (pick < 0.06) hits.push(base(ms, 'process', { process: { name: 'whoami.exe', parent: { name: 'cmd.exe' } } }));
    else if (pick < 0.1) {
      // The seed rule's two steps, 2 s apart.
      hits.push(base(ms, 'library', { dll: { name: 'wmiutils.dll' }, process: { name: 'wscript.exe' } }));
      hits.push(base(ms + 2000, 'process', { process: { name: 'cmd.exe', pe: { original_file_name: 'Cmd.Exe' }, parent: { name: 'wmiprvse.exe' }, executable: 'C:\\Windows\\System32\\cmd.exe' } }));
    } else hits.push(base(ms, 'process', { process: { name: ['svchost.exe', 'explorer.exe', 'chrome.exe'][Math.floor(r() * 3)], parent: { name: 'services.exe' } } }));
  }
  return hits.sort((a, b) => Date.parse(String(a._source['@timestamp'])) - Date.parse(String(b._source['@timestamp'])));
}

const root = tempDir('eqlite-order-');
const folder = path.join(root, 'hosts');
mkdirSync(folder);
const all: Hit[] = [];
HOSTS.forEach((h, i) => {
  const hits = hostEvents(h, 100 + i);
  all.push(...hits);
  writeFileSync(path.join(folder, `${h}.ndjson`), hits.map((x) => JSON.stringify(x)).join('\n') + '\n');
});
// Everything in one file, shuffled.
const r = rng(5);
const shuffled = [...all];
for (let i = shuffled.length - 1; i > 0; i--) {
  const j = Math.floor(r() * (i + 1));
  [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
}
const mixed = path.join(root, 'shuffled.ndjson');
writeFileSync(mixed, shuffled.map((x) => JSON.stringify(x)).join('\n') + '\n');

const rules = path.join(root, 'rules');
mkdirSync(rules);
writeFileSync(
  path.join(rules, 'whoami.json'),
  JSON.stringify({ rule_id: 'whoami', name: 'Whoami', type: 'eql', language: 'eql', index: ['winlogbeat-*'], query: 'process where process.name == "whoami.exe"', severity: 'low', risk_score: 21, description: 'whoami' }),
);
const seedRule = path.join(repoRoot, 'rules', 'windows');

/** `eqlite hunt … --format ndjson` in this process (the command's own code, without start-up time). */
async function hunt(inputs: string[], extra: { memory?: number } = {}) {
  let out = '';
  let err = '';
  const stdout = new Writable({ write(c, _e, cb) { out += String(c); cb(); } });
  const stderr = new Writable({ write(c, _e, cb) { err += String(c); cb(); } });
  const code = await runHunt(inputs, { rules: [seedRule, rules], format: 'ndjson', progress: false, ...extra }, { stdout, stderr });
  expect(code).toBe(0);
  const alerts = out.split('\n').filter(Boolean);
  return { alerts, sorted: [...alerts].sort(), stderr: err };
}

describe('results depend only on the data', () => {
  let byFolder: Awaited<ReturnType<typeof hunt>>;
  beforeAll(async () => {
    byFolder = await hunt([folder]);
  }, 120_000);

  it('a folder of interleaved files alerts as its files do one by one', async () => {
    expect(byFolder.stderr).not.toMatch(/late|sorted/);
    const oneByOne: string[] = [];
    for (const f of readdirSync(folder).sort()) oneByOne.push(...(await hunt([path.join(folder, f)])).alerts);
    oneByOne.sort();
    expect(oneByOne).toEqual(byFolder.sorted);
    const shells = byFolder.alerts.map((l) => JSON.parse(l) as Record<string, unknown>).filter((a) => a['kibana.alert.building_block_type'] === undefined);
    const names = shells.map((a) => a['kibana.alert.rule.name']);
    // Both rules alerted on every host.
    expect(new Set(names)).toEqual(new Set(['Whoami', 'Windows Script Interpreter Executing Process via WMI']));
    expect(new Set(shells.map((a) => (a.host as { id: string }).id))).toEqual(new Set(HOSTS));
    expect(byFolder.alerts.length).toBeGreaterThan(100);
  }, 120_000);

  it('all events concatenated and shuffled are sorted, not skipped, and give the same alerts', async () => {
    const mix = await hunt([mixed]);
    expect(mix.sorted).toEqual(byFolder.sorted);
    expect(mix.stderr).toMatch(/^inputs were sorted: input .*shuffled\.ndjson is not in time order beyond the reorder window \(\d+ events\): event \S+ at \S+ comes after \S+$/m);
    expect(mix.stderr).toContain(`  sorted ${all.length} events in memory (budget 512 MiB)`);
    expect(mix.stderr).not.toMatch(/skipped|late/);
  }, 120_000);

  it('a tiny memory budget sorts through temporary files, with the same alerts', async () => {
    const spill = await hunt([mixed], { memory: 64 * 1024 });
    expect(spill.sorted).toEqual(byFolder.sorted);
    const m = /^ {2}sorted (\d+) events through (\d+) temporary file\(s\), [\d.]+ (?:KiB|MiB) written \(memory budget 64 KiB, --memory\)$/m.exec(spill.stderr);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(all.length);
    expect(Number(m![2])).toBeGreaterThan(3);
  }, 120_000);

  it('stdin is read once and sorted just the same', async () => {
    const res = await runCli(['hunt', '--rules', seedRule, '--rules', rules, '--format', 'ndjson', '--no-progress', '--memory', '64K', '-'], {
      input: shuffled.map((x) => JSON.stringify(x)).join('\n') + '\n',
    });
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n').filter(Boolean).sort()).toEqual(byFolder.sorted);
    expect(res.stderr).toMatch(/^inputs were sorted: input <stdin> is not in time order/m);
  }, 120_000);
});
