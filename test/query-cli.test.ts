// `eqlite query` end to end: Elasticsearch's default size (10) and result_position (tail), the
// --result-position option and the note on stderr when --size cut the results.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir, writeNdjson } from './detect-helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = tempDir('eqlite-query-');
// 25 process events n = 1..25, one second apart; hosts alternate.
const input = writeNdjson(
  dir,
  'events.ndjson',
  Array.from({ length: 25 }, (_, i) => ({
    '@timestamp': new Date(Date.UTC(2024, 0, 1, 0, 0, i + 1)).toISOString(),
    event: { category: 'process' },
    host: { id: i % 2 ? 'b' : 'a' },
    n: i + 1,
  })),
);

/** Runs `eqlite query` from source in a child process, without blocking the test worker. */
function query(...args: string[]): Promise<{ out: number[][]; err: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), 'query', ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.stdin.end();
    child.on('close', (status) => {
      const out = stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const o = JSON.parse(l) as { n?: number; events?: { _source: { n: number } }[] };
          return o.events ? o.events.map((e) => e._source.n) : [o.n!];
        });
      resolve({ out, err: stderr, status });
    });
  });
}

describe('eqlite query: size and result position', () => {
  it('keeps the last 10 results by default and says that results were cut', async () => {
    const r = await query('process where true', input);
    expect(r.status).toBe(0);
    expect(r.out.flat()).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(r.err).toBe('eqlite: showing the last 10 of 25 results (--size 10, --result-position tail); raise --size to see more\n');
  }, 120_000);

  it('--result-position head keeps the first N; --size larger than the results prints them all without a note', async () => {
    const h = await query('process where n > 3', input, '--size', '3', '--result-position', 'head');
    expect(h.out.flat()).toEqual([4, 5, 6]);
    expect(h.err).toBe('eqlite: showing the first 3 results; more matched (--size 3, --result-position head); raise --size to see more\n');
    const all = await query('process where n > 20', input, '--size', '50');
    expect(all.out.flat()).toEqual([21, 22, 23, 24, 25]);
    expect(all.err).toBe('');
  }, 120_000);

  it('sequences: the most recent sequences by default', async () => {
    const r = await query('sequence by host.id [process where true] [process where true]', input, '--size', '2');
    // Host a pairs 1,3 / 3,5 / … / 23,25 (12), host b 2,4 / … / 22,24 (11): ordered by last event.
    expect(r.out).toEqual([
      [22, 24],
      [23, 25],
    ]);
    expect(r.err).toBe('eqlite: showing the last 2 of 23 results (--size 2, --result-position tail); raise --size to see more\n');
    expect((await query('sequence by host.id [process where true] [process where true]', input, '--size', '2', '--result-position', 'head')).out).toEqual([
      [1, 3],
      [2, 4],
    ]);
  }, 120_000);

  it('rejects an unknown position', async () => {
    const r = await query('process where true', input, '--result-position', 'middle');
    expect(r.status).not.toBe(0);
    expect(r.err).toContain('expected head or tail');
  }, 120_000);
});

describe('eqlite query: input order', () => {
  it('out-of-order input is sorted (not skipped) and gives the same results', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => ({
      '@timestamp': new Date(Date.UTC(2024, 0, 1, 0, 0, i + 1)).toISOString(),
      event: { category: 'process' },
      host: { id: i % 2 ? 'b' : 'a' },
      n: i + 1,
    }));
    const reversed = writeNdjson(dir, 'reversed.ndjson', [...lines].reverse());
    const q = 'sequence by host.id [process where true] [process where true]';
    const r = await query(q, reversed, '--size', '2', '--reorder-window', '0');
    expect(r.out).toEqual([
      [22, 24],
      [23, 25],
    ]);
    expect(r.err).toMatch(/^eqlite: input .*reversed\.ndjson is not in time order beyond the reorder window \(0 events\): event \S+ at 2024-01-01T00:00:24.000Z comes after 2024-01-01T00:00:25.000Z; sorted 25 events in memory \(memory budget 512 MiB\)\n/);
    expect((await query('process where true', reversed, '--result-position', 'head', '--size', '3', '--reorder-window', '0')).out.flat()).toEqual([1, 2, 3]);
  }, 120_000);
});
