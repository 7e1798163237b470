// Static checks of loaded rules: every EQL query must parse, and every field it references should
// exist in the data the rule targets — ECS (from @elastic/ecs) or a documented non-ECS family of
// fields such as Elastic Defend's `*.Ext.*` or an integration's own namespace. Argument types that
// Elasticsearch's verifier refuses (`:` on a number, arithmetic on a keyword) are errors of the
// parse, checked against ECS types; comparisons ES accepts but that look wrong
// (`pid == "4"`) are warnings. Unknown fields are warnings because custom data may well have them;
// `strict` turns field findings into errors.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compile } from '../engine/index.js';
import path from 'node:path';
import { cacheDir } from '../util/cache-dir.js';
import { collectFields, EqlError, parse, type Expr, type Span, type Statement } from '../eql/index.js';
import { snippetWindow } from '../eql/errors.js';
import type { LoadResult } from './load.js';
import { queryPosition } from './position.js';
import type { Rule } from './types.js';
import { countInto } from '../util/own.js';
import { intervalTooShort, parseInterval } from '../detect/schedule.js';
import { escapeControl } from '../util/terminal.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  /**
   * `syntax` / `unsupported` / `semantic`: the query does not parse (EqlError kinds);
   * `unknown-field`, `type-mismatch`: field checks; `invalid-rule`: the file/object could not be
   * loaded; `missing-exception-list`: a referenced exception list was not among the inputs.
   */
  kind: string;
  file: string;
  line?: number;
  column?: number;
  rule_id?: string;
  rule_name?: string;
  message: string;
  field?: string;
  hint?: string;
  /** The query line and a caret under the problem. */
  snippet?: string;
}

export interface ValidateOptions {
  /** Field findings (unknown-field, type-mismatch) become errors. */
  strict?: boolean;
}

export interface ValidateReport {
  /** EQL rules whose query was checked. */
  checked: number;
  parsed: number;
  findings: Finding[];
  errors: number;
  warnings: number;
  warningsByKind: Record<string, number>;
  errorsByKind: Record<string, number>;
  /** Loaded rules that are not EQL, by type. */
  skippedByType: Record<string, number>;
  deprecated: number;
  ecsVersion: string;
}

