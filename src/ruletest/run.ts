// Runs rule test cases (cases.ts) through the real detection path: each case is one `hunt()` of its
// rule over its event files, so a test exercises what users run — index routing, exceptions,
// sequence semantics, max_signals, alert building — and nothing else. All cases run in one process.
import path from 'node:path';
import { hunt } from '../detect/hunt.js';
import type { Alert } from '../detect/alerts.js';
import { expandInputs } from '../events/sources.js';
import { openInputs } from '../events/inputs.js';
import { documentId } from '../events/ids.js';
import type { ExceptionList, Rule } from '../rules/types.js';
import { caseFilesIn, readCaseFile, testsDirFor, type CaseFileProblem, type Expectation, type TestCase } from './cases.js';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';

/** One alert as a test sees it: the refs of its events and a line for people. */
export interface ActualAlert {
  refs: string[];
  /** Original time of its (first) event. */
  time: string;
  /** Kibana's reason of its (last) event. */
  reason: string;
}

export interface CaseResult {
  testCase: TestCase;
  rule: Rule;
  status: 'pass' | 'fail' | 'error';
  /** One line: why it failed, or what passed (`1 alert`). */
  message: string;
  actual: ActualAlert[];
  /** Diff lines (` ` same, `-` expected only, `+` actual only), for failures. */
  diff: string[];
  /** Skipped input lines, warnings of the hunt. */
  notes: string[];
  ms: number;
}

export interface RuleTestRun {
  results: CaseResult[];
  /** Case files or cases that could not be used. */
  problems: CaseFileProblem[];
  /** Rules that have no test cases. */
  untested: Rule[];
}

export interface RuleTestOptions {
  rules: Rule[];
  exceptionLists?: ExceptionList[];
  valueLists?: Map<string, Set<string>>;
  /** Extra folders of case files (`--tests`); searched recursively. */
  tests?: string[];
  /** Run only cases whose name matches. */
  filter?: (c: TestCase) => boolean;
  onResult?: (r: CaseResult) => void;
}

/** Finds the cases of each rule: its own `.test/` folder, then the `--tests` folders. */
export function collectCases(rules: Rule[], tests: string[] = []): { byRule: Map<Rule, TestCase[]>; problems: CaseFileProblem[] } {
  const byRule = new Map<Rule, TestCase[]>();
  const problems: CaseFileProblem[] = [];
  const seenFiles = new Set<string>();
  const add = (rule: Rule, c: TestCase) => {
    const l = byRule.get(rule);
    if (l) l.push(c);
    else byRule.set(rule, [c]);
  };
  const real = (f: string) => {
    try {
      return realpathSync(f);
    } catch {
      return f;
    }
  };
  for (const rule of rules) {
    const dir = testsDirFor(rule.origin.file);
    if (!dir) continue;
    for (const f of caseFilesIn(dir)) {
      seenFiles.add(real(f));
      const cf = readCaseFile(f);
      problems.push(...cf.problems);
      for (const c of cf.cases) {
        if (c.rule !== undefined && c.rule.toLowerCase() !== rule.rule_id.toLowerCase()) {
          problems.push({ file: f, line: c.line, reason: `case "${c.name}" names rule ${c.rule}, but ${dir} holds the tests of ${rule.rule_id}` });
        } else add(rule, c);
      }
    }
  }
  const byId = new Map(rules.map((r) => [r.rule_id.toLowerCase(), r]));
  for (const t of tests) {
    if (!existsSync(t) || !statSync(t).isDirectory()) {
      problems.push({ file: t, reason: 'tests folder not found' });
      continue;
    }
    for (const f of walkToml(t)) {
      if (seenFiles.has(real(f))) continue;
      seenFiles.add(real(f));
      const cf = readCaseFile(f);
      problems.push(...cf.problems);
      for (const c of cf.cases) {
        const rule = c.rule !== undefined ? byId.get(c.rule.toLowerCase()) : rules.length === 1 ? rules[0] : undefined;
        if (rule) add(rule, c);
        else if (c.rule !== undefined) problems.push({ file: f, line: c.line, reason: `case "${c.name}" is for rule ${c.rule}, which is not among the ${rules.length} rule(s) given` });
        else problems.push({ file: f, line: c.line, reason: `case "${c.name}" does not say which rule it tests: add rule = "<rule_id>" to the case or the file` });
      }
    }
  }
  return { byRule, problems };
}

