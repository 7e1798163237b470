// Value rendering (exact Windows strings) and the BinXml semantics on synthetic files built
// byte by byte, so these run on a clean clone without ../shared.

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEvtx, toRawEvent, type EvtxRecord, type EvtxWarning } from '../src/evtx/index.js';
import { rawFromInstance } from '../src/evtx/direct.js';
import { decimal, decodeUtf16, renderArray, renderFiletime, renderGuid, renderScalar, renderSid, renderSystemtime, renderUtf16Strings } from '../src/evtx/values.js';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v, type ValueSpec } from './evtx-build.js';

const hexBuf = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');
const scalar = (type: number, h: string): string => {
  const b = hexBuf(h);
  return renderScalar(b, 0, b.length, type, 'upper');
};
const filetimeOf = (iso: string, ticks: number): bigint =>
  (BigInt(Date.parse(iso)) / 1000n + 11644473600n) * 10_000_000n + BigInt(ticks);

describe('value rendering', () => {
  it('GUID: little-endian first three groups, braces, upper case by default', () => {
    const b = hexBuf('25968454 7854 9449 A5BA 3E3B0328C30D');
    expect(renderGuid(b, 0)).toBe('{54849625-5478-4994-A5BA-3E3B0328C30D}');
    expect(renderGuid(b, 0, 'lower')).toBe('{54849625-5478-4994-a5ba-3e3b0328c30d}');
    // Recently rendered GUIDs are kept by their bytes: repeats, slot collisions and both cases.
    const reference = (g: Buffer, upper: boolean): string => {
      const h = g.toString('hex');
      const le = (x: string): string => x.match(/../g)!.reverse().join('');
      const t = `{${le(h.slice(0, 8))}-${le(h.slice(8, 12))}-${le(h.slice(12, 16))}-${h.slice(16, 20)}-${h.slice(20)}}`;
      return upper ? t.toUpperCase() : t;
    };
    let seed = 11;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const pool = Array.from({ length: 300 }, () => {
      const g = Buffer.alloc(16);
      for (let i = 0; i < 16; i += 4) g.writeUInt32LE(next(), i);
      return g;
    });
    for (let i = 0; i < 5000; i++) {
      const g = pool[next() % (i % 2 ? 300 : 5)]!;
      const upper = next() % 3 !== 0;
      expect(renderGuid(g, 0, upper ? 'upper' : 'lower')).toBe(reference(g, upper));
    }
  });

  it('SID: revision, 48-bit big-endian authority, u32 LE sub-authorities (no cap on count)', () => {
    const sid = Buffer.alloc(8 + 20);
    sid[0] = 1;
    sid[1] = 5;
    sid[7] = 5;
    [21, 1587066498, 1489273250, 1035260531, 500].forEach((n, i) => sid.writeUInt32LE(n, 8 + 4 * i));
    expect(renderSid(sid, 0, sid.length)).toBe('S-1-5-21-1587066498-1489273250-1035260531-500');
    expect(renderSid(hexBuf('0101000000000005 12000000'), 0, 12)).toBe('S-1-5-18');
    expect(renderSid(hexBuf('0100000000000000'), 0, 8)).toBe('S-1-0');
    const many = Buffer.alloc(8 + 4 * 15);
    many[0] = 1;
    many[1] = 15;
    many[7] = 5;
    expect(renderSid(many, 0, many.length)).toBe('S-1-5' + '-0'.repeat(15));
    expect(() => renderSid(hexBuf('0105000000000005 12000000'), 0, 12)).toThrow(/5 sub-authorities but has only 12 bytes/);
    // Recently rendered SIDs are kept by their bytes: repeats, slot collisions, a SID that is
    // another's prefix, and SIDs too long to keep.
    let seed = 7;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const pool = Array.from({ length: 400 }, (_, k) => {
      const n = k % 9;
      const b = Buffer.alloc(8 + 4 * n);
      b[0] = 1;
      b[1] = n;
      b.writeUIntBE(k % 50 === 0 ? 0x1234567890 : 5, 2, 6);
      for (let i = 0; i < n; i++) b.writeUInt32LE(k % 4 === 0 && i === 0 ? 21 : next(), 8 + 4 * i);
      return b;
    });
    const prefix = Buffer.from(pool[5]!.subarray(0, 8 + 4 * 4));
    prefix[1] = 4;
    pool.push(prefix);
    const reference = (b: Buffer): string => {
      const auth = b.readUIntBE(2, 6);
      let t = `S-${b[0]}-${auth >= 2 ** 32 ? '0x' + auth.toString(16).toUpperCase() : auth}`;
      for (let i = 0; i < b[1]!; i++) t += '-' + b.readUInt32LE(8 + 4 * i);
      return t;
    };
    for (let i = 0; i < 5000; i++) {
      const b = pool[next() % (i % 2 ? pool.length : 6)]!;
      // Extra bytes after the SID (a value sized larger than its SID) are not part of it.
      const padded = Buffer.concat([b, Buffer.from([next() & 255, 1, 2, 3])]);
      expect(renderSid(padded, 0, padded.length)).toBe(reference(b));
    }
  });

  it('FILETIME: ISO 8601 UTC with 7 fractional digits, exact to 100 ns', () => {
    const t = filetimeOf('2019-03-08T23:33:53Z', 7810500);
    const lo = Number(t & 0xffffffffn);
    const hi = Number(t >> 32n);
    expect(renderFiletime(lo, hi)).toBe('2019-03-08T23:33:53.7810500Z');
    const t2 = filetimeOf('2019-03-08T23:33:53Z', 1);
    expect(renderFiletime(Number(t2 & 0xffffffffn), Number(t2 >> 32n))).toBe('2019-03-08T23:33:53.0000001Z');
    expect(renderFiletime(0, 0)).toBe('1601-01-01T00:00:00.0000000Z');
    expect(scalar(0x11, '00 00 00 00 00 00 00 00')).toBe('1601-01-01T00:00:00.0000000Z');
    // The time of day is computed, the date formatted by Date: both agree with BigInt + Date
    // over the whole range, across midnights, in any order.
    const reference = (t: bigint): string => {
      const iso = new Date(Number(t / 10_000_000n - 11_644_473_600n) * 1000).toISOString();
      return `${iso.slice(0, -5)}.${String(t % 10_000_000n).padStart(7, '0')}Z`;
    };
    let seed = 7;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const day = 864_000_000_000n;
    const base = filetimeOf('2024-02-28T23:59:58Z', 0);
    const times = [0n, 2n ** 64n - 1n, 0x6b000000n << 32n, (0x6b000000n << 32n) - 1n, base + day - 1n, base + day];
    for (let i = 0; i < 2000; i++) times.push(i % 2 ? (BigInt(next()) << 32n) | BigInt(next()) : base + BigInt(next() % 5) * day + BigInt(next()) * 1000n);
    // Runs within one second (the text up to the fraction is reused), fractions of every length.
    for (let i = 0; i < 400; i++) times.push(base + BigInt(next() % 3) * 10_000_000n + BigInt(next() % 10 ** (1 + (i % 7))));
    for (const t of times) expect(renderFiletime(Number(t & 0xffffffffn), Number(t >> 32n))).toBe(reference(t));
  });

  it('SYSTEMTIME: 8 × u16; all zero is the FILETIME epoch', () => {
    const b = Buffer.alloc(16);
    [2021, 3, 3, 31, 23, 51, 45, 18].forEach((n, i) => b.writeUInt16LE(n, 2 * i));
    expect(renderSystemtime(b, 0)).toBe('2021-03-31T23:51:45.0180000Z');
    expect(renderSystemtime(Buffer.alloc(16), 0)).toBe('1601-01-01T00:00:00.0000000Z');
  });

  it('HexInt32/64 and SizeT: 0x + minimal lower-case hex', () => {
    expect(scalar(0x14, 'ffff1f00')).toBe('0x1fffff');
    expect(scalar(0x14, 'e7030000')).toBe('0x3e7');
    expect(scalar(0x14, '00000000')).toBe('0x0');
    expect(scalar(0x15, 'e5810e0000000000')).toBe('0xe81e5');
    expect(scalar(0x15, '0000000000000280')).toBe('0x8002000000000000');
    expect(scalar(0x15, '0100000001000000')).toBe('0x100000001');
    expect(scalar(0x10, 'e8030000')).toBe('0x3e8');
    expect(scalar(0x10, 'e803000000000000')).toBe('0x3e8');
  });

  it('integers: signed and unsigned decimal, 64-bit exact', () => {
    expect(scalar(0x03, 'ff')).toBe('-1');
    expect(scalar(0x04, 'ff')).toBe('255');
    expect(scalar(0x05, '00 80')).toBe('-32768');
    expect(scalar(0x06, '00 80')).toBe('32768');
    expect(scalar(0x07, 'ffffffff')).toBe('-1');
    expect(scalar(0x08, 'ffffffff')).toBe('4294967295');
    // Decimals below 65,536 are made once and kept.
    for (const n of [0, 1, 9, 10, 255, 256, 4624, 65535]) {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      expect(renderScalar(b, 0, 4, 0x08, 'upper')).toBe(String(n));
      expect(renderScalar(b, 0, 4, 0x08, 'upper')).toBe(String(n));
      if (n < 65536) expect(renderScalar(b, 0, 2, 0x06, 'upper')).toBe(String(n));
      if (n < 256) expect(renderScalar(b, 0, 1, 0x04, 'upper')).toBe(String(n));
    }
    expect(scalar(0x08, '00000100')).toBe('65536');
    expect(scalar(0x08, '01000100')).toBe('65537');
    // Below 10^8 the text is put together from kept pieces (high part, four padded digits).
    expect(scalar(0x08, '70110100')).toBe('70000');
    expect(scalar(0x08, '0a000100')).toBe('65546');
    expect(scalar(0x08, 'ffe0f505')).toBe('99999999');
    expect(scalar(0x08, '00e1f505')).toBe('100000000');
    expect(scalar(0x08, '15cd5b07')).toBe('123456789');
    expect(scalar(0x0a, 'ffe0f50500000000')).toBe('99999999');
    expect(scalar(0x0a, '0100010000000000')).toBe('65537');
    expect(scalar(0x0a, '0000000001000000')).toBe('4294967296');
    for (const n of [65536, 69999, 70000, 70001, 1000000, 1000009, 12340000, 12345678, 99990000, 99999999, 100000000, 2 ** 53 - 1]) expect(decimal(n)).toBe(String(n));
    let r = 5;
    for (let i = 0; i < 3000; i++) {
      r = (Math.imul(r, 1103515245) + 12345) >>> 0;
      const n = i % 3 === 0 ? r : i % 3 === 1 ? r % 100_000_000 : r % 1_000_000;
      expect(decimal(n)).toBe(String(n));
    }
    expect(scalar(0x09, 'ffffffffffffffff')).toBe('-1');
    expect(scalar(0x09, '0000000000000080')).toBe('-9223372036854775808');
    expect(scalar(0x0a, 'ffffffffffffffff')).toBe('18446744073709551615');
    expect(scalar(0x0a, 'ffffffffffff1f00')).toBe('9007199254740991');
  });

  it('Bool: lower-case true/false, any non-zero is true', () => {
    expect(scalar(0x0d, '01000000')).toBe('true');
    expect(scalar(0x0d, '02000000')).toBe('true');
    expect(scalar(0x0d, 'ffffffff')).toBe('true');
    expect(scalar(0x0d, '00000000')).toBe('false');
  });

  it('floats print compactly', () => {
    const f = Buffer.alloc(4);
    f.writeFloatLE(0.1);
    expect(renderScalar(f, 0, 4, 0x0b, 'upper')).toBe('0.1');
    const d = Buffer.alloc(8);
    d.writeDoubleLE(1.5);
    expect(renderScalar(d, 0, 8, 0x0c, 'upper')).toBe('1.5');
  });

  it('strings: UTF-16 without trailing NULs, ANSI as codepage 1252 without NULs, binary as upper hex', () => {
    const s = Buffer.from('C:\\Windows\0\0', 'utf16le');
    expect(renderScalar(s, 0, s.length, 0x01, 'upper')).toBe('C:\\Windows');
    const long = Buffer.from('x'.repeat(100) + 'é\u{1F600}', 'utf16le');
    expect(renderScalar(long, 0, long.length, 0x01, 'upper')).toBe('x'.repeat(100) + 'é\u{1F600}');
    expect(scalar(0x02, '63 61 66 e9 00 80')).toBe('café€');
    expect(scalar(0x0e, 'd9060000')).toBe('D9060000');
    expect(scalar(0x0e, '')).toBe('');
    expect(scalar(0x00, 'abcd')).toBe('');
  });

  it('strings: lone surrogates become U+FFFD, pairs are kept, also when values are decoded as one run', () => {
    // Code units as a UTF-16LE buffer (a string literal cannot hold lone surrogates reliably).
    const units = (...u: number[]): Buffer => {
      const b = Buffer.alloc(2 * u.length);
      u.forEach((x, i) => b.writeUInt16LE(x, 2 * i));
      return b;
    };
    expect(decodeUtf16(units(0x61, 0xd83d, 0xde00, 0x62), 0, 4)).toBe('a\u{1F600}b');
    expect(decodeUtf16(units(0x61, 0xd83d, 0x62), 0, 3)).toBe('a\ufffdb');
    expect(decodeUtf16(units(0xde00, 0x61), 0, 2)).toBe('\ufffda');
    // A run of values one after the other, described as a template instance's descriptors
    // (u16 size, type 0x01, 0): each value comes out as if decoded alone.
    const run = (values: Buffer[]): string[] => {
      const desc = Buffer.alloc(4 * values.length);
      values.forEach((v, i) => {
        desc.writeUInt16LE(v.length, 4 * i);
        desc[4 * i + 2] = 0x01;
      });
      const buf = Buffer.concat([desc, ...values]);
      const out: string[] = [];
      renderUtf16Strings(buf, 0, 0, values.length, desc.length, buf.length, out);
      return out;
    };
    // Plain text, trailing NULs dropped, an empty value.
    expect(run([units(0x61, 0x62), units(0x63, 0, 0), units()])).toEqual(['ab', 'c', '']);
    // A pair inside one value is kept.
    expect(run([units(0x61), units(0xd83d, 0xde00), units(0x62)])).toEqual(['a', '\u{1F600}', 'b']);
    // A pair split between two values: the run is well-formed, each value is not.
    expect(run([units(0x61, 0xd83d), units(0xde00, 0x62)])).toEqual(['a\ufffd', '\ufffdb']);
    expect(run([units(0xd83d), units(0xde00)])).toEqual(['\ufffd', '\ufffd']);
    // A lone high surrogate before NUL padding, and a lone low one, beside clean values.
    expect(run([units(0x78), units(0x61, 0xd83d, 0, 0), units(0xdc00), units(0x79)])).toEqual(['x', 'a\ufffd', '\ufffd', 'y']);
    // One value alone, with a pair and with a lone half.
    expect(run([units(0xd83d, 0xde00, 0)])).toEqual(['\u{1F600}']);
    expect(run([units(0x61, 0xdbff)])).toEqual(['a\ufffd']);
  });

  it('arrays: packed NUL-terminated strings, fixed-width items, consecutive SIDs', () => {
    const strs = Buffer.from('a\0bc\0\0', 'utf16le');
    expect(renderArray(strs, 0, strs.length, 0x81, 'upper')).toEqual(['a', 'bc', '']);
    expect(renderArray(hexBuf('0100 ffff'), 0, 4, 0x86, 'upper')).toEqual(['1', '65535']);
    expect(renderArray(hexBuf('ffff1f00 e7030000'), 0, 8, 0x94, 'upper')).toEqual(['0x1fffff', '0x3e7']);
    const sids = hexBuf('0101000000000005 12000000 0102000000000005 20000000 20020000');
    expect(renderArray(sids, 0, sids.length, 0x93, 'upper')).toEqual(['S-1-5-18', 'S-1-5-32-544']);
  });

  it('rejects values too small for their type', () => {
    expect(() => scalar(0x08, '0100')).toThrow(/needs 4 bytes, has 2/);
    expect(() => scalar(0x0f, '00')).toThrow(/needs 16 bytes/);
    expect(() => scalar(0x10, '010203')).toThrow(/SizeT value of 3 bytes/);
    expect(() => scalar(0x7f, '00')).toThrow(/unsupported value type 0x7f/);
  });
});

