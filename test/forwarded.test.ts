// The whole events of a batch travel as columns (parallel/forwarded.ts, protocol.ts
// ForwardedColumns): what the builder writes must come through a structured clone, with the one
// buffer its typed columns are views of transferred, exactly as given (answers packed: see
// test/batch.test.ts).
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ColumnPack, ForwardedBuilder } from '../src/parallel/forwarded.js';
import type { ForwardedColumns } from '../src/parallel/protocol.js';

describe('ForwardedBuilder', () => {
  it('writes each whole event into the columns, documents that travel in order', () => {
    const b = new ForwardedBuilder(4, true, 2);
    expect(b.take(new ColumnPack(0, 0, 0))).toBe(null);
    b.add(3, 'logs-a', true, false, [5, 9], [1, 0, 3, 0], ['t1', undefined], { at: 1000, bytes: 120, chars: 118 }, '{"x":1}', { x: 1 });
    b.add(7, 'logs-b', false, true, [2], [1, 1, 1, 'k'], undefined, null, '{"y":2}', { y: 2 });
    b.add(8, 'logs-a', false, false, [4, 6, 8], [-1, 0, 1, 0, 1, 0], ['t3', 't4'], null, undefined, { z: 3n });
    expect(b.full).toBe(false);
    // Float64: at, bytes, chars; Int32: i, index, routeEnd, 6 routes, 14 answers; bytes: flags.
    expect([b.f64, b.i32, b.u8]).toEqual([9, 29, 3]);
    const pack = new ColumnPack(b.f64, b.i32, b.u8);
    const cols = b.take(pack)!;
    expect(pack.buffer.byteLength).toBe(9 * 8 + 29 * 4 + 3);
    for (const c of [cols.i, cols.flags, cols.index, cols.routes, cols.routeEnd, cols.answers!, cols.at, cols.bytes, cols.chars]) expect(c.buffer).toBe(pack.buffer);
    expect(b.n).toBe(0);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(cols, [pack.buffer]);
    const got = receiveMessageOnPort(port2)!.message as ForwardedColumns;
    port1.close();
    expect(pack.buffer.byteLength).toBe(0);
    expect({ ...got, i: [...got.i], flags: [...got.flags], index: [...got.index], routes: [...got.routes], routeEnd: [...got.routeEnd], answers: [...got.answers!], at: [...got.at], bytes: [...got.bytes], chars: [...got.chars] }).toEqual({
      n: 3,
      i: [3, 7, 8],
      flags: [1, 2, 0],
      index: [0, 1, 0],
      indexes: ['logs-a', 'logs-b'],
      routes: [5, 9, 2, 4, 6, 8],
      routeEnd: [2, 3, 6],
      answers: [1, 0, 3, 0, 1, 1, 1, 0, -1, 0, 1, 0, 1, 0],
      values: ['k'],
      fv: ['t1', undefined, undefined, undefined, 't3', 't4'],
      at: [1000, Number.NaN, Number.NaN],
      bytes: [120, 0, 0],
      chars: [118, 0, 0],
      docs: ['{"y":2}', { z: 3n }],
    });
  });
});