/** Validates every loaded rule. */
export function validateRules(loaded: LoadResult, opts: ValidateOptions = {}): ValidateReport {
  const findings: Finding[] = [];
  for (const s of loaded.skipped) {
    if (s.kind !== 'invalid') continue;
    const f: Finding = { severity: 'error', kind: 'invalid-rule', file: s.file, message: s.reason };
    if (s.line !== undefined) f.line = s.line;
    if (s.column !== undefined) f.column = s.column;
    if (s.rule_id !== undefined) f.rule_id = s.rule_id;
    findings.push(f);
  }
  const skippedByType: Record<string, number> = {};
  let checked = 0;
  let parsed = 0;
  for (const rule of loaded.rules) {
    if (rule.unsupported) {
      countInto(skippedByType, rule.type);
      continue;
    }
    checked++;
    const ruleFindings = validateRule(rule, opts);
    // The schedule, as a hunt or the service would run it.
    let scheduleProblem: string | null;
    try {
      scheduleProblem = intervalTooShort(rule.interval, parseInterval(rule.interval));
    } catch (e) {
      scheduleProblem = (e as Error).message;
    }
    if (scheduleProblem) {
      ruleFindings.push({ severity: 'error', kind: 'schedule', file: rule.origin.file, line: rule.origin.line, rule_id: rule.rule_id, rule_name: rule.name, message: scheduleProblem });
    }
    if (!ruleFindings.some((f) => f.kind === 'syntax' || f.kind === 'unsupported' || f.kind === 'semantic')) parsed++;
    findings.push(...ruleFindings);
    for (const ref of rule.exceptions_list) {
      const found = loaded.exceptionLists.some(
        (l) => (l.list_id === ref.list_id && l.namespace_type === ref.namespace_type) || (l.id !== undefined && l.id === ref.id));
      if (!found) {
        findings.push({
          severity: 'warning', kind: 'missing-exception-list', file: rule.origin.file, line: rule.origin.line,
          rule_id: rule.rule_id, rule_name: rule.name,
          message: `exception list ${ref.list_id} (${ref.type}, ${ref.namespace_type}) is referenced but was not loaded`,
        });
      }
    }
  }
  const warningsByKind: Record<string, number> = {};
  const errorsByKind: Record<string, number> = {};
  for (const f of findings) {
    const m = f.severity === 'error' ? errorsByKind : warningsByKind;
    m[f.kind] = (m[f.kind] ?? 0) + 1;
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  return {
    checked, parsed, findings, errors, warnings: findings.length - errors, warningsByKind, errorsByKind,
    skippedByType, deprecated: loaded.skipped.filter((s) => s.kind === 'deprecated').length, ecsVersion: ecs().version,
  };
}

/** Parses one EQL rule's query and checks its fields. */
export function validateRule(rule: Rule, opts: ValidateOptions = {}): Finding[] {
  const query = rule.query ?? '';
  const base = { file: rule.origin.file, rule_id: rule.rule_id, rule_name: rule.name };
  const at = (span: Span) => {
    const pos = queryPosition(rule.origin.query, query, span.start);
    return { line: pos.line, column: pos.column, snippet: snippet(query, span) };
  };
  let stmt: Statement;
  try {
    // Argument types are checked against ECS, as Elasticsearch checks them against the mapping.
    stmt = parse(query, { fieldType: ecsFieldType });
    // Compiling also checks the patterns: a regex or wildcard that is invalid, or whose automaton
    // would be too large (Lucene's "too complex to determinize"), is an error here as in a hunt.
    compile(stmt);
  } catch (e) {
    if (!(e instanceof EqlError)) throw e;
    // Every problem the check found, each at its own position (ES lists them all).
    return e.all().map((p) => {
      const f: Finding = { severity: 'error', kind: p.kind, ...base, ...at(p.span), message: p.problem };
      if (p.hint) f.hint = p.hint;
      return f;
    });
  }
  const out: Finding[] = [];
  const fieldSeverity: Severity = opts.strict ? 'error' : 'warning';
  const reported = new Set<string>();
  for (const ref of collectFields(stmt)) {
    if (ref.optional || reported.has(ref.name)) continue;
    const status = fieldStatus(ref.name);
    if (status.known) continue;
    reported.add(ref.name);
    const f: Finding = {
      severity: fieldSeverity, kind: 'unknown-field', ...base, ...at(ref.span), field: ref.name,
      message: `unknown field ${ref.name}: not in ECS ${ecs().version} nor a known data-source field family`,
    };
    const near = suggestField(ref.name);
    if (near) f.hint = `did you mean ${near}?`;
    else f.hint = 'write ?' + ref.name + ' if the field is legitimately absent from some sources';
    out.push(f);
  }
  for (const m of typeMismatches(stmt)) {
    out.push({ severity: fieldSeverity, kind: 'type-mismatch', ...base, ...at(m.span), field: m.field, message: m.message });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field knowledge

export interface EcsInfo {
  version: string;
  /** flat_name → Elasticsearch type, including multi-fields (`process.name.text`). */
  types: Map<string, string>;
  /** Fields of type object / flattened / nested: any sub-field below them is acceptable. */
  containers: string[];
}

let ecsCache: EcsInfo | undefined;

/**
 * ECS flat schema from @elastic/ecs, loaded on first use. The package is ~2 MB of JavaScript
 * (loading it is a good part of a hunt's start-up), so the few things used here — field types
 * and container fields — are kept in the cache directory (see util/cache-dir.ts) per package
 * version and read from there when present.
 */
/**
 * The ECS facts a kept cache file holds, or null when it does not have their shape: the file is
 * outside the package, so anything may be in it, and a wrong shape must not fail every rule.
 */
export function keptEcsInfo(kept: unknown): EcsInfo | null {
  if (typeof kept !== 'object' || kept === null) return null;
  const { version, types, containers } = kept as Record<string, unknown>;
  if (typeof version !== 'string' || !Array.isArray(types) || !Array.isArray(containers)) return null;
  for (const t of types) {
    if (!Array.isArray(t) || t.length !== 2 || typeof t[0] !== 'string' || typeof t[1] !== 'string') return null;
  }
  for (const c of containers) if (typeof c !== 'string') return null;
  return { version, types: new Map(types as [string, string][]), containers: containers as string[] };
}

function ecs(): EcsInfo {
  if (ecsCache) return ecsCache;
  const require = createRequire(import.meta.url);
  const dir = cacheDir();
  let file: string | undefined;
  if (dir) {
    try {
      const { version } = require('@elastic/ecs/package.json') as { version: string };
      file = path.join(dir, `ecs-types-${version}.json`);
      const kept = keptEcsInfo(JSON.parse(readFileSync(file, 'utf8')));
      if (kept !== null) {
        ecsCache = kept;
        return ecsCache;
      }
      // Valid JSON of another shape (a damaged or foreign file): built again below and rewritten.
    } catch {
      // Not kept yet (or unreadable): load the package, and keep what is needed below.
    }
  }
  const mod = require('@elastic/ecs') as {
    EcsFlat: Record<string, { type: string; flat_name: string; multi_fields?: { flat_name: string; type: string }[] }>;
    EcsVersion: string;
  };
  const types = new Map<string, string>();
  const containers: string[] = [];
  for (const f of Object.values(mod.EcsFlat)) {
    types.set(f.flat_name, f.type);
    for (const mf of f.multi_fields ?? []) types.set(mf.flat_name, mf.type);
    if (f.type === 'object' || f.type === 'flattened' || f.type === 'nested') containers.push(f.flat_name + '.');
  }
  ecsCache = { version: mod.EcsVersion, types, containers };
  if (file) {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ version: mod.EcsVersion, types: [...types], containers }));
      renameSync(tmp, file);
    } catch {
      // A read-only cache only costs the next start-up its speed.
    }
  }
  return ecsCache;
}

