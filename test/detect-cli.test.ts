import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { formatAlertTable, runHunt, type HuntIo } from '../src/cli/hunt.js';
import { hunt } from '../src/detect/hunt.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { openAlertStore } from '../src/store/sqlite.js';
import { seedPair, tempDir, writeNdjson } from './detect-helpers.js';

function capture(): { io: HuntIo; out: () => string; err: () => string } {
  let o = '';
  let e = '';
  const stdout = new Writable({ write(c, _enc, cb) { o += String(c); cb(); } });
  const stderr = new Writable({ write(c, _enc, cb) { e += String(c); cb(); } });
  return { io: { stdout, stderr }, out: () => o, err: () => e };
}

const dir = tempDir();
const input = writeNdjson(dir, 'events.ndjson', [
  ...seedPair('2024-05-01T10:00:00Z', '2024-05-01T10:00:02Z', 'h1', 'alice'),
  ...seedPair('2024-05-01T10:01:00Z', '2024-05-01T10:01:02Z', 'h2', 'bob'),
]);
// A broken line and an event without a timestamp: both must be reported, not silently dropped.
const messy = path.join(dir, 'messy.ndjson');
import { writeFileSync } from 'node:fs';
writeFileSync(messy, '{"@timestamp":"2024-05-01T09:00:00Z","agent":{"type":"filebeat","version":"8.12.0"}}\n{not json\n{"message":"no time"}\n');

describe('SQLite alert store', () => {
  it('is idempotent: the same hunt twice leaves the same rows', async () => {
    const db = path.join(tempDir(), 'alerts.sqlite');
    const seed = loadRules([defaultRulesDir()]).rules;
    const { alerts } = await hunt({ rules: seed, inputs: [input] });
    const store = openAlertStore(db);
    expect(store.write(alerts)).toBe(6);
    expect(store.write(alerts)).toBe(0);
    expect(store.count()).toBe(6);
    store.close();
    const again = await hunt({ rules: seed, inputs: [input] });
    const s2 = openAlertStore(db);
    expect(s2.write(again.alerts)).toBe(0);
    expect(s2.count()).toBe(6);
    s2.close();
    const raw = new Database(db, { readonly: true });
    const rows = raw.prepare('SELECT rule_id, severity, building_block, host_name, user_name FROM alerts ORDER BY host_name, building_block').all();
    expect(rows).toEqual([
      { rule_id: 'b64b183e-1a76-422d-9179-7b389513e74d', severity: 'medium', building_block: 0, host_name: 'h2', user_name: 'bob' },
      { rule_id: 'b64b183e-1a76-422d-9179-7b389513e74d', severity: 'medium', building_block: 1, host_name: 'h2', user_name: 'bob' },
      { rule_id: 'b64b183e-1a76-422d-9179-7b389513e74d', severity: 'medium', building_block: 1, host_name: 'h2', user_name: 'bob' },
      { rule_id: 'b64b183e-1a76-422d-9179-7b389513e74d', severity: 'medium', building_block: 0, host_name: 'host-1', user_name: 'alice' },
      { rule_id: 'b64b183e-1a76-422d-9179-7b389513e74d', severity: 'medium', building_block: 1, host_name: 'host-1', user_name: 'alice' },
      { rule_id: 'b64b183e-1a76-422d-9179-7b389513e74d', severity: 'medium', building_block: 1, host_name: 'host-1', user_name: 'alice' },
    ]);
    const idx = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts' AND name NOT LIKE 'sqlite_%' ORDER BY name").all();
    // The list indexes the alerts API and web UI walk (src/store/sqlite.ts), each created once.
    expect(idx.map((i) => (i as { name: string }).name)).toEqual([
      'alerts_group',
      'alerts_host_status',
      'alerts_list',
      'alerts_risk',
      'alerts_rule_id',
      'alerts_rule_status',
      'alerts_severity_rank',
      'alerts_severity_status',
      'alerts_status_time',
      'alerts_timestamp',
      'alerts_user_status',
    ]);
    raw.close();
  });
});

