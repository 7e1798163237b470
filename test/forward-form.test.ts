import { describe, expect, it } from 'vitest';
import { CLONE, forwardForm, JSON_TEXT, TOO_DEEP } from '../src/parallel/forward-form.js';

const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { v };
  return v;
};

describe('forwardForm: how a whole event travels from an input worker', () => {
  it('sends documents JSON.parse made as JSON text', () => {
    const line = '{"@timestamp":"2025-01-01T00:00:00Z","process":{"name":"a.exe","pid":12,"args":["x","y"],"Ext":null},"ok":true,"n":-1.5e3}';
    expect(forwardForm(JSON.parse(line), 256)).toBe(JSON_TEXT);
    // JSON.parse gives "-0" as 0 with a sign; JSON text would drop it.
    expect(forwardForm(JSON.parse('{"a":-0}'), 256)).toBe(CLONE);
    // An own __proto__ key survives JSON both ways.
    expect(forwardForm(JSON.parse('{"__proto__":{"x":1}}'), 256)).toBe(JSON_TEXT);
  });

  it('clones what JSON text would change', () => {
    expect(forwardForm({ a: 1n }, 256)).toBe(CLONE);
    expect(forwardForm({ a: undefined }, 256)).toBe(CLONE);
    expect(forwardForm({ a: Number.NaN }, 256)).toBe(CLONE);
    expect(forwardForm({ a: Infinity }, 256)).toBe(CLONE);
    expect(forwardForm({ a: [1, , 3] }, 256)).toBe(CLONE); // eslint-disable-line no-sparse-arrays
    expect(forwardForm({ a: { b: new Date(0) } }, 256)).toBe(CLONE);
    expect(forwardForm({ a: new Uint8Array(2) }, 256)).toBe(CLONE);
    expect(forwardForm(Object.assign(Object.create(null) as object, { a: 1 }), 256)).toBe(CLONE);
  });

  it('says when a document is nested deeper than the budget', () => {
    // The budget counts the levels below the document (as WorkerConfig.cloneDepth does).
    expect(forwardForm(nested(4), 3)).toBe(JSON_TEXT);
    expect(forwardForm(nested(5), 3)).toBe(TOO_DEEP);
    expect(forwardForm({ a: 1n, b: nested(5) }, 3)).toBe(TOO_DEEP);
    expect(forwardForm([[[[1]]]], 2)).toBe(TOO_DEEP);
    expect(forwardForm([[[1]]], 2)).toBe(JSON_TEXT);
  });
});
