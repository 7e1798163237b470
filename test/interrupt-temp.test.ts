// Ctrl-C of `query` (which prints only when every input has been read): one line, exit 130, and
// the external sort's temporary files are gone from $TMPDIR — Node's default handling of SIGINT
// ended the process without removing them (hundreds of MiB for a large unsorted input).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';

const tsx = createRequire(import.meta.url).resolve('tsx');
const main = path.join(repoRoot, 'src', 'cli', 'main.ts');

/** Runs the CLI over 300,000 events in descending time (all go through the sort, in 64 KiB runs) and interrupts it once the sort has written its first run files. */
async function interruptWhileSorting(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; tmp: string[] }> {
  const dir = tempDir('eqlite-int-');
  const tmp = path.join(dir, 'tmp');
  mkdirSync(tmp);
  const input = path.join(dir, 'reversed.ndjson');
  const lines: string[] = [];
  for (let i = 300_000; i > 0; i--) lines.push(`{"@timestamp":${1_700_000_000_000 + i},"event":{"category":"process"},"n":${i}}`);
  writeFileSync(input, lines.join('\n') + '\n');
  const child = spawn(process.execPath, ['--import', tsx, main, ...args, input, '--reorder-window', '0', '--memory', '64K'], {
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let sawSortDir = false;
  for (let waited = 0; waited < 60_000 && child.exitCode === null; waited += 20) {
    if (readdirSync(tmp).some((f) => f.startsWith('eqlite-sort-'))) {
      sawSortDir = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(sawSortDir).toBe(true);
  child.kill('SIGINT');
  const end = await closed;
  return { ...end, stdout, stderr, tmp: readdirSync(tmp).filter((f) => f.startsWith('eqlite-')) };
}

describe('interrupted while sorting through temporary files', () => {
  it('query prints one line, exits 130 and leaves nothing in $TMPDIR', async () => {
    expect(await interruptWhileSorting(['query', 'any where true'])).toEqual({
      code: 130,
      signal: null,
      stdout: '',
      stderr: 'eqlite: interrupted (SIGINT): no results were printed (they are printed when every input has been read)\n',
      tmp: [],
    });
  }, 120_000);

  it('hunt says it stopped while sorting (not "after 0 events"), exits 130 and leaves nothing in $TMPDIR', async () => {
    const r = await interruptWhileSorting(['hunt', '--format', 'none', '--no-progress', '--index', 'logs-x']);
    const last = r.stderr.trimEnd().split('\n').at(-1)!;
    expect({ code: r.code, signal: r.signal, tmp: r.tmp }).toEqual({ code: 130, signal: null, tmp: [] });
    expect(last).toMatch(/^interrupted \(SIGINT\) while the inputs were being sorted \(\d+ events sorted so far\): the alerts of completed rule runs were written; /);
  }, 120_000);
});