function walkToml(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const full = path.join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) out.push(...walkToml(full));
    else if (name.toLowerCase().endsWith('.toml')) out.push(full);
  }
  return out;
}

export async function runRuleTests(opts: RuleTestOptions): Promise<RuleTestRun> {
  const { byRule, problems } = collectCases(opts.rules, opts.tests);
  const results: CaseResult[] = [];
  const untested: Rule[] = [];
  for (const rule of opts.rules) {
    const cases = (byRule.get(rule) ?? []).filter((c) => !opts.filter || opts.filter(c));
    if (cases.length === 0) {
      if (!byRule.has(rule)) untested.push(rule);
      continue;
    }
    for (const c of cases) {
      const r = await runCase(rule, c, opts);
      results.push(r);
      opts.onResult?.(r);
    }
  }
  return { results, problems, untested };
}

/**
 * Refs for the events of some alerts: `<file>:<line>` (`:r<record>` for EVTX) for events whose id
 * eqlite derived (from content and position, see events/ids.ts), the `_id` otherwise. The files
 * are read again and each event's id computed as the alerts computed it, so a ref names exactly
 * the event that alerted.
 */
async function refMaker(files: string[], caseDir: string, wanted: Set<string>): Promise<(id: string) => string> {
  const refs = new Map<string, string>();
  for (const input of await openInputs(files)) {
    const rel = path.relative(caseDir, input.file).split(path.sep).join('/');
    for await (const ev of input) {
      if (!ev.derivedId) continue;
      const id = documentId(ev);
      if (wanted.has(id)) refs.set(id, `${rel}:${ev.id.slice(ev.id.indexOf(':') + 1)}`);
    }
  }
  return (id) => refs.get(id) ?? id;
}

/** Groups a hunt's alerts into what a test compares: one entry per event, sequence or sample. */
export function alertsAsTested(alerts: Alert[], ref: (id: string) => string): ActualAlert[] {
  const groups = new Map<string, { parts: [number, Alert][] }>();
  const out: (ActualAlert | { group: string })[] = [];
  const eventId = (a: Alert) => {
    const anc = a['kibana.alert.ancestors'] as { id: string; type: string }[] | undefined;
    return anc?.find((x) => x.type === 'event')?.id ?? String(a['kibana.alert.uuid']);
  };
  for (const a of alerts) {
    const gid = a['kibana.alert.group.id'] as string | undefined;
    if (gid === undefined) {
      out.push({ refs: [ref(eventId(a))], time: String(a['kibana.alert.original_time'] ?? ''), reason: String(a['kibana.alert.reason'] ?? '') });
      continue;
    }
    let g = groups.get(gid);
    if (!g) {
      groups.set(gid, (g = { parts: [] }));
      out.push({ group: gid });
    }
    const idx = a['kibana.alert.group.index'];
    if (typeof idx === 'number') g.parts.push([idx, a]);
  }
  return out.map((x) => {
    if (!('group' in x)) return x;
    const parts = groups.get(x.group)!.parts.sort((a, b) => a[0] - b[0]).map((p) => p[1]);
    return {
      refs: parts.map((a) => ref(eventId(a))),
      time: String(parts[0]?.['kibana.alert.original_time'] ?? ''),
      reason: String(parts[parts.length - 1]?.['kibana.alert.reason'] ?? ''),
    };
  });
}

