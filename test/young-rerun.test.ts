// A hunt over large files re-runs itself in a child whose main isolate has 32 MB semi-spaces
// (src/cli/young-rerun.ts): when it does, the signals the parent forwards and the exit statuses,
// and that the child's output is the only output.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Presses } from '../src/cli/interrupt.js';
import {
  CHILD_ENV,
  DEFAULT_MIN_INPUT_BYTES,
  DEFAULT_YOUNG_SEMI_SPACE_MB,
  inputBytes,
  MIN_INPUT_ENV,
  youngGenerationDecision,
  YOUNG_ENV,
} from '../src/cli/young-rerun.js';
import { evilRuleToml, repoRoot, runCli } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';

const MB = 1024 * 1024;

/** The decision for inputs of `bytes`, and the `enough` each call of the size function was given. */
function decide(bytes: number, env: NodeJS.ProcessEnv = {}, execArgv: string[] = []) {
  const asked: number[] = [];
  const decision = youngGenerationDecision(env, execArgv, (enough) => {
    asked.push(enough);
    return bytes;
  });
  return { decision, asked };
}

describe('youngGenerationDecision', () => {
  it('re-runs with 32 MB semi-spaces from 128 MiB of input, not below', () => {
    expect(DEFAULT_YOUNG_SEMI_SPACE_MB).toBe(32);
    expect(DEFAULT_MIN_INPUT_BYTES).toBe(128 * MB);
    expect(decide(128 * MB)).toEqual({ decision: { rerun: true, semiSpaceMb: 32 }, asked: [128 * MB] });
    expect(decide(2_700_000_000).decision).toEqual({ rerun: true, semiSpaceMb: 32 });
    expect(decide(128 * MB - 1).decision).toEqual({ rerun: false, reason: `inputs of ${128 * MB - 1} bytes, fewer than ${128 * MB}` });
    // The start-up bench's one-event file.
    expect(decide(1_500).decision.rerun).toBe(false);
  });

  it('EQLITE_YOUNG_GENERATION: off or 0 turns it off (the inputs are not even looked at); N MB; anything else is refused', () => {
    expect(decide(1e10, { [YOUNG_ENV]: 'off' })).toEqual({ decision: { rerun: false, reason: 'EQLITE_YOUNG_GENERATION=off' }, asked: [] });
    expect(decide(1e10, { [YOUNG_ENV]: '0' })).toEqual({ decision: { rerun: false, reason: 'EQLITE_YOUNG_GENERATION=0' }, asked: [] });
    expect(decide(1e10, { [YOUNG_ENV]: '64' }).decision).toEqual({ rerun: true, semiSpaceMb: 64 });
    expect(decide(1e10, { [YOUNG_ENV]: ' 8 ' }).decision).toEqual({ rerun: true, semiSpaceMb: 8 });
    expect(decide(1e10, { [YOUNG_ENV]: '' }).decision).toEqual({ rerun: true, semiSpaceMb: 32 });
    for (const bad of ['257', 'abc', '-1', '1.5', '32M', 'on']) {
      expect(() => decide(1e10, { [YOUNG_ENV]: bad })).toThrow(`EQLITE_YOUNG_GENERATION: expected off or a semi-space size in MB from 1 to 256; got ${JSON.stringify(bad)}`);
    }
  });

  it('EQLITE_YOUNG_GENERATION_MIN_INPUT sets the threshold (0: every hunt)', () => {
    expect(decide(0, { [MIN_INPUT_ENV]: '0' })).toEqual({ decision: { rerun: true, semiSpaceMb: 32 }, asked: [0] });
    expect(decide(MB, { [MIN_INPUT_ENV]: '1G' })).toEqual({ decision: { rerun: false, reason: `inputs of ${MB} bytes, fewer than ${1024 * MB}` }, asked: [1024 * MB] });
    expect(decide(MB, { [MIN_INPUT_ENV]: '1M' }).decision.rerun).toBe(true);
    expect(() => decide(MB, { [MIN_INPUT_ENV]: 'big' })).toThrow('EQLITE_YOUNG_GENERATION_MIN_INPUT: expected a size such as 128M or 1G, or 0; got "big"');
  });

  it('leaves a process started with a young-generation flag as it is, and never re-runs the child', () => {
    const started = (flag: string) => ({ decision: { rerun: false, reason: `started with ${flag}` }, asked: [] });
    expect(decide(1e10, {}, ['--max-semi-space-size=16'])).toEqual(started('--max-semi-space-size'));
    expect(decide(1e10, {}, ['--max_semi_space_size', '8'])).toEqual(started('--max-semi-space-size'));
    expect(decide(1e10, {}, ['--min-semi-space-size=4'])).toEqual(started('--min-semi-space-size'));
    expect(decide(1e10, { NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=64' })).toEqual(started('--max-semi-space-size'));
    expect(decide(1e10, { NODE_OPTIONS: '--semi-space-growth-factor=4' })).toEqual(started('--semi-space-growth-factor'));
    // Read as Node reads NODE_OPTIONS (util/young-generation.ts): a quoted flag counts; the last one is named.
    expect(decide(1e10, { NODE_OPTIONS: '"--max_semi_space_size=8"' }, ['--min-semi-space-size=1'])).toEqual(started('--min-semi-space-size'));
    // Other flags do not count.
    expect(decide(1e10, { NODE_OPTIONS: '--max-old-space-size=4096' }, ['--enable-source-maps']).decision).toEqual({ rerun: true, semiSpaceMb: 32 });
    expect(decide(1e10, { [CHILD_ENV]: '1' })).toEqual({ decision: { rerun: false, reason: 'this is the re-run child' }, asked: [] });
  });
});

describe('inputBytes', () => {
  it('adds up regular files, named or below directories, until enough; stdin and missing paths count nothing', () => {
    const dir = tempDir('eqlite-young-');
    writeFileSync(path.join(dir, 'a.ndjson'), 'x'.repeat(1000));
    mkdirSync(path.join(dir, 'logs', 'deep'), { recursive: true });
    writeFileSync(path.join(dir, 'logs', 'b.ndjson'), 'x'.repeat(300));
    writeFileSync(path.join(dir, 'logs', 'deep', 'c.ndjson'), 'x'.repeat(700));
    const a = path.join(dir, 'a.ndjson');
    const logs = path.join(dir, 'logs');
    expect(inputBytes([a], Infinity)).toBe(1000);
    expect(inputBytes([logs], Infinity)).toBe(1000);
    expect(inputBytes([a, logs, '-', path.join(dir, 'missing')], Infinity)).toBe(2000);
    // Counting stops once enough is found: the directory is not walked.
    expect(inputBytes([a, logs], 1000)).toBe(1000);
    expect(inputBytes(['-'], 0)).toBe(0);
  });
});

describe('Presses', () => {
  it('a signal that came by both paths (Ctrl-C to the process group) is one press', () => {
    const p = new Presses();
    expect(p.add(false)).toBe(1);
    expect(p.add(true)).toBe(0);
    expect(p.add(true)).toBe(2);
    expect(p.add(false)).toBe(0);
    const q = new Presses();
    expect(q.add(true)).toBe(1);
    expect(q.add(false)).toBe(0);
  });

  it('signals by one path only (a kill of either process) are each a press', () => {
    const p = new Presses();
    expect(p.add(true)).toBe(1);
    expect(p.add(true)).toBe(2);
    const q = new Presses();
    expect(q.add(false)).toBe(1);
    expect(q.add(false)).toBe(2);
  });
});

/** Minute m holds one evil.exe start and 9 others: one alert a minute. */
function eventLines(minutes: number): string {
  const lines: string[] = [];
  for (let m = 0; m < minutes; m++) {
    for (let i = 0; i < 10; i++) {
      const ts = new Date(Date.UTC(2025, 0, 1) + m * 60_000 + i * 1000).toISOString();
      lines.push(JSON.stringify({ '@timestamp': ts, event: { category: ['process'], type: ['start'] }, host: { id: 'h1', name: 'ws-1' }, process: { name: i === 0 ? 'evil.exe' : 'ok.exe', pid: m * 10 + i } }));
    }
  }
  return lines.join('\n') + '\n';
}

function setup() {
  const dir = tempDir('eqlite-young-');
  const rules = path.join(dir, 'rule.toml');
  writeFileSync(rules, evilRuleToml());
  const input = path.join(dir, 'events.ndjson');
  writeFileSync(input, eventLines(60));
  return { dir, rules, input };
}

const RERUN = 'startup: young generation: re-running in a child with --max-semi-space-size=';
const CHILD = /^startup: young generation: re-run child \(pid (\d+)\), execArgv (.*) \d+ ms CPU/m;

/** The lines of `text` that start with `head`. */
const linesStarting = (text: string, head: string) => text.split('\n').filter((l) => l.startsWith(head));

describe('eqlite hunt over large enough inputs', () => {
  it('runs in a child started with the flag; stdout and the summary are written once, as without it', async () => {
    const { rules, input } = setup();
    const args = ['hunt', '--rules', rules, '--index', 'logs-x', '--format', 'ndjson', '--no-progress', input];
    const trace = { EQLITE_TRACE_STARTUP: 'phases' };
    const [child, off, small] = await Promise.all([
      runCli(args, { env: { ...trace, [MIN_INPUT_ENV]: '0' } }),
      runCli(args, { env: { ...trace, [MIN_INPUT_ENV]: '0', [YOUNG_ENV]: 'off' } }),
      runCli(args, { env: trace }),
    ]);
    expect([child.code, off.code, small.code]).toEqual([0, 0, 0]);
    expect(linesStarting(child.stderr, RERUN)).toHaveLength(1);
    expect(linesStarting(child.stderr, RERUN)[0]!.startsWith(`${RERUN}32 `)).toBe(true);
    const m = CHILD.exec(child.stderr)!;
    expect(JSON.parse(m[2]!)[0]).toBe('--max-semi-space-size=32');
    expect(Number(m[1])).not.toBe(0);
    expect(linesStarting(child.stderr, 'startup: young generation: re-run child')).toHaveLength(1);
    // Each process traces its own start; the hunt's steps are the child's alone.
    expect(linesStarting(child.stderr, 'startup: main module loaded')).toHaveLength(2);
    expect(linesStarting(child.stderr, 'startup: hunt started')).toHaveLength(1);
    expect(linesStarting(child.stderr, 'hunt: 600 events from 1 input(s)')).toHaveLength(1);
    // The same alerts, once, in the same order.
    const alerts = child.stdout.split('\n').filter(Boolean);
    expect(alerts).toHaveLength(60);
    expect(child.stdout).toBe(off.stdout);
    expect(child.stdout).toBe(small.stdout);
    // Turned off, or below the threshold: no child.
    for (const r of [off, small]) {
      expect(r.stderr).not.toContain('young generation');
      expect(linesStarting(r.stderr, 'startup: main module loaded')).toHaveLength(1);
    }
  }, 120_000);

  it('EQLITE_YOUNG_GENERATION=N gives the child N MB semi-spaces', async () => {
    const { rules, input } = setup();
    const r = await runCli(['hunt', '--rules', rules, '--index', 'logs-x', '--format', 'none', '--no-progress', input], {
      env: { EQLITE_TRACE_STARTUP: 'phases', [MIN_INPUT_ENV]: '0', [YOUNG_ENV]: '8' },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(CHILD.exec(r.stderr)![2]!)[0]).toBe('--max-semi-space-size=8');
  }, 120_000);

  it("the child's exit code is the command's: a failing hunt's 2, once; a malformed variable is refused in the parent", async () => {
    const { rules, input, dir } = setup();
    const env = { EQLITE_TRACE_STARTUP: 'phases', [MIN_INPUT_ENV]: '0' };
    const [missingInput, missingRules, badEnv] = await Promise.all([
      runCli(['hunt', '--rules', rules, '--no-progress', path.join(dir, 'none.ndjson')], { env }),
      runCli(['hunt', '--rules', path.join(dir, 'none.toml'), '--no-progress', input], { env }),
      runCli(['hunt', '--rules', rules, '--no-progress', input], { env: { ...env, [YOUNG_ENV]: 'lots' } }),
    ]);
    expect(missingInput.code).toBe(2);
    expect(linesStarting(missingInput.stderr, 'error: ')).toEqual([`error: cannot read ${path.join(dir, 'none.ndjson')}: no such file or directory`]);
    expect(missingInput.stderr).toContain(RERUN);
    expect(missingRules.code).toBe(2);
    expect(linesStarting(missingRules.stderr, 'error: ')).toEqual([`error: cannot read rules ${path.join(dir, 'none.toml')}: no such file or directory`]);
    expect(missingRules.stderr).toContain(RERUN);
    expect(badEnv.code).toBe(2);
    expect(linesStarting(badEnv.stderr, 'error: ')).toEqual(['error: EQLITE_YOUNG_GENERATION: expected off or a semi-space size in MB from 1 to 256; got "lots"']);
    expect(badEnv.stderr).not.toContain(RERUN);
  }, 120_000);
});

interface Running {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A hunt of stdin, kept open (so the hunt is mid-run whatever the load), re-run in a child. */
function huntStdin(rules: string): Running {
  const main = path.join(repoRoot, 'src', 'cli', 'main.ts');
  const args = ['--import', 'tsx', main, 'hunt', '--rules', rules, '--index', 'logs-x', '--format', 'ndjson', '--no-progress', '-'];
  const proc = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, EQLITE_TRACE_STARTUP: 'phases', [MIN_INPUT_ENV]: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  proc.stdin!.on('error', () => undefined);
  proc.stdin!.write(eventLines(100));
  return { proc, stdout: () => stdout, stderr: () => stderr, done };
}

async function until(what: string, cond: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('signals to a hunt re-run in a child', () => {
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${sig} to the parent alone stops the child cleanly: the summary once, exit ${code}`, async () => {
      const { rules } = setup();
      const h = huntStdin(rules);
      await until('alerts on stdout while stdin is still open', () => h.stdout().split('\n').length > 2);
      const childPid = Number(CHILD.exec(h.stderr())![1]);
      expect(alive(childPid)).toBe(true);
      h.proc.kill(sig);
      const r = await h.done;
      h.proc.stdin!.destroy();
      expect(r).toEqual({ code, signal: null });
      expect(linesStarting(h.stderr(), `interrupted (${sig}) after `)).toHaveLength(1);
      expect(linesStarting(h.stderr(), 'hunt: ')).toHaveLength(1);
      expect(alive(childPid)).toBe(false);
      const ids = h.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l)['kibana.alert.uuid'] as string);
      expect(new Set(ids).size).toBe(ids.length);
    }, 240_000);
  }

  it('SIGINT to both (Ctrl-C reaches the whole process group) is one press: a clean stop, exit 130', async () => {
    const { rules } = setup();
    const h = huntStdin(rules);
    await until('alerts on stdout while stdin is still open', () => h.stdout().split('\n').length > 2);
    const childPid = Number(CHILD.exec(h.stderr())![1]);
    process.kill(childPid, 'SIGINT');
    h.proc.kill('SIGINT');
    const r = await h.done;
    h.proc.stdin!.destroy();
    expect(r).toEqual({ code: 130, signal: null });
    expect(linesStarting(h.stderr(), 'interrupted (SIGINT) after ')).toHaveLength(1);
    expect(alive(childPid)).toBe(false);
  }, 240_000);

  it('a child ended by a signal ends the parent by the same signal', async () => {
    const { rules } = setup();
    const h = huntStdin(rules);
    await until('the child to start', () => CHILD.test(h.stderr()));
    const childPid = Number(CHILD.exec(h.stderr())![1]);
    process.kill(childPid, 'SIGKILL');
    const r = await h.done;
    h.proc.stdin!.destroy();
    expect(r).toEqual({ code: null, signal: 'SIGKILL' });
  }, 240_000);
});
