// One index mapping for every command (`--mapping`, src/engine/mapping.ts through
// detect/router.ts): hunt, explain and serve verify and type each rule's query against the indices
// its patterns select, as Elasticsearch resolves a rule's search — an unmapped `?field` is null,
// an unmapped field without `?` stops the rule ("Unknown column"), an alias reads its target, a
// text field needs a keyword sub-field.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { prepareRule, ruleMapping } from '../src/detect/router.js';
import { mappingForIndices, mappingType, parseIndexMappings } from '../src/engine/mapping.js';
import { RuleSet } from '../src/serve/rules.js';
import { runCli } from './cli-helpers.js';
import { ndjson, req, startService } from './serve-helpers.js';
import { makeRule, tempDir, writeNdjson } from './detect-helpers.js';

/** `GET logs-*,.ds-logs-*\/_mapping`: a plain index, a data stream's backing index, and another. */
const RESPONSE = {
  'logs-a': {
    mappings: {
      dynamic: false,
      properties: {
        '@timestamp': { type: 'date' },
        event: { properties: { category: { type: 'keyword' } } },
        process: {
          properties: {
            name: { type: 'keyword' },
            title: { type: 'text' },
            command_line: { type: 'wildcard', fields: { text: { type: 'match_only_text' } } },
          },
        },
        pname: { type: 'alias', path: 'process.name' },
      },
    },
  },
  '.ds-logs-b-default-2024.04.28-000007': { mappings: { properties: { '@timestamp': { type: 'date' }, size: { type: 'long' } } } },
  other: { mappings: { properties: { size: { type: 'double' } } } },
};

const EVENT = { '@timestamp': '2024-01-01T00:00:01Z', event: { category: 'process' }, process: { name: 'cmd.exe' }, extra: 'a' };

const rule = (name: string, query: string, index = ['logs-a*']) => makeRule({ name, rule_id: name, query, index });

describe('the mapping a rule sees', () => {
  const m = parseIndexMappings(RESPONSE);
  it('keeps each index apart; a rule sees the indices its patterns select, backing indices by their data stream', () => {
    expect(m.indices.map((i) => i.name)).toEqual(['logs-a', '.ds-logs-b-default-2024.04.28-000007', 'other']);
    const b = ruleMapping(rule('b', 'any where true', ['logs-b-*']), m)!;
    expect(mappingType(b, 'size')).toBe('long'); // not `other`'s double
    expect(mappingType(b, 'process.name')).toBeUndefined();
    const both = ruleMapping(rule('ab', 'any where true', ['logs-*']), m)!;
    expect(mappingType(both, 'process.name')).toBe('keyword');
    expect(mappingType(both, 'size')).toBe('long');
    expect(ruleMapping(rule('w', 'any where true', ['winlogbeat-*']), m)).toBeNull();
  });
  it('a mapping given without its index applies to every search', () => {
    const bare = parseIndexMappings({ properties: { a: { type: 'ip' } } });
    expect(mappingType(mappingForIndices(bare, () => false)!, 'a')).toBe('ip');
  });
  it('prepareRule: unknown fields stop the rule, text without keyword too, rules of other indices are told', () => {
    const opts = { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: false, mapping: m };
    const skip = (q: string) => {
      const p = prepareRule(rule('r', q), opts);
      return 'skip' in p ? p.skip : 'runs';
    };
    expect(skip('process where extra == "a"')).toBe('query does not compile: unknown field `extra`: it is not in the mapping');
    expect(skip('process where process.title == "x"')).toBe(
      'query does not compile: field `process.title` is a text field without a keyword sub-field, which EQL cannot use',
    );
    // ECS's multi-field: the wildcard field is exact, its text sub-field is not.
    expect(skip('process where process.command_line.text == "x"')).toBe(
      'query does not compile: field `process.command_line.text` is a text field without a keyword sub-field, which EQL cannot use',
    );
    // Every problem on the rule's line, in the order the fields are written.
    expect(skip('process where extra == "a" and process.title == "x" or ?gone == 1 or other == 2')).toBe(
      'query does not compile: unknown field `extra`: it is not in the mapping; field `process.title` is a text field without a keyword sub-field, which EQL cannot use; unknown field `other`: it is not in the mapping',
    );
    expect(skip('process where process.command_line : "*x*"')).toBe('runs');
    expect(skip('process where ?extra == "a" and pname == "cmd.exe"')).toBe('runs');
    const p = prepareRule(rule('w', 'process where extra == "a"', ['winlogbeat-*']), opts);
    expect('skip' in p ? p.skip : p.mapped).toBe(false);
    const plain = prepareRule(rule('r', 'process where extra == "a"'), { ...opts, mapping: undefined });
    expect('skip' in plain ? plain.skip : plain.mapped).toBeUndefined();
  });
});

