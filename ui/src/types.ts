// Shapes of eqlite's JSON API (README "Live detection → API") as the pages read them.

import type { RuleGap, RunRecord } from '../../src/serve/rule-runs.js';

export type { RuleGap, RunRecord };

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type WorkflowStatus = 'open' | 'acknowledged' | 'closed';
export type Doc = Record<string, unknown>;

/** One row of GET /api/alerts. */
export interface AlertSummary {
  id: string;
  '@timestamp': string;
  original_time: string | null;
  rule: { rule_id: string; name: string };
  severity: Severity;
  risk_score: number | null;
  host: string | null;
  user: string | null;
  reason: string | null;
  status: WorkflowStatus;
  building_block: boolean;
  group_id: string | null;
}

export interface AlertPage {
  /** Counted up to 10,000 by default: past that, total_relation is "gte" (at least). */
  total: number;
  total_relation: 'eq' | 'gte';
  page?: number;
  per_page: number;
  alerts: AlertSummary[];
  /** Keyset cursors: pass as `search_after` / `search_before` for the next / previous page. */
  next?: string | null;
  prev?: string | null;
}

export interface SourceEvent {
  _index: string;
  _id: string;
  _source: Doc | null;
}

export interface StatusChange {
  status: WorkflowStatus;
  at: string;
  by: string | null;
}

/** GET /api/alerts/:id */
export interface AlertDetail {
  alert: Doc;
  summary: AlertSummary;
  building_blocks: Doc[];
  events: SourceEvent[];
  status_history: StatusChange[];
}

export interface HistogramBucket {
  key: string;
  low: number;
  medium: number;
  high: number;
  critical: number;
}

/** GET /api/alerts/_histogram */
export interface Histogram {
  interval_ms: number;
  from: string | null;
  to: string | null;
  buckets: HistogramBucket[];
}

export interface FacetValue {
  value: string;
  count: number;
}

/** One row of GET /api/rules. */
export interface RuleSummary {
  rule_id: string;
  id: string;
  name: string;
  severity: Severity;
  risk_score: number;
  type: string;
  enabled: boolean;
  runnable: boolean;
  not_runnable_reason: string | null;
  source: string;
  interval: string;
  from: string;
  to: string;
  tags: string[];
  last_run: RunRecord | null;
  errors: string[];
  gaps: { unfilled: number; total: number };
  alerts: number;
}

export interface ExceptionEntry {
  field: string;
  operator: string;
  type: string;
  value?: unknown;
  list?: { id: string; type: string };
  entries?: ExceptionEntry[];
}

export interface ExceptionItem {
  item_id: string;
  name?: string;
  description?: string;
  entries: ExceptionEntry[];
}

export interface RuleExceptions {
  list_id: string;
  namespace_type: string;
  type?: string;
  found: boolean;
  items: ExceptionItem[];
}

/** GET /api/rules/:id */
export interface RuleDetail extends RuleSummary {
  rule: Doc & {
    description?: string;
    query?: string;
    note?: string;
    references?: string[];
    threat?: Threat[];
    index?: string[];
    author?: string[];
    exceptions_list?: { id: string; list_id: string; namespace_type: string; type: string }[];
    file?: string;
    max_signals?: number;
  };
  runs: RunRecord[];
  gaps_list?: RuleGap[];
  /** False over a `hunt --db` store (`eqlite ui`). */
  live?: boolean;
  exceptions?: RuleExceptions[];
}

export interface RuleList {
  total: number;
  page: number;
  per_page: number;
  load_errors: string[];
  rules: RuleSummary[];
  /** False over a `hunt --db` store (`eqlite ui`): nothing runs, nothing to enable. */
  live?: boolean;
}

export interface ThreatEntry {
  id: string;
  name: string;
  reference?: string;
}

export interface Threat {
  framework?: string;
  tactic: ThreatEntry;
  technique?: (ThreatEntry & { subtechnique?: ThreatEntry[] })[];
}

/** GET /_security/_authenticate */
export interface Me {
  username: string;
  roles: string[];
  authentication_type: string;
  /** eqlite: false when no credentials are configured (everyone is admin). */
  auth_required?: boolean;
  /** eqlite: the mode of the server (serve: live detection; ui: a hunt --db store). */
  mode?: 'serve' | 'ui';
}
