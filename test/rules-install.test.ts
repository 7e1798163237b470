// `eqlite rules update`: installing detection-rules releases from a local HTTP server, archives and
// folders; verification failures leave the installed set untouched; the default rule set of
// hunt/validate follows the install.
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tar from 'tar';
import yazl from 'yazl';
import { installRules, InstallError, classifyMember, contentDigest, PINNED_RELEASE, type InstallReport } from '../src/rules/install.js';
import { currentRelease, loadRuleSet, rulesHome } from '../src/rules/home.js';
import { formatInstallReport, runRulesUpdate, runRulesRemove } from '../src/cli/rules.js';
import { runHunt } from '../src/cli/hunt.js';
import { runCommand } from './cli-helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'eqlite-install-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
const freshHome = () => path.join(tmp, `home-${++n}`);

function ruleToml(id: string, name: string, query: string, o: { maturity?: string; type?: string; language?: string; severity?: string } = {}): string {
  return [
    '[metadata]',
    'creation_date = "2024/01/01"',
    `maturity = "${o.maturity ?? 'production'}"`,
    'updated_date = "2024/01/01"',
    '',
    '[rule]',
    'author = ["Elastic"]',
    'description = "A test rule."',
    'index = ["logs-*"]',
    `language = "${o.language ?? 'eql'}"`,
    'license = "Elastic License v2"',
    `name = "${name}"`,
    'risk_score = 21',
    `rule_id = "${id}"`,
    `severity = "${o.severity ?? 'low'}"`,
    'tags = ["OS: Windows"]',
    `type = "${o.type ?? 'eql'}"`,
    "query = '''",
    query,
    "'''",
    '',
  ].join('\n');
}

const ID = (k: number) => `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`;

interface TreeSpec {
  top: string;
  files: Record<string, string>;
}

function writeTree(base: string, t: TreeSpec): string {
  const root = path.join(base, t.top);
  for (const [rel, text] of Object.entries(t.files)) {
    const f = path.join(root, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, text);
  }
  return root;
}

const V1: TreeSpec = {
  top: 'detection-rules-9.9.1',
  files: {
    'LICENSE.txt': 'Elastic License 2.0\n',
    'NOTICE.txt': 'Detection Rules\nCopyright Elasticsearch B.V.\n',
    'README.md': 'not a rule\n',
    'rules/windows/a.toml': ruleToml(ID(1), 'Rule A', 'process where process.name == "a.exe"'),
    'rules/windows/b.toml': ruleToml(ID(2), 'Rule B', 'process where process.name == "b.exe"'),
    'rules/windows/c.toml': ruleToml(ID(3), 'Rule C', 'sequence by host.id [process where true] [file where true]'),
    'rules/windows/kql.toml': ruleToml(ID(4), 'KQL rule', 'process.name: x', { type: 'query', language: 'kuery' }),
    'rules/_deprecated/old.toml': ruleToml(ID(5), 'Old rule', 'process where true', { maturity: 'deprecated' }),
    'rules_building_block/bb.toml': ruleToml(ID(6), 'BB rule', 'file where file.name : "x"'),
    // Not part of the rule set: a rules/ folder deeper in the repository.
    'tests/data/rules/ignored.toml': 'not even TOML',
  },
};

/** V1 with B changed, C removed and D added. */
const V2: TreeSpec = {
  top: 'detection-rules-9.9.2',
  files: {
    ...Object.fromEntries(Object.entries(V1.files).filter(([k]) => k !== 'rules/windows/c.toml')),
    'rules/windows/b.toml': ruleToml(ID(2), 'Rule B', 'process where process.name == "b2.exe"'),
    'rules/windows/d.toml': ruleToml(ID(7), 'Rule D', 'network where destination.port == 4444'),
  },
};

async function tarGz(t: TreeSpec, name: string): Promise<string> {
  const base = mkdtempSync(path.join(tmp, 'src-'));
  writeTree(base, t);
  const file = path.join(tmp, name);
  await tar.c({ gzip: true, file, cwd: base, portable: true }, [t.top]);
  return file;
}

