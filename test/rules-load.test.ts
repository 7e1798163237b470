import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRulesDir, loadRules, summarizeSkipped } from '../src/rules/load.js';
import { queryPosition } from '../src/rules/position.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = path.resolve(here, '..', '..', 'shared', 'corpus', 'elastic-rules');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'eqlite-rules-load-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(rel: string, text: string): string {
  const file = path.join(dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const TOML_RULE = `[metadata]
creation_date = "2024/01/02"
integration = ["endpoint"]
maturity = "production"
updated_date = "2024/03/04"

[rule]
author = ["Elastic", "Someone"]
description = "Detects cmd spawned by Office."
from = "now-9m"
index = ["logs-endpoint.events.process-*", "winlogbeat-*"]
language = "eql"
license = "Elastic License v2"
name = "Office Child Cmd"
note = """## Triage
Look at the parent."""
references = ["https://example.com/a"]
risk_score = 73
rule_id = "11111111-2222-3333-4444-555555555555"
severity = "high"
tags = ["OS: Windows", "Tactic: Execution"]
timestamp_override = "event.ingested"
type = "eql"
investigation_fields = { field_names = ["process.name"] }

query = '''
process where event.type == "start" and
  process.parent.name : "winword.exe"
'''

[[rule.threat]]
framework = "MITRE ATT&CK"

[[rule.threat.technique]]
id = "T1059"
name = "Command and Scripting Interpreter"
reference = "https://attack.mitre.org/techniques/T1059/"

[[rule.threat.technique.subtechnique]]
id = "T1059.003"
name = "Windows Command Shell"
reference = "https://attack.mitre.org/techniques/T1059/003/"

[rule.threat.tactic]
id = "TA0002"
name = "Execution"
reference = "https://attack.mitre.org/tactics/TA0002/"

[transform]
[[transform.osquery]]
label = "x"
query = "SELECT 1"
`;

describe('detection-rules TOML', () => {
  it('loads every field with exact values and keeps unknown ones in extra', () => {
    const file = write('toml/office.toml', TOML_RULE);
    const res = loadRules([file]);
    expect(res.skipped).toEqual([]);
    expect(res.rules).toHaveLength(1);
    const r = res.rules[0]!;
    expect(r.rule_id).toBe('11111111-2222-3333-4444-555555555555');
    expect(r.name).toBe('Office Child Cmd');
    expect(r.type).toBe('eql');
    expect(r.language).toBe('eql');
    expect(r.severity).toBe('high');
    expect(r.risk_score).toBe(73);
    expect(r.from).toBe('now-9m');
    expect(r.to).toBe('now');
    expect(r.interval).toBe('5m');
    expect(r.max_signals).toBe(100);
    expect(r.version).toBe(1);
    expect(r.note).toBe('## Triage\nLook at the parent.');
    expect(r.author).toEqual(['Elastic', 'Someone']);
    expect(r.index).toEqual(['logs-endpoint.events.process-*', 'winlogbeat-*']);
    expect(r.tags).toEqual(['OS: Windows', 'Tactic: Execution']);
    expect(r.references).toEqual(['https://example.com/a']);
    expect(r.timestamp_override).toBe('event.ingested');
    expect(r.license).toBe('Elastic License v2');
    expect(r.exceptions_list).toEqual([]);
    expect(r.query).toBe('process where event.type == "start" and\n  process.parent.name : "winword.exe"\n');
    expect(r.threat).toEqual([
      {
        framework: 'MITRE ATT&CK',
        technique: [
          {
            id: 'T1059',
            name: 'Command and Scripting Interpreter',
            reference: 'https://attack.mitre.org/techniques/T1059/',
            subtechnique: [
              { id: 'T1059.003', name: 'Windows Command Shell', reference: 'https://attack.mitre.org/techniques/T1059/003/' },
            ],
          },
        ],
        tactic: { id: 'TA0002', name: 'Execution', reference: 'https://attack.mitre.org/tactics/TA0002/' },
      },
    ]);
    expect(r.extra['investigation_fields']).toEqual({ field_names: ['process.name'] });
    expect(r.extra['metadata']).toEqual({
      creation_date: '2024/01/02', integration: ['endpoint'], maturity: 'production', updated_date: '2024/03/04',
    });
    expect(r.extra['transform']).toEqual({ osquery: [{ label: 'x', query: 'SELECT 1' }] });
    expect(r.origin).toEqual({ file, line: 7, maturity: 'production', query: { line: 27, column: 1, style: 'literal' } });
    expect(r.unsupported).toBeUndefined();
    // "process.parent.name" starts on query line 2, column 3 => file line 28, column 3.
    const off = r.query!.indexOf('process.parent.name');
    expect(queryPosition(r.origin.query, r.query!, off)).toEqual({ line: 28, column: 3 });
  });

  it('applies Kibana defaults for absent schedule fields', () => {
    const file = write('toml/minimal.toml', `[metadata]
maturity = "production"

[rule]
name = "Minimal"
rule_id = "minimal-1"
type = "eql"
severity = "low"
risk_score = 21
description = "d"
query = "process where true"
`);
    const r = loadRules([file]).rules[0]!;
    expect([r.from, r.to, r.interval, r.max_signals, r.version, r.language]).toEqual(['now-6m', 'now', '5m', 100, 1, 'eql']);
    expect([r.tags, r.threat, r.references, r.author, r.exceptions_list]).toEqual([[], [], [], [], []]);
    expect(r.index).toBeUndefined();
    // Single-line basic string: the query starts right after the opening quote.
    expect(r.origin.query).toEqual({ line: 11, column: 10, style: 'basic', raw: 'process where true' });
    expect(queryPosition(r.origin.query, r.query!, 8)).toEqual({ line: 11, column: 18 });
  });

  it('maps offsets through escapes of basic multi-line strings', () => {
    const file = write('toml/basic.toml', `[rule]
name = "Esc"
rule_id = "esc-1"
type = "eql"
severity = "low"
risk_score = 1
query = """
file where file.path : "C:\\\\Windows\\\\*" and
  file.name == "a.exe"
"""
`);
    const r = loadRules([file]).rules[0]!;
    expect(r.query).toBe('file where file.path : "C:\\Windows\\*" and\n  file.name == "a.exe"\n');
    const and = r.query!.indexOf(' and') + 1;
    // Two `\\` escapes on line 8 shift "and" two columns to the right in the file.
    expect(queryPosition(r.origin.query, r.query!, and)).toEqual({ line: 8, column: and + 3 });
    expect(queryPosition(r.origin.query, r.query!, r.query!.indexOf('file.name'))).toEqual({ line: 9, column: 3 });
  });

  it('skips deprecated rules with the reason and counts them', () => {
    const byDir = write('tree/rules/_deprecated/old.toml', TOML_RULE.replace('11111111-2222', 'aaaaaaaa-2222'));
    const byMaturity = write('tree/rules/windows/old2.toml',
      TOML_RULE.replace('maturity = "production"', 'maturity = "deprecated"').replace('11111111-2222', 'bbbbbbbb-2222'));
    const res = loadRules([byDir, byMaturity]);
    expect(res.rules).toEqual([]);
    expect(res.counts.deprecated).toBe(2);
    expect(res.skipped).toEqual([
      { file: byDir, line: 7, reason: 'deprecated rule (rules/_deprecated)', type: 'eql', rule_id: 'aaaaaaaa-2222-3333-4444-555555555555', kind: 'deprecated' },
      { file: byMaturity, line: 7, reason: 'deprecated rule (maturity = "deprecated")', type: 'eql', rule_id: 'bbbbbbbb-2222-3333-4444-555555555555', kind: 'deprecated' },
    ]);
    expect(loadRules([byDir], { includeDeprecated: true }).rules.map((r) => r.origin.maturity)).toEqual(['production']);
    expect(summarizeSkipped(res)).toBe('skipped 2 deprecated');
  });

  it('reports TOML syntax errors with file:line:column and the parser reason', () => {
    const file = write('bad/broken.toml', '[rule]\nname = "x"\nrisk_score = \n');
    const res = loadRules([file]);
    expect(res.rules).toEqual([]);
    expect(res.skipped).toEqual([{ file, line: 3, column: 14, reason: 'TOML syntax error: invalid value', kind: 'invalid' }]);
    expect(res.counts.invalid).toBe(1);
  });

  it('rejects rules Kibana would reject and names the field', () => {
    const file = write('bad/sev.toml', '[rule]\nname = "x"\nrule_id = "x"\ntype = "eql"\nseverity = "urgent"\nrisk_score = 5\nquery = "any where true"\n');
    const nofile = path.join(dir, 'does-not-exist.toml');
    const res = loadRules([file, nofile]);
    expect(res.skipped).toEqual([
      { file, line: 1, reason: 'severity must be low, medium, high or critical, got "urgent"', type: 'eql', rule_id: 'x', kind: 'invalid' },
      { file: nofile, reason: 'cannot read: no such file or directory', kind: 'invalid' },
    ]);
  });

  it('walks directories recursively, ignores other files and reports duplicate rule_ids', () => {
    write('walk/a/one.toml', TOML_RULE.replace('11111111-2222', 'cccccccc-2222'));
    write('walk/b/c/two.toml', TOML_RULE.replace('11111111-2222', 'dddddddd-2222'));
    write('walk/b/dup.toml', TOML_RULE.replace('11111111-2222', 'dddddddd-2222'));
    write('walk/README.md', '# not a rule');
    write('walk/.hidden/x.toml', 'garbage = [');
    const res = loadRules([path.join(dir, 'walk')]);
    expect(res.counts.files).toBe(3);
    expect(res.rules.map((r) => r.rule_id)).toEqual(['cccccccc-2222-3333-4444-555555555555', 'dddddddd-2222-3333-4444-555555555555']);
    expect(res.rules[1]!.origin.file).toBe(path.join(dir, 'walk/b/c/two.toml'));
    expect(res.skipped).toHaveLength(1);
    expect(res.skipped[0]!.reason).toBe(
      `duplicate rule_id dddddddd-2222-3333-4444-555555555555 (first loaded from ${path.join(dir, 'walk/b/c/two.toml')}:7)`);
  });
});

const EXPORT_LINES = [
  {
    id: 'so-1', rule_id: 'eql-rundll', name: 'Rundll32 network', description: 'desc', type: 'eql', language: 'eql',
    index: ['logs-*'], query: 'sequence by process.entity_id [process where process.name == "rundll32.exe"]\n',
    from: 'now-6m', to: 'now', interval: '10m', max_signals: 33, enabled: true, severity: 'critical', risk_score: 99,
    severity_mapping: [], risk_score_mapping: [], tags: ['EQL'], author: ['me'], false_positives: ['backup'],
    note: 'Investigate.', setup: '', references: [], version: 4, revision: 2, immutable: false,
    rule_source: { type: 'internal' },
    threat: [{ framework: 'MITRE ATT&CK', tactic: { id: 'TA0011', name: 'Command and Control', reference: 'https://attack.mitre.org/tactics/TA0011/' }, technique: [] }],
    exceptions_list: [
      { id: 'list-so-1', list_id: 'shared-list', type: 'detection', namespace_type: 'single' },
      { id: 'list-so-9', list_id: 'not-exported', type: 'detection', namespace_type: 'agnostic' },
    ],
    actions: [],
  },
  { id: 'so-2', rule_id: 'kql-1', name: 'KQL', description: 'd', type: 'query', language: 'kuery', query: 'a:b', severity: 'low', risk_score: 21 },
  { id: 'so-3', rule_id: 'esql-1', name: 'ESQL', description: 'd', type: 'esql', language: 'esql', query: 'from x', severity: 'low', risk_score: 21 },
  { id: 'so-4', rule_id: 'esql-2', name: 'ESQL 2', description: 'd', type: 'esql', language: 'esql', query: 'from y', severity: 'low', risk_score: 21 },
  {
    _version: 'WzE', id: 'list-so-1', list_id: 'shared-list', name: 'Shared', description: 'shared exceptions',
    namespace_type: 'single', os_types: [], tags: [], type: 'detection', immutable: false, version: 1,
  },
  {
    id: 'item-so-1', item_id: 'item-1', list_id: 'shared-list', name: 'trusted host', description: 'd', type: 'simple',
    namespace_type: 'single', os_types: [], tags: [], comments: [],
    entries: [{ type: 'match', field: 'host.name', value: 'build-01', operator: 'included' }],
  },
  {
    id: 'item-so-2', item_id: 'item-2', list_id: 'shared-list', name: 'expiring', type: 'simple', namespace_type: 'single',
    expire_time: '2024-01-01T00:00:00.000Z',
    entries: [
      { type: 'nested', field: 'process.Ext.code_signature', entries: [
        { type: 'match', field: 'subject_name', value: 'Acme', operator: 'included' },
        { type: 'exists', field: 'trusted', operator: 'included' },
      ] },
    ],
  },
  { id: 'conn-1', type: 'action', attributes: { actionTypeId: '.index', name: 'c' }, references: [] },
  { exported_count: 7, exported_rules_count: 4, missing_rules: [], exported_exception_list_count: 1, exported_exception_list_item_count: 2 },
];

describe('Kibana export NDJSON and JSON', () => {
  it('loads rules, groups exception items into lists and recognises the summary line', () => {
    const file = write('export/rules_export.ndjson', EXPORT_LINES.map((o) => JSON.stringify(o)).join('\n') + '\n');
    const res = loadRules([file]);
    expect(res.skipped).toEqual([]);
    expect(res.counts).toEqual({
      files: 1, rules: 4, eql: 1, byType: { eql: 1, query: 1, esql: 2 }, deprecated: 0, invalid: 0,
      exceptionLists: 1, exceptionItems: 2, connectors: 1, exportSummaries: 1,
    });
    const eql = res.rules[0]!;
    expect([eql.interval, eql.max_signals, eql.version, eql.severity, eql.risk_score, eql.enabled, eql.note])
      .toEqual(['10m', 33, 4, 'critical', 99, true, 'Investigate.']);
    expect(eql.threat[0]!.tactic.id).toBe('TA0011');
    expect(eql.extra['false_positives']).toEqual(['backup']);
    expect(eql.extra['revision']).toBe(2);
    expect(eql.extra['id']).toBe('so-1');
    expect(eql.exceptions_list.map((r) => r.list_id)).toEqual(['shared-list', 'not-exported']);
    expect(eql.origin.line).toBe(1);
    // The query is located inside the JSON line; "[" sits after the escaped text before it.
    const loc = eql.origin.query!;
    expect(loc.line).toBe(1);
    const raw = JSON.stringify(EXPORT_LINES[0]);
    expect(loc.column).toBe(raw.indexOf('"sequence by') + 2);
    expect(queryPosition(loc, eql.query!, eql.query!.indexOf('"rundll32.exe"'))).toEqual({
      line: 1, column: raw.indexOf('\\"rundll32.exe\\"') + 1,
    });
    expect(res.rules.slice(1).map((r) => r.unsupported)).toEqual(['query rule (not EQL)', 'esql rule (not EQL)', 'esql rule (not EQL)']);
    expect(summarizeSkipped(res)).toBe('skipped 2 esql, 1 query rules (not EQL)');

    const [list] = res.exceptionLists;
    expect(list!.list_id).toBe('shared-list');
    expect(list!.id).toBe('list-so-1');
    expect(list!.name).toBe('Shared');
    expect(list!.type).toBe('detection');
    expect(list!.origin).toEqual({ file, line: 5 });
    expect(list!.items.map((i) => i.item_id)).toEqual(['item-1', 'item-2']);
    expect(list!.items[0]!.entries).toEqual([{ type: 'match', field: 'host.name', value: 'build-01', operator: 'included' }]);
    expect(list!.items[1]!.expire_time).toBe('2024-01-01T00:00:00.000Z');
    expect(list!.items[1]!.entries[0]).toEqual({
      type: 'nested', field: 'process.Ext.code_signature', entries: [
        { type: 'match', field: 'subject_name', value: 'Acme', operator: 'included' },
        { type: 'exists', field: 'trusted', operator: 'included' },
      ],
    });
  });

  it('reports bad lines and invalid exception entries with their line, keeping the rest', () => {
    const file = write('export/bad.ndjson', [
      JSON.stringify(EXPORT_LINES[1]),
      '{"rule_id": "x", "name": ',
      JSON.stringify({ item_id: 'i', list_id: 'l', entries: [{ type: 'wildcard', field: 'a', operator: 'sometimes', value: 'x' }] }),
      JSON.stringify({ item_id: 'j', list_id: 'l', entries: [{ type: 'nested', field: 'a', entries: [{ type: 'wildcard', field: 'b', operator: 'included', value: 'x*' }] }] }),
      JSON.stringify({ hello: 'world' }),
    ].join('\n'));
    const res = loadRules([file]);
    expect(res.rules.map((r) => r.rule_id)).toEqual(['kql-1']);
    expect(res.skipped.map((s) => [s.line, s.reason])).toEqual([
      [2, expect.stringMatching(/^JSON syntax error: /)],
      [3, 'exception item i: entry 1: operator must be "included" or "excluded"'],
      [4, 'exception item j: entry 1 (nested a): entry 1: wildcard entries are not allowed inside nested entries'],
      [5, 'unrecognised object: neither a rule, an exception list/item nor an export summary'],
    ]);
  });

  it('loads a JSON array of rules and a single JSON rule object', () => {
    const arr = write('json/many.json', JSON.stringify([EXPORT_LINES[1], EXPORT_LINES[2]], null, 2));
    const one = write('json/one.json', JSON.stringify({ ...EXPORT_LINES[0], exceptions_list: [] }, null, 2));
    const res = loadRules([arr, one]);
    expect(res.rules.map((r) => [r.rule_id, r.origin.line])).toEqual([['kql-1', 4], ['esql-1', 15], ['eql-rundll', 3]]);
    const eql = res.rules[2]!;
    // Pretty-printed: the query string is found on its own line of the file.
    expect(eql.origin.query!.line).toBe(11);
  });
});

describe('bundled rules', () => {
  it('ships the seed rule in rules/ and defaultRulesDir() finds it', () => {
    const res = loadRules([defaultRulesDir()]);
    expect(res.skipped).toEqual([]);
    expect(res.rules.map((r) => r.rule_id)).toEqual(['b64b183e-1a76-422d-9179-7b389513e74d']);
    expect(res.rules[0]!.origin.file).toBe(path.join(defaultRulesDir(), 'windows', 'initial_access_scripts_process_started_via_wmi.toml'));
  });
});

describe.skipIf(!existsSync(corpus))('elastic/detection-rules corpus', () => {
  it('seed rule: severity, risk, schedule, MITRE and note', () => {
    const res = loadRules([path.join(corpus, 'seed-rule.toml')]);
    expect(res.skipped).toEqual([]);
    const r = res.rules[0]!;
    expect(r.rule_id).toBe('b64b183e-1a76-422d-9179-7b389513e74d');
    expect(r.name).toBe('Windows Script Interpreter Executing Process via WMI');
    expect(r.severity).toBe('medium');
    expect(r.risk_score).toBe(47);
    expect(r.max_signals).toBe(100);
    expect(r.interval).toBe('5m');
    expect(r.from).toBe('now-9m');
    expect(r.to).toBe('now');
    expect(r.timestamp_override).toBeUndefined();
    expect(r.origin.maturity).toBe('production');
    expect(r.tags).toHaveLength(9);
    expect(r.threat.map((t) => t.tactic.id)).toEqual(['TA0001', 'TA0002']);
    const ids = r.threat.flatMap((t) => (t.technique ?? []).flatMap((x) => [x.id, ...(x.subtechnique ?? []).map((s) => s.id)]));
    expect(ids).toEqual(['T1566', 'T1566.001', 'T1047', 'T1059', 'T1059.005', 'T1059.007']);
    expect(r.note!.startsWith('## Triage and analysis')).toBe(true);
    expect(r.setup!.startsWith('## Setup')).toBe(true);
    expect(r.query!.startsWith('sequence by host.id with maxspan = 5s\n')).toBe(true);
    expect(r.origin.query).toEqual({ line: 75, column: 1, style: 'literal' });
  });

  it('toml/: every file parses; counts by type match the corpus README', () => {
    const res = loadRules([path.join(corpus, 'toml')]);
    console.log(`toml/: ${res.counts.files} files, ${res.counts.rules} rules, ${res.counts.eql} EQL; ${summarizeSkipped(res)}`);
    expect(res.counts.files).toBe(2192);
    expect(res.counts.invalid).toBe(0);
    expect(res.counts.byType).toEqual({
      eql: 1024, query: 454, new_terms: 241, esql: 209, machine_learning: 106, threshold: 28, threat_match: 6,
    });
    expect(res.counts.deprecated).toBe(124);
    expect(res.skipped.filter((s) => s.type === 'eql')).toHaveLength(57);
    expect(summarizeSkipped(res)).toBe(
      'skipped 454 query, 241 new_terms, 209 esql, 106 machine_learning, 28 threshold, 6 threat_match rules (not EQL); 124 deprecated');
    expect(res.rules.filter((r) => r.type === 'eql' && !r.origin.query)).toEqual([]);
  });

  it('eql-rules.ndjson: 1,024 active EQL rules, 57 deprecated', () => {
    const res = loadRules([path.join(corpus, 'eql-rules.ndjson')]);
    expect(res.counts.eql).toBe(1024);
    expect(res.counts.deprecated).toBe(57);
    expect(res.counts.invalid).toBe(0);
    const byFrom = new Map<string, number>();
    for (const r of res.rules) byFrom.set(r.from, (byFrom.get(r.from) ?? 0) + 1);
    // Every rule has a window start; absent `from` became Kibana's now-6m.
    expect([...byFrom.values()].reduce((a, b) => a + b, 0)).toBe(1024);
    expect(res.rules.every((r) => r.origin.query !== undefined)).toBe(true);
  });
});
