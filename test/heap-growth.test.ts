// The heap budget of a hunt (src/util/heap-growth.ts): the growing factor chosen after each full
// collection, the rare collection made when the heap is far over the budget, and both on this
// process's real heap.
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEAP_BUDGET, defaultHeapBudget, growingPercent, keepHeapWithin, MIN_FACTOR, oldGenerationUsed, overBudget, SAFETY_FACTOR } from '../src/util/heap-growth.js';

const MB = 1024 * 1024;

describe('defaultHeapBudget', () => {
  it('is 448 MiB with at most one worker and 128 MiB less with two or more', () => {
    expect(DEFAULT_HEAP_BUDGET).toBe(448 * MB);
    expect(defaultHeapBudget(0)).toBe(448 * MB);
    expect(defaultHeapBudget(1)).toBe(448 * MB);
    expect(defaultHeapBudget(2)).toBe(320 * MB);
    expect(defaultHeapBudget(8)).toBe(320 * MB);
  });
});

describe('growingPercent', () => {
  it("leaves V8 its own factor while the budget allows V8's largest (4)", () => {
    expect(growingPercent(100 * MB, 448 * MB)).toBe(0);
    expect(growingPercent(112 * MB, 448 * MB)).toBe(0);
    expect(growingPercent(0, 448 * MB)).toBe(0);
  });

  it('makes the next limit the budget below that', () => {
    // 448 / 200 = 2.24
    expect(growingPercent(200 * MB, 448 * MB)).toBe(124);
    expect(growingPercent(224 * MB, 448 * MB)).toBe(100);
    expect(growingPercent(113 * MB, 448 * MB)).toBe(296);
  });

  it('never below MIN_FACTOR: a live heap beyond the budget is not collected over and over', () => {
    expect(MIN_FACTOR).toBe(1.5);
    expect(growingPercent(400 * MB, 448 * MB)).toBe(50);
    expect(growingPercent(2048 * MB, 448 * MB)).toBe(50);
  });
});

describe('overBudget', () => {
  it('at SAFETY_FACTOR budgets, and MIN_FACTOR times what survived the last collection made there', () => {
    expect(SAFETY_FACTOR).toBe(1.25);
    expect(overBudget(559 * MB, 0, 448 * MB)).toBe(false);
    expect(overBudget(560 * MB, 0, 448 * MB)).toBe(true);
    // 500 MB survived: the next at 750 MB.
    expect(overBudget(749 * MB, 500 * MB, 448 * MB)).toBe(false);
    expect(overBudget(750 * MB, 500 * MB, 448 * MB)).toBe(true);
    expect(overBudget(4096 * MB, 0, 0)).toBe(false);
  });
});

describe('keepHeapWithin', () => {
  it('collects when the (given) old generation is far over the budget, then waits for it to grow', () => {
    const sizes = [100, 600, 200, 560, 300, 449, 451];
    let i = 0;
    const b = keepHeapWithin(448 * MB, { intervalMs: 3_600_000, used: () => sizes[i++]! * MB });
    try {
      expect(b.check()).toBe(false); // 100
      expect(b.check()).toBe(true); // 600, then 200 survived
      expect(b.check()).toBe(true); // 560, then 300
      expect(b.check()).toBe(false); // 449: below 1.5 × 300
      expect(b.forced).toBe(2);
    } finally {
      b.stop();
    }
    expect(b.check()).toBe(false);
  });

  it("sets the factor after this process's real full collections, and gives V8 back its own on stop", async () => {
    // A budget of 1 MiB is below any live heap of this process: the smallest factor, and every
    // check collects (then waits for the heap to grow by half).
    const b = keepHeapWithin(1 * MB, { intervalMs: 3_600_000 });
    try {
      expect(b.percent).toBe(0);
      expect(b.check()).toBe(true);
      // The observer hears of the collection a moment later.
      for (let k = 0; k < 200 && b.collections === 0; k++) await new Promise((r) => setTimeout(r, 5));
      expect(b.collections).toBeGreaterThanOrEqual(1);
      expect(b.percent).toBe(50);
      expect(b.check()).toBe(false);
    } finally {
      b.stop();
    }
    expect(b.percent).toBe(0);
  });

  it('frees what was let go: strings dropped are collected', () => {
    // Tens of MB of strings, kept through a first collection (which moves them to the old generation).
    let junk: string[] | null = [];
    for (let k = 0; k < 64 * 1024; k++) junk.push('x'.repeat(1000) + k);
    const first = keepHeapWithin(1 * MB, { intervalMs: 3_600_000 });
    expect(first.check()).toBe(true);
    first.stop();
    const kept = oldGenerationUsed();
    expect(junk.length).toBe(64 * 1024);
    junk = null;
    const b = keepHeapWithin(1 * MB, { intervalMs: 3_600_000 });
    try {
      expect(b.check()).toBe(true);
      expect(kept - oldGenerationUsed()).toBeGreaterThan(16 * MB);
    } finally {
      b.stop();
    }
  });

  it('does nothing with a budget of 0', () => {
    const b = keepHeapWithin(0);
    expect(b.check()).toBe(false);
    expect(b.forced).toBe(0);
    b.stop();
    expect(b.percent).toBe(0);
  });
});
