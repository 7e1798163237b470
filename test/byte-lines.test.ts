// Deciding from the bytes (events/byte-lines.ts): while a line filter is on, lines are examined in
// a latin1 view of their UTF-8 bytes and only the lines that must be parsed are decoded. The
// decisions, times, counts and parsed events must be exactly those of deciding on decoded text,
// wherever reads split the input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_CARRY } from '../src/events/byte-lines.js';
import { openInput } from '../src/events/inputs.js';
import { LineFilter, TRIAL_LINES } from '../src/events/prefilter.js';
import { readEvents, STUB_SOURCE, type LineStub } from '../src/events/sources.js';
import { parseInstant } from '../src/events/time.js';
import type { EventDoc } from '../src/events/types.js';
import { mulberry32 as prng } from './prng.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-byte-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function write(text: string | Buffer): string {
  const file = path.join(dir, `f${fileNo++}.ndjson`);
  writeFileSync(file, text);
  return file;
}

const NEEDLES = ['powershell.exe', 'c:\\\\windows\\\\', 'kit.exe', 'istanbul'];

type Seen = ['stub', number, { ms: number; ns: number }, boolean] | ['parsed', number, string, Record<string, unknown>];

interface Read {
  events: Seen[];
  skipped: [number | undefined, string][];
  read: number;
  offered?: number;
  skippedLines?: number;
  off?: boolean;
}

async function read(file: string, needles: readonly string[] | null, chunkSize?: number, maxEventChars?: number, byteLines = true): Promise<Read> {
  const filter = needles ? new LineFilter(needles, '@timestamp') : null;
  const skipped: [number | undefined, string][] = [];
  const reader = readEvents(file, { lineFilter: filter, chunkSize, maxEventChars, byteLines, onSkip: (s) => skipped.push([s.position.line, s.reason]) });
  const events: Seen[] = [];
  for await (const batch of reader.batches()) {
    for (const e of batch) {
      if (e.source === STUB_SOURCE) events.push(['stub', e.position!.line!, { ms: e.time!.ms, ns: e.time!.ns }, (e as LineStub).hasCategory]);
      else events.push(['parsed', e.position!.line!, e.id, e.source]);
    }
  }
  return { events, skipped, read: reader.counts.read, offered: filter?.lines, skippedLines: filter?.skipped, off: filter?.off };
}

const T = (s: number) => `"@timestamp":"2025-03-10T08:00:${String(s).padStart(2, '0')}Z"`;

// Each line with whether a line filter for NEEDLES must skip it.
const CASES: [string, boolean][] = [
  [`{${T(0)},"process":{"name":"cmd.exe"},"event":{"category":["process"]}}`, true],
  [`{${T(1)},"process":{"name":"PowerShell.EXE"}}`, false], // a needle, in another case
  [`{${T(2)},"process":{"executable":"C:\\\\WINDOWS\\\\x.exe"}}`, false], // a needle with escaped backslashes
  [`{${T(3)},"p":"C:\\\\users\\\\x","q":"\\\\\\\\"}`, true], // escaped backslashes, no needle
  [`{${T(4)},"process":{"name":"p\\u006fwershell.exe"}}`, false], // a \\u escape can spell a needle
  [`{${T(5)},"p":"\\u00e9t\\u00C9"}`, false], // \\u00XX escapes, upper and lower case
  [`{${T(6)},"p":"C:\\\\\\\\u0041"}`, true], // an escaped backslash before u is no \\u escape
  [`{${T(7)},"p":"a\\/b"}`, false],
  [`{${T(8)},"p":"\u212Ait.exe"}`, false], // the Kelvin sign folds to k
  [`{${T(9)},"city":"\u0130stanbul"}`, false], // dotted capital I folds to i
  [`{${T(10)},"user":"Jürgen Überwachung","msg":"日本語 🦀 ǅ"}`, true], // other non-ASCII, no needle
  [`{${T(11)},"user":"Jürgen","process":{"name":"Jürgen-POWERSHELL.exe"}}`, false],
  [`{${T(12)},"winlog":{"channel":"Security","event_id":"4688"},"agent":{"type":"winlogbeat","version":"8.12.0"}}`, false], // mapped on read
  [`{${T(13)},"EventID":4688,"Channel":"Security"}`, false], // NXLog
  [`{${T(14)},"System":{"EventID":"1"}}`, false], // RawWindowsEvent JSON
  [`{${T(15)},"event":{"category":["process"],"type":["start"]},"winlog":{"channel":"Security","event_id":"4688"}}`, true], // already ECS
  [`   {${T(16)},"a":"b"}  \r`, true], // blanks around, CRLF
  ['', false],
  [`{\n  ${T(17)},\n  "a": "pretty"\n}`, false], // a value over several lines
  [`{${T(18)},"a":"after pretty"}`, true],
  [`{${T(19)},"a":"cut short`, false], // reported as malformed
  [`{${T(20)},"a":"after cut"}`, true],
  [`[{${T(21)},"a":1},{${T(22)},"a":2}]`, false], // an array line
  [`{"@timestamp":"yesterday","a":1}`, false], // no time
  [`{"event":{"kind":"event"},${T(23)}}`, false], // timestamp not the first key
  [`{"@timestamp":1741593600123.5,"a":"b"}`, true],
  [`{"@timestamp":"2025-03-10T09:00:24.5+01:00","a":"b"}`, true], // a time parseInstant reads
  [`{"@timestamp":"2025-03-10T08:00:25.123456789Z","a":"last line, no newline"}`, true],
];