// ---------------------------------------------------------------------------------------

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-evtx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function writeTmp(b: Buffer): string {
  const p = path.join(dir, `f${fileNo++}.evtx`);
  writeFileSync(p, b);
  return p;
}
async function readAllFrom(file: string, strict = false) {
  const warnings: EvtxWarning[] = [];
  const r = readEvtx(file, { strict, onWarning: (w) => warnings.push(w) });
  const recs: EvtxRecord[] = [];
  for await (const x of r) recs.push(x);
  return { recs, stats: r.stats, warnings };
}

const T0 = filetimeOf('2024-01-02T03:04:05Z', 1234567);
const DATA_TEMPLATE = {
  name: 'EventData',
  children: [
    { name: 'Data', attrs: [['Name', ['Image']]] as [string, string[]][], children: [{ sub: 0 }] },
    { name: 'Data', attrs: [['Name', ['Maybe']]] as [string, string[]][], children: [{ sub: 1, opt: true }] },
    { name: 'Data', attrs: [['Name', ['Access']]] as [string, string[]][], children: [{ sub: 2 }] },
    { name: 'Data', attrs: [['Name', ['Items']]] as [string, string[]][], children: [{ sub: 3 }] },
    { name: 'Data', attrs: [['Name', ['Empty']]] as [string, string[]][], children: [{ sub: 4 }] },
    { name: 'Data', children: ['a&b<c>'] },
  ],
};

