// Kept router indexes (src/detect/router-cache.ts): the router's index is built once the rules'
// outlines are cached, kept on disk, and a later hunt over the same rules reads it back. A router
// made from a kept index must route every event exactly as one built now; a damaged file, other
// rules or another order must never be answered from a wrong index.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lastRouterCacheOutcome, routerIndexFor, routerKey, ROUTER_DIR } from '../src/detect/router-cache.js';
import { buildRouterIndex, prepareRule, RuleRouter, type PreparedRule } from '../src/detect/router.js';
import { saveOutlines } from '../src/engine/outline.js';
import type { EventDoc } from '../src/events/types.js';
import { makeRule, tempDir } from './detect-helpers.js';

const dir = tempDir('eqlite-router-cache-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const QUERIES: [string, string, Record<string, unknown>?][] = [
  ['suffix', 'process where process.executable : "?:\\\\Windows\\\\System32\\\\SVCHOST.exe"'],
  ['prefix', 'process where process.executable : "C:\\\\Users\\\\*\\\\AppData\\\\*"'],
  ['infix', 'process where process.command_line : ("*-EncodedCommand*", "*frombase64string*")'],
  ['likeCase', 'file where file.name like ("Report??.DOCX", "*.PS1")'],
  ['mixed', 'any where process.name in~ ("CMD.EXE") or file.path : "*\\\\startup\\\\*"'],
  ['negated', 'process where not process.name : "*.exe"'],
  ['seq', 'sequence by host.id [process where process.name : "winword.exe"] [network where destination.port == 443 and host.os.type == "windows"]'],
  ['both', 'process where process.name : "both.exe" and process.parent.name : "parent.exe"'],
  // another category field: a table of its own
  ['override', 'process where process.name : "other.exe"', { event_category_override: 'event.kind' }],
];

/** The rules prepared with the outline cache in `outlines` (null: none). */
function prepare(queries = QUERIES, outlines: string | null = dir): PreparedRule[] {
  return queries.map(([name, query, extra]) => {
    const p = prepareRule(makeRule({ name, index: ['logs-*'], query, ...extra }), { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: false, outlines: outlines ?? undefined });
    if ('skip' in p) throw new Error(`${name}: ${p.skip}`);
    return p;
  });
}

let n = 0;
function ev(category: string | string[], fields: Record<string, unknown>): EventDoc {
  n++;
  const source = { '@timestamp': `2024-01-01T00:00:${String(n % 60).padStart(2, '0')}Z`, event: { category, kind: 'process', type: 'start' }, host: { id: 'h', os: { type: 'windows' } }, ...fields };
  return { source, index: 'logs-endpoint', id: String(n), ordinal: n } as unknown as EventDoc;
}

const EVENTS: [EventDoc, string[]][] = [
  [ev('process', { process: { name: 'svchost.exe', executable: 'C:\\WINDOWS\\system32\\svchost.EXE' } }), ['suffix']],
  [ev('process', { process: { name: 'a', executable: 'c:\\users\\bob\\appdata\\x' } }), ['negated', 'prefix']],
  [ev('process', { process: { name: 'powershell.exe', command_line: 'powershell -nop -EncodedCommand AAA' } }), ['infix']],
  [ev('file', { file: { name: 'evil.PS1', path: 'C:\\Users\\u\\Start Menu\\Programs\\Startup\\evil.PS1' } }), ['likeCase', 'mixed']],
  [ev('process', { process: { name: 'cmd.EXE' } }), ['mixed']],
  [ev(['process', 'file'], { process: { name: ['winword.exe', 'x'] } }), ['seq']],
  [ev('network', { destination: { port: 443 } }), ['seq']],
  [ev('network', { destination: { port: 80 } }), []],
  [ev('process', { process: { name: 'BOTH.exe', parent: { name: 'parent.exe' } } }), ['both']],
  [ev('process', { process: { name: 'both.exe', parent: { name: 'other.exe' } } }), []],
  [ev('network', { process: { name: 'OTHER.EXE' } }), ['override']],
];

/** Each event's routed rules, by name. */
function routes(router: RuleRouter, rules: PreparedRule[]): string[][] {
  return EVENTS.map(([e]) => [...router.route(e)].map((i) => rules[i]!.rule.name).sort());
}

const files = () => readdirSync(path.join(dir, ROUTER_DIR)).filter((f) => f.endsWith('.bin'));

