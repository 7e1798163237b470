// Bounds against hostile input at the unit level (issue 14): query nesting, the EVTX expansion
// budget, and terminal escapes in what the CLI prints.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatAlertTable } from '../src/cli/hunt.js';
import type { Alert } from '../src/detect/alerts.js';
import { compile } from '../src/engine/index.js';
import { EqlError, formatExpr, parse } from '../src/eql/index.js';
import { MAX_EXPRESSION_DEPTH } from '../src/eql/parser.js';
import { EVTX_LIMITS, readEvtx, type EvtxWarning } from '../src/evtx/index.js';
import { escapeControl, escapeJsonControls } from '../src/util/terminal.js';
import { reasonKind } from '../src/cli/errors.js';
import { parseExport } from '../src/serve/rules.js';
import { nestedDeeperThan } from '../src/util/depth.js';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v, type ElSpec, type ValueSpec } from './evtx-build.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-hostile-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(q: string): EqlError {
  try {
    parse(q);
  } catch (e) {
    if (e instanceof EqlError) return e;
    throw e;
  }
  throw new Error('parsed');
}

describe('query nesting', () => {
  it('refuses nesting beyond the limit with a positioned syntax error, never a stack overflow', () => {
    const parens = errorOf(`process where ${'('.repeat(1000)}a == 1${')'.repeat(1000)}`);
    expect(parens.kind).toBe('syntax');
    expect(parens.message).toBe(`expression nested too deeply: more than ${MAX_EXPRESSION_DEPTH} levels`);
    expect([parens.line, parens.column]).toEqual([1, 15 + MAX_EXPRESSION_DEPTH]);
    expect(errorOf(`process where ${'not '.repeat(5000)}a == 1`).column).toBe(15 + 4 * (MAX_EXPRESSION_DEPTH - 1));
    expect(errorOf(`process where a == ${'-'.repeat(5000)}1`).message).toMatch(/nested too deeply/);
    expect(errorOf(`process where ${'length('.repeat(1000)}a${')'.repeat(1000)} == 1`).message).toMatch(/nested too deeply/);
    expect(errorOf(`process where a == ${Array(1000).fill('1').join(' + ')}`).message).toMatch(/nested too deeply/);
    // The rendering shows a window of the long line around the position.
    const shown = parens.format('q').split('\n');
    expect(shown[1]!.length).toBeLessThan(130);
    expect(shown[2]!.trimEnd().endsWith('^')).toBe(true);
  });

  it('accepts the deepest nesting allowed', () => {
    expect(() => parse(`process where ${'('.repeat(MAX_EXPRESSION_DEPTH - 2)}a == 1${')'.repeat(MAX_EXPRESSION_DEPTH - 2)}`)).not.toThrow();
  });

  it('builds long and/or chains balanced: same results, shallow tree', () => {
    const terms = Array.from({ length: 10_000 }, (_, i) => `n == ${i}`);
    const q = compile(`any where ${terms.join(' or ')}`);
    const ev = (n: number) => ({ id: String(n), index: 'i', source: { '@timestamp': '2024-01-01T00:00:00Z', event: { category: 'x' }, n } });
    expect([...q.run([ev(0), ev(9999), ev(10_000)])].map((r) => (r.kind === 'event' ? r.event.id : ''))).toEqual(['0', '9999']);
    const ands = compile(`any where ${Array.from({ length: 5000 }, () => 'n > 0').join(' and ')} and n < 5`);
    expect([...ands.run([ev(0), ev(3), ev(7)])].map((r) => (r.kind === 'event' ? r.event.id : ''))).toEqual(['3']);
    // Short chains keep the shape they were written in.
    const stmt = parse('any where a == 1 or b == 2 or c == 3');
    expect(stmt.query.kind === 'event' && formatExpr(stmt.query.condition)).toBe('a == 1 or b == 2 or c == 3');
  });
});

// ---------------------------------------------------------------------------------------------

