// The web UI of `eqlite serve`, driven in Chromium: sign in, watch the seed rule's planted attack
// arrive through _bulk and alert live, open it (guide, MITRE, the sequence's two events with their
// times), close it and find it closed after a reload, filter by host, and the rules pages.
// Screenshots of every page (light and dark, wide and narrow) go to test-artifacts/ui/.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Generation } from '../../src/generate/index.js';
import { inferIndex } from '../../src/events/sources.js';
import { ndjson, req, startService, type TestService } from '../serve-helpers.js';
import { haveChromium, launchChromium, shot, type Browser } from './chromium.js';

// Page-side code in page.evaluate() runs in the browser; this file is type-checked with Node's
// types, so the DOM is declared loosely here.
declare const window: any;
declare const document: any;
type HTMLAnchorElement = any;
type HTMLInputElement = any;

const RULE = 'Windows Script Interpreter Executing Process via WMI';
const USER = 'analyst';
const PASSWORD = 'correct horse battery';

/** The generator's seed-rule attack on one host, timed a minute ago, as _bulk bodies. */
function plantedAttack() {
  const gen = new Generation({ events: 60, hosts: 1, positivesPerShape: 1, nearMisses: false, start: Date.now() - 60_000, seed: 'ui-e2e' });
  const docs = [...gen.lines()].map((l) => JSON.parse(l) as Record<string, unknown>);
  const scenario = gen.planted.scenarios.find((s) => s.positive)!;
  const body = ndjson(docs.flatMap((d) => [{ create: { _index: inferIndex(d) } }, d]));
  return { body, scenario, count: docs.length };
}

