// What files are read (issue 14: only regular files from folders, FIFOs stream when named; issue
// 16: UTF-16 input, unreadable subdirectories, symlink loops in rule folders). Anything that could
// block runs the CLI as a child process with a timeout, so a regression fails instead of hanging.
import { execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { chmodSync, copyFileSync, createWriteStream, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { expandInputs, readEvents } from '../src/events/sources.js';
import { loadValueLists } from '../src/rules/exceptions.js';
import { loadRules } from '../src/rules/load.js';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v } from './evtx-build.js';
import { tempDir } from './detect-helpers.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const sample = path.join(repoRoot, 'examples', 'windows-sample.ndjson');
const seedRule = path.join(repoRoot, 'rules', 'windows', 'initial_access_scripts_process_started_via_wmi.toml');
const isRoot = process.getuid?.() === 0;

/** A world-readable temporary directory (the CLI may run as `nobody`, see asUser). */
function openDir(): string {
  const d = tempDir('eqlite-files-');
  chmodSync(d, 0o755);
  return d;
}

/** Root reads every directory: to test an unreadable one, the CLI runs as nobody. */
const asUser: SpawnOptions = isRoot ? { uid: 65534, gid: 65534 } : {};

/** Runs the CLI asynchronously (a blocking spawn keeps vitest's worker from answering its RPC under load). */
function cli(args: string[], opts: SpawnOptions = {}): Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), ...args], {
      cwd: repoRoot,
      timeout: 60_000,
      ...opts,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

function mkfifo(p: string): string {
  execFileSync('mkfifo', ['-m', '0666', p]);
  return p;
}

describe('inputs: folders hold regular files only', () => {
  it('a FIFO, a socket, a broken link and an unreadable subdirectory are reported and skipped; the rest is hunted', async () => {
    const d = openDir();
    copyFileSync(sample, path.join(d, 'a.ndjson'));
    mkfifo(path.join(d, 'pipe.ndjson'));
    const server = createServer();
    await new Promise<void>((r) => server.listen(path.join(d, 'sock.ndjson'), r));
    symlinkSync(path.join(d, 'nowhere.ndjson'), path.join(d, 'broken.ndjson'));
    symlinkSync('.', path.join(d, 'self'));
    mkdirSync(path.join(d, 'locked'));
    writeFileSync(path.join(d, 'locked', 'hidden.ndjson'), readFileSync(sample));
    chmodSync(path.join(d, 'locked'), 0o000);
    try {
      const r = await cli(['hunt', d, '--format', 'none', '--no-progress'], asUser);
      expect(r.signal).toBe(null);
      expect(r.status).toBe(0);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
        `warning: skipped ${d}/broken.ndjson: broken symbolic link`,
        `warning: cannot read directory ${d}/locked: permission denied; skipped`,
        `warning: skipped ${d}/pipe.ndjson: a FIFO (named pipe); only regular files are read from directories (name it on the command line to stream it)`,
        `warning: skipped ${d}/sock.ndjson: a socket; only regular files are read from directories (name it on the command line to stream it)`,
      ]);
      expect(r.stderr).toMatch(/^hunt: 1800 events from 1 input\(s\)/m);
      expect(r.stderr).toMatch(/^alerts: 27$/m);
    } finally {
      server.close();
      chmodSync(path.join(d, 'locked'), 0o755);
    }
  }, 60_000);

  it('the library reports the same through expandInputs({ onWarning })', async () => {
    const d = openDir();
    copyFileSync(sample, path.join(d, 'a.ndjson'));
    mkfifo(path.join(d, 'p.json'));
    mkdirSync(path.join(d, 'sub'));
    symlinkSync('..', path.join(d, 'sub', 'up'));
    const warnings: string[] = [];
    const files = await expandInputs([d], { onWarning: (m) => warnings.push(m) });
    expect(files).toEqual([{ path: path.join(d, 'a.ndjson'), kind: 'json' }]);
    expect(warnings).toEqual([`skipped ${d}/p.json: a FIFO (named pipe); only regular files are read from directories (name it on the command line to stream it)`]);
  });

  it('a FIFO named on the command line is streamed (NDJSON)', async () => {
    const d = openDir();
    const fifo = mkfifo(path.join(d, 'live.ndjson'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), 'hunt', fifo, '--format', 'none', '--no-progress'], { cwd: repoRoot });
    let err = '';
    child.stderr.on('data', (c) => (err += String(c)));
    const w = createWriteStream(fifo);
    w.end(readFileSync(sample));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(err).toMatch(/^hunt: 1800 events from 1 input\(s\)/m);
    expect(err).toMatch(/^alerts: 27$/m);
  }, 60_000);

  it('a FIFO named on the command line is read as EVTX too (copied to a temporary file first)', async () => {
    const w = new ChunkWriter();
    for (let id = 1; id <= 5; id++) {
      const ft = 132_000_000_000_000_000n + BigInt(id) * 10_000_000n;
      w.record(id, ft, (w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        w.templateInstance('e', EVENT_TEMPLATE, [v.str('P'), v.null(), v.u16(1), v.u64(ft, 0x11), v.u64(BigInt(id)), v.null(), v.str('C'), v.str('H'), v.null()]);
        w.u8(0x00);
      });
    }
    const d = openDir();
    const fifo = mkfifo(path.join(d, 'live.evtx'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), 'query', 'any where true', fifo], { cwd: repoRoot });
    let out = '';
    child.stdout.on('data', (c) => (out += String(c)));
    createWriteStream(fifo).end(buildFile([w.finish()]));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(out.trim().split('\n').map((l) => (JSON.parse(l) as { winlog: { record_id: string } }).winlog.record_id)).toEqual(['1', '2', '3', '4', '5']);
  }, 60_000);
});

