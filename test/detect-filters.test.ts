// Elasticsearch queries of rule filters, evaluated over event sources (src/detect/filters.ts).
import { describe, expect, it } from 'vitest';
import { compileQuery, compileRuleFilters, FilterError } from '../src/detect/filters.js';

const now = Date.parse('2024-06-01T12:00:00Z');
const q = (query: unknown) => compileQuery(query, { now });

describe('filter queries', () => {
  it('keyword fields compare whole values, exactly; numbers and booleans by value', () => {
    expect(q({ match_phrase: { 'process.name': 'cmd.exe' } })({ process: { name: 'cmd.exe' } })).toBe(true);
    expect(q({ match_phrase: { 'process.name': 'cmd' } })({ process: { name: 'cmd.exe' } })).toBe(false);
    expect(q({ match_phrase: { 'process.name': 'CMD.EXE' } })({ process: { name: 'cmd.exe' } })).toBe(false);
    expect(q({ term: { 'process.name': { value: 'CMD.EXE', case_insensitive: true } } })({ 'process.name': 'cmd.exe' })).toBe(true);
    expect(q({ match: { 'destination.port': '443' } })({ destination: { port: 443 } })).toBe(true);
    expect(q({ terms: { 'destination.port': [80, 443] } })({ destination: { port: [22, 443] } })).toBe(true);
    expect(q({ match_phrase: { 'dll.code_signature.trusted': 'true' } })({ dll: { code_signature: { trusted: true } } })).toBe(true);
    expect(q({ term: { 'source.ip': '::ffff:10.0.0.1' } })({ source: { ip: '10.0.0.1' } })).toBe(true);
  });
  it('text fields match words and phrases', () => {
    const ev = { message: 'User Alice logged on from 10.0.0.1' };
    expect(q({ match_phrase: { message: 'alice logged' } })(ev)).toBe(true);
    expect(q({ match_phrase: { message: 'logged alice' } })(ev)).toBe(false);
    expect(q({ match: { message: 'bob alice' } })(ev)).toBe(true);
    expect(q({ match: { message: { query: 'bob alice', operator: 'and' } } })(ev)).toBe(false);
    // A multi-field reads its parent's value.
    expect(q({ match_phrase: { 'process.command_line.text': 'encodedcommand' } })({ process: { command_line: 'powershell -EncodedCommand AAA' } })).toBe(true);
  });
  it('exists, wildcard, prefix', () => {
    expect(q({ exists: { field: 'user.name' } })({ user: { name: [] } })).toBe(false);
    expect(q({ exists: { field: 'user.name' } })({ 'user.name': 'x' })).toBe(true);
    expect(q({ wildcard: { 'file.path': { value: 'C:\\\\Windows\\\\*.exe' } } })({ file: { path: 'C:\\Windows\\notepad.exe' } })).toBe(true);
    expect(q({ wildcard: { 'file.path': 'c:*' } })({ file: { path: 'C:\\x' } })).toBe(false);
    expect(q({ prefix: { 'file.path': { value: 'c:', case_insensitive: true } } })({ file: { path: 'C:\\x' } })).toBe(true);
  });
  it('range on dates (with date math), numbers, IP addresses and keywords', () => {
    expect(q({ range: { '@timestamp': { gte: 'now-1d', lt: 'now' } } })({ '@timestamp': '2024-06-01T00:00:00Z' })).toBe(true);
    expect(q({ range: { '@timestamp': { gte: 'now-1h' } } })({ '@timestamp': '2024-06-01T00:00:00Z' })).toBe(false);
    expect(q({ range: { 'process.pid': { gt: 4, lte: 100 } } })({ process: { pid: 100 } })).toBe(true);
    expect(q({ range: { 'process.pid': { gt: 4, lte: 100 } } })({ process: { pid: 4 } })).toBe(false);
    expect(q({ range: { 'source.ip': { gte: '10.0.0.0', lte: '10.0.0.255' } } })({ source: { ip: '10.0.0.9' } })).toBe(true);
    expect(q({ range: { 'source.ip': { gte: '10.0.0.0', lte: '10.0.0.255' } } })({ source: { ip: '10.0.1.9' } })).toBe(false);
    expect(q({ range: { 'host.name': { gte: 'a', lt: 'c' } } })({ host: { name: 'b1' } })).toBe(true);
  });
  it('bool: must, filter, should with minimum_should_match, must_not; nested', () => {
    const b = q({ bool: { filter: [{ term: { 'host.name': 'h' } }], should: [{ term: { 'user.name': 'a' } }, { term: { 'user.name': 'b' } }], minimum_should_match: 1, must_not: { term: { 'process.name': 'x' } } } });
    expect(b({ host: { name: 'h' }, user: { name: 'b' } })).toBe(true);
    expect(b({ host: { name: 'h' }, user: { name: 'c' } })).toBe(false);
    expect(b({ host: { name: 'h' }, user: { name: 'a' }, process: { name: 'x' } })).toBe(false);
    // With a filter clause and no minimum_should_match, should clauses are optional.
    expect(q({ bool: { filter: { term: { 'host.name': 'h' } }, should: { term: { 'user.name': 'zz' } } } })({ host: { name: 'h' } })).toBe(true);
    expect(q({ bool: { should: [{ term: { a: 1 } }, { term: { b: 1 } }, { term: { c: 1 } }], minimum_should_match: '67%' } })({ a: 1, b: 1 })).toBe(true);
    expect(q({ bool: { should: [{ term: { a: 1 } }, { term: { b: 1 } }, { term: { c: 1 } }], minimum_should_match: '100%' } })({ a: 1, b: 1 })).toBe(false);
    expect(q({ bool: { should: [{ term: { a: 1 } }, { term: { b: 1 } }, { term: { c: 1 } }], minimum_should_match: -1 } })({ a: 1, b: 1 })).toBe(true);
    const n = q({ nested: { path: 'process.Ext.code_signature', query: { bool: { filter: [{ term: { 'process.Ext.code_signature.trusted': true } }, { term: { 'process.Ext.code_signature.subject_name': 'M' } }] } } } });
    expect(n({ process: { Ext: { code_signature: [{ trusted: false, subject_name: 'M' }, { trusted: true, subject_name: 'N' }] } } })).toBe(false);
    expect(n({ process: { Ext: { code_signature: [{ trusted: true, subject_name: 'M' }] } } })).toBe(true);
  });
  it('rule filters: enabled must match, negated must not, disabled ignored; unsupported queries are errors', () => {
    expect(compileRuleFilters([], { now })).toBeNull();
    expect(compileRuleFilters([{ meta: { disabled: true }, query: { match_all: {} } }], { now })).toBeNull();
    const f = compileRuleFilters([{ meta: { negate: true }, query: { term: { 'user.name': 'svc' } } }, { query: { exists: { field: 'user.name' } } }], { now })!;
    expect(f({ user: { name: 'alice' } })).toBe(true);
    expect(f({ user: { name: 'svc' } })).toBe(false);
    expect(f({})).toBe(false);
    expect(() => compileRuleFilters([{ meta: {}, query: { script: { script: 'x' } } }], { now })).toThrow(FilterError);
    expect(() => compileRuleFilters([{ meta: {}, query: { script: { script: 'x' } } }], { now })).toThrow('filter 1: query type "script" is not supported offline');
  });
});
