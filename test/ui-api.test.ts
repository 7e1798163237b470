// The API the web UI is built on (and scripts can use): keyset paging, filters, free-text search,
// histogram and facets over the alert store; the live stream (SSE); browser sessions from the
// login form (cookie, kbn-xsrf, sign-out, revocation); the pages' and assets' access rules.
// The browser itself is driven in test/browser (npm run test:ui).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Alert } from '../src/detect/alerts.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { AlertQueries, ftsQuery, parseFilter, type AlertFilter } from '../src/serve/alert-query.js';
import { ServedAlerts } from '../src/serve/alerts.js';
import { openAlertStore } from '../src/store/sqlite.js';
import { req, startService, type TestService } from './serve-helpers.js';

const SEVS = ['low', 'medium', 'high', 'critical'];
const T0 = Date.parse('2025-03-10T00:00:00.000Z');

/** A synthetic alert: single event, or (with group) a sequence shell / building block. */
function alert(i: number, o: { group?: string; bb?: number; host?: string; cmd?: string; ts?: number } = {}): Alert {
  const id = `a${String(i).padStart(5, '0')}`;
  const host = o.host ?? `host-${i % 7}`;
  const user = `user-${i % 3}`;
  const sev = SEVS[i % 4]!;
  const doc: Alert = {
    '@timestamp': new Date(o.ts ?? T0 + i * 60_000).toISOString(),
    'kibana.alert.original_time': new Date((o.ts ?? T0 + i * 60_000) - 1000).toISOString(),
    'kibana.alert.uuid': id,
    'kibana.alert.rule.rule_id': `rule-${i % 5}`,
    'kibana.alert.rule.name': `Rule number ${i % 5}`,
    'kibana.alert.severity': sev,
    'kibana.alert.risk_score': (i % 100) + 1,
    'kibana.alert.reason': `process event with process p${i}.exe on ${host} created ${sev} alert Rule number ${i % 5}.`,
    host: { name: host },
    user: { name: user },
    process: { name: `p${i}.exe`, command_line: o.cmd ?? `p${i}.exe --run ${i}` },
  };
  if (o.group) {
    doc['kibana.alert.group.id'] = o.group;
    if (o.bb !== undefined) {
      doc['kibana.alert.building_block_type'] = 'default';
      doc['kibana.alert.group.index'] = o.bb;
    }
  }
  return doc;
}

