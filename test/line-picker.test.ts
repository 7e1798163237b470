// The line picker (events/line-picker.ts, wasm/pick.ts): a line it takes must be one JSON.parse
// accepts, and its document must be the parsed document pruned to the wanted fields — the keys on
// the way to them (nested or dotted) in their order, everything under a wanted field, values
// exactly as JSON.parse makes them (-0, big numbers, escapes, every UTF-8 length, `__proto__`).
// A line JSON.parse refuses must be declined. The reader must give picked events the positions,
// ids and places it gives parsed ones, and leave to JSON.parse what needs the whole line.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LinePicker } from '../src/events/line-picker.js';
import { PICK_READER_FIELDS, readEvents } from '../src/events/sources.js';
import { PICK_WASM } from '../src/events/pick-wasm.js';
import type { EventDoc } from '../src/events/types.js';
import { tempDir } from './detect-helpers.js';
import { FileLines } from '../src/parallel/file-lines.js';
import { mulberry32 } from './prng.js';

const dir = tempDir('eqlite-line-picker-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIELDS = ['process.name', 'process.parent.executable', 'host.os.type', 'event.category', 'data_stream', 'user.id', 'a.b.c', 'n', '__proto__.x', ''];

interface Node {
  terminal: boolean;
  kids: Map<string, Node>;
}
function trie(fields: readonly string[]): Node {
  const root: Node = { terminal: false, kids: new Map() };
  for (const f of fields) {
    let n = root;
    for (const part of f.split('.')) {
      let k = n.kids.get(part);
      if (!k) n.kids.set(part, (k = { terminal: false, kids: new Map() }));
      n = k;
    }
    if (n !== root) n.terminal = true;
  }
  return root;
}

/** The reference: the parsed document pruned, written independently of the scanner. */
function prune(o: Record<string, unknown>, node: Node): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    let next = node.kids.get(k);
    if (next === undefined && k.includes('.')) {
      let n: Node | undefined = node;
      for (const part of k.split('.')) {
        n = n.kids.get(part);
        if (n === undefined || n.terminal) break;
      }
      next = n;
    }
    if (next === undefined) continue;
    const v = next.terminal ? o[k] : pruneValue(o[k], next);
    Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
  }
  return out;
}
function pruneValue(v: unknown, node: Node): unknown {
  if (Array.isArray(v)) return v.map((x) => pruneValue(x, node));
  if (v !== null && typeof v === 'object') return prune(v as Record<string, unknown>, node);
  return v;
}

/** A value as text that tells -0 from 0 and keeps key order. */
function canon(v: unknown): string {
  if (Object.is(v, -0)) return '-0';
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? String(v);
}

const picker = LinePicker.create(FIELDS)!;
const wanted = trie(FIELDS);

/** The picker's document of one line (bytes), or null. */
function pickLine(bytes: Buffer): Record<string, unknown> | null {
  // A line followed by another, as in a read: the picker must stop at the newline.
  const buf = Buffer.concat([bytes, Buffer.from('\n{"next":1}\n')]);
  picker.load(buf, 0, buf.length);
  return picker.pick(0, bytes.length);
}

/** The picker takes what JSON.parse takes, declining at most, and gives the pruned document. */
function agrees(bytes: Buffer): 'taken' | 'declined' | 'refused' {
  let parsed: unknown;
  let ok = true;
  try {
    // The reader decodes with U+FFFD for bad bytes, then refuses the line: a line holding one is refused here too.
    const text = bytes.toString('utf8');
    if (!Buffer.from(text).equals(bytes)) throw new Error('not UTF-8');
    parsed = JSON.parse(text);
  } catch {
    ok = false;
  }
  const doc = pickLine(bytes);
  if (!ok || parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    expect(doc, bytes.toString('latin1')).toBeNull();
    return 'refused';
  }
  if (doc === null) return 'declined';
  expect(canon(doc), bytes.toString('latin1')).toBe(canon(prune(parsed as Record<string, unknown>, wanted)));
  expect(picker.lineChars).toBe(bytes.toString('utf8').trimStart().length);
  return 'taken';
}

