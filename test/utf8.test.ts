// UTF-8 decoding of event input (util/utf8.ts): the fast path for mostly-ASCII text with Latin-1
// characters must give exactly Node's own decoding — Buffer.toString('utf8') for a region, and
// StringDecoder for a stream cut anywhere — on valid text, invalid bytes, byte order marks and
// characters split between reads.
import { StringDecoder } from 'node:string_decoder';
import { describe, expect, it } from 'vitest';
import { decodeUtf8, Utf8Chunks } from '../src/util/utf8.js';
import { textDecoder } from '../src/util/text.js';
import { mulberry32 } from './prng.js';

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

/** Decodes `b` written in pieces cut at `cuts`, with a streaming decoder. */
function decodedInPieces(d: { write(b: Buffer): string; end(): string }, b: Buffer, cuts: number[]): string {
  let out = '';
  let at = 0;
  for (const c of [...cuts, b.length]) {
    out += d.write(b.subarray(at, c));
    at = c;
  }
  return out + d.end();
}

/** With Utf8Chunks. */
const streamed = (b: Buffer, cuts: number[]): string => decodedInPieces(new Utf8Chunks(), b, cuts);

/** The same with Node's StringDecoder. */
const nodeStreamed = (b: Buffer, cuts: number[]): string => decodedInPieces(new StringDecoder('utf8'), b, cuts);

describe('decodeUtf8', () => {
  it('decodes Latin-1 characters among ASCII to the exact text', () => {
    // Long enough for the pairs to be sparse (one per 128 bytes at most), as in Agent data.
    const line = `{"product":"Microsoft® Windows® Operating System","user":"José Müller","n":"Ã¿ÿ","pad":"${'x'.repeat(1000)}"}\n`;
    const b = Buffer.from(line, 'utf8');
    expect(decodeUtf8(b, 0, b.length)).toBe(line);
    // A region inside a larger buffer.
    const wide = bytes('xx', line, 'yy');
    expect(decodeUtf8(wide, 2, 2 + b.length)).toBe(line);
    expect(decodeUtf8(b, 0, 0)).toBe('');
  });

  it('decodes ASCII text as it is', () => {
    const b = Buffer.from('{"a":"b"}\r\n{"c":1}\n', 'utf8');
    expect(decodeUtf8(b, 0, b.length)).toBe('{"a":"b"}\r\n{"c":1}\n');
  });

  it('gives what Node gives for other scripts, invalid bytes and byte order marks', () => {
    const cases: Buffer[] = [
      bytes('it’s ™ — ', '©', ' 日本語 😀 end'), // three- and four-byte characters beside Latin-1 ones
      bytes('a', [0xc3, 0x28], 'b'), // lead byte followed by ASCII
      bytes('a', [0xc2], 'b'), // lone lead
      bytes('a', [0xae], 'b'), // lone continuation byte
      bytes('a', [0xc0, 0xaf], 'b', [0xc1, 0xbf]), // overlong forms
      bytes('a', [0xed, 0xa0, 0x80], 'b'), // an encoded surrogate
      bytes('a', [0xc2, 0xc2, 0xae], 'b'), // a lead, then a pair
      bytes('a', [0xc3, 0xc3], 'b'),
      bytes([0xef, 0xbb, 0xbf], '{"a":"®"}\n'), // a byte order mark is text here
      bytes('a', [0xff, 0xfe], '®'),
      bytes('é'.repeat(100)), // dense: left to V8
    ];
    for (const b of cases) expect(decodeUtf8(b, 0, b.length)).toBe(b.toString('utf8'));
    expect(decodeUtf8(cases[0]!, 0, cases[0]!.length)).toBe('it’s ™ — © 日本語 😀 end');
    expect(decodeUtf8(cases[1]!, 0, 4)).toBe('a\ufffd(b');
    expect(decodeUtf8(cases[8]!, 0, cases[8]!.length)).toBe('\ufeff{"a":"®"}\n');
  });

  it('matches Buffer.toString on random mostly-ASCII regions', () => {
    const rnd = mulberry32(7);
    const alphabet = [[0x61], [0x22], [0x0a], [0x0d], [0xc2, 0xae], [0xc3, 0xa9], [0xc2], [0xc3], [0xae], [0xbf], [0xc0, 0x80], [0xe2, 0x80, 0x99], [0xf0, 0x9f, 0x98, 0x80], [0xed, 0xa0, 0x80], [0xef, 0xbb, 0xbf], [0xff]];
    for (let round = 0; round < 3000; round++) {
      const parts: number[] = [];
      const len = Math.floor(rnd() * 1200);
      // Mostly ASCII, so that most regions take the fast path.
      const rare = rnd() < 0.5 ? 0.005 : 0.2;
      while (parts.length < len) parts.push(...(rnd() < rare ? alphabet[Math.floor(rnd() * alphabet.length)]! : [0x20 + Math.floor(rnd() * 95)]));
      const b = Buffer.from(parts);
      const s = Math.floor(rnd() * (b.length + 1));
      const e = s + Math.floor(rnd() * (b.length - s + 1));
      expect(decodeUtf8(b, s, e)).toBe(b.toString('utf8', s, e));
    }
  });
});

describe('Utf8Chunks', () => {
  it('decodes a character split between writes whole', () => {
    const b = bytes('{"p":"Microsoft', '®', ' Windows"}\n');
    const at = b.indexOf(0xc2);
    expect(streamed(b, [at + 1])).toBe('{"p":"Microsoft® Windows"}\n');
    expect(streamed(b, [at, at + 1, at + 2])).toBe('{"p":"Microsoft® Windows"}\n');
    const four = bytes('a😀b');
    expect(streamed(four, [2, 3, 4])).toBe('a😀b');
  });

  it('ends a sequence cut short by the end of input with one U+FFFD', () => {
    expect(streamed(bytes('ab', [0xe2, 0x80]), [3])).toBe('ab\ufffd');
    expect(streamed(bytes('ab', [0xc2]), [])).toBe('ab\ufffd');
  });

  it('is what textDecoder gives for UTF-8', () => {
    const d = textDecoder('utf-8');
    expect(d.write(bytes('x®', [0xc3]))).toBe('x®');
    expect(d.write(bytes([0xa9], 'y\n'))).toBe('éy\n');
    expect(d.end()).toBe('');
  });

  it('matches StringDecoder on random inputs cut at random places', () => {
    const rnd = mulberry32(11);
    const alphabet = [[0x7b], [0x22], [0x0a], [0x0d, 0x0a], [0xc2, 0xae], [0xc3, 0xbc], [0xc2], [0xc3], [0x80], [0xbf], [0xc1, 0x81], [0xe2, 0x84, 0xa2], [0xf0, 0x9f, 0x98, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xed, 0xb0, 0x80], [0xef, 0xbb, 0xbf], [0xfe]];
    for (let round = 0; round < 2000; round++) {
      const parts: number[] = [];
      const len = Math.floor(rnd() * 800);
      const rare = rnd() < 0.5 ? 0.005 : 0.3;
      while (parts.length < len) parts.push(...(rnd() < rare ? alphabet[Math.floor(rnd() * alphabet.length)]! : [0x20 + Math.floor(rnd() * 95)]));
      const b = Buffer.from(parts);
      const cuts: number[] = [];
      for (let at = Math.floor(rnd() * 40); at < b.length; at += 1 + Math.floor(rnd() * 60)) cuts.push(at);
      expect(streamed(b, cuts)).toBe(nodeStreamed(b, cuts));
    }
  });
});
