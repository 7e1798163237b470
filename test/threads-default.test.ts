// The default number of input worker threads comes from the files' sizes: workers only when they pay.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSingleFileThreads, defaultThreads, plannedThreads, MAX_DEFAULT_THREADS, SINGLE_FILE_ALL_CORES_BYTES, SINGLE_FILE_BYTES, WORKER_FILE_BYTES, WORKER_TOTAL_BYTES } from '../src/parallel/pool.js';

const MB = 1 << 20;
const cores = availableParallelism();
const expectWorkers = (n: number) => (cores >= 2 ? Math.min(cores, n, MAX_DEFAULT_THREADS) : 0);

describe('defaultThreads', () => {
  it('keeps many small files and small totals on the main thread', () => {
    expect(WORKER_FILE_BYTES).toBe(8 * MB);
    expect(WORKER_TOTAL_BYTES).toBe(64 * MB);
    expect(defaultThreads(Array.from({ length: 70 }, () => 1.1 * MB))).toBe(0); // 70 small EVTX files
    expect(defaultThreads([13 * MB, 13 * MB])).toBe(0); // two files worth a worker, too little together
    expect(defaultThreads([500 * MB])).toBe(0); // one file: nothing to spread
    expect(defaultThreads([500 * MB, 1 * MB, 2 * MB])).toBe(0); // one large file and small ones
    expect(defaultThreads([])).toBe(0);
  });

  it('uses one worker per core, up to one per large file, when the large files hold enough', () => {
    expect(defaultThreads([52 * MB, 52 * MB])).toBe(expectWorkers(2));
    expect(defaultThreads([40 * MB, 30 * MB, 1 * MB])).toBe(expectWorkers(2));
    expect(defaultThreads(Array.from({ length: 20 }, () => 261 * MB))).toBe(expectWorkers(20));
  });

  it('reads one large file whose every line is parsed on one worker fewer than the cores, on every core from 1 GiB', () => {
    const fewer = cores >= 2 ? Math.min(cores - 1, MAX_DEFAULT_THREADS) : 0;
    const all = cores >= 2 ? Math.min(cores, MAX_DEFAULT_THREADS) : 0;
    expect(SINGLE_FILE_BYTES).toBe(64 * MB);
    expect(SINGLE_FILE_ALL_CORES_BYTES).toBe(1024 * MB);
    expect(defaultSingleFileThreads(63 * MB)).toBe(0);
    expect(defaultSingleFileThreads(64 * MB)).toBe(fewer);
    expect(defaultSingleFileThreads(1023 * MB)).toBe(fewer);
    expect(defaultSingleFileThreads(1024 * MB)).toBe(all);
    expect(defaultSingleFileThreads(10_000 * MB)).toBe(all);
  });

  it('plans what openFiles starts: the caller\'s count, else the single-file or the many-file default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eqlite-threads-'));
    try {
      const a = join(dir, 'a.ndjson');
      writeFileSync(a, '{"@timestamp":"2025-01-01T00:00:00Z"}\n');
      const one = [{ path: a, kind: 'json' as const }];
      expect(plannedThreads(one, { threads: 3 })).toBe(3);
      expect(plannedThreads(one, { everyLine: true, busyMain: true })).toBe(0); // 39 bytes
      expect(plannedThreads([{ path: '-', kind: 'json' as const }], { everyLine: true, busyMain: true })).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
