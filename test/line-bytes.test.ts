// Whole events of a part of a file travel from a worker as a byte range of the file instead of
// their JSON text (events/line-bytes.ts, parallel/file-lines.ts): the ranges must be exactly the
// lines' bytes whatever the reads cut (multi-byte characters, CRLF, blanks, a last line without a
// newline), and the main thread must get the same document back, or a clear error when the file
// changed meanwhile.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LineStarts } from '../src/events/line-bytes.js';
import { readEvents } from '../src/events/sources.js';
import { FileLines } from '../src/parallel/file-lines.js';
import { openParallelInputs, type ParallelInput } from '../src/parallel/pool.js';
import type { EventDoc } from '../src/events/types.js';
import { tempDir } from './detect-helpers.js';

const dir = tempDir('eqlite-line-bytes-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LineStarts', () => {
  it('locates lines cut across reads, and forgets the lines before the one asked for', () => {
    // Lines 7, 8, 9 of a file, the part starting at byte 100; the middle line holds 'é' (2 bytes).
    const bytes = Buffer.from('{"a":1}\n  {"b":"é"}\r\n{"c":3}');
    const starts = new LineStarts(100, 7);
    starts.add(bytes.subarray(0, 5), 100);
    starts.add(bytes.subarray(5, 16), 105);
    starts.add(bytes.subarray(16), 116);
    const at = { at: 0, bytes: 0 };
    expect(starts.lineAt(7, at)).toBe(true);
    expect(at).toEqual({ at: 100, bytes: 7 });
    expect(starts.lineAt(8, at)).toBe(true);
    // Blanks and the carriage return are part of the line; the newline is not.
    expect(at).toEqual({ at: 108, bytes: 13 });
    // The last line has no newline: it ends where the bytes end.
    expect(starts.lineAt(9, at)).toBe(true);
    expect(at).toEqual({ at: 122, bytes: 7 });
    expect(bytes.subarray(8, 21).toString()).toBe('  {"b":"é"}\r');
    // Lines before the last one asked for are gone; lines not read yet are unknown.
    expect(starts.lineAt(8, at)).toBe(false);
    expect(starts.lineAt(10, at)).toBe(false);
  });

  it('turns itself off when too many lines wait (input without one-line events)', () => {
    const starts = new LineStarts(0, 1);
    starts.add(Buffer.from('\n'.repeat(70_000)), 0);
    expect(starts.off).toBe(true);
    expect(starts.lineAt(1, { at: 0, bytes: 0 })).toBe(false);
  });
});

describe('a part of a file read with its texts kept', () => {
  it('gives each one-line event the bytes of its line', async () => {
    const lines = [
      JSON.stringify({ '@timestamp': '2026-11-01T00:00:00Z', n: 0 }),
      '\t {"@timestamp":"2026-11-01T00:00:01Z","name":"Ünïcödé ® ✓ 😀"} \r',
      '{"@timestamp":',
      '  "2026-11-01T00:00:02Z"}',
      JSON.stringify({ '@timestamp': '2026-11-01T00:00:03Z', pad: 'x'.repeat(200_000) }),
      '{"@timestamp":"2026-11-01T00:00:04Z","last":true}',
    ];
    const head = '{"first":"line","@timestamp":"2026-11-01T00:00:00Z"}\n';
    const file = path.join(dir, 'part.ndjson');
    // No newline after the last line.
    const body = Buffer.from(head + lines.join('\n'));
    writeFileSync(file, body);
    const start = Buffer.byteLength(head);
    const got: EventDoc[] = [];
    // Reads of 1 KiB: lines (and 'é', '😀') cut across reads.
    for await (const b of readEvents(file, { range: { start, line: 2, continued: true }, keepText: true, chunkSize: 1024 }).batches()) got.push(...b);
    expect(got.map((e) => e.position?.line)).toEqual([2, 3, 4, 6, 7]);
    // The multi-line value has no text and no place; the others' lines decode to blanks + text.
    expect(got.map((e) => e.textAt === undefined)).toEqual([false, false, true, false, false]);
    for (const e of got.filter((x) => x.textAt !== undefined)) {
      const line = body.subarray(e.textAt!, e.textAt! + e.textBytes!).toString('utf8');
      expect(line.trimStart()).toBe(e.text);
    }
    expect(got[1]!.textBytes).toBe(Buffer.byteLength(lines[1]!));
    // A file's first part (not `continued`) has no places: its events travel as text.
    const first: EventDoc[] = [];
    for await (const b of readEvents(file, { range: { start: 0, end: start, line: 1, continued: false }, keepText: true }).batches()) first.push(...b);
    expect(first.map((e) => [e.text !== undefined, e.textAt])).toEqual([[true, undefined]]);
  });
});

