// The bulk parser leaves a document of a wanted index unlooked-at when it holds none of the rules'
// needles (src/serve/needles.ts): no rule can use it, and the store's writer thread checks it.
// That must never lose an event a rule can use, never skip the mapping of a raw Windows event, and
// never let a malformed document through.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareRule, RuleRouter, type PreparedRule } from '../src/detect/router.js';
import { inferIndex } from '../src/events/sources.js';
import { generateEvents } from '../src/generate/index.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { BulkParser, type BulkItem, type BulkRouter } from '../src/serve/bulk.js';
import { req, startService, type TestService } from './serve-helpers.js';

/** The bulk router of some rules, with or without their needles. */
function routerOf(rules: PreparedRule[], needles: boolean): BulkRouter {
  const r = new RuleRouter(rules);
  const fields = r.dispatchFields();
  return {
    gen: 7,
    fields,
    needles: needles ? r.needles : null,
    wants: (index) => rules.some((p) => p.matchIndex(index)),
    mayDispatch: (picked, index) => r.mayDispatch(picked, index),
    route: (ev) => r.route(ev),
  };
}

function seedRule(): PreparedRule[] {
  const out: PreparedRule[] = [];
  for (const rule of loadRules([defaultRulesDir()]).rules) {
    const p = prepareRule(rule, { timestampField: '@timestamp', exceptionLists: [], now: Date.now(), replay: false });
    if (!('skip' in p)) out.push(p);
  }
  return out;
}

function bodyOf(docs: { line: string; index: string }[]): Buffer {
  return Buffer.from(docs.map((d) => `{"create":{"_index":"${d.index}"}}\n${d.line}\n`).join(''));
}

describe('needle filter of the bulk parser', () => {
  test('the seed rule: every event routed to it without the filter is routed alike with it; the others are only spared the look', () => {
    const rules = seedRule();
    expect(new RuleRouter(rules).needles).toEqual(['wmiutils.dll', 'wmiprvse.exe']);
    const docs: { line: string; index: string }[] = [];
    for (const l of readFileSync('examples/windows-sample.ndjson', 'utf8').split('\n')) {
      if (l.trim()) docs.push({ line: l, index: inferIndex(JSON.parse(l) as Record<string, unknown>) });
    }
    for (const d of generateEvents({ events: 6000, hosts: 12, seed: 5 })) docs.push({ line: JSON.stringify(d), index: inferIndex(d) });
    const body = bodyOf(docs);
    const plain = new BulkParser({ router: routerOf(rules, false) }).parse(body);
    const filtered = new BulkParser({ router: routerOf(rules, true) }).parse(body);
    expect(filtered).toHaveLength(plain.length);
    let routed = 0;
    let spared = 0;
    for (let i = 0; i < plain.length; i++) {
      const p = plain[i]!;
      const f = filtered[i]!;
      expect(f.error).toEqual(p.error);
      expect(f.routed).toBe(p.routed);
      expect(f.routes ?? []).toEqual(p.routes ?? []);
      expect(f.mapped).toBe(p.mapped);
      if ((p.routes ?? []).length > 0) routed++;
      // Spared: left to the writer's check (no time read here), where it was checked before.
      if (p.checked && !f.checked) {
        spared++;
        expect(f.routed).toBe(-7);
        expect(f.doc).toBeUndefined();
      }
    }
    // Both kinds were seen: events the rule can use, and events the filter spared.
    expect(routed).toBeGreaterThan(10);
    expect(spared).toBeGreaterThan(500);
  });

  const stub = (): BulkRouter => ({
    gen: 3,
    fields: ['process.name'],
    needles: ['wscript.exe'],
    wants: (index) => index.startsWith('logs-'),
    mayDispatch: (picked) => String((picked.process as { name?: unknown } | undefined)?.name ?? '').toLowerCase() === 'wscript.exe',
    route: (ev) => (String((ev.source.process as { name?: unknown } | undefined)?.name ?? '').toLowerCase() === 'wscript.exe' ? [0] : []),
  });
  const parse = (lines: string[]): BulkItem[] => new BulkParser({ router: stub() }).parse(Buffer.from(lines.map((l) => `{"create":{"_index":"logs-test-default"}}\n${l}\n`).join('')));
  const ts = '"@timestamp":"2025-01-01T00:00:00.000Z"';

  test('a needle in any case, or spelled with an escape, is never spared', () => {
    const items = parse([
      `{${ts},"process":{"name":"WScript.EXE"}}`,
      `{${ts},"process":{"name":"w\\u0073cript.exe"}}`,
      `{${ts},"process":{"name":"wscript.exe"}}`,
      `{${ts},"process":{"name":"svchost.exe"}}`,
      // An escaped backslash before a `u` is not an escape: spared.
      `{${ts},"process":{"name":"C:\\\\users\\\\x.exe"}}`,
    ]);
    expect(items.map((it) => [it.routed, it.routes, it.checked === true])).toEqual([
      [3, [0], true],
      [3, [0], true],
      [3, [0], true],
      [-3, undefined, false],
      [-3, undefined, false],
    ]);
  });

  test('a raw Windows event without a needle is still mapped to ECS; a malformed document is left to the writer', () => {
    const items = parse([
      `{${ts},"winlog":{"event_id":"1","channel":"Microsoft-Windows-Sysmon/Operational","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Image":"C:\\\\Windows\\\\svchost.exe"}}}`,
      `{${ts},"process":{"name":"svchost.exe"},}`,
    ]);
    expect(items[0]!.mapped).toBe(true);
    expect(items[0]!.error).toBeUndefined();
    // No error here: the writer thread refuses it (below, through the service).
    expect(items[1]!.error).toBeUndefined();
    expect(items[1]!.checked).toBeUndefined();
  });
});

describe('through the service (the bundled seed rule)', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startService();
  });
  afterAll(async () => {
    await s.close();
  });

  test('a malformed document the filter spared gets its 400 from the writer; the others are stored', async () => {
    const index = 'logs-endpoint.events.library-default';
    const good = (i: number) => `{"@timestamp":"2025-01-01T00:00:0${i}.000Z","event":{"category":["library"]},"dll":{"name":"kernel32.dll"},"host":{"id":"h"}}`;
    const bad = '{"@timestamp":"2025-01-01T00:00:09.000Z","event":{"category":["library"]},"dll":{"name":"kernel32.dll"},}';
    const body = [good(1), bad, good(2)].map((l) => `{"create":{"_index":"${index}"}}\n${l}\n`).join('');
    const r = await req(`${s.url}/_bulk`, 'POST', body, { 'content-type': 'application/x-ndjson' });
    expect(r.status).toBe(200);
    expect(r.json.errors).toBe(true);
    expect(r.json.items.map((it: { create: { status: number; error?: { reason: string } } }) => [it.create.status, it.create.error?.reason])).toEqual([
      [201, undefined],
      [400, 'failed to parse the document: expected a key at byte 104'],
      [201, undefined],
    ]);
  });
});
