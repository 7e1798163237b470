// Inputs in order, whatever order they come in: what `hunt` and `query` read.
//
// First attempt ("stream"): the inputs are merged as they are read (order.ts), each with a small
// reorder buffer — the fast path for sorted and nearly sorted input, which costs nothing extra.
// If an input turns out to be out of order beyond its buffer, that attempt is abandoned (the
// consumer discards what it built) and a second one ("sort") reads every input again through an
// external sort with a bounded memory budget (external-sort.ts). Either way the consumer sees the
// same order — a function of the data only — so results never depend on how inputs are grouped,
// ordered or concatenated, and no event is dropped as "late".
//
// The second attempt re-reads the inputs, so what the first one already reported (skipped lines,
// warnings) is not reported twice: per file, the first N skipped items of the second attempt are
// the N the first attempt reported. Standard input cannot be read twice; its bytes are kept in a
// temporary file while the first attempt reads it.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { OpenedInput } from './inputs.js';
import { ExternalSorter, DEFAULT_SORT_MEMORY, type SortStats } from './external-sort.js';
import { Keyer, mergeOrdered, OutOfOrderError } from './order.js';
import { InputError } from './sources.js';
import type { EventDoc, SkippedItem } from './types.js';
import { trackTempDir, untrackTempDir } from '../util/temp-dirs.js';

export type Attempt = 'stream' | 'sort';

export interface OpenCallbacks {
  onSkip: (item: SkippedItem) => void;
  onWarning: (message: string) => void;
  /** The stream to read for the input '-' (undefined when no input is '-'). */
  stdin: Readable | undefined;
}

export interface ReadOrderedOptions {
  /** Opens the inputs for one attempt, with the callbacks and stdin given. */
  open: (attempt: Attempt, io: OpenCallbacks) => { inputs: OpenedInput[]; close(): Promise<void> };
  /** True when one of the inputs is '-'. */
  readsStdin: boolean;
  /** The stream behind '-' (default process.stdin). */
  stdin?: Readable;
  timestampField?: string;
  tiebreakerField?: string | null;
  reorderWindow?: number;
  /** Memory budget of the sort, bytes (default DEFAULT_SORT_MEMORY). */
  memory?: number;
  /** Directory for temporary files (default the OS's, e.g. $TMPDIR). */
  tmpDir?: string;
  onSkip?: (item: SkippedItem) => void;
  onWarning?: (message: string) => void;
  /**
   * Stops reading (Ctrl-C): at the next batch, and also while waiting for input (a quiet stdin),
   * whose read is then abandoned. The report says `interrupted`.
   */
  signal?: AbortSignal;
}

/** Receives the ordered events of one attempt. */
export interface Consumer {
  /** The next events in order; a returned promise holds reading until it settles. */
  push(batch: EventDoc[]): void | Promise<void>;
  /** True when the consumer wants no more events (its output was closed). */
  readonly stopped?: boolean;
}

export interface OrderedReport {
  /** The attempt that completed. */
  attempt: Attempt;
  /** Why the inputs were sorted (the first out-of-order event). */
  reason?: string;
  sort?: SortStats;
  /** The inputs of the completed attempt (for their counters). */
  inputs: OpenedInput[];
  /** Stopped by `signal` before the inputs ended. */
  interrupted?: boolean;
}

/**
 * Reads the inputs in order into consumers: `begin(attempt)` is called at the start of each
 * attempt and returns its consumer; a call with 'sort' means everything the 'stream' consumer got
 * must be discarded.
 */
