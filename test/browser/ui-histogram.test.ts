// The Alerts page over a store of more than 10,000 alerts, in Chromium: the count says "More than
// 10,000" (the list counts no further), and dragging across the histogram — a real mouse drag on
// uPlot's canvas — turns the selected stretch of time into the view's from/to (in the URL) and
// lists exactly the alerts in it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Alert } from '../../src/detect/alerts.js';
import { AlertBrowser } from '../../src/serve/ui-mode.js';
import { openAlertStore } from '../../src/store/sqlite.js';
import { haveChromium, launchChromium, shot, type Browser } from './chromium.js';

declare const document: any;

const T0 = Date.parse('2025-03-10T00:00:00.000Z');
const HALF_HOUR = 30 * 60_000;
/** 24 clusters of alerts, one in the middle of each half hour from T0 (12 hours). */
const CLUSTERS = 24;
const PER_CLUSTER = 420;
const SEVS = ['low', 'medium', 'high', 'critical'];

function clusterTime(k: number): number {
  return T0 + k * HALF_HOUR + 15 * 60_000;
}

function alert(k: number, j: number): Alert {
  const id = `c${String(k).padStart(2, '0')}-${String(j).padStart(3, '0')}`;
  const host = `host-${j % 40}`;
  return {
    '@timestamp': new Date(clusterTime(k) + j).toISOString(),
    'kibana.alert.original_time': new Date(clusterTime(k) + j - 1000).toISOString(),
    'kibana.alert.uuid': id,
    'kibana.alert.rule.rule_id': `rule-${j % 6}`,
    'kibana.alert.rule.name': `Drag rule ${j % 6}`,
    'kibana.alert.severity': SEVS[j % 4]!,
    'kibana.alert.risk_score': 21 + (j % 70),
    'kibana.alert.reason': `process event with process p${j}.exe on ${host} created alert Drag rule ${j % 6}.`,
    host: { name: host },
    user: { name: `user-${j % 9}` },
    process: { name: `p${j}.exe`, command_line: `p${j}.exe --cluster ${k}` },
  };
}

const suite = haveChromium() ? describe : describe.skip;

