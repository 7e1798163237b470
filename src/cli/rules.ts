// `eqlite rules list|show|update|remove`: what rules there are, one rule in full, and the
// installed Elastic rule set (see src/rules/install.ts and src/rules/home.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { parse } from '../eql/index.js';
import { currentRelease, rulesHome, RuleSetError } from '../rules/home.js';
import { installRules, InstallError, PINNED_RELEASE, removeInstalled, type InstallReport } from '../rules/install.js';
import { ruleTechniques } from '../rules/select.js';
import type { Rule } from '../rules/types.js';
import { UserError } from './errors.js';
import { addSelectionOptions, loadSelectedRules, type SelectionCliOptions } from './rule-selection.js';
import { escapeText } from '../util/terminal.js';

export interface RulesIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

// Rule names, queries and guides come from rule files: terminal controls in them are shown escaped.
const stdio: RulesIo = { out: (s) => process.stdout.write(escapeText(s)), err: (s) => process.stderr.write(escapeText(s)) };
const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

interface ListOptions extends SelectionCliOptions {
  rules?: string[];
  json?: boolean;
  rulesHome?: string;
}

/** The query's shape, for listings: `sequence`, `sample` or `event`. */
function queryShape(rule: Rule): string {
  if (rule.unsupported || !rule.query) return '';
  try {
    return parse(rule.query).query.kind;
  } catch {
    return 'invalid';
  }
}

function tactics(rule: Rule): { id: string; name: string }[] {
  const seen = new Map<string, string>();
  for (const t of rule.threat) if (t.tactic?.id) seen.set(t.tactic.id, t.tactic.name ?? '');
  return [...seen].map(([id, name]) => ({ id, name }));
}

/** The folder holding a rule's tests, when there is one (`<rule file without .toml>.test/`). */
export function ruleTestDir(rule: Rule): string | null {
  const f = rule.origin.file;
  if (!/\.toml$/i.test(f)) return null;
  const dir = f.replace(/\.toml$/i, '.test');
  return existsSync(dir) ? dir : null;
}

function ruleJson(rule: Rule, full: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {
    rule_id: rule.rule_id,
    name: rule.name,
    type: rule.type,
    query_type: queryShape(rule) || null,
    severity: rule.severity,
    risk_score: rule.risk_score,
    tags: rule.tags,
    tactics: tactics(rule),
    techniques: ruleTechniques(rule),
    index: rule.index ?? null,
    building_block: rule.building_block_type === 'default',
    maturity: rule.origin.maturity ?? null,
    file: rule.origin.file,
  };
  if (full) {
    Object.assign(o, {
      description: rule.description ?? null,
      query: rule.query ?? null,
      language: rule.language ?? null,
      from: rule.from,
      to: rule.to,
      interval: rule.interval,
      max_signals: rule.max_signals,
      timestamp_override: rule.timestamp_override ?? null,
      threat: rule.threat,
      references: rule.references,
      note: rule.note ?? null,
      setup: rule.setup ?? null,
      exceptions_list: rule.exceptions_list,
      tests: ruleTestDir(rule),
    });
  }
  return o;
}