/** `2025-03-10 08:05:24.783`: how the UI shows an instant (UTC). */
function shown(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

const suite = haveChromium() ? describe : describe.skip;

suite('web UI on eqlite serve (Chromium)', () => {
  let t: TestService;
  let b: Browser;
  let ingestKey: string;
  let page: Page;
  const attack = plantedAttack();
  let alertId = '';

  beforeAll(async () => {
    t = await startService();
    await t.svc.credentials.setUser(USER, PASSWORD, 'admin');
    ingestKey = (await t.svc.credentials.createApiKey('shipper', 'ingest')).encoded;
    b = await launchChromium();
    page = await b.newPage();
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  test('nothing is served without credentials: pages go to the login form, assets and API answer 401', async () => {
    const pageRes = await fetch(`${t.url}/app/alerts?host=x`, { redirect: 'manual' });
    expect(pageRes.status).toBe(303);
    expect(pageRes.headers.get('location')).toBe('/app/login?next=%2Fapp%2Falerts%3Fhost%3Dx');
    expect((await req(`${t.url}/app/assets/app.js`, 'GET')).status).toBe(401);
    expect((await req(`${t.url}/api/alerts`, 'GET')).status).toBe(401);
    expect((await req(`${t.url}/api/alerts/_stream`, 'GET')).status).toBe(401);
    expect((await req(`${t.url}/app/assets/login.css`, 'GET')).status).toBe(200);
    const login = await req(`${t.url}/app/login`, 'GET');
    expect(login.status).toBe(200);
    expect(login.text).toContain('name="password"');
  });

  test('signing in: a wrong password is refused, the right one opens the alerts page it was sent from', async () => {
    await page.goto(`${t.url}/app/alerts`);
    expect(new URL(page.url()).pathname).toBe('/app/login');
    await page.fill('input[name=username]', USER);
    await page.fill('input[name=password]', 'wrong password');
    await page.click('button[type=submit]');
    await page.waitForURL(/error=1/);
    expect(await page.isVisible('.error')).toBe(true);
    await shot(page, 'login-error-light');
    await page.fill('input[name=username]', USER);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/app\/alerts$/);
    await page.waitForSelector('.alerts-page .empty');
    expect(await page.textContent('.who')).toBe(USER);
    // The session cookie is HttpOnly and SameSite=Strict.
    const cookie = (await b.context.cookies()).find((c) => c.name === 'eqlite_session')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    // A cookie-authenticated change without kbn-xsrf (what another site could make a browser send) is refused.
    const res = await page.evaluate(async () => (await fetch('/api/alerts/_status', { method: 'POST', body: JSON.stringify({ ids: ['x'], status: 'closed' }), headers: { 'content-type': 'application/json' } })).status);
    expect(res).toBe(400);
    // That refusal is the only error the browser logged.
    expect(b.errors.splice(0)).toEqual(['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
  });

  test('the planted attack, shipped through _bulk, appears on the open alerts page without a reload', async () => {
    await page.waitForSelector('.live-live');
    const marker = await page.evaluate(() => ((window as unknown as { __marker: number }).__marker = 42));
    const r = await req(`${t.url}/_bulk`, 'POST', attack.body, { 'content-type': 'application/x-ndjson', authorization: `ApiKey ${ingestKey}` });
    expect(r.status).toBe(200);
    expect(r.json.errors).toBe(false);
    const row = await page.waitForSelector('tr.alert-row', { timeout: 30_000 });
    // Same document: no reload happened.
    expect(await page.evaluate(() => (window as unknown as { __marker: number }).__marker)).toBe(marker);
    expect(await row.textContent()).toContain(RULE);
    expect(await page.textContent('tr.alert-row .c-host')).toBe(attack.scenario.step2Host.name);
    expect(await page.textContent('.table-tools .count')).toBe('1 alert');
    alertId = (await row.getAttribute('data-id'))!;
    await page.waitForSelector('.histogram .uplot');
    // The sequence folds its two building blocks.
    await page.click('tr.alert-row .c-expand button');
    await page.waitForSelector('tr.bb >> nth=1');
    expect(await page.locator('tr.bb').count()).toBe(2);
    await page.waitForTimeout(300);
    await shot(page, 'alerts-light-wide');
  });

  test('the alert detail: guide, MITRE, the timeline of its two events with their times; closed stays closed after a reload', async () => {
    await page.click(`tr.alert-row[data-id="${alertId}"] .c-rule a`);
    await page.waitForSelector('.alert-detail');
    expect(page.url()).toBe(`${t.url}/app/alerts/${alertId}`);
    expect(await page.textContent('#alert-title')).toBe(RULE);
    // Investigation guide: the rule's Markdown as headings and lists.
    expect(await page.textContent('.markdown h3 >> nth=0')).toBe('Investigating Windows Script Interpreter Executing Process via WMI');
    expect(await page.locator('.markdown h3', { hasText: 'Possible investigation steps' }).count()).toBe(1);
    // MITRE ATT&CK: tactics, techniques and sub-techniques linked to their pages.
    const mitre = await page.$$eval('.mitre a', (as) => as.map((a) => [a.textContent, (a as HTMLAnchorElement).href]));
    expect(mitre).toEqual([
      ['TA0001 Initial Access', 'https://attack.mitre.org/tactics/TA0001/'],
      ['T1566 Phishing', 'https://attack.mitre.org/techniques/T1566/'],
      ['T1566.001 Spearphishing Attachment', 'https://attack.mitre.org/techniques/T1566/001/'],
      ['TA0002 Execution', 'https://attack.mitre.org/tactics/TA0002/'],
      ['T1047 Windows Management Instrumentation', 'https://attack.mitre.org/techniques/T1047/'],
      ['T1059 Command and Scripting Interpreter', 'https://attack.mitre.org/techniques/T1059/'],
      ['T1059.005 Visual Basic', 'https://attack.mitre.org/techniques/T1059/005/'],
      ['T1059.007 JavaScript', 'https://attack.mitre.org/techniques/T1059/007/'],
    ]);
    // The timeline: the image load, then the process WMI started, at the planted times.
    const times = await page.$$eval('.step .step-time', (els) => els.map((e) => e.textContent));
    const t1 = Math.floor(attack.scenario.step1Us / 1000);
    const t2 = Math.floor(attack.scenario.step2Us / 1000);
    expect(times).toEqual([shown(t1), shown(t2)]);
    const cats = await page.$$eval('.step .step-head .tag', (els) => els.map((e) => e.textContent));
    expect(cats[1]).toBe('process');
    expect(await page.textContent('.step >> nth=1 >> .step-parent')).toContain('WmiPrvSE.exe');
    expect(await page.textContent('.gap')).toContain('maxspan 5s');
    expect(await page.textContent('.span-summary')).toContain('of the rule\'s maxspan 5s');
    // Each step expands to its full event.
    await page.click('.step >> nth=0 >> button');
    const json = await page.textContent('.step >> nth=0 >> pre.json');
    expect(JSON.parse(json!)['@timestamp']).toBeDefined();
    expect(json).toMatch(/wmiutils\.dll/i);
    await page.click('.step >> nth=0 >> button');
    await shot(page, 'alert-detail-light-wide');
    await page.evaluate(() => document.activeElement?.blur());
    await shot(page, 'alert-detail-light-wide-top', false);

    await page.click('button:has-text("Close alert")');
    await page.waitForSelector('.detail-head .status-closed');
    await page.reload();
    await page.waitForSelector('.alert-detail');
    expect(await page.textContent('.detail-head .status')).toBe('closed');
    const history = await page.$$eval('.history li', (els) => els.map((e) => e.textContent ?? ''));
    expect(history).toHaveLength(2);
    expect(history[1]).toContain('closed');
    expect(history[1]).toContain(`user:${USER}`);
    // The API agrees.
    const api = await page.evaluate(async (id) => (await (await fetch(`/api/alerts/${id}`)).json()) as { summary: { status: string } }, alertId);
    expect(api.summary.status).toBe('closed');
  });

  test('screenshots of the detail page: dark, and a narrow window', async () => {
    const dark = await b.newPage({ dark: true });
    await dark.goto(`${t.url}/app/alerts/${alertId}`);
    await dark.waitForSelector('.step');
    expect(await dark.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await shot(dark, 'alert-detail-dark-wide');
    await dark.setViewportSize({ width: 420, height: 860 });
    await dark.waitForTimeout(200);
    expect(await dark.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
    await shot(dark, 'alert-detail-dark-narrow');
    await shot(dark, 'alert-detail-dark-narrow-top', false);
    await dark.close();
    const narrow = await b.newPage({ width: 420, height: 860 });
    await narrow.goto(`${t.url}/app/alerts/${alertId}`);
    await narrow.waitForSelector('.step');
    expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
    await shot(narrow, 'alert-detail-light-narrow');
    await narrow.close();
  });

  test('filters live in the URL: status, host (typed or from a shared link), severity, time range, sort; a reload keeps them; bulk acknowledge and reopen', async () => {
    await page.goto(`${t.url}/app/alerts`);
    // The only alert is closed: the default (open) view is empty.
    await page.waitForSelector('.alerts-page .empty');
    await page.click('.segmented label:has-text("Closed")');
    await page.waitForURL(/status=closed/);
    await page.waitForSelector('tr.alert-row');
    const host = attack.scenario.step2Host.name;
    await page.fill('input[name=host]', host);
    await page.press('input[name=host]', 'Enter');
    await page.waitForURL(new RegExp(`host=${host}`));
    await page.waitForSelector('tr.alert-row');
    expect(await page.locator('tr.alert-row').count()).toBe(1);
    await page.reload();
    await page.waitForSelector('tr.alert-row');
    expect(await page.inputValue('input[name=host]')).toBe(host);
    await page.goto(`${t.url}/app/alerts?status=closed&host=no-such-host`);
    await page.waitForSelector('.alerts-page .empty');
    expect(await page.textContent('.alerts-page .empty')).toBe('No alerts match these filters.');
    // A pivot link from the detail page: same host.
    await page.goto(`${t.url}/app/alerts/${alertId}`);
    await page.click('.pivots a:has-text("Same host")');
    await page.waitForURL(new RegExp(`status=all&host=${host}`));
    await page.waitForSelector('tr.alert-row');
    await shot(page, 'alerts-light-filtered');
    // Reopen from the table with the bulk bar.
    await page.check('tr.alert-row .c-check input');
    await page.click('.bulk button:has-text("Reopen")');
    await page.waitForSelector('.notice:has-text("1 alert marked open")');
    expect(await page.textContent('tr.alert-row .c-status')).toBe('open');
    // Acknowledge it with the bulk bar: it is listed under Acknowledged, not under Open; then reopen it.
    await page.check('tr.alert-row .c-check input');
    await page.click('.bulk button:text-is("Acknowledge")');
    await page.waitForSelector('.notice:has-text("1 alert marked acknowledged")');
    expect(await page.textContent('tr.alert-row .c-status')).toBe('acknowledged');
    await page.click('.segmented label:has-text("Open")');
    await page.waitForURL((u) => !u.searchParams.has('status'));
    await page.waitForSelector('.alerts-page .empty');
    await page.click('.segmented label:has-text("Acknowledged")');
    await page.waitForURL(/status=acknowledged/);
    await page.waitForSelector('tr.alert-row');
    await page.check('tr.alert-row .c-check input');
    await page.click('.bulk button:text-is("Reopen")');
    await page.waitForSelector('.alerts-page .empty');
    // Severity chips: high matches nothing, medium the alert.
    await page.goto(`${t.url}/app/alerts`);
    await page.waitForSelector('tr.alert-row');
    await page.click('.chip:has-text("High")');
    await page.waitForURL(/severity=high/);
    await page.waitForSelector('.alerts-page .empty');
    await page.click('.chip:has-text("High")');
    await page.click('.chip:has-text("Medium")');
    await page.waitForURL((u) => u.searchParams.get('severity') === 'medium');
    await page.waitForSelector('tr.alert-row');
    // Time range: the last 15 minutes hold it (it was planted a minute ago).
    await page.selectOption('select[name=range]', '15m');
    await page.waitForURL(/range=15m/);
    await page.waitForSelector('tr.alert-row');
    // Sorting: a header is a button; risk score sorts descending, then ascending; the URL says so.
    await page.click('th.c-risk button.sort');
    await page.waitForURL(/sort=risk_score%3Adesc|sort=risk_score:desc/);
    expect(await page.getAttribute('th.c-risk', 'aria-sort')).toBe('descending');
    await page.click('th.c-risk button.sort');
    await page.waitForURL(/sort=risk_score%3Aasc|sort=risk_score:asc/);
    expect(await page.getAttribute('th.c-risk', 'aria-sort')).toBe('ascending');
    await page.waitForSelector('tr.alert-row');
  });

  test('alerts page: dark and narrow screenshots; keyboard reaches the filters and the first alert', async () => {
    const dark = await b.newPage({ dark: true });
    await dark.goto(`${t.url}/app/alerts`);
    await dark.waitForSelector('tr.alert-row');
    await dark.waitForSelector('.histogram .uplot');
    await shot(dark, 'alerts-dark-wide');
    await dark.setViewportSize({ width: 420, height: 860 });
    await dark.waitForTimeout(300);
    await shot(dark, 'alerts-dark-narrow');
    await dark.close();
    const narrow = await b.newPage({ width: 420, height: 860 });
    await narrow.goto(`${t.url}/app/alerts`);
    await narrow.waitForSelector('tr.alert-row');
    // The table fits the window: nothing to scroll sideways; host and status sit under the rule.
    expect(await narrow.evaluate(() => { const w = document.querySelector('.table-wrap'); return w.scrollWidth - w.clientWidth; })).toBe(0);
    expect(await narrow.isVisible('tr.alert-row .narrow-meta .status')).toBe(true);
    expect(await narrow.isVisible('tr.alert-row td.c-host')).toBe(false);
    await shot(narrow, 'alerts-light-narrow');
    await shot(narrow, 'alerts-light-narrow-top', false);
    // Keyboard: Tab from the top reaches the skip link, then the app's controls; the alert link opens with Enter.
    await narrow.keyboard.press('Tab');
    expect(await narrow.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await narrow.focus('tr.alert-row .c-time a');
    await narrow.keyboard.press('Enter');
    await narrow.waitForSelector('.alert-detail');
    await narrow.close();
  });

  test('rules: list with run state and alert counts, disable/enable, detail with the query highlighted', async () => {
    await page.goto(`${t.url}/app/rules`);
    const row = await page.waitForSelector(`tr[data-rule="b64b183e-1a76-422d-9179-7b389513e74d"]`);
    expect(await row.textContent()).toContain(RULE);
    expect(await page.textContent('tr[data-rule] td.num:last-child')).toBe('1');
    const toggle = page.locator('tr[data-rule] input[role=switch]');
    expect(await toggle.isChecked()).toBe(true);
    await shot(page, 'rules-light-wide');
    await toggle.click();
    await page.waitForFunction(() => !(document.querySelector('tr[data-rule] input[role=switch]') as HTMLInputElement).checked);
    const api = await req(`${t.url}/api/rules/b64b183e-1a76-422d-9179-7b389513e74d`, 'GET', undefined, { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` });
    expect(api.json.enabled).toBe(false);
    await toggle.click();
    await page.waitForFunction(() => (document.querySelector('tr[data-rule] input[role=switch]') as HTMLInputElement).checked);
    await page.click(`tr[data-rule] .c-rule-name a`);
    await page.waitForSelector('.rule-detail pre.eql');
    expect(await page.textContent('.rule-detail pre.eql .tok-keyword >> nth=0')).toBe('sequence');
    expect(await page.textContent('.rule-detail pre.eql')).toContain('maxspan');
    expect(await page.textContent('#exceptions-title + *')).toBe('No exceptions.');
    await shot(page, 'rule-detail-light-wide');
    const dark = await b.newPage({ dark: true });
    await dark.goto(page.url());
    await dark.waitForSelector('.rule-detail pre.eql');
    await shot(dark, 'rule-detail-dark-wide');
    await dark.goto(`${t.url}/app/rules`);
    await dark.waitForSelector('tr[data-rule]');
    await shot(dark, 'rules-dark-wide');
    await dark.close();
    // Narrow, light and dark: the list and the rule's page fit the window.
    for (const theme of ['light', 'dark'] as const) {
      const narrow = await b.newPage({ dark: theme === 'dark', width: 420, height: 860 });
      await narrow.goto(`${t.url}/app/rules`);
      await narrow.waitForSelector('tr[data-rule]');
      await shot(narrow, `rules-${theme}-narrow`, false);
      expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
      // The table fits its box (nothing cut off at the right).
      expect(await narrow.$eval('.table-wrap', (e: any) => e.scrollWidth - e.clientWidth)).toBe(0);
      await narrow.goto(page.url());
      await narrow.waitForSelector('.rule-detail pre.eql');
      expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
      await shot(narrow, `rule-detail-${theme}-narrow`, false);
      await narrow.close();
    }
  });

  test('a rule imported with an exception list shows its items as conditions on the rule page', async () => {
    const rule = {
      rule_id: 'imported-whoami',
      name: 'Whoami Execution (imported)',
      description: 'whoami run by a user',
      type: 'eql',
      language: 'eql',
      query: 'process where process.name : "whoami.exe"',
      index: ['logs-*'],
      severity: 'high',
      risk_score: 73,
      interval: '5m',
      from: 'now-9m',
      enabled: true,
      references: ['https://example.org/whoami'],
      exceptions_list: [{ id: 'c0ffee00-0000-4000-8000-000000000001', list_id: 'whoami-exceptions', type: 'detection', namespace_type: 'single' }],
    };
    const list = { id: 'c0ffee00-0000-4000-8000-000000000001', list_id: 'whoami-exceptions', type: 'detection', namespace_type: 'single', name: 'whoami exceptions', description: 'admins' };
    const item = {
      item_id: 'exc-1',
      list_id: 'whoami-exceptions',
      namespace_type: 'single',
      type: 'simple',
      name: 'admin hosts, not from a temp folder',
      entries: [
        { field: 'host.name', operator: 'included', type: 'match_any', value: ['admin-01', 'admin-02'] },
        { field: 'process.executable', operator: 'excluded', type: 'wildcard', value: 'C:\\Users\\*\\Temp\\*' },
      ],
    };
    const body = ndjson([rule, list, item, { exported_count: 3, exported_rules_count: 1, missing_rules: [], exported_exception_list_count: 1, exported_exception_list_item_count: 1 }]);
    const r = await req(`${t.url}/api/detection_engine/rules/_import`, 'POST', body, { 'content-type': 'application/x-ndjson', 'kbn-xsrf': 'true', authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` });
    expect(r.json).toMatchObject({ success: true, success_count: 1, exceptions_success: true });
    await page.goto(`${t.url}/app/rules/imported-whoami`);
    await page.waitForSelector('.rule-detail .exception-item');
    expect(await page.textContent('.exception-list h3')).toBe('whoami-exceptions (single)');
    expect(await page.textContent('.exception-name')).toBe('admin hosts, not from a temp folder');
    expect(await page.textContent('.exception-entries')).toBe('host.name is one of admin-01, admin-02 AND NOT process.executable matches C:\\Users\\*\\Temp\\*');
    expect(await page.$$eval('.rule-detail .refs a', (as: any[]) => as.map((a) => a.getAttribute('href')))).toEqual(['https://example.org/whoami']);
    await shot(page, 'rule-detail-exceptions-light-wide', false);
  });

  test('signing out ends the session', async () => {
    await page.goto(`${t.url}/app/alerts`);
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(/\/app\/login$/);
    const r = await page.evaluate(async () => (await fetch('/api/alerts')).status);
    expect(r).toBe(401);
    expect(b.errors).toEqual([]);
  });
});
