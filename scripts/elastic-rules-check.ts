// `npm run rules-check` (run by .ci/run after npm test): installs Elastic's rule set from
// ../shared/corpus/elastic-rules/toml the way a user would (`eqlite rules update FOLDER`, into a
// temporary rules home), then checks that
//   1. the install verifies (content digest of the pinned commit, license kept) and every
//      production EQL rule loads and compiles (1,024 of them, none invalid);
//   2. `npm start`'s hunt over examples/ with the whole set raises alerts only on the planted
//      events of the seed rule's scenarios (labels.eqlite_scenario): the background is quiet;
//   3. the seed rule still fires on exactly its 9 planted positives.
// It uses the built CLI (dist/), as users do. Skipped when ../shared is absent.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const source = path.resolve(root, '../shared/corpus/elastic-rules/toml');
const flat = path.resolve(root, '../shared/corpus/elastic-rules/eql-rules.ndjson');
if (!existsSync(source)) {
  console.log('../shared/corpus/elastic-rules/toml not present: Elastic rule-set check skipped');
  process.exit(0);
}
const cli = path.join(root, 'dist/cli/main.js');
if (!existsSync(cli)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const home = mkdtempSync(path.join(os.tmpdir(), 'eqlite-rules-check-'));
const env = { ...process.env, EQLITE_RULES_HOME: home };
const problems: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) problems.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

try {
  // 1. install
  const started = Date.now();
  const upd = spawnSync(process.execPath, [cli, 'rules', 'update', source, '--json'], { cwd: root, env, encoding: 'utf8' });
  if (upd.status !== 0) {
    console.error(upd.stderr);
    throw new Error(`eqlite rules update ${source} failed with exit code ${upd.status}`);
  }
  const report = JSON.parse(upd.stdout) as {
    release: string;
    verifiedDigest: boolean;
    licenseFiles: string[];
    counts: { files: number; runnable: number; invalid: number; deprecated: number };
    invalid: unknown[];
  };
  console.log(`installed ${report.release} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const expectedEql = readFileSync(flat, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { deprecated: boolean })
    .filter((r) => !r.deprecated).length;
  check(report.verifiedDigest, `content digest is that of the pinned commit (${report.release})`);
  check(report.licenseFiles.includes('LICENSE.txt'), 'LICENSE.txt is kept with the rules');
  check(report.counts.files === 2192, `all rule files read (${report.counts.files} of 2192)`);
  check(report.counts.invalid === 0, `no rule fails to load or compile (${report.counts.invalid} invalid)`);
  check(report.counts.runnable === expectedEql, `every production EQL rule loads and compiles (${report.counts.runnable} of ${expectedEql})`);

  // 2–3. npm start's hunt with the installed set
  const start = spawnSync('npm', ['start', '--silent'], { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  check(start.status === 0, `npm start with the installed rule set exits 0 (exit ${start.status})`);
  check(/\nrule set: detection-rules-14cf530f /.test(start.stderr), 'npm start runs the installed rule set');
  const hunt = spawnSync(process.execPath, [cli, 'hunt', '--format', 'ndjson', '--no-progress', 'examples/'], { cwd: root, env, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (hunt.status !== 0) throw new Error(`hunt failed: ${hunt.stderr}`);
  console.log(hunt.stderr.split('\n').filter((l) => /^(hunt|rules|alerts):/.test(l)).join('\n'));
  const alerts = hunt.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const byRule = new Map<string, { planted: Set<string>; background: string[] }>();
  let seedSequences = 0;
  const seedPlanted = new Set<string>();
  for (const a of alerts) {
    // A sequence's shell holds only what its events share; its building blocks carry each event.
    const isShell = a['kibana.alert.group.id'] !== undefined && a['kibana.alert.group.index'] === undefined;
    const name = String(a['kibana.alert.rule.name']);
    if (name === 'Windows Script Interpreter Executing Process via WMI' && isShell) seedSequences++;
    if (isShell) continue;
    const labels = a['labels'] as { eqlite_scenario?: string } | undefined;
    const scenario = labels?.eqlite_scenario;
    let e = byRule.get(name);
    if (!e) byRule.set(name, (e = { planted: new Set(), background: [] }));
    if (scenario) {
      e.planted.add(scenario.replace(/-\d+$/, ''));
      if (name.startsWith('Windows Script Interpreter')) seedPlanted.add(scenario);
    } else {
      const p = (a['process'] ?? {}) as { name?: string; executable?: string; parent?: { name?: string } };
      e.background.push(`${String(a['@timestamp'] ?? '')} ${String((a['host'] as { name?: string })?.name ?? '')} ${p.executable ?? p.name ?? ''} (parent ${p.parent?.name ?? '-'})`);
    }
  }
  console.log('alerts by rule (planted scenarios they fired on):');
  for (const [name, e] of [...byRule].sort((x, y) => x[0].localeCompare(y[0]))) {
    console.log(`  ${name}: ${[...e.planted].sort().join(', ') || '-'}${e.background.length ? `; ${e.background.length} on background events` : ''}`);
    for (const b of e.background.slice(0, 5)) console.log(`      background: ${b}`);
  }
  const background = [...byRule.values()].reduce((n, e) => n + e.background.length, 0);
  check(background === 0, `no alert on background (unplanted) events (${background})`);
  check(seedSequences === 9, `the seed rule fires 9 sequences (${seedSequences})`);
  check([...seedPlanted].every((s) => s.startsWith('seed-positive-')) && seedPlanted.size === 9, `the seed rule fires on exactly the 9 planted positives (${[...seedPlanted].sort().join(', ')})`);
} finally {
  rmSync(home, { recursive: true, force: true });
}
if (problems.length > 0) {
  console.error(`\n${problems.length} check(s) failed`);
  process.exit(1);
}
console.log('\nElastic rule-set checks passed');
