// `eqlite ui alerts.db` in Chromium: the CLI prints the URL, the pages show a `hunt --db` store, a
// second hunt into the same store appears live, and hostile content — a rule guide with script,
// raw HTML and javascript: links; an event whose fields hold <script>, ANSI escapes and a very
// long value — is shown as text.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { haveChromium, launchChromium, shot, type Browser } from './chromium.js';

declare const window: any;
declare const document: any;

const CLI = path.resolve('dist/cli/main.js');
const LONG = 'A'.repeat(50_000) + 'END-OF-LONG-VALUE';

const hostileRule = {
  rule_id: 'c0ffee00-0000-4000-8000-000000000001',
  name: 'Hostile <b>rule</b> name',
  description: 'A rule whose texts try to run script in the analyst\'s browser.',
  type: 'eql',
  language: 'eql',
  query: 'process where process.name == "evil.exe"',
  index: ['logs-*'],
  risk_score: 99,
  severity: 'critical',
  from: 'now-9m',
  interval: '5m',
  version: 1,
  note: [
    '## Guide',
    '<script>window.__pwned = "guide script"</script>',
    '<img src="x" onerror="window.__pwned = \'guide img\'">',
    '[a javascript link](javascript:window.__pwned=1) and [a real one](https://example.org/guide)',
    '<iframe src="https://example.org"></iframe>',
    '- step **one**',
  ].join('\n\n'),
  threat: [{ framework: 'MITRE ATT&CK', tactic: { id: 'TA0002', name: 'Execution', reference: 'javascript:alert(1)' }, technique: [{ id: 'T1059', name: 'Command and Scripting Interpreter', reference: 'https://attack.mitre.org/techniques/T1059/' }] }],
};

function event(i: number, extra: Record<string, unknown> = {}) {
  return {
    '@timestamp': `2025-03-10T08:0${i}:00.000Z`,
    data_stream: { type: 'logs', dataset: 'endpoint.events.process', namespace: 'default' },
    event: { category: ['process'], type: ['start'], kind: 'event' },
    host: { name: `host-${i}`, id: `h${i}`, os: { type: 'windows' } },
    process: { name: 'evil.exe', pid: 100 + i, command_line: `evil.exe --n ${i}` },
    user: { name: `user${i}` },
    ...extra,
  };
}

const suite = haveChromium() ? describe : describe.skip;

