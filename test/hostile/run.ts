// Runs one constructed hostile case (scripts/hostile.ts) through the CLI in a child process and
// checks what it must do: finish within the time bound in CPU time (robust to a busy machine; a
// hang is killed at a wall-clock bound of several times that and fails), stay under the memory bound (peak RSS reported by rusage-preload.mjs; the V8 heap is also capped so a blow-up
// fails fast instead of exhausting the machine), exit with the expected code, print the good
// data around the bad and a one-line report of the bad, and never a stack trace or raw terminal
// controls.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { HostileCase } from '../../scripts/hostile.js';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

export interface Bounds {
  /**
   * CPU-time bound of the child (user + system), a hang detector, not a speed test; the child is
   * killed after six times as long in wall-clock time.
   */
  seconds: number;
  /** Peak resident memory of the child, MiB. */
  rssMb: number;
}

interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a child asynchronously (a synchronous wait would block the test worker's event loop). */
function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
  });
}

export async function runHostileCase(c: HostileCase, bounds: Bounds): Promise<void> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'eqlite-rusage-'));
  const usageFile = path.join(tmp, 'usage.json');
  try {
    const r = await run(
      [
        `--max-old-space-size=${bounds.rssMb}`,
        '--import',
        'tsx',
        '--import',
        path.join(repoRoot, 'test', 'hostile', 'rusage-preload.mjs'),
        path.join(repoRoot, 'src', 'cli', 'main.ts'),
        ...c.args,
      ],
      { ...process.env, EQLITE_RUSAGE_FILE: usageFile, FORCE_COLOR: '0' },
      bounds.seconds * 6000,
    );
    const what = `${c.name} (${c.what})`;
    expect(r.timedOut, `${what}: did not finish within ${bounds.seconds * 6} s`).toBe(false);
    expect(r.signal, `${what}: killed`).toBeNull();
    const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as { maxRssKb: number; userMs: number; systemMs: number };
    expect((usage.userMs + usage.systemMs) / 1000, `${what}: CPU seconds`).toBeLessThan(bounds.seconds);
    expect(usage.maxRssKb / 1024, `${what}: peak RSS`).toBeLessThan(bounds.rssMb);
    expect(r.stderr, `${what}: internal error or stack trace`).not.toMatch(/internal error|\n\s+at .*:\d+:\d+\)?\n|Maximum call stack/);
    expect(r.status, `${what}: exit code; stderr:\n${r.stderr.slice(0, 2000)}`).toBe(c.exit);
    for (const re of c.stderr ?? []) expect(r.stderr, `${what}: stderr`).toMatch(re);
    for (const re of c.stdout ?? []) expect(r.stdout, `${what}: stdout`).toMatch(re);
    if (c.stdoutLines !== undefined) expect(r.stdout.split('\n').filter((l) => l !== '').length, `${what}: results`).toBe(c.stdoutLines);
    if (c.forbidden) {
      expect(r.stdout, `${what}: raw terminal controls on stdout`).not.toMatch(c.forbidden);
      expect(r.stderr, `${what}: raw terminal controls on stderr`).not.toMatch(c.forbidden);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
