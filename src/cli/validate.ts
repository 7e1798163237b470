// `eqlite validate RULES...`: loads rule files/directories, parses every EQL query and checks its
// fields. Exit code 0 when there is no error, 1 otherwise (parse errors, unreadable rule files,
// and with --strict unknown fields and type mismatches).

import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatFinding, formatSummary, validateRules, type ValidateReport } from '../rules/validate.js';
import { addSelectionOptions, loadSelectedRules, type SelectionCliOptions } from './rule-selection.js';
import { escapeJsonControls } from '../util/terminal.js';
import { UserError } from './errors.js';

export interface ValidateCliOptions extends SelectionCliOptions {
  strict?: boolean;
  format: 'text' | 'json';
}

function parseFormat(v: string): 'text' | 'json' {
  if (v === 'text' || v === 'json') return v;
  throw new InvalidArgumentError('expected "text" or "json"');
}

/** Runs the validation and writes the report; returns the exit code. */
export function runValidate(paths: string[], opts: ValidateCliOptions, out: (s: string) => void, err: (s: string) => void = (s) => process.stderr.write(s)): number {
  const loaded = loadSelectedRules(paths, opts);
  // Paths that hold no rule file at all (an empty folder, an empty file) are a usage error, as for
  // hunt: "checked 0 EQL rule(s)" and exit 0 would let a CI job that points at the wrong folder pass.
  if (loaded.rules.length === 0 && loaded.skipped.length === 0) {
    throw new UserError(`no rule in ${paths.join(', ')}; give rule files or directories (detection-rules TOML, Kibana export NDJSON, JSON)`, 2);
  }
  for (const n of loaded.notes) err(n + '\n');
  const report = validateRules(loaded, { strict: opts.strict === true });
  if (opts.format === 'json') out(escapeJsonControls(JSON.stringify(jsonReport(report), null, 2)) + '\n');
  else {
    for (const f of report.findings) out(formatFinding(f) + '\n');
    out(formatSummary(report) + '\n');
  }
  return report.errors > 0 ? 1 : 0;
}

function jsonReport(r: ValidateReport): Record<string, unknown> {
  return {
    ok: r.errors === 0,
    checked: r.checked,
    parsed: r.parsed,
    errors: r.errors,
    warnings: r.warnings,
    errors_by_kind: r.errorsByKind,
    warnings_by_kind: r.warningsByKind,
    skipped_by_type: r.skippedByType,
    deprecated: r.deprecated,
    ecs_version: r.ecsVersion,
    findings: r.findings,
  };
}

/** Adds the `validate` command to the CLI program. */
export function registerValidate(program: Command): Command {
  return addSelectionOptions(program
    .command('validate')
    .description('parse every EQL rule and check its fields against ECS and known data-source fields')
    .argument('[rules...]', 'rule files or directories: detection-rules TOML, Kibana export NDJSON, JSON (default: the installed Elastic rule set, else the bundled rule)')
    .option('--strict', 'treat unknown fields and type mismatches as errors')
    .addOption(new Option('--format <format>', 'output format: text or json').argParser(parseFormat).default('text')))
    .action((paths: string[], o: ValidateCliOptions) => {
      const code = runValidate(paths, o, (s) => process.stdout.write(s));
      if (code !== 0) process.exitCode = code;
    });
}