describe('FileLines', () => {
  it('reads a line back, and names the file and line when it changed', () => {
    const file = path.join(dir, 'back.ndjson');
    const a = '{"a":"é"}';
    writeFileSync(file, `{"x":1}\n  ${a}\n`);
    const lines = new FileLines(file);
    expect(lines.text(8, 2 + Buffer.byteLength(a), a.length, 2)).toBe(`  ${a}`);
    writeFileSync(file, `{"x":1}\n  {"a":"e"}\n`);
    expect(() => lines.text(8, 2 + Buffer.byteLength(a), a.length, 2)).toThrow(`${file}: line 2 is not what was read there (the file was changed while it was read)`);
    lines.close();
    // After close each read opens the file for itself.
    expect(lines.text(0, 7, 7, 1)).toBe('{"x":1}');
    writeFileSync(file, '{"x":1}');
    expect(() => lines.text(8, 11, 9, 2)).toThrow(`${file}: line 2 is no longer where it was read (the file was changed while it was read)`);
  });
});

describe('whole events of parts travel as places in the file', () => {
  const docs = Array.from({ length: 600 }, (_, i) => ({ '@timestamp': `2026-11-01T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`, i, name: `ñ-${i}-✓` }));
  const text = docs.map((d) => JSON.stringify(d)).join('\n') + '\n';

  async function readWhole(file: string): Promise<EventDoc[]> {
    const pool = openParallelInputs([{ path: file, kind: 'json' }], { threads: 2, route: { kind: 'all' }, parts: { bytes: 4096 } });
    const out: EventDoc[] = [];
    try {
      for await (const b of (pool.inputs[0] as ParallelInput).batches()) out.push(...b);
    } finally {
      await pool.close();
    }
    return out;
  }

  it('gives the same documents when read after the input is closed', async () => {
    const file = path.join(dir, 'whole.ndjson');
    writeFileSync(file, text);
    const events = await readWhole(file);
    expect(events.map((e) => e.source)).toEqual(docs);
  }, 60_000);

  it('reads lines back from the file opened before the workers read it, also once it is removed', async () => {
    const file = path.join(dir, 'rotated.ndjson');
    writeFileSync(file, text);
    const pool = openParallelInputs([{ path: file, kind: 'json' }], { threads: 2, route: { kind: 'all' }, parts: { bytes: 4096 } });
    const events: EventDoc[] = [];
    try {
      for await (const b of (pool.inputs[0] as ParallelInput).batches()) events.push(...b);
      rmSync(file);
      expect(events.map((e) => e.source)).toEqual(docs);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('reports a line of a part that changed before its document was read', async () => {
    const file = path.join(dir, 'changed.ndjson');
    writeFileSync(file, text);
    const events = await readWhole(file);
    writeFileSync(file, text.replace('"ñ-500-✓"', '"n-500-v"'));
    expect(events[499]!.source).toEqual(docs[499]);
    expect(() => events[500]!.source).toThrow(`${file}: line 501 is not what was read there (the file was changed while it was read)`);
  }, 60_000);
});