export function runRulesList(o: ListOptions, io: RulesIo = stdio): number {
  const loaded = loadSelectedRules(o.rules, o, { rulesHome: o.rulesHome });
  for (const n of loaded.notes) io.err(n + '\n');
  const rules = [...loaded.rules].sort((a, b) => a.name.localeCompare(b.name) || a.rule_id.localeCompare(b.rule_id));
  if (o.json) {
    io.out(JSON.stringify(rules.map((r) => ruleJson(r, false)), null, 2) + '\n');
    return 0;
  }
  const rows = rules.map((r) => [
    r.rule_id,
    r.severity,
    String(r.risk_score),
    r.unsupported ? r.type : queryShape(r),
    tactics(r).map((t) => t.name).join(', '),
    r.name,
  ]);
  const head = ['rule_id', 'severity', 'risk', 'query', 'tactics', 'name'];
  const max = [36, 8, 4, 8, 40, 90];
  const widths = head.map((h, i) => Math.min(max[i]!, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const cell = (s: string, w: number) => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w));
  const line = (r: string[]) => r.map((c, i) => cell(c, widths[i]!)).join('  ').trimEnd();
  io.out([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n');
  io.err(`${rules.length} rule(s)\n`);
  return 0;
}

interface ShowOptions {
  rules?: string[];
  json?: boolean;
  rulesHome?: string;
}

/** Finds a rule by rule_id, a unique rule_id prefix (at least 4 characters) or its exact name. */
export function findRule(rules: readonly Rule[], key: string): Rule {
  const k = key.toLowerCase();
  const exact = rules.filter((r) => r.rule_id.toLowerCase() === k);
  if (exact.length > 0) return exact[0]!;
  const byName = rules.filter((r) => r.name.toLowerCase() === k);
  if (byName.length === 1) return byName[0]!;
  const prefix = k.length >= 4 ? rules.filter((r) => r.rule_id.toLowerCase().startsWith(k)) : [];
  if (prefix.length === 1) return prefix[0]!;
  if (prefix.length > 1 || byName.length > 1) {
    const many = prefix.length > 1 ? prefix : byName;
    throw new UserError(`"${key}" names ${many.length} rules: ${many.slice(0, 5).map((r) => r.rule_id).join(', ')}${many.length > 5 ? ', …' : ''}`, 2);
  }
  // A prefix shorter than 4 characters is not looked up (too easily ambiguous), so say that
  // rather than "no rule" when rule_ids do start with it.
  const short = k.length < 4 && k.length > 0 ? rules.filter((r) => r.rule_id.toLowerCase().startsWith(k)).length : 0;
  if (short > 0) throw new UserError(`"${key}" is too short for a rule_id prefix: give at least 4 characters (${short} rule_id(s) start with it)`, 2);
  throw new UserError(`no rule with rule_id or name "${key}" among ${rules.length} loaded rule(s)`, 2);
}

/** A path relative to the working directory when it lies below it, for shorter lines. */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

function indent(text: string, by = '  '): string {
  return text
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => (l === '' ? '' : by + l))
    .join('\n');
}

export function runRulesShow(key: string, o: ShowOptions, io: RulesIo = stdio): number {
  const loaded = loadSelectedRules(o.rules, {}, { rulesHome: o.rulesHome });
  const rule = findRule(loaded.rules, key);
  if (o.json) {
    io.out(JSON.stringify(ruleJson(rule, true), null, 2) + '\n');
    return 0;
  }
  const L: string[] = [rule.name];
  const kv = (k: string, v: string | undefined | null) => {
    if (v) L.push(`  ${k.padEnd(13)}${v}`);
  };
  kv('rule_id', rule.rule_id);
  kv('file', displayPath(rule.origin.file) + (rule.origin.line ? `:${rule.origin.line}` : ''));
  kv('type', rule.type + (queryShape(rule) ? ` (${queryShape(rule)})` : '') + (rule.unsupported ? ` — not run by eqlite: ${rule.unsupported}` : ''));
  kv('severity', `${rule.severity} (risk score ${rule.risk_score})`);
  kv('schedule', `every ${rule.interval}, searching ${rule.from} to ${rule.to}, at most ${rule.max_signals} alerts a run`);
  kv('index', (rule.index && rule.index.length > 0 ? rule.index : ['(Kibana default index patterns)']).join(', '));
  if (rule.timestamp_override) kv('timestamp', rule.timestamp_override);
  if (rule.building_block_type) kv('building block', rule.building_block_type);
  kv('maturity', rule.origin.maturity);
  kv('tags', rule.tags.join(', '));
  let first = true;
  for (const t of rule.threat) {
    const techs = (t.technique ?? []).map((x) => {
      const subs = (x.subtechnique ?? []).map((s) => `${s.id} ${s.name}`);
      return `${x.id} ${x.name}${subs.length ? ` (${subs.join(', ')})` : ''}`;
    });
    L.push(`  ${(first ? 'MITRE ATT&CK' : '').padEnd(13)}${t.tactic.id} ${t.tactic.name}${techs.length ? ': ' + techs.join('; ') : ''}`);
    first = false;
  }
  if (rule.references.length > 0) kv('references', rule.references.join('\n' + ' '.repeat(15)));
  const tests = ruleTestDir(rule);
  kv('tests', tests ? displayPath(tests) : '(none)');
  if (rule.description) L.push('', 'description', indent(rule.description));
  if (rule.query) L.push('', 'query', indent(rule.query.replace(/^\n+/, '')));
  if (rule.note) L.push('', 'investigation guide', indent(rule.note));
  if (rule.setup) L.push('', 'setup', indent(rule.setup));
  io.out(L.join('\n') + '\n');
  return 0;
}

interface UpdateOptions {
  sha256?: string;
  release?: string;
  allowInvalid?: boolean;
  rulesHome?: string;
  json?: boolean;
}

const SHOWN = 20;

export function formatInstallReport(r: InstallReport): string {
  const L: string[] = [];
  const c = r.counts;
  L.push(r.status === 'unchanged' ? `${r.release} is already installed and current (${r.dir})` : `installed ${r.release} in ${r.dir}`);
  L.push(`  source: ${r.source} (${r.sourceKind})${r.archiveSha256 ? `, archive sha256 ${r.archiveSha256}` : ''}`);
  L.push(
    `  rule files: ${c.files}, content sha256 ${r.contentSha256}` +
      (r.verifiedDigest ? ` (verified: elastic/detection-rules ${PINNED_RELEASE.commit.slice(0, 12)})` : ' (no known digest to compare)'),
  );
  // Each rule that does not run is counted once: a deprecated rule of another type is among the
  // deprecated only (the counts then add up to the rules less those that run, as validate's do).
  const other = Object.entries(c.by_type)
    .filter(([t]) => t !== 'eql')
    .map(([t, n]): [string, number] => [t, n - (c.deprecated_by_type?.[t] ?? 0)])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${n} ${t}`);
  L.push(`  runs by default: ${c.runnable} production EQL rules`);
  L.push(
    `  not run: ${[...other, `${c.deprecated} deprecated`, ...(c.not_production ? [`${c.not_production} not production`] : []), ...(c.invalid ? [`${c.invalid} invalid`] : [])].join(', ')}`,
  );
  L.push(`  license: ${r.licenseFiles.join(', ')} (kept with the rules)`);
  for (const x of r.invalid.slice(0, SHOWN)) L.push(`  invalid: ${x.file}: ${x.reason}`);
  L.push(`changes since ${r.previous ?? 'the bundled rule (nothing was installed)'}: ${r.added.length} added, ${r.changed.length} changed, ${r.removed.length} removed`);
  const list = (sign: string, refs: InstallReport['added']) => {
    for (const x of refs.slice(0, SHOWN)) L.push(`  ${sign} ${x.name} (${x.rule_id})`);
    if (refs.length > SHOWN) L.push(`  ${sign} … ${refs.length - SHOWN} more (--json lists all)`);
  };
  list('+', r.added);
  list('~', r.changed);
  list('-', r.removed);
  return L.join('\n') + '\n';
}

export async function runRulesUpdate(source: string | undefined, o: UpdateOptions, io: RulesIo = stdio): Promise<number> {
  if (o.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(o.sha256)) throw new UserError('--sha256 expects 64 hexadecimal digits', 2);
  // A local SOURCE that does not exist is a typo (exit 2, as a missing input of any command), not
  // a release that was refused (exit 1).
  if (source !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !existsSync(source)) {
    throw new UserError(`cannot read ${source}: no such file or directory`, 2);
  }
  try {
    const report = await installRules({
      source,
      sha256: o.sha256,
      release: o.release,
      allowInvalid: o.allowInvalid,
      home: o.rulesHome,
      onProgress: o.json ? undefined : (m) => io.err(m + '\n'),
    });
    io.out(o.json ? JSON.stringify(report, null, 2) + '\n' : formatInstallReport(report));
    return 0;
  } catch (e) {
    if (!(e instanceof InstallError)) {
      if (e instanceof RuleSetError) throw new UserError(e.message, 2);
      throw e;
    }
    io.err(`error: ${e.message}\n`);
    for (const d of e.details.slice(0, SHOWN)) io.err(`  ${d}\n`);
    if (e.details.length > SHOWN) io.err(`  … ${e.details.length - SHOWN} more\n`);
    let cur = null;
    try {
      cur = currentRelease({ home: o.rulesHome });
    } catch {
      /* reported by the next command that needs it */
    }
    io.err(cur ? `the installed rule set ${cur.name} is unchanged and stays in use\n` : 'nothing is installed: the bundled seed rule stays in use\n');
    return 1;
  }
}

export function runRulesRemove(o: { rulesHome?: string }, io: RulesIo = stdio): number {
  let removed: string | null;
  try {
    removed = removeInstalled({ home: o.rulesHome });
  } catch (e) {
    if (e instanceof RuleSetError) throw new UserError(e.message, 2);
    throw e;
  }
  io.out(removed ? `removed ${removed} from ${rulesHome({ home: o.rulesHome })}; the bundled seed rule is used again\n` : 'no rule set is installed\n');
  return 0;
}

const rulesHomeOption = () => new Option('--rules-home <dir>', 'where rule sets are installed (default $EQLITE_RULES_HOME, else $XDG_DATA_HOME/eqlite/rules, else ~/.local/share/eqlite/rules)');

export function registerRules(program: Command): Command {
  const rules = program.command('rules').description('list, show and install detection rules');
  addSelectionOptions(
    rules
      .command('list')
      .description('list the rules hunt would run (the installed Elastic set, else the bundled rule), with selection filters')
      .option('-r, --rules <path>', 'rule file or directory instead of the default set (repeatable)', collect)
      .option('--json', 'JSON array instead of a table')
      .addOption(rulesHomeOption()),
  ).action((o: ListOptions) => {
    process.exitCode = runRulesList(o);
  });
  rules
    .command('show')
    .description('one rule in full: metadata, MITRE mapping, query and investigation guide')
    .argument('<rule>', 'rule_id, a unique rule_id prefix, or the exact rule name')
    .option('-r, --rules <path>', 'rule file or directory instead of the default set (repeatable)', collect)
    .option('--json', 'JSON instead of text')
    .addOption(rulesHomeOption())
    .action((key: string, o: ShowOptions) => {
      process.exitCode = runRulesShow(key, o);
    });
  rules
    .command('update')
    .description('install a detection-rules release (URL, .tar.gz/.zip archive or folder) as the default rule set')
    .argument('[source]', `URL, archive or folder laid out like elastic/detection-rules (default: ${PINNED_RELEASE.url})`)
    .option('--sha256 <hex>', 'expected SHA-256 of the archive')
    .option('--release <name>', 'name of the installed release (default: from the archive, or the content digest)')
    .option('--allow-invalid', 'install even if some rules do not load or compile (they are reported)')
    .option('--json', 'report as JSON')
    .addOption(rulesHomeOption())
    .action(async (source: string | undefined, o: UpdateOptions) => {
      process.exitCode = await runRulesUpdate(source, o);
    });
  rules
    .command('remove')
    .description('remove the installed rule set (the bundled seed rule is used again)')
    .addOption(rulesHomeOption())
    .action((o: { rulesHome?: string }) => {
      process.exitCode = runRulesRemove(o);
    });
  return rules;
}
