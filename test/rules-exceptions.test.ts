import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compileExceptionItems,
  compileRuleExceptions,
  loadValueLists,
  parseIp,
  wildcardMatcher,
} from '../src/rules/exceptions.js';
import type { ExceptionEntry, ExceptionItem, ExceptionList } from '../src/rules/types.js';

function item(entries: ExceptionEntry[], extra: Partial<ExceptionItem> = {}): ExceptionItem {
  return { item_id: extra.item_id ?? 'i1', list_id: 'l1', name: 'n', namespace_type: 'single', entries, ...extra };
}

function excepts(entries: ExceptionEntry[], src: Record<string, unknown>, valueLists?: Map<string, Set<string>>): boolean {
  return compileExceptionItems([item(entries)], { valueLists }).predicate(src);
}

describe('match / match_any', () => {
  const m: ExceptionEntry = { type: 'match', field: 'process.name', operator: 'included', value: 'cmd.exe' };
  it('is exact and case-sensitive, on nested objects and flat dotted keys', () => {
    expect(excepts([m], { process: { name: 'cmd.exe' } })).toBe(true);
    expect(excepts([m], { 'process.name': 'cmd.exe' })).toBe(true);
    expect(excepts([m], { process: { name: 'CMD.EXE' } })).toBe(false);
    expect(excepts([m], { process: { name: 'cmd.exe ' } })).toBe(false);
    expect(excepts([m], {})).toBe(false);
  });
  it('any element of an array matches', () => {
    expect(excepts([m], { process: { name: ['a', 'cmd.exe'] } })).toBe(true);
    expect(excepts([m], { process: [{ name: 'a' }, { name: 'cmd.exe' }] })).toBe(true);
  });
  it('a numeric string matches the number in a numeric field; booleans by their text', () => {
    expect(excepts([{ type: 'match', field: 'destination.port', operator: 'included', value: '443' }], { destination: { port: 443 } })).toBe(true);
    expect(excepts([{ type: 'match', field: 'destination.port', operator: 'included', value: '443' }], { destination: { port: 4430 } })).toBe(false);
    expect(excepts([{ type: 'match', field: 'x', operator: 'included', value: 'true' }], { x: true })).toBe(true);
  });
  it('excluded negates, and holds when the field is absent (must_not)', () => {
    const ex: ExceptionEntry = { ...m, operator: 'excluded' };
    expect(excepts([ex], { process: { name: 'cmd.exe' } })).toBe(false);
    expect(excepts([ex], { process: { name: 'x.exe' } })).toBe(true);
    expect(excepts([ex], {})).toBe(true);
    // One matching element is enough for the must_not to fail.
    expect(excepts([ex], { process: { name: ['x.exe', 'cmd.exe'] } })).toBe(false);
  });
  it('match_any is "is one of"', () => {
    const any: ExceptionEntry = { type: 'match_any', field: 'user.name', operator: 'included', value: ['alice', 'bob'] };
    expect(excepts([any], { user: { name: 'bob' } })).toBe(true);
    expect(excepts([any], { user: { name: 'Bob' } })).toBe(false);
    expect(excepts([{ ...any, operator: 'excluded' }], { user: { name: 'carol' } })).toBe(true);
    expect(excepts([{ ...any, operator: 'excluded' }], { user: { name: 'alice' } })).toBe(false);
  });
});

