// Rule selection (src/rules/select.ts) and `eqlite rules list|show`.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexCovered, selectRules, describeSelection, type RuleSelection } from '../src/rules/select.js';
import { buildRule, defaultRulesDir, loadRules } from '../src/rules/load.js';
import type { Rule } from '../src/rules/types.js';
import { findRule, runRulesList, runRulesShow } from '../src/cli/rules.js';
import { runHunt } from '../src/cli/hunt.js';
import { runValidate } from '../src/cli/validate.js';
import { resolveConfig } from '../src/cli/serve.js';
import { startService } from './serve-helpers.js';

function rule(id: string, name: string, extra: Record<string, unknown> = {}): Rule {
  const r = buildRule(
    { rule_id: id, name, type: 'eql', language: 'eql', query: 'process where true', severity: 'low', risk_score: 21, ...extra },
    { file: `${id}.toml` },
  );
  if (typeof r === 'string') throw new Error(r);
  return r;
}

const threat = (tactic: [string, string], techniques: [string, string, [string, string][]?][]) => ({
  framework: 'MITRE ATT&CK',
  tactic: { id: tactic[0], name: tactic[1], reference: '' },
  technique: techniques.map(([id, name, subs]) => ({ id, name, reference: '', subtechnique: (subs ?? []).map(([sid, sname]) => ({ id: sid, name: sname, reference: '' })) })),
});

const RULES = [
  rule('r1', 'WMI Child Process', {
    severity: 'medium',
    tags: ['OS: Windows', 'Data Source: Sysmon', 'Tactic: Execution'],
    index: ['winlogbeat-*', 'logs-windows.sysmon_operational-*'],
    threat: [threat(['TA0002', 'Execution'], [['T1047', 'Windows Management Instrumentation'], ['T1059', 'Command and Scripting Interpreter', [['T1059.005', 'Visual Basic']]]])],
  }),
  rule('r2', 'Linux Reverse Shell', {
    severity: 'high',
    tags: ['OS: Linux'],
    index: ['logs-endpoint.events.*'],
    threat: [threat(['TA0011', 'Command and Control'], [['T1071', 'Application Layer Protocol']])],
  }),
  rule('r3', 'Credential Dumping via comsvcs', {
    severity: 'critical',
    tags: ['OS: Windows', 'Data Source: Elastic Defend'],
    index: ['logs-endpoint.events.process-*'],
    threat: [threat(['TA0006', 'Credential Access'], [['T1003', 'OS Credential Dumping', [['T1003.001', 'LSASS Memory']]]])],
  }),
  rule('r4', 'No index, no mapping'),
];

const ids = (sel: RuleSelection) => selectRules(RULES, sel).selected.map((r) => r.rule_id);

