// Conditions are compiled to generated JavaScript (engine/expr.ts, "straight-line predicates");
// the closures they replace are the reference. Every condition must give the same answer on every
// document, nulls, negations, multi-valued fields and case folding included — and the answers
// are stated exactly for a few.
import { describe, expect, it } from 'vitest';
import { parse } from '../src/eql/index.js';
import { compilePredicate, compilePredicateClosures, compileTermFilter } from '../src/engine/expr.js';

const condition = (q: string) => {
  const stmt = parse(`any where ${q}`);
  if (stmt.query.kind !== 'event') throw new Error('not an event query');
  return stmt.query.condition;
};

const CONDITIONS = [
  'process.name : "CMD.exe"',
  'process.name : ("*.EXE", "a?c")',
  'process.name like "cmd.exe"',
  'process.name != "cmd.exe"',
  'not process.name == "cmd.exe"',
  'process.name == null',
  'process.name != null',
  'process.name not in ("a", "b")',
  'process.name in~ ("A", "CMD.EXE")',
  'not (process.name : "*.exe" or process.pid > 4)',
  'process.pid > 4 and process.pid != 10 or process.args : "-enc*"',
  'process.args : "-ENC*" and not process.args == "x"',
  'process.name regex~ "cmd\\\\.exe"',
  'startsWith~(process.name, "CM") and endsWith(process.name, "exe")',
  'length(process.name) == 7',
  'process.pid + 1 == 5',
  'true and process.name : "x"',
  'false or process.name : "x"',
  '?process.missing == null and not ?process.missing : "x"',
  'process.name : "cmd.exe" and process.name : "cmd.exe" and not not process.pid == 4',
];

const SOURCES: Record<string, unknown>[] = [
  {},
  { process: { name: 'cmd.exe', pid: 4, args: ['cmd.exe', '-enc', 'AAA'] } },
  { process: { name: 'CMD.EXE', pid: 10 } },
  { process: { name: 'abc', pid: '4' } },
  { process: { name: ['x', 'cmd.exe'], pid: [3, 5] } },
  { process: { name: null, pid: null, args: [] } },
  { process: { name: 42 } },
  { 'process.name': 'a', 'process.pid': 11, process: { args: ['X'] } },
  { process: [{ name: 'a' }, { name: 'b' }] },
];

describe('generated predicates', () => {
  it('answer exactly as the closures on every condition and document', () => {
    for (const q of CONDITIONS) {
      const e = condition(q);
      const gen = compilePredicate(e);
      const ref = compilePredicateClosures(e);
      // Sources in several orders: the shared leaves' memo must never leak between documents.
      for (const order of [SOURCES, [...SOURCES].reverse(), [...SOURCES, ...SOURCES]]) {
        expect({ q, got: order.map((s) => gen(s)) }).toEqual({ q, got: order.map((s) => ref(s)) });
      }
    }
  });

  it('gives the stated answers', () => {
    const run = (q: string) => SOURCES.map((s) => compilePredicate(condition(q))(s));
    //                                        {}     cmd.exe CMD.EXE abc    multi  nulls  42     dotted arr
    expect(run('process.name : "CMD.exe"')).toEqual([false, true, true, false, true, false, false, false, false]);
    expect(run('process.name != "cmd.exe"')).toEqual([true, false, true, true, false, true, true, true, true]);
    expect(run('process.name == null')).toEqual([true, false, false, false, false, true, false, false, false]);
    expect(run('process.name not in ("a", "b")')).toEqual([true, true, true, true, true, true, true, false, false]);
    expect(run('not (process.name : "*.exe" or process.pid > 4)')).toEqual([true, false, false, true, false, true, true, false, true]);
  });

  it('term filters test the category (value or element) and the condition, in one function', () => {
    const docs: Record<string, unknown>[] = [
      { event: { category: 'process' }, process: { name: 'cmd.exe' } },
      { event: { category: ['network', 'process'] }, process: { name: 'CMD.EXE' } },
      { event: { category: ['network'] }, process: { name: 'cmd.exe' } },
      { event: { category: 'Process' }, process: { name: 'cmd.exe' } },
      { event: { category: [] }, process: { name: 'cmd.exe' } },
      { process: { name: 'cmd.exe' } },
      { 'event.category': 'process', process: { name: 'cmd.exe' } },
      { event: { category: 'process' }, process: { name: 'x.exe' } },
    ];
    const e = condition('process.name : "cmd.exe"');
    const ref = compilePredicateClosures(e);
    const process = compileTermFilter('process', 'event.category', e);
    const any = compileTermFilter(null, 'event.category', e);
    const custom = compileTermFilter('process', 'x.kind', e);
    // Several orders: the category leaf's memo must never leak between documents.
    for (const order of [docs, [...docs].reverse(), [...docs, ...docs]]) {
      expect(order.map((source) => process({ source }))).toEqual(order.map((d) => [docs[0], docs[1], docs[6]].includes(d) && ref(d)));
      expect(order.map((source) => any({ source }))).toEqual(order.map((d) => ref(d)));
    }
    expect(docs.map((source) => process({ source }))).toEqual([true, true, false, false, false, false, true, false]);
    expect(custom({ source: { x: { kind: ['process'] }, process: { name: 'CMD.exe' } } })).toBe(true);
    expect(custom({ source: { event: { category: 'process' }, process: { name: 'cmd.exe' } } })).toBe(false);
  });
});