describe('wildcard', () => {
  const w: ExceptionEntry = { type: 'wildcard', field: 'file.path', operator: 'included', value: 'C:\\\\Users\\\\*\\\\AppData\\\\?oo.exe' };
  it('* and ? with backslash escapes; case-sensitive like Kibana\'s plain wildcard query', () => {
    expect(excepts([w], { file: { path: 'C:\\Users\\bob\\AppData\\foo.exe' } })).toBe(true);
    expect(excepts([w], { file: { path: 'C:\\Users\\a\\b\\AppData\\zoo.exe' } })).toBe(true);
    expect(excepts([w], { file: { path: 'C:\\Users\\bob\\AppData\\fooo.exe' } })).toBe(false);
    expect(excepts([w], { file: { path: 'c:\\users\\bob\\appdata\\foo.exe' } })).toBe(false);
    expect(excepts([w], { file: { path: 'C:\\Users\\bob\\AppData\\foo.exe\\x' } })).toBe(false);
  });
  it('escaped * and ? are literal, regex metacharacters are literal', () => {
    expect(wildcardMatcher('a\\*b')('a*b')).toBe(true);
    expect(wildcardMatcher('a\\*b')('axb')).toBe(false);
    expect(wildcardMatcher('a.b(c)?')('a.b(c)!')).toBe(true);
    expect(wildcardMatcher('a.b(c)?')('aXb(c)!')).toBe(false);
  });
  it('excluded wildcard', () => {
    expect(excepts([{ ...w, operator: 'excluded' }], { file: { path: 'D:\\x' } })).toBe(true);
    expect(excepts([{ ...w, operator: 'excluded' }], { file: { path: 'C:\\Users\\u\\AppData\\boo.exe' } })).toBe(false);
  });
});

describe('exists', () => {
  const e: ExceptionEntry = { type: 'exists', field: 'process.parent.name', operator: 'included' };
  it('present, null, empty array, excluded', () => {
    expect(excepts([e], { process: { parent: { name: '' } } })).toBe(true);
    expect(excepts([e], { 'process.parent.name': 'x' })).toBe(true);
    expect(excepts([e], { process: { parent: { name: null } } })).toBe(false);
    expect(excepts([e], { process: { parent: { name: [] } } })).toBe(false);
    expect(excepts([e], { process: { parent: {} } })).toBe(false);
    expect(excepts([{ ...e, operator: 'excluded' }], { process: {} })).toBe(true);
    expect(excepts([{ ...e, operator: 'excluded' }], { process: { parent: { name: 'x' } } })).toBe(false);
  });
});

describe('items and entries', () => {
  const host: ExceptionEntry = { type: 'match', field: 'host.name', operator: 'included', value: 'build-01' };
  const proc: ExceptionEntry = { type: 'match', field: 'process.name', operator: 'included', value: 'msbuild.exe' };
  it('entries of an item are ANDed, items are ORed', () => {
    const c = compileExceptionItems([item([host, proc], { item_id: 'a' }), item([{ ...proc, value: 'cl.exe' }], { item_id: 'b' })]);
    expect(c.active).toBe(2);
    expect(c.predicate({ host: { name: 'build-01' }, process: { name: 'msbuild.exe' } })).toBe(true);
    expect(c.predicate({ host: { name: 'build-02' }, process: { name: 'msbuild.exe' } })).toBe(false);
    expect(c.predicate({ host: { name: 'build-02' }, process: { name: 'cl.exe' } })).toBe(true);
    expect(compileExceptionItems([]).predicate({ anything: 1 })).toBe(false);
  });
  it('os_types restricts an item to host.os.type or host.os.name.caseless', () => {
    const c = compileExceptionItems([item([proc], { os_types: ['windows'] })]);
    expect(c.predicate({ host: { os: { type: 'windows' } }, process: { name: 'msbuild.exe' } })).toBe(true);
    expect(c.predicate({ host: { os: { name: { caseless: 'windows' } } }, process: { name: 'msbuild.exe' } })).toBe(true);
    expect(c.predicate({ host: { os: { type: 'linux' } }, process: { name: 'msbuild.exe' } })).toBe(false);
    expect(c.predicate({ process: { name: 'msbuild.exe' } })).toBe(false);
  });
  it('expired items are ignored; expire_time after the run time keeps the item', () => {
    const expiring = item([host], { item_id: 'old', expire_time: '2025-01-01T00:00:00Z' });
    const before = compileExceptionItems([expiring], { now: new Date('2024-12-31T23:59:59Z') });
    expect(before.active).toBe(1);
    expect(before.predicate({ host: { name: 'build-01' } })).toBe(true);
    const after = compileExceptionItems([expiring], { now: Date.parse('2025-01-01T00:00:00Z') });
    expect(after.active).toBe(0);
    expect(after.expired.map((i) => i.item_id)).toEqual(['old']);
    expect(after.predicate({ host: { name: 'build-01' } })).toBe(false);
  });
});