describe('rule folders', () => {
  it('a FIFO is reported, a symlink loop loads each rule once, an unreadable subdirectory is reported (no hang)', async () => {
    const d = openDir();
    copyFileSync(seedRule, path.join(d, 'seed.toml'));
    mkfifo(path.join(d, 'pipe.toml'));
    mkdirSync(path.join(d, 'sub'));
    chmodSync(path.join(d, 'sub'), 0o755);
    symlinkSync('..', path.join(d, 'sub', 'loop'));
    symlinkSync(path.join(d, 'seed.toml'), path.join(d, 'sub', 'again.toml'));
    mkdirSync(path.join(d, 'locked'));
    chmodSync(path.join(d, 'locked'), 0o000);
    try {
      const r = await cli(['validate', d, '--format', 'json'], asUser);
      expect(r.signal).toBe(null);
      const report = JSON.parse(r.stdout) as { checked: number; findings: { file: string; message: string }[] };
      expect(report.checked).toBe(1);
      expect(report.findings.map((f) => [f.file, f.message])).toEqual([
        [`${d}/locked`, 'cannot read directory: permission denied; skipped'],
        [`${d}/pipe.toml`, 'a FIFO (named pipe), not a regular file; only regular files are read from rule directories'],
      ]);
    } finally {
      chmodSync(path.join(d, 'locked'), 0o755);
    }
    const loaded = loadRules([d, d, path.join(d, 'seed.toml')]);
    expect(loaded.rules).toHaveLength(1);
    expect(loaded.skipped.map((s) => s.reason)).toEqual(['a FIFO (named pipe), not a regular file; only regular files are read from rule directories']);
  }, 60_000);
});

describe('text encodings', () => {
  const text = readFileSync(sample, 'utf8');
  const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();
  const variants: [string, Buffer][] = [
    ['utf16le-bom.ndjson', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
    ['utf16be-bom.ndjson', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text)])],
    ['utf16le.ndjson', Buffer.from(text, 'utf16le')],
    ['utf16be.ndjson', utf16be(text)],
    ['utf16le-bom.ndjson.gz', gzipSync(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))],
  ];

  it.each(variants)('%s is decoded: the same events as UTF-8', async (name, bytes) => {
    const d = tempDir('eqlite-enc-');
    const p = path.join(d, name);
    writeFileSync(p, bytes);
    const skipped: string[] = [];
    const got = [];
    for await (const ev of readEvents(p, { onSkip: (s) => skipped.push(s.reason) })) got.push(ev.source);
    const want = [];
    for await (const ev of readEvents(sample)) want.push(ev.source);
    expect(skipped).toEqual([]);
    expect(got).toEqual(want);
  });

  it('UTF-32 is refused with one skipped item naming the encoding; other inputs are hunted', async () => {
    const d = tempDir('eqlite-enc-');
    const p = path.join(d, 'u32.ndjson');
    const le = Buffer.alloc(text.length * 4);
    for (let i = 0; i < 1000; i++) le.writeUInt32LE(text.charCodeAt(i), i * 4);
    writeFileSync(p, Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), le.subarray(0, 4000)]));
    const skipped: { file: string; reason: string }[] = [];
    const r = await hunt({ rules: loadRules([seedRule]).rules, inputs: [p, sample], threads: 0, onSkip: (s) => skipped.push({ file: s.position.file, reason: s.reason }) });
    expect(skipped).toEqual([{ file: p, reason: 'UTF-32 little-endian text (byte order mark FF FE 00 00) is not supported; convert it to UTF-8; file skipped' }]);
    expect(r.stats.events).toBe(1800);
  });

  it('rule files and value lists in UTF-16 load', () => {
    const d = tempDir('eqlite-enc-');
    writeFileSync(path.join(d, 'seed.toml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(readFileSync(seedRule, 'utf8'), 'utf16le')]));
    const loaded = loadRules([d]);
    expect(loaded.skipped).toEqual([]);
    expect(loaded.rules.map((r) => r.name)).toEqual(['Windows Script Interpreter Executing Process via WMI']);
    const list = path.join(d, 'hosts.txt');
    writeFileSync(list, Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be('ws-1\r\nws-2\r\n')]));
    expect([...loadValueLists([list]).get('hosts')!]).toEqual(['ws-1', 'ws-2']);
  });
});