/**
 * Non-ECS field families of the data sources prebuilt rules target. Each was seen in the
 * elastic/detection-rules EQL corpus; the reason says which source writes it.
 */
export const NON_ECS_FIELD_FAMILIES: readonly { pattern: RegExp; reason: string }[] = [
  { pattern: /(^|\.)Ext(\.|$)/, reason: 'Elastic Defend / Endgame extensions (process.Ext.*, file.Ext.*, dll.Ext.*, user.Ext.*, ...)' },
  { pattern: /^Effective_process\./, reason: 'Elastic Defend: effective (responsible) process on macOS and Linux events' },
  { pattern: /^winlog\./, reason: 'Winlogbeat and the Windows / System integrations (event_data, logon, ...)' },
  { pattern: /^powershell\./, reason: 'Windows integration: PowerShell operational and script block logs' },
  { pattern: /^auditd\./, reason: 'Auditbeat / Auditd Manager: raw audit record data (syscall, arguments)' },
  { pattern: /^endgame\./, reason: 'Elastic Endgame legacy events' },
  { pattern: /^(kibana\.alert|signal)\./, reason: 'higher-order rules reading the alerts index' },
  { pattern: /^problemchild\./, reason: 'ProblemChild ML integration enrichment of process events' },
  { pattern: /^network_traffic\./, reason: 'Network Packet Capture integration (protocol details)' },
  { pattern: /^flow\./, reason: 'Network Packet Capture / Packetbeat flow events' },
  { pattern: /^aws\./, reason: 'AWS integration (CloudTrail, ...)' },
  { pattern: /^azure\./, reason: 'Azure integration (activity, sign-in, audit, Graph activity logs)' },
  { pattern: /^gcp\./, reason: 'Google Cloud Platform integration (audit logs)' },
  { pattern: /^o365\./, reason: 'Microsoft 365 integration (audit logs)' },
  { pattern: /^okta\./, reason: 'Okta integration (system log)' },
  { pattern: /^github\./, reason: 'GitHub integration (audit log)' },
  { pattern: /^google_workspace\./, reason: 'Google Workspace integration' },
  { pattern: /^kubernetes\./, reason: 'Kubernetes integration (audit logs)' },
  { pattern: /^fortinet\./, reason: 'Fortinet FortiGate integration' },
];

export type FieldStatus = { known: true; source: 'ecs' | 'family'; type?: string } | { known: false };

/** Whether a field is ECS or belongs to a known non-ECS family. */
export function fieldStatus(name: string): FieldStatus {
  const info = ecs();
  const type = info.types.get(name);
  if (type !== undefined) return { known: true, source: 'ecs', type };
  if (info.containers.some((c) => name.startsWith(c))) return { known: true, source: 'ecs' };
  if (NON_ECS_FIELD_FAMILIES.some((f) => f.pattern.test(name))) return { known: true, source: 'family' };
  return { known: false };
}

/** Closest ECS field within edit distance 2 (typos such as proces.name), or undefined. */
export function suggestField(name: string): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const candidate of ecs().types.keys()) {
    if (Math.abs(candidate.length - name.length) >= bestD) continue;
    const d = editDistance(name, candidate, bestD);
    if (d < bestD) {
      bestD = d;
      best = candidate;
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= limit) return limit;
    prev = cur;
  }
  return prev[b.length]!;
}

// ---------------------------------------------------------------------------------------------
// Type checks

/**
 * The ECS type of a field (`long`, `keyword`, `ip`, ...), or undefined for a field outside ECS or
 * below an object/flattened field. Elastic's rules target ECS-mapped indices, so this is what
 * Elasticsearch's verifier would check their argument types against (eql/types.ts).
 */
export function ecsFieldType(name: string): string | undefined {
  return ecs().types.get(name);
}

