// Index mappings (`eqlite query --mapping`, src/engine/mapping.ts): which fields exist and their
// types, as Elasticsearch takes them from the index: an unmapped `?field` is null, an unmapped field
// without `?` is an error ("Unknown column"), aliases read their target, a text field is used
// through its keyword sub-field, and types decide comparisons and how Doubles print.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/engine/index.js';
import { isMapped, mappingType, parseMapping, resolveAliases, verifyFields } from '../src/engine/mapping.js';
import { EqlError, parse } from '../src/eql/index.js';
import { runCli } from './cli-helpers.js';
import { tempDir, writeNdjson } from './detect-helpers.js';

/** A `GET logs-*\/_mapping` response of two indices. */
const RESPONSE = {
  'logs-a': {
    mappings: {
      dynamic: false,
      properties: {
        '@timestamp': { type: 'date' },
        event: { properties: { category: { type: 'keyword' } } },
        process: { properties: { name: { type: 'keyword' }, title: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 1024 } } } } },
        ratio: { type: 'double' },
        note: { type: 'text' },
        pname: { type: 'alias', path: 'process.name' },
      },
    },
  },
  'logs-b': { mappings: { properties: { source: { properties: { ip: { type: 'ip' } } } }, runtime: { day: { type: 'keyword' } } } },
};

describe('parseMapping', () => {
  const m = parseMapping(RESPONSE);
  it('flattens properties of every index, with sub-fields, aliases and runtime fields', () => {
    expect(mappingType(m, '@timestamp')).toBe('date');
    expect(mappingType(m, 'event.category')).toBe('keyword');
    expect(mappingType(m, 'process.title')).toBe('keyword'); // text used through its keyword sub-field
    expect(mappingType(m, 'process.title.keyword')).toBe('keyword');
    expect(mappingType(m, 'ratio')).toBe('double');
    expect(mappingType(m, 'pname')).toBe('keyword');
    expect(mappingType(m, 'source.ip')).toBe('ip');
    expect(mappingType(m, 'day')).toBe('keyword');
    expect(isMapped(m, 'process')).toBe(false); // an object is not a field
    expect(isMapped(m, 'extra')).toBe(false);
    expect([...m.inexact]).toEqual(['note']);
  });
  it('accepts one index\'s {"mappings": …} and bare {"properties": …}', () => {
    expect(mappingType(parseMapping({ mappings: { properties: { a: { type: 'long' } } } }), 'a')).toBe('long');
    expect(mappingType(parseMapping({ properties: { a: { type: 'ip' } } }), 'a')).toBe('ip');
  });
  it('refuses what is not a mapping, with the reason', () => {
    expect(() => parseMapping([])).toThrow('a mapping must be a JSON object');
    expect(() => parseMapping({ 'logs-a': { settings: {} } })).toThrow('"logs-a" holds no "mappings" object (expected the response of GET <index>/_mapping)');
  });
});

