// Per-event overrides of an alert's severity, risk score and rule name, as Kibana applies them to
// alerts on single events (rule_types/utils/mappings/build_*_from_mapping.ts; sequence building
// blocks and shells are built without overrides). Fields are read from the event `_source` with
// lodash `get` semantics (a top-level dotted key, or a fully nested path).
import { lodashGet } from './reason.js';

export interface SeverityMappingItem {
  field: string;
  operator?: string;
  value: string;
  severity: string;
}

export interface RiskScoreMappingItem {
  field: string;
  operator?: string;
  value?: string;
  risk_score?: number;
}

const SEVERITY_ORDER: Record<string, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const SEVERITIES = new Set(Object.keys(SEVERITY_ORDER));

/**
 * Kibana sorts the mapping by severity, low first, in place (so the rule's own
 * `severity_mapping` shows up sorted in the alerts of that run); the last matching entry wins.
 */
export function sortSeverityMapping(mapping: readonly SeverityMappingItem[]): SeverityMappingItem[] {
  return [...mapping].sort((a, b) => (SEVERITY_ORDER[a.severity] ?? NaN) - (SEVERITY_ORDER[b.severity] ?? NaN));
}

export function severityFromMapping(source: Record<string, unknown>, severity: string, mapping: readonly SeverityMappingItem[] | undefined): string {
  if (!mapping || mapping.length === 0) return severity;
  let match: SeverityMappingItem | undefined;
  for (const m of sortSeverityMapping(mapping)) {
    const isSeverityField = m.field === 'event.severity';
    const raw = lodashGet(source, m.field);
    const values = (Array.isArray(raw) ? raw : [raw]).filter((v) =>
      isSeverityField ? isSafeInteger(v) : isSafeInteger(v) || typeof v === 'string',
    );
    const normalized = new Set(isSeverityField ? values : values.map(String));
    const wanted = isSeverityField ? Math.floor(Number(m.value)) : m.value;
    if (normalized.has(wanted)) match = m;
  }
  return match !== undefined && SEVERITIES.has(match.severity) ? match.severity : severity;
}

function isSafeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

export function riskScoreFromMapping(source: Record<string, unknown>, riskScore: number, mapping: readonly RiskScoreMappingItem[] | undefined): number {
  if (!mapping || mapping.length === 0) return riskScore;
  const raw = lodashGet(source, mapping[0]!.field);
  const valid = (n: number) => Number.isFinite(n) && n >= 0 && n <= 100;
  let best = -1;
  for (const v of Array.isArray(raw) ? raw : [raw]) {
    let n = -1;
    if (typeof v === 'number' && valid(v)) n = v;
    else if (typeof v === 'string' && valid(Number(v))) n = Number(v);
    if (n > best) best = n;
  }
  return best > -1 ? best : riskScore;
}

export function ruleNameFromMapping(source: Record<string, unknown>, name: string, field: string | undefined): string {
  if (field === undefined || field === null) return name;
  const v = lodashGet(source, field);
  return typeof v === 'string' ? v : name;
}
