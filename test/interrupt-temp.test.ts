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

describe('query interrupted while it sorts through temporary files', () => {
  it('prints one line, exits 130 and leaves nothing in $TMPDIR', async () => {
    const dir = tempDir('eqlite-int-');
    const tmp = path.join(dir, 'tmp');
    const input = path.join(dir, 'reversed.ndjson');
    // 300,000 events in descending time: every one is out of order, so all go through the sort.
    const lines: string[] = [];
    for (let i = 300_000; i > 0; i--) lines.push(`{"@timestamp":${1_700_000_000_000 + i},"event":{"category":"process"},"n":${i}}`);
    writeFileSync(input, lines.join('\n') + '\n');
    mkdirSync(tmp);
    const child = spawn(process.execPath, ['--import', tsx, main, 'query', 'any where true', input, '--reorder-window', '0', '--memory', '64K'], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    // Wait until the sort has written its first run files, then interrupt.
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
    expect({ ...end, stdout, stderr, tmp: readdirSync(tmp).filter((f) => f.startsWith('eqlite-')) }).toEqual({
      code: 130,
      signal: null,
      stdout: '',
      stderr: 'eqlite: interrupted (SIGINT): no results were printed (they are printed when every input has been read)\n',
      tmp: [],
    });
  }, 120_000);
});
