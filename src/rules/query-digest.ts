// Digests of rules' query texts, for the outline cache's keys (engine/outline.ts, OutlineCache.key):
// a hunt with every rule digested each of its ~1,000 queries at every start (one sha256 per
// query, about 4 ms of CPU, nearly all of it the cost of a call into OpenSSL). A rule-set
// snapshot (snapshot.ts) carries the digests of its rules' queries, computed when it was written,
// and hands them over here when it is loaded; a rule without one (not from a snapshot, or a copy
// such as a worker thread's) is digested when first asked about.
//
// A digest handed over is kept with the query text it was made of, and used only while the rule's
// query is still that text: a rule whose query is replaced afterwards is digested again.
import { createHash } from 'node:crypto';
import type { Rule } from './types.js';

/** The sha256 of a query's text (base64url, 43 characters). */
export function queryDigest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

const known = new WeakMap<Rule, { query: string; digest: string }>();

/** The digest of `rule.query` (which must be set): the one handed over for it, or computed now (and kept). */
export function ruleQueryDigest(rule: Rule): string {
  const query = rule.query!;
  const k = known.get(rule);
  if (k !== undefined && k.query === query) return k.digest;
  const digest = queryDigest(query);
  known.set(rule, { query, digest });
  return digest;
}

/** The digests of the rules' queries, in order (null for a rule without a query). */
export function queryDigestsOf(rules: readonly Rule[]): (string | null)[] {
  return rules.map((r) => (typeof r.query === 'string' ? queryDigest(r.query) : null));
}

/**
 * Hands over digests queryDigestsOf made of these rules' queries (as a snapshot kept them); false,
 * and nothing kept, when they are not one per rule.
 */
export function rememberQueryDigests(rules: readonly Rule[], digests: unknown): boolean {
  if (!Array.isArray(digests) || digests.length !== rules.length) return false;
  for (let i = 0; i < rules.length; i++) {
    const d = digests[i] as unknown;
    if (d !== null && typeof d !== 'string') return false;
  }
  for (let i = 0; i < rules.length; i++) {
    const d = digests[i] as string | null;
    const query = rules[i]!.query;
    if (d !== null && typeof query === 'string') known.set(rules[i]!, { query, digest: d });
  }
  return true;
}
