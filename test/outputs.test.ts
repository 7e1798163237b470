// Issue 16, "every alert is written, once, or the user is told": outputs are checked before any
// input is read, a write error is one line and exit 2 (never a stack trace), a file never ends in
// a half line, a closed pipe ends `query`/`convert`/`hunt` quietly, a hunt interrupted (SIGINT,
// SIGTERM) or killed (SIGKILL) leaves --out and --db consistent and a rerun completes them
// without duplicates, two hunts into one --db wait for each other, and a schedule interval below
// Kibana's minimum is refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { formatAlertTable } from '../src/cli/hunt.js';
import { LineStream, NdjsonFile, OutputError } from '../src/cli/sinks.js';
import type { Alert } from '../src/detect/alerts.js';
import { hunt } from '../src/detect/hunt.js';
import { runValidate } from '../src/cli/validate.js';
import { loadRules } from '../src/rules/load.js';
import { openAlertStore } from '../src/store/sqlite.js';
import { evilRuleToml, repoRoot, runCli, runCommand } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';

const main = path.join(repoRoot, 'src', 'cli', 'main.ts');

/** Minute m holds one evil.exe start and 9 others; every evil.exe start is one alert. */
function eventLines(minutes: number, from = 0): string[] {
  const lines: string[] = [];
  for (let m = from; m < minutes; m++) {
    for (let i = 0; i < 10; i++) {
      const ts = new Date(Date.UTC(2025, 0, 1) + m * 60_000 + i * 1000).toISOString();
      lines.push(
        JSON.stringify({
          '@timestamp': ts,
          event: { category: ['process'], type: ['start'] },
          host: { id: 'h1', name: 'ws-1' },
          process: { name: i === 0 ? 'evil.exe' : 'ok.exe', pid: m * 10 + i, command_line: 'x'.repeat(200) },
        }),
      );
    }
  }
  return lines;
}

function setup(interval = '5m') {
  const dir = tempDir('eqlite-outputs-');
  const rules = path.join(dir, 'rule.toml');
  writeFileSync(rules, evilRuleToml(interval));
  const input = path.join(dir, 'events.ndjson');
  writeFileSync(input, eventLines(200).join('\n') + '\n');
  return { dir, rules, input };
}

function ids(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => String(JSON.parse(l)['kibana.alert.uuid']));
}

function dbIds(db: string): string[] {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare('SELECT id FROM alerts').all() as { id: string }[]).map((r) => r.id);
  } finally {
    d.close();
  }
}