describe('rule selection', () => {
  it('selects by id, name glob and tag glob, ignoring case', () => {
    expect(ids({ ids: ['R1', 'r3'] })).toEqual(['r1', 'r3']);
    expect(ids({ names: ['*reverse*'] })).toEqual(['r2']);
    expect(ids({ names: ['wmi child process'] })).toEqual(['r1']);
    expect(ids({ names: ['WMI'] })).toEqual([]);
    expect(ids({ tags: ['os: windows'] })).toEqual(['r1', 'r3']);
    expect(ids({ tags: ['Data Source: *'] })).toEqual(['r1', 'r3']);
  });

  it('selects by MITRE tactic and technique, id or name, sub-technique aware', () => {
    expect(ids({ tactics: ['TA0002'] })).toEqual(['r1']);
    expect(ids({ tactics: ['credential access', 'Command and Control'] })).toEqual(['r2', 'r3']);
    expect(ids({ techniques: ['T1059'] })).toEqual(['r1']);
    expect(ids({ techniques: ['T1059.005'] })).toEqual(['r1']);
    expect(ids({ techniques: ['T1059.001'] })).toEqual([]);
    expect(ids({ techniques: ['T1003'] })).toEqual(['r3']);
    expect(ids({ techniques: ['lsass memory'] })).toEqual(['r3']);
    expect(ids({ techniques: ['T10'] })).toEqual([]);
  });

  it('selects by minimum severity and data source', () => {
    expect(ids({ minSeverity: 'high' })).toEqual(['r2', 'r3']);
    expect(ids({ minSeverity: 'low' })).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(ids({ dataSources: ['logs-windows.sysmon_operational-default'] })).toEqual(['r1', 'r4']);
    expect(ids({ dataSources: ['logs-endpoint.events.process-default'] })).toEqual(['r2', 'r3', 'r4']);
    expect(ids({ dataSources: ['winlogbeat-*'] })).toEqual(['r1', 'r4']);
    expect(ids({ dataSources: ['logs-endpoint.*'] })).toEqual(['r2', 'r3', 'r4']);
    expect(indexCovered(['logs-*', '-logs-test-*'], 'logs-test-1')).toBe(false);
    expect(indexCovered(undefined, 'auditbeat-8.0.0')).toBe(true);
  });

  it('ANDs kinds, ORs values, applies exclusions last, and reports unknown ids', () => {
    expect(ids({ tags: ['OS: Windows'], minSeverity: 'critical' })).toEqual(['r3']);
    const res = selectRules(RULES, { tags: ['OS: *'], exclude: ['r2', '*comsvcs*', 'nope'], ids: ['r1', 'r2', 'r3', 'zz'] });
    expect(res.selected.map((r) => r.rule_id)).toEqual(['r1']);
    expect(res.excluded).toBe(2);
    expect(res.filtered).toBe(1);
    expect(res.unmatched).toEqual(['zz', 'nope']);
    expect(describeSelection({ tags: ['OS: Windows'], minSeverity: 'high', exclude: ['x'] })).toBe('tag "OS: Windows"; severity >= high; excluding "x"');
  });

  const shared = path.resolve(__dirname, '../../shared/corpus/elastic-rules/toml');
  it.skipIf(!existsSync(shared))('selects from the Elastic rule set: the seed rule by its techniques', () => {
    const loaded = loadRules([shared]);
    const eql = loaded.rules.filter((r) => !r.unsupported);
    const seed = 'b64b183e-1a76-422d-9179-7b389513e74d';
    const has = (sel: RuleSelection) => selectRules(eql, sel).selected.some((r) => r.rule_id === seed);
    expect(has({ techniques: ['T1047'] })).toBe(true);
    expect(has({ techniques: ['T1566'] })).toBe(true);
    expect(has({ techniques: ['T1566.002'] })).toBe(false);
    expect(has({ tactics: ['Initial Access'], tags: ['Data Source: Sysmon'], dataSources: ['logs-windows.sysmon_operational-default'] })).toBe(true);
    expect(has({ minSeverity: 'high' })).toBe(false);
    // Every selected rule really has the technique, and no rule with it was left out.
    const t1059 = selectRules(eql, { techniques: ['T1059'] }).selected;
    const expected = eql.filter((r) => JSON.stringify(r.threat).match(/"id":"T1059(\.\d+)?"/));
    expect(t1059.map((r) => r.rule_id).sort()).toEqual(expected.map((r) => r.rule_id).sort());
    expect(t1059.length).toBeGreaterThan(100);
  });
});

function io() {
  let out = '';
  let err = '';
  return { io: { out: (s: string) => (out += s), err: (s: string) => (err += s) }, out: () => out, err: () => err };
}

