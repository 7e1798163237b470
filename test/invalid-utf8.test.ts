// Input lines holding bytes that are not UTF-8: Elasticsearch's JSON parser (Jackson) refuses
// such a document, so `hunt` and `query` skip the line with the first bad byte named, as `serve`
// answers such a bulk document with a 400 — wherever reads cut the input, with or without the
// line filter's byte path, gzipped, and in the worker threads' parts (test/parts.test.ts). The
// expected answers come from an oracle that looks at each whole line alone (firstInvalidUtf8).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LineFilter } from '../src/events/prefilter.js';
import { readEvents, STUB_SOURCE } from '../src/events/sources.js';
import { firstInvalidUtf8, Utf8Chunks } from '../src/util/utf8.js';
import { runCli } from './cli-helpers.js';
import { mulberry32 } from './prng.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-invalid-utf8-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function write(b: Buffer, ext = 'ndjson'): string {
  const f = path.join(dir, `f${fileNo++}.${ext}`);
  writeFileSync(f, b);
  return f;
}

const T = (s: number) => `"@timestamp":"2025-03-10T08:00:${String(s % 60).padStart(2, '0')}Z"`;
const bytes = (...parts: (string | number[] | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.isBuffer(p) ? p : Buffer.from(p))));

/** Each kind of byte sequence Jackson refuses, and one valid sequence of each length. */
const BAD: number[][] = [
  [0xff], // never in UTF-8
  [0xfe],
  [0x80], // a continuation byte alone
  [0xc0, 0xaf], // overlong '/'
  [0xc1, 0xbf], // overlong
  [0xe0, 0x80, 0xaf], // overlong three-byte form
  [0xf0, 0x80, 0x80, 0xaf], // overlong four-byte form
  [0xed, 0xa0, 0x80], // an encoded surrogate (U+D800)
  [0xed, 0xbf, 0xbf], // U+DFFF
  [0xf4, 0x90, 0x80, 0x80], // U+110000, beyond U+10FFFF
  [0xf5, 0x80, 0x80, 0x80],
  [0xe2, 0x82], // a sequence cut short by ASCII
  [0xf0, 0x9f, 0x98], // a four-byte sequence cut short
  [0xc3], // a lead byte alone
  [0xc3, 0xc3], // two leads
  [0xe2, 0x82, 0xe2, 0x82, 0xac], // a cut sequence, then a whole one
];
const GOOD: number[][] = [[0xc2, 0xae], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xef, 0xbf, 0xbd], [0xf0, 0x9f, 0x98, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0xed, 0x9f, 0xbf], [0xee, 0x80, 0x80]];

/** What the reader must answer: each line looked at alone. */
function oracle(b: Buffer): Map<number, string> {
  const bad = new Map<number, string>();
  let start = 0;
  for (let line = 1; start <= b.length; line++) {
    let nl = b.indexOf(10, start);
    if (nl < 0) nl = b.length;
    const at = firstInvalidUtf8(b, start, nl);
    if (at >= 0) bad.set(line, `invalid UTF-8 byte 0x${b[at]!.toString(16).padStart(2, '0')} at byte ${at - start + 1} of the line`);
    start = nl + 1;
  }
  return bad;
}

interface Got {
  events: string[];
  skipped: string[];
}

async function read(file: string, o: { chunk?: number; filter?: boolean; byteLines?: boolean }): Promise<Got> {
  const skipped: string[] = [];
  const reader = readEvents(file, {
    chunkSize: o.chunk,
    byteLines: o.byteLines,
    lineFilter: o.filter ? new LineFilter(['powershell.exe'], '@timestamp') : null,
    onSkip: (s) => skipped.push(`${s.position.line}: ${s.reason}`),
  });
  const events: string[] = [];
  for await (const batch of reader.batches()) {
    for (const e of batch) events.push(e.source === STUB_SOURCE ? `${e.position!.line} stub` : `${e.position!.line} ${JSON.stringify(e.source)}`);
  }
  expect(reader.counts.skipped).toBe(skipped.length);
  expect(reader.counts.read).toBe(events.length);
  return { events, skipped };
}

describe('Utf8Chunks: faults', () => {
  it('names, for each line, the byte the whole line names, wherever writes cut it, with Node’s text', () => {
    const rnd = mulberry32(2026);
    const pick = <X>(xs: readonly X[]) => xs[Math.floor(rnd() * xs.length)]!;
    for (let doc = 0; doc < 400; doc++) {
      const parts: (string | number[])[] = [];
      for (let i = 0, n = 1 + Math.floor(rnd() * 40); i < n; i++) {
        const r = rnd();
        parts.push(r < 0.1 ? '\n' : r < 0.25 ? pick(BAD) : r < 0.5 ? pick(GOOD) : 'x'.repeat(Math.floor(rnd() * 8)));
      }
      const b = bytes(...parts);
      const cuts = [...new Set(Array.from({ length: Math.floor(rnd() * 8) }, () => Math.floor(rnd() * (b.length + 1))))].sort((x, y) => x - y);
      const d = new Utf8Chunks();
      const node = new StringDecoder('utf8');
      const found = new Map<number, string>();
      let text = '';
      let line = 1;
      let at = 0;
      const take = (t: string) => {
        for (const f of d.faults) {
          const l = line + f.newlines;
          if (!found.has(l)) found.set(l, `invalid UTF-8 byte 0x${f.value.toString(16).padStart(2, '0')} at byte ${f.byte} of the line`);
        }
        text += t;
        for (const c of t) if (c === '\n') line++;
      };
      let want = '';
      for (const c of [...cuts, b.length]) {
        take(d.write(b.subarray(at, c)));
        want += node.write(b.subarray(at, c));
        at = c;
      }
      take(d.end());
      want += node.end();
      expect(text).toBe(want);
      expect([...found], `document ${doc}: ${b.toString('hex')} cut at ${cuts.join(',')}`).toEqual([...oracle(b)]);
    }
  });
});

