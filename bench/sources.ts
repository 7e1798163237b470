// Micro-benchmark of the read path: file → bytes → JSON values → EventDoc, nothing else.
// The main harness (bench/run.ts) calls benchRead; run alone with
//   npx tsx bench/sources.ts FILE [--merge]
import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { mergeOrdered } from '../src/events/order.js';
import { readEvents } from '../src/events/sources.js';

export interface ReadBench {
  file: string;
  events: number;
  skipped: number;
  bytes: number;
  seconds: number;
  eventsPerSec: number;
  mbPerSec: number;
}

/** Reads and parses `file` once (batched, as the merge consumes it) and reports the throughput. */
export async function benchRead(file: string, opts: { merge?: boolean } = {}): Promise<ReadBench> {
  const size = (await stat(file)).size;
  const reader = readEvents(file);
  const t0 = process.hrtime.bigint();
  let events = 0;
  if (opts.merge) {
    for await (const _ of mergeOrdered([reader])) events++;
  } else {
    for await (const batch of reader.batches()) events += batch.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    file,
    events,
    skipped: reader.counts.skipped,
    bytes: size,
    seconds,
    eventsPerSec: Math.round(events / seconds),
    mbPerSec: +(size / (1024 * 1024) / seconds).toFixed(1),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/sources.ts FILE [--merge]');
    process.exit(2);
  }
  console.log(await benchRead(file, { merge: process.argv.includes('--merge') }));
}