describe('eqlite hunt / explain / serve --mapping', () => {
  const dir = tempDir('eqlite-mapping-rules-');
  const input = writeNdjson(dir, 'events.ndjson', [EVENT]);
  const mappingFile = path.join(dir, 'mapping.json');
  writeFileSync(mappingFile, JSON.stringify(RESPONSE));
  const rules = path.join(dir, 'rules.ndjson');
  const ruleDoc = (name: string, query: string, index = ['logs-a*']) => ({ rule_id: name, name, query, index, type: 'eql', language: 'eql', severity: 'low', risk_score: 21 });
  writeFileSync(
    rules,
    [
      ruleDoc('alias', 'process where pname == "cmd.exe"'),
      ruleDoc('optional', 'process where ?extra == "a"'),
      ruleDoc('unknown', 'process where extra == "a"'),
      ruleDoc('elsewhere', 'process where extra == "a"', ['winlogbeat-*']),
    ]
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  const names = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as Record<string, string>)['kibana.alert.rule.name'])
      .sort();
  const hunt = (extra: string[]) => runCli(['hunt', input, '--rules', rules, '--index', 'logs-a', '--format', 'ndjson', '--no-progress', '--single-window', ...extra]);

  it('hunt: the same rules give the alerts Elasticsearch would give for that index', async () => {
    const without = await hunt([]);
    expect(without.code).toBe(0);
    expect(names(without.stdout)).toEqual(['optional', 'unknown']);
    for (const threads of ['0', '2']) {
      const r = await hunt(['--mapping', mappingFile, '--threads', threads]);
      expect(r.code, r.stderr).toBe(0);
      // pname is an alias of process.name; ?extra is unmapped (dynamic: false), so null; `extra` stops its rule.
      expect(names(r.stdout)).toEqual(['alias']);
      expect(r.stderr).toContain('unknown field `extra`: it is not in the mapping');
      expect(r.stderr).toContain('1 rule(s) search no index of --mapping and run with ECS field types (e.g. "elsewhere")');
    }
  });

  it('hunt and explain: an unreadable mapping is one line and exit 2', async () => {
    const h = await hunt(['--mapping', path.join(dir, 'nope.json')]);
    expect(h.code).toBe(2);
    expect(h.stderr.trim()).toBe(`error: --mapping ${path.join(dir, 'nope.json')}: cannot read: no such file or directory`);
    const x = await runCli(['explain', input, '--rule', 'alias', '--rules', rules, '--mapping', path.join(dir, 'nope.json')]);
    expect(x.code).toBe(2);
    expect(x.stderr.trim()).toBe(`error: --mapping ${path.join(dir, 'nope.json')}: cannot read: no such file or directory`);
  });

  it('explain plans the rule against the mapping', async () => {
    const ok = await runCli(['explain', input, '--rule', 'alias', '--rules', rules, '--index', 'logs-a', '--mapping', mappingFile, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as { results: number }).results).toBe(1);
    const unknown = await runCli(['explain', input, '--rule', 'unknown', '--rules', rules, '--index', 'logs-a', '--mapping', mappingFile]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('error: rule "unknown" cannot run: query does not compile: unknown field `extra`: it is not in the mapping');
  });

  it('serve: _eql/search resolves fields by the mapping of the searched indices', async () => {
    const t = await startService((c) => {
      c.rules = [rules];
      c.mapping = mappingFile;
    });
    try {
      const bulk = await req(`${t.url}/_bulk`, 'POST', ndjson([{ create: { _index: 'logs-a' } }, EVENT]), { 'content-type': 'application/json' });
      expect(bulk.status).toBe(200);
      const ok = await req(`${t.url}/logs-a/_eql/search`, 'POST', { query: 'process where pname == "cmd.exe" and ?extra == null' });
      expect(ok.status, JSON.stringify(ok.json)).toBe(200);
      expect(ok.json.hits.events.map((e: { _source: { process: unknown } }) => e._source.process)).toEqual([{ name: 'cmd.exe' }]);
      const bad = await req(`${t.url}/logs-a/_eql/search`, 'POST', { query: 'process where extra == "a"' });
      expect(bad.status).toBe(400);
      expect(bad.json.error.type).toBe('verification_exception');
      expect(bad.json.error.reason).toBe('Found 1 problem\nline 1:15: unknown field `extra`: it is not in the mapping');
      // Every problem at once, as Elasticsearch's VerificationException lists them.
      const two = await req(`${t.url}/logs-a/_eql/search`, 'POST', { query: 'process where extra == "a" and pname : "x" and other : "y"' });
      expect([two.status, two.json.error.type, two.json.error.reason]).toEqual([
        400,
        'verification_exception',
        'Found 2 problems\nline 1:15: unknown field `extra`: it is not in the mapping\nline 1:48: unknown field `other`: it is not in the mapping',
      ]);
      // A grammar error is a parsing_exception, `line L:C: …`.
      const syntax = await req(`${t.url}/logs-a/_eql/search`, 'POST', { query: 'process where' });
      expect([syntax.status, syntax.json.error.type, syntax.json.error.reason]).toEqual([400, 'parsing_exception', 'line 1:14: expected an expression but found end of query']);
      // join_keys print as Elasticsearch's response does: `size` is a long in logs-b's backing
      // index (7), a double in `other` (7.0), and a float where no mapping says (a fraction).
      const sized = (index: string, size: number, s: number) => [{ create: { _index: index } }, { '@timestamp': `2024-01-01T00:00:0${s}Z`, event: { category: 'process' }, size }];
      const more = await req(`${t.url}/_bulk`, 'POST', ndjson([...sized('logs-b-default', 7, 1), ...sized('logs-b-default', 7, 2), ...sized('other', 7, 3), ...sized('other', 7, 4), ...sized('loose', 2.5, 5), ...sized('loose', 2.5, 6)]), { 'content-type': 'application/json' });
      expect(more.json.errors).toBe(false);
      const keysOf = async (index: string) => {
        const r = await req(`${t.url}/${index}/_eql/search?filter_path=hits.sequences.join_keys`, 'POST', { query: 'sequence by size [any where true] [any where true]' });
        expect(r.status, r.text).toBe(200);
        return r.text;
      };
      expect(await keysOf('logs-b-*')).toBe('{"hits":{"sequences":[{"join_keys":[7]}]}}');
      expect(await keysOf('other')).toBe('{"hits":{"sequences":[{"join_keys":[7.0]}]}}');
      expect(await keysOf('loose')).toBe('{"hits":{"sequences":[{"join_keys":[2.5]}]}}');
      const whole = await req(`${t.url}/other/_eql/search`, 'POST', { query: 'sequence by size [any where true] [any where true]' });
      expect(whole.text).toContain('"sequences":[{"join_keys":[7.0],"events":[{"_index":"other"');
      expect(whole.json.hits.sequences[0].join_keys).toEqual([7]);
    } finally {
      await t.close();
    }
  });

  it('serve: the rule set is prepared against the mapping (config key `mapping`, flag --mapping)', () => {
    const state = new Database(':memory:');
    const set = new RuleSet({ paths: [rules], valueLists: [], mapping: mappingFile, state, log: pino({ level: 'silent' }) });
    try {
      const byName = new Map(set.current.all.map((r) => [r.rule.name, r]));
      expect(byName.get('unknown')!.skip).toBe('query does not compile: unknown field `extra`: it is not in the mapping');
      expect(byName.get('alias')!.skip).toBeNull();
      expect(byName.get('elsewhere')!.problems).toContain('no index of the mapping is selected by its index patterns; ECS field types are used');
    } finally {
      set.close();
      state.close();
    }
  });
});
