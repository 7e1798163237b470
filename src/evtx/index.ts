// Public API of the native EVTX reader.

import { emptyStats, iterateEvtx, iterateEvtxChunks, type EvtxRecord, type EvtxStats, type ReadOptions } from './reader.js';

export { EvtxError, EvtxRecord, type EvtxStats, type EvtxWarning, type EvtxWarningKind, type ReadOptions } from './reader.js';
export type { RawWindowsEvent } from './types.js';
export type { XAttr, XElement, XNode, XPi } from './binxml.js';
export { toRawEvent, toXmlText } from './render.js';
export { EVTX_LIMITS } from './binxml.js';

/** An async iterable of a file's records that also exposes running counts. */
export interface EvtxReader extends AsyncIterable<EvtxRecord> {
  /** Updated while iterating; final once the iteration has finished. */
  readonly stats: EvtxStats;
  /** The same records a chunk at a time (cheaper than one await per record). */
  chunks(): AsyncGenerator<EvtxRecord[]>;
}

/**
 * Reads an .evtx file record by record, in file order (chunk slot order, then record order).
 * Damaged chunks and records are reported through `onWarning` (with file, chunk, record id,
 * offset and reason) and skipped; with `strict` the first problem throws an EvtxError instead.
 */
export function readEvtx(path: string, opts: ReadOptions = {}): EvtxReader {
  return new FileReader(path, opts);
}

/**
 * One class, not an object of closures: a caller's loop over several files (`for (const f of
 * files) for await (const rs of readEvtx(f).chunks())`) then calls the same `chunks` function
 * for every file. With a closure per file the JIT's optimized loop, which had inlined the first
 * file's, was thrown away at the second file and compiled again (a twentieth of the decoder's
 * CPU on the bench's 8 files).
 */
class FileReader implements EvtxReader {
  readonly stats: EvtxStats = emptyStats();
  constructor(
    private readonly path: string,
    private readonly opts: ReadOptions,
  ) {}
  [Symbol.asyncIterator](): AsyncGenerator<EvtxRecord> {
    return iterateEvtx(this.path, this.opts, this.stats);
  }
  chunks(): AsyncGenerator<EvtxRecord[]> {
    return iterateEvtxChunks(this.path, this.opts, this.stats);
  }
}