describe('LinePicker', () => {
  it('is the module wasm/pick.ts compiles to', async () => {
    // @ts-expect-error: a JavaScript module of the build scripts
    const { compilePick, generated } = await import('../scripts/pick-wasm.mjs');
    const bytes = (await compilePick()) as Buffer;
    expect(Buffer.from(PICK_WASM, 'base64').equals(bytes)).toBe(true);
    expect(generated(bytes)).toBe(readFileSync(path.join(import.meta.dirname, '..', 'src', 'events', 'pick-wasm.ts'), 'utf8'));
  }, 60_000);

  it('prunes to the wanted fields, nested, dotted and through arrays, with values as JSON.parse makes them', () => {
    const line =
      '{"@timestamp":"2026-01-01T00:00:00Z","process":{"name":"cmd.exe","pid":4,"parent":{"executable":"C:\\\\Windows\\\\explorer.exe","pid":1}},' +
      '"process.parent.executable":"dotted","host.os":{"type":"windows","name":"x"},"event":{"category":["process","file"]},' +
      '"data_stream":{"type":"logs","dataset":"d"},"data_stream.namespace":"n","user":[{"id":"u1","name":"a"},{"id":"u2"},3,null,[{"id":"u3"}]],' +
      '"a":{"b":[{"c":{"deep":[1,{"x":true}]}},{"c":false}]},"n":-0,"other":{"n":1}}';
    const doc = pickLine(Buffer.from(line))!;
    expect(canon(doc)).toBe(
      canon({
        process: { name: 'cmd.exe', parent: { executable: 'C:\\Windows\\explorer.exe' } },
        'process.parent.executable': 'dotted',
        'host.os': { type: 'windows' },
        event: { category: ['process', 'file'] },
        data_stream: { type: 'logs', dataset: 'd' },
        'data_stream.namespace': 'n',
        user: [{ id: 'u1' }, { id: 'u2' }, 3, null, [{ id: 'u3' }]],
        a: { b: [{ c: { deep: [1, { x: true }] } }, { c: false }] },
        n: -0,
      }),
    );
    expect(agrees(Buffer.from(line))).toBe('taken');
  });

  it('agrees with JSON.parse on values, escapes, characters and grammar', () => {
    const taken = [
      '{"n":0}', '{"n":-0}', '{"n":123456789012345}', '{"n":1234567890123456789}', '{"n":1.5e300}', '{"n":1e-400}', '{"n":-0.0}',
      '{"n":9007199254740993}', '{"n":2.2250738585072011e-308}', '{"n":1E+2}', '{"n":true}', '{"n":false}', '{"n":null}', '{"n":[]}', '{"n":{}}',
      '{"process":{"name":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"}}', '{"process":{"name":"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\u0000"}}',
      '{"process":{"name":"é€😀 ascii after"}}', '{"n":"é","process":{"name":"x"}}', '  {"n":1}  ', '\t{"n":1}\r', '{ "n" : 1 , "m" : [ 1 , 2 ] }',
      '{"n":1,"n":{"x":2}}', '{"n":{"x":2},"n":3}', '{"__proto__":{"x":1,"y":2}}', '{"":"empty key"}', '{"a":{"b":{"c":{"__proto__":1}}}}',
      '{"a.b":{"c":1,"d":2},"a":{"b.c":[1]}}', '{"process":"flat","host":{"os":7}}', '{"skipped":{"deep":[[[[{"x":"\\u00e9"}]]]]},"n":1}',
      `{"n":"${'x'.repeat(100)}é${'y'.repeat(33)}"}`,
      // Numbers, then escaped strings (unescaped into their own area), then numbers again.
      String.raw`{"n":[1,-2,3.5,"\u00e9\n\u00e9\t\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",4,"\\x\\y\\z\\w\\v\\u",5,6e2,7]}`,
    ];
    for (const l of taken) expect(agrees(Buffer.from(l)), l).toBe('taken');
    const refused = [
      '{"n":01}', '{"n":1.}', '{"n":.5}', '{"n":-}', '{"n":1e}', '{"n":+1}', '{"n":tru}', '{"n":nul}', '{"n":NaN}', '{"n":"a\tb"}', '{"n":"\\x"}',
      '{"n":"\\u12"}', '{"n":1,}', '{"n":[1,]}', '{,"n":1}', '{"n" 1}', '{"n":1}x', '{"n":1} {"m":2}', '["n"]', '"n"', '{"n":1', '{n:1}', "{'n':1}",
      '\ufeff{"n":1}', '{"n":"\u2028"}x', '{"skipped":[1 2]}', '{"skipped":{"a":}}', '{"skipped":"\\q"}',
    ];
    for (const l of refused) expect(['refused', 'declined'], l).toContain(agrees(Buffer.from(l)));
    // Bytes that are not UTF-8, taken or skipped: declined (the reader refuses the line).
    for (const b of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xff]]) {
      for (const key of ['n', 'skipped']) {
        const bytes = Buffer.concat([Buffer.from(`{"${key}":"a`), Buffer.from(b), Buffer.from('b"}')]);
        expect(pickLine(bytes)).toBeNull();
      }
    }
    // What the scanner leaves to JSON.parse: lone surrogates, escaped keys on the way, deep nesting.
    for (const l of ['{"n":"\\ud800"}', '{"n":"\\udc00x"}', '{"proc\\u0065ss":{"name":"x"}}', `{"n":${'['.repeat(70)}${']'.repeat(70)}}`]) {
      expect(agrees(Buffer.from(l)), l).toBe('declined');
    }
    // An escaped key under a skipped or whole value is fine.
    expect(agrees(Buffer.from('{"skipped":{"k\\u0065y":1},"n":{"k\\u0065y":2}}'))).toBe('declined');
    expect(agrees(Buffer.from('{"skipped":{"k\\u0065y":1}}'))).toBe('taken');
  });

  it('agrees with JSON.parse on mutated lines', () => {
    const random = mulberry32(19);
    const rng = { int: (n: number) => Math.floor(random() * n) };
    const base = [
      '{"process":{"name":"cmd.exe","parent":{"executable":"C:\\\\x\\u00e9.exe"}},"event":{"category":["process"]},"other":[1,2.5e3,-0,{"n":"é"}],"n":{"m":null}}',
      '{"user":[{"id":"u"},{"id":7}],"a.b":{"c":[true,false]},"data_stream":{"type":"logs"},"skip":"\\ud83d\\ude00😀"}',
    ];
    const alphabet = Buffer.from('{}[],:"\\ 0123456789-+.eEtrufalsn\\u00e9é😀\t\x01');
    const counts = { taken: 0, declined: 0, refused: 0 };
    for (let i = 0; i < 6000; i++) {
      const b = Buffer.from(base[i % base.length]!);
      const edits = 1 + rng.int(3);
      let cur = b;
      for (let e = 0; e < edits; e++) {
        const at = rng.int(cur.length + 1);
        const op = rng.int(3);
        const byte = Buffer.from([alphabet[rng.int(alphabet.length)]!]);
        if (op === 0) cur = Buffer.concat([cur.subarray(0, at), byte, cur.subarray(at)]);
        else if (op === 1) cur = Buffer.concat([cur.subarray(0, at), cur.subarray(at + 1)]);
        else cur = Buffer.concat([cur.subarray(0, at), byte, cur.subarray(at + 1)]);
      }
      // (A mutation may make a newline-free line hold none: lines never hold one.)
      if (cur.includes(10)) continue;
      counts[agrees(cur)]++;
    }
    expect(counts.taken).toBeGreaterThan(300);
    expect(counts.refused).toBeGreaterThan(3000);
  });
});

