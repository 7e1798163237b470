// Worker-thread side of readEvtxFilesParallel: parses the files it is given, applies the
// caller's transform (e.g. the ECS mapper) in this thread, and streams batches back with
// credit-based flow control so a slow consumer bounds memory.

import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { EvtxError, iterateEvtx, emptyStats, type EvtxWarning } from './reader.js';
import type { RawWindowsEvent } from './types.js';
import type { ToWorker, FromWorker, WorkerConfig } from './parallel.js';

const port = parentPort!;
const cfg = workerData as WorkerConfig;

type TransformFn = (raw: RawWindowsEvent, options?: unknown) => unknown;

let transform: TransformFn | null = null;
const ready: Promise<void> = (async () => {
  if (!cfg.transform) return;
  const spec = cfg.transform.module;
  const url = isAbsolute(spec) ? pathToFileURL(spec).href : spec;
  const mod = (await import(url)) as Record<string, unknown>;
  const name = cfg.transform.export ?? 'default';
  const fn = mod[name];
  if (typeof fn !== 'function') throw new Error(`transform module ${spec} has no function export "${name}"`);
  transform = fn as TransformFn;
})();
// Failures surface per file (run() awaits it); this only marks the rejection as handled.
ready.catch(() => undefined);

interface FileJob {
  credits: number;
  wake: (() => void) | null;
  cancelled: boolean;
}
const jobs = new Map<number, FileJob>();

function post(m: FromWorker): void {
  port.postMessage(m);
}

async function run(id: number, path: string): Promise<void> {
  const job: FileJob = { credits: cfg.maxBufferedBatches, wake: null, cancelled: false };
  jobs.set(id, job);
  const stats = emptyStats();
  try {
    await ready;
    const opts = {
      strict: cfg.strict,
      guidCase: cfg.guidCase,
      readAheadChunks: cfg.readAheadChunks,
      onWarning: (w: EvtxWarning) => post({ t: 'warn', id, w }),
    };
    let batch: unknown[] = [];
    for await (const rec of iterateEvtx(path, opts, stats)) {
      if (job.cancelled) break;
      const raw = rec.toRaw();
      let value: unknown = raw;
      if (transform) {
        try {
          value = transform(raw, cfg.transform!.options);
        } catch (e) {
          const reason = `transform failed: ${(e as Error)?.message ?? String(e)}`;
          const message = `${path}, chunk ${rec.chunk}, record ${rec.recordId}, offset 0x${rec.offset.toString(16)}: ${reason}`;
          stats.warnings++;
          post({ t: 'warn', id, w: { kind: 'transform', file: path, chunk: rec.chunk, recordId: rec.recordId, offset: rec.offset, reason, message } });
          continue;
        }
        if (value === undefined || value === null) continue;
      }
      batch.push({ recordId: rec.recordId, timestamp: rec.timestamp, chunk: rec.chunk, offset: rec.offset, value });
      if (batch.length >= cfg.batchSize) {
        post({ t: 'batch', id, items: batch });
        batch = [];
        job.credits--;
        while (job.credits <= 0 && !job.cancelled) await new Promise<void>((r) => (job.wake = r));
      }
    }
    if (batch.length) post({ t: 'batch', id, items: batch });
    post({ t: 'end', id, stats });
  } catch (e) {
    const message = e instanceof EvtxError ? e.message : `${path}: ${(e as Error)?.message ?? String(e)}`;
    post({ t: 'fail', id, message, stats });
  } finally {
    jobs.delete(id);
  }
}

port.on('message', (m: ToWorker) => {
  if (m.t === 'open') void run(m.id, m.path);
  else {
    const job = jobs.get(m.id);
    if (!job) return;
    if (m.t === 'credit') job.credits++;
    else job.cancelled = true;
    const w = job.wake;
    job.wake = null;
    w?.();
  }
});
