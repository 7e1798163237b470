// Binary files named as input (an image, random bytes, a .tar.gz, xz data, an EVTX file under a
// .json name): recognised from their first bytes and skipped as one item that says what they look
// like — not read line by line into thousands of "invalid JSON" lines — while the other inputs
// are read; an EVTX file is read as EVTX whatever its name. Text that merely holds a NUL byte
// later on, and UTF-16 text (which is full of them), is still read as text.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { binaryReason, headDecides } from '../src/events/binary.js';
import { expandInputs, readEvents } from '../src/events/sources.js';
import { repoRoot, runCli } from './cli-helpers.js';
import { mulberry32 } from './prng.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-binary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rnd = mulberry32(7);
const random = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), random(3000)]);
const EVENT = '{"@timestamp":"2025-03-10T08:00:00Z","event":{"category":"process"},"process":{"name":"ok.exe"}}\n';

describe('binaryReason', () => {
  it('names known formats by their magic bytes, and other binary data by its first NUL byte', () => {
    expect(binaryReason(png, 'a.json')).toBe('binary file: a PNG image, not NDJSON, JSON or XML text; file skipped');
    // Random bytes that start with 0x13, with a NUL at their 11th byte.
    const noise = Buffer.concat([Buffer.from([0x13, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]), random(100)]);
    expect(binaryReason(noise, 'r.ndjson')).toBe('binary file: a NUL byte at byte 11, not NDJSON, JSON or XML text; file skipped');
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257, 'latin1');
    expect(binaryReason(tar, 'x.tar')).toBe('binary file: a tar archive, not NDJSON, JSON or XML text: extract it first (tar -xf x.tar); file skipped');
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04]);
    expect(binaryReason(xz, 'l.json.xz')).toBe('binary file: xz-compressed data, not NDJSON, JSON or XML text: decompress it first (xz -dc l.json.xz | eqlite hunt -); file skipped');
    expect(binaryReason(xz, '<stdin>')).toBe('binary file: xz-compressed data, not NDJSON, JSON or XML text: decompress it first (xz -dc); file skipped');
    expect(binaryReason(Buffer.from('ElfFile\0\0\0\0\0'), '<stdin>')).toBe(
      'binary file: an EVTX file (Windows event log), not NDJSON, JSON or XML text: save it to a file and name that file (EVTX is read with random access); file skipped',
    );
    // "MZ" alone could start a text line: an executable only with a NUL byte near the start.
    expect(binaryReason(Buffer.from('MZ is not JSON\n'), 'm.json')).toBeNull();
    expect(binaryReason(Buffer.from('MZ\x90\x00\x03\x00'), 'm.json')).toBe('binary file: a Windows executable (MZ), not NDJSON, JSON or XML text; file skipped');
  });

  it('leaves text alone: JSON or XML with a NUL byte further on, UTF-16 with or without a byte order mark, plain text', () => {
    expect(binaryReason(Buffer.from(`${EVENT}\0\0\0\0`), 'a.ndjson')).toBeNull();
    expect(binaryReason(Buffer.from(`\ufeff  [${EVENT}\0`), 'a.json')).toBeNull();
    expect(binaryReason(Buffer.from('<Events>\0'), 'a.xml')).toBeNull();
    expect(binaryReason(Buffer.from('\ufeff' + EVENT, 'utf16le'), 'a.json')).toBeNull();
    expect(binaryReason(Buffer.from(EVENT, 'utf16le'), 'a.json')).toBeNull();
    expect(binaryReason(Buffer.from(EVENT, 'utf16le').swap16(), 'a.json')).toBeNull();
    expect(binaryReason(Buffer.from('not json at all\n'), 'a.json')).toBeNull();
  });
});

/** What the reader gives for `file` read `chunkSize` bytes at a time: its events' lines and its skipped items. */
async function readWith(file: string, chunkSize?: number): Promise<string[]> {
  const out: string[] = [];
  const input = readEvents(file, { ...(chunkSize ? { chunkSize } : {}), onSkip: (x) => out.push(`! ${x.position.line ?? '-'} ${x.reason}`) });
  for await (const batch of input.batches()) for (const e of batch) out.push(`${e.position?.line} ${JSON.stringify(e.source)}`);
  return out;
}