describe('eqlite hunt CLI', () => {
  it('writes NDJSON alerts, the --out file, the --db rows and a summary', async () => {
    const d = tempDir();
    const out = path.join(d, 'alerts.ndjson');
    const db = path.join(d, 'alerts.sqlite');
    for (let i = 0; i < 2; i++) {
      const c = capture();
      const code = await runHunt([input, messy], { format: 'ndjson', out, db }, c.io);
      expect(code).toBe(0);
      expect(c.out().trim().split('\n')).toHaveLength(6);
      expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(6);
      const summary = c.err().trimEnd().split('\n').filter((l) => !/^hunt: \d+ events/.test(l));
      expect(summary).toEqual([
        'schedule replay over 2024-05-01T09:00:00.000Z – 2024-05-01T10:01:02.000Z',
        'rules: 1 loaded, 1 run',
        'skipped 2 lines/records/events:',
        `  1 × e.g. ${messy}:2: ${summary[3]!.slice(summary[3]!.indexOf(`${messy}:2: `) + messy.length + 4)}`,
        `  1 × e.g. ${messy}:3: ${summary[4]!.slice(summary[4]!.indexOf(`${messy}:3: `) + messy.length + 4)}`,
        '1 events were handed to no rule (no index pattern, category or required field value matched)',
        // h2's sequence (10:01:00–10:01:02) lies in the windows of the runs at 10:05 and 10:10.
        'alerts: 6 (3 found again by overlapping windows, not duplicated)',
        '  by severity: medium 6',
        '  by rule:',
        '    6  Windows Script Interpreter Executing Process via WMI (medium)',
        '  by host:',
        '    3  h2',
        '    3  host-1',
        `alerts written to ${out}`,
        // The rerun (i = 1) adds nothing: the database is create-only by alert id.
        `alerts stored in ${db} ${i === 0 ? '(6 new)' : '(0 new, 6 stored before)'}`,
        // messy.ndjson's two readable documents carry no event.category: named, with the fix.
        `warning: ${messy}: none of its 2 document(s) has event.category (read as JSON); EQL rules and queries select events by category, so only "any where …" sees them — give ECS documents (as Elastic Agent, Beats or their ingest pipelines write them), or Windows events as EVTX, XML, NXLog JSON or Winlogbeat documents, which eqlite maps to ECS`,
        "note: only the bundled seed rule is used; `eqlite rules update` installs Elastic's EQL rule set (about 1,000 rules)",
      ]);
      expect(c.err()).toMatch(/^hunt: 5 events from 2 input\(s\) \(0\.0 MB\) in \d+\.\ds\n/);
      const rows = new Database(db, { readonly: true });
      expect((rows.prepare('SELECT COUNT(*) AS n FROM alerts').get() as { n: number }).n).toBe(6);
      rows.close();
    }
  });

  it('prints a table of shell and event alerts', async () => {
    const c = capture();
    expect(await runHunt([input], { format: 'table' }, c.io)).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^original time\s+severity\s+risk\s+rule\s+host\s+user\s+reason$/);
    expect(lines[2]).toMatch(/^2024-05-01T10:00:00\.000Z\s+medium\s+47\s+Windows Script Interpreter Executing Process vi…\s+host-1\s+alice\s+sequence: process event with process cmd\.exe, parent process wmiprvse\.exe, by a…$/);
    expect(formatAlertTable([])).toBe('no alerts\n');
  });

  it('reports user errors in one line with exit code 2', async () => {
    const c = capture();
    expect(await runHunt([path.join(dir, 'missing.ndjson')], { format: 'ndjson' }, c.io)).toBe(2);
    expect(c.err()).toMatch(/^error: cannot read .*missing\.ndjson: /);
    expect(c.err()).not.toContain('    at ');
    const c2 = capture();
    expect(await runHunt([input], { format: 'ndjson', from: 'yesterday' }, c2.io)).toBe(2);
    expect(c2.err()).toBe('error: invalid time "yesterday": expected an ISO 8601 time or date math such as now-24h\n');
    const c3 = capture();
    expect(await runHunt([], { format: 'ndjson' }, c3.io)).toBe(2);
  });
});