/** Runs the CLI under `ulimit -f KB`: writes past it fail with EFBIG, as writes fail on a full disk. */
function underFileSizeLimit(kb: number, args: string[]) {
  const quoted = [process.execPath, '--import', 'tsx', main, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return runCommand('bash', ['-c', `ulimit -f ${kb}; exec ${quoted}`]);
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
}

async function until(what: string, cond: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function lineCount(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').length - 1;
}

function dbCount(db: string): number {
  if (!existsSync(db)) return 0;
  try {
    return dbIds(db).length;
  } catch {
    return 0; // not created yet
  }
}

describe('NdjsonFile', () => {
  it('writes FILE.partial and renames it to FILE at close; a missing directory fails at open', () => {
    const dir = tempDir('eqlite-outputs-');
    const file = path.join(dir, 'a.ndjson');
    writeFileSync(file, 'previous run\n');
    const f = NdjsonFile.open(file);
    f.write('{"a":1}');
    f.write('{"a":2}');
    // Until close, FILE is the previous run's and the new lines are in FILE.partial.
    expect(readFileSync(file, 'utf8')).toBe('previous run\n');
    expect(existsSync(`${file}.partial`)).toBe(true);
    expect(f.close()).toBe(null);
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    expect(existsSync(`${file}.partial`)).toBe(false);
    expect(f.lines).toBe(2);

    const missing = path.join(dir, 'no-such-dir', 'a.ndjson');
    expect(() => NdjsonFile.open(missing)).toThrow(OutputError);
    expect(() => NdjsonFile.open(missing)).toThrow(`cannot write ${missing}: directory ${path.dirname(missing)} does not exist`);
    expect(() => NdjsonFile.open(dir)).toThrow(`cannot write ${dir}: is a directory`);
  });

  it('abandon() removes the partial file and leaves FILE as it was', () => {
    const dir = tempDir('eqlite-outputs-');
    const file = path.join(dir, 'a.ndjson');
    writeFileSync(file, 'kept\n');
    const f = NdjsonFile.open(file);
    f.write('{"new":true}');
    f.abandon();
    expect(readFileSync(file, 'utf8')).toBe('kept\n');
    expect(existsSync(`${file}.partial`)).toBe(false);
  });
});

describe('back-pressure', () => {
  it('LineStream: drain() is a promise while the stream is full and resolves when it empties', async () => {
    const got: string[] = [];
    let release: (() => void) | null = null;
    // A reader that takes one chunk, then waits until released.
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk, _enc, cb) {
        got.push(String(chunk));
        release = cb;
      },
    });
    const out = new LineStream(slow);
    out.write('0123456789');
    out.write('0123456789');
    const full = out.drain();
    expect(full).toBeInstanceOf(Promise);
    let drained = false;
    void full!.then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    while (release) {
      const cb: () => void = release;
      release = null;
      cb();
      await new Promise((r) => setImmediate(r));
    }
    expect(drained).toBe(true);
    expect(out.drain()).toBe(null);
    expect(got.join('')).toBe('0123456789\n0123456789\n');
  });

  it('LineStream: a closed pipe (EPIPE), or a socket its reader closed (ECONNRESET), marks it closed and drops later lines; another error is an OutputError', async () => {
    const failing = (code: string) =>
      new Writable({
        write(_chunk, _enc, cb) {
          cb(Object.assign(new Error(code), { code }));
        },
      });
    const piped = new LineStream(failing('EPIPE'));
    piped.write('a');
    await new Promise((r) => setImmediate(r));
    expect(piped.closed).toBe(true);
    piped.write('b'); // dropped, no throw
    await piped.end();
    // stdout a socket pair (a parent Node process's pipe) whose reader closed with data unread.
    const reset = new LineStream(failing('ECONNRESET'));
    reset.write('a');
    await new Promise((r) => setImmediate(r));
    expect(reset.closed).toBe(true);
    reset.write('b');
    await reset.end();
    const full = new LineStream(failing('ENOSPC'), 'stdout');
    full.write('a');
    await new Promise((r) => setImmediate(r));
    expect(() => full.write('b')).toThrow(new OutputError('cannot write stdout: no space left on device'));
  });

  it('hunt() reads no further while the alert consumer is full', async () => {
    const { rules, input } = setup();
    let calls = 0;
    let open: (() => void) | null = null;
    const gate = new Promise<void>((r) => (open = r));
    const run = hunt({
      rules: loadRules([rules]).rules,
      inputs: [input],
      index: 'logs-x',
      threads: 0,
      collect: false,
      backpressure: () => {
        calls++;
        return calls === 1 ? gate : null;
      },
    });
    // The first batch is read, then the hunt waits on the consumer however long it takes.
    for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 10));
    expect(calls).toBe(1);
    open!();
    const { stats } = await run;
    expect(calls).toBeGreaterThan(1);
    expect(stats.events).toBe(2000);
    expect(stats.alerts).toBe(200);
  });
});