suite('the Alerts page over more than 10,000 alerts (Chromium): capped count, drag to select a time range', () => {
  let dir: string;
  let ui: AlertBrowser;
  let b: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'eqlite-ui-hist-'));
    const file = path.join(dir, 'alerts.db');
    const store = openAlertStore(file);
    const all: Alert[] = [];
    for (let k = 0; k < CLUSTERS; k++) for (let j = 0; j < PER_CLUSTER; j++) all.push(alert(k, j));
    store.write(all);
    store.close();
    ui = await AlertBrowser.start({ file, host: '127.0.0.1', port: 0 });
    b = await launchChromium();
  });
  afterAll(async () => {
    await b?.close();
    await ui?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the count stops at 10,000 and says so; the next page fetches only the list', async () => {
    const page = await b.newPage();
    await page.goto(`${ui.url}/app/alerts`);
    await page.waitForSelector('tr.alert-row');
    expect(await page.textContent('.table-tools .count')).toBe('More than 10,000 alerts');
    // The histogram still counts every alert: its legend's totals are exact.
    await page.waitForSelector('.histogram .u-legend');
    const totals = await page.$$eval('.histogram .u-legend .u-series', (rows: any[]) => rows.slice(1).map((r) => [r.querySelector('th').textContent, r.querySelector('.u-value').textContent]));
    expect(totals).toEqual([
      ['critical', '2,520'],
      ['high', '2,520'],
      ['medium', '2,520'],
      ['low', '2,520'],
    ]);
    expect(await page.$$eval('tr.alert-row', (rs: any[]) => rs.slice(0, 2).map((r) => r.dataset.id))).toEqual(['c23-419', 'c23-418']);
    // The next page asks for the list alone: the histogram and filter menus are the same filter's.
    const asked: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/')) asked.push(new URL(r.url()).pathname);
    });
    await page.click('nav.pager button:text-is("Next ›")');
    await page.waitForURL(/search_after=/);
    await page.waitForFunction(() => document.querySelector('tr.alert-row')?.dataset.id === 'c23-369');
    expect(asked).toEqual(['/api/alerts']);
    // A filter menu fetches its values, with their counts, when it is opened (and only then).
    expect(await page.locator('#facet-host option').count()).toBe(0);
    await page.focus('input[name=host]');
    await page.waitForFunction(() => document.querySelectorAll('#facet-host option').length === 40);
    expect(asked).toEqual(['/api/alerts', '/api/alerts/_facets']);
    // host-0 … host-19 have 11 alerts of each cluster's 420, host-20 … host-39 have 10.
    expect(await page.$$eval('#facet-host option', (os: any[]) => os.slice(0, 3).map((o) => [o.value, o.textContent]))).toEqual([
      ['host-0', 'host-0 (264)'],
      ['host-1', 'host-1 (264)'],
      ['host-10', 'host-10 (264)'],
    ]);
    expect(await page.$eval('#facet-host option:last-child', (o: any) => o.textContent)).toBe('host-39 (240)');
    expect(await page.textContent('.table-tools .count')).toBe('More than 10,000 alerts');
    await shot(page, 'alerts-10k-light-wide', false);
    await page.close();
  });

  test('dragging across the histogram selects that time range: from/to in the URL, exactly its alerts listed', async () => {
    const page = await b.newPage();
    await page.goto(`${ui.url}/app/alerts`);
    await page.waitForSelector('.histogram .u-over');
    const over = (await page.locator('.histogram .u-over').boundingBox())!;
    // The x scale runs from the first bucket (T0) to the end of the last (T0 + 12 h).
    const span = CLUSTERS * HALF_HOUR;
    const x = (t: number) => over.x + ((t - T0) / span) * over.width;
    const msPerPx = span / over.width;
    // From between clusters 4 and 5 (02:30) to between clusters 9 and 10 (05:00).
    const from = T0 + 5 * HALF_HOUR;
    const to = T0 + 10 * HALF_HOUR;
    const y = over.y + over.height / 2;
    await page.mouse.move(x(from), y);
    await page.mouse.down();
    await page.mouse.move((x(from) + x(to)) / 2, y, { steps: 5 });
    await page.mouse.move(x(to), y, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL(/from=.*to=/);
    const params = new URL(page.url()).searchParams;
    // (A custom range is its from and to; the time menu says so.)
    expect([...params.keys()].sort()).toEqual(['from', 'to']);
    expect(await page.inputValue('select[name=range]')).toBe('custom');
    // The selection is as exact as a pixel.
    expect(Math.abs(Date.parse(params.get('from')!) - from)).toBeLessThanOrEqual(2 * msPerPx);
    expect(Math.abs(Date.parse(params.get('to')!) - to)).toBeLessThanOrEqual(2 * msPerPx);
    // Clusters 5 … 9: 5 × 420 alerts, the newest first.
    await page.waitForFunction(() => document.querySelector('.table-tools .count')?.textContent === '2,100 alerts');
    const ids = await page.$$eval('tr.alert-row', (rs: any[]) => rs.map((r) => r.dataset.id));
    expect(ids).toHaveLength(50);
    expect(ids[0]).toBe('c09-419');
    expect(ids[49]).toBe('c09-370');
    // The time filter shows the range; the histogram now covers just it (all 2,100).
    expect(await page.inputValue('input[name=from]')).toBe(new Date(Date.parse(params.get('from')!)).toISOString().slice(0, 16));
    await page.waitForFunction(() => document.querySelector('.histogram')?.getAttribute('aria-label') === 'Alerts over time by severity: 2,100 alerts');
    const inRange = await page.$$eval('.histogram .u-legend .u-value', (vs: any[]) => vs.slice(1).map((v) => Number(v.textContent.replace(/,/g, ''))));
    expect(inRange.reduce((a: number, n: number) => a + n, 0)).toBe(2100);
    // The oldest alert of the range, last in ascending order.
    await page.goto(`${page.url()}&sort=%40timestamp%3Aasc`);
    await page.waitForFunction(() => document.querySelector('tr.alert-row')?.dataset.id === 'c05-000');
    await shot(page, 'alerts-drag-selected-light-wide');
    // Back: the whole view again.
    await page.goBack();
    await page.goBack();
    await page.waitForFunction(() => document.querySelector('.table-tools .count')?.textContent === 'More than 10,000 alerts');
    expect(new URL(page.url()).search).toBe('');
    expect(b.errors).toEqual([]);
    await page.close();
  });

  test('dark and narrow, with the count capped', async () => {
    const page = await b.newPage({ dark: true, width: 420, height: 860 });
    await page.goto(`${ui.url}/app/alerts`);
    await page.waitForSelector('.histogram .u-over');
    expect(await page.textContent('.table-tools .count')).toBe('More than 10,000 alerts');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
    await shot(page, 'alerts-10k-dark-narrow', false);
    await page.close();
  });
});
