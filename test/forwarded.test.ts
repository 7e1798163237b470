// The whole events of a batch travel as columns (parallel/forwarded.ts, protocol.ts
// ForwardedColumns): what the builder writes must come through a structured clone, with its typed
// arrays transferred, exactly as given.
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ForwardedBuilder } from '../src/parallel/forwarded.js';
import type { ForwardedColumns } from '../src/parallel/protocol.js';

describe('ForwardedBuilder', () => {
  it('writes each whole event into the columns, documents that travel in order', () => {
    const b = new ForwardedBuilder(4, true, 2);
    expect(b.take([])).toBe(null);
    b.add(3, 'logs-a', true, false, [5, 9], [1, 0, 3, 0], ['t1', undefined], { at: 1000, bytes: 120, chars: 118 }, '{"x":1}', { x: 1 });
    b.add(7, 'logs-b', false, true, [2], [1, 1, 1, 'k'], undefined, null, '{"y":2}', { y: 2 });
    b.add(8, 'logs-a', false, false, [4, 6, 8], [-1, 0, 1, 0, 1, 0], ['t3', 't4'], null, undefined, { z: 3n });
    expect(b.full).toBe(false);
    const transfer: ArrayBuffer[] = [];
    const cols = b.take(transfer)!;
    expect(transfer.length).toBe(8);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(cols, transfer);
    const got = receiveMessageOnPort(port2)!.message as ForwardedColumns;
    port1.close();
    expect({ ...got, i: [...got.i], flags: [...got.flags], index: [...got.index], routes: [...got.routes], routeEnd: [...got.routeEnd], at: [...got.at], bytes: [...got.bytes], chars: [...got.chars] }).toEqual({
      n: 3,
      i: [3, 7, 8],
      flags: [1, 2, 0],
      index: [0, 1, 0],
      indexes: ['logs-a', 'logs-b'],
      routes: [5, 9, 2, 4, 6, 8],
      routeEnd: [2, 3, 6],
      answers: [1, 0, 3, 0, 1, 1, 1, 'k', -1, 0, 1, 0, 1, 0],
      fv: ['t1', undefined, undefined, undefined, 't3', 't4'],
      at: [1000, Number.NaN, Number.NaN],
      bytes: [120, 0, 0],
      chars: [118, 0, 0],
      docs: ['{"y":2}', { z: 3n }],
    });
  });
});
