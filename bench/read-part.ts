// An input worker's reading alone: a built checkout's reader turns FILE into events as it reads a
// part of a large NDJSON file (1 MiB reads, UTF-8 decoding, the JSON splitter, one JSON.parse per
// line, each line's text and place kept) — no routing. Prints the CPU time; for instruction
// counts, run it under callgrind over N and over 100 lines and divide the difference by N - 100:
//
//   valgrind --tool=callgrind node --single-threaded --import tsx bench/read-part.ts <built checkout> FILE [NEEDLE...]
//
// With needles, a line filter on them is on (as a hunt whose rules all name literals has): lines
// without one become stubs, read in their bytes (src/events/byte-lines.ts); the rest are parsed.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const [dir, file, ...needles] = process.argv.slice(2);
if (!dir || !file) {
  console.error('usage: node --import tsx bench/read-part.ts <built checkout> FILE [NEEDLE...]');
  process.exit(2);
}
const { readEvents } = (await import(path.resolve(dir, 'dist/events/sources.js'))) as {
  readEvents: (f: string, o: object) => { batches(): AsyncIterable<unknown[]> };
};
const { LineFilter } = (await import(path.resolve(dir, 'dist/events/prefilter.js'))) as {
  LineFilter: new (needles: readonly string[], timestampField: string) => { off: boolean };
};
const lineFilter = needles.length > 0 ? new LineFilter(needles, '@timestamp') : null;
const size = statSync(file).size;
const c0 = process.cpuUsage();
let events = 0;
// `continued`: read as a part after the file's first, as the workers read all but one part.
const reader = readEvents(file, { range: { start: 0, end: size, line: 1, continued: true }, keepText: true, lineFilter });
let stubs = 0;
for await (const batch of reader.batches()) {
  events += batch.length;
  for (const e of batch) if ((e as { constructor: { name: string } }).constructor.name === 'LineStub') stubs++;
}
const c = process.cpuUsage(c0);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
const filtered = lineFilter === null ? '' : lineFilter.off ? ' (the line filter turned off)' : ` (line filter on: ${events - stubs} parsed)`;
console.log(`${path.basename(path.resolve(dir))}: ${events} events${filtered}, ${((c.user + c.system) / 1000).toFixed(0)} ms of CPU (load average ${load})`);
