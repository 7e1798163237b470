// The default number of input worker threads comes from the files' sizes: workers only when they pay.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultSingleFileThreads, defaultThreads, MAX_DEFAULT_THREADS, SINGLE_FILE_BYTES, WORKER_FILE_BYTES, WORKER_TOTAL_BYTES } from '../src/parallel/pool.js';

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

  it('reads one large file whose every line is parsed on one worker fewer than the cores', () => {
    const single = (n: number) => (cores >= 2 ? Math.min(cores - 1, n) : 0);
    expect(SINGLE_FILE_BYTES).toBe(64 * MB);
    expect(defaultSingleFileThreads(63 * MB)).toBe(0);
    expect(defaultSingleFileThreads(64 * MB)).toBe(single(MAX_DEFAULT_THREADS));
    expect(defaultSingleFileThreads(10_000 * MB)).toBe(single(MAX_DEFAULT_THREADS));
  });
});
