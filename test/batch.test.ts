// An input worker's batch (parallel/batch.ts) through a real structured clone with its one buffer
// transferred, unpacked by the main thread's FileChannel: every event must arrive with exactly the
// time, id, position, index, routes, answers, override values and document it was added with.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { KEYS_MISSING, KEYS_UNKNOWN, NOT_ANSWERED, readAnswers } from '../src/engine/answers.js';
import type { TermAnswers } from '../src/engine/types.js';
import type { EventDoc } from '../src/events/types.js';
import { BatchBuilder, type BatchOptions } from '../src/parallel/batch.js';
import { ColumnPack, ForwardedBuilder, readPackedAnswers } from '../src/parallel/forwarded.js';
import { FileChannel } from '../src/parallel/pool.js';
import type { EventBatch, ForwardedColumns, FromWorker, WorkerConfig } from '../src/parallel/protocol.js';
import type { Rule } from '../src/rules/types.js';
import { tempDir } from './detect-helpers.js';

const dir = tempDir('eqlite-batch-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Posts `m` with `transfer` over a MessageChannel and returns what arrives. */
function roundTrip<T>(m: T, transfer: ArrayBuffer[]): T {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(m, transfer);
  const got = receiveMessageOnPort(port2)!.message as T;
  port1.close();
  return got;
}

/** The events a FileChannel makes of `batches` (then the file's end). */
async function unpack(file: string, cfg: WorkerConfig, batches: EventBatch[]): Promise<EventDoc[]> {
  const { port1 } = new MessageChannel();
  const c = new FileChannel(0, { path: file, kind: 'json' }, port1 as unknown as Worker, cfg, undefined, () => undefined);
  for (const b of batches) c.push(b);
  const end: FromWorker = { t: 'end', id: 0, batches: batches.length, sent: batches.reduce((s, b) => s + b.n, 0), skips: [], bytes: 0, read: 0, skipped: 0, counters: null };
  c.end(end);
  const out: EventDoc[] = [];
  for await (const evs of c.batches()) out.push(...evs);
  (port1 as MessagePort).close();
  return out;
}

const huntCfg = (fields: string[]): WorkerConfig => ({
  route: { kind: 'hunt', rules: fields.map((f, i) => ({ name: `r${i}`, timestamp_override: f }) as unknown as Rule), prepare: {} as never },
  timestampField: '@timestamp',
  tiebreakerField: null,
  batchEvents: 8,
  batchForwarded: 3,
  credits: 4,
  cloneDepth: 256,
});

describe('packed answers', () => {
  const flat = [
    1, 0,
    NOT_ANSWERED, 0,
    NOT_ANSWERED, 1,
    0b1011, 1, 2, 'h1', 'p1', KEYS_MISSING, 1, 'h1',
    0b110, 1, KEYS_UNKNOWN, 3, 'h1', 0, -0,
    0b100, 0,
    1, 1, 1, true,
    1, 1, 0,
  ];
  const count = 8;

  it('give back what readAnswers gives for the flat form, one copy of each string', () => {
    const want = new Array<TermAnswers | null>(count);
    expect(readAnswers(flat, count, want)).toBe(flat.length);
    const b = new ForwardedBuilder(2, true, 0);
    b.add(0, 'i', false, false, [0, 1, 2, 3, 4, 5, 6, 7], flat, undefined, null, '{}', {});
    const pack = new ColumnPack(b.f64, b.i32, b.u8);
    const cols = roundTrip(b.take(pack)!, [pack.buffer]);
    expect(cols.values).toEqual(['h1', 'p1', 0, -0, true]);
    expect(Object.is(cols.values![3], -0)).toBe(true);
    const got = new Array<TermAnswers | null>(count);
    expect(readPackedAnswers(cols.answers!, cols.values!, count, got, 0)).toBe(cols.answers!.length);
    expect(got).toEqual(want);
    expect(got[3]).toEqual({ mask: 0b1011, keys: [['h1', 'p1'], null, undefined, ['h1']] });
    expect(got[4]).toEqual({ mask: 0b110, keys: [undefined, undefined, ['h1', 0, -0]] });
    expect(Object.is((got[4]!.keys![2] as unknown[])[2], -0)).toBe(true);
    expect(got[0]).toBe(want[0]);
  });

  it('refuse answers that do not match the routes', () => {
    const b = new ForwardedBuilder(2, true, 0);
    expect(() => b.add(0, 'i', false, false, [0, 1], [1, 0, 1, 0, 1, 0], undefined, null, '{}', {})).toThrow('answers of 2 queries hold 6 values, 4 read');
  });
});

describe('BatchBuilder → FileChannel', () => {
  const file = path.join(dir, 'events.ndjson');
  const line2 = '{"@timestamp":"2024-01-01T00:00:02Z","n":2}';
  const lead = '{"n":1}\n  ';
  writeFileSync(file, lead + line2 + '\n');
  const opts: BatchOptions = { events: 8, forwarded: 3, evtx: false, idPrefix: 'events.ndjson', tiebreakerField: null, answers: true, fields: 2 };

  it('carries times, ids, positions, routes, answers, override values and documents exactly', async () => {
    const b = new BatchBuilder(opts);
    const ev = (line: number, id: string, derivedId: boolean, extra: Partial<EventDoc> = {}): EventDoc => ({
      source: { n: line },
      index: `logs-${line % 2}`,
      id,
      derivedId,
      position: { file, line },
      ...extra,
    });
    // A stub, then whole events: placed in the file, as text, cloned (a bigint), and with a given id.
    b.add(ev(1, 'events.ndjson:1', true), 1000, 1_000_000, [], undefined);
    b.add(ev(2, 'events.ndjson:2', true, { text: line2, textAt: lead.length - 2, textBytes: line2.length + 2 }), 2000, 7, [3, 5], line2, [1, 0, 0b11, 1, 1, 'host-a', 1, 'host-a'], ['2024-01-01', undefined]);
    b.add(ev(3, 'events.ndjson:3.1', true, { derivedHostIp: true }), 3000, 0, [4], '{"n":3}', [NOT_ANSWERED, 0], [undefined, undefined]);
    expect(b.full).toBe(false);
    b.add(ev(4, 'given-4', false, { source: { big: 5n } }), 4000, 0, [0, 4], undefined, [1, 1, KEYS_MISSING, 1, 1, 1, 0], [undefined, 9]);
    // Three whole events fill the batch (batchForwarded).
    expect(b.full).toBe(true);
    const first = b.take(0, 0, 4, { bytes: 100, read: 4, skipped: 0 });
    expect(first.transfer.length).toBe(1);
    expect(first.m.ms.buffer).toBe(first.transfer[0]);
    expect(first.m.fwd!.answers!.buffer).toBe(first.transfer[0]);
    expect(first.m.ids).toEqual(['events.ndjson:3.1', 'given-4']);
    expect([...first.m.idAt]).toEqual([2, 3]);
    expect(first.m.fwd!.values).toEqual(['host-a', 0]);
    // The builder starts again from empty.
    b.add(ev(5, 'events.ndjson:5', true), 5000, 0, [2], '{"n":5}', [1, 0], ['x', undefined]);
    const second = b.take(0, 1, 5, { bytes: 120, read: 5, skipped: 0 });
    expect(second.m.n).toBe(1);
    expect(second.m.ids).toEqual([]);
    expect(second.m.fwd!.values).toEqual([]);
    expect([...second.m.fwd!.routes]).toEqual([2]);

    const batches = [roundTrip(first.m, first.transfer), roundTrip(second.m, second.transfer)];
    // The transferred buffer left the worker's side.
    expect(first.transfer[0]!.byteLength).toBe(0);
    const events = await unpack(file, huntCfg(['event.ingested', 'x.y']), batches);
    expect(
      events.map((e) => ({
        id: e.id,
        derivedId: e.derivedId,
        index: e.index,
        time: e.time,
        position: e.position,
        routed: e.routed,
        answers: e.answers,
        fieldValues: e.fieldValues,
        derivedHostIp: e.derivedHostIp,
        source: e.source,
      })),
    ).toEqual([
      { id: 'events.ndjson:1', derivedId: true, index: '', time: { ms: 1000, ns: 1_000_000 }, position: { file, line: 1 }, routed: [], answers: undefined, fieldValues: undefined, derivedHostIp: undefined, source: {} },
      {
        id: 'events.ndjson:2',
        derivedId: true,
        index: 'logs-0',
        time: { ms: 2000, ns: 7 },
        position: { file, line: 2 },
        routed: [3, 5],
        answers: [{ mask: 1 }, { mask: 0b11, keys: [['host-a'], ['host-a']] }],
        fieldValues: { 'event.ingested': '2024-01-01', 'x.y': undefined },
        derivedHostIp: undefined,
        source: { '@timestamp': '2024-01-01T00:00:02Z', n: 2 },
      },
      {
        id: 'events.ndjson:3.1',
        derivedId: true,
        index: 'logs-1',
        time: { ms: 3000, ns: 0 },
        position: { file, line: 3 },
        routed: [4],
        answers: [null],
        fieldValues: { 'event.ingested': undefined, 'x.y': undefined },
        derivedHostIp: true,
        source: { n: 3 },
      },
      {
        id: 'given-4',
        derivedId: false,
        index: 'logs-0',
        time: { ms: 4000, ns: 0 },
        position: { file, line: 4 },
        routed: [0, 4],
        answers: [{ mask: 1, keys: [null] }, { mask: 1, keys: [[0]] }],
        fieldValues: { 'event.ingested': undefined, 'x.y': 9 },
        derivedHostIp: undefined,
        source: { big: 5n },
      },
      {
        id: 'events.ndjson:5',
        derivedId: true,
        index: 'logs-1',
        time: { ms: 5000, ns: 0 },
        position: { file, line: 5 },
        routed: [2],
        answers: [{ mask: 1 }],
        fieldValues: { 'event.ingested': 'x', 'x.y': undefined },
        derivedHostIp: undefined,
        source: { n: 5 },
      },
    ]);
    // The strings of one batch's answers are one string on this side too.
    const keys = events[1]!.answers![1]!.keys!;
    expect(keys[0]![0]).toBe(keys[1]![0]);
  });

  it('EVTX positions (record, chunk, offset) and a tiebreaker travel per event', async () => {
    const b = new BatchBuilder({ ...opts, evtx: true, tiebreakerField: 'seq', answers: false, fields: 0, idPrefix: 'a.evtx' });
    b.add({ source: { seq: [7, 8] }, index: 'i', id: 'a.evtx:1', derivedId: true, position: { file: 'a.evtx', record: 11, chunk: 0, offset: 512 } }, 10, 0, [], undefined);
    b.add({ source: { seq: { deep: 1 } }, index: 'i', id: 'a.evtx:2', derivedId: true, position: { file: 'a.evtx', chunk: 1 } }, 20, 0, [0], undefined);
    const { m, transfer } = b.take(0, 0, 2, { bytes: 0, read: 2, skipped: 0 });
    const got = roundTrip(m, transfer);
    // EVTX ids always travel: the line check is for NDJSON.
    expect(got.ids).toEqual(['a.evtx:1', 'a.evtx:2']);
    expect([...got.pos]).toEqual([11, Number.NaN]);
    expect([...got.chunk!]).toEqual([0, 1]);
    expect([...got.offset!]).toEqual([512, Number.NaN]);
    expect(got.tb).toEqual([7, undefined]);
    expect(got.fwd!.answers).toBe(null);
    expect(got.fwd!.values).toBe(null);
    expect(got.fwd!.docs).toEqual([{ seq: { deep: 1 } }]);
  });

  it('an empty batch (a file without events) sends empty columns', () => {
    const b = new BatchBuilder(opts);
    const { m, transfer } = b.take(0, 0, 0, { bytes: 0, read: 0, skipped: 0 });
    const got = roundTrip(m, transfer);
    expect(got.n).toBe(0);
    expect(got.ms.length).toBe(0);
    expect(got.fwd).toBe(null);
  });

  it('grows its routes and answers past their first capacity', async () => {
    const b = new BatchBuilder({ ...opts, events: 4, forwarded: 4, fields: 0 });
    const routes = Array.from({ length: 700 }, (_, i) => i);
    const flat: unknown[] = [];
    for (const r of routes) flat.push(0b1, 1, 1, `v${r % 3}`);
    for (let k = 0; k < 2; k++) b.add({ source: {}, index: 'i', id: `events.ndjson:${k + 1}`, derivedId: true, position: { file, line: k + 1 } }, k, 0, routes, '{}', flat);
    const { m, transfer } = b.take(0, 0, 2, { bytes: 0, read: 2, skipped: 0 });
    const got: ForwardedColumns = roundTrip(m, transfer).fwd!;
    expect(got.routes.length).toBe(1400);
    expect(got.answers!.length).toBe(5600);
    expect(got.values).toEqual(['v0', 'v1', 'v2']);
    const out = new Array<TermAnswers | null>(700);
    const at = readPackedAnswers(got.answers!, got.values!, 700, out, 2800);
    expect(at).toBe(5600);
    expect(out[699]).toEqual({ mask: 1, keys: [['v0']] });
    expect(out[1]).toEqual({ mask: 1, keys: [['v1']] });
  });
});