describe('kept router indexes', () => {
  it('keeps the index once every query has a cached outline; a router made from it routes as one built now', () => {
    const first = prepare();
    // Compiled now (no outline cached yet): built, not kept.
    expect(first.every((p) => p.outline === undefined)).toBe(true);
    routerIndexFor(first, dir);
    expect(lastRouterCacheOutcome()).toBe('off');
    saveOutlines();

    const second = prepare();
    expect(second.every((p) => typeof p.outline === 'string')).toBe(true);
    const built = routerIndexFor(second, dir);
    expect(lastRouterCacheOutcome()).toBe('written');
    expect(files()).toHaveLength(1);
    // The same rules again: the index made for them is reused, not read again.
    expect(routerIndexFor(second, dir)).toBe(built);

    const third = prepare();
    const kept = routerIndexFor(third, dir);
    expect(lastRouterCacheOutcome()).toBe('hit');
    expect(kept).not.toBe(built);
    expect(kept).toEqual(buildRouterIndex(third));
    const expected = EVENTS.map(([, names]) => [...names].sort());
    expect(routes(new RuleRouter(third), third)).toEqual(expected);
    expect(routes(new RuleRouter(third, kept), third)).toEqual(expected);
    // Two routers sharing one kept index keep their own counters and memo.
    const a = new RuleRouter(third, kept);
    const b = new RuleRouter(third, kept);
    expect(routes(a, third)).toEqual(expected);
    expect(routes(b, third)).toEqual(expected);
    expect(a.counters).toEqual(b.counters);
    expect(a.needles).toEqual(new RuleRouter(third).needles);
  });

  it('does not use a damaged, cut or foreign file, and writes it again', () => {
    prepare();
    saveOutlines();
    routerIndexFor(prepare(), dir);
    const [name] = files();
    const file = path.join(dir, ROUTER_DIR, name!);
    const good = readFileSync(file);
    const eol = good.indexOf(10);
    const damaged = Buffer.from(good);
    damaged[eol + 1 + ((good.length - eol) >> 1)]! ^= 0x20;
    const header = good.subarray(0, eol).toString('latin1').split(' ');
    const foreign = Buffer.concat([Buffer.from([header[0], 'another-key', header[2], header[3]].join(' '), 'latin1'), good.subarray(eol)]);
    for (const bad of [damaged, good.subarray(0, good.length - 100), foreign, Buffer.from('not a router index\n')]) {
      writeFileSync(file, bad);
      const rules = prepare();
      const index = routerIndexFor(rules, dir);
      expect(lastRouterCacheOutcome()).toBe('written');
      expect(index).toEqual(buildRouterIndex(rules));
      expect(readFileSync(file).equals(good)).toBe(true);
    }
    routerIndexFor(prepare(), dir);
    expect(lastRouterCacheOutcome()).toBe('hit');
  });

  it('other rules, another order or another category field have another key', () => {
    prepare();
    saveOutlines();
    const key = routerKey(prepare());
    expect(key).toEqual(expect.any(String));
    expect(routerKey(prepare())).toBe(key);
    expect(routerKey(prepare(QUERIES.slice(1)))).not.toBe(key);
    expect(routerKey(prepare([...QUERIES].reverse()))).not.toBe(key);
    const overridden = QUERIES.map(([name, query, extra]): [string, string, Record<string, unknown>?] => (name === 'suffix' ? [name, query, { event_category_override: 'event.kind' }] : [name, query, extra]));
    const other = prepare(overridden);
    saveOutlines();
    expect(routerKey(prepare(overridden))).not.toBe(key);
    // Reordered rules read their own index, which routes to the rules at their new places.
    const reversed = prepare([...QUERIES].reverse());
    const index = routerIndexFor(reversed, dir);
    expect(index).toEqual(buildRouterIndex(reversed));
    expect(routes(new RuleRouter(reversed, index), reversed)).toEqual(EVENTS.map(([, names]) => [...names].sort()));
    expect(other).toHaveLength(QUERIES.length);
  });

  it('without a cache directory, or with a query compiled now, the index is built and not kept', () => {
    const before = files().length;
    const none = prepare(QUERIES, null);
    expect(none.every((p) => p.outline === undefined)).toBe(true);
    expect(routerKey(none)).toBeNull();
    expect(routerIndexFor(none, dir)).toEqual(buildRouterIndex(none));
    expect(lastRouterCacheOutcome()).toBe('off');
    const cached = prepare();
    expect(routerIndexFor(cached, undefined)).toEqual(buildRouterIndex(cached));
    expect(lastRouterCacheOutcome()).toBe('off');
    // One query not cached yet among cached ones: no key.
    const mixed = prepare([...QUERIES, ['fresh', 'process where process.name : "never-seen-before.exe"']]);
    expect(mixed.at(-1)!.outline).toBeUndefined();
    expect(routerKey(mixed)).toBeNull();
    expect(files().length).toBe(before);
  });
});
