import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runValidate } from '../src/cli/validate.js';
import { loadRules } from '../src/rules/load.js';
import { fieldStatus, formatFinding, formatSummary, suggestField, validateRules } from '../src/rules/validate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = path.resolve(here, '..', '..', 'shared', 'corpus', 'elastic-rules');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'eqlite-rules-validate-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function ruleFile(name: string, query: string, extra = ''): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `[rule]
name = "${name}"
rule_id = "${name}"
type = "eql"
severity = "low"
risk_score = 21
${extra}query = '''
${query}
'''
`);
  return file;
}

describe('field knowledge', () => {
  it('ECS fields, multi-fields, containers and the non-ECS families', () => {
    expect(fieldStatus('process.name')).toEqual({ known: true, source: 'ecs', type: 'keyword' });
    expect(fieldStatus('process.name.text')).toEqual({ known: true, source: 'ecs', type: 'match_only_text' });
    expect(fieldStatus('destination.port')).toEqual({ known: true, source: 'ecs', type: 'long' });
    expect(fieldStatus('labels.team')).toEqual({ known: true, source: 'ecs' });
    for (const f of ['process.Ext.token.integrity_level_name', 'file.Ext.header_bytes', 'dll.Ext.relative_file_creation_time',
      'process.parent.Ext.real.pid', 'winlog.event_data.TargetUserName', 'powershell.file.script_block_text',
      'aws.cloudtrail.user_identity.arn', 'okta.event_type', 'Effective_process.executable', 'kibana.alert.rule.rule_id']) {
      expect(fieldStatus(f), f).toEqual({ known: true, source: 'family' });
    }
    expect(fieldStatus('proces.name')).toEqual({ known: false });
    expect(fieldStatus('Persistence.name')).toEqual({ known: false });
    // "Ext" must be a whole path segment.
    expect(fieldStatus('process.Extra.x')).toEqual({ known: false });
    expect(suggestField('proces.name')).toBe('process.name');
    expect(suggestField('completely.unrelated.thing')).toBeUndefined();
  });
});

describe('validateRules', () => {
  it('reports a parse error at the file line:column of the query text, with a caret', () => {
    const file = ruleFile('syntax.toml', 'process where process.name == "a" and\n  process.pid wher 1');
    const report = validateRules(loadRules([file]));
    expect(report.checked).toBe(1);
    expect(report.parsed).toBe(0);
    expect(report.errors).toBe(1);
    const [f] = report.findings;
    expect(f!.kind).toBe('syntax');
    expect([f!.line, f!.column]).toEqual([9, 15]);
    expect(formatFinding(f!)).toBe(`${file}:9:15: error: ${f!.message} [syntax]
  in rule "syntax.toml" (syntax.toml)
    process.pid wher 1
                ^^^^`);
  });

  it('unknown fields are warnings with a suggestion; ?optional fields are exempt; strict makes them errors', () => {
    const file = ruleFile('fields.toml',
      'process where proces.name == "a" and ?custom.thing == 1 and process.Ext.api.name == "x" and proces.name != "b"');
    const report = validateRules(loadRules([file]));
    expect(report.errors).toBe(0);
    expect(report.findings.map((f) => [f.severity, f.kind, f.field, f.line, f.column, f.hint])).toEqual([
      ['warning', 'unknown-field', 'proces.name', 8, 15, 'did you mean process.name?'],
    ]);
    expect(report.warningsByKind).toEqual({ 'unknown-field': 1 });
    const strict = validateRules(loadRules([file]), { strict: true });
    expect(strict.errors).toBe(1);
    expect(strict.errorsByKind).toEqual({ 'unknown-field': 1 });
  });

  it('refuses argument types Elasticsearch refuses, against ECS types; warns on odd comparisons ES accepts', () => {
    const refused: [string, number, string][] = [
      ['network where destination.port : "44*"', 15, 'the left operand of `:` must be a string, found `destination.port` (long)'],
      ['process where process.name + 1 > 2', 15, 'the first operand of `+` must be a number, found `process.name` (keyword)'],
      ['process where process.name in ("a", 3)', 37, 'value 2 of `in` must be of the type of `process.name` (keyword), found 3 (integer)'],
      ['process where startsWith(process.pid, "1")', 26, 'the first argument of `startsWith` must be a string, found `process.pid` (long)'],
      ['process where cidrMatch(host.name, "10.0.0.0/8")', 25, 'the first argument of `cidrMatch` must be an ip, found `host.name` (keyword)'],
    ];
    refused.forEach(([query, column, message], i) => {
      const report = validateRules(loadRules([ruleFile(`refused-${i}.toml`, query)]));
      expect(report.findings.map((f) => [f.severity, f.kind, f.line, f.column, f.message])).toEqual([['error', 'semantic', 8, column, message]]);
      expect(report.parsed).toBe(0);
    });
    const file = ruleFile('types.toml', [
      'network where source.port == "80" and',
      '  process.name : "ok*" and destination.port in (80, 443) and cidrMatch(source.ip, "10.0.0.0/8")',
    ].join('\n'));
    const report = validateRules(loadRules([file]));
    expect(report.findings.map((f) => [f.severity, f.kind, f.line, f.column, f.message])).toEqual([
      ['warning', 'type-mismatch', 8, 30, 'source.port is long but is compared (==) with a string'],
    ]);
  });

  it('reports every type problem of a query, each at its own position, as Elasticsearch lists them all', () => {
    const file = ruleFile('two-problems.toml', [
      'process where startsWith(process.pid, "1") and',
      '  length(process.parent.pid) > 0 and not endsWith(process.args_count, "x")',
    ].join('\n'));
    const report = validateRules(loadRules([file]));
    expect(report.findings.map((f) => [f.severity, f.kind, f.line, f.column, f.message])).toEqual([
      ['error', 'semantic', 8, 26, 'the first argument of `startsWith` must be a string, found `process.pid` (long)'],
      ['error', 'semantic', 9, 10, 'the first argument of `length` must be a string, found `process.parent.pid` (long)'],
      ['error', 'semantic', 9, 51, 'the first argument of `endsWith` must be a string, found `process.args_count` (long)'],
    ]);
    expect(report.parsed).toBe(0);
  });

  it('reports unreadable rule files and missing exception lists; counts skipped types', () => {
    const bad = path.join(dir, 'bad.toml');
    writeFileSync(bad, '[rule\nname = 1\n');
    const withList = path.join(dir, 'list.toml');
    writeFileSync(withList, [
      '[rule]', 'name = "l"', 'rule_id = "l"', 'type = "eql"', 'severity = "low"', 'risk_score = 1',
      'query = "process where true"', '', '[[rule.exceptions_list]]', 'id = "endpoint_list"', 'list_id = "endpoint_list"',
      'namespace_type = "agnostic"', 'type = "endpoint"', '',
    ].join('\n'));
    const kql = path.join(dir, 'kql.ndjson');
    writeFileSync(kql, JSON.stringify({ rule_id: 'k', name: 'k', type: 'query', query: 'a:b', severity: 'low', risk_score: 1 }) + '\n');
    const report = validateRules(loadRules([bad, withList, kql]));
    expect(report.findings.map((f) => [f.severity, f.kind, f.line])).toEqual([
      ['error', 'invalid-rule', 1],
      ['warning', 'missing-exception-list', 1],
    ]);
    expect(report.findings[1]!.message).toBe('exception list endpoint_list (endpoint, agnostic) is referenced but was not loaded');
    expect(report.skippedByType).toEqual({ query: 1 });
    expect(formatSummary(report)).toBe([
      'checked 1 EQL rule(s): 1 parsed, 1 error(s), 1 warning(s)',
      'errors: 1 invalid-rule',
      'warnings: 1 missing-exception-list',
      'skipped 1 query rules (not EQL)',
    ].join('\n'));
  });
});