async function runCase(rule: Rule, c: TestCase, opts: RuleTestOptions): Promise<CaseResult> {
  const started = Date.now();
  const notes: string[] = [];
  const base = { testCase: c, rule, diff: [] as string[], notes };
  const done = (r: Omit<CaseResult, 'testCase' | 'rule' | 'notes' | 'ms' | 'diff'> & { diff?: string[] }): CaseResult => ({ ...base, ...r, diff: r.diff ?? [], ms: Date.now() - started });
  if (rule.unsupported) return done({ status: 'error', message: `the rule cannot be run: ${rule.unsupported}`, actual: [] });
  let alerts: Alert[];
  const skipped: string[] = [];
  try {
    const files = (await expandInputs(c.events)).map((f) => f.path);
    const res = await hunt({
      rules: [rule],
      exceptionLists: opts.exceptionLists,
      valueLists: opts.valueLists,
      inputs: files,
      index: c.eventIndex,
      threads: 0,
      onSkip: (s) => skipped.push(`${s.position.file}${s.position.line !== undefined ? ':' + s.position.line : ''}: ${s.reason}`),
      onWarning: (w) => notes.push(w),
    });
    if (res.stats.rulesSkipped.length > 0) return done({ status: 'error', message: `the rule cannot be run: ${res.stats.rulesSkipped[0]!.reason}`, actual: [] });
    alerts = res.alerts;
    const wanted = new Set<string>();
    alertsAsTested(alerts, (id) => (wanted.add(id), id));
    const ref = await refMaker(files, path.dirname(c.file), wanted);
    const actual = alertsAsTested(alerts, ref);
    if (skipped.length > 0) {
      // Test data that does not read is a broken test, whatever the alerts.
      return done({ status: 'error', message: `${skipped.length} event(s) of the test data could not be read: ${skipped[0]}`, actual });
    }
    return done(compare(c.expect, actual));
  } catch (e) {
    return done({ status: 'error', message: (e as Error).message, actual: [] });
  }
}

const plural = (n: number) => `${n} alert${n === 1 ? '' : 's'}`;
const refsText = (refs: string[]) => `[${refs.join(', ')}]`;

/** Compares an expectation with the alerts; the diff shows every alert once. */
export function compare(expect: Expectation, actual: ActualAlert[]): Pick<CaseResult, 'status' | 'message' | 'actual' | 'diff'> {
  const line = (sign: string, a: ActualAlert) => `${sign} ${refsText(a.refs)}  ${a.time}  ${a.reason}`;
  switch (expect.kind) {
    case 'missing':
      return { status: 'error', message: `no expectation: add expect = "none", alerts = N or matches = [...] (or run with --update to record the ${plural(actual.length)} raised now)`, actual, diff: actual.map((a) => line('+', a)) };
    case 'none':
    case 'count': {
      const want = expect.kind === 'none' ? 0 : expect.alerts;
      if (actual.length === want) return { status: 'pass', message: plural(actual.length), actual, diff: [] };
      return {
        status: 'fail',
        message: `expected ${want === 0 ? 'no alert' : plural(want)}, got ${actual.length}`,
        actual,
        diff: actual.map((a) => line(want === 0 ? '+' : ' ', a)),
      };
    }
    case 'matches': {
      const remaining = new Map<string, number>();
      for (const m of expect.matches) remaining.set(JSON.stringify(m), (remaining.get(JSON.stringify(m)) ?? 0) + 1);
      const diff: string[] = [];
      let extra = 0;
      for (const a of actual) {
        const k = JSON.stringify(a.refs);
        const n = remaining.get(k) ?? 0;
        if (n > 0) {
          remaining.set(k, n - 1);
          diff.push(line(' ', a));
        } else {
          extra++;
          diff.push(line('+', a));
        }
      }
      let missing = 0;
      for (const [k, n] of remaining) {
        for (let i = 0; i < n; i++) {
          missing++;
          diff.push(`- ${refsText(JSON.parse(k) as string[])}  (expected, not raised)`);
        }
      }
      if (extra === 0 && missing === 0) return { status: 'pass', message: plural(actual.length), actual, diff: [] };
      const parts = [missing ? `${missing} expected alert(s) not raised` : '', extra ? `${extra} unexpected alert(s)` : ''].filter(Boolean);
      return { status: 'fail', message: `expected ${plural(expect.matches.length)}, got ${actual.length}: ${parts.join(', ')}`, actual, diff };
    }
  }
}
