// The rule model shared by loaders, the validator and the detection runner. Field names follow
// Kibana's rule API (snake_case) so that Kibana exports round-trip without renaming.

export interface ThreatTechnique {
  id: string;
  name: string;
  reference: string;
  subtechnique?: { id: string; name: string; reference: string }[];
}

export interface Threat {
  framework: string;
  tactic: { id: string; name: string; reference: string };
  technique?: ThreatTechnique[];
}

/** Reference from a rule to an exception list (Kibana `exceptions_list`). */
export interface ExceptionListRef {
  id: string;
  list_id: string;
  namespace_type: 'single' | 'agnostic';
  type: string;
}

export interface Rule {
  rule_id: string;
  name: string;
  /** eql, query, esql, threshold, machine_learning, new_terms, threat_match, ... */
  type: string;
  language?: string;
  query?: string;
  index?: string[];
  /** Date math, e.g. `now-9m`. Default `now-6m`. */
  from: string;
  /** Default `now`. */
  to: string;
  /** e.g. `5m`. Default `5m`. */
  interval: string;
  max_signals: number;
  severity: string;
  risk_score: number;
  description?: string;
  threat: Threat[];
  tags: string[];
  note?: string;
  setup?: string;
  references: string[];
  building_block_type?: string;
  timestamp_override?: string;
  timestamp_override_fallback_disabled?: boolean;
  event_category_override?: string;
  tiebreaker_field?: string;
  exceptions_list: ExceptionListRef[];
  version: number;
  author: string[];
  license?: string;
  enabled?: boolean;
  /** Everything else the rule file had, kept verbatim. */
  extra: Record<string, unknown>;
  /** Where the rule was loaded from, for messages. */
  origin: RuleOrigin;
  /**
   * Set by the loader when eqlite cannot run the rule (non-EQL types such as query or esql). The
   * rule is still returned so that callers can list it and count it as skipped by type.
   */
  unsupported?: string;
}

/**
 * Where the query text starts in the rule file, so that an offset inside the query can be shown as
 * a file line:column. `style` tells how the text was encoded there: `literal` text is verbatim,
 * `basic` (TOML "..." / """...""") and `json` strings contain escapes, so `raw` keeps the encoded
 * body to map decoded offsets back to file columns.
 */
export interface QueryLocation {
  line: number;
  column: number;
  style: 'literal' | 'basic' | 'json';
  raw?: string;
}

export interface RuleOrigin {
  file: string;
  /** Line of the `[rule]` table (TOML) or of the JSON object (NDJSON). */
  line?: number;
  /** `[metadata] maturity` of detection-rules TOML files (production, deprecated, ...). */
  maturity?: string;
  query?: QueryLocation;
}

export type ExceptionEntry =
  | { type: 'match'; field: string; operator: 'included' | 'excluded'; value: string }
  | { type: 'match_any'; field: string; operator: 'included' | 'excluded'; value: string[] }
  | { type: 'wildcard'; field: string; operator: 'included' | 'excluded'; value: string }
  | { type: 'exists'; field: string; operator: 'included' | 'excluded' }
  | { type: 'list'; field: string; operator: 'included' | 'excluded'; list: { id: string; type: string } }
  | { type: 'nested'; field: string; entries: ExceptionEntry[] };

export interface ExceptionItem {
  item_id: string;
  list_id: string;
  name: string;
  namespace_type: 'single' | 'agnostic';
  /** Entries are ANDed; an item matches when all its entries match. */
  entries: ExceptionEntry[];
  expire_time?: string;
  os_types?: string[];
  type?: string;
  description?: string;
  /** Everything else the item had (comments, tags, ids, timestamps), kept verbatim. */
  extra?: Record<string, unknown>;
  origin?: { file: string; line?: number };
}

export interface ExceptionList {
  list_id: string;
  id?: string;
  name: string;
  namespace_type: 'single' | 'agnostic';
  type: string;
  items: ExceptionItem[];
  description?: string;
  os_types?: string[];
  /** Everything else the container had, kept verbatim. */
  extra?: Record<string, unknown>;
  origin?: { file: string; line?: number };
}
