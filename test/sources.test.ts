import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expandInputs,
  fileIdPrefix,
  getField,
  inferIndex,
  InputError,
  readEvents,
  type ReadOptions,
} from '../src/events/sources.js';
import type { EventDoc, SkippedItem } from '../src/events/types.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'eqlite-sources-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
}

async function readAll(input: string, opts: ReadOptions = {}) {
  const skipped: SkippedItem[] = [];
  const r = readEvents(input, { ...opts, onSkip: (s) => skipped.push(s) });
  const events: EventDoc[] = [];
  for await (const e of r) events.push(e);
  return { events, skipped, counts: r.counts, sources: events.map((e) => e.source), lines: events.map((e) => e.position?.line) };
}

describe('NDJSON', () => {
  it('handles BOM, CRLF, blank and whitespace-only lines', async () => {
    const p = file('crlf.ndjson', '\uFEFF{"a":1}\r\n\r\n   \r\n{"a":2}\r\n{"a":"x\\"}"}\n\n{"a":4}');
    const { sources, lines, skipped, counts } = await readAll(p);
    expect(sources).toEqual([{ a: 1 }, { a: 2 }, { a: 'x"}' }, { a: 4 }]);
    expect(lines).toEqual([1, 4, 5, 7]);
    expect(skipped).toEqual([]);
    expect(counts.read).toBe(4);
    expect(counts.skipped).toBe(0);
    expect(counts.bytes).toBe(Buffer.byteLength('\uFEFF{"a":1}\r\n\r\n   \r\n{"a":2}\r\n{"a":"x\\"}"}\n\n{"a":4}'));
  });

  it('is independent of chunk boundaries (multi-byte characters split across reads)', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ i, s: 'é€𝄞'.repeat(i % 7) }));
    const p = file('chunks.ndjson', lines.join('\n') + '\n');
    for (const chunkSize of [1, 7, 64, 1 << 20]) {
      const { sources, skipped } = await readAll(p, { chunkSize });
      expect(skipped).toEqual([]);
      expect(sources).toEqual(lines.map((l) => JSON.parse(l)));
    }
  });

  it('skips malformed lines with file:line and column, and keeps going', async () => {
    const p = file('bad.ndjson', ['{"a":1}', '{"a": tru}', 'not json', '{"b":"unterminated', '{"a":2}', '[1]', '{"a":3}'].join('\n'));
    const { sources, skipped, counts } = await readAll(p);
    expect(sources).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(skipped).toEqual([
      { position: { file: p, line: 2 }, reason: 'invalid JSON at line 2 column 7: unexpected "t", expected a value' },
      { position: { file: p, line: 3 }, reason: 'expected a JSON object or array, found "not json"' },
      { position: { file: p, line: 4 }, reason: 'invalid JSON at line 4 column 19: unterminated string' },
      { position: { file: p, line: 6 }, reason: 'expected a JSON object, found a number 1' },
    ]);
    expect(counts).toMatchObject({ read: 3, skipped: 4 });
  });

  it('reads pretty-printed objects spanning lines, mixed with one-line objects', async () => {
    const pretty = JSON.stringify({ process: { name: 'a', args: ['x', '}'] } }, null, 2);
    const p = file('pretty.json', `${pretty}\n{"b":1}\n${pretty}\n`);
    const { sources, lines, skipped } = await readAll(p, { chunkSize: 5 });
    expect(skipped).toEqual([]);
    expect(sources).toEqual([{ process: { name: 'a', args: ['x', '}'] } }, { b: 1 }, { process: { name: 'a', args: ['x', '}'] } }]);
    expect(lines).toEqual([1, 10, 11]);
  });

  it('recovers after a truncated line whose object never closes', async () => {
    const p = file('trunc.ndjson', '{"a":1}\n{"a":[1,2\n{"a":3}\n{"a":4}\n');
    const { sources, skipped } = await readAll(p);
    expect(sources).toEqual([{ a: 1 }, { a: 3 }, { a: 4 }]);
    expect(skipped).toEqual([
      { position: { file: p, line: 2 }, reason: 'invalid JSON: unterminated object (line 3 starts a new object before it closed)' },
    ]);
  });

  it('reports an over-long item and resumes', async () => {
    const p = file('long.ndjson', `{"a":1}\n{"big":"${'x'.repeat(5000)}"}\n{"a":2}\n`);
    const { sources, skipped } = await readAll(p, { maxEventChars: 1000, chunkSize: 256 });
    expect(sources).toEqual([{ a: 1 }, { a: 2 }]);
    expect(skipped).toEqual([
      { position: { file: p, line: 2 }, reason: 'item longer than 1 KB (unterminated value or missing newline?)' },
    ]);
  });

  it('derives stable ids from the path and line, and uses _id when given', async () => {
    const p = file('ids.ndjson', '{"a":1}\n\n{"_id":"given","_source":{"a":2}}\n{"a":3}\n');
    const first = await readAll(p);
    const second = await readAll(p);
    const prefix = fileIdPrefix(p);
    expect(prefix).toMatch(/^[0-9a-f]{8}$/);
    expect(first.events.map((e) => e.id)).toEqual([`${prefix}:1`, 'given', `${prefix}:4`]);
    expect(second.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
  });
});