function systemValues(id: number, nested: ValueSpec): ValueSpec[] {
  const guid = Buffer.from('25968454785494 49A5BA3E3B0328C30D'.replace(/ /g, ''), 'hex');
  return [
    v.str('Prov'),
    v.raw(0x0f, guid),
    v.u16(4688),
    v.u64(T0, 0x11),
    v.u64(BigInt(id)),
    v.null(),
    v.str('Security'),
    v.str('HOST'),
    nested,
  ];
}

function syntheticChunk(firstId: number, count: number): Buffer {
  const w = new ChunkWriter();
  for (let i = 0; i < count; i++) {
    const id = firstId + i;
    w.record(id, T0, (w) => {
      w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      const nested = v.nested((w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        w.templateInstance('data', DATA_TEMPLATE, [
          v.str(`C:\\bin\\p${id}.exe`),
          i % 2 ? v.str('yes') : v.null(),
          v.hex32(0x1fffff),
          v.strArray(['x', 'y']),
          v.str(''),
        ]);
        w.u8(0x00);
      });
      w.templateInstance('event', EVENT_TEMPLATE, systemValues(id, nested));
      w.u8(0x00);
    });
  }
  return w.finish();
}

describe('synthetic files', () => {
  it('renders templates, optional Null, arrays, nested BinXml and escaping', async () => {
    const file = writeTmp(buildFile([syntheticChunk(10, 3)]));
    const { recs, stats, warnings } = await readAllFrom(file, true);
    expect(warnings).toEqual([]);
    expect(stats).toEqual({ recordsRead: 3, recordsSkipped: 0, chunksRead: 1, chunksSkipped: 0, chunksEmpty: 0, warnings: 0 });
    expect(recs.map((r) => r.recordId)).toEqual([10, 11, 12]);
    expect(recs[0]!.timestamp).toBe('2024-01-02T03:04:05.1234567Z');
    expect(recs[0]!.offset).toBe(0x1000 + 512);
    expect(recs[0]!.toRaw()).toEqual({
      System: {
        Provider: { Name: 'Prov', Guid: '{54849625-5478-4994-A5BA-3E3B0328C30D}' },
        EventID: '4688',
        TimeCreated: '2024-01-02T03:04:05.1234567Z',
        EventRecordID: '10',
        Correlation: {},
        Channel: 'Security',
        Computer: 'HOST',
      },
      // "Maybe" is an optional substitution of a Null value: the element is not emitted.
      EventData: { Image: 'C:\\bin\\p10.exe', Access: '0x1fffff', Items: ['x', 'y'], Empty: '', param6: 'a&b<c>' },
    });
    expect(recs[1]!.toRaw().EventData).toEqual({
      Image: 'C:\\bin\\p11.exe',
      Maybe: 'yes',
      Access: '0x1fffff',
      Items: ['x', 'y'],
      Empty: '',
      param7: 'a&b<c>',
    });
    expect(recs[0]!.toXml()).toBe(
      [
        '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">',
        '  <System>',
        '    <Provider Name="Prov" Guid="{54849625-5478-4994-A5BA-3E3B0328C30D}"/>',
        '    <EventID>4688</EventID>',
        '    <TimeCreated SystemTime="2024-01-02T03:04:05.1234567Z"/>',
        '    <EventRecordID>10</EventRecordID>',
        '    <Correlation/>',
        '    <Channel>Security</Channel>',
        '    <Computer>HOST</Computer>',
        '  </System>',
        '  <EventData>',
        '    <Data Name="Image">C:\\bin\\p10.exe</Data>',
        '    <Data Name="Access">0x1fffff</Data>',
        '    <Data Name="Items">x</Data>',
        '    <Data Name="Items">y</Data>',
        '    <Data Name="Empty"/>',
        '    <Data>a&amp;b&lt;c&gt;</Data>',
        '  </EventData>',
        '</Event>',
        '',
      ].join('\n'),
    );
  });

  it('renders RawWindowsEvent straight from the template exactly as from the resolved tree', async () => {
    const files = [writeTmp(buildFile([syntheticChunk(10, 4)]))];
    const corpus = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'shared', 'corpus', 'evtx');
    if (existsSync(corpus)) for (const f of readdirSync(corpus).sort()) if (f.endsWith('.evtx')) files.push(path.join(corpus, f));
    let direct = 0;
    let total = 0;
    for (const f of files) {
      for await (const rs of readEvtx(f, { onWarning: () => undefined }).chunks()) {
        for (const r of rs) {
          total++;
          const fromTemplate = r.instance ? rawFromInstance(r.instance) : null;
          if (fromTemplate) direct++;
          // Same keys in the same order, same values: what `convert --raw` prints is unchanged.
          expect(JSON.stringify(r.toRaw())).toBe(JSON.stringify(toRawEvent(r.nodes)));
          if (fromTemplate) {
            expect(JSON.stringify(fromTemplate)).toBe(JSON.stringify(toRawEvent(r.nodes)));
            if (fromTemplate.EventData) expect(Object.getPrototypeOf(fromTemplate.EventData)).toBe(Object.prototype);
          }
        }
      }
    }
    expect(direct).toBeGreaterThanOrEqual(4);
    expect(direct).toBe(total);
  });

  it('builds System the same from the template as from the tree: Provider attributes in any order, repeated elements', async () => {
    // Guid before Name, Name twice (the last wins, keyed where the first stood), an empty
    // EventSourceName (not written), Level twice, Execution with one attribute Null.
    const tpl = {
      name: 'Event',
      children: [
        {
          name: 'System',
          children: [
            { name: 'Provider', attrs: [['Guid', [{ sub: 0 }]], ['Name', ['First']], ['EventSourceName', [{ sub: 1 }]], ['Name', [{ sub: 2 }]]] },
            { name: 'EventID', attrs: [['Qualifiers', [{ sub: 3 }]]], children: ['4', { sub: 4 }] },
            { name: 'Level', children: ['1'] },
            { name: 'Level', children: [{ sub: 5 }] },
            { name: 'Execution', attrs: [['ProcessID', [{ sub: 6, opt: true }]], ['ThreadID', [{ sub: 7 }]]] },
            { name: 'Security', attrs: [['UserID', [{ sub: 8, opt: true }]]] },
          ],
        },
      ],
    } as const;
    const w = new ChunkWriter();
    for (let id = 1; id <= 3; id++) {
      w.record(id, T0, (w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        w.templateInstance('sys', tpl as never, [
          v.str(`{G${id}}`),
          v.str(''),
          v.str(`Last${id}`),
          v.u16(16384),
          v.u16(id),
          v.u8(id),
          id === 2 ? v.null() : v.u32(100 + id),
          v.u32(7),
          v.null(),
        ]);
        w.u8(0x00);
      });
    }
    const { recs } = await readAllFrom(writeTmp(buildFile([w.finish()])));
    expect(recs.map((r) => JSON.stringify(r.toRaw()))).toEqual(recs.map((r) => JSON.stringify(toRawEvent(r.nodes))));
    expect(recs.map((r) => JSON.stringify(rawFromInstance(r.instance!)))).toEqual(recs.map((r) => JSON.stringify(toRawEvent(r.nodes))));
    expect(recs[1]!.toRaw().System).toEqual({
      Provider: { Guid: '{G2}', Name: 'Last2' },
      EventID: '42',
      TimeCreated: '',
      EventRecordID: '',
      Channel: '',
      Computer: '',
      Qualifiers: '16384',
      Level: '2',
      Execution: { ThreadID: '7' },
      Security: {},
    });
    expect(Object.keys(recs[1]!.toRaw().System.Provider)).toEqual(['Guid', 'Name']);
  });

  it('reads past a stale header chunk count and skips garbage and empty slots', async () => {
    const garbage = Buffer.alloc(0x10000, 0x5a);
    const file = writeTmp(buildFile([syntheticChunk(1, 2), Buffer.alloc(0x10000), garbage, syntheticChunk(3, 4)], 1));
    const { recs, stats, warnings } = await readAllFrom(file);
    expect(recs.map((r) => [r.chunk, r.recordId])).toEqual([
      [0, 1],
      [0, 2],
      [3, 3],
      [3, 4],
      [3, 5],
      [3, 6],
    ]);
    expect(stats).toEqual({ recordsRead: 6, recordsSkipped: 0, chunksRead: 2, chunksSkipped: 1, chunksEmpty: 1, warnings: 1 });
    expect(warnings.map((w) => w.message)).toEqual([`${file}, chunk 2, offset 0x21000: no ElfChnk magic; chunk slot skipped`]);
  });

  it('warns on CRC mismatches but keeps the records; strict rejects', async () => {
    const c = syntheticChunk(1, 2);
    c.writeUInt32LE(c.readUInt32LE(52) ^ 0xff, 52);
    const file = writeTmp(buildFile([c]));
    const { recs, warnings } = await readAllFrom(file);
    expect(recs.length).toBe(2);
    // The data CRC field lies inside the header bytes the header CRC covers: both mismatch.
    expect(warnings.map((w) => w.kind)).toEqual(['chunk-crc', 'data-crc']);
    await expect(readAllFrom(file, true)).rejects.toThrow(`${file}, chunk 0, offset 0x107c: chunk header CRC32`);
    const h = buildFile([syntheticChunk(1, 1)]);
    h[100] = 1; // inside the CRC-covered file header bytes
    const hf = writeTmp(h);
    expect((await readAllFrom(hf)).warnings.map((w) => [w.kind, w.offset])).toEqual([['file-header', 124]]);
  });

  // Also: a Null optional EventData substitution directly inside <Event> keeps <Event>.
  it('skips a record with undecodable BinXml and continues with the next one', async () => {
    const w = new ChunkWriter();
    w.record(1, T0, (w) => {
      w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      w.templateInstance('event', EVENT_TEMPLATE, systemValues(1, v.null()));
      w.u8(0x00);
    });
    const bad = w.record(2, T0, (w) => w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00, 0x13, 0x00])));
    w.record(3, T0, (w) => {
      w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      w.templateInstance('event', EVENT_TEMPLATE, systemValues(3, v.null()));
      w.u8(0x00);
    });
    const file = writeTmp(buildFile([w.finish()]));
    const { recs, stats, warnings } = await readAllFrom(file);
    expect(recs.map((r) => r.toRaw().System.EventRecordID)).toEqual(['1', '3']);
    expect(stats.recordsSkipped).toBe(1);
    expect(warnings[0]!.message).toBe(
      `${file}, chunk 0, record 2, offset 0x${(0x1000 + bad + 28).toString(16)}: record skipped: unexpected BinXml token 0x13`,
    );
  });

  it('bounds nesting depth instead of overflowing the stack', async () => {
    const w = new ChunkWriter();
    w.record(1, T0, (w) => {
      w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      let el = { name: 'X' } as { name: string; children?: unknown[] };
      for (let i = 0; i < 200; i++) el = { name: 'X', children: [el] };
      w.element(el as never, false);
      w.u8(0x00);
    });
    const file = writeTmp(buildFile([w.finish()]));
    const { recs, warnings } = await readAllFrom(file);
    expect(recs.length).toBe(0);
    expect(warnings[0]!.reason).toBe('record skipped: elements nested deeper than 64');
  });

  it('reads elements written directly in the record stream (no dependency id, WEC style)', async () => {
    const w = new ChunkWriter();
    w.record(7, T0, (w) => {
      w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      w.element({ name: 'Event', children: [{ name: 'System', children: [{ name: 'EventID', children: ['42'] }] }] }, false);
      w.u8(0x00);
    });
    const file = writeTmp(buildFile([w.finish()]));
    const { recs } = await readAllFrom(file, true);
    expect(recs[0]!.toRaw().System.EventID).toBe('42');
  });

  it('refuses a file that is not EVTX with a positioned message', async () => {
    const file = writeTmp(Buffer.alloc(8192, 0x41));
    await expect(readAllFrom(file)).rejects.toThrow(`${file}: offset 0x0: not an EVTX file (no ElfFile or ElfChnk magic)`);
    const short = writeTmp(Buffer.alloc(10));
    await expect(readAllFrom(short)).rejects.toThrow(`${short}: offset 0x0: file of 10 bytes is too short for an EVTX header`);
    await expect(readAllFrom(path.join(dir, 'missing.evtx'))).rejects.toThrow(/missing\.evtx: cannot open: ENOENT/);
  });
});
