// Rule selection: which of the loaded rules a command runs. One helper for `hunt`, `validate`,
// `rules list`, `serve` and the library, so that `--tag "OS: Windows" --severity high` means the
// same thing everywhere.
//
// Criteria of different kinds are ANDed; several values of one kind are ORed (`--tactic TA0002
// --tactic Persistence` is either tactic). Exclusions are applied last. All text comparisons
// ignore case, as Kibana's rule table filters do.
import { DEFAULT_INDEX_PATTERNS, compileIndexPatterns, splitIndexPatterns } from '../detect/index-pattern.js';
import type { Rule } from './types.js';
import { compileGlob } from '../util/glob.js';

export const SEVERITY_ORDER = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITY_ORDER)[number];

export interface RuleSelection {
  /** rule_id values (exact, case-insensitive). */
  ids?: string[];
  /** Name globs: `*` any run, `?` one character; the whole name must match. */
  names?: string[];
  /** Tag globs, e.g. `Data Source: Sysmon` or `OS: *`. */
  tags?: string[];
  /** MITRE ATT&CK tactic ids (`TA0002`) or names (`Execution`). */
  tactics?: string[];
  /**
   * Technique ids or names. A technique id also selects its sub-techniques (`T1059` selects a rule
   * mapped to `T1059.005`); a sub-technique id selects only itself.
   */
  techniques?: string[];
  /** Minimum severity (inclusive). */
  minSeverity?: Severity;
  /**
   * Index names or patterns (`logs-windows.sysmon_operational-default`, `winlogbeat-*`): rules
   * whose index patterns cover that index, or overlap that pattern. Rules without `index` use
   * Kibana's default index patterns.
   */
  dataSources?: string[];
  /** rule_ids or name globs to leave out. */
  exclude?: string[];
}

export interface SelectionResult<R extends Pick<Rule, 'rule_id' | 'name'>> {
  selected: R[];
  /** Rules the criteria left out (not counting exclusions). */
  filtered: number;
  /** Rules removed by `exclude`. */
  excluded: number;
  /** `ids` and `exclude` values that named no loaded rule (likely typos). */
  unmatched: string[];
}

/** True when the selection has any criterion. */
export function hasSelection(sel: RuleSelection | undefined): boolean {
  if (!sel) return false;
  return Boolean(
    sel.ids?.length || sel.names?.length || sel.tags?.length || sel.tactics?.length || sel.techniques?.length ||
      sel.minSeverity || sel.dataSources?.length || sel.exclude?.length,
  );
}

/** A glob (`*`, `?`) as a case-insensitive whole-string test, never backtracking (util/glob.ts). */
export function globRegExp(glob: string): { test: (s: string) => boolean } {
  return { test: compileGlob(glob, { caseInsensitive: true }) };
}

export function parseSeverity(v: string): Severity | null {
  const l = v.toLowerCase();
  return (SEVERITY_ORDER as readonly string[]).includes(l) ? (l as Severity) : null;
}

type RuleLike = Pick<Rule, 'rule_id' | 'name' | 'tags' | 'threat' | 'severity' | 'index'>;

/** Compiles a selection into a predicate over rules. */
export function compileSelection(sel: RuleSelection): (rule: RuleLike) => boolean {
  const tests: ((r: RuleLike) => boolean)[] = [];
  if (sel.ids?.length) {
    const ids = new Set(sel.ids.map((s) => s.toLowerCase()));
    tests.push((r) => ids.has(r.rule_id.toLowerCase()));
  }
  if (sel.names?.length) {
    const res = sel.names.map(globRegExp);
    tests.push((r) => res.some((re) => re.test(r.name)));
  }
  if (sel.tags?.length) {
    const res = sel.tags.map(globRegExp);
    tests.push((r) => r.tags.some((t) => res.some((re) => re.test(t))));
  }
  if (sel.tactics?.length) {
    const want = new Set(sel.tactics.map((s) => s.toLowerCase()));
    tests.push((r) =>
      r.threat.some((t) => want.has(String(t.tactic?.id ?? '').toLowerCase()) || want.has(String(t.tactic?.name ?? '').toLowerCase())),
    );
  }
  if (sel.techniques?.length) {
    const want = sel.techniques.map((s) => s.toLowerCase());
    tests.push((r) => ruleTechniques(r).some((t) => want.some((w) => techniqueMatches(w, t))));
  }
  if (sel.minSeverity) {
    const min = SEVERITY_ORDER.indexOf(sel.minSeverity);
    tests.push((r) => SEVERITY_ORDER.indexOf(r.severity as Severity) >= min);
  }
  if (sel.dataSources?.length) {
    const sources = sel.dataSources;
    tests.push((r) => sources.some((s) => indexCovered(r.index, s)));
  }
  return (r) => tests.every((t) => t(r));
}