describe('alert queries (keyset paging, filters, search, histogram, facets)', () => {
  let dir: string;
  let served: ServedAlerts;
  let q: AlertQueries;
  const N = 250;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'eqlite-ui-api-'));
    const file = path.join(dir, 'alerts.db');
    const store = openAlertStore(file);
    const docs: Alert[] = [];
    for (let i = 0; i < N; i++) docs.push(alert(i));
    // One sequence: shell a90000 with two building blocks; only the second holds the command line.
    docs.push(alert(90_000, { group: 'a90000', ts: T0 + 10 * 60_000 }));
    docs.push(alert(90_001, { group: 'a90000', bb: 0, cmd: 'cscript.exe loader.vbs' }));
    docs.push(alert(90_002, { group: 'a90000', bb: 1, cmd: 'powershell.exe -enc ZABlAGMAbwBkAGUA' }));
    store.write(docs);
    store.close();
    served = new ServedAlerts(dir, file);
    q = new AlertQueries(served.db);
    served.setStatus(['a00004', 'a00008'], 'closed', 'user:test');
    served.setStatus(['a00012'], 'acknowledged', 'user:test');
  });
  afterAll(() => {
    served.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const all = (sort?: string) =>
    q.list({}, { perPage: 1000, sort }).rows.map((r) => r.id);

  test('keyset pages walk the whole list in order, forwards and back, for several sort orders', () => {
    for (const sort of ['@timestamp:desc', '@timestamp:asc', 'severity:desc,@timestamp:desc', 'risk_score:asc', 'host:asc', 'status:desc', 'rule:asc,risk_score:desc']) {
      const expected = all(sort);
      expect(expected).toHaveLength(N + 1);
      const pages: string[][] = [];
      let cursor: string | undefined;
      let prevCursors: (string | null)[] = [];
      for (let guard = 0; guard < 100; guard++) {
        const p = q.list({}, { perPage: 37, sort, searchAfter: cursor });
        pages.push(p.rows.map((r) => r.id));
        prevCursors.push(p.prev);
        if (!p.next) break;
        cursor = p.next;
      }
      expect(pages.flat()).toEqual(expected);
      expect(pages).toHaveLength(Math.ceil((N + 1) / 37));
      // Back from the third page gives the second.
      const back = q.list({}, { perPage: 37, sort, searchBefore: prevCursors[2]! });
      expect(back.rows.map((r) => r.id)).toEqual(pages[1]);
      prevCursors = [];
    }
  });

  test('the default order is newest first; building blocks are hidden unless asked for or a group is given', () => {
    const p = q.list({}, { perPage: 3 });
    expect(p.total).toBe(N + 1);
    expect(p.rows.map((r) => r.id)).toEqual(['a00249', 'a00248', 'a00247']);
    expect(p.prev).toBeNull();
    expect(q.count({ buildingBlocks: true })).toBe(N + 3);
    expect(q.list({ group: 'a90000' }, { perPage: 10, sort: '@timestamp:asc' }).rows.map((r) => [r.id, r.building_block])).toEqual([
      ['a90000', 0],
      ['a90001', 1],
      ['a90002', 1],
    ]);
  });

  test('filters: status (also open = no status row), severity, rule by id or name, host, user, time range', () => {
    expect(q.list({ status: ['closed'] }, { perPage: 10 }).rows.map((r) => [r.id, r.status])).toEqual([
      ['a00008', 'closed'],
      ['a00004', 'closed'],
    ]);
    expect(q.count({ status: ['open'] })).toBe(N + 1 - 3);
    expect(q.count({ status: ['open', 'acknowledged'] })).toBe(N + 1 - 2);
    // critical: i % 4 == 3 for i < 250 (62); low: i % 4 == 0 (63) and the shell a90000.
    expect(q.count({ severity: ['critical'] })).toBe(62);
    expect(q.count({ severity: ['low'] })).toBe(64);
    expect(q.count({ rule: ['rule-1'] })).toBe(50);
    expect(q.count({ rule: ['Rule number 1'] })).toBe(50);
    expect(q.count({ host: ['host-3'], user: ['user-0'] })).toBe(12);
    expect(q.count({ from: new Date(T0 + 100 * 60_000).toISOString(), to: new Date(T0 + 109 * 60_000).toISOString() })).toBe(10);
    expect(() => parseFilter((n) => ({ status: 'done' })[n])).toThrow('status must be open, acknowledged or closed, found [done]');
    expect(() => parseFilter((n) => ({ from: 'yesterday' })[n])).toThrow('from must be an ISO 8601 time or epoch milliseconds');
  });

  test('free-text search: words of the reason, host, command line; a sequence matches by its building blocks', () => {
    expect(ftsQuery('cscript.exe loader')).toBe('"cscript exe" "loader"*');
    expect(ftsQuery('  !!  ')).toBeNull();
    expect(q.list({ q: 'p17.exe' }, { perPage: 10 }).rows.map((r) => r.id)).toEqual(['a00017']);
    expect(q.list({ q: '--run 123' }, { perPage: 10 }).rows.map((r) => r.id)).toEqual(['a00123']);
    // host-6: i % 7 == 6 for i < 250.
    expect(q.count({ q: 'host-6' })).toBe(35);
    // Prefix on the last term, as one types.
    expect(q.count({ q: 'host-6 Rule numb' })).toBe(35);
    // Terms are separate (the prefix "3" also finds a00034's "--run 34"); quotes make a phrase.
    expect(q.count({ q: 'host-6 Rule number 3' })).toBe(8);
    expect(ftsQuery('host-6 "Rule number 3"')).toBe('"host 6" "Rule number 3"*');
    expect(q.list({ q: 'host-6 "Rule number 3"' }, { perPage: 10, sort: '@timestamp:asc' }).rows.map((r) => r.id)).toEqual(['a00013', 'a00048', 'a00083', 'a00118', 'a00153', 'a00188', 'a00223']);
    // "powershell -enc" is only in building block 2: its sequence is found.
    expect(q.list({ q: 'powershell.exe -enc' }, { perPage: 10 }).rows.map((r) => r.id)).toEqual(['a90000']);
    expect(q.count({ q: 'nothing-like-this' })).toBe(0);
    // Alerts added later are indexed before the next search.
    const store = openAlertStore(served.file);
    store.write([alert(300, { cmd: 'mimikatz.exe sekurlsa::logonpasswords' })]);
    store.close();
    expect(q.list({ q: 'sekurlsa' }, { perPage: 10 }).rows.map((r) => r.id)).toEqual(['a00300']);
    // Within a sequence (its alerts listed), each building block is found by its own text.
    expect(q.list({ group: 'a90000', q: 'powershell.exe -enc' }, { perPage: 10, sort: '@timestamp:asc' }).rows.map((r) => r.id)).toEqual(['a90000', 'a90002']);
    expect(q.list({ buildingBlocks: true, q: 'cscript loader.vbs' }, { perPage: 10, sort: '@timestamp:asc' }).rows.map((r) => r.id)).toEqual(['a90000', 'a90001']);
  });

  test('free-text search: a building block stored after its sequence was indexed makes the sequence found by it', () => {
    const late = openAlertStore(served.file);
    late.write([alert(91_000, { group: 'a91000', ts: T0 + 250 * 60_000, host: 'late-host' }), alert(91_001, { group: 'a91000', bb: 0, cmd: 'certutil.exe -urlcache', host: 'late-host' })]);
    expect(q.list({ q: 'certutil' }, { perPage: 10 }).rows.map((r) => r.id)).toEqual(['a91000']);
    late.write([alert(91_002, { group: 'a91000', bb: 1, cmd: 'bitsadmin.exe /transfer job', host: 'late-host' })]);
    late.close();
    expect(q.list({ q: 'bitsadmin' }, { perPage: 10 }).rows.map((r) => r.id)).toEqual(['a91000']);
    // Indexed once each: a search for the shell's own words finds it once.
    expect(q.count({ q: 'p91000.exe' })).toBe(1);
    expect(q.count({ q: 'certutil', buildingBlocks: true })).toBe(2);
    const db = served.db;
    expect(db.prepare("SELECT v FROM alerts_fts_state WHERE k = 'version'").get()).toEqual({ v: 3 });
    expect(db.prepare("SELECT v FROM alerts_fts_state WHERE k = 'rowid'").get()).toEqual({ v: (db.prepare('SELECT MAX(rowid) AS m FROM alerts').get() as { m: number }).m });
  });

  test('a search with many matches (walking the list, counting from the index) answers as one with few (starting from the matches)', () => {
    // The same store, with "few" meaning at most 3: every search below takes the other way.
    const many = new AlertQueries(served.db, { fewMatches: 3 });
    const searches: AlertFilter[] = [
      { q: 'host-6' },
      { q: 'host-6', status: ['open'] },
      { q: 'host-6', status: ['closed', 'acknowledged'] },
      { q: 'Rule number', status: ['open', 'acknowledged'], severity: ['high', 'critical'] },
      { q: 'Rule number 2', rule: ['Rule number 2'], host: ['host-3'] },
      { q: 'Rule number', user: ['user-1'], from: new Date(T0 + 30 * 60_000).toISOString(), to: new Date(T0 + 200 * 60_000).toISOString() },
      { q: 'powershell.exe -enc' },
      { q: 'Rule number', buildingBlocks: true },
      { q: 'Rule number', status: ['closed'], buildingBlocks: true },
    ];
    for (const f of searches) {
      const a = q.list(f, { perPage: 1000, trackTotalHits: true });
      const b = many.list(f, { perPage: 1000, trackTotalHits: true });
      expect(b.rows.map((r) => r.id), JSON.stringify(f)).toEqual(a.rows.map((r) => r.id));
      expect(b.total, JSON.stringify(f)).toBe(a.total);
      expect(a.total, JSON.stringify(f)).toBe(a.rows.length);
      expect(many.countUpTo(f, 10), JSON.stringify(f)).toEqual(q.countUpTo(f, 10));
      expect(many.histogram(f, 30), JSON.stringify(f)).toEqual(q.histogram(f, 30));
      for (const field of ['rule', 'host', 'user', 'severity']) expect(many.facets(f, field), `${field} ${JSON.stringify(f)}`).toEqual(q.facets(f, field));
    }
    // Which way each took: few start from the index's matches; many count from the index alone.
    const f: AlertFilter = { q: 'host-6', status: ['open'] };
    const few = q.explain(f, { perPage: 50 }).page;
    expect(few[0]).toMatch(/^SCAN alerts_fts VIRTUAL TABLE INDEX 0:M\d+$/);
    expect(few.slice(1)).toEqual(['SEARCH a USING INTEGER PRIMARY KEY (rowid=?)', 'USE TEMP B-TREE FOR ORDER BY']);
    const m = many.explain(f, { perPage: 50 });
    expect(m.page[0]).toBe('SEARCH a USING INDEX alerts_status_time (building_block=? AND <expr>=?)');
    expect(m.count[0]).toBe('CO-ROUTINE (subquery-2)');
    expect(m.count[1]).toMatch(/^SCAN a VIRTUAL TABLE INDEX 0:M\d+$/);
    expect(m.count.some((d) => d.includes('alerts_status_time'))).toBe(true);
    expect(m.count.some((d) => / alerts a| alerts USING|INTEGER PRIMARY KEY/.test(d))).toBe(false);
  });

  test('histogram: round buckets by severity over the filtered alerts, counts add up', () => {
    const h = q.histogram({ from: new Date(T0).toISOString(), to: new Date(T0 + 60 * 60_000 - 1).toISOString() }, 60);
    expect(h.interval_ms).toBe(60_000);
    expect(h.buckets).toHaveLength(60);
    expect(h.buckets[0]).toEqual({ key: '2025-03-10T00:00:00.000Z', low: 1, medium: 0, high: 0, critical: 0 });
    expect(h.buckets[3]).toEqual({ key: '2025-03-10T00:03:00.000Z', low: 0, medium: 0, high: 0, critical: 1 });
    // Minute 10 also holds the sequence shell (low).
    expect(h.buckets[10]).toEqual({ key: '2025-03-10T00:10:00.000Z', low: 1, medium: 0, high: 1, critical: 0 });
    const total = (b: (typeof h.buckets)[number]) => b.low + b.medium + b.high + b.critical;
    expect(h.buckets.reduce((n, b) => n + total(b), 0)).toBe(61);
    // a00000 … a00300 (added by the search test): 300 minutes, in 5-minute buckets.
    const wide = q.histogram({}, 60);
    expect(wide.interval_ms).toBe(300_000);
    expect(wide.buckets.reduce((n, b) => n + total(b), 0)).toBe(q.count({}));
    const closed = q.histogram({ status: ['closed'] }, 60);
    expect(closed.buckets.reduce((n, b) => n + total(b), 0)).toBe(2);
    // Under a search (bucketed in one statement): host-6 in the first hour is i = 6, 13, … 55.
    const found = q.histogram({ q: 'host-6', from: new Date(T0).toISOString(), to: new Date(T0 + 60 * 60_000 - 1).toISOString() }, 60);
    expect(found.interval_ms).toBe(60_000);
    expect(found.buckets[6]).toEqual({ key: '2025-03-10T00:06:00.000Z', low: 0, medium: 0, high: 1, critical: 0 });
    expect(found.buckets[13]).toEqual({ key: '2025-03-10T00:13:00.000Z', low: 0, medium: 1, high: 0, critical: 0 });
    expect(found.buckets.reduce((n, b) => n + total(b), 0)).toBe(8);
    const wideFound = q.histogram({ q: 'host-6' }, 60);
    for (const sev of ['low', 'medium', 'high', 'critical'] as const) expect(wideFound.buckets.reduce((n, b) => n + b[sev], 0)).toBe(q.count({ q: 'host-6', severity: [sev] }));
    // (a00300, added by the search test, is on host-6 too.)
    expect(wideFound.buckets.reduce((n, b) => n + total(b), 0)).toBe(36);
  });

  test('facets: the most frequent values among the other filters', () => {
    expect(q.facets({ user: ['user-1'] }, 'host', 3).values).toEqual([
      // i % 3 == 1 for i < 250 is 83 alerts; every host has 12 of them but host-5 (11).
      { value: 'host-0', count: 12 },
      { value: 'host-1', count: 12 },
      { value: 'host-2', count: 12 },
    ]);
    expect(q.facets({}, 'severity').values.map((v) => v.value).sort()).toEqual(['critical', 'high', 'low', 'medium']);
    // Rules by name (counted by id): rule-0 has 50 single alerts and the sequences a90000 and
    // a91000 and the alert a00300 of the search tests.
    expect(q.facets({}, 'rule', 2).values).toEqual([
      { value: 'Rule number 0', count: 53 },
      { value: 'Rule number 1', count: 50 },
    ]);
    expect(q.facets({ host: ['host-3'], q: '"Rule number 2"' }, 'rule').values).toEqual([{ value: 'Rule number 2', count: 7 }]);
    expect(() => q.facets({}, 'process')).toThrow('no facet for [process]');
  });

  test('query plans: each filter and order of the list walks its index in order and stops, counts read a covering index', () => {
    // Without statistics (stores are never ANALYZEd) SQLite's choice depends only on the schema
    // and the statement, so these plans are the ones a million-alert store gets. A page must not
    // scan the table or sort it ("USE TEMP B-TREE") unless the filter's rows are few (a group, a
    // host over every status); a count must not read the documents.
    const page = (f: AlertFilter, sort?: string) => q.explain(f, { perPage: 50, sort }).page;
    const count = (f: AlertFilter) => q.explain(f, { perPage: 50 }).count;
    const idx = (name: string, terms: string, covering = false) => `SEARCH a USING ${covering ? 'COVERING ' : ''}INDEX ${name} (${terms})`;
    const capped = (search: string) => ['CO-ROUTINE (subquery-1)', search, 'SCAN (subquery-1)'];
    const open = { status: ['open'] };
    expect(page({})).toEqual([idx('alerts_list', 'building_block=?')]);
    expect(page(open)).toEqual([idx('alerts_status_time', 'building_block=? AND <expr>=?')]);
    expect(count(open)).toEqual(capped(idx('alerts_status_time', 'building_block=? AND <expr>=?', true)));
    // Severity (the fix pinned here): with a status it walks the severity index in time order…
    expect(page({ ...open, severity: ['critical'] })).toEqual([idx('alerts_severity_status', 'building_block=? AND severity=? AND <expr>=?')]);
    expect(count({ ...open, severity: ['critical'] })).toEqual(capped(idx('alerts_severity_status', 'building_block=? AND severity=? AND <expr>=?', true)));
    expect(count({ severity: ['critical'] })).toEqual(capped(idx('alerts_severity_status', 'building_block=? AND severity=?', true)));
    // … and with a rule, host or user, that index answers and severity is checked on its rows.
    expect(page({ ...open, user: ['user-1'], severity: ['critical'] })).toEqual([idx('alerts_user_status', 'building_block=? AND user_name=? AND <expr>=?')]);
    expect(count({ ...open, user: ['user-1'], severity: ['critical'] })).toEqual(capped(idx('alerts_user_status', 'building_block=? AND user_name=? AND <expr>=?')));
    expect(page({ ...open, rule: ['rule-1'], severity: ['high'] })).toEqual([idx('alerts_rule_status', 'building_block=? AND rule_id=? AND <expr>=?')]);
    expect(page({ ...open, host: ['host-1'], severity: ['low', 'high'] })).toEqual([idx('alerts_host_status', 'building_block=? AND host_name=? AND <expr>=?')]);
    expect(q.explain({ ...open, host: ['host-1'], severity: ['critical'] }, { perPage: 50 }).count).toEqual(capped(idx('alerts_host_status', 'building_block=? AND host_name=? AND <expr>=?')));
    // Rule (by name too: resolved to ids), host, user with a status; the same over every status
    // sorts just that host's rows.
    expect(page({ ...open, rule: ['Rule number 1'] })).toEqual([idx('alerts_rule_status', 'building_block=? AND rule_id=? AND <expr>=?')]);
    expect(count({ ...open, rule: ['rule-1'] })).toEqual(capped(idx('alerts_rule_status', 'building_block=? AND rule_id=? AND <expr>=?', true)));
    expect(page({ ...open, host: ['host-1'] })).toEqual([idx('alerts_host_status', 'building_block=? AND host_name=? AND <expr>=?')]);
    expect(page({ status: ['closed'], user: ['user-1'] })).toEqual([idx('alerts_user_status', 'building_block=? AND user_name=? AND <expr>=?')]);
    expect(page({ host: ['host-1'] })).toEqual([idx('alerts_host_status', 'building_block=? AND host_name=?'), 'USE TEMP B-TREE FOR ORDER BY']);
    expect(page({ user: ['user-1'] })).toEqual([idx('alerts_user_status', 'building_block=? AND user_name=?'), 'USE TEMP B-TREE FOR ORDER BY']);
    expect(count({ host: ['host-1'] })).toEqual(capped(idx('alerts_host_status', 'building_block=? AND host_name=?', true)));
    // Time range, status closed, the other orders, a cursor deep in the list.
    expect(page({ ...open, from: '2025-03-10T01:00:00.000Z' })).toEqual([idx('alerts_status_time', 'building_block=? AND <expr>=? AND @timestamp>?')]);
    expect(page({ status: ['closed'] })).toEqual([idx('alerts_status_time', 'building_block=? AND <expr>=?')]);
    expect(page(open, 'severity:desc')).toEqual([idx('alerts_severity_rank', 'building_block=?')]);
    expect(page(open, 'risk_score:desc')).toEqual([idx('alerts_risk', 'building_block=?')]);
    expect(page({}, '@timestamp:asc')).toEqual([idx('alerts_list', 'building_block=?')]);
    const next = q.list(open, { perPage: 5 }).next!;
    expect(q.explain(open, { perPage: 50, searchAfter: next }).page).toEqual([idx('alerts_status_time', 'building_block=? AND <expr>=? AND @timestamp<?')]);
    // Facets: over a status, each field's own index, whole and covering (grouped in its order);
    // with a rule, host or user filter, that filter's index and its rows grouped apart.
    const facet = (f: AlertFilter, field: string) => q.explain(f, { perPage: 50 }, field).facet;
    expect(facet(open, 'host')).toEqual([idx('alerts_host_status', 'building_block=? AND host_name>?', true)]);
    expect(facet(open, 'rule')).toEqual([idx('alerts_rule_status', 'building_block=?', true)]);
    expect(facet(open, 'severity')).toEqual([idx('alerts_severity_status', 'building_block=?', true)]);
    expect(facet({ ...open, rule: ['rule-5'] }, 'user')).toEqual([idx('alerts_rule_status', 'building_block=? AND rule_id=? AND <expr>=?'), 'USE TEMP B-TREE FOR GROUP BY']);
    expect(facet({ ...open, host: ['host-1'] }, 'rule')).toEqual([idx('alerts_host_status', 'building_block=? AND host_name=? AND <expr>=?'), 'USE TEMP B-TREE FOR GROUP BY']);
    // A sequence's alerts: the group index, then a few rows sorted.
    expect(page({ group: 'a90000' }, '@timestamp:asc')).toEqual([idx('alerts_group', 'group_id=?'), 'USE TEMP B-TREE FOR ORDER BY']);
  });

  test('keyset cursors are checked', () => {
    expect(() => q.list({}, { perPage: 5, searchAfter: 'garbage' })).toThrow(/search_after is not a cursor of this sort order/);
    const c = q.list({}, { perPage: 5 }).next!;
    expect(() => q.list({}, { perPage: 5, sort: 'severity:desc,@timestamp:desc', searchAfter: c })).toThrow(/search_after is not a cursor/);
  });
});