describe('reading with a picker', () => {
  it('gives picked events the places, ids and times parsed ones have, and parses what needs the whole line', async () => {
    const lines = [
      '{"@timestamp":"2026-11-01T00:00:01Z","process":{"name":"a.exe","pid":1},"event":{"category":["process"]},"data_stream":{"type":"logs","dataset":"endpoint.events.process","namespace":"default"}}',
      '  {"@timestamp":"2026-11-01T00:00:02Z","process":{"name":"é😀.exe","args":["x"]}}\r',
      // A number @timestamp is read from its text: parsed whole.
      '{"@timestamp":1762000000000,"process":{"name":"b.exe"}}',
      // Windows shapes mapped on read need the whole document.
      '{"@timestamp":"2026-11-01T00:00:03Z","winlog":{"event_id":1,"channel":"Microsoft-Windows-Sysmon/Operational"},"process":{"name":"c.exe"}}',
      // A search hit's event is its _source.
      '{"_index":"x","_id":"h1","_source":{"@timestamp":"2026-11-01T00:00:04Z","process":{"name":"d.exe"}}}',
      // Not JSON: skipped as before.
      '{"@timestamp":"2026-11-01T00:00:05Z","process":{"name":"e.exe"}}}',
      '{"@timestamp":"2026-11-01T00:00:06Z","process":{"name":"f.exe"},"pad":"' + 'z'.repeat(3000) + '"}',
      // A time through an array is read from its first value's text: parsed whole too.
      '{"@timestamp":[1762000000001],"process":{"name":"h.exe"}}',
      // A saved EQL search response: its events are read from it.
      '{"hits":{"events":[{"_index":"i","_id":"e1","_source":{"@timestamp":"2026-11-01T00:00:07Z","process":{"name":"g.exe"}}}]}}',
    ];
    const head = '{"@timestamp":"2026-11-01T00:00:00Z"}\n';
    const file = path.join(dir, 'picked.ndjson');
    const body = Buffer.from(head + lines.join('\n') + '\n');
    writeFileSync(file, body);
    const start = Buffer.byteLength(head);
    const fields = ['process.name', 'event.category', ...PICK_READER_FIELDS];
    const read = async (pick: LinePicker | null) => {
      const got: EventDoc[] = [];
      const skipped: string[] = [];
      const opts = { range: { start, line: 2, continued: true }, keepText: true, chunkSize: 1024, pick, onSkip: (s: { reason: string }) => skipped.push(s.reason) };
      for await (const b of readEvents(file, opts).batches()) got.push(...b);
      return { got, skipped };
    };
    const whole = await read(null);
    const picked = await read(LinePicker.create(fields));
    expect(picked.skipped).toEqual(whole.skipped);
    expect(picked.skipped.length).toBe(1);
    // (The reader's byte path starts after the first newline of a read: the part's first line is parsed.)
    expect(picked.got.map((e) => e.picked === true)).toEqual([false, true, false, false, false, true, false, false]);
    expect(picked.got.map((e) => [e.id, e.index, e.position?.line, e.textAt, e.textBytes, e.time])).toEqual(
      whole.got.map((e) => [e.id, e.index, e.position?.line, e.textAt, e.textBytes, e.time]),
    );
    const node = trie(fields);
    picked.got.forEach((e, i) => {
      const w = whole.got[i]!;
      if (e.picked) {
        expect(e.text).toBeUndefined();
        expect(e.textChars).toBe(w.text!.length);
        expect(canon(e.source)).toBe(canon(prune(w.source, node)));
      } else {
        expect(e.text).toBe(w.text);
        expect(canon(e.source)).toBe(canon(w.source));
      }
    });
    expect(picked.got[5]!.source).toEqual({ '@timestamp': '2026-11-01T00:00:06Z', process: { name: 'f.exe' } });
    expect(picked.got[1]!.source).toEqual({ '@timestamp': '2026-11-01T00:00:02Z', process: { name: 'é😀.exe' } });
  });
  it("places a file's first part's lines too, but not its first line (a byte order mark is not in its text)", async () => {
    const lines = [
      '\uFEFF{"@timestamp":"2026-11-01T00:00:00Z","process":{"name":"a.exe"}}',
      '{"@timestamp":"2026-11-01T00:00:01Z","process":{"name":"b.exe"}}',
      '{"@timestamp":"2026-11-01T00:00:02Z","process":{"name":"c.exe"}}',
    ];
    const file = path.join(dir, 'first-part.ndjson');
    const body = Buffer.from(lines.join('\n') + '\n');
    writeFileSync(file, body);
    const got: EventDoc[] = [];
    const pick = LinePicker.create(['process.name', ...PICK_READER_FIELDS]);
    for await (const b of readEvents(file, { range: { start: 0, end: body.length, line: 1, continued: false }, keepText: true, pick }).batches()) got.push(...b);
    expect(got.map((e) => [e.position?.line, e.picked === true, e.textAt, e.textBytes])).toEqual([
      [1, false, undefined, undefined],
      [2, true, Buffer.byteLength(lines[0]!) + 1, lines[1]!.length],
      [3, true, Buffer.byteLength(lines[0]!) + lines[1]!.length + 2, lines[2]!.length],
    ]);
    // What the main thread reads back for a placed line is its text.
    const e = got[2]!;
    expect(new FileLines(file).text(e.textAt!, e.textBytes!, e.textChars!, 3)).toBe(lines[2]);
    expect(got[0]!.text).toBe(lines[0]!.slice(1));
  });
});