/**
 * `p`, or null as soon as `signal` aborts. Not `Promise.race([p, aborted])` over one long-lived
 * `aborted` promise: every race leaves a reaction on that promise holding the race's result (here
 * a batch of events) until it settles, so a run never interrupted kept every batch it read.
 */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise<T | null>((resolve, reject) => {
    const onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export async function readOrdered(opts: ReadOrderedOptions, begin: (attempt: Attempt) => Consumer): Promise<OrderedReport> {
  const reported = new Map<string, number>();
  const warned = new Set<string>();
  const spool = opts.readsStdin ? new StdinSpool(opts.stdin ?? process.stdin, opts.tmpDir ?? tmpdir()) : null;
  const signal = opts.signal;
  try {
    // ---- attempt 1: merge as read
    {
      const io: OpenCallbacks = {
        onSkip: (item) => {
          const f = item.position.file;
          reported.set(f, (reported.get(f) ?? 0) + 1);
          opts.onSkip?.(item);
        },
        onWarning: (m) => {
          if (warned.size < 10_000) warned.add(m);
          opts.onWarning?.(m);
        },
        stdin: spool?.first(),
      };
      const consumer = begin('stream');
      const opened = opts.open('stream', io);
      const merged = mergeOrdered(opened.inputs, {
        timestampField: opts.timestampField,
        tiebreakerField: opts.tiebreakerField,
        reorderWindow: opts.reorderWindow,
        onSkip: io.onSkip,
        onWarning: io.onWarning,
        onLate: 'throw',
      });
      let reason: string | undefined;
      const it = merged.batches()[Symbol.asyncIterator]();
      // 'idle' between batches, 'waiting' while a read is pending, 'done' at the end.
      let reader: 'idle' | 'waiting' | 'done' = 'idle';
      try {
        for (;;) {
          reader = 'waiting';
          const next = signal ? await unlessAborted(it.next(), signal) : await it.next();
          if (next === null) break;
          if (next.done) {
            reader = 'done';
            break;
          }
          reader = 'idle';
          const p = consumer.push(next.value);
          if (p) await (signal ? unlessAborted(p, signal) : p);
          if (consumer.stopped || opts.signal?.aborted) break;
        }
      } catch (e) {
        if (!(e instanceof OutOfOrderError)) throw e;
        reason = e.message;
        reader = 'done';
      } finally {
        // Inputs left early are closed; a read abandoned while waiting on input cannot be (its
        // generator is busy) and ends with the process.
        if (reader === 'idle') await it.return?.(undefined);
        await opened.close();
      }
      if (reason === undefined) return { attempt: 'stream', inputs: opened.inputs, interrupted: opts.signal?.aborted === true };

      // ---- attempt 2: sort everything
      const seen = new Map<string, number>();
      const io2: OpenCallbacks = {
        onSkip: (item) => {
          const f = item.position.file;
          const n = (seen.get(f) ?? 0) + 1;
          seen.set(f, n);
          if (n > (reported.get(f) ?? 0)) opts.onSkip?.(item);
        },
        onWarning: (m) => {
          if (!warned.has(m)) opts.onWarning?.(m);
        },
        stdin: spool ? await spool.second() : undefined,
      };
      const consumer2 = begin('sort');
      const sort = await sortInputs(opts, io2, consumer2);
      return { attempt: 'sort', reason, sort: sort.stats, inputs: sort.inputs, interrupted: signal?.aborted === true };
    }
  } finally {
    spool?.dispose();
  }
}

async function sortInputs(opts: ReadOrderedOptions, io: OpenCallbacks, consumer: Consumer): Promise<{ stats: SortStats; inputs: OpenedInput[] }> {
  const opened = opts.open('sort', io);
  const sorter = new ExternalSorter(opts.memory ?? DEFAULT_SORT_MEMORY, opts.tmpDir ?? tmpdir());
  const keyer = new Keyer({ timestampField: opts.timestampField, tiebreakerField: opts.tiebreakerField, onSkip: io.onSkip });
  try {
    // All inputs at once (files on worker threads keep parsing in parallel); adds interleave.
    await Promise.all(
      opened.inputs.map(async (input, src) => {
        let seq = 0;
        for await (const batch of input.batches()) {
          for (const ev of batch) {
            const k = keyer.key(ev, src, seq++);
            if (k) sorter.add(ev, k);
          }
          if (opts.signal?.aborted) break;
        }
      }),
    );
  } catch (e) {
    sorter.dispose();
    throw wrapIo(e, opts);
  } finally {
    await opened.close();
  }
  try {
    if (!opts.signal?.aborted) {
      for await (const batch of sorter.sorted()) {
        const p = consumer.push(batch);
        if (p) await p;
        if (consumer.stopped || opts.signal?.aborted) break;
      }
    }
  } catch (e) {
    throw wrapIo(e, opts);
  } finally {
    sorter.dispose();
  }
  return { stats: sorter.stats, inputs: opened.inputs };
}

/** Failures writing temporary files become one-line input errors. */
function wrapIo(e: unknown, opts: ReadOrderedOptions): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.syscall === 'string' && (err.syscall === 'write' || err.syscall === 'open' || err.syscall === 'mkdtemp')) {
    return new InputError(`cannot sort the inputs through temporary files in ${opts.tmpDir ?? tmpdir()}: ${err.code} (${err.message.split(',')[0]}); free space there or set TMPDIR`);
  }
  return e;
}

/**
 * Keeps the bytes of standard input that the first attempt reads in a temporary file, and gives
 * the second attempt a stream of those bytes followed by the rest of standard input.
 */
class StdinSpool {
  private readonly it: AsyncIterator<Buffer>;
  private dir: string | null = null;
  private file = '';
  private fd = -1;
  private inflight: Promise<unknown> | null = null;

  constructor(
    stdin: Readable,
    private readonly tmp: string,
  ) {
    // One iterator for both attempts; not destroyed when an attempt stops reading.
    this.it = stdin.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  first(): Readable {
    this.dir = trackTempDir(mkdtempSync(path.join(this.tmp, 'eqlite-stdin-')));
    this.file = path.join(this.dir, 'stdin');
    this.fd = openSync(this.file, 'w');
    const self = this;
    async function* gen(): AsyncGenerator<Buffer> {
      for (;;) {
        const step = self.it.next().then((r) => {
          if (!r.done) writeSync(self.fd, toBuffer(r.value));
          return r;
        });
        self.inflight = step;
        const r = await step;
        self.inflight = null;
        if (r.done) return;
        yield toBuffer(r.value);
      }
    }
    return Readable.from(gen(), { objectMode: false });
  }

  async second(): Promise<Readable> {
    // A read the first attempt started lands in the file before the file is replayed.
    if (this.inflight) await this.inflight;
    closeSync(this.fd);
    this.fd = -1;
    const self = this;
    async function* gen(): AsyncGenerator<Buffer> {
      const fd = openSync(self.file, 'r');
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, null);
          if (n === 0) break;
          yield Buffer.from(buf.subarray(0, n));
        }
      } finally {
        closeSync(fd);
      }
      for (;;) {
        const r = await self.it.next();
        if (r.done) return;
        yield toBuffer(r.value);
      }
    }
    return Readable.from(gen(), { objectMode: false });
  }

  dispose(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    if (this.dir) {
      rmSync(this.dir, { recursive: true, force: true });
      untrackTempDir(this.dir);
    }
    this.dir = null;
  }
}

function toBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(String(v));
}