describe('nested', () => {
  const nested: ExceptionEntry = {
    type: 'nested', field: 'process.Ext.code_signature', entries: [
      { type: 'match', field: 'subject_name', operator: 'included', value: 'Acme Corp' },
      { type: 'match', field: 'trusted', operator: 'included', value: 'true' },
    ],
  };
  it('all inner entries must hold for the same element', () => {
    const same = { process: { Ext: { code_signature: [{ subject_name: 'Other', trusted: true }, { subject_name: 'Acme Corp', trusted: true }] } } };
    const split = { process: { Ext: { code_signature: [{ subject_name: 'Acme Corp', trusted: false }, { subject_name: 'Other', trusted: true }] } } };
    expect(excepts([nested], same)).toBe(true);
    expect(excepts([nested], split)).toBe(false);
    expect(excepts([nested], { 'process.Ext.code_signature': { subject_name: 'Acme Corp', trusted: true } })).toBe(true);
    expect(excepts([nested], {})).toBe(false);
  });
  it('excluded inner entries are evaluated per element', () => {
    const n: ExceptionEntry = {
      type: 'nested', field: 'dll.Ext.code_signature', entries: [
        { type: 'match', field: 'subject_name', operator: 'excluded', value: 'Acme Corp' },
        { type: 'exists', field: 'status', operator: 'included' },
      ],
    };
    expect(excepts([n], { dll: { Ext: { code_signature: [{ subject_name: 'Acme Corp', status: 'ok' }] } } })).toBe(false);
    expect(excepts([n], { dll: { Ext: { code_signature: [{ subject_name: 'Acme Corp', status: 'ok' }, { subject_name: 'X', status: 'bad' }] } } })).toBe(true);
  });
});