async function zipOf(t: TreeSpec, name: string): Promise<string> {
  const z = new yazl.ZipFile();
  for (const [rel, text] of Object.entries(t.files)) z.addBuffer(Buffer.from(text), `${t.top}/${rel}`);
  const file = path.join(tmp, name);
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    z.outputStream.on('data', (c: Buffer) => chunks.push(c));
    z.outputStream.on('end', () => resolve());
    z.outputStream.on('error', reject);
    z.end();
  });
  writeFileSync(file, Buffer.concat(chunks));
  return file;
}

const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

let server: Server;
let base = '';
/** A URL nobody listens on: what a machine without network sees (connection refused). */
let dead = '';
const served = new Map<string, Buffer>();
beforeAll(async () => {
  served.set('/v1.tar.gz', readFileSync(await tarGz(V1, 'v1.tar.gz')));
  served.set('/v2.tar.gz', readFileSync(await tarGz(V2, 'v2.tar.gz')));
  served.set('/big.tar.gz', Buffer.alloc(1 << 20, 7));
  server = createServer((req, res) => {
    if (req.url === '/latest') {
      res.writeHead(302, { location: '/v2.tar.gz' });
      return res.end();
    }
    if (req.url === '/truncated.tar.gz') {
      const b = served.get('/v1.tar.gz')!;
      res.writeHead(200, { 'content-length': String(b.length) });
      res.write(b.subarray(0, 100));
      return res.destroy();
    }
    const body = served.get(req.url ?? '');
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  dead = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('rules update from a local HTTP server', () => {
  it('installs a release archive, keeps its license and notice, and reports every rule as added', async () => {
    const home = freshHome();
    const r = await installRules({ source: `${base}/v1.tar.gz`, home });
    expect(r.status).toBe('installed');
    expect(r.release).toBe('detection-rules-9.9.1');
    expect(r.previous).toBe(null);
    expect(r.sourceKind).toBe('url');
    expect(r.archiveSha256).toBe(createHash('sha256').update(served.get('/v1.tar.gz')!).digest('hex'));
    expect(r.verifiedDigest).toBe(false);
    expect(r.licenseFiles).toEqual(['LICENSE.txt', 'NOTICE.txt']);
    expect(r.counts).toEqual({
      files: 6,
      rules: 6,
      runnable: 4,
      by_type: { eql: 5, query: 1 },
      deprecated: 1,
      deprecated_by_type: { eql: 1 },
      not_production: 0,
      invalid: 0,
    });
    expect(r.added.map((x) => x.name)).toEqual(['BB rule', 'Rule A', 'Rule B', 'Rule C']);
    expect(r.changed).toEqual([]);
    expect(r.removed).toEqual([]);
    const dir = path.join(home, 'detection-rules-9.9.1');
    expect(readFileSync(path.join(home, 'current'), 'utf8')).toBe('detection-rules-9.9.1\n');
    expect(readFileSync(path.join(dir, 'LICENSE.txt'), 'utf8')).toBe('Elastic License 2.0\n');
    expect(existsSync(path.join(dir, 'NOTICE.txt'))).toBe(true);
    expect(existsSync(path.join(dir, 'README.md'))).toBe(false);
    expect(existsSync(path.join(dir, 'tests'))).toBe(false);
    expect(readFileSync(path.join(dir, 'rules/windows/a.toml'), 'utf8')).toBe(V1.files['rules/windows/a.toml']);

    // The default rule set is now the installed release: its production EQL rules only.
    const set = loadRuleSet(undefined, { home });
    expect(set.set.kind).toBe('installed');
    expect(set.rules.map((x) => x.name).sort()).toEqual(['BB rule', 'Rule A', 'Rule B', 'Rule C']);
    expect(set.set.notRun).toEqual({ byType: { query: 1 }, notProduction: 0 });
  });

  it('reports added, changed and removed rules against the previous install, follows redirects, and replaces it', async () => {
    const home = freshHome();
    await installRules({ source: `${base}/v1.tar.gz`, home });
    const r = await installRules({ source: `${base}/latest`, home });
    expect(r.release).toBe('detection-rules-9.9.2');
    expect(r.previous).toBe('detection-rules-9.9.1');
    expect(r.added.map((x) => [x.name, x.rule_id, x.file])).toEqual([['Rule D', ID(7), 'rules/windows/d.toml']]);
    expect(r.changed.map((x) => x.name)).toEqual(['Rule B']);
    expect(r.removed.map((x) => [x.name, x.rule_id])).toEqual([['Rule C', ID(3)]]);
    expect(currentRelease({ home })!.name).toBe('detection-rules-9.9.2');
    // The previous release is removed once the new one is current.
    expect(existsSync(path.join(home, 'detection-rules-9.9.1'))).toBe(false);
    // The same release again: nothing to do.
    const again = await installRules({ source: `${base}/v2.tar.gz`, home });
    expect(again.status).toBe('unchanged');
    expect([again.added.length, again.changed.length, again.removed.length]).toEqual([0, 0, 0]);
  });

  it('refuses a download that fails and keeps the installed set (no network, 404, truncated, wrong checksum)', async () => {
    const home = freshHome();
    await installRules({ source: `${base}/v1.tar.gz`, home });
    const failures: [string, Parameters<typeof installRules>[0], RegExp][] = [
      ['unreachable', { source: `${dead}/rules.tar.gz`, home }, /^cannot download http:\/\/127\.0\.0\.1:\d+\/rules\.tar\.gz: ECONNREFUSED connect ECONNREFUSED 127\.0\.0\.1:\d+$/],
      ['404', { source: `${base}/nothing.tar.gz`, home }, /: HTTP 404 Not Found$/],
      ['truncated', { source: `${base}/truncated.tar.gz`, home }, /^cannot download .*truncated\.tar\.gz: /],
      ['checksum', { source: `${base}/v2.tar.gz`, home, sha256: '0'.repeat(64) }, /^checksum mismatch for .*: expected sha256 0{64}, got [0-9a-f]{64}$/],
    ];
    for (const [what, opts, message] of failures) {
      const e = await installRules(opts).then(() => null, (x: unknown) => x);
      expect(e, what).toBeInstanceOf(InstallError);
      expect((e as Error).message, what).toMatch(message);
      expect(currentRelease({ home })!.name, what).toBe('detection-rules-9.9.1');
    }
    // Nothing is left behind: only the release and `current`.
    expect(readdir(home)).toEqual(['current', 'detection-rules-9.9.1']);
    // What an interrupted update leaves (its process is gone) is removed by the next one.
    mkdirSync(path.join(home, '.update-999999999-0badf00d/extract'), { recursive: true });
    await installRules({ source: `${base}/v1.tar.gz`, home });
    expect(readdir(home)).toEqual(['current', 'detection-rules-9.9.1']);
    // A rules home that cannot be written is one clear error.
    const blocked = path.join(tmp, 'a-file');
    writeFileSync(blocked, 'x');
    await expect(installRules({ source: `${base}/v1.tar.gz`, home: path.join(blocked, 'home') })).rejects.toThrow(
      `cannot write to the rules home ${path.join(blocked, 'home')}: ENOTDIR (set EQLITE_RULES_HOME or --rules-home to another folder)`,
    );
    // A damaged install is reported by the commands that need it, and repaired by an update.
    rmSync(path.join(home, 'detection-rules-9.9.1', 'manifest.json'));
    expect(() => loadRuleSet(undefined, { home })).toThrow(/the installed rule set .*detection-rules-9\.9\.1 is missing or damaged \(no readable manifest\.json\); run `eqlite rules update` to reinstall/);
    expect((await installRules({ source: `${base}/v1.tar.gz`, home })).previous).toBe(null);
    expect(currentRelease({ home })!.name).toMatch(/^detection-rules-9\.9\.1/);
    // The right checksum is accepted.
    const ok = await installRules({ source: `${base}/v2.tar.gz`, home, sha256: createHash('sha256').update(served.get('/v2.tar.gz')!).digest('hex') });
    expect(ok.release).toBe('detection-rules-9.9.2');
  });

  it('a download that cannot be written (full disk, file size limit) is one line and exit 1, not an unhandled error event', async () => {
    const home = freshHome();
    const main = path.join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
    const args = [process.execPath, '--import', 'tsx', main, 'rules', 'update', `${base}/big.tar.gz`, '--rules-home', home].map((a) => `'${a}'`).join(' ');
    // Under `ulimit -f 64` a write past 64 KiB fails with EFBIG, as writes fail on a full disk.
    const r = await runCommand('bash', ['-c', `ulimit -f 64; exec ${args}`]);
    expect(r.stderr).not.toMatch(/\n\s+at |Unhandled/);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([expect.stringMatching(/^error: cannot write .*\.update-[^/]+\/.+: file too large$/)]);
    expect(r.code).toBe(1);
    expect(existsSync(home) ? readdir(home) : []).toEqual([]);
  }, 60_000);

  it('the report counts each rule that does not run once: a deprecated rule of another type is among the deprecated only', () => {
    // elastic/detection-rules 14cf530f: 2,192 rules, 1,024 run; 124 deprecated, 67 of them not EQL.
    // Counted by type and again as deprecated, the line read "508 query, 245 new_terms, 212 esql,
    // 106 machine_learning, 31 threshold, 9 threat_match, 124 deprecated" (1,235 rules, not 1,168).
    const report = (counts: Partial<InstallReport['counts']>): string =>
      formatInstallReport({
        status: 'installed', release: 'r', dir: '/x/r', previous: null, source: '/src', sourceKind: 'directory', contentSha256: 'c', verifiedDigest: false, licenseFiles: ['LICENSE.txt'],
        counts: { files: 2192, rules: 2192, runnable: 1024, by_type: { eql: 1081, query: 508, new_terms: 245, esql: 212, machine_learning: 106, threshold: 31, threat_match: 9 }, deprecated: 124, not_production: 0, invalid: 0, ...counts },
        added: [], changed: [], removed: [], invalid: [],
      });
    const notRun = (text: string) => text.split('\n').find((l) => l.startsWith('  not run: '));
    expect(notRun(report({ deprecated_by_type: { eql: 57, query: 54, new_terms: 4, esql: 3, threshold: 3, threat_match: 3 } }))).toBe(
      '  not run: 454 query, 241 new_terms, 209 esql, 106 machine_learning, 28 threshold, 6 threat_match, 124 deprecated',
    );
    // A type whose every rule is deprecated is not listed with 0.
    expect(notRun(report({ by_type: { eql: 5, query: 2 }, deprecated: 3, deprecated_by_type: { eql: 1, query: 2 } }))).toBe('  not run: 3 deprecated');
    // A manifest written before deprecated_by_type was kept counts by type as it did.
    expect(notRun(report({ by_type: { eql: 5, query: 2 }, deprecated: 3 }))).toBe('  not run: 2 query, 3 deprecated');
  });

  it('the CLI prints the report, and after a failed update hunt still runs the installed rules', async () => {
    const home = freshHome();
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
    expect(await runRulesUpdate(`${base}/v1.tar.gz`, { rulesHome: home }, io)).toBe(0);
    const text = out.join('');
    expect(text).toContain(`installed detection-rules-9.9.1 in ${path.join(home, 'detection-rules-9.9.1')}\n`);
    expect(text).toContain('  runs by default: 4 production EQL rules\n');
    expect(text).toContain('  not run: 1 query, 1 deprecated\n');
    expect(text).toContain('  license: LICENSE.txt, NOTICE.txt (kept with the rules)\n');
    expect(text).toContain('changes since the bundled rule (nothing was installed): 4 added, 0 changed, 0 removed\n  + BB rule (00000000-0000-4000-8000-000000000006)\n');

    err.length = 0;
    expect(await runRulesUpdate(`${dead}/x.tar.gz`, { rulesHome: home }, io)).toBe(1);
    const port = dead.slice(dead.lastIndexOf(':') + 1);
    expect(err.join('')).toBe(
      `downloading ${dead}/x.tar.gz\nerror: cannot download ${dead}/x.tar.gz: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:${port}\n` +
        'the installed rule set detection-rules-9.9.1 is unchanged and stays in use\n',
    );

    // hunt without --rules runs the installed set.
    const events = path.join(tmp, 'a.ndjson');
    writeFileSync(events, JSON.stringify({ _index: 'logs-x', _id: 'e1', _source: { '@timestamp': '2025-01-01T00:00:00Z', event: { category: 'process' }, process: { name: 'a.exe' } } }) + '\n');
    const saved = process.env.EQLITE_RULES_HOME;
    process.env.EQLITE_RULES_HOME = home;
    try {
      let hout = '';
      let herr = '';
      const hio = { stdout: { write: (s: string) => ((hout += s), true) } as never, stderr: { write: (s: string) => ((herr += s), true) } as never };
      expect(await runHunt([events], { format: 'ndjson', progress: false }, hio)).toBe(0);
      expect(hout.trim().split('\n').map((l) => JSON.parse(l)['kibana.alert.rule.name'])).toEqual(['Rule A']);
      expect(herr).toContain('rules: 4 loaded, 4 run; 1 rule file entries not loaded\n  not loaded: 1 deprecated rules\n');
      expect(herr).toMatch(/\nrule set: detection-rules-9\.9\.1 \(installed \d{4}-\d\d-\d\d from http:\/\/127\.0\.0\.1:\d+\/v1\.tar\.gz; .*\)\n$/);
      // `rules remove` goes back to the bundled rule.
      expect(runRulesRemove({ rulesHome: home }, io)).toBe(0);
      expect(currentRelease({ home })).toBe(null);
      expect(loadRuleSet(undefined, { home }).set.kind).toBe('bundled');
    } finally {
      if (saved === undefined) delete process.env.EQLITE_RULES_HOME;
      else process.env.EQLITE_RULES_HOME = saved;
    }
  });
});

function readdir(d: string): string[] {
  return readdirSync(d).sort();
}

describe('rules update from archives and folders', () => {
  it('installs a .zip archive and a folder laid out like the repository, with the same content digest', async () => {
    const zip = await zipOf(V1, 'v1.zip');
    const h1 = freshHome();
    const z = await installRules({ source: zip, home: h1 });
    expect(z.sourceKind).toBe('archive');
    expect(z.archiveSha256).toBe(sha256(zip));
    expect(z.release).toBe('detection-rules-9.9.1');
    expect(z.counts.runnable).toBe(4);

    const folder = writeTree(mkdtempSync(path.join(tmp, 'folder-')), V1);
    const h2 = freshHome();
    const f = await installRules({ source: folder, home: h2 });
    expect(f.sourceKind).toBe('directory');
    expect(f.release).toBe(`local-${f.contentSha256.slice(0, 12)}`);
    expect(f.contentSha256).toBe(z.contentSha256);
    const tgz = await installRules({ source: path.join(tmp, 'v1.tar.gz'), home: freshHome() });
    expect(tgz.contentSha256).toBe(z.contentSha256);
    expect(contentDigest(path.join(h2, f.release)).digest).toBe(f.contentSha256);
    // A named release.
    const named = await installRules({ source: folder, home: freshHome(), release: 'my rules/v1' });
    expect(named.release).toBe('my-rules-v1');
  });

  it('refuses rules that do not load or compile, unless --allow-invalid', async () => {
    const bad: TreeSpec = {
      top: 'detection-rules-bad',
      files: {
        ...V1.files,
        'rules/windows/broken.toml': ruleToml(ID(8), 'Broken query', 'process where process.name = "x"'),
        'rules/windows/notoml.toml': 'this is [not TOML',
      },
    };
    const folder = writeTree(mkdtempSync(path.join(tmp, 'bad-')), bad);
    const home = freshHome();
    const e = (await installRules({ source: folder, home }).catch((x: unknown) => x)) as InstallError;
    expect(e).toBeInstanceOf(InstallError);
    expect(e.message).toBe(`2 rule(s) of ${folder} do not load or compile; nothing was installed (use --allow-invalid to install the others anyway)`);
    // Each at file:line:column, as validate names them: the TOML error where the parser stopped,
    // the query's problem where it is in the rule file.
    const broken = ruleToml(ID(8), 'Broken query', 'process where process.name = "x"').split('\n');
    const queryLine = broken.findIndex((l) => l.includes('process.name = "x"'));
    const column = broken[queryLine]!.indexOf('=') + 1;
    expect(e.details).toEqual([
      expect.stringMatching(/^rules\/windows\/notoml\.toml:1:6: TOML syntax error: /),
      expect.stringMatching(new RegExp(`^rules/windows/broken\\.toml:${queryLine + 1}:${column}: rule "Broken query" \\(00000000-0000-4000-8000-000000000008\\): query does not compile: .*\`=\` is not supported`)),
    ]);
    expect(currentRelease({ home })).toBe(null);
    const r = await installRules({ source: folder, home, allowInvalid: true });
    expect(r.counts.runnable).toBe(4);
    expect(r.invalid.map((x) => x.file)).toEqual(['rules/windows/notoml.toml:1:6', `rules/windows/broken.toml:${queryLine + 1}:${column}`]);
    expect(r.counts.invalid).toBe(2);
  });

  it('refuses a tree without a license, without rules, with links, or that is not an archive', async () => {
    const noLicense = writeTree(mkdtempSync(path.join(tmp, 'nolic-')), {
      top: 'x',
      files: Object.fromEntries(Object.entries(V1.files).filter(([k]) => !k.startsWith('LICENSE') && !k.startsWith('NOTICE'))),
    });
    await expect(installRules({ source: noLicense, home: freshHome() })).rejects.toThrow(
      `${noLicense} has no LICENSE file next to rules/; refusing to install rules whose license is unknown`,
    );
    const noRules = writeTree(mkdtempSync(path.join(tmp, 'norules-')), { top: 'x', files: { 'LICENSE.txt': 'x' } });
    await expect(installRules({ source: noRules, home: freshHome() })).rejects.toThrow(`${noRules} has no rules/ folder`);

    const linked = mkdtempSync(path.join(tmp, 'link-'));
    const root = writeTree(linked, V1);
    symlinkSync('/etc/hostname', path.join(root, 'rules/windows/link.toml'));
    const linkTar = path.join(tmp, 'link.tar.gz');
    await tar.c({ gzip: true, file: linkTar, cwd: linked }, [V1.top]);
    await expect(installRules({ source: linkTar, home: freshHome() })).rejects.toThrow(
      `${linkTar}: ${V1.top}/rules/windows/link.toml is a SymbolicLink, not a file; refusing the archive`,
    );
    // A folder source never follows a link out of the tree: the link is not copied.
    const fromFolder = await installRules({ source: root, home: freshHome() });
    expect(fromFolder.counts.files).toBe(6);

    const notArchive = path.join(tmp, 'rules.tar.gz');
    writeFileSync(notArchive, 'hello');
    await expect(installRules({ source: notArchive, home: freshHome() })).rejects.toThrow(`${notArchive} is not a .tar.gz, .tar or .zip archive`);
    await expect(installRules({ source: path.join(tmp, 'nope.zip'), home: freshHome() })).rejects.toThrow(`cannot read ${path.join(tmp, 'nope.zip')}: no such file or directory`);
  });

  it('takes only rule files and top-level license files from an archive, never paths outside it', () => {
    expect(classifyMember('detection-rules-1/rules/windows/a.toml')).toEqual({ prefix: 'detection-rules-1', rel: 'rules/windows/a.toml', tree: true });
    expect(classifyMember('rules/a.toml')).toEqual({ prefix: '', rel: 'rules/a.toml', tree: true });
    expect(classifyMember('detection-rules-1/LICENSE.txt')).toEqual({ prefix: 'detection-rules-1', rel: 'LICENSE.txt', tree: false });
    expect(classifyMember('detection-rules-1/rules/README.md')).toBe(null);
    expect(classifyMember('detection-rules-1/tests/rules/a.toml')).toBe(null);
    expect(classifyMember('detection-rules-1/../rules/a.toml')).toBe(null);
    expect(classifyMember('../rules/a.toml')).toBe(null);
    expect(classifyMember('detection-rules-1/docs/LICENSE.txt')).toBe(null);
  });

  it('knows the digest of the pinned release, and rules home honours the environment', () => {
    expect(PINNED_RELEASE.url).toBe(`https://github.com/elastic/detection-rules/archive/${PINNED_RELEASE.commit}.tar.gz`);
    expect(rulesHome({ env: { EQLITE_RULES_HOME: '/x/y' } })).toBe('/x/y');
    expect(rulesHome({ env: { XDG_DATA_HOME: '/data' } })).toBe('/data/eqlite/rules');
    expect(rulesHome({ env: {} })).toBe(path.join(os.homedir(), '.local/share/eqlite/rules'));
    expect(rulesHome({ home: 'rel', env: { EQLITE_RULES_HOME: '/x' } })).toBe(path.resolve('rel'));
  });

  const shared = path.resolve(__dirname, '../../shared/corpus/elastic-rules/toml');
  it.skipIf(!existsSync(shared))('recognises a copy of the pinned commit by its content digest', () => {
    expect(contentDigest(shared)).toMatchObject({ digest: PINNED_RELEASE.contentSha256, files: PINNED_RELEASE.ruleFiles });
  });
});