/** The lines each case occupies (1-based, first line). */
function firstLines(): number[] {
  const out: number[] = [];
  let line = 1;
  for (const [text] of CASES) {
    out.push(line);
    line += text.split('\n').length;
  }
  return out;
}

const caseFile = () => write(CASES.map(([l]) => l).join('\n'));

describe('byte path: exact decisions', () => {
  it('skips exactly the lines without a needle, escape, folding character or Windows shape, at every read size', async () => {
    const file = caseFile();
    const lines = firstLines();
    const expectedStubs = CASES.flatMap(([, skip], i) => (skip ? [lines[i]!] : []));
    expect(expectedStubs).toEqual([1, 4, 7, 11, 16, 17, 23, 25, 29, 30, 31]);
    const all = await read(file, null);
    const whole = await read(file, NEEDLES);
    expect(whole.events.filter((e) => e[0] === 'stub').map((e) => e[1])).toEqual(expectedStubs);
    // The stubs' times are the parsed events' times; every other event is the parsed one.
    expect(whole.events.length).toBe(all.events.length);
    for (let i = 0; i < whole.events.length; i++) {
      const e = whole.events[i]!;
      const full = all.events[i]!;
      if (e[0] === 'stub') {
        expect(e[2]).toEqual(parseInstant((full[3] as Record<string, unknown>)['@timestamp']));
        expect(e[3]).toBe(e[1] === 1 || e[1] === 16);
      } else {
        expect(e).toEqual(full);
      }
    }
    expect(whole.read).toBe(all.read);
    expect(whole.skipped).toEqual(all.skipped);
    expect(whole.skipped.map(([l]) => l)).toEqual([24]);
    // Offered: every line starting with `{` on the NDJSON path (not the pretty value's inner
    // lines, not the array); skipped: the stubs.
    expect([whole.offered, whole.skippedLines, whole.off]).toEqual([28 - 2, 11, false]);
    // Decoding every read first gives exactly the same.
    expect(await read(file, NEEDLES, undefined, undefined, false)).toEqual(whole);
    for (const chunk of [1, 2, 3, 5, 7, 13, 64, 100, 333, 1000]) {
      expect(await read(file, NEEDLES, chunk), `reads of ${chunk} bytes`).toEqual(whole);
    }
  });

  it('reads a UTF-8 byte order mark, and a file of one line', async () => {
    const bom = write(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{${T(1)},"a":"x"}\n{${T(2)},"a":"y"}\n`)]));
    for (const chunk of [1, 2, 4, 64]) {
      const r = await read(bom, NEEDLES, chunk);
      expect(r.events.map((e) => [e[0], e[1]])).toEqual([
        ['stub', 1],
        ['stub', 2],
      ]);
    }
    const one = write(`{${T(1)},"a":"x"}`);
    expect((await read(one, NEEDLES, 3)).events.map((e) => [e[0], e[1]])).toEqual([['stub', 1]]);
  });

  it('hands a line longer than the carry to the splitter, and goes on from bytes after it', async () => {
    const long = `{${T(1)},"a":"${'x'.repeat(MAX_CARRY + 10)}"}`;
    const file = write([`{${T(0)},"a":"x"}`, long, `{${T(2)},"a":"powershell.exe"}`, `{${T(3)},"a":"y"}`].join('\n') + '\n');
    const r = await read(file, NEEDLES, 1 << 16);
    expect(r.events.map((e) => [e[0], e[1]])).toEqual([
      ['stub', 1],
      ['stub', 2],
      ['parsed', 3],
      ['stub', 4],
    ]);
    // Past the size cap: reported, the lines around it read as before.
    const capped = await read(file, NEEDLES, 1 << 16, MAX_CARRY);
    expect(capped.events.map((e) => [e[0], e[1]])).toEqual([
      ['stub', 1],
      ['parsed', 3],
      ['stub', 4],
    ]);
    expect(capped.skipped.map(([l]) => l)).toEqual([2]);
  });

  it('turns off after its trial as on decoded text, and parses every line after', async () => {
    const hit = (i: number) => `{${T(i % 60)},"process":{"name":"powershell.exe"},"i":${i}}`;
    const miss = (i: number) => `{${T(i % 60)},"process":{"name":"cmd.exe"},"i":${i}}`;
    const lines = Array.from({ length: TRIAL_LINES + 100 }, (_, i) => (i % 5 === 0 ? miss(i) : hit(i)));
    const file = write(lines.join('\n') + '\n');
    for (const chunk of [97, 1 << 16]) {
      const r = await read(file, NEEDLES, chunk);
      expect(r.off).toBe(true);
      expect(r.offered).toBe(TRIAL_LINES + 1);
      expect(r.skippedLines).toBe(Math.ceil(TRIAL_LINES / 5));
      const stubs = r.events.filter((e) => e[0] === 'stub').map((e) => e[1]);
      expect(stubs.length).toBe(r.skippedLines);
      expect(Math.max(...stubs)).toBeLessThanOrEqual(TRIAL_LINES);
      expect(r.events.length).toBe(lines.length);
    }
  });
});

describe('byte path: other encodings and damaged bytes', () => {
  it('refuses lines that are not UTF-8 as on decoded text (never a stub), and reads gzip and UTF-16 input alike', async () => {
    const lines = [
      Buffer.from(`{${T(1)},"a":"ok"}\n`),
      Buffer.concat([Buffer.from(`{${T(2)},"a":"bad `), Buffer.from([0xff, 0xe2, 0x84, 0x41, 0xc4]), Buffer.from(` bytes"}\n`)]),
      Buffer.concat([Buffer.from(`{${T(3)},"a":"bad `), Buffer.from([0xe2, 0x84]), Buffer.from(`PowerShell.exe"}\n`)]),
      Buffer.concat([Buffer.from(`{${T(4)},"a":"`), Buffer.from([0xf0, 0x9f]), Buffer.from([0xe2, 0x84, 0xaa]), Buffer.from(`it.exe"}\n`)]),
      Buffer.from(`{${T(5)},"a":"end"}\n`),
    ];
    const file = write(Buffer.concat(lines));
    const whole = await read(file, NEEDLES);
    // Elasticsearch's parser refuses lines 2–4: skipped with the first bad byte, whether the
    // filter would have skipped the line (2) or parsed it (3, 4: a needle).
    expect(whole.events.map((e) => [e[0], e[1]])).toEqual([
      ['stub', 1],
      ['stub', 5],
    ]);
    expect(whole.skipped).toEqual([
      [2, 'invalid UTF-8 byte 0xff at byte 47 of the line'],
      [3, 'invalid UTF-8 byte 0xe2 at byte 47 of the line'],
      [4, 'invalid UTF-8 byte 0xf0 at byte 43 of the line'], // f0 9f cut short by the e2 that follows
    ]);
    expect([whole.read, whole.offered, whole.skippedLines]).toEqual([2, 2, 2]);
    for (const chunk of [1, 2, 3, 7, 1 << 16]) {
      expect(await read(file, NEEDLES, chunk), `reads of ${chunk}`).toEqual(whole);
      expect(await read(file, NEEDLES, chunk, undefined, false), `decoded reads of ${chunk}`).toEqual(whole);
    }
    // The same lines gzip-compressed, and (valid ones) as UTF-16: the same events (ids aside:
    // a derived id names the file).
    const noId = (r: Read) => r.events.map((e) => (e[0] === 'parsed' ? [e[0], e[1], e[3]] : e));
    const gz = path.join(dir, 'lines.ndjson.gz');
    writeFileSync(gz, gzipSync(Buffer.concat(lines)));
    expect(noId(await read(gz, NEEDLES))).toEqual(noId(whole));
    const text = CASES.map(([l]) => l).join('\n');
    const utf8 = await read(write(text), NEEDLES);
    const utf16 = await read(write(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])), NEEDLES, 100);
    expect(noId(utf16)).toEqual(noId(utf8));
    expect([utf16.offered, utf16.skippedLines]).toEqual([utf8.offered, utf8.skippedLines]);
  });
});

describe('byte path: the same decisions as on decoded text', () => {
  it('over 200 random files read in random sizes', async () => {
    const rnd = prng(13);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const words = ['cmd.exe', 'PowerShell.exe', 'POWERSHELL.EXE', 'powershel', 'C:\\\\Windows\\\\x', 'c:\\\\WINDOWS\\\\', 'C:\\\\users', '\\\\', '\\u0041', '\\\\u0041', '\\/', 'Jürgen', '日本', '\u212Ait.exe', 'kit.exe', '\u0130stanbul', 'istanbul', 'é', '"EventID":1', 'x'];
    const value = () => Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(words)).join(rnd() < 0.5 ? ' ' : '');
    const line = () => {
      const r = rnd();
      if (r < 0.7) return `${rnd() < 0.1 ? '  ' : ''}{${T(Math.floor(rnd() * 60))},"a":"${value()}"${rnd() < 0.3 ? ',"event":{"category":["file"]}' : ''}}${rnd() < 0.1 ? '\r' : ''}`;
      if (r < 0.75) return `{${T(1)},"a":"${value()}`;
      if (r < 0.8) return `{\n"@timestamp":"2025-03-10T08:00:00Z",\n"a":"${value()}"\n}`;
      if (r < 0.85) return '';
      if (r < 0.9) return `[{${T(2)},"a":"${value()}"}]`;
      return `{"@timestamp":"2025-03-10T08:00:0${Math.floor(rnd() * 10)}.${Math.floor(rnd() * 1000)}+02:00","a":"${value()}"}`;
    };
    for (let doc = 0; doc < 200; doc++) {
      const text = Array.from({ length: 1 + Math.floor(rnd() * 30) }, line).join('\n') + (rnd() < 0.5 ? '\n' : '');
      const file = write(text);
      const all = await read(file, null);
      // The text decision, line by line (each line decided alone, as the filter does).
      const textLines = text.split('\n');
      const expected = all.events.map((e): Seen => {
        const l = textLines[e[1] - 1]!;
        const s = l.length - l.trimStart().length;
        const t = l.startsWith('{', s) ? new LineFilter(NEEDLES, '@timestamp').skip(l, s, l.length) : null;
        return t ? ['stub', e[1], t, /category":/.test(l)] : e;
      });
      const chunk = 1 + Math.floor(rnd() * 200);
      const got = await read(file, NEEDLES, chunk);
      expect(got.events, `file ${doc}, reads of ${chunk}:\n${text}`).toEqual(expected);
      expect(got.skipped).toEqual(all.skipped);
      expect(got.read).toBe(all.read);
      // And exactly what deciding on decoded reads gives, counters included.
      expect(got).toEqual(await read(file, NEEDLES, chunk, undefined, false));
    }
  });
});

describe('byte path: Windows shapes mapped on read', () => {
  it('maps raw winlog and NXLog documents past the first read as without a filter, and counts shapes alike', async () => {
    const pad = (i: number) => `{${T(i % 60)},"event":{"category":["process"]},"message":"${'p'.repeat(200)}","i":${i}}`;
    const lines = Array.from({ length: 400 }, (_, i) => pad(i));
    lines.push(`{${T(30)},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Image":"C:\\\\x\\\\cmd.exe","ParentImage":"C:\\\\y\\\\wmiprvse.exe"},"computer_name":"h1"},"agent":{"type":"winlogbeat","version":"8.12.0"}}`);
    lines.push(`{${T(31)},"EventID":4688,"Channel":"Security","SourceName":"Microsoft-Windows-Security-Auditing","Hostname":"h2","NewProcessName":"C:\\\\x\\\\cmd.exe"}`);
    lines.push(pad(401));
    const file = write(lines.join('\n') + '\n');
    const readAll = async (n: readonly string[] | null) => {
      // (openInput reads 64 KiB at a time: the Windows lines come after the first read.)
      const input = openInput({ path: file, kind: 'json' }, { needles: n });
      const docs: EventDoc[] = [];
      for await (const b of input.batches()) docs.push(...b);
      return { docs, shape: input.shape!() };
    };
    const plain = await readAll(null);
    const filtered = await readAll(['wmiprvse.exe']);
    expect(filtered.docs.length).toBe(403);
    expect(filtered.docs.filter((d) => d.source !== STUB_SOURCE).map((d) => d.position!.line)).toEqual([401, 402]);
    for (const line of [401, 402]) {
      const want = plain.docs.find((d) => d.position!.line === line)!;
      const got = filtered.docs.find((d) => d.position!.line === line)!;
      expect(got.source).toEqual(want.source);
      expect(got.index).toBe(want.index);
      expect(typeof (got.source as { event?: { category?: unknown } }).event?.category).not.toBe('undefined');
    }
    expect(filtered.shape).toEqual(plain.shape);
    expect(plain.shape.shapes).toEqual({ ECS: 401, 'Winlogbeat/Agent (winlog.*)': 1, 'NXLog JSON': 1 });
  });
});
