// `eqlite test RULES…`: runs the rules' test cases (src/ruletest) and reports pass/fail per case,
// with a diff of expected and actual alerts; JUnit XML for CI; `--update` records current results.
import { existsSync } from 'node:fs';
import { ioReason, outputProblem, writeFileAtomic } from '../util/files.js';
import type { Command } from 'commander';
import { loadRules, skippedPlace } from '../rules/load.js';
import { selectRules, hasSelection, describeSelection } from '../rules/select.js';
import { globRegExp } from '../rules/select.js';
import type { TestCase } from '../ruletest/cases.js';
import { runRuleTests, type CaseResult } from '../ruletest/run.js';
import { formatCase, formatProblem, formatRuleHeader, formatSummary, junitXml, summarize } from '../ruletest/report.js';
import { expectationToml, updateCaseFile } from '../ruletest/update.js';
import { addSelectionOptions, selectionFromOptions, type SelectionCliOptions } from './rule-selection.js';

export interface TestCliOptions extends SelectionCliOptions {
  tests?: string[];
  junit?: string;
  update?: boolean;
  case?: string[];
  verbose?: boolean;
}

export interface TestIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/** Runs the tests; returns the exit code (0 all passed, 1 a case failed or is broken, 2 usage). */
export async function runTestCommand(paths: string[], o: TestCliOptions, io: TestIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  for (const p of [...paths, ...(o.tests ?? [])]) {
    if (!existsSync(p)) {
      io.err(`error: cannot read ${p}: no such file or directory\n`);
      return 2;
    }
  }
  // The JUnit report's place is checked before any test runs (it failed after all had run, as an
  // internal error).
  const junitProblem = o.junit ? outputProblem(o.junit) : null;
  if (junitProblem) {
    io.err(`error: ${junitProblem}\n`);
    return 2;
  }
  const loaded = loadRules(paths);
  for (const s of loaded.skipped.filter((x) => x.kind === 'invalid')) io.err(`${skippedPlace(s)}: ${s.reason}\n`);
  let rules = loaded.rules;
  const selection = selectionFromOptions(o);
  if (hasSelection(selection)) {
    rules = selectRules(rules, selection).selected;
    if (rules.length === 0) {
      io.err(`error: no rule matches the selection (${describeSelection(selection)})\n`);
      return 2;
    }
  }
  if (rules.length === 0) {
    io.err(`error: no rules in ${paths.join(', ')}\n`);
    return 2;
  }
  const caseRes = (o.case ?? []).map(globRegExp);
  // Cases left out by --case are counted, so that a glob matching none is not called "no cases".
  let leftOut = 0;
  const filter =
    caseRes.length > 0
      ? (c: TestCase) => {
          const kept = caseRes.some((re) => re.test(c.name));
          if (!kept) leftOut++;
          return kept;
        }
      : undefined;
  let lastRule = '';
  const run = await runRuleTests({
    rules,
    exceptionLists: loaded.exceptionLists,
    tests: o.tests,
    filter,
    onResult: (r) => {
      if (r.rule.rule_id !== lastRule) {
        io.out(`${formatRuleHeader(r)}\n`);
        lastRule = r.rule.rule_id;
      }
      io.out(formatCase(r, o.verbose) + '\n');
    },
  });
  for (const p of run.problems) io.err(`error: ${formatProblem(p)}\n`);
  if (run.results.length === 0 && run.problems.length === 0 && leftOut > 0) {
    io.err(`error: no test case matches ${o.case!.map((g) => `--case "${g}"`).join(', ')} (${leftOut} case(s) found)\n`);
    return 2;
  }
  if (run.results.length === 0 && run.problems.length === 0) {
    io.err(`error: no test cases found for the ${rules.length} rule(s) given: put them in <rule file without .toml>.test/*.toml next to a rule, or give a folder with --tests\n`);
    return 2;
  }

  let recorded = 0;
  if (o.update) {
    // Failing cases and cases without an expectation get the current alerts as expectation.
    const byFile = new Map<string, Map<number, string>>();
    const toRecord: CaseResult[] = run.results.filter((r) => r.status === 'fail' || (r.status === 'error' && r.testCase.expect.kind === 'missing'));
    for (const r of toRecord) {
      let m = byFile.get(r.testCase.file);
      if (!m) byFile.set(r.testCase.file, (m = new Map()));
      m.set(r.testCase.index, expectationToml(r.actual, r.testCase.expect));
    }
    for (const [file, updates] of byFile) {
      try {
        updateCaseFile(file, updates);
        recorded += updates.size;
        io.out(`recorded the current alerts of ${updates.size} case(s) in ${file}\n`);
      } catch (e) {
        io.err(`error: ${(e as Error).message}\n`);
      }
    }
  }
  io.out(formatSummary(run) + (recorded > 0 ? `; ${recorded} recorded (--update)` : '') + '\n');
  if (o.junit) {
    try {
      writeFileAtomic(o.junit, junitXml(run));
    } catch (e) {
      io.err(`error: cannot write ${o.junit}: ${ioReason(e)}\n`);
      return 2;
    }
    io.out(`JUnit report written to ${o.junit}\n`);
  }
  const s = summarize(run);
  if (o.update) return s.errors - run.results.filter((r) => r.status === 'error' && r.testCase.expect.kind === 'missing').length > 0 ? 1 : 0;
  return s.failed > 0 || s.errors > 0 ? 1 : 0;
}

export function registerTest(program: Command): Command {
  return addSelectionOptions(
    program
      .command('test')
      .description("run rules' test cases (event files with expected alerts) and report pass/fail with a diff")
      .argument('<rules...>', 'rule files or directories; each rule FILE.toml is tested with the cases in FILE.test/*.toml')
      .option('--tests <dir>', 'also read test cases from this folder (repeatable; cases name their rule with rule = "<rule_id>")', collect)
      .option('--junit <file>', 'write a JUnit XML report')
      .option('--update', 'record the current alerts as the expectation of failing cases and of cases without one')
      .option('--case <glob>', 'run only cases whose name matches (repeatable)', collect)
      .option('-v, --verbose', 'show the alerts of passing cases too'),
  ).action(async (paths: string[], o: TestCliOptions) => {
    process.exitCode = await runTestCommand(paths, o);
  });
}