describe('JSON arrays', () => {
  it('streams elements, respecting strings with brackets, commas and escaped quotes', async () => {
    const text = '[\n  {"a":"]","b":"[{"},\n  {"c":"\\"],"},{"d":"\\\\"} ,\n  {"e":{"f":[1,{"g":"}"}]}}\n]\n';
    const p = file('arr.json', text);
    for (const chunkSize of [1, 3, 1 << 20]) {
      const { sources, lines, skipped } = await readAll(p, { chunkSize });
      expect(skipped).toEqual([]);
      expect(sources).toEqual([{ a: ']', b: '[{' }, { c: '"],' }, { d: '\\' }, { e: { f: [1, { g: '}' }] } }]);
      expect(lines).toEqual([2, 3, 3, 4]);
    }
  });

  it('gives distinct ids to elements on the same line', async () => {
    const p = file('oneline.json', '[{"a":1},{"a":2},{"a":3}]');
    const { events } = await readAll(p);
    const prefix = fileIdPrefix(p);
    expect(events.map((e) => e.id)).toEqual([`${prefix}:1`, `${prefix}:1.1`, `${prefix}:1.2`]);
  });

  it('reports non-object elements, invalid elements and a missing closing bracket', async () => {
    const p = file('arrbad.json', '[{"a":1}, 2, "s",\n {"a": x},\n {"a":3}\n');
    const { sources, skipped } = await readAll(p);
    expect(sources).toEqual([{ a: 1 }, { a: 3 }]);
    expect(skipped).toEqual([
      { position: { file: p, line: 1 }, reason: 'expected a JSON object, found a number 2' },
      { position: { file: p, line: 1 }, reason: 'expected a JSON object, found a string "s"' },
      { position: { file: p, line: 2 }, reason: 'invalid JSON at line 2 column 8: unexpected "x", expected a value' },
      { position: { file: p, line: 1 }, reason: "unterminated JSON array: end of input before the closing ']'" },
    ]);
  });

  it('does not hold a large array in memory (buffer stays near one chunk)', async () => {
    const n = 20_000;
    const body = Array.from({ length: n }, (_, i) => `{"i":${i},"pad":"${'p'.repeat(40)}"}`).join(',');
    const p = file('big.json', `[${body}]`);
    let count = 0;
    let sum = 0;
    for await (const e of readEvents(p, { chunkSize: 4096 })) {
      count++;
      sum += e.source.i as number;
    }
    expect(count).toBe(n);
    expect(sum).toBe((n * (n - 1)) / 2);
  });
});

