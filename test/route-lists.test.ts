import { describe, expect, it } from 'vitest';
import { MAX_ROUTE_LISTS, RouteLists } from '../src/parallel/route-lists.js';

describe('RouteLists', () => {
  it('gives equal lists of a batch column one shared array, and different lists their own', () => {
    const l = new RouteLists();
    // Three events' routes in one column: [3, 7], [3, 7] and [7, 3]; then [3] and the empty list.
    const col = Int32Array.from([3, 7, 3, 7, 7, 3, 3]);
    const a = l.take(col, 0, 2);
    const b = l.take(col, 2, 4);
    const c = l.take(col, 4, 6);
    const d = l.take(col, 6, 7);
    const e = l.take(col, 7, 7);
    expect(a).toEqual([3, 7]);
    expect(b).toBe(a);
    expect(c).toEqual([7, 3]);
    expect(c).not.toBe(a);
    expect(d).toEqual([3]);
    expect(e).toEqual([]);
    expect(l.size).toBe(4);
    // Another batch's column with the same list.
    expect(l.take(Int32Array.from([9, 3, 7]), 1, 3)).toBe(a);
    expect(l.size).toBe(4);
  });

  it('tells apart lists whose hashes collide', () => {
    const l = new RouteLists();
    // h = len, then h * 31 + v per value (32-bit): [0, 31] and [1, 0] both hash to 2 * 961 + 31.
    const x = l.take(Int32Array.from([0, 31]), 0, 2);
    const y = l.take(Int32Array.from([1, 0]), 0, 2);
    expect(x).toEqual([0, 31]);
    expect(y).toEqual([1, 0]);
    expect(l.take(Int32Array.from([1, 0]), 0, 2)).toBe(y);
    expect(l.take(Int32Array.from([0, 31]), 0, 2)).toBe(x);
    expect(l.size).toBe(2);
  });

  it('starts again once it holds MAX_ROUTE_LISTS lists', () => {
    const l = new RouteLists();
    const first = l.take(Int32Array.of(0), 0, 1);
    for (let i = 1; i < MAX_ROUTE_LISTS; i++) l.take(Int32Array.of(i), 0, 1);
    expect(l.size).toBe(MAX_ROUTE_LISTS);
    expect(l.take(Int32Array.of(0), 0, 1)).toBe(first);
    const next = l.take(Int32Array.of(MAX_ROUTE_LISTS), 0, 1);
    expect(next).toEqual([MAX_ROUTE_LISTS]);
    expect(l.size).toBe(1);
    const again = l.take(Int32Array.of(0), 0, 1);
    expect(again).toEqual([0]);
    expect(again).not.toBe(first);
    expect(l.size).toBe(2);
  });
});