const STRING_TYPES = new Set(['keyword', 'constant_keyword', 'wildcard', 'text', 'match_only_text']);
const NUMERIC_TYPES = new Set(['long', 'integer', 'short', 'byte', 'float', 'half_float', 'double', 'scaled_float', 'unsigned_long']);

interface Mismatch {
  span: Span;
  field: string;
  message: string;
}

/**
 * Comparisons Elasticsearch accepts but that are likely mistakes: a numeric ECS field compared
 * with a string, or a string field with a number (`pid == "4"`). What Elasticsearch refuses
 * (`:` on a number, arithmetic on a string, ...) is an error of the parse itself.
 */
function typeMismatches(stmt: Statement): Mismatch[] {
  const out: Mismatch[] = [];
  const visit = (e: Expr): void => {
    if (e.kind === 'compare') {
      checkOperands(e.left, e.right, e.op, out);
      checkOperands(e.right, e.left, e.op, out);
    }
    for (const child of children(e)) visit(child);
  };
  const q = stmt.query;
  if (q.kind === 'event') visit(q.condition);
  else {
    for (const t of q.terms) visit(t.query.condition);
    if (q.kind === 'sequence' && q.until) visit(q.until.query.condition);
  }
  return out;
}

function checkOperands(fieldSide: Expr, other: Expr, op: string, out: Mismatch[]): void {
  if (fieldSide.kind !== 'field' || other.kind !== 'literal') return;
  const type = ecsFieldType(fieldSide.name);
  if (type === undefined) return;
  const lit = typeof other.value === 'string' ? 'string' : typeof other.value === 'number' ? 'number' : undefined;
  if ((lit === 'string' && NUMERIC_TYPES.has(type)) || (lit === 'number' && STRING_TYPES.has(type))) {
    out.push({ span: other.span, field: fieldSide.name, message: `${fieldSide.name} is ${type} but is compared (${op}) with a ${lit}` });
  }
}

function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'not':
    case 'negate':
      return [e.operand];
    case 'and':
    case 'or':
    case 'compare':
    case 'arith':
      return [e.left, e.right];
    case 'in':
      return [e.operand, ...e.values];
    case 'match':
      return [e.operand, ...e.patterns];
    case 'call':
      return e.args;
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * The query line holding `span.start` and a caret line under the span. A long line (a generated or
 * hostile query) is cut to a window around the span; control characters (tabs, terminal escapes
 * from a rule file) are shown as spaces, one column each, so the caret stays aligned.
 */
function snippet(query: string, span: Span): string {
  const start = Math.min(span.start, query.length);
  const lineStart = query.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = query.indexOf('\n', start);
  if (lineEnd < 0) lineEnd = query.length;
  let text = query.slice(lineStart, lineEnd);
  let col = start - lineStart;
  let width = Math.max(1, Math.min(span.end, lineEnd) - start);
  ({ text, col, width } = snippetWindow(text, col, width));
  return `  ${text.replace(CONTROL, ' ')}\n  ${' '.repeat(col)}${'^'.repeat(width)}`;
}

/** `file:line:column: severity: message [kind]`, then the snippet and hint when present. */
export function formatFinding(f: Finding): string {
  const where = [f.file, f.line, f.column].filter((x) => x !== undefined).join(':');
  // Names, messages and hints may quote the rule file: terminal controls in them are shown escaped.
  let s = escapeControl(`${where}: ${f.severity}: ${f.message} [${f.kind}]`);
  if (f.rule_name) s += `\n  in rule "${escapeControl(f.rule_name)}" (${escapeControl(f.rule_id ?? '')})`;
  if (f.snippet) s += `\n${f.snippet}`;
  if (f.hint) s += `\n  hint: ${escapeControl(f.hint)}`;
  return s;
}

/** Summary lines: rules checked/parsed, findings by kind, what was skipped. */
export function formatSummary(r: ValidateReport): string {
  const byKind = (m: Record<string, number>) =>
    Object.entries(m).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${n} ${k}`).join(', ');
  const lines = [`checked ${r.checked} EQL rule(s): ${r.parsed} parsed, ${r.errors} error(s), ${r.warnings} warning(s)`];
  if (r.errors > 0) lines.push(`errors: ${byKind(r.errorsByKind)}`);
  if (r.warnings > 0) lines.push(`warnings: ${byKind(r.warningsByKind)}`);
  const types = Object.entries(r.skippedByType).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const skipped: string[] = [];
  if (types.length > 0) skipped.push(`skipped ${types.map(([t, n]) => `${n} ${t}`).join(', ')} rules (not EQL)`);
  if (r.deprecated > 0) skipped.push(`${skipped.length ? '' : 'skipped '}${r.deprecated} deprecated`);
  if (skipped.length) lines.push(skipped.join('; '));
  return lines.join('\n');
}