describe('outputs are checked before any input is read', () => {
  it('hunt --out into a missing directory: one line, exit 2, no input read', async () => {
    const { dir, rules } = setup();
    const out = path.join(dir, 'missing', 'alerts.ndjson');
    // The input does not exist either: the output error comes first, so no input was opened.
    const r = await runCli(['hunt', '--rules', rules, '--index', 'logs-x', '--out', out, path.join(dir, 'no-such-input.ndjson')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: cannot write ${out}: directory ${path.dirname(out)} does not exist\n`);
  });

  it('convert -o into a missing directory: one line, exit 2', async () => {
    const { dir, input } = setup();
    const out = path.join(dir, 'missing', 'ecs.ndjson');
    const r = await runCli(['convert', input, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: cannot write ${out}: directory ${path.dirname(out)} does not exist\n`);
  });
});

describe('special outputs and early errors', () => {
  it('hunt --out /dev/stdout writes the stream directly (no partial file, nothing renamed over it)', async () => {
    const { rules, input } = setup();
    // Through a shell pipe, as a user would (Node's own child pipes are sockets, which /dev/stdout cannot reopen).
    const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const cmd = [process.execPath, '--import', 'tsx', main, 'hunt', '--rules', rules, '--index', 'logs-x', '--out', '/dev/stdout', '--format', 'none', input].map(q).join(' ');
    const r = await runCommand('bash', ['-o', 'pipefail', '-c', `${cmd} | cat`]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(200);
    expect(new Set(lines.map((l) => JSON.parse(l)['kibana.alert.uuid'])).size).toBe(200);
    expect(existsSync('/dev/stdout.partial')).toBe(false);
  });

  it('an input error before any alert leaves the previous --out file as it was', async () => {
    const { dir, rules } = setup();
    const out = path.join(dir, 'alerts.ndjson');
    writeFileSync(out, '{"previous":true}\n');
    const missing = path.join(dir, 'missing.ndjson');
    const r = await runCli(['hunt', '--rules', rules, '--index', 'logs-x', '--out', out, '--format', 'none', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: cannot read ${missing}: no such file or directory\n`);
    expect(readFileSync(out, 'utf8')).toBe('{"previous":true}\n');
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});

describe('a failing write (full disk, file size limit) is one line, exit 2, and leaves whole lines', () => {
  it('hunt --out past the file size limit', async () => {
    const { dir, rules, input } = setup();
    const out = path.join(dir, 'alerts.ndjson');
    const r = await underFileSizeLimit(64, ['hunt', '--rules', rules, '--index', 'logs-x', '--out', out, '--format', 'none', input]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual([`error: cannot write ${out}: file too large`, `${lines[1]!.split(' ')[0]} whole alert line(s) kept in ${out}`]);
    const kept = ids(out); // parses every line; the file ends with a newline
    expect(kept.length).toBe(Number(lines[1]!.split(' ')[0]));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(200);
    expect(readFileSync(out).length).toBeLessThanOrEqual(64 * 1024);
  });

  it('convert -o past the file size limit', async () => {
    const { dir, input } = setup();
    const out = path.join(dir, 'ecs.ndjson');
    const r = await underFileSizeLimit(64, ['convert', input, '-o', out]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`error: cannot write ${out}: file too large`);
    expect(lines).toHaveLength(2);
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const docs = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines[1]).toBe(`${docs.length} whole line(s) kept in ${out}`);
    expect(docs[0].process.pid).toBe(0);
  });

  it('convert into a full stdout (/dev/full)', async () => {
    const { input } = setup();
    const fd = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', main, 'convert', input], { cwd: repoRoot, stdio: ['ignore', fd, 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const { code } = await exited(child);
      expect(code).toBe(2);
      expect(stderr).toBe('error: cannot write stdout: no space left on device\n');
    } finally {
      closeSync(fd);
    }
  });
});

describe('a closed pipe ends the command quietly', () => {
  for (const cmd of [
    ['query', 'process where true', '--size', '100000', '--result-position', 'head'],
    ['convert'],
    ['hunt', '--format', 'ndjson', '--index', 'logs-x', '--single-window', '--max-signals', '10000'],
  ]) {
    it(`${cmd[0]} … | head -1: exit 0, nothing on stderr`, async () => {
      const { rules, input } = setup();
      const args = cmd[0] === 'hunt' ? [...cmd, '--rules', rules, input] : [...cmd, input];
      const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      // Like `head -1`: read the first line, then close the pipe.
      await new Promise<void>((resolve) => {
        let got = '';
        child.stdout!.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.includes('\n')) {
            child.stdout!.destroy();
            resolve();
          }
        });
      });
      const { code } = await exited(child);
      expect(stderr).toBe('');
      expect(code).toBe(0);
    });
  }
});

describe('--format table and json with many alerts', () => {
  it('the table of 300,000 alerts is printed (column widths were found by spreading every row into Math.max: a stack overflow, exit 70)', () => {
    const alerts: Alert[] = [];
    for (let i = 0; i < 300_000; i++) {
      alerts.push({
        'kibana.alert.original_time': new Date(Date.UTC(2025, 0, 1) + (299_999 - i) * 1000).toISOString(),
        'kibana.alert.severity': 'high',
        'kibana.alert.risk_score': 73,
        'kibana.alert.rule.name': 'Mimikatz Process',
        'kibana.alert.reason': `process event with process mimikatz.exe ${'x'.repeat(i === 7 ? 500 : 10)}`,
        host: { name: `h${i % 50}` },
      } as unknown as Alert);
    }
    const lines = formatAlertTable(alerts).trimEnd().split('\n');
    expect(lines).toHaveLength(300_002);
    expect(lines[0]).toBe('original time             severity  risk  rule              host  user  reason');
    // Sorted by time; the long reason is cut at the column's 80 characters.
    expect(lines[2]!.startsWith('2025-01-01T00:00:00.000Z  high      73    Mimikatz Process  h49')).toBe(true);
    expect(lines.find((l) => l.includes('x'.repeat(30)))!.endsWith('…')).toBe(true);
  }, 60_000);

  it('json is one array streamed as alerts are found (not held to the end), still whole when interrupted', async () => {
    const { rules } = setup();
    const args = ['--import', 'tsx', main, 'hunt', '--rules', rules, '--index', 'logs-x', '--format', 'json', '--no-progress', '-'];
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = exited(child);
    // stdin stays open: alerts can only be on stdout if they are written as they are found.
    child.stdin!.write(eventLines(100).join('\n') + '\n');
    await until('alerts on stdout while the input is still open', () => stdout.split('"kibana.alert.uuid"').length > 2);
    child.kill('SIGINT');
    const { code } = await done;
    child.stdin!.destroy();
    expect(code).toBe(130);
    expect(stderr).toContain('interrupted (SIGINT) after ');
    const arr = JSON.parse(stdout) as Record<string, unknown>[];
    expect(arr.length).toBeGreaterThan(1);
    expect(stdout).toBe(JSON.stringify(arr, null, 2) + '\n');
    expect(new Set(arr.map((a) => a['kibana.alert.uuid'])).size).toBe(arr.length);
  }, 240_000);
});

describe('convert -o interrupted', () => {
  it('SIGINT while stdin is still open: FILE holds the converted documents, whole, the counts are printed, exit 130', async () => {
    const dir = tempDir('eqlite-outputs-');
    const out = path.join(dir, 'ecs.ndjson');
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'convert', '-', '-o', out], { cwd: repoRoot, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = exited(child);
    // The broken first line is reported as soon as it is read: then conversion is under way.
    child.stdin!.write('{broken\n' + eventLines(100).join('\n') + '\n');
    await until('conversion to start', () => stderr.includes('warning: '));
    child.kill('SIGINT');
    const { code } = await done;
    child.stdin!.destroy();
    expect(code).toBe(130);
    const converted = Number(/^converted (\d+) document\(s\)/m.exec(stderr)![1]);
    // The input being read counts when some of it was converted, and is named as read in part
    // (it said "from 0 input(s)").
    expect(stderr).toContain(
      converted > 0 ? `converted ${converted} document(s) from 1 input(s), the last (<stdin>) only in part; skipped 1\n` : 'converted 0 document(s) from 0 input(s); skipped 1\n',
    );
    expect(stderr).toContain(`interrupted (SIGINT): the documents converted until then were written to ${out}; rerun to convert everything`);
    expect(existsSync(`${out}.partial`)).toBe(false);
    const text = readFileSync(out, 'utf8');
    expect(text === '' || text.endsWith('\n')).toBe(true);
    const docs = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { process: { pid: number } });
    expect(docs).toHaveLength(converted);
    expect(docs.map((d) => d.process.pid)).toEqual(Array.from({ length: converted }, (_, i) => i));
  }, 120_000);
});

describe('hunt interrupted or killed mid-run: --out and --db stay consistent, a rerun completes them', () => {
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGKILL'] as const) {
    it(`${sig}`, async () => {
      const { dir, rules, input } = setup();
      const out = path.join(dir, 'alerts.ndjson');
      const db = path.join(dir, 'alerts.sqlite');
      const args = ['--import', 'tsx', main, 'hunt', '--rules', rules, '--index', 'logs-x', '--out', out, '--db', db, '--format', 'none', '-'];
      const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const done = exited(child);
      // The first 100 minutes go in; stdin stays open, so the hunt is mid-run whatever the load.
      child.stdin!.write(eventLines(100).join('\n') + '\n');
      await until('the first alerts in both outputs', () => lineCount(`${out}.partial`) > 0 && dbCount(db) > 0);
      child.kill(sig);
      const { code, signal } = await done;
      child.stdin!.destroy();
      if (sig === 'SIGKILL') {
        expect(signal).toBe('SIGKILL');
        // FILE was never renamed; the partial file holds whole lines up to its last newline.
        expect(existsSync(out)).toBe(false);
        const text = readFileSync(`${out}.partial`, 'utf8');
        const partialIds = text
          .slice(0, text.lastIndexOf('\n'))
          .split('\n')
          .map((l) => JSON.parse(l)['kibana.alert.uuid'] as string);
        for (const id of partialIds) expect(typeof id).toBe('string');
        expect(new Set(partialIds).size).toBe(partialIds.length);
        // Both outputs receive the same alerts in the same order and are flushed together (at most
        // 1,000 alerts or a second apart): whatever the kill interrupted, one holds a prefix of the
        // other's alerts — never an alert the other lacks on both sides.
        const fromDb = new Set(dbIds(db));
        const inDb = partialIds.filter((id) => fromDb.has(id)).length;
        expect(inDb === partialIds.length || inDb === fromDb.size).toBe(true);
        expect(partialIds.length + fromDb.size).toBeGreaterThan(0);
      } else {
        expect(code).toBe(sig === 'SIGTERM' ? 143 : 130);
        expect(stderr).toContain(`interrupted (${sig}) after `);
        expect(stderr).toContain('alerts: ');
        expect(stderr).not.toMatch(/\n\s+at /);
        expect(existsSync(`${out}.partial`)).toBe(false);
        const fromFile = ids(out);
        const fromDb = dbIds(db);
        expect(fromFile.length).toBeGreaterThan(0);
        expect(fromFile.length).toBeLessThan(200);
        expect(new Set(fromFile).size).toBe(fromFile.length);
        expect([...fromFile].sort()).toEqual([...fromDb].sort());
      }
      const before = new Set(dbIds(db));
      // The rerun over all the data completes both outputs: 200 alerts, each once.
      const again = await runCli(['hunt', '--rules', rules, '--index', 'logs-x', '--out', out, '--db', db, '--format', 'none', input]);
      expect(again.code).toBe(0);
      const all = ids(out);
      expect(all).toHaveLength(200);
      expect(new Set(all).size).toBe(200);
      const stored = dbIds(db);
      expect(stored).toHaveLength(200);
      expect([...stored].sort()).toEqual([...all].sort());
      for (const id of before) expect(all).toContain(id);
      expect(existsSync(`${out}.partial`)).toBe(false);
    }, 240_000);
  }
});

describe('two hunts into one --db', () => {
  it('the second waits for the lock, says so, and stores its alerts', async () => {
    const { dir, rules, input } = setup();
    const db = path.join(dir, 'alerts.sqlite');
    // Another writer (another hunt) holds the database's write lock while this hunt runs.
    openAlertStore(db).close();
    const holder = new Database(db);
    holder.exec('BEGIN IMMEDIATE');
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'hunt', '--rules', rules, '--index', 'logs-x', '--db', db, '--format', 'none', input], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = exited(child);
    try {
      await until('the hunt to wait for the lock', () => stderr.includes('waiting for its lock'));
    } finally {
      holder.exec('COMMIT');
      holder.close();
    }
    const { code } = await done;
    expect(code).toBe(0);
    expect(stderr).toContain(`warning: ${db} is being written by another process; waiting for its lock (up to 300 s)`);
    expect(dbIds(db)).toHaveLength(200);
  }, 240_000);
});

describe('eqlite serve: its log file', () => {
  it('in a missing directory: one line, exit 2, before the service starts (was an unhandled error event and a stack trace)', async () => {
    const dir = tempDir('eqlite-outputs-');
    const config = path.join(dir, 'serve.toml');
    writeFileSync(config, `listen = "127.0.0.1:0"\n[log]\nfile = "${path.join(dir, 'no-such-dir', 'eqlite.log')}"\n`);
    const r = await runCli(['serve', '--config', config, '--data', path.join(dir, 'data')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: cannot write the log file ${path.join(dir, 'no-such-dir', 'eqlite.log')}: no such file or directory\n`);
  }, 60_000);
});

describe('schedule interval', () => {
  it('below the 1m minimum is refused with a clear message', async () => {
    const { rules, input } = setup('1ms');
    const r = await runCli(['hunt', '--rules', rules, '--index', 'logs-x', '--format', 'none', input]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('rules: 1 loaded, 0 run, 1 skipped (1 eql)');
    expect(r.stderr).toContain(`  skipped 1: interval "1ms" is shorter than the minimum schedule interval 1m (Kibana's xpack.alerting.rules.minimumScheduleInterval); give the rule an interval of 1m or more`);
    expect(r.stderr).toContain('error: no runnable EQL rules were loaded');
  });

  it('when no rule can run, the inputs are not read: a stdin that never ends is not waited for', async () => {
    const { rules } = setup('10s');
    const tsx = (await import('node:module')).createRequire(import.meta.url).resolve('tsx');
    const child = spawn(process.execPath, ['--import', tsx, path.join(repoRoot, 'src/cli/main.ts'), 'hunt', '--rules', rules, '--format', 'none', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // stdin stays open (nothing written, never ended) until the command has exited by itself.
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin!.destroy();
    expect(code).toBe(2);
    expect(stderr).toContain('hunt: 0 events from 0 input(s)');
    expect(stderr).toContain('error: no runnable EQL rules were loaded');
  }, 60_000);

  it('validate reports it as an error', () => {
    const { rules } = setup('30s');
    let out = '';
    expect(runValidate([rules], { format: 'text' }, (s) => (out += s), () => {})).toBe(1);
    expect(out).toContain(
      `${rules}:6: error: interval "30s" is shorter than the minimum schedule interval 1m (Kibana's xpack.alerting.rules.minimumScheduleInterval); give the rule an interval of 1m or more [schedule]`,
    );
    expect(out).toContain('errors: 1 schedule');
  });
});