describe('gzip and stdin', () => {
  it('reads gzip NDJSON and JSON arrays, including multi-member archives', async () => {
    const a = file('a.ndjson.gz', Buffer.concat([gzipSync('{"a":1}\n'), gzipSync('{"a":2}\n')]));
    const b = file('b.json.gz', gzipSync('[{"b":1},{"b":2}]'));
    expect((await readAll(a)).sources).toEqual([{ a: 1 }, { a: 2 }]);
    expect((await readAll(b)).sources).toEqual([{ b: 1 }, { b: 2 }]);
  });

  it('keeps the events before damage in a truncated gzip file and reports it', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, r: ((i * 7919) % 1000003).toString(36) }));
    const full = gzipSync(lines.join('\n') + '\n');
    const p = file('trunc.ndjson.gz', full.subarray(0, full.length - 200));
    const { events, skipped, counts } = await readAll(p);
    expect(events.length).toBeGreaterThan(1000);
    expect(events.length).toBeLessThan(3000);
    expect(events.map((e) => e.source.i)).toEqual(Array.from({ length: events.length }, (_, i) => i));
    // The damage is reported where it was found, then the partial last line it cut.
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toEqual({
      position: { file: p, offset: full.length - 200 },
      reason: 'gzip data is damaged or truncated (unexpected end of file); the rest of the file was not read',
    });
    expect(skipped[1]!.position).toEqual({ file: p, line: events.length + 1 });
    expect(skipped[1]!.reason).toMatch(/^invalid JSON/);
    expect(counts.skipped).toBe(2);
  });

  it('waits for gzip back-pressure without piling up listeners (no MaxListenersExceededWarning)', async () => {
    // Reads larger than zlib's 16 KiB write buffer: every write waits for 'drain'. Poorly
    // compressible lines, so the file is many reads long.
    const lines = Array.from({ length: 6_000 }, (_, i) => JSON.stringify({ i, r: createHash('sha512').update(String(i)).digest('hex') }));
    const p = file('pressure.ndjson.gz', gzipSync(lines.join('\n') + '\n'));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const { events, skipped } = await readAll(p, { chunkSize: 20_000 });
      expect(events).toHaveLength(6_000);
      expect(skipped).toEqual([]);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('stops cleanly when the consumer breaks early', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i }));
    for (const p of [file('early.ndjson', lines.join('\n')), file('early.ndjson.gz', gzipSync(lines.join('\n')))]) {
      const r = readEvents(p, { chunkSize: 512 });
      const got: unknown[] = [];
      for await (const e of r) {
        got.push(e.source.i);
        if (got.length === 3) break;
      }
      expect(got).toEqual([0, 1, 2]);
    }
  });

  it('reads several values on one line (concatenated JSON)', async () => {
    const p = file('concat.ndjson', '{"a":1} {"a":2},{"a":3}\n{"a":4}\n');
    const { sources, lines, skipped } = await readAll(p);
    expect(skipped).toEqual([]);
    expect(sources).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]);
    expect(lines).toEqual([1, 1, 1, 2]);
  });

  it("reads '-' from the given stdin stream, plain and gzip", async () => {
    const plain = await readAll('-', { stdin: Readable.from([Buffer.from('{"a"'), Buffer.from(':1}\n{"a":2}')]) });
    expect(plain.sources).toEqual([{ a: 1 }, { a: 2 }]);
    expect(plain.events[0]!.position).toEqual({ file: '<stdin>', line: 1 });
    const gz = gzipSync('{"z":1}\n');
    // Split inside the magic bytes: detection must wait for both.
    const zipped = await readAll('-', { stdin: Readable.from([gz.subarray(0, 1), gz.subarray(1)]) });
    expect(zipped.sources).toEqual([{ z: 1 }]);
  });

  it('throws a clear InputError for a missing file or a directory', async () => {
    const missing = path.join(dir, 'nope.ndjson');
    await expect(readAll(missing)).rejects.toThrow(new InputError(`cannot read ${missing}: no such file or directory`));
    await expect(readAll(dir)).rejects.toThrow(InputError);
  });
});

describe('Elasticsearch hits', () => {
  it('reads hits, search responses and scroll/elasticdump lines with _index and _id', async () => {
    const response = {
      took: 3,
      hits: {
        total: { value: 2 },
        hits: [
          { _index: '.ds-logs-x-default-2024', _id: 'h1', _source: { n: 1 } },
          { _index: 'idx2', _id: 'h2', _source: { n: 2 } },
        ],
      },
    };
    const p = file(
      'hits.ndjson',
      [
        JSON.stringify(response),
        '{"_index":"dump","_id":"d1","_score":1,"_source":{"n":3}}',
        '{"_index":"dump","_id":"d2","_source":"oops"}',
        JSON.stringify({ hits: { hits: [{ _index: 'i', _id: 'nosrc', fields: {} }] } }),
      ].join('\n'),
    );
    const { events, skipped } = await readAll(p);
    expect(events.map((e) => [e.index, e.id, e.source])).toEqual([
      ['.ds-logs-x-default-2024', 'h1', { n: 1 }],
      ['idx2', 'h2', { n: 2 }],
      ['dump', 'd1', { n: 3 }],
    ]);
    expect(events.map((e) => e.position?.line)).toEqual([1, 1, 2]);
    expect(skipped).toEqual([
      { position: { file: p, line: 3 }, reason: 'Elasticsearch hit whose _source is not an object' },
      { position: { file: p, line: 4 }, reason: 'search response hit 0 has no _source object (was _source disabled?)' },
    ]);
  });

  it('reads a pretty-printed search response and a JSON array of hits', async () => {
    const response = { hits: { hits: [{ _index: 'a', _id: '1', _source: { x: 1 } }] } };
    const p1 = file('resp.json', JSON.stringify(response, null, 2));
    const p2 = file('hits.json', JSON.stringify(response.hits.hits, null, 1));
    expect((await readAll(p1)).events.map((e) => [e.index, e.id])).toEqual([['a', '1']]);
    expect((await readAll(p2)).events.map((e) => [e.index, e.id, e.source])).toEqual([['a', '1', { x: 1 }]]);
  });
});

