// Opens command-line inputs (files, directories, '-') as event streams, whatever their format:
// NDJSON/JSON/ES hits (+gz) through the JSON reader, .evtx through the native EVTX reader and the
// Windows → ECS mapper. Raw Winlogbeat/Agent documents (winlog.* without ECS fields, which Elastic
// would map in an ingest pipeline) are mapped on read so rules see the same fields.
import path from 'node:path';
import { readEvtx } from '../evtx/index.js';
import { isUnmappedWinlogDocument, mapRawWindowsEvent, mapWinlogbeatDocument, type WindowsProfile } from './windows/index.js';
import { expandInputs, fileIdPrefix, readEvents } from './sources.js';
import type { EventDoc, SkippedItem } from './types.js';

export interface OpenOptions {
  /** `--index NAME`: index for events that carry none. */
  index?: string;
  onSkip?: (item: SkippedItem) => void;
  /** Windows mapping profile for EVTX and raw Winlogbeat documents. */
  profile?: WindowsProfile;
}

export interface OpenedInput {
  name: string;
  kind: 'json' | 'evtx';
  events: AsyncIterable<EventDoc>;
  /** Bytes read so far (JSON inputs), for progress reporting. */
  bytesRead(): number;
  /** Items read and skipped so far. */
  counts(): { read: number; skipped: number };
}

export async function openInputs(paths: string[], opts: OpenOptions = {}): Promise<OpenedInput[]> {
  const files = await expandInputs(paths);
  return files.map((f) => (f.kind === 'evtx' ? openEvtx(f.path, opts) : openJson(f.path, opts)));
}

function openJson(file: string, opts: OpenOptions): OpenedInput {
  const reader = readEvents(file, { index: opts.index, onSkip: opts.onSkip });
  const profile = opts.profile;
  // Batches keep the hot path at one promise per read chunk; the merge consumes them directly.
  async function* batches(): AsyncGenerator<EventDoc[]> {
    for await (const batch of reader.batches()) {
      for (let i = 0; i < batch.length; i++) {
        const ev = batch[i]!;
        if (isUnmappedWinlogDocument(ev.source)) {
          const mapped = mapWinlogbeatDocument(ev.source, { profile });
          batch[i] = { ...ev, source: mapped.source, index: ev.index || mapped.index };
        }
      }
      yield batch;
    }
  }
  const events = {
    file: reader.file,
    batches,
    async *[Symbol.asyncIterator](): AsyncGenerator<EventDoc> {
      for await (const batch of batches()) yield* batch;
    },
  };
  return {
    name: reader.file,
    kind: 'json',
    events,
    bytesRead: () => reader.counts.bytes,
    counts: () => ({ read: reader.counts.read, skipped: reader.counts.skipped }),
  };
}

function openEvtx(file: string, opts: OpenOptions): OpenedInput {
  let skipped = 0;
  const reader = readEvtx(file, {
    onWarning: (w) => {
      if (!w.kind.endsWith('crc')) skipped++;
      opts.onSkip?.({
        position: { file, chunk: w.chunk ?? undefined, record: w.recordId ?? undefined, offset: w.offset },
        reason: w.reason,
      });
    },
  });
  const prefix = fileIdPrefix(file);
  let read = 0;
  async function* events(): AsyncGenerator<EventDoc> {
    for await (const record of reader) {
      read++;
      try {
        const mapped = mapRawWindowsEvent(record.toRaw(), { profile: opts.profile });
        yield {
          source: mapped.source,
          index: opts.index && !mapped.index ? opts.index : mapped.index,
          id: `${prefix}:${record.recordId}`,
          position: { file, chunk: record.chunk, record: record.recordId, offset: record.offset },
        };
      } catch (err) {
        skipped++;
        opts.onSkip?.({
          position: { file, chunk: record.chunk, record: record.recordId, offset: record.offset },
          reason: `cannot map record to ECS: ${(err as Error).message}`,
        });
      }
    }
  }
  return {
    name: path.normalize(file),
    kind: 'evtx',
    events: events(),
    bytesRead: () => 0,
    counts: () => ({ read, skipped }),
  };
}

/** `file:line`, `file:chunk N record R` or just the file, for messages. */
export function formatPosition(p: SkippedItem['position']): string {
  if (p.line !== undefined) return `${p.file}:${p.line}`;
  if (p.chunk !== undefined || p.record !== undefined) {
    const parts = [p.file];
    if (p.chunk !== undefined) parts.push(`chunk ${p.chunk}`);
    if (p.record !== undefined) parts.push(`record ${p.record}`);
    if (p.offset !== undefined) parts.push(`offset ${p.offset}`);
    return parts.join(' ');
  }
  return p.file;
}