describe('value lists', () => {
  const lists = new Map<string, Set<string>>([
    ['hosts', new Set(['build-01', 'build-02'])],
    ['nets', new Set(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'])],
    ['ranges', new Set(['172.16.0.1-172.16.0.20', '::ffff:8.8.8.0/120'])],
    ['phrases', new Set(['quick brown'])],
  ]);
  it('keyword list: is in list / is not in list', () => {
    const e: ExceptionEntry = { type: 'list', field: 'host.name', operator: 'included', list: { id: 'hosts', type: 'keyword' } };
    expect(excepts([e], { host: { name: 'build-02' } }, lists)).toBe(true);
    expect(excepts([e], { host: { name: 'BUILD-02' } }, lists)).toBe(false);
    expect(excepts([{ ...e, operator: 'excluded' }], { host: { name: 'web-1' } }, lists)).toBe(true);
    expect(excepts([{ ...e, operator: 'excluded' }], { host: { name: 'build-01' } }, lists)).toBe(false);
  });
  it('ip list accepts addresses and CIDR blocks; ip_range accepts from-to ranges', () => {
    const ip: ExceptionEntry = { type: 'list', field: 'source.ip', operator: 'included', list: { id: 'nets', type: 'ip' } };
    expect(excepts([ip], { source: { ip: '10.200.3.4' } }, lists)).toBe(true);
    expect(excepts([ip], { source: { ip: '192.168.1.7' } }, lists)).toBe(true);
    expect(excepts([ip], { source: { ip: '192.168.1.8' } }, lists)).toBe(false);
    expect(excepts([ip], { source: { ip: '2001:db8:ffff::1' } }, lists)).toBe(true);
    expect(excepts([ip], { source: { ip: '2001:db9::1' } }, lists)).toBe(false);
    expect(excepts([ip], { source: { ip: 'not-an-ip' } }, lists)).toBe(false);
    const range: ExceptionEntry = { type: 'list', field: 'source.ip', operator: 'included', list: { id: 'ranges', type: 'ip_range' } };
    expect(excepts([range], { source: { ip: '172.16.0.20' } }, lists)).toBe(true);
    expect(excepts([range], { source: { ip: '172.16.0.21' } }, lists)).toBe(false);
    expect(excepts([range], { source: { ip: '8.8.8.8' } }, lists)).toBe(true);
  });
  it('text list: all tokens of a list value occur in the field', () => {
    const t: ExceptionEntry = { type: 'list', field: 'message', operator: 'included', list: { id: 'phrases', type: 'text' } };
    expect(excepts([t], { message: 'The Brown fox is QUICK' }, lists)).toBe(true);
    expect(excepts([t], { message: 'The brown fox' }, lists)).toBe(false);
  });
  it('a missing value list is reported and the item never excepts', () => {
    const e: ExceptionEntry = { type: 'list', field: 'host.name', operator: 'excluded', list: { id: 'nope', type: 'keyword' } };
    const c = compileExceptionItems([item([e])], { valueLists: lists });
    expect(c.active).toBe(0);
    expect(c.problems).toEqual([{ list_id: 'l1', item_id: 'i1', reason: 'value list "nope" (entry on host.name) was not loaded' }]);
    expect(c.predicate({ host: { name: 'x' } })).toBe(false);
  });
  it('parses IPv4, IPv6 and IPv4-mapped addresses', () => {
    expect(parseIp('1.2.3.4')).toEqual({ family: 4, value: 0x01020304n });
    expect(parseIp('::ffff:1.2.3.4')).toEqual({ family: 4, value: 0x01020304n });
    expect(parseIp('::1')).toEqual({ family: 6, value: 1n });
    expect(parseIp('fe80::1%eth0')).toEqual({ family: 6, value: (0xfe80n << 112n) | 1n });
    expect(parseIp('1.2.3.256')).toBeNull();
    expect(parseIp('1:2:3')).toBeNull();
  });
  it('loads plain-text and Kibana list-item NDJSON files', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-vl-'));
    try {
      const txt = path.join(dir, 'blocked_ips.txt');
      writeFileSync(txt, '10.0.0.1\r\n\n10.0.0.2\n');
      const nd = path.join(dir, 'export.ndjson');
      writeFileSync(nd, [
        JSON.stringify({ id: 'x', list_id: 'users', type: 'keyword', value: 'alice' }),
        JSON.stringify({ id: 'y', list_id: 'users', type: 'keyword', value: 'bob' }),
        JSON.stringify({ id: 'users', name: 'users', type: 'keyword' }),
      ].join('\n'));
      const m = loadValueLists([txt, nd]);
      expect([...m.keys()]).toEqual(['blocked_ips', 'users']);
      expect([...m.get('blocked_ips')!]).toEqual(['10.0.0.1', '10.0.0.2']);
      expect([...m.get('users')!]).toEqual(['alice', 'bob']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rule references', () => {
  const lists: ExceptionList[] = [
    { list_id: 'shared', id: 'so-shared', name: 'S', namespace_type: 'single', type: 'detection', items: [
      item([{ type: 'match', field: 'user.name', operator: 'included', value: 'svc' }], { list_id: 'shared' }),
    ] },
    { list_id: 'endpoint_list', name: 'E', namespace_type: 'agnostic', type: 'endpoint', items: [
      item([{ type: 'match', field: 'process.name', operator: 'included', value: 'av.exe' }], { list_id: 'endpoint_list', item_id: 'e1' }),
    ] },
  ];
  it('resolves by list_id + namespace_type and reports missing lists', () => {
    const c = compileRuleExceptions({
      exceptions_list: [
        { id: 'so-shared', list_id: 'shared', namespace_type: 'single', type: 'detection' },
        { id: 'endpoint_list', list_id: 'endpoint_list', namespace_type: 'single', type: 'endpoint' },
        { id: 'gone', list_id: 'gone', namespace_type: 'single', type: 'rule_default' },
      ],
    }, lists);
    // endpoint_list is referenced with the wrong namespace and a different id: not resolved.
    expect(c.missing.map((m) => m.list_id)).toEqual(['endpoint_list', 'gone']);
    expect(c.active).toBe(1);
    expect(c.predicate({ user: { name: 'svc' } })).toBe(true);
    expect(c.predicate({ process: { name: 'av.exe' } })).toBe(false);
  });
  it('falls back to the saved-object id', () => {
    const c = compileRuleExceptions({ exceptions_list: [{ id: 'so-shared', list_id: 'renamed', namespace_type: 'single', type: 'detection' }] }, lists);
    expect(c.missing).toEqual([]);
    expect(c.predicate({ user: { name: 'svc' } })).toBe(true);
  });
});
