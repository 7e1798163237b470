// Rule-selection options shared by `hunt`, `validate`, `rules list` and `serve`: one definition,
// so the same flags mean the same thing in every command (see src/rules/select.ts).
import { existsSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadRuleSet, RuleSetError, type LoadedRuleSet } from '../rules/home.js';
import { describeSelection, hasSelection, parseSeverity, selectRules, type RuleSelection, type Severity } from '../rules/select.js';
import { UserError } from './errors.js';
import { cacheDir } from '../util/cache-dir.js';

export interface SelectionCliOptions {
  ruleId?: string[];
  ruleName?: string[];
  tag?: string[];
  tactic?: string[];
  technique?: string[];
  severity?: Severity;
  dataSource?: string[];
  excludeRule?: string[];
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function severityArg(v: string): Severity {
  const s = parseSeverity(v);
  if (!s) throw new InvalidArgumentError('expected low, medium, high or critical');
  return s;
}

/** Adds the selection options to a command. */
export function addSelectionOptions(cmd: Command): Command {
  return cmd
    .option('--rule-id <id>', 'only the rule with this rule_id (repeatable)', collect)
    .option('--rule-name <glob>', 'only rules whose name matches (* and ?, case-insensitive; repeatable)', collect)
    .option('--tag <glob>', 'only rules with a matching tag, e.g. "OS: Windows" (repeatable)', collect)
    .option('--tactic <id|name>', 'only rules mapped to this MITRE ATT&CK tactic, e.g. TA0002 or Execution (repeatable)', collect)
    .option('--technique <id|name>', 'only rules mapped to this technique (T1059 includes T1059.001…) (repeatable)', collect)
    .addOption(new Option('--severity <min>', 'only rules of this severity or higher (low, medium, high, critical)').argParser(severityArg))
    .option('--data-source <index>', 'only rules whose index patterns cover this index or pattern, e.g. logs-windows.sysmon_operational-default (repeatable)', collect)
    .option('--exclude-rule <id|glob>', 'leave out this rule_id or rule name glob (repeatable)', collect);
}

export function selectionFromOptions(o: SelectionCliOptions): RuleSelection {
  const sel: RuleSelection = {};
  if (o.ruleId?.length) sel.ids = o.ruleId;
  if (o.ruleName?.length) sel.names = o.ruleName;
  if (o.tag?.length) sel.tags = o.tag;
  if (o.tactic?.length) sel.tactics = o.tactic;
  if (o.technique?.length) sel.techniques = o.technique;
  if (o.severity) sel.minSeverity = o.severity;
  if (o.dataSource?.length) sel.dataSources = o.dataSource;
  if (o.excludeRule?.length) sel.exclude = o.excludeRule;
  return sel;
}

export interface SelectedRuleSet extends LoadedRuleSet {
  selection: RuleSelection;
  /** Notes for stderr: which set, what the selection kept, unknown ids. */
  notes: string[];
}

/**
 * Loads the rules a command runs (the given paths, else the installed set, else the bundled rule)
 * and applies the selection. Throws UserError (exit 2) when a given path does not exist, the
 * installed set is damaged or the selection keeps no rule. `extra.cache: false` parses every rule
 * file, without the snapshots.
 */
export function loadSelectedRules(paths: string[] | undefined, o: SelectionCliOptions, extra: { rulesHome?: string; cache?: boolean } = {}): SelectedRuleSet {
  // A rule path that does not exist is a usage error (exit 2) in every command, not an empty or
  // broken rule set: `rules list --rules typo/` must not print "0 rule(s)" and succeed.
  for (const p of paths ?? []) if (!existsSync(p)) throw new UserError(`cannot read rules ${p}: no such file or directory`, 2);
  let loaded: LoadedRuleSet;
  try {
    // Rule files loaded before come from their snapshot in the cache directory (rules/snapshot.ts).
    loaded = loadRuleSet(paths, { home: extra.rulesHome, cache: extra.cache === false ? undefined : cacheDir() });
  } catch (e) {
    if (e instanceof RuleSetError) throw new UserError(e.message, 2);
    throw e;
  }
  const selection = selectionFromOptions(o);
  const notes: string[] = [];
  if (loaded.set.kind === 'installed') notes.push(`rule set: ${loaded.set.description}`);
  const hint = loaded.set.hint ? `note: ${loaded.set.hint}` : null;
  if (!hasSelection(selection)) return { ...loaded, selection, notes: hint ? [...notes, hint] : notes };
  const res = selectRules(loaded.rules, selection);
  for (const u of res.unmatched) notes.push(`warning: no loaded rule has rule_id or name ${JSON.stringify(u)}`);
  if (res.selected.length === 0) {
    throw new UserError(`no rule matches the selection (${describeSelection(selection)}) among ${loaded.rules.length} loaded rule(s)`, 2);
  }
  notes.push(`selected ${res.selected.length} of ${loaded.rules.length} rule(s): ${describeSelection(selection)}`);
  if (hint) notes.push(hint);
  return { ...loaded, rules: res.selected, selection, notes };
}