describe('reading input that is not UTF-8', () => {
  it('skips each line that holds such bytes, naming the first, and reads the rest', async () => {
    const b = bytes(
      [0xef, 0xbb, 0xbf], // a byte order mark: text, not a fault
      `{${T(1)},"a":"ok ®"}\n`,
      `{${T(2)},"a":"latin1 caf`, [0xe9], `"}\n`,
      `{${T(3)},"a":"surrogate `, [0xed, 0xa0, 0x80], `"}\r\n`,
      `{${T(4)},"a":"overlong `, [0xc0, 0xaf], `"}\n`,
      `{${T(5)},"a":"beyond U+10FFFF `, [0xf4, 0x90, 0x80, 0x80], `","b":"`, [0xff], `"}\n`,
      `{${T(6)},"a":"cut `, [0xe2, 0x82], `powershell.exe"}\n`,
      `{\n  ${T(7)},\n  "a": "pretty `, [0xfe], `"\n}\n`, // lines 7–10: one value, refused at its start, naming line 9
      `{${T(8)},"a":"whole €𝄞"}\n`,
      `{${T(9)},"a":"cut at the end `, [0xf0, 0x9f], // (truncated JSON too)
    );
    const want: Got = {
      events: [`1 {"@timestamp":"2025-03-10T08:00:01Z","a":"ok ®"}`, `11 {"@timestamp":"2025-03-10T08:00:08Z","a":"whole €𝄞"}`],
      skipped: [
        // The byte named is the one that has to be fixed: the lead byte of the broken sequence
        // (the Latin-1 "é", not the quote after it).
        '2: invalid UTF-8 byte 0xe9 at byte 53 of the line',
        '3: invalid UTF-8 byte 0xed at byte 53 of the line',
        '4: invalid UTF-8 byte 0xc0 at byte 52 of the line',
        '5: invalid UTF-8 byte 0xf4 at byte 59 of the line',
        '6: invalid UTF-8 byte 0xe2 at byte 47 of the line',
        '7: invalid UTF-8 byte 0xfe at byte 16 of line 9',
        // Not JSON either: told as the JSON error, which reads of any size find alike.
        '12: invalid JSON at line 12 column 59: unterminated string',
      ],
    };
    // The oracle agrees on each line (the value over lines 7–10 is refused at its first line).
    expect([...oracle(b)].map(([l, r]) => `${l}: ${r}`)).toEqual([...want.skipped.slice(0, 5), '9: invalid UTF-8 byte 0xfe at byte 16 of the line', '12: invalid UTF-8 byte 0xf0 at byte 58 of the line']);
    const file = write(b);
    const gz = write(gzipSync(b), 'ndjson.gz');
    for (const chunk of [1, 2, 3, 4, 5, 7, 13, 64, undefined]) {
      expect(await read(file, { chunk }), `reads of ${chunk}`).toEqual(want);
      expect(await read(gz, { chunk }), `gzip, reads of ${chunk}`).toEqual(want);
    }
    // With a line filter (no line here is a stub: the good ones are before the byte path starts
    // or parsed for their needle... line 11 has none: a stub).
    const filtered = { events: ['1 stub', '11 stub'], skipped: want.skipped };
    for (const chunk of [1, 3, 7, 64, undefined]) {
      expect(await read(file, { chunk, filter: true }), `filtered reads of ${chunk}`).toEqual(filtered);
      expect(await read(file, { chunk, filter: true, byteLines: false }), `filtered decoded reads of ${chunk}`).toEqual(filtered);
    }
  });

  it('agrees with the oracle over 150 random files, read in random sizes, with and without the line filter', async () => {
    const rnd = mulberry32(15);
    const pick = <X>(xs: readonly X[]) => xs[Math.floor(rnd() * xs.length)]!;
    for (let doc = 0; doc < 150; doc++) {
      const lines: Buffer[] = [];
      const n = 1 + Math.floor(rnd() * 40);
      for (let i = 0; i < n; i++) {
        const inner: (string | number[])[] = [];
        for (let k = Math.floor(rnd() * 4); k > 0; k--) inner.push(rnd() < 0.15 ? pick(BAD) : rnd() < 0.5 ? pick(GOOD) : pick(['x', 'powershell.exe', ' ', 'é']));
        lines.push(bytes(`{${T(i)},"a":"`, ...inner, `"}`));
      }
      const b = Buffer.concat([...lines.flatMap((l) => [l, Buffer.from('\n')])]);
      const bad = oracle(b);
      const file = write(b);
      const plain = await read(file, {});
      // Every line is one object: the good ones are read, the bad ones skipped with the oracle's reason.
      expect(plain.skipped).toEqual([...bad].map(([l, r]) => `${l}: ${r}`));
      expect(plain.events.map((e) => Number(e.split(' ')[0]))).toEqual(lines.map((_, i) => i + 1).filter((l) => !bad.has(l)));
      const chunk = 1 + Math.floor(rnd() * (rnd() < 0.5 ? 16 : 3000));
      expect(await read(file, { chunk }), `document ${doc}, reads of ${chunk}`).toEqual(plain);
      const filtered = await read(file, { filter: true });
      expect(filtered.skipped).toEqual(plain.skipped);
      expect(await read(file, { chunk, filter: true }), `document ${doc}, filtered reads of ${chunk}`).toEqual(filtered);
      expect(await read(file, { chunk, filter: true, byteLines: false }), `document ${doc}, filtered decoded reads of ${chunk}`).toEqual(filtered);
    }
  });

  it('never reads a value holding such bytes, whatever its shape, with the same answer whatever the reads', async () => {
    // Pretty-printed values, arrays, truncated lines, blank lines and CRLF around the bad bytes:
    // no event read holds U+FFFD (no good sequence here encodes it), and every way of reading
    // gives the same events and skipped items.
    const rnd = mulberry32(77);
    const pick = <X>(xs: readonly X[]) => xs[Math.floor(rnd() * xs.length)]!;
    const good = GOOD.filter((g) => g[0] !== 0xef);
    const str = () => {
      const inner: (string | number[])[] = [];
      for (let k = Math.floor(rnd() * 3); k > 0; k--) inner.push(rnd() < 0.2 ? pick(BAD) : rnd() < 0.5 ? pick(good) : pick(['x', 'powershell.exe', ' ']));
      return bytes('"', ...inner, '"');
    };
    for (let doc = 0; doc < 150; doc++) {
      const items: Buffer[] = [];
      for (let i = 0, n = 1 + Math.floor(rnd() * 25); i < n; i++) {
        const r = rnd();
        if (r < 0.6) items.push(bytes(`{${T(i)},"a":`, str(), '}'));
        else if (r < 0.75) items.push(bytes(`{\n  ${T(i)},\n  "a": `, str(), ',\n  "b": ', str(), '\n}'));
        else if (r < 0.82) items.push(bytes(`[{${T(i)},"a":`, str(), `},{${T(i)},"b":1}]`));
        else if (r < 0.9) items.push(bytes(`{${T(i)},"a":`, str()).subarray(0, 20 + Math.floor(rnd() * 30)));
        else items.push(Buffer.from(rnd() < 0.5 ? '' : '   '));
      }
      const b = Buffer.concat(items.flatMap((x) => [x, Buffer.from(rnd() < 0.2 ? '\r\n' : '\n')]));
      const file = write(b);
      const whole = await read(file, {});
      for (const e of whole.events) expect(e.includes('\ufffd'), `document ${doc}: ${e}`).toBe(false);
      const chunk = 1 + Math.floor(rnd() * (rnd() < 0.5 ? 16 : 2000));
      expect(await read(file, { chunk }), `document ${doc}, reads of ${chunk}`).toEqual(whole);
      expect(await read(write(gzipSync(b), 'ndjson.gz'), { chunk }), `document ${doc}, gzip`).toEqual(whole);
      const filtered = await read(file, { filter: true });
      expect(filtered.skipped, `document ${doc}`).toEqual(whole.skipped);
      expect(await read(file, { chunk, filter: true }), `document ${doc}, filtered reads of ${chunk}`).toEqual(filtered);
      expect(await read(file, { chunk, filter: true, byteLines: false }), `document ${doc}, filtered decoded reads of ${chunk}`).toEqual(filtered);
    }
  });

  it('hunt over stdin reports the line and counts it skipped', async () => {
    const input = bytes(`{${T(1)},"event":{"category":"process"},"process":{"name":"a"}}\n`, `{${T(2)},"process":{"name":"b`, [0xff], `"}}\n`);
    const r = await runCli(['query', 'process where true', '-'], { input });
    expect(oracle(input).get(2)).toBe('invalid UTF-8 byte 0xff at byte 58 of the line');
    expect(r.stderr).toBe('eqlite: skipped <stdin>:2: invalid UTF-8 byte 0xff at byte 58 of the line\neqlite: read 1 event(s); skipped 1 item(s): 1 invalid (<stdin>:2)\n');
    expect(r.stdout).toContain('"name":"a"');
    expect(r.stdout).not.toContain('"name":"b');
  });
});
