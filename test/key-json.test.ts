// Join keys as Elasticsearch's EQL response prints them (src/engine/key-json.ts): numbers by the
// Java class of the key field's type (long digits, Double.toString, Float.toString), keyword-like
// fields as strings; without a mapping, as dynamic mapping types the JSON value.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinKeyClasses, joinKeysJson } from '../src/engine/key-json.js';
import { javaFloatToString } from '../src/engine/java-number.js';
import { parse } from '../src/eql/index.js';
import { runCli } from './cli-helpers.js';
import { tempDir, writeNdjson } from './detect-helpers.js';

describe('joinKeysJson', () => {
  const types: Record<string, string> = { l: 'long', d: 'double', f: 'float', k: 'keyword', b: 'boolean', i: 'ip' };
  const classes = joinKeyClasses(parse('sequence by l, d, f [a where true] by k [b where true] by k'), (n) => types[n]);
  it('takes each key position\'s class from its field\'s mapping type', () => {
    expect(classes).toEqual(['long', 'double', 'float', 'text']);
    expect(joinKeyClasses(parse('sample by x [a where true] [b where true]'))).toEqual(['dynamic']);
    expect(joinKeyClasses(parse('a where true'))).toEqual([]);
  });
  it('prints as Jackson prints the Java values', () => {
    expect(joinKeysJson([7, 7, 7, 7], classes)).toBe('[7,7.0,7.0,"7"]');
    expect(joinKeysJson([1e21, 1e21, 0.0001, 1.5], classes)).toBe('[1000000000000000000000,1.0E21,1.0E-4,"1.5"]');
    expect(joinKeysJson([-3, 12345678.9, 3.14159265358979, 'x'], classes)).toBe('[-3,1.23456789E7,3.1415927,"x"]');
    expect(joinKeysJson([null, true], ['long', 'text'])).toBe('[null,"true"]');
    // Without a mapping: a JSON integer is a long, a fraction a float (dynamic mapping).
    expect(joinKeysJson([7, 0.1, 1e-7, 'a', true], ['dynamic', 'dynamic', 'dynamic', 'dynamic', 'dynamic'])).toBe('[7,0.1,1.0E-7,"a",true]');
  });
  it('Float.toString: the shortest decimal that rounds back to the float', () => {
    expect(javaFloatToString(0.1)).toBe('0.1');
    expect(javaFloatToString(1.1)).toBe('1.1');
    expect(javaFloatToString(16777217)).toBe('1.6777216E7');
    expect(javaFloatToString(1e10)).toBe('1.0E10');
    expect(javaFloatToString(-0.001)).toBe('-0.001');
    expect(javaFloatToString(100)).toBe('100.0');
  });
});

describe('eqlite query prints join_keys as Elasticsearch does', () => {
  const dir = tempDir('eqlite-key-json-');
  const input = writeNdjson(dir, 'events.ndjson', [
    { '@timestamp': '2024-01-01T00:00:01Z', event: { category: 'process' }, n: 1e21, s: 7 },
    { '@timestamp': '2024-01-01T00:00:02Z', event: { category: 'network' }, n: 1e21, s: 7 },
  ]);
  it('without a mapping (dynamic mapping) and with one', async () => {
    const q = 'sequence by n, s [process where true] [network where true]';
    const plain = await runCli(['query', q, input]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('{"join_keys":[1.0E21,7],"events":[');
    const mapping = path.join(dir, 'mapping.json');
    writeFileSync(mapping, JSON.stringify({ properties: { '@timestamp': { type: 'date' }, event: { properties: { category: { type: 'keyword' } } }, n: { type: 'double' }, s: { type: 'keyword' } } }));
    const mapped = await runCli(['query', q, input, '--mapping', mapping]);
    expect(mapped.code, mapped.stderr).toBe(0);
    expect(mapped.stdout).toContain('{"join_keys":[1.0E21,"7"],"events":[');
  });
});