describe('inferIndex', () => {
  const ds = { data_stream: { type: 'logs', dataset: 'endpoint.events.process', namespace: 'default' } };
  const beat = { agent: { type: 'winlogbeat', version: '8.12.0' } };

  it('follows the documented precedence', async () => {
    expect(inferIndex({ ...ds, ...beat }, 'override')).toBe('logs-endpoint.events.process-default');
    expect(inferIndex({ 'data_stream.type': 'logs', 'data_stream.dataset': 'system.security' })).toBe('logs-system.security-default');
    expect(inferIndex(beat, 'override')).toBe('override');
    expect(inferIndex(beat)).toBe('winlogbeat-8.12.0');
    expect(inferIndex({ 'agent.type': 'filebeat', 'agent.version': '7.17.1' })).toBe('filebeat-7.17.1');
    expect(inferIndex({ agent: { type: 'Auditbeat', version: '8.1.0' } })).toBe('auditbeat-8.1.0');
    expect(inferIndex({ agent: { type: 'endpoint', version: '8.1.0' } })).toBe('');
    expect(inferIndex({ agent: { type: 'winlogbeat' } })).toBe('');
    expect(inferIndex({})).toBe('');
  });

  it('reads a data_stream object as getField does, whatever the names already seen', () => {
    const one = (type: unknown, dataset: unknown, namespace?: unknown, extra: Record<string, unknown> = {}) =>
      inferIndex({ data_stream: namespace === undefined ? { type, dataset } : { type, dataset, namespace }, ...extra });
    // The same dataset with other types and namespaces: each its own name (the memo is keyed by all three).
    expect(one('logs', 'x.y', 'default')).toBe('logs-x.y-default');
    expect(one('logs', 'x.y', 'Prod')).toBe('logs-x.y-prod');
    expect(one('Metrics', 'x.y', 'default')).toBe('metrics-x.y-default');
    expect(one('logs', 'x.y', 'prod')).toBe('logs-x.y-prod');
    expect(one('logs', 'X.Y', 'default')).toBe('logs-x.y-default');
    // More combinations per dataset than are remembered, then the first again.
    for (let i = 0; i < 20; i++) expect(one('logs', 'x.y', `n${i}`)).toBe(`logs-x.y-n${i}`);
    expect(one('logs', 'x.y', 'default')).toBe('logs-x.y-default');
    // No or an empty or non-string namespace: default; a namespace the object lacks is looked up
    // under a dotted key too.
    expect(one('logs', 'x.y')).toBe('logs-x.y-default');
    expect(one('logs', 'x.y', '')).toBe('logs-x.y-default');
    expect(one('logs', 'x.y', null, { 'data_stream.namespace': 'flat' })).toBe('logs-x.y-default');
    expect(one('logs', 'x.y', 7)).toBe('logs-x.y-default');
    expect(one('logs', 'x.y', undefined, { 'data_stream.namespace': 'flat' })).toBe('logs-x.y-flat');
    // The object's own value comes before a dotted key; one it lacks is found under the dotted key.
    expect(one('logs', 'x.y', 'a', { 'data_stream.type': 'traces' })).toBe('logs-x.y-a');
    expect(inferIndex({ data_stream: { dataset: 'x.y' }, 'data_stream.type': 'traces' })).toBe('traces-x.y-default');
    // Not a usable name: the fallbacks, as before.
    expect(one('', 'x.y', 'a', { agent: { type: 'winlogbeat', version: '8.1.0' } })).toBe('winlogbeat-8.1.0');
    expect(one(1, 'x.y', 'a')).toBe('');
    expect(one('logs', ['x.y'], 'a', {})).toBe('');
    expect(inferIndex({ data_stream: [{ type: 'logs', dataset: 'x.y' }] })).toBe('logs-x.y-default');
    expect(inferIndex({ data_stream: null, 'data_stream.type': 'logs', 'data_stream.dataset': 'x.y' })).toBe('logs-x.y-default');
  });

  it('is applied by readEvents, after a hit _index', async () => {
    const p = file('idx.ndjson', [
      JSON.stringify({ _index: 'given', _source: ds }),
      JSON.stringify(ds),
      JSON.stringify(beat),
      '{"x":1}',
    ].join('\n'));
    expect((await readAll(p)).events.map((e) => e.index)).toEqual(['given', 'logs-endpoint.events.process-default', 'winlogbeat-8.12.0', '']);
    expect((await readAll(p, { index: 'mine' })).events.map((e) => e.index)).toEqual(['given', 'logs-endpoint.events.process-default', 'mine', 'mine']);
  });
});

