// Reports of rule tests: text for people (pass/fail per case, a diff of expected and actual
// alerts) and JUnit XML for CI systems.
import path from 'node:path';
import type { CaseFileProblem } from './cases.js';
import type { CaseResult, RuleTestRun } from './run.js';

const rel = (p: string) => {
  const r = path.relative(process.cwd(), p);
  return r !== '' && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
};

export function formatProblem(p: CaseFileProblem): string {
  return `${rel(p.file)}${p.line !== undefined ? ':' + p.line : ''}: ${p.reason}`;
}

/** The header line of a rule's group of cases. */
export function formatRuleHeader(r: CaseResult): string {
  return `${rel(r.rule.origin.file)}: ${r.rule.name} (${r.rule.rule_id})`;
}

/** One case: `PASS name (1 alert)`, or FAIL/ERROR with the message, the diff and a hint. */
export function formatCase(r: CaseResult, verbose = false): string {
  const label = r.status === 'pass' ? 'PASS ' : r.status === 'fail' ? 'FAIL ' : 'ERROR';
  const L = [`  ${label} ${r.testCase.name}${r.status === 'pass' ? `  (${r.message})` : ''}`];
  if (r.status !== 'pass' || verbose) {
    const pad = '        ';
    if (r.status !== 'pass') L.push(`${pad}${r.message}`);
    const lines = r.status === 'pass' ? r.actual.map((a) => `  [${a.refs.join(', ')}]  ${a.time}  ${a.reason}`) : r.diff;
    for (const d of lines) L.push(pad + (d.length > 220 ? d.slice(0, 219) + '…' : d));
    for (const n of r.notes.slice(0, 5)) L.push(`${pad}note: ${n}`);
    if (r.status === 'fail') {
      L.push(`${pad}case: ${rel(r.testCase.file)}:${r.testCase.line}`);
      L.push(`${pad}why: eqlite explain --rule ${r.rule.rule_id} ${r.testCase.events.map(rel).join(' ')}`);
    }
  }
  return L.join('\n');
}

export function summarize(run: RuleTestRun): { passed: number; failed: number; errors: number; rules: number } {
  let passed = 0;
  let failed = 0;
  let errors = 0;
  const rules = new Set<string>();
  for (const r of run.results) {
    rules.add(r.rule.rule_id);
    if (r.status === 'pass') passed++;
    else if (r.status === 'fail') failed++;
    else errors++;
  }
  return { passed, failed, errors: errors + run.problems.length, rules: rules.size };
}

export function formatSummary(run: RuleTestRun): string {
  const s = summarize(run);
  const total = run.results.length;
  const parts = [`${s.passed} passed`, `${s.failed} failed`];
  if (s.errors > 0) parts.push(`${s.errors} error(s)`);
  let line = `test: ${total} case(s) of ${s.rules} rule(s): ${parts.join(', ')}`;
  if (run.untested.length > 0) line += `; ${run.untested.length} rule(s) without tests`;
  return line;
}

const esc = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // Characters XML 1.0 cannot hold at all.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');

/**
 * JUnit XML as Jenkins, GitLab and GitHub reporters read it: one <testsuite> per rule, one
 * <testcase> per case; mismatches are <failure>, broken cases <error>. Problems with case files
 * that named no rule go into a suite of their own.
 */
export function junitXml(run: RuleTestRun): string {
  const suites = new Map<string, CaseResult[]>();
  for (const r of run.results) {
    const l = suites.get(r.rule.rule_id);
    if (l) l.push(r);
    else suites.set(r.rule.rule_id, [r]);
  }
  const s = summarize(run);
  const time = (ms: number) => (ms / 1000).toFixed(3);
  const totalMs = run.results.reduce((n, r) => n + r.ms, 0);
  const L: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  L.push(`<testsuites name="eqlite test" tests="${run.results.length + run.problems.length}" failures="${s.failed}" errors="${s.errors}" time="${time(totalMs)}">`);
  for (const results of suites.values()) {
    const rule = results[0]!.rule;
    const f = results.filter((r) => r.status === 'fail').length;
    const e = results.filter((r) => r.status === 'error').length;
    const ms = results.reduce((n, r) => n + r.ms, 0);
    L.push(`  <testsuite name="${esc(rule.name)}" id="${esc(rule.rule_id)}" tests="${results.length}" failures="${f}" errors="${e}" time="${time(ms)}" file="${esc(rel(rule.origin.file))}">`);
    for (const r of results) {
      const open = `    <testcase name="${esc(r.testCase.name)}" classname="${esc(rule.name)}" file="${esc(rel(r.testCase.file))}" line="${r.testCase.line}" time="${time(r.ms)}"`;
      if (r.status === 'pass') {
        L.push(`${open}/>`);
        continue;
      }
      const body = [...r.diff, ...r.notes.map((n) => `note: ${n}`)].join('\n');
      const tag = r.status === 'fail' ? 'failure' : 'error';
      L.push(`${open}>`);
      L.push(`      <${tag} message="${esc(r.message)}" type="${r.status === 'fail' ? 'AlertMismatch' : 'TestError'}">${esc(body)}</${tag}>`);
      L.push('    </testcase>');
    }
    L.push('  </testsuite>');
  }
  if (run.problems.length > 0) {
    L.push(`  <testsuite name="case files" tests="${run.problems.length}" failures="0" errors="${run.problems.length}" time="0.000">`);
    for (const p of run.problems) {
      L.push(`    <testcase name="${esc(formatProblem(p))}" classname="case files" file="${esc(rel(p.file))}" time="0.000">`);
      L.push(`      <error message="${esc(p.reason)}" type="CaseFileError"/>`);
      L.push('    </testcase>');
    }
    L.push('  </testsuite>');
  }
  L.push('</testsuites>');
  return L.join('\n') + '\n';
}
