// The bulk parser picks the fields routing reads from a document's bytes (to leave the documents
// no rule can use unparsed) only while that pays: when nearly every document of a rule
// generation is dispatched to some rule, it parses and routes them at once. Either way each item
// comes out the same.
import { describe, expect, test } from 'vitest';
import { BulkParser, type BulkItem, type BulkRouter } from '../src/serve/bulk.js';

/** A router stub: `dispatch` decides mayDispatch and route; calls are counted. */
function stubRouter(dispatch: (doc: Record<string, unknown>) => boolean): BulkRouter & { calls: { may: number; route: number } } {
  const calls = { may: 0, route: 0 };
  return {
    gen: 3,
    // One array per generation (the parser keeps its picking statistics by it).
    fields: ['process.name'],
    wants: (index) => index.startsWith('logs-'),
    mayDispatch(picked) {
      calls.may++;
      return dispatch(picked);
    },
    route(ev) {
      calls.route++;
      return dispatch(ev.source) ? [0] : [];
    },
    calls,
  };
}

function body(n: number, name: (i: number) => string, bad: ReadonlySet<number> = new Set()): Buffer {
  let b = '';
  for (let i = 0; i < n; i++) {
    b += '{"create":{"_index":"logs-test-default"}}\n';
    b += bad.has(i) ? `{"@timestamp":"2025-01-01T00:00:00.000Z","process":{"name":"${name(i)}"},}\n` : `{"@timestamp":"2025-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z","process":{"name":"${name(i)}"}}\n`;
  }
  return Buffer.from(b);
}

/** What an item says, without where its bytes are. */
const summary = (it: BulkItem) => ({ ts: it.ts, routed: it.routed, routes: it.routes, parsed: it.doc !== undefined, error: it.error?.reason });

describe('picking the dispatch fields only while it pays', () => {
  test('most documents dispatched: after a warm-up, one in 32 is picked first; items are those of picking every one', () => {
    const router = stubRouter(() => true);
    const items = new BulkParser({ router }).parse(body(2000, () => 'cmd.exe'));
    expect(items).toHaveLength(2000);
    // 64 to learn the share, then every 32nd of the other 1,936 (60 of them).
    expect(router.calls.may).toBe(64 + 60);
    expect(router.calls.route).toBe(2000);
    for (const it of items) expect(summary(it)).toEqual({ ts: it.ts, routed: 3, routes: [0], parsed: true, error: undefined });
    expect(items[61]!.ts).toBe(Date.parse('2025-01-01T00:00:01.000Z'));
  });

  test('most documents turned away: every one is picked first and only the dispatched ones are parsed', () => {
    const router = stubRouter((d) => (d.process as { name: string }).name === 'wscript.exe');
    const items = new BulkParser({ router }).parse(body(1000, (i) => (i % 100 === 0 ? 'wscript.exe' : 'svchost.exe')));
    expect(router.calls.may).toBe(1000);
    expect(router.calls.route).toBe(10);
    expect(items.filter((it) => it.doc !== undefined)).toHaveLength(10);
    expect(items.filter((it) => it.routed === -3)).toHaveLength(990);
    expect(items[1]!.ts).toBe(Date.parse('2025-01-01T00:00:01.000Z'));
  });

  test('a malformed document gets the same 400 whether it was picked first or parsed at once', () => {
    const bad = new Set([10, 1500]);
    const picked = new BulkParser({ router: stubRouter(() => false) }).parse(body(2000, () => 'x', bad));
    const parsed = new BulkParser({ router: stubRouter(() => true) }).parse(body(2000, () => 'x', bad));
    const reasons = (items: BulkItem[]) => items.flatMap((it, i) => (it.error ? [`${i}: ${it.error.status} ${it.error.reason}`] : []));
    // (Byte positions are told from the document's start.)
    expect(reasons(picked)).toEqual(['10: 400 failed to parse the document: expected a key at byte 64', '1500: 400 failed to parse the document: expected a key at byte 64']);
    expect(reasons(parsed)).toEqual(reasons(picked));
  });

  test('a number @timestamp is read from its text whether the document was picked first or parsed at once', () => {
    // Elasticsearch's date field parses a JSON number's text: no exponent, at most six decimals.
    const stamps = ['1.7e12', '1700000000000.5', '17E11', '1700000000000.1234567', '2024', '1700000000000'];
    const b = Buffer.from(stamps.map((v) => `{"create":{"_index":"logs-test-default"}}\n{"@timestamp":${v},"process":{"name":"x"}}\n`).join(''));
    const said = (items: BulkItem[]) => items.map((it) => it.error?.reason.replace(/.*Preview of field's value: /, '') ?? it.ts);
    const want = ["'1.7e12'", 1700000000000, "'17E11'", "'1700000000000.1234567'", Date.UTC(2024, 0, 1), 1700000000000];
    expect(said(new BulkParser({ router: stubRouter(() => false) }).parse(b))).toEqual(want);
    expect(said(new BulkParser({ router: stubRouter(() => true) }).parse(b))).toEqual(want);
  });
});