/** Applies a selection; see RuleSelection. Order is kept. */
export function selectRules<R extends RuleLike>(rules: readonly R[], sel: RuleSelection = {}): SelectionResult<R> {
  const matches = compileSelection(sel);
  const excludeIds = new Set((sel.exclude ?? []).map((s) => s.toLowerCase()));
  const excludeNames = (sel.exclude ?? []).map(globRegExp);
  const isExcluded = (r: R) => excludeIds.has(r.rule_id.toLowerCase()) || excludeNames.some((re) => re.test(r.name));
  const selected: R[] = [];
  let filtered = 0;
  let excluded = 0;
  for (const r of rules) {
    if (!matches(r)) filtered++;
    else if (isExcluded(r)) excluded++;
    else selected.push(r);
  }
  const unmatched: string[] = [];
  for (const id of sel.ids ?? []) if (!rules.some((r) => r.rule_id.toLowerCase() === id.toLowerCase())) unmatched.push(id);
  for (const x of sel.exclude ?? []) {
    const re = globRegExp(x);
    if (!rules.some((r) => r.rule_id.toLowerCase() === x.toLowerCase() || re.test(r.name))) unmatched.push(x);
  }
  return { selected, filtered, excluded, unmatched };
}

/** One line describing a selection, for summaries: `tag "OS: Windows"; severity ≥ high`. */
export function describeSelection(sel: RuleSelection): string {
  const parts: string[] = [];
  const list = (label: string, v: string[] | undefined) => {
    if (v?.length) parts.push(`${label} ${v.map((x) => JSON.stringify(x)).join(' or ')}`);
  };
  list('rule id', sel.ids);
  list('name', sel.names);
  list('tag', sel.tags);
  list('tactic', sel.tactics);
  list('technique', sel.techniques);
  if (sel.minSeverity) parts.push(`severity >= ${sel.minSeverity}`);
  list('data source', sel.dataSources);
  list('excluding', sel.exclude);
  return parts.join('; ');
}

interface TechniqueRef {
  id: string;
  name: string;
}

/** Every technique and sub-technique a rule is mapped to. */
export function ruleTechniques(r: Pick<Rule, 'threat'>): TechniqueRef[] {
  const out: TechniqueRef[] = [];
  for (const t of r.threat) {
    for (const tech of t.technique ?? []) {
      out.push({ id: String(tech.id ?? ''), name: String(tech.name ?? '') });
      for (const sub of tech.subtechnique ?? []) out.push({ id: String(sub.id ?? ''), name: String(sub.name ?? '') });
    }
  }
  return out;
}

/** `want` (lower case) against one technique: its id, its parent's id, or its name. */
function techniqueMatches(want: string, t: TechniqueRef): boolean {
  const id = t.id.toLowerCase();
  if (id === want) return true;
  // T1059 selects T1059.005; T1059.005 does not select T1059 or T1059.001.
  if (!want.includes('.') && id.startsWith(want + '.')) return true;
  return t.name.toLowerCase() === want;
}

/**
 * Whether a rule's index patterns cover `source`: an index name the patterns match, or a pattern
 * that overlaps one of them (one glob matches the other's text, `*` taken literally there).
 */
export function indexCovered(ruleIndex: readonly string[] | undefined, source: string): boolean {
  const patterns = ruleIndex && ruleIndex.length > 0 ? ruleIndex : DEFAULT_INDEX_PATTERNS;
  if (!source.includes('*')) return compileIndexPatterns(patterns)(source);
  // Index patterns know only `*`; rule files are untrusted, so no backtracking RegExp (a pattern
  // of 5,000 stars would never finish).
  const wanted = compileGlob(source, { question: false });
  for (const p of splitIndexPatterns(patterns)) {
    if (p.startsWith('-')) continue;
    const pat = p.includes(':') ? p.slice(p.indexOf(':') + 1) : p;
    if (wanted(pat)) return true;
    if (compileGlob(pat, { question: false })(source)) return true;
  }
  return false;
}
