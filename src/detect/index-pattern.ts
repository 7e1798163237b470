// Rule `index` patterns → a predicate over an event's index name.
//
// Kibana resolves a rule's index patterns with Elasticsearch's multi-target syntax: a list of
// names where `*` matches any run of characters, entries may themselves be comma-separated
// ("a-*,b-*"), and an entry starting with `-` removes the indices it matches from what the
// entries before it selected (`logs-*,-logs-test-*`). Index names are case-sensitive.
//
// Offline, an event's index comes from the input (`_index` of a hit), from its data_stream.*
// fields, from `--index NAME`, or from Beats' agent.* fields (see inferIndex). An event whose
// index is unknown ('') is seen by no rule: guessing would route, say, Sysmon events to rules
// written for Elastic Defend data. Pass `--index` to name such inputs.
//
// Cross-cluster patterns (`remote:logs-*`) name indices on another cluster; offline there is only
// one "cluster", so the cluster prefix is dropped and the rest is matched locally.
//
// Data streams. Elasticsearch resolves a pattern such as `logs-endpoint.events.process-*` to data
// streams; their documents live in hidden backing indices named
// `.ds-<data stream>-<yyyy.MM.dd>-<generation>`, and a hit's `_index` is that backing index. So an
// event whose index is a backing index (also one mounted as a searchable snapshot, `partial-` or
// `restored-` in front) is selected by a pattern when the pattern matches its data stream's name,
// or the backing index name itself (a pattern starting with `.` can name hidden indices). Its
// `_index` — and so its alert ids and ancestry — stays the backing index, as in Kibana.

import { compileStars } from '../engine/wildcard.js';

/** Kibana's default `securitySolution:defaultIndex`, used by rules that name no index. */
export const DEFAULT_INDEX_PATTERNS: readonly string[] = [
  'apm-*-transaction*',
  'auditbeat-*',
  'endgame-*',
  'filebeat-*',
  'logs-*',
  'packetbeat-*',
  'traces-apm*',
  'winlogbeat-*',
  '-*elastic-cloud-logs-*',
];

export type IndexMatcher = (index: string) => boolean;

const BACKING_INDEX = /^(?:partial-|restored-)?\.ds-(.+)-\d{4}\.\d{2}\.\d{2}-\d{6,}$/;

/** The data stream a backing index belongs to (`.ds-logs-x-default-2024.04.28-000007` → `logs-x-default`). */
export function dataStreamOf(index: string): string | null {
  const m = BACKING_INDEX.exec(index);
  return m ? m[1]! : null;
}

interface Clause {
  exclude: boolean;
  test: (index: string) => boolean;
}

/** Splits patterns on commas, trims them and drops empty entries. */
export function splitIndexPatterns(patterns: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    for (const part of p.split(',')) {
      const t = part.trim();
      if (t !== '') out.push(t);
    }
  }
  return out;
}

function clauseFor(pattern: string): Clause {
  let exclude = false;
  let p = pattern;
  if (p.startsWith('-')) {
    exclude = true;
    p = p.slice(1);
  }
  const colon = p.indexOf(':');
  if (colon >= 0) p = p.slice(colon + 1);
  if (p === '*') return { exclude, test: () => true };
  // Linear in pattern plus name, whatever the pattern (a run of 5,000 stars costs nothing).
  return { exclude, test: compileStars(p.split('*')) };
}

const MAX_CACHED_INDICES = 4096;

/**
 * Compiles index patterns into a matcher. Entries are applied left to right: an inclusion adds
 * what it matches, an exclusion removes what it matches from the result so far (a leading
 * exclusion therefore removes nothing). Results are cached per index name, since real inputs
 * carry only a handful of distinct indices.
 */
export function compileIndexPatterns(patterns: readonly string[]): IndexMatcher {
  const clauses = splitIndexPatterns(patterns).map(clauseFor);
  const cache = new Map<string, boolean>();
  const matches = (name: string) => {
    let hit = false;
    for (const c of clauses) {
      if (c.exclude) {
        if (hit && c.test(name)) hit = false;
      } else if (!hit && c.test(name)) hit = true;
    }
    return hit;
  };
  return (index: string) => {
    if (index === '') return false;
    let hit = cache.get(index);
    if (hit === undefined) {
      // Real inputs carry a handful of indices; input naming a new one per event must not grow
      // the cache without bound.
      if (cache.size >= MAX_CACHED_INDICES) cache.clear();
      const stream = dataStreamOf(index);
      hit = (stream !== null && matches(stream)) || matches(index);
      cache.set(index, hit);
    }
    return hit;
  };
}

const sharedMatchers = new Map<string, IndexMatcher>();

/**
 * The matcher for a rule: its own `index` patterns, or Kibana's default patterns. Rules with the
 * same patterns share one matcher (and its answers per index): the thousand Elastic rules name
 * about a hundred distinct pattern lists.
 */
export function ruleIndexMatcher(index: readonly string[] | undefined): IndexMatcher {
  const patterns = index && index.length > 0 ? index : DEFAULT_INDEX_PATTERNS;
  const key = patterns.join('\n');
  let m = sharedMatchers.get(key);
  if (m === undefined) {
    // Bounded: a service reloading ever-new rules must not keep every list it saw.
    if (sharedMatchers.size >= 4096) sharedMatchers.clear();
    sharedMatchers.set(key, (m = compileIndexPatterns(patterns)));
  }
  return m;
}
