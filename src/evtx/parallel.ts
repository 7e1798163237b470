// Parallel parsing of several .evtx files on worker_threads.
//
// Files are independent streams: each gets its own async iterable whose records come in file
// order, whatever the scheduling, so a caller can k-way merge them (e.g. by timestamp).
// Every file is opened at once and files are spread round-robin over the workers; a worker
// interleaves its files and pauses any file whose consumer is behind (credit-based flow
// control), so a merge that needs the head of every file never deadlocks and memory stays
// bounded by workers × files × maxBufferedBatches × batchSize records.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EvtxStats, EvtxWarning } from './reader.js';
import type { GuidCase } from './values.js';
import type { RawWindowsEvent } from './types.js';

/** A function run inside each worker on every record's RawWindowsEvent. */
export interface TransformSpec {
  /** Module URL (file://…) or absolute path; may be .ts when running under tsx/vitest. */
  module: string;
  /** Export name (default "default"); signature (raw, options?) => value. null/undefined drops the record. */
  export?: string;
  /** Passed as the second argument; must be structured-cloneable. */
  options?: unknown;
}

export interface ParallelOptions {
  /** Worker threads (default: available cores, at most the number of files). */
  workers?: number;
  transform?: TransformSpec;
  strict?: boolean;
  guidCase?: GuidCase;
  /** Called on the main thread for every warning of every file. */
  onWarning?: (w: EvtxWarning) => void;
  /** Records per message (default 256). */
  batchSize?: number;
  /** Batches a file may have in flight before its worker pauses it (default 4). */
  maxBufferedBatches?: number;
  /** Chunks read per I/O call in the workers (default 4). */
  readAheadChunks?: number;
}

export interface ParallelRecord<T> {
  recordId: number;
  timestamp: string;
  chunk: number;
  offset: number;
  /** RawWindowsEvent, or the transform's result. */
  value: T;
}

export interface ParallelFile<T> {
  index: number;
  path: string;
  /** The file's records in file order. Iterate once. Throws EvtxError-style messages on failure. */
  records: AsyncIterable<ParallelRecord<T>>;
  /** Final counts; resolves when the file is done (also after a failure). */
  stats: Promise<EvtxStats>;
}

export interface ParallelRead<T> {
  files: ParallelFile<T>[];
  /** Stops all workers (pending iterations end). Called automatically when every file is done. */
  close(): Promise<void>;
}

// Messages (shared with worker.ts).
export interface WorkerConfig {
  transform?: TransformSpec;
  strict: boolean;
  guidCase: GuidCase;
  batchSize: number;
  maxBufferedBatches: number;
  readAheadChunks: number;
}
export type ToWorker = { t: 'open'; id: number; path: string } | { t: 'credit'; id: number } | { t: 'cancel'; id: number };
export type FromWorker =
  | { t: 'batch'; id: number; items: unknown[] }
  | { t: 'warn'; id: number; w: EvtxWarning }
  | { t: 'end'; id: number; stats: EvtxStats }
  | { t: 'fail'; id: number; message: string; stats: EvtxStats };

/**
 * The worker entry next to this module: worker.js when running compiled code. Under tsx or
 * vitest only worker.ts exists; Node 20 does not apply `--import` loaders to worker threads,
 * so a small eval'd bootstrap registers tsx's ESM hooks inside the worker first and then
 * imports worker.ts (and, through the same hooks, a .ts transform module).
 */
function workerEntry(): { entry: URL | string; eval: boolean } {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { entry: js, eval: false };
  const ts = new URL('./worker.ts', import.meta.url).href;
  const api = tsxEsmApi();
  const boot =
    `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); })` +
    `.catch((e) => { setImmediate(() => { throw e; }); });`;
  return { entry: boot, eval: true };
}

/**
 * URL of tsx's ESM API (the "import" condition of its "./esm/api" export). require.resolve
 * would give the CommonJS build, and import.meta.resolve is not available under vitest.
 */
function tsxEsmApi(): string {
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(pkgPath)).href;
}