const FRAG = Buffer.from([0x0f, 0x01, 0x01, 0x00]);
const SYSTEM = EVENT_TEMPLATE.children![0] as ElSpec;
const sys = (id: number, host: string): ValueSpec[] => [v.str('P'), v.null(), v.u16(1), v.u64(133500000000000000n + BigInt(id), 0x11), v.u64(BigInt(id)), v.null(), v.str('C'), v.str(host)];
const event = (data: ElSpec | { sub: number; opt?: boolean }): ElSpec => ({ name: 'Event', children: [SYSTEM, data] });

function rec(w: ChunkWriter, id: number, key: string, tpl: ElSpec, values: ValueSpec[]): void {
  w.record(id, 133500000000000000n + BigInt(id), (w) => {
    w.bytes(FRAG);
    w.templateInstance(key, tpl, values);
    w.u8(0x00);
  });
}

async function read(file: string): Promise<{ ids: number[]; warnings: EvtxWarning[]; skipped: number }> {
  const warnings: EvtxWarning[] = [];
  const r = readEvtx(file, { onWarning: (w) => warnings.push(w) });
  const ids: number[] = [];
  for await (const x of r) {
    ids.push(x.recordId);
    x.toRaw();
  }
  return { ids, warnings, skipped: r.stats.recordsSkipped };
}