describe('eqlite validate', () => {
  it('exit 0 without errors, 1 with errors; --strict; json output', () => {
    const clean = ruleFile('cli/clean.toml', 'process where process.name == "a"');
    const typo = ruleFile('cli2/typo.toml', 'process where proces.name == "a"');
    let out = '';
    const write = (s: string) => {
      out += s;
    };
    expect(runValidate([clean], { format: 'text' }, write)).toBe(0);
    expect(out).toBe('checked 1 EQL rule(s): 1 parsed, 0 error(s), 0 warning(s)\n');
    out = '';
    expect(runValidate([typo], { format: 'text' }, write)).toBe(0);
    expect(out).toContain(`${typo}:8:15: warning: unknown field proces.name`);
    out = '';
    expect(runValidate([typo], { format: 'json', strict: true }, write)).toBe(1);
    const json = JSON.parse(out) as Record<string, unknown>;
    expect([json['ok'], json['checked'], json['errors'], json['errors_by_kind']]).toEqual([false, 1, 1, { 'unknown-field': 1 }]);
  });

  it('validates the bundled rules by default', () => {
    let out = '';
    expect(runValidate([], { format: 'text', strict: true }, (s) => (out += s))).toBe(0);
    expect(out).toBe('checked 1 EQL rule(s): 1 parsed, 0 error(s), 0 warning(s)\n');
  });
});

describe.skipIf(!existsSync(corpus))('corpus validation', () => {
  it('every active EQL rule of toml/ parses; warnings by kind', () => {
    const report = validateRules(loadRules([path.join(corpus, 'toml')]));
    console.log(formatSummary(report));
    for (const f of report.findings) console.log(formatFinding(f));
    expect(report.checked).toBe(1024);
    expect(report.parsed).toBe(1024);
    expect(report.errors).toBe(0);
    // Two genuine findings in the corpus: ProblemChild's top-level blocklist_label enrichment and a
    // `Persistence.name` that no data source writes.
    expect(report.warningsByKind).toEqual({ 'unknown-field': 3 });
    expect(report.findings.map((f) => f.field).sort()).toEqual(['Persistence.name', 'blocklist_label', 'blocklist_label']);
    expect(report.skippedByType).toEqual({ query: 454, new_terms: 241, esql: 209, machine_learning: 106, threshold: 28, threat_match: 6 });
  });

  it('every active EQL rule of eql-rules.ndjson parses, positions point into the NDJSON line', () => {
    const report = validateRules(loadRules([path.join(corpus, 'eql-rules.ndjson')]));
    console.log(formatSummary(report));
    expect([report.checked, report.parsed, report.errors]).toEqual([1024, 1024, 0]);
    expect(report.warningsByKind).toEqual({ 'unknown-field': 3 });
    for (const f of report.findings) {
      expect(f.line).toBeGreaterThan(57);
      expect(f.column).toBeGreaterThan(1);
    }
  });
});