describe('the start of an input is judged whatever the read size', () => {
  it('a NUL byte, a ZIP archive, binary data in gzip: the same with reads of 1 to 8 bytes as with whole reads', async () => {
    // (Found by the fuzzer: reads of 3 bytes missed the NUL byte at byte 7 and read the file as text.)
    const cases: [string, Buffer, string][] = [
      ['nul.ndjson', Buffer.from([0xf0, 0x7b, 0x22, 0xe2, 0xff, 0x61, 0x00, 0x22]), '! - binary file: a NUL byte at byte 7, not NDJSON, JSON or XML text; file skipped'],
      ['a.zip.json', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), random(64)]), '! - a ZIP archive, not read: unzip it first (its JSON members can be piped: unzip -p FILE | eqlite hunt -)'],
      ['png.json.gz', gzipSync(png), '! - binary file (gzip-compressed): a PNG image, not NDJSON, JSON or XML text; file skipped'],
      ['nul.json.gz', gzipSync(Buffer.from('xyz\0 not text')), '! - binary file (gzip-compressed): a NUL byte at byte 4, not NDJSON, JSON or XML text; file skipped'],
    ];
    for (const [name, bytes, item] of cases) {
      const f = path.join(dir, name);
      writeFileSync(f, bytes);
      const want = [item.replace('FILE', f)];
      expect(await readWith(f), name).toEqual(want);
      for (let size = 1; size <= 8; size++) expect(await readWith(f, size), `${name} in reads of ${size}`).toEqual(want);
    }
  });

  it('text is read the same, and a gzip cut short within its first 4 KiB keeps the events before the damage', async () => {
    const f = path.join(dir, 'short.ndjson');
    writeFileSync(f, `  ${EVENT}${EVENT}`);
    const want = [`1 ${JSON.stringify(JSON.parse(EVENT))}`, `2 ${JSON.stringify(JSON.parse(EVENT))}`];
    for (const size of [undefined, 1, 2, 3, 50]) expect(await readWith(f, size)).toEqual(want);
    const gz = gzipSync(Buffer.from(EVENT.repeat(20)));
    const cut = path.join(dir, 'cut.ndjson.gz');
    writeFileSync(cut, gz.subarray(0, gz.length - 12));
    const whole = await readWith(cut);
    // (The last 4 bytes of compressed data lost take the last four events with them.)
    expect(whole.filter((l) => !l.startsWith('!')).length).toBe(16);
    expect(whole.slice(16)).toEqual([
      '! - gzip data is damaged or truncated (unexpected end of file); the rest of the file was not read',
      '! 17 invalid JSON: unterminated value (end of input before it closed)',
    ]);
    for (const size of [1, 7, 64]) expect(await readWith(cut, size)).toEqual(whole);
  });

  it('from stdin, a start that looks like JSON or XML is judged at once; anything else on 4 KiB or the end', () => {
    const b = (s: string) => Buffer.from(s);
    expect(headDecides(b('{"a'), false, true)).toBe(true);
    expect(headDecides(b('\ufeff \n['), false, true)).toBe(true);
    expect(headDecides(b('<Ev'), false, true)).toBe(true);
    expect(headDecides(b('  \n'), false, true)).toBe(false);
    expect(headDecides(Buffer.from([0xef, 0xbb]), false, true)).toBe(false);
    expect(headDecides(b('xyz'), false, true)).toBe(false);
    expect(headDecides(b('xyz'), true, true)).toBe(true);
    // A file is always judged on its first 4 KiB (or all of it).
    expect(headDecides(b('{"a'), false, false)).toBe(false);
    expect(headDecides(Buffer.alloc(4096, 0x20), false, false)).toBe(true);
  });
});

describe('binary inputs on the command line', () => {
  it('query: one line per binary file, the other inputs read, the counts printed, exit 0', async () => {
    const d = path.join(dir, 'cli');
    mkdirSync(d);
    writeFileSync(path.join(d, 'image.json'), png);
    writeFileSync(path.join(d, 'noise.ndjson'), Buffer.concat([Buffer.from([0x13, 0x37, 0]), random(200_000)]));
    writeFileSync(path.join(d, 'logs.tar.gz'), gzipSync(Buffer.concat([Buffer.alloc(257), Buffer.from('ustar'), Buffer.alloc(250)])));
    writeFileSync(path.join(d, 'good.ndjson'), EVENT);
    const r = await runCli(['query', 'process where true', 'image.json', 'noise.ndjson', 'logs.tar.gz', 'good.ndjson'], { cwd: d });
    expect(r.stderr).toBe(
      [
        'eqlite: skipped image.json offset 0: binary file: a PNG image, not NDJSON, JSON or XML text; file skipped',
        'eqlite: skipped noise.ndjson offset 0: binary file: a NUL byte at byte 3, not NDJSON, JSON or XML text; file skipped',
        'eqlite: skipped logs.tar.gz offset 0: binary file (gzip-compressed): a tar archive, not NDJSON, JSON or XML text: extract it first (tar -xf logs.tar.gz); file skipped',
        'eqlite: read 1 event(s); skipped 3 item(s): 2 binary file (image.json offset 0, noise.ndjson offset 0); 1 binary file (gzip-compressed) (logs.tar.gz offset 0)',
        '',
      ].join('\n'),
    );
    expect(r.stdout).toBe(EVENT);
    expect(r.code).toBe(0);
  });

  it('an EVTX file under a .json name is read as EVTX, named or found in a directory', async () => {
    const d = path.join(dir, 'evtx');
    mkdirSync(d);
    const sample = path.join(repoRoot, 'samples', 'evtx', 'Sysmon.evtx');
    copyFileSync(sample, path.join(d, 'exported.json'));
    expect(await expandInputs([path.join(d, 'exported.json'), d])).toEqual([{ path: path.join(d, 'exported.json'), kind: 'evtx' }]);
    const asEvtx = await runCli(['query', 'any where true', '--size', '1000', sample]);
    const renamed = await runCli(['query', 'any where true', '--size', '1000', 'exported.json'], { cwd: d });
    expect(renamed.code).toBe(0);
    expect(renamed.stderr).toBe(asEvtx.stderr);
    expect(renamed.stdout).toBe(asEvtx.stdout);
    expect(renamed.stdout.split('\n').filter(Boolean).length).toBeGreaterThan(3);
    // On stdin it cannot be: one line says what to do.
    const piped = await runCli(['query', 'any where true', '-'], { input: readFileSync(sample) });
    expect(piped.stderr).toBe(
      'eqlite: skipped <stdin> offset 0: binary file: an EVTX file (Windows event log), not NDJSON, JSON or XML text: save it to a file and name that file (EVTX is read with random access); file skipped\n' +
        'eqlite: read 0 event(s); skipped 1 item(s): 1 binary file (<stdin> offset 0)\n',
    );
  });
});
