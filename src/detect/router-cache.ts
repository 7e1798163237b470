// Kept router indexes: building the router's index (router.ts, buildRouterIndex) — a table of
// categories and an index of ~15,000 anchor values over ~1,200 slots for Elastic's rule set — was
// about a tenth of a hunt's start-up with every rule, and it depends only on the rules' outlines
// (engine/outline.ts: their terms' categories and anchors, category fields, needles). Once every
// rule's query comes from the outline cache, the built index is kept on disk
// (`routers/<key>.bin` in the cache directory, util/cache-dir.ts) and a later hunt over the same
// rules deserializes it instead of building it.
//
// The key is a digest of the engine's fingerprint (the build and the ECS types, as for the
// outlines) and, per rule in order, its outline's key (the digest of its query text and of the
// options that change its outline) and its category field: the same key means the same outlines in
// the same order, from which the index is computed. A rule whose query was compiled now (no
// outline yet, a mapping) has no such key: then the index is built, and not kept.
//
// A file is one header line — format, key, payload length and sha256 — then the index serialized
// by node:v8. A damaged, cut or foreign file is ignored (and replaced); files are written to a
// temporary name and renamed; the KEEP_ROUTERS most recently written are kept. Any problem only
// costs the start-up its speed: the index is built as without a cache.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { engineFingerprint } from '../engine/outline.js';
import { digestedFile, readDigestedFile, writeCacheFile } from '../util/cache-dir.js';
import { buildRouterIndex, type PreparedRule, type RouterIndexData } from './router.js';

const FORMAT = 'eqlite-router-index/1';
export const ROUTER_DIR = 'routers';
/** Router indexes kept in the cache directory (the most recently written). */
export const KEEP_ROUTERS = 8;

/**
 * What the last routerIndexFor of this process did: `hit` (read from its file), `written` (built
 * and kept), `not-written` (built; it could not be kept), `off` (built: no cache directory, or a
 * rule without an outline key).
 */
export type RouterCacheOutcome = 'off' | 'hit' | 'written' | 'not-written';
let lastOutcome: RouterCacheOutcome = 'off';
export function lastRouterCacheOutcome(): RouterCacheOutcome {
  return lastOutcome;
}

/** The index of these rules (a hunt asks once per router it makes: the first answer is kept). */
const known = new WeakMap<readonly PreparedRule[], RouterIndexData>();

/**
 * The router index of `rules` (for `new RuleRouter(rules, index)`): read from the cache directory
 * `dir` when kept there, else built (and kept when every rule has an outline key). The index's
 * maps and lists are shared by the routers made with it: none of them changes after building.
 */
export function routerIndexFor(rules: readonly PreparedRule[], dir: string | undefined): RouterIndexData {
  const seen = known.get(rules);
  if (seen !== undefined) return seen;
  const index = cachedIndex(rules, dir);
  known.set(rules, index);
  return index;
}

function cachedIndex(rules: readonly PreparedRule[], dir: string | undefined): RouterIndexData {
  const key = dir === undefined ? null : routerKey(rules);
  if (dir === undefined || key === null) {
    lastOutcome = 'off';
    return buildRouterIndex(rules);
  }
  const file = path.join(dir, ROUTER_DIR, `${key.slice(0, 32)}.bin`);
  const kept = readIndex(file, key, rules.length);
  if (kept !== null) {
    lastOutcome = 'hit';
    return kept;
  }
  const index = buildRouterIndex(rules);
  lastOutcome = writeIndex(file, key, index) ? 'written' : 'not-written';
  return index;
}

/** The cache key of the rules' index; null when some rule's query has no outline key. */
export function routerKey(rules: readonly PreparedRule[]): string | null {
  // One string, one update: a thousand small updates cost more than the digest itself.
  let text = `${FORMAT}\0${engineFingerprint()}\0${rules.length}\n`;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.outline === undefined) return null;
    text += `${r.outline}\0${r.rule.event_category_override ?? ''}\n`;
  }
  return createHash('sha256').update(text).digest('base64url');
}

/** The index kept in `file` for `key`, or null when there is none or it is not whole. */
function readIndex(file: string, key: string, rules: number): RouterIndexData | null {
  const payload = readDigestedFile(file, `${FORMAT} ${key}`);
  if (payload === undefined || payload === 'damaged') return null;
  let index: unknown;
  try {
    index = deserialize(payload);
  } catch {
    return null;
  }
  return wellFormed(index, rules) ? index : null;
}

/**
 * The shape RuleRouter relies on (the digest already says the bytes are what was written; this
 * guards against a file of another layout under the same format name).
 */
function wellFormed(x: unknown, rules: number): x is RouterIndexData {
  if (x === null || typeof x !== 'object') return false;
  const d = x as RouterIndexData;
  if (!(d.slotRule instanceof Int32Array) || !(d.slotReqs instanceof Int32Array) || d.slotReqs.length !== d.slotRule.length + 1) return false;
  for (let s = 0; s < d.slotRule.length; s++) if (!(d.slotRule[s]! >= 0 && d.slotRule[s]! < rules)) return false;
  if (!Array.isArray(d.slotGates) || d.slotGates.length !== d.slotRule.length) return false;
  for (const g of d.slotGates) if (g !== null && (!Array.isArray(g?.exact) || !Array.isArray(g.folded))) return false;
  if (!Array.isArray(d.tables) || !Array.isArray(d.groups) || !(d.needles === null || Array.isArray(d.needles))) return false;
  for (const t of d.tables) if (typeof t?.field !== 'string' || !(t.byCategory instanceof Map) || !Array.isArray(t.any)) return false;
  for (const g of d.groups) {
    const ix = g?.index;
    if (typeof g?.field !== 'string' || typeof g.numeric !== 'boolean' || ix === null || typeof ix !== 'object') return false;
    if (!(ix.exact instanceof Map) || !Array.isArray(ix.all) || typeof ix.folded !== 'boolean') return false;
    for (const e of [ix.prefixes, ix.suffixes]) if (e !== null && (!(e?.byKey instanceof Map) || typeof e.lengths !== 'number' || typeof e.maxLength !== 'number')) return false;
    if (ix.infixes !== null && (!(ix.infixes?.byKey instanceof Map) || typeof ix.infixes.size !== 'number')) return false;
    if (ix.shortInfixes !== null && !Array.isArray(ix.shortInfixes)) return false;
    if (ix.chars !== undefined && (!Array.isArray(ix.chars) || !ix.chars.every((c) => Array.isArray(c?.ranges) && Array.isArray(c.rules)))) return false;
  }
  return true;
}

/** Writes the index atomically (temporary file, then rename); false when it could not. */
function writeIndex(file: string, key: string, index: RouterIndexData): boolean {
  let payload: Buffer;
  try {
    payload = serialize(index);
  } catch {
    return false;
  }
  return writeCacheFile(file, digestedFile(`${FORMAT} ${key}`, payload), '.bin', KEEP_ROUTERS);
}