describe('eqlite rules list / show', () => {
  it('lists the bundled rule as a table and as JSON, with filters', () => {
    const c = io();
    expect(runRulesList({}, c.io)).toBe(0);
    expect(c.out()).toBe(
      'rule_id                               severity  risk  query     tactics                    name\n' +
        '------------------------------------  --------  ----  --------  -------------------------  ----------------------------------------------------\n' +
        'b64b183e-1a76-422d-9179-7b389513e74d  medium    47    sequence  Initial Access, Execution  Windows Script Interpreter Executing Process via WMI\n',
    );
    expect(c.err()).toBe("note: only the bundled seed rule is used; `eqlite rules update` installs Elastic's EQL rule set (about 1,000 rules)\n1 rule(s)\n");
    const j = io();
    expect(runRulesList({ json: true, technique: ['T1059.005'] }, j.io)).toBe(0);
    const list = JSON.parse(j.out());
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      rule_id: 'b64b183e-1a76-422d-9179-7b389513e74d',
      query_type: 'sequence',
      severity: 'medium',
      risk_score: 47,
      tactics: [{ id: 'TA0001', name: 'Initial Access' }, { id: 'TA0002', name: 'Execution' }],
      building_block: false,
    });
    expect(list[0].techniques.map((t: { id: string }) => t.id)).toEqual(['T1566', 'T1566.001', 'T1047', 'T1059', 'T1059.005', 'T1059.007']);
    expect(() => runRulesList({ severity: 'high' }, io().io)).toThrow('no rule matches the selection (severity >= high) among 1 loaded rule(s)');
  });

  it('shows one rule in full, found by id, prefix or name', () => {
    const c = io();
    expect(runRulesShow('b64b183e', {}, c.io)).toBe(0);
    const text = c.out();
    const file = 'rules/windows/initial_access_scripts_process_started_via_wmi.toml';
    expect(text.split('\n').slice(0, 13)).toEqual([
      'Windows Script Interpreter Executing Process via WMI',
      '  rule_id      b64b183e-1a76-422d-9179-7b389513e74d',
      `  file         ${file}:7`,
      '  type         eql (sequence)',
      '  severity     medium (risk score 47)',
      '  schedule     every 5m, searching now-9m to now, at most 100 alerts a run',
      '  index        winlogbeat-*, logs-endpoint.events.process-*, logs-endpoint.events.library-*, logs-windows.sysmon_operational-*, endgame-*',
      '  maturity     production',
      '  tags         Domain: Endpoint, OS: Windows, Use Case: Threat Detection, Tactic: Initial Access, Tactic: Execution, Data Source: Elastic Endgame, Data Source: Elastic Defend, Data Source: Sysmon, Resources: Investigation Guide',
      '  MITRE ATT&CK TA0001 Initial Access: T1566 Phishing (T1566.001 Spearphishing Attachment)',
      '               TA0002 Execution: T1047 Windows Management Instrumentation; T1059 Command and Scripting Interpreter (T1059.005 Visual Basic, T1059.007 JavaScript)',
      `  tests        ${file.replace(/\.toml$/, '.test')}`,
      '',
    ]);
    expect(text).toContain('\nquery\n  sequence by host.id with maxspan = 5s\n      [any where host.os.type == "windows" and\n');
    expect(text).toContain('\ninvestigation guide\n  ## Triage and analysis\n');
    const rules = loadRules([defaultRulesDir()]).rules;
    expect(findRule(rules, 'windows script interpreter executing process via wmi').rule_id).toBe('b64b183e-1a76-422d-9179-7b389513e74d');
    expect(() => findRule(rules, 'nope')).toThrow('no rule with rule_id or name "nope" among 1 loaded rule(s)');
    const j = io();
    runRulesShow('b64b183e-1a76-422d-9179-7b389513e74d', { json: true }, j.io);
    const o = JSON.parse(j.out());
    expect(o.query).toBe(rules[0]!.query);
    expect(o.note).toBe(rules[0]!.note);
    expect(o.from).toBe('now-9m');
  });

  it('hunt and validate take the same selection options', async () => {
    let err = '';
    const hio = { stdout: { write: () => true } as never, stderr: { write: (s: string) => ((err += s), true) } as never };
    expect(await runHunt(['examples/'], { format: 'none', progress: false, tactic: ['Persistence'] }, hio)).toBe(2);
    expect(err).toBe('error: no rule matches the selection (tactic "Persistence") among 1 loaded rule(s)\n');
    err = '';
    expect(await runHunt(['examples/'], { format: 'none', progress: false, tactic: ['execution'], ruleId: ['B64B183E-1A76-422D-9179-7B389513E74D'] }, hio)).toBe(0);
    expect(err).toContain('\nalerts: 27\n');
    expect(err).toContain('\nselected 1 of 1 rule(s): rule id "B64B183E-1A76-422D-9179-7B389513E74D"; tactic "execution"\n');
    let out = '';
    let verr = '';
    expect(runValidate([], { format: 'text', excludeRule: ['zzz'], dataSource: ['endgame-8.0'] }, (s) => (out += s), (s) => (verr += s))).toBe(0);
    expect(out).toBe('checked 1 EQL rule(s): 1 parsed, 0 error(s), 0 warning(s)\n');
    expect(verr).toContain('warning: no loaded rule has rule_id or name "zzz"\n');
  });
});

describe('eqlite serve: the same selection', () => {
  it('runs only the selected file rules', async () => {
    expect(resolveConfig({ tag: ['OS: Linux'], severity: 'high' }).selection).toEqual({ tags: ['OS: Linux'], minSeverity: 'high' });
    expect(resolveConfig({}).selection).toEqual({});
    const none = await startService((c) => {
      c.selection = { tags: ['OS: Linux'] };
    });
    try {
      expect(none.svc.rules.current.prepared).toHaveLength(0);
      expect(none.svc.rules.description).toMatch(/; 0 of 1 selected \(tag "OS: Linux"\)$/);
    } finally {
      await none.close();
    }
    const seed = await startService((c) => {
      c.selection = { techniques: ['T1047'], minSeverity: 'medium' };
    });
    try {
      expect(seed.svc.rules.current.prepared.map((p) => p.rule.rule_id)).toEqual(['b64b183e-1a76-422d-9179-7b389513e74d']);
    } finally {
      await seed.close();
    }
  });
});