class FileStream<T> {
  private queue: ParallelRecord<T>[][] = [];
  private waiting: ((v: void) => void) | null = null;
  private done = false;
  private error: Error | null = null;
  private started = false;
  resolveStats!: (s: EvtxStats) => void;
  readonly stats: Promise<EvtxStats>;

  constructor(
    readonly id: number,
    readonly worker: Worker,
  ) {
    this.stats = new Promise((r) => (this.resolveStats = r));
  }

  push(items: ParallelRecord<T>[]): void {
    this.queue.push(items);
    this.wake();
  }
  finish(stats: EvtxStats, error: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    this.resolveStats(stats);
    this.wake();
  }
  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  async *iterate(): AsyncGenerator<ParallelRecord<T>> {
    if (this.started) throw new Error('records of a parallel EVTX file can be iterated only once');
    this.started = true;
    try {
      for (;;) {
        const batch = this.queue.shift();
        if (batch) {
          if (!this.done) this.worker.postMessage({ t: 'credit', id: this.id } satisfies ToWorker);
          yield* batch;
          continue;
        }
        if (this.done) {
          if (this.error) throw this.error;
          return;
        }
        await new Promise<void>((r) => (this.waiting = r));
      }
    } finally {
      // Consumer stopped early: let the worker drop the file.
      if (!this.done) this.worker.postMessage({ t: 'cancel', id: this.id } satisfies ToWorker);
    }
  }
}

export function readEvtxFilesParallel<T = RawWindowsEvent>(paths: readonly string[], opts: ParallelOptions = {}): ParallelRead<T> {
  const n = Math.max(1, Math.min(opts.workers ?? availableParallelism(), paths.length || 1));
  const cfg: WorkerConfig = {
    transform: opts.transform,
    strict: opts.strict ?? false,
    guidCase: opts.guidCase ?? 'upper',
    batchSize: Math.max(1, opts.batchSize ?? 256),
    maxBufferedBatches: Math.max(1, opts.maxBufferedBatches ?? 4),
    readAheadChunks: Math.max(1, opts.readAheadChunks ?? 4),
  };
  const entry = workerEntry();
  const workers: Worker[] = [];
  const streams: FileStream<T>[] = [];
  let open = paths.length;
  let closed = false;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    const err = new Error('parallel EVTX reader closed');
    for (const s of streams) s.finish(emptyStatsLocal(), err);
    await Promise.all(workers.map((w) => w.terminate()));
  };

  for (let i = 0; i < n; i++) {
    const w = new Worker(entry.entry, { workerData: cfg, eval: entry.eval });
    w.on('message', (m: FromWorker) => {
      const s = streams[m.id];
      if (!s) return;
      if (m.t === 'batch') s.push(m.items as ParallelRecord<T>[]);
      else if (m.t === 'warn') opts.onWarning?.(m.w);
      else {
        s.finish(m.stats, m.t === 'fail' ? new Error(m.message) : null);
        if (--open === 0) void close();
      }
    });
    w.on('error', (e) => {
      // A crashed worker (e.g. the transform module failed to load) fails its files.
      streams.forEach((s, id) => {
        if (id % n === i) s.finish(emptyStatsLocal(), new Error(`EVTX worker failed: ${e.message}`));
      });
    });
    workers.push(w);
  }
  const files: ParallelFile<T>[] = paths.map((p, id) => {
    const s = new FileStream<T>(id, workers[id % n]!);
    streams.push(s);
    return { index: id, path: p, records: { [Symbol.asyncIterator]: () => s.iterate() }, stats: s.stats };
  });
  paths.forEach((p, id) => workers[id % n]!.postMessage({ t: 'open', id, path: p } satisfies ToWorker));
  if (paths.length === 0) void close();
  return { files, close };
}

function emptyStatsLocal(): EvtxStats {
  return { recordsRead: 0, recordsSkipped: 0, chunksRead: 0, chunksSkipped: 0, chunksEmpty: 0, warnings: 0 };
}