suite('eqlite ui over a hunt --db store (Chromium)', () => {
  let dir: string;
  let db: string;
  let rules: string;
  let proc: ChildProcess;
  let url = '';
  let b: Browser;

  const hunt = (events: unknown[]) => {
    const f = path.join(dir, `events-${Date.now()}.ndjson`);
    writeFileSync(f, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const r = spawnSync(process.execPath, [CLI, 'hunt', '--rules', rules, '--db', db, '--no-progress', f], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'eqlite-ui-offline-'));
    db = path.join(dir, 'alerts.db');
    rules = path.join(dir, 'rules.ndjson');
    writeFileSync(rules, JSON.stringify(hostileRule) + '\n');
    hunt([
      event(1, {
        process: { name: 'evil.exe', pid: 101, command_line: '<script>window.__pwned = "field"</script>', args: [LONG] },
        user: { name: '\u001b[31mroot\u001b[0m' },
        message: '<img src=x onerror="window.__pwned=\'message\'"> \u001b]8;;https://evil.example\u0007link\u001b]8;;\u0007',
      }),
    ]);
    proc = spawn(process.execPath, [CLI, 'ui', db, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /open (http:\/\/\S+)\/app\/alerts/.exec(out);
        if (m) resolve(m[1]!);
      });
      proc.on('exit', (code) => reject(new Error(`eqlite ui exited with ${code}: ${out}`)));
    });
    b = await launchChromium();
  });
  afterAll(async () => {
    await b?.close();
    proc?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  test('the CLI names the store and the URL; refuses what is not an alert store', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const bad = spawnSync(process.execPath, [CLI, 'ui', path.join(dir, 'missing.db')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(`error: ${path.join(dir, 'missing.db')}: no such file (write one with eqlite hunt --db ${path.join(dir, 'missing.db')} …)\n`);
    writeFileSync(path.join(dir, 'not.db'), 'hello');
    const notDb = spawnSync(process.execPath, [CLI, 'ui', path.join(dir, 'not.db')], { encoding: 'utf8' });
    expect(notDb.status).toBe(2);
    expect(notDb.stderr).toMatch(/not\.db: not an SQLite database/);
  });

  test('hostile rule and event content is shown as text, never run', async () => {
    const page = await b.newPage();
    await page.goto(`${url}/app/alerts?status=all`);
    const row = await page.waitForSelector('tr.alert-row');
    expect(await page.textContent('tr.alert-row .c-rule a')).toBe('Hostile <b>rule</b> name');
    expect(await page.textContent('tr.alert-row .c-user')).toBe('\\u001b[31mroot\\u001b[0m');
    expect(await page.textContent('.topbar .tag')).toBe('offline store');
    await shot(page, 'offline-alerts-light-wide');
    await page.click('tr.alert-row .c-rule a');
    await page.waitForSelector('.field-table');
    void row;
    // Nothing ran: no flag set, no script element but our bundle, no image, frame or bold tag.
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    expect(await page.evaluate(() => [...document.scripts].map((s: { src: string }) => new URL(s.src).pathname))).toEqual(['/app/assets/app.js']);
    expect(await page.locator('img, iframe, b').count()).toBe(0);
    // The guide: raw HTML is text, the javascript: link has no href, the real one opens safely.
    const guide = (await page.textContent('.markdown'))!;
    expect(guide).toContain('<script>window.__pwned = "guide script"</script>');
    expect(guide).toContain('<img src="x" onerror="window.__pwned = \'guide img\'">');
    const links = await page.$$eval('.markdown a', (as: any[]) => as.map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('rel')]));
    expect(links).toEqual([
      ['a javascript link', null, 'noopener noreferrer'],
      ['a real one', 'https://example.org/guide', 'noopener noreferrer'],
    ]);
    // MITRE: a javascript: reference is not followed; the id's own page is linked instead.
    expect(await page.$$eval('.mitre a', (as: any[]) => as.map((a) => a.getAttribute('href')))).toEqual(['https://attack.mitre.org/tactics/TA0002/', 'https://attack.mitre.org/techniques/T1059/']);
    // The event's fields: markup and escapes as text, the long value whole and wrapped.
    const value = async (field: string) => page.textContent(`.field-table tr:has(td.field-name:text-is("${field}")) td.field-value`);
    expect(await value('process.command_line')).toBe('<script>window.__pwned = "field"</script>');
    expect(await value('user.name')).toBe('\\u001b[31mroot\\u001b[0m');
    expect(await value('message')).toBe('<img src=x onerror="window.__pwned=\'message\'"> \\u001b]8;;https://evil.example\\u0007link\\u001b]8;;\\u0007');
    // The long value: its first 400 characters and a button for the rest, which shows it whole and wrapped.
    const longCell = '.field-table tr:has(td.field-name:text-is("process.args")) td.field-value';
    expect(await page.textContent(`${longCell} .long-value`)).toBe(`${'A'.repeat(400)}…`);
    await shot(page, 'offline-hostile-detail-light-wide-cut');
    await page.click(`${longCell} button:text-is("Show all 50,017 characters")`);
    const long = (await page.textContent(`${longCell} .long-value`))!;
    expect(long.length).toBe(LONG.length);
    expect(long.endsWith('END-OF-LONG-VALUE')).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    await page.click(`${longCell} button:text-is("Show less")`);
    // The field filter finds fields by name or value.
    await page.fill('.field-filter input', 'command_line');
    expect(await page.$$eval('.field-table td.field-name', (tds: any[]) => tds.map((t) => t.textContent))).toEqual(['process.command_line']);
    await page.fill('.field-filter input', '');
    await shot(page, 'offline-hostile-detail-light-wide');
    await shot(page, 'offline-hostile-detail-light-wide-top', false);
    const dark = await b.newPage({ dark: true, width: 420, height: 860 });
    await dark.goto(page.url());
    await dark.waitForSelector('.field-table');
    await shot(dark, 'offline-hostile-detail-dark-narrow-top', false);
    expect(await dark.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
    await dark.close();
    await page.close();
  });

  test('rules come from the alerts; a second hunt into the same store appears without a reload; search finds it', async () => {
    const page = await b.newPage();
    await page.goto(`${url}/app/rules`);
    await page.waitForSelector('tr[data-rule]');
    expect(await page.textContent('.notice')).toContain('hunt --db');
    expect(await page.locator('input[role=switch]').count()).toBe(0);
    await page.click('tr[data-rule] .c-rule-name a');
    await page.waitForSelector('pre.eql');
    expect(await page.textContent('pre.eql')).toBe('process where process.name == "evil.exe"');
    await shot(page, 'offline-rule-detail-light-wide');
    await page.goto(`${url}/app/alerts?status=all`);
    await page.waitForSelector('tr.alert-row');
    expect(await page.locator('tr.alert-row').count()).toBe(1);
    hunt([event(2)]);
    await page.waitForFunction(() => document.querySelectorAll('tr.alert-row').length === 2, undefined, { timeout: 15_000 });
    // (Both hunts' runs may share a run time, so the order between the two is the ids'.)
    expect((await page.$$eval('tr.alert-row .c-host', (tds: any[]) => tds.map((t) => t.textContent))).sort()).toEqual(['host-1', 'host-2']);
    // Free-text search reaches the event's command line.
    await page.fill('input[name=q]', 'evil.exe --n 2');
    await page.press('input[name=q]', 'Enter');
    await page.waitForURL(/q=evil\.exe/);
    await page.waitForFunction(() => document.querySelectorAll('tr.alert-row').length === 1);
    expect(await page.textContent('tr.alert-row .c-host')).toBe('host-2');
    expect(b.errors).toEqual([]);
    await page.close();
  });
});