describe('queries against a mapping', () => {
  const m = parseMapping(RESPONSE);
  const errorOf = (q: string): string => {
    try {
      verifyFields(parse(q), m);
    } catch (e) {
      if (e instanceof EqlError) return e.message;
      throw e;
    }
    return 'no error';
  };
  it('a field without ? must be mapped; ? makes it optional', () => {
    expect(errorOf('process where extra == "a"')).toBe('unknown field `extra`: it is not in the mapping');
    expect(errorOf('process where ?extra == "a"')).toBe('no error');
    expect(errorOf('sequence by host.id [process where true] [process where true]')).toBe('unknown field `host.id`: it is not in the mapping');
    expect(errorOf('process where pname == "x" and process.title : "*a*"')).toBe('no error');
  });
  it('a text field without a keyword sub-field cannot be used', () => {
    expect(errorOf('process where note : "x"')).toBe('field `note` is a text field without a keyword sub-field, which EQL cannot use');
  });
  it('nothing at or below a nested field can be used (VerifierTests.testNested)', () => {
    const nested = parseMapping({
      properties: {
        long_field: { type: 'long' },
        processes: { type: 'nested', properties: { pid: { type: 'long' }, path: { type: 'text', fields: { keyword: { type: 'keyword' } } } } },
      },
    });
    const verdict = (q: string): string => {
      try {
        verifyFields(parse(q), nested);
      } catch (e) {
        if (e instanceof EqlError) return `${e.column}: ${e.message}`;
        throw e;
      }
      return 'no error';
    };
    expect(verdict('foo where processes == 0')).toBe('11: field `processes` is nested, which Elasticsearch EQL cannot use');
    expect(verdict('foo where processes.pid == 0')).toBe('11: field `processes.pid` is below the nested field `processes`, which Elasticsearch EQL cannot use');
    expect(verdict('foo where ?processes.path.keyword == "x"')).toBe('11: field `processes.path.keyword` is below the nested field `processes`, which Elasticsearch EQL cannot use');
    expect(verdict('foo where processe.pid == 0')).toBe('11: unknown field `processe.pid`: it is not in the mapping');
    expect(verdict('foo where long_field == 123')).toBe('no error');
  });

  const events = [
    { source: { '@timestamp': '2024-01-01T00:00:01Z', event: { category: 'process' }, process: { name: 'cmd.exe' }, extra: 'a', ratio: 10000000 }, index: 'logs-a', id: '1' },
    { source: { '@timestamp': '2024-01-01T00:00:02Z', event: { category: 'process' }, process: { name: 'sh' }, extra: 'b', ratio: 2 }, index: 'logs-a', id: '2' },
  ];
  const run = (q: string, withMapping: boolean) => {
    const stmt = parse(q);
    if (withMapping) resolveAliases(stmt, m);
    const opts = withMapping ? { fieldType: (f: string) => mappingType(m, f), fieldExists: (f: string) => isMapped(m, f) } : {};
    return compile(stmt, opts)
      .run(events)
      .map((r) => (r.kind === 'event' ? r.event.id : ''));
  };
  it('an unmapped ?field is null even where the document has a value (dynamic: false)', () => {
    expect(run('process where ?extra == "a"', false)).toEqual(['1']);
    expect(run('process where ?extra == "a"', true)).toEqual([]);
    expect(run('process where ?extra == null', true)).toEqual(['1', '2']);
  });
  it('an alias reads its target', () => {
    expect(run('process where pname == "sh"', true)).toEqual(['2']);
  });
  it('types come from the mapping: a double prints as Java prints it', () => {
    expect(run('process where string(ratio) == "1.0E7"', true)).toEqual(['1']);
    expect(run('process where string(ratio) == "10000000"', false)).toEqual(['1']);
  });
});

describe('eqlite query --mapping', () => {
  const dir = tempDir('eqlite-mapping-');
  const input = writeNdjson(dir, 'events.ndjson', [
    { '@timestamp': '2024-01-01T00:00:01Z', event: { category: 'process' }, process: { name: 'cmd.exe' }, extra: 'a' },
  ]);
  const mappingFile = path.join(dir, 'mapping.json');
  writeFileSync(mappingFile, JSON.stringify(RESPONSE));
  it('runs with the mapping and refuses an unmapped field like Elasticsearch', async () => {
    const ok = await runCli(['query', 'process where pname == "cmd.exe"', input, '--mapping', mappingFile]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout.trim()).process.name).toBe('cmd.exe');
    const bad = await runCli(['query', 'process where extra == "a"', input, '--mapping', mappingFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('query:1:15: error: unknown field `extra`: it is not in the mapping');
  });
  it('names the file and the reason when the mapping is not one', async () => {
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"x": 1}');
    const r = await runCli(['query', 'process where true', input, '--mapping', broken]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`error: --mapping ${broken}: "x" holds no "mappings" object (expected the response of GET <index>/_mapping)`);
  });
});