describe('getField', () => {
  it('reads nested, flat dotted and mixed names', () => {
    expect(getField({ process: { name: 'a' } }, 'process.name')).toBe('a');
    expect(getField({ 'process.name': 'b' }, 'process.name')).toBe('b');
    expect(getField({ process: { 'parent.name': 'c' } }, 'process.parent.name')).toBe('c');
    expect(getField({ 'process.parent': { name: 'd' } }, 'process.parent.name')).toBe('d');
    expect(getField({ a: 0 }, 'a')).toBe(0);
    expect(getField({ a: null }, 'a')).toBe(null);
    expect(getField({ process: { name: 'a' } }, 'process.pid')).toBeUndefined();
    expect(getField({ process: 'x' }, 'process.name')).toBeUndefined();
    expect(getField({}, 'a.b.c')).toBeUndefined();
  });
});

describe('expandInputs', () => {
  it('walks directories recursively in a deterministic order and classifies files', async () => {
    const root = path.join(dir, 'tree');
    for (const f of ['b.ndjson', 'a.json', 'z/x.jsonl', 'A.gz', 'c.evtx', 'notes.txt', 'a/deep/e.ndjson', 'a.b/y.json']) {
      file(path.join('tree', f), '{}');
    }
    symlinkSync(path.join(root, 'a'), path.join(root, 'loop-to-a'));
    const got = await expandInputs([root]);
    expect(got.map((f) => [path.relative(root, f.path), f.kind])).toEqual([
      ['A.gz', 'json'],
      ['a/deep/e.ndjson', 'json'],
      ['a.b/y.json', 'json'],
      ['a.json', 'json'],
      ['b.ndjson', 'json'],
      ['c.evtx', 'evtx'],
      ['z/x.jsonl', 'json'],
    ]);
  });

  it('keeps explicit files (any name), stdin and argument order; lists a file once', async () => {
    const x = file('explicit/log.txt', '{}');
    const e = file('explicit/sec.EVTX', '');
    const got = await expandInputs([x, '-', e, path.join(dir, 'explicit')]);
    expect(got).toEqual([
      { path: x, kind: 'json' },
      { path: '-', kind: 'json' },
      { path: e, kind: 'evtx' },
    ]);
  });

  it('names a directory that held no input file in a warning when other inputs remain, and nothing when none remain', async () => {
    const logs = path.join(dir, 'only-logs');
    file('only-logs/app.log', '{}');
    const one = file('one/a.ndjson', '{}');
    const warnings: string[] = [];
    expect(await expandInputs([logs, one], { onWarning: (m) => warnings.push(m) })).toEqual([{ path: one, kind: 'json' }]);
    expect(warnings).toEqual([`no input files found in ${logs}: directories are searched for .ndjson, .jsonl, .json, .gz and .evtx files (name any other file on the command line to read it)`]);
    // Alone, it gives no file and no warning: the caller refuses the run with that message.
    warnings.length = 0;
    expect(await expandInputs([logs], { onWarning: (m) => warnings.push(m) })).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('throws InputError for a missing path', async () => {
    const p = path.join(dir, 'missing-dir');
    await expect(expandInputs([p])).rejects.toThrow(`cannot read ${p}: no such file or directory`);
  });
});
