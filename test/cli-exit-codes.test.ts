// Every command's usage and input errors, as the README promises them ("Exit codes (all
// commands)"): exit 2, one message line (at most a pointer to --help after it), never the help
// text, never a stack trace. One row per command and kind of mistake: an unknown option, a bad
// option value, a missing argument, a missing file, and the command's own inputs (rules, value
// lists, outputs).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, repoRoot, runCommand } from './cli-helpers.js';

const parent = mkdtempSync(path.join(tmpdir(), 'eqlite-exit-'));
// A checkout's layout: the bundled CLI finds package.json and the bundled rules/ two levels up.
const root = path.join(parent, 'eqlite');
const cwd = path.join(parent, 'work');
let main = '';
beforeAll(async () => {
  mkdirSync(cwd, { recursive: true });
  mkdirSync(root, { recursive: true });
  for (const d of ['package.json', 'rules', 'node_modules']) symlinkSync(path.join(repoRoot, d), path.join(root, d));
  main = await bundleCli(path.join(root, 'build', 'cli'));
  writeFileSync(path.join(cwd, 'ev.ndjson'), '{"@timestamp":"2025-01-01T00:00:00Z","event":{"category":"process"},"process":{"name":"a.exe"}}\n');
  mkdirSync(path.join(cwd, 'empty-rules'));
  writeFileSync(path.join(cwd, 'empty.json'), '');
  // Events in a folder, under a name directories are not searched for.
  mkdirSync(path.join(cwd, 'logs'));
  writeFileSync(path.join(cwd, 'logs', 'events.log'), '{"@timestamp":"2025-01-01T00:00:00Z","event":{"category":"process"}}\n');
});
const NO_FILES = 'no input files found in logs: directories are searched for .ndjson, .jsonl, .json, .gz and .evtx files (name any other file on the command line to read it)';
afterAll(() => rmSync(parent, { recursive: true, force: true }));

const HELP_POINTER = '(add --help for the usage and options)';
const SEED = 'b64b183e';