describe('EVTX expansion budget', () => {
  it('skips a record whose arrays would repeat nested elements n × n times, and reads its neighbours', async () => {
    const w = new ChunkWriter();
    const tpl = event({ name: 'EventData', children: [{ name: 'Data', children: [{ sub: 8 }, { name: 'Inner', children: [{ sub: 9 }] }] }] });
    rec(w, 1, 'a', tpl, [...sys(1, 'ok'), v.raw(0x84, Buffer.alloc(3, 1)), v.raw(0x84, Buffer.alloc(3, 2))]);
    rec(w, 2, 'a', tpl, [...sys(2, 'bad'), v.raw(0x84, Buffer.alloc(6000, 1)), v.raw(0x84, Buffer.alloc(6000, 2))]);
    rec(w, 3, 'a', tpl, [...sys(3, 'ok'), v.str('plain'), v.str('x')]);
    const file = path.join(dir, 'arrays.evtx');
    writeFileSync(file, buildFile([w.finish()]));
    const { ids, warnings, skipped } = await read(file);
    expect(ids).toEqual([1, 3]);
    expect(skipped).toBe(1);
    expect(warnings.map((x) => [x.kind, x.recordId, x.reason])).toEqual([
      ['record', 2, `record skipped: record expands to more than ${EVTX_LIMITS.recordNodes} XML nodes (limit)`],
    ]);
  });

  it('charges a BinXml value at each use: "billion laughs" stops after a few levels', async () => {
    const laugh: ElSpec = { name: 'L', children: [{ sub: 0 }, { sub: 0 }] };
    const level = (k: number): ValueSpec =>
      k === 0
        ? v.null()
        : v.nested((w) => {
            w.bytes(FRAG);
            w.templateInstance('laugh', laugh, [level(k - 1)]);
            w.u8(0x00);
          });
    const w = new ChunkWriter();
    rec(w, 1, 'e', event({ sub: 8, opt: true }), [...sys(1, 'ok'), level(3)]);
    rec(w, 2, 'e', event({ sub: 8, opt: true }), [...sys(2, 'bad'), level(40)]);
    const file = path.join(dir, 'laughs.evtx');
    writeFileSync(file, buildFile([w.finish()]));
    const { ids, warnings } = await read(file);
    expect(ids).toEqual([1]);
    expect(warnings.map((x) => x.reason)).toEqual([`record skipped: record expands to more than ${EVTX_LIMITS.recordNodes} XML nodes (limit)`]);
  });

  it("skips the rest of a chunk whose records together expand beyond the chunk's budget, with one report", async () => {
    const w = new ChunkWriter();
    const tpl = event({ name: 'EventData', children: [{ name: 'Data', children: Array.from({ length: 3000 }, () => ({ sub: 8 })) }] });
    let id = 1;
    for (; w.pos < 0x10000 - 300; id++) rec(w, id, 'r', tpl, [...sys(id, 'bad'), v.str('x')]);
    const last = id - 1;
    const file = path.join(dir, 'chunk.evtx');
    writeFileSync(file, buildFile([w.finish()]));
    const { ids, warnings, skipped } = await read(file);
    // 3,000 text nodes + 4 per record's Data and EventData… about 3,025 nodes each.
    const fits = ids.length;
    expect(fits).toBeGreaterThan(30);
    expect(fits).toBeLessThan(EVTX_LIMITS.chunkNodes / 3000);
    expect(ids).toEqual(Array.from({ length: fits }, (_, i) => i + 1));
    expect(skipped).toBe(last - fits);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.recordId).toBe(fits + 1);
    expect(warnings[0]!.reason).toBe(
      `record skipped: the chunk's records expand to more than ${EVTX_LIMITS.chunkNodes} XML nodes (limit); the chunk's ${last - fits - 1} later record(s) (up to record ${last}) are skipped too`,
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('terminal output', () => {
  const evil = 'x\u001b]0;t\u0007\u001b[2J\u009b1m\u202eY\n\t';
  it('escapes controls as \\uXXXX', () => {
    expect(escapeControl(evil)).toBe('x\\u001b]0;t\\u0007\\u001b[2J\\u009b1m\\u202eY\\u000a\\u0009');
    expect(escapeControl('plain é 𝄞')).toBe('plain é 𝄞');
    expect(JSON.parse(escapeJsonControls(JSON.stringify({ a: evil })))).toEqual({ a: evil });
    expect(escapeJsonControls(JSON.stringify({ a: evil }))).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
  });
  it('the hunt table shows event and rule values escaped', () => {
    const alert = {
      'kibana.alert.original_time': '2024-01-01T00:00:00Z',
      'kibana.alert.severity': 'low',
      'kibana.alert.risk_score': 21,
      'kibana.alert.rule.name': `r${evil}`,
      'kibana.alert.reason': `reason${evil}`,
      host: { name: `h${evil}` },
      user: { name: 'u' },
    } as unknown as Alert;
    const table = formatAlertTable([alert]);
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(table).toContain('hx\\u001b]0;t\\u0007');
    expect(table.split('\n')).toHaveLength(4);
  });
});

describe('skipped-item summary', () => {
  it('groups reports by their kind, keeping the limit a report names', () => {
    expect(reasonKind('JSON nested deeper than 1000 levels')).toBe('JSON nested deeper than 1000 levels');
    expect(reasonKind('item longer than 64 MB (unterminated value or missing newline?)')).toBe('item longer than 64 MB (unterminated value or missing newline?)');
    expect(reasonKind(`record skipped: record expands to more than ${EVTX_LIMITS.recordNodes} XML nodes (limit)`)).toBe(`record expands to more than ${EVTX_LIMITS.recordNodes} XML nodes (limit)`);
    expect(reasonKind("record skipped: the chunk's records expand to more than 131072 XML nodes (limit); the chunk's 3 later record(s) (up to record 9) are skipped too")).toBe(
      "the chunk's records expand to more than 131072 XML nodes (limit)",
    );
    expect(reasonKind('invalid JSON at line 2 column 3: unexpected token')).toBe('invalid JSON');
  });
});

describe('rule nesting', () => {
  it("serve's rule import refuses a line nested deeper than 100 levels and keeps the others", () => {
    const rule = (id: string, extra = '') =>
      `{"rule_id":"${id}","name":"${id}","description":"d","risk_score":21,"severity":"low","type":"eql","language":"eql","index":["logs-*"],"query":"process where true"${extra}}`;
    const r = parseExport([rule('fine'), rule('deep', `,"meta":${'['.repeat(100_000)}${']'.repeat(100_000)}`)].join('\n'), 'import.ndjson');
    expect(r.rules.map((x) => x.rule_id)).toEqual(['fine']);
    expect(r.skipped.map((s) => [s.file, s.line, s.reason])).toEqual([['import.ndjson', 2, 'JSON nested deeper than 100 levels']]);
    expect(nestedDeeperThan({ a: [[{ b: 1 }]] }, 4)).toBe(false);
    expect(nestedDeeperThan({ a: [[{ b: {} }]] }, 4)).toBe(true);
  });
});
