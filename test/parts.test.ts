// One NDJSON file read in parts on several workers (src/parallel/chunks.ts) must give exactly what
// reading it in one piece on the main thread gives: the same events in the same order with the same
// positions and ids, the same skipped lines (named by their line in the whole file), the same
// alerts and hunt statistics — also when parts are cut in the middle of lines, and when the file
// holds multi-line JSON that a part cannot be read on its own from.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LinePicker } from '../src/events/line-picker.js';
import { hunt, type HuntOptions } from '../src/detect/hunt.js';
import { openInput } from '../src/events/inputs.js';
import { timeOrSkip } from '../src/events/order.js';
import { fileIdPrefix } from '../src/events/sources.js';
import type { EventDoc, SkippedItem } from '../src/events/types.js';
import { generateEvents } from '../src/generate/generator.js';
import { mainReadsParts, splittable, type LocalParts } from '../src/parallel/chunks.js';
import { openParallelInputs, type ParallelInput } from '../src/parallel/pool.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { makeRule, seedPair, tempDir } from './detect-helpers.js';

const dir = tempDir('eqlite-parts-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Generated telemetry as NDJSON lines. */
function generatedLines(events: number, seed: string): string[] {
  return [...generateEvents({ events, hosts: 12, seed, start: '2026-11-01T00:00:00Z' })].map((d) => JSON.stringify(d));
}

function write(name: string, lines: string[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

interface Read {
  events: { id: string; index: string; position: unknown; time: unknown; source: unknown }[];
  skips: SkippedItem[];
}

const shape = (ev: EventDoc) => ({ id: ev.id, index: ev.index, position: ev.position, time: ev.time, source: ev.source });

/** What the main thread reads (and times, as hunt's routing stage does). */
async function readSerial(file: string): Promise<Read> {
  const skips: SkippedItem[] = [];
  const events: Read['events'] = [];
  for await (const b of openInput({ path: file, kind: 'json' }, { onSkip: (s) => skips.push(s) }).batches()) {
    for (const ev of b) if (timeOrSkip(ev, '@timestamp', (s) => skips.push(s))) events.push(shape(ev));
  }
  return { events, skips };
}

/** The same file read in parts of `bytes` on two workers, every event travelling whole. */
async function readParts(file: string, bytes: number, ahead?: number): Promise<Read & { parts: { started: number; consumed: number } }> {
  const skips: SkippedItem[] = [];
  const events: Read['events'] = [];
  const pool = openParallelInputs([{ path: file, kind: 'json' }], { threads: 2, route: { kind: 'all' }, onSkip: (s) => skips.push(s), parts: { bytes, ahead } });
  const input = pool.inputs[0]! as ParallelInput;
  try {
    for await (const b of input.batches()) for (const ev of b) events.push(shape(ev));
  } finally {
    await pool.close();
  }
  return { events, skips, parts: input.parts!() };
}

/**
 * The same file read in parts on one worker and on this thread (chunks.ts, LocalParts): the main
 * thread's parts are read and timed here, as hunt's are.
 */
async function readPartsWithMain(file: string, bytes: number, threads = 1): Promise<Read & { parts: { started: number; consumed: number; local: number } }> {
  const skips: SkippedItem[] = [];
  const events: Read['events'] = [];
  let opened = 0;
  const local: LocalParts = {
    open(range, onSkip) {
      opened++;
      const input = openInput({ path: file, kind: 'json' }, { range, onSkip });
      async function* timed(): AsyncGenerator<EventDoc[]> {
        for await (const b of input.batches()) yield b.filter((ev) => timeOrSkip(ev, '@timestamp', onSkip) !== null);
      }
      return { ...input, batches: timed };
    },
    take: () => ({ opened }),
  };
  const pool = openParallelInputs([{ path: file, kind: 'json' }], { threads, route: { kind: 'all' }, onSkip: (s) => skips.push(s), parts: { bytes, local } });
  const input = pool.inputs[0]! as ParallelInput;
  try {
    for await (const b of input.batches()) for (const ev of b) events.push(shape(ev));
  } finally {
    await pool.close();
  }
  return { events, skips, parts: input.parts!() };
}

describe('reading one file in parts', () => {
  const lines = generatedLines(3000, 'parts-1');
  // Malformed lines spread over the file: an unparsable line, a value that is not an object, an
  // event without a time, a blank line and an empty object's neighbour with a byte order mark
  // (text in the middle of a file, not a mark).
  lines.splice(500, 0, '{"@timestamp": "2026-11-01T00:00:01Z", "a": tru}');
  lines.splice(1200, 0, '42');
  lines.splice(1800, 0, JSON.stringify({ message: 'no time' }));
  lines.splice(2100, 0, '');
  const bomLine = '\uFEFF' + JSON.stringify({ '@timestamp': '2026-11-01T00:00:02Z' });
  lines.splice(2500, 0, bomLine);
  const file = write('plain.ndjson', lines);

  it('gives the events, positions, ids and skipped lines of one piece, parts cut mid-line', async () => {
    const serial = await readSerial(file);
    // Lines are about 1 KB: parts of 4 KiB end in the middle of lines, and there are hundreds.
    const parted = await readParts(file, 4096);
    expect(parted.parts.started).toBeGreaterThan(300);
    expect(parted.parts.consumed).toBe(parted.parts.started);
    expect(parted.events.length).toBe(serial.events.length);
    expect(parted.events).toEqual(serial.events);
    expect(parted.skips).toEqual(serial.skips);
    // The malformed lines, named by their line in the whole file (1-based).
    expect(serial.skips.map((s) => [s.position.line, s.reason])).toEqual([
      [501, 'invalid JSON at line 501 column 45: unexpected "t", expected a value'],
      [1201, 'expected a JSON object or array, found "42"'],
      [1801, `event ${fileIdPrefix(file)}:1801 has no @timestamp; skipped`],
      // The mark is text here (the line is not an object); the message's snippet leaves it out.
      [2501, `expected a JSON object or array, found ${JSON.stringify(bomLine.slice(1))}`],
    ]);
    expect(serial.events.length).toBe(3000);
  }, 60_000);

  it('gives the same when the main thread reads parts too, while it would wait for the worker', async () => {
    const serial = await readSerial(file);
    const parted = await readPartsWithMain(file, 4096);
    // The worker starts (loads its modules) after the main thread has its first part to wait for.
    expect(parted.parts.local).toBeGreaterThan(0);
    expect(parted.parts.local).toBeLessThan(parted.parts.started);
    expect(parted.parts.consumed).toBe(parted.parts.started);
    expect(parted.events).toEqual(serial.events);
    expect(parted.skips).toEqual(serial.skips);
    expect(parted.skips.length).toBe(4);
  }, 60_000);

  it('leaves the parts to the workers when they take every core', async () => {
    expect([mainReadsParts(1, 1), mainReadsParts(1, 2), mainReadsParts(2, 2), mainReadsParts(2, 3), mainReadsParts(3, 3), mainReadsParts(3, 8)]).toEqual([true, true, false, true, false, true]);
    const serial = await readSerial(file);
    const cores = availableParallelism();
    const parted = await readPartsWithMain(file, 4096, Math.max(2, cores));
    expect(parted.parts.local).toBe(0);
    expect(parted.parts.consumed).toBe(parted.parts.started);
    expect(parted.events).toEqual(serial.events);
    expect(parted.skips).toEqual(serial.skips);
  }, 60_000);

  it('falls back to one piece from a part that ends inside multi-line JSON', async () => {
    const more = generatedLines(1500, 'parts-2');
    const pretty = JSON.stringify({ '@timestamp': '2026-11-01T00:00:03Z', event: { category: 'process' }, host: { id: 'hp' } }, null, 2).split('\n');
    more.splice(700, 0, ...pretty);
    // Longer than a part (800 lines of about 12 bytes): some part ends inside it.
    const long = JSON.stringify({ '@timestamp': '2026-11-01T00:00:05Z', host: { id: 'hl' }, pad: Array.from({ length: 800 }, (_, k) => k) }, null, 2).split('\n');
    more.splice(1300, 0, ...long);
    more.splice(1000, 0, '{"@timestamp": "2026-11-01T00:00:04Z", "cut": ');
    more.splice(1100, 0, '{"broken');
    const f = write('pretty.ndjson', more);
    const serial = await readSerial(f);
    const parted = await readParts(f, 4096);
    expect(parted.events).toEqual(serial.events);
    expect(parted.skips).toEqual(serial.skips);
    const withMain = await readPartsWithMain(f, 4096);
    expect(withMain.events).toEqual(serial.events);
    expect(withMain.skips).toEqual(serial.skips);
    // The pretty-printed events are read: line 701, and 1,303 (the two lines spliced in below it).
    expect(serial.events.find((e) => (e.source as { host?: { id?: string } }).host?.id === 'hp')?.position).toEqual({ file: f, line: 701 });
    expect(serial.events.find((e) => (e.source as { host?: { id?: string } }).host?.id === 'hl')?.position).toEqual({ file: f, line: 1303 });
    expect(serial.skips.length).toBeGreaterThan(0);
    expect(parted.parts.consumed).toBeLessThan(parted.parts.started);
  }, 60_000);

  it('reads on in parts past a truncated line, a deep array and invalid UTF-8 that end inside their parts', async () => {
    // The hostile lines of a damaged export: each is skipped or abandoned before its part ends, so
    // the part ends as a fresh splitter starts the next one and no part falls back to one piece.
    const more = generatedLines(3000, 'parts-4');
    more.splice(700, 0, '['.repeat(5000) + ']'.repeat(5000));
    more.splice(1500, 0, more[1500]!.slice(0, 300));
    const text = Buffer.from(more.join('\n') + '\n');
    // Bytes that are not UTF-8 inside a string value.
    const at = text.indexOf('"message"', text.indexOf(more[2000]!.slice(0, 60)));
    const f = path.join(dir, 'damaged.ndjson');
    writeFileSync(f, Buffer.concat([text.subarray(0, at + 12), Buffer.from([0xff, 0xfe, 0xc3]), text.subarray(at + 12)]));
    const serial = await readSerial(f);
    const parted = await readParts(f, 64 << 10);
    expect(parted.events).toEqual(serial.events);
    expect(parted.skips).toEqual(serial.skips);
    expect(parted.parts.started).toBeGreaterThan(40);
    expect(parted.parts.consumed).toBe(parted.parts.started);
    const withMain = await readPartsWithMain(f, 64 << 10);
    expect(withMain.events).toEqual(serial.events);
    expect(withMain.skips).toEqual(serial.skips);
    expect(withMain.parts.consumed).toBe(withMain.parts.started);
    // The line the bytes went into is refused as Elasticsearch's parser refuses it, naming the
    // 0xff put 12 bytes into its "message" key (the first such key after where line 2,001's
    // start is first found, which is on line 2,012).
    const lineAt = text.lastIndexOf(10, at) + 1;
    expect([text.subarray(0, at).filter((c) => c === 10).length + 1, at + 12 - lineAt + 1]).toEqual([2012, 1001]);
    expect(serial.events.length).toBe(2999);
    expect(serial.skips.map((x) => [x.position.line, x.reason])).toEqual([
      [701, 'JSON nested deeper than 1000 levels'],
      [1501, 'invalid JSON at line 1501 column 301: unterminated string'],
      [2012, 'invalid UTF-8 byte 0xff at byte 1001 of the line'],
    ]);
  }, 60_000);

  it('keeps at most `ahead` parts it has not consumed (back-pressure)', async () => {
    const pool = openParallelInputs([{ path: file, kind: 'json' }], { threads: 2, route: { kind: 'all' }, parts: { bytes: 4096, ahead: 3 } });
    const input = pool.inputs[0]! as ParallelInput;
    try {
      const it = input.batches();
      await it.next();
      // The workers would read the whole file by now if nothing held them back.
      await new Promise((r) => setTimeout(r, 500));
      const p = input.parts!();
      expect(p.consumed).toBe(0);
      expect(p.started).toBe(3);
      let n = 0;
      for (let r = await it.next(); !r.done; r = await it.next()) n++;
      expect(n).toBeGreaterThan(300);
      expect(input.parts!().consumed).toBe(input.parts!().started);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('is used only for a UTF-8 NDJSON file of at least two parts', () => {
    expect(splittable(file, 4096)).toBe(true);
    expect(splittable(file, 1 << 30)).toBe(false); // smaller than two parts
    const text = readFileSync(file);
    const gz = path.join(dir, 'plain.ndjson.gz');
    writeFileSync(gz, gzipSync(text));
    expect(splittable(gz, 1024)).toBe(false);
    const utf16 = path.join(dir, 'utf16.ndjson');
    writeFileSync(utf16, Buffer.from('\uFEFF' + text.toString('utf8'), 'utf16le'));
    expect(splittable(utf16, 4096)).toBe(false);
    const array = path.join(dir, 'array.json');
    writeFileSync(array, '[\n' + text.toString('utf8').trim().split('\n').join(',\n') + '\n]\n');
    expect(splittable(array, 4096)).toBe(false);
    const bom = path.join(dir, 'bom.ndjson');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\n  '), text]));
    expect(splittable(bom, 4096)).toBe(true);
    expect(splittable(path.join(dir, 'missing.ndjson'), 4096)).toBe(false);
  });
});

describe('hunt over one file in parts equals hunt on the main thread', () => {
  // A rule without needles (any-seq): every line is parsed, so the file is read in parts.
  const rules = [
    ...loadRules([defaultRulesDir()]).rules,
    makeRule({ name: 'net', index: ['winlogbeat-*', 'logs-*'], query: 'network where destination.port == 443' }),
    makeRule({ name: 'any-seq', index: ['logs-*', 'winlogbeat-*'], query: 'sequence by host.id with maxspan=1m [any where true] ![network where true] [process where true]' }),
    makeRule({ name: 'sample', index: ['logs-*', 'winlogbeat-*'], query: 'sample by host.id [process where true] [network where true]' }),
  ];

  it('the same alerts, statistics and skipped items', async () => {
    const lines = generatedLines(4000, 'parts-3');
    const planted = seedPair('2026-11-01T00:10:00Z', '2026-11-01T00:10:02Z', 'hx', 'eve').map((d) => JSON.stringify(d));
    lines.splice(2000, 0, ...planted);
    lines.splice(3000, 0, '{broken', JSON.stringify({ message: 'no time' }));
    const file = write('hunt.ndjson', lines);
    const run = async (threads: number, extra: Partial<HuntOptions> = {}) => {
      const skipped: SkippedItem[] = [];
      const r = await hunt({ rules, inputs: [file], threads, now: Date.parse('2026-11-02T00:00:00Z'), onSkip: (s) => skipped.push(s), ...extra });
      return { r, skipped };
    };
    const serial = await run(0);
    const parted = await run(2, { partBytes: 16 << 10 });
    expect(parted.r.alerts).toEqual(serial.r.alerts);
    expect(parted.r.stats).toEqual(serial.r.stats);
    expect(parted.skipped).toEqual(serial.skipped);
    // One worker and the main thread share the parts (the default on 2 cores for a large file).
    // The main thread reads its parts through a LinePicker too: its events stand for their lines,
    // read back for the alerts and the sequences that keep them.
    const picks = vi.spyOn(LinePicker.prototype, 'pick');
    const shared = await run(1, { partBytes: 16 << 10 });
    const picked = picks.mock.results.filter((x) => x.type === 'return' && x.value !== null).length;
    picks.mockRestore();
    expect(picked).toBeGreaterThan(0);
    expect(shared.r.alerts).toEqual(serial.r.alerts);
    expect(shared.r.stats).toEqual(serial.r.stats);
    expect(shared.skipped).toEqual(serial.skipped);
    const s = serial.r.stats;
    expect(s.events).toBe(4002);
    expect(serial.skipped.map((x) => [x.position.line, x.reason])).toEqual([
      [3001, 'invalid JSON at line 3001 column 2: unexpected "b", expected a property name in double quotes'],
      [3002, `event ${fileIdPrefix(file)}:3002 has no @timestamp; skipped`],
    ]);
    // The planted seed-rule sequence alerts (2 building blocks + the shell) among the others.
    expect(s.perRule.find((r) => r.name === 'Windows Script Interpreter Executing Process via WMI')!.alerts).toBeGreaterThanOrEqual(3);
    expect(s.perRule.find((r) => r.name === 'any-seq')!.dispatched).toBe(4002);
  }, 120_000);
});