describe('the UI API on eqlite serve: routes, live stream, sessions', () => {
  let t: TestService;
  const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
  let admin: Record<string, string>;

  beforeAll(async () => {
    t = await startService();
    const { rules } = loadRules([defaultRulesDir()]);
    const docs: Alert[] = [];
    for (let i = 0; i < 30; i++) docs.push(alert(i));
    t.svc.alerts.write(docs, rules[0]!, 'scheduled');
  });
  afterAll(async () => {
    await t.close();
  });

  test('list, histogram and facets over HTTP, with the same filters', async () => {
    const p = await req(`${t.url}/api/alerts?per_page=4&host=host-1,host-2&sort=risk_score:desc`, 'GET');
    expect(p.status).toBe(200);
    expect(p.json.total).toBe(9);
    expect(p.json.alerts.map((a: { id: string }) => a.id)).toEqual(['a00029', 'a00023', 'a00022', 'a00016']);
    const next = await req(`${t.url}/api/alerts?per_page=4&host=host-1,host-2&sort=risk_score:desc&search_after=${p.json.next}`, 'GET');
    expect(next.json.alerts.map((a: { id: string }) => a.id)).toEqual(['a00015', 'a00009', 'a00008', 'a00002']);
    expect(next.json.page).toBeUndefined();
    const h = await req(`${t.url}/api/alerts/_histogram?severity=critical&buckets=10`, 'GET');
    expect(h.json.buckets.reduce((n: number, b: { critical: number }) => n + b.critical, 0)).toBe(7);
    const f = await req(`${t.url}/api/alerts/_facets?field=user&size=2`, 'GET');
    expect(f.json).toEqual({ field: 'user', values: [{ value: 'user-0', count: 10 }, { value: 'user-1', count: 10 }] });
    expect((await req(`${t.url}/api/alerts/_facets`, 'GET')).status).toBe(400);
    expect((await req(`${t.url}/api/alerts?sort=reason:asc`, 'GET')).json.error.reason).toBe('cannot sort by [reason:asc]: use one of @timestamp, timestamp, original_time, severity, risk_score, rule, host, user, status with :asc or :desc');
  });

  test('workflow status for every alert a filter matches', async () => {
    const r = await req(`${t.url}/api/alerts/_status`, 'POST', { status: 'acknowledged', query: { host: 'host-5', severity: ['high', 'critical'] } });
    // host-5: a00005 (medium), a00012 (low), a00019 (critical), a00026 (high).
    expect(r.json).toEqual({ updated: 2, status: 'acknowledged' });
    const l = await req(`${t.url}/api/alerts?status=acknowledged`, 'GET');
    expect(l.json.alerts.map((a: { id: string }) => a.id)).toEqual(['a00026', 'a00019']);
    expect(l.json.total).toBe(2);
  });

  test('the live stream: new alerts and status changes as events; a reconnect gets what it missed', async () => {
    const ac = new AbortController();
    const res = await fetch(`${t.url}/api/alerts/_stream`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    let buf = '';
    const until = async (re: RegExp) => {
      const end = Date.now() + 10_000;
      while (!re.test(buf) && Date.now() < end) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString();
      }
      return re.exec(buf);
    };
    await until(/: eqlite alert stream/);
    const { rules } = loadRules([defaultRulesDir()]);
    t.svc.alerts.write([alert(500), alert(501, { group: 'a00501' }), alert(502, { group: 'a00501', bb: 0 })], rules[0]!, 'realtime');
    const m = await until(/id: (\d+:\d+)\nevent: alerts\ndata: (.*)\n\n/);
    expect(JSON.parse(m![2]!)).toEqual({ count: 2, ids: ['a00501', 'a00500'] });
    const lastId = m![1]!;
    await req(`${t.url}/api/alerts/a00500/status`, 'PUT', { status: 'closed' });
    const s = await until(/event: status\ndata: (.*)\n\n/);
    expect(JSON.parse(s![1]!)).toEqual({ status: 'closed', ids: ['a00500'] });
    ac.abort();
    // Reconnecting with the last id seen: the status change is sent again at once.
    const again = await fetch(`${t.url}/api/alerts/_stream`, { headers: { 'last-event-id': lastId } });
    const r2 = again.body!.getReader();
    let b2 = '';
    const end = Date.now() + 5000;
    while (!/event: status/.test(b2) && Date.now() < end) b2 += Buffer.from((await r2.read()).value ?? []).toString();
    expect(b2).toMatch(/event: status\ndata: \{"status":"closed","ids":\["a00500"\]\}/);
    await r2.cancel();
  });

  test('the UI pages are served with a strict content security policy', async () => {
    const r = await req(`${t.url}/app/alerts?host=x`, 'GET');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.text).toContain('<script type="module" src="/app/assets/app.js?v=');
    const js = await req(`${t.url}/app/assets/app.js`, 'GET');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const again = await req(`${t.url}/app/assets/app.js`, 'GET', undefined, { 'if-none-match': js.headers.get('etag')! });
    expect(again.status).toBe(304);
    expect((await req(`${t.url}/app/assets/nope.js`, 'GET')).status).toBe(404);
    const who = await req(`${t.url}/_security/_authenticate`, 'GET');
    expect(who.json).toMatchObject({ username: 'anonymous', roles: ['admin'], auth_required: false, mode: 'serve' });
  });

  test('sessions: the login form sets an HttpOnly cookie; cookie writes need kbn-xsrf; sign-out and user removal end it', async () => {
    await t.svc.credentials.setUser('ana', 'password one', 'admin');
    await t.svc.credentials.setUser('reader', 'password two', 'read');
    admin = basic('ana', 'password one');
    // Pages without a session go to the login form; the API answers 401 (no browser dialog for the UI).
    const page = await fetch(`${t.url}/app/rules`, { redirect: 'manual' });
    expect([page.status, page.headers.get('location')]).toEqual([303, '/app/login?next=%2Fapp%2Frules']);
    const api = await req(`${t.url}/api/alerts`, 'GET', undefined, { 'kbn-xsrf': 'x' });
    expect([api.status, api.headers.get('www-authenticate')]).toEqual([401, null]);
    expect((await req(`${t.url}/api/alerts`, 'GET')).headers.get('www-authenticate')).toContain('Basic');
    const login = (body: string) => fetch(`${t.url}/app/login`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    const bad = await login('username=ana&password=wrong&next=%2Fapp%2Frules');
    expect([bad.status, bad.headers.get('location'), bad.headers.get('set-cookie')]).toEqual([303, '/app/login?error=1&next=%2Fapp%2Frules', null]);
    // No open redirect: only this app's pages.
    const ok = await login('username=ana&password=password+one&next=%2F%2Fevil.example%2F');
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/app/alerts');
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^eqlite_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = { cookie: setCookie.split(';')[0]! };
    expect((await req(`${t.url}/api/alerts?per_page=1`, 'GET', undefined, cookie)).status).toBe(200);
    expect((await req(`${t.url}/_security/_authenticate`, 'GET', undefined, cookie)).json).toMatchObject({ username: 'ana', roles: ['admin'], authentication_type: 'token', auth_required: true });
    const noXsrf = await req(`${t.url}/api/alerts/a00001/status`, 'PUT', { status: 'closed' }, cookie);
    expect([noXsrf.status, noXsrf.json.error.reason]).toEqual([400, 'Request must contain a kbn-xsrf header.']);
    expect((await req(`${t.url}/api/alerts/a00001/status`, 'PUT', { status: 'closed' }, { ...cookie, 'kbn-xsrf': 'eqlite-ui' })).json).toEqual({ updated: 1, status: 'closed' });
    // Scripts with basic auth need no kbn-xsrf.
    expect((await req(`${t.url}/api/alerts/a00001/status`, 'PUT', { status: 'open' }, admin)).status).toBe(200);
    const history = await req(`${t.url}/api/alerts/a00001`, 'GET', undefined, admin);
    expect(history.json.status_history.map((h: { status: string; by: string }) => [h.status, h.by])).toEqual([
      ['closed', 'user:ana'],
      ['open', 'user:ana'],
    ]);
    // A read-only user's session can read but not change status.
    const r = await login('username=reader&password=password+two&next=%2Fapp%2Falerts%3Fstatus%3Dclosed');
    expect(r.headers.get('location')).toBe('/app/alerts?status=closed');
    const readerCookie = { cookie: r.headers.get('set-cookie')!.split(';')[0]!, 'kbn-xsrf': 'x' };
    expect((await req(`${t.url}/api/alerts/a00002/status`, 'PUT', { status: 'closed' }, readerCookie)).status).toBe(403);
    // API keys cannot sign in to a browser session.
    const key = await t.svc.credentials.createApiKey('k', 'admin');
    expect((await login(`username=${key.id}&password=${key.api_key}`)).headers.get('location')).toMatch(/error=1/);
    // Removing the user ends their sessions at once; a new password too.
    t.svc.credentials.revoke('reader');
    expect((await req(`${t.url}/api/alerts`, 'GET', undefined, readerCookie)).status).toBe(401);
    await new Promise((res) => setTimeout(res, 2));
    await t.svc.credentials.setUser('ana', 'password three', 'admin');
    expect((await req(`${t.url}/api/alerts`, 'GET', undefined, cookie)).status).toBe(401);
    // Sign-out clears the cookie and forgets the session.
    const again = await login('username=ana&password=password+three');
    const c2 = { cookie: again.headers.get('set-cookie')!.split(';')[0]! };
    const out = await fetch(`${t.url}/app/logout`, { method: 'POST', headers: c2, redirect: 'manual' });
    expect(out.headers.get('set-cookie')).toBe('eqlite_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
    expect((await req(`${t.url}/api/alerts`, 'GET', undefined, c2)).status).toBe(401);
    // The login form and its stylesheet are all that is served without credentials.
    expect((await req(`${t.url}/app/login`, 'GET')).status).toBe(200);
    expect((await req(`${t.url}/app/assets/login.css`, 'GET')).status).toBe(200);
    expect((await req(`${t.url}/app/assets/app.css`, 'GET')).status).toBe(401);
    const stored = new Database(path.join(t.dir, 'state.sqlite'), { readonly: true });
    const hashes = stored.prepare('SELECT hash FROM ui_sessions').all() as { hash: string }[];
    stored.close();
    // Only digests are stored, never the token itself.
    expect(hashes.some((h) => setCookie.includes(h.hash))).toBe(false);
  });
});