// [command line, first line of stderr]. Paths are relative to the working directory.
const CASES: Array<[string[], string]> = [
  [['bogus'], "error: unknown command 'bogus'"],
  // hunt
  [['hunt', 'ev.ndjson', '--bogus'], "error: unknown option '--bogus'"],
  [['hunt', 'ev.ndjson', '--format', 'xml'], "error: option '--format <format>' argument 'xml' is invalid. expected table, ndjson, json or none"],
  [['hunt', 'ev.ndjson', '--threads', 'x'], "error: option '--threads <n>' argument 'x' is invalid. expected a non-negative integer"],
  [['hunt', 'ev.ndjson', '--from', 'yesterday'], 'error: invalid time "yesterday": expected an ISO 8601 time or date math such as now-24h'],
  [['hunt'], "error: missing required argument 'inputs'"],
  [['hunt', 'nope.ndjson'], 'error: cannot read nope.ndjson: no such file or directory'],
  [['hunt', 'logs'], `error: ${NO_FILES}`],
  [['hunt', 'ev.ndjson', '--rules', 'nope'], 'error: cannot read rules nope: no such file or directory'],
  [['hunt', 'ev.ndjson', '--rules', 'empty-rules'], 'error: no EQL rule in empty-rules; give rule files or directories with --rules (detection-rules TOML, Kibana export NDJSON, JSON)'],
  [['hunt', 'ev.ndjson', '--value-list', 'nope.txt'], 'error: cannot read value list nope.txt: no such file or directory'],
  [['hunt', 'ev.ndjson', '--mapping', 'nope.json'], 'error: --mapping nope.json: cannot read: no such file or directory'],
  [['hunt', 'ev.ndjson', '--mapping', 'empty-rules'], 'error: --mapping empty-rules: cannot read: is a directory'],
  [['query', 'process where true', 'ev.ndjson', '--mapping', 'empty.json'], "error: --mapping empty.json: empty file: expected the JSON that Elasticsearch's GET <index>/_mapping returns"],
  [['hunt', 'ev.ndjson', '--out', 'no-dir/a.ndjson'], 'error: cannot write no-dir/a.ndjson: directory no-dir does not exist'],
  [['hunt', 'ev.ndjson', '--rule-id', 'nope'], 'error: no rule matches the selection (rule id "nope") among 1 loaded rule(s)'],
  // query
  [['query', 'process where true', 'ev.ndjson', '--bogus'], "error: unknown option '--bogus'"],
  [['query', 'process where true', 'ev.ndjson', '--size', 'abc'], "error: option '--size <n>' argument 'abc' is invalid. expected a non-negative integer"],
  [['query'], "error: missing required argument 'query'"],
  [['query', 'process where true', 'nope.ndjson'], 'error: cannot read nope.ndjson: no such file or directory'],
  [['query', 'process where true', 'logs'], `error: ${NO_FILES}`],
  [['query', 'process where process.name = "x"', 'ev.ndjson'], 'query:1:28: error: `=` is not supported by Elasticsearch EQL'],
  // validate
  [['validate', '--bogus'], "error: unknown option '--bogus'"],
  [['validate', '--format', 'xml'], 'error: option \'--format <format>\' argument \'xml\' is invalid. expected "text" or "json"'],
  [['validate', 'nope.toml'], 'error: cannot read rules nope.toml: no such file or directory'],
  [['validate', 'empty-rules'], 'error: no rule in empty-rules; give rule files or directories (detection-rules TOML, Kibana export NDJSON, JSON)'],
  // convert
  [['convert', 'ev.ndjson', '--bogus'], "error: unknown option '--bogus'"],
  [['convert', 'ev.ndjson', '--profile', 'x'], 'error: option \'--profile <profile>\' argument \'x\' is invalid. expected "integration" or "winlogbeat"'],
  [['convert'], "error: missing required argument 'inputs'"],
  [['convert', 'nope.evtx'], 'warning: cannot read nope.evtx: no such file or directory'],
  [['convert', 'logs'], `warning: ${NO_FILES}`],
  [['convert', 'ev.ndjson', '-o', 'no-dir/a.ndjson'], 'error: cannot write no-dir/a.ndjson: directory no-dir does not exist'],
  // generate
  [['generate', '--out', 'g.ndjson', '--bogus'], "error: unknown option '--bogus'"],
  [['generate', '--out', 'g.ndjson', '--events', 'abc'], "error: option '--events <n>' argument 'abc' is invalid. expected an integer >= 0"],
  [['generate'], "error: required option '--out <file>' not specified"],
  [['generate', '--out', 'g.ndjson', '--start', 'yesterday'], "error: option '--start <time>' argument 'yesterday' is invalid. expected an ISO 8601 time such as 2025-03-10T08:00:00Z"],
  [['generate', '--out', 'no-dir/g.ndjson'], 'error: cannot write no-dir/g.ndjson: directory no-dir does not exist'],
  [['generate', '--out', '.'], 'error: cannot write .: is a directory'],
  // rules
  [['rules', 'list', '--bogus'], "error: unknown option '--bogus'"],
  [['rules', 'list', '--severity', 'x'], "error: option '--severity <min>' argument 'x' is invalid. expected low, medium, high or critical"],
  [['rules', 'list', '--rules', 'nope'], 'error: cannot read rules nope: no such file or directory'],
  [['rules', 'show'], "error: missing required argument 'rule'"],
  [['rules', 'show', 'nope'], 'error: no rule with rule_id or name "nope" among 1 loaded rule(s)'],
  [['rules', 'show', 'b6'], 'error: "b6" is too short for a rule_id prefix: give at least 4 characters (1 rule_id(s) start with it)'],
  [['rules', 'update', 'no-such-dir'], 'error: cannot read no-such-dir: no such file or directory'],
  [['rules', 'update', '--sha256', 'xyz'], 'error: --sha256 expects 64 hexadecimal digits'],
  [['rules', 'remove', '--bogus'], "error: unknown option '--bogus'"],
  // test
  [['test', '--bogus'], "error: unknown option '--bogus'"],
  [['test'], "error: missing required argument 'rules'"],
  [['test', 'nope.toml'], 'error: cannot read nope.toml: no such file or directory'],
  [['test', '../eqlite/rules', '--case', 'zzz*'], 'error: no test case matches --case "zzz*" (12 case(s) found)'],
  // explain
  [['explain', '--rule', SEED, 'ev.ndjson', '--bogus'], "error: unknown option '--bogus'"],
  [['explain', '--rule', SEED, 'ev.ndjson', '--examples', 'x'], "error: option '--examples <n>' argument 'x' is invalid. expected a positive integer"],
  [['explain', 'ev.ndjson'], "error: required option '--rule <rule>' not specified"],
  [['explain', '--rule', SEED], "error: missing required argument 'files'"],
  [['explain', '--rule', SEED, 'nope.ndjson'], 'error: cannot read nope.ndjson: no such file or directory'],
  [['explain', '--rule', SEED, 'logs'], `error: ${NO_FILES}`],
  [['explain', '--rule', SEED, 'ev.ndjson', '--rules', 'nope'], 'error: cannot read rules nope: no such file or directory'],
  [['explain', '--rule', SEED, 'ev.ndjson', '--value-list', 'nope.txt'], 'error: cannot read value list nope.txt: no such file or directory'],
  [['explain', '--rule', 'nope', 'ev.ndjson'], 'error: no rule with rule_id or name "nope" among 1 loaded rule(s)'],
  // serve (each fails before it listens)
  [['serve', '--bogus'], "error: unknown option '--bogus'"],
  [['serve', '--listen', 'abc'], 'error: --listen: invalid address "abc": expected HOST:PORT such as 127.0.0.1:9200'],
  [['serve', '--config', 'nope.toml'], 'error: cannot read config file nope.toml: no such file'],
  [['serve', '--data', 'd', '--listen', '127.0.0.1:0', '--rules', 'nope'], 'error: cannot read rules nope: no such file or directory'],
  [['serve', '--data', 'd', '--listen', '127.0.0.1:0', '--value-list', 'nope.txt'], 'error: cannot read value list nope.txt: no such file or directory'],
  [['serve', 'keys', 'create', '--role', 'x', '--data', 'd'], 'error: option \'--role <role>\' argument \'x\' is invalid. unknown role "x": expected ingest, read or admin'],
  [['serve', 'keys', 'revoke'], "error: missing required argument 'id-or-name'"],
  // ui
  [['ui', '--bogus', 'a.db'], "error: unknown option '--bogus'"],
  [['ui'], "error: missing required argument 'alerts.db'"],
  [['ui', 'nope.db'], 'error: nope.db: no such file (write one with eqlite hunt --db nope.db …)'],
  [['ui', 'nope.db', '--listen', 'abc'], 'error: --listen: invalid address "abc": expected HOST:PORT such as 127.0.0.1:9200'],
];

// Each case is a separate short process: run a few at a time.
describe.concurrent('every usage and input error of every command exits 2 with one message, without the help text', () => {
  it.each(CASES)('eqlite %j', async (args, message) => {
    const r = await runCommand(process.execPath, [main, ...args], { cwd });
    const lines = r.stderr.trim().split('\n');
    expect({ code: r.code, first: lines[0] }).toEqual({ code: 2, first: message });
    // Commander's errors add one pointer to --help; the others are one line. The query parse
    // error shows the query and a caret under it (4 lines); convert adds its summary line.
    const allowed = message.startsWith('query:') ? 4 : 2;
    expect(lines.length).toBeLessThanOrEqual(allowed);
    if (lines.length === 2 && message.startsWith('error: ') && lines[1]!.startsWith('(')) expect(lines[1]).toBe(HELP_POINTER);
    expect(r.stderr).not.toMatch(/Usage:|Options:|^\s+at .*:\d+/m);
    // Nothing was written where a typo pointed, and no service started.
    expect(r.stdout).toBe('');
  });
});
