// Exit codes and messages of usage and input errors: 2, one line, no help text, before any input
// is read.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reasonKind } from '../src/cli/errors.js';
import { runCli } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';

const dir = tempDir();
const events = path.join(dir, 'events.ndjson');
writeFileSync(events, '{"@timestamp":"2025-01-01T00:00:00Z","event":{"category":"process"},"process":{"name":"a.exe"}}\n');

describe('usage and input errors exit 2 with one message', () => {
  it.each([
    ['unknown option', ['hunt', events, '--bogus'], "error: unknown option '--bogus'"],
    ['bad value', ['hunt', events, '--format', 'xml'], "error: option '--format <format>' argument 'xml' is invalid. expected table, ndjson, json or none"],
    ['missing input', ['hunt'], "error: missing required argument 'inputs'"],
    ['missing file in hunt', ['hunt', path.join(dir, 'nope.ndjson')], `error: cannot read ${path.join(dir, 'nope.ndjson')}: no such file or directory`],
    ['missing file in query', ['query', 'process where true', path.join(dir, 'nope.ndjson')], `error: cannot read ${path.join(dir, 'nope.ndjson')}: no such file or directory`],
    ['bad threads value', ['query', 'process where true', events, '--threads', '-1'], "error: option '--threads <n>' argument '-1' is invalid. expected a non-negative integer"],
  ])('%s', async (_name, args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(message);
    // At most a pointer to the help, never the help text itself.
    expect(r.stderr).not.toContain('Options:');
    expect(lines.length).toBeLessThanOrEqual(2);
  });

  it('a missing rule path fails before any input is read', async () => {
    // The input is stdin, which is never read: a missing rule set is reported first.
    const r = await runCli(['hunt', '-', '--rules', path.join(dir, 'no-rules')], { input: '{"a":1}\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: cannot read rules ${path.join(dir, 'no-rules')}: no such file or directory\n`);
  });

  it('an empty rule set fails before any input is read', async () => {
    const empty = path.join(dir, 'empty-rules');
    mkdirSync(empty, { recursive: true });
    const r = await runCli(['hunt', path.join(dir, 'nope.ndjson'), '--rules', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: no EQL rule in ${empty}; give rule files or directories with --rules (detection-rules TOML, Kibana export NDJSON, JSON)\n`,
    );
  });

  it('an empty stdin says so', async () => {
    const h = await runCli(['hunt', '-', '--format', 'none', '--no-progress'], { input: '' });
    expect(h.code).toBe(2);
    expect(h.stderr).toBe('error: stdin is empty: nothing was piped in (did the command before "|" fail?)\n');
    const q = await runCli(['query', 'process where true', '-'], { input: '' });
    expect(q.code).toBe(2);
    expect(q.stderr).toBe('error: stdin is empty: nothing was piped in (did the command before "|" fail?)\n');
  });
});

describe('skipped-items summary', () => {
  it('names the positions and the offending value of each kind', async () => {
    const app = path.join(dir, 'app.ndjson');
    writeFileSync(
      app,
      '{"@timestamp":"2025-01-01T00:00:00Z","event":{"category":"process"}}\n{"@timestamp":"2025-01-01T00:00:01Z", true}\n' +
        '{"@timestamp":"2025-01-01T00:00:02Z","event":{"category":"process"}}\n1\n[2]\n',
    );
    const r = await runCli(['query', 'process where true', app]);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `eqlite: read 2 event(s); skipped 3 item(s): 1 invalid JSON (${app}:2); 1 expected a JSON object or array (${app}:4 "1"); 1 expected a JSON object (${app}:5 a number 2)`,
    );
  });

  it('a kind that starts with a number is cut at a word', () => {
    expect(reasonKind('UTF-32 little-endian text (byte order mark FF FE 00 00) is not supported; convert it to UTF-8; file skipped')).toBe(
      'UTF-32 little-endian text (byte order mark FF FE 00 00) is not supported',
    );
    expect(reasonKind('UTF-32 big-endian text (byte order mark 00 00 FE FF) is not supported by this reader of text files; convert it')).toBe(
      'UTF-32 big-endian text (byte order mark 00 00 FE FF) is not supported by this…',
    );
  });
});

describe('eqlite query field hints', () => {
  it('a misspelled field gets the same "did you mean" hint as validate; custom fields are left alone', async () => {
    const { misspelledFields } = await import('../src/cli/query.js');
    expect(misspelledFields('process where proces.name == "x" and my_custom_flag == 1 and ?procss.pid == 1')).toEqual([
      'query:1:15: warning: unknown field proces.name: not in ECS nor a known data-source field family\n  process where proces.name == "x" and my_custom_flag == 1 and ?procss.pid == 1\n                ^^^^^^^^^^^\nhint: did you mean process.name?',
    ]);
    expect(misspelledFields('process where process.name == "x"')).toEqual([]);
  });
});

describe('inputs without event.category or time', () => {
  it('are named with the shape they were read as and what to do, with and without worker threads', async () => {
    const plain = path.join(dir, 'plain.json');
    writeFileSync(plain, '{"EventTime":"2025-01-01T10:00:00","message":"a"}\n{"EventTime":"2025-01-01T10:00:01","message":"b"}\n');
    const nocat = path.join(dir, 'nocat.json');
    writeFileSync(nocat, '{"@timestamp":"2025-01-01T10:00:00Z","message":"a"}\n');
    const expected = [
      `warning: ${plain}: none of its 2 document(s) has event.category (read as JSON); EQL rules and queries select events by category, so only "any where …" sees them — give ECS documents (as Elastic Agent, Beats or their ingest pipelines write them), or Windows events as EVTX, XML, NXLog JSON or Winlogbeat documents, which eqlite maps to ECS`,
      `warning: ${plain}: none of its 2 document(s) has a usable @timestamp (read as JSON); every one was skipped — their time seems to be in EventTime: add --timestamp-field EventTime`,
      `warning: ${nocat}: none of its 1 document(s) has event.category (read as JSON); EQL rules and queries select events by category, so only "any where …" sees them — give ECS documents (as Elastic Agent, Beats or their ingest pipelines write them), or Windows events as EVTX, XML, NXLog JSON or Winlogbeat documents, which eqlite maps to ECS`,
    ];
    for (const threads of ['0', '2']) {
      const r = await runCli(['hunt', plain, nocat, '--format', 'none', '--no-progress', '--threads', threads]);
      expect(r.code).toBe(0);
      expect(r.stderr.split('\n').filter((l) => l.startsWith(`warning: ${dir}`))).toEqual(expected);
      expect(r.stderr).toContain('plain.json:1: event ');
      expect(r.stderr).toContain('has no @timestamp; skipped (its time may be EventTime: give --timestamp-field EventTime)');
    }
  });
});

describe('hunt stdout defaults in a pipe', () => {
  it('NDJSON alerts alone; nothing when --out or --db took them, unless --format says so', async () => {
    const out = path.join(dir, 'pipe-alerts.ndjson');
    const db = path.join(dir, 'pipe-alerts.db');
    const lines = (s: string) => (s === '' ? 0 : s.trimEnd().split('\n').length);
    const plain = await runCli(['hunt', 'examples/', '--no-progress']);
    expect([plain.code, lines(plain.stdout), (JSON.parse(plain.stdout.split('\n')[0]!) as Record<string, unknown>)['kibana.alert.rule.name']]).toEqual([0, 27, 'Windows Script Interpreter Executing Process via WMI']);
    const toFile = await runCli(['hunt', 'examples/', '--no-progress', '--out', out]);
    expect([toFile.code, toFile.stdout, lines(readFileSync(out, 'utf8'))]).toEqual([0, '', 27]);
    const toDb = await runCli(['hunt', 'examples/', '--no-progress', '--db', db]);
    expect([toDb.code, toDb.stdout]).toEqual([0, '']);
    const both = await runCli(['hunt', 'examples/', '--no-progress', '--out', out, '--format', 'ndjson']);
    expect([both.code, lines(both.stdout), lines(readFileSync(out, 'utf8'))]).toEqual([0, 27, 27]);
  });
});
