// Rule exceptions compiled into a plain predicate over an event's _source. Kibana turns exception
// items into an Elasticsearch filter that the rule's search excludes (build_exception_filter.ts);
// this module reproduces what that filter matches, entry type by entry type:
//  * items are ORed, the entries of one item are ANDed;
//  * `match` / `match_any` are match_phrase queries: exact, case-sensitive on keyword fields, and
//    a numeric string matches the same number in a numeric field;
//  * `wildcard` is a plain `wildcard` query without `case_insensitive`, so it is case-SENSITIVE:
//    `*` any run of characters, `?` exactly one, backslash escapes the next character;
//  * `exists` is an exists query; `excluded` wraps the clause in must_not, so an excluded entry
//    is true when the field is absent;
//  * `nested` is a nested query: all inner entries must hold for the same array element;
//  * `list` is a terms query over the value list (CIDR-aware for ip lists, ranges for ip_range,
//    an analysed `match` with operator AND for text lists);
//  * an item with `os_types` additionally requires host.os.type or host.os.name.caseless to be
//    one of them (Kibana's transformOsType);
//  * items whose expire_time is at or before the run time are ignored;
//  * for EQL rules (`eql: true`) Kibana applies an item with value lists only when every list is
//    of type keyword, ip or ip_range, holds at most 65,536 values and (ip_range) at most 200
//    `from-to` ranges (build_exception_filter.ts filterOutUnprocessableValueLists,
//    buildListClause); other such items are not applied at all and reported as "unprocessed".
// Arrays behave like Elasticsearch multi-valued fields: a clause holds when any value matches.

import path from 'node:path';
import { fieldAccessor, leafValues } from '../engine/fields.js';
import { TooComplexError } from '../engine/automaton.js';
import { compileEscapedWildcard } from '../engine/wildcard.js';
import type { ExceptionEntry, ExceptionItem, ExceptionList, ExceptionListRef, Rule } from './types.js';
import { decodeText } from '../util/text.js';
import { ioReason, readFileCapped } from '../util/files.js';

export type ExceptionPredicate = (source: Record<string, unknown>) => boolean;

export interface ExceptionOptions {
  /** Value lists by list id, for `list` entries. */
  valueLists?: Map<string, Set<string>>;
  /** Run time; items with an expire_time at or before it are ignored. Default: now. */
  now?: Date | number;
  /** Apply Kibana's value-list limits for EQL rules (see above). */
  eql?: boolean;
}

/** Kibana's limits for value lists used by exceptions of EQL rules. */
export const MAXIMUM_SMALL_VALUE_LIST_SIZE = 65536;
export const MAXIMUM_SMALL_IP_RANGE_VALUE_LIST_DASH_SIZE = 200;

export interface ExceptionProblem {
  list_id: string;
  item_id: string;
  reason: string;
}

export interface CompiledExceptions {
  /** True when the event is excepted (must not produce an alert). */
  predicate: ExceptionPredicate;
  /** Number of items in effect. */
  active: number;
  /** Items ignored because they expired. */
  expired: ExceptionItem[];
  /**
   * Items that cannot be evaluated (unknown value list). They never except anything: a missing
   * list must not silently hide alerts.
   */
  problems: ExceptionProblem[];
  /** Items Kibana does not apply to an EQL rule (value lists of other types or too large). */
  unprocessed: ExceptionItem[];
}

const NEVER: ExceptionPredicate = () => false;

/** Compiles exception items (ORed) into one predicate. */
export function compileExceptionItems(items: ExceptionItem[], opts: ExceptionOptions = {}): CompiledExceptions {
  const now = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  const expired: ExceptionItem[] = [];
  const problems: ExceptionProblem[] = [];
  const unprocessed: ExceptionItem[] = [];
  const preds: ExceptionPredicate[] = [];
  for (const item of items) {
    if (item.expire_time !== undefined) {
      const t = Date.parse(item.expire_time);
      if (!Number.isNaN(t) && t <= now) {
        expired.push(item);
        continue;
      }
    }
    if (opts.eql && !valueListsProcessable(item, opts.valueLists)) {
      unprocessed.push(item);
      continue;
    }
    try {
      preds.push(compileItem(item, opts.valueLists));
    } catch (e) {
      if (!(e instanceof ExceptionCompileError)) throw e;
      problems.push({ list_id: item.list_id, item_id: item.item_id, reason: e.message });
    }
  }
  let predicate: ExceptionPredicate;
  if (preds.length === 0) predicate = NEVER;
  else if (preds.length === 1) predicate = preds[0]!;
  else {
    predicate = (src) => {
      for (const p of preds) if (p(src)) return true;
      return false;
    };
  }
  return { predicate, active: preds.length, expired, problems, unprocessed };
}

/**
 * Whether Kibana turns an item's value-list entries into a filter for an EQL rule. A list that
 * was not loaded is left to compileItem, which reports it as a problem.
 */
function valueListsProcessable(item: ExceptionItem, valueLists: Map<string, Set<string>> | undefined): boolean {
  for (const e of item.entries) {
    if (e.type !== 'list') continue;
    const type = e.list.type;
    if (type !== 'keyword' && type !== 'ip' && type !== 'ip_range') return false;
    const list = valueLists?.get(e.list.id);
    if (!list) continue;
    if (list.size > MAXIMUM_SMALL_VALUE_LIST_SIZE) return false;
    if (type === 'ip_range') {
      let dashes = 0;
      for (const v of list) if (v.includes('-')) dashes++;
      if (dashes > MAXIMUM_SMALL_IP_RANGE_VALUE_LIST_DASH_SIZE) return false;
    }
  }
  return true;
}

/** Resolves a rule's `exceptions_list` references (by list_id and namespace_type, else by id). */
export function resolveRuleExceptions(
  rule: Pick<Rule, 'exceptions_list'>,
  lists: ExceptionList[],
): { lists: ExceptionList[]; missing: ExceptionListRef[] } {
  const found: ExceptionList[] = [];
  const missing: ExceptionListRef[] = [];
  for (const ref of rule.exceptions_list) {
    const list =
      lists.find((l) => l.list_id === ref.list_id && l.namespace_type === ref.namespace_type) ??
      lists.find((l) => l.id !== undefined && l.id === ref.id);
    if (list) {
      if (!found.includes(list)) found.push(list);
    } else missing.push(ref);
  }
  return { lists: found, missing };
}

/** Compiles the exceptions a rule refers to; unresolved references are returned in `missing`. */
export function compileRuleExceptions(
  rule: Pick<Rule, 'exceptions_list'>,
  lists: ExceptionList[],
  opts: ExceptionOptions = {},
): CompiledExceptions & { missing: ExceptionListRef[] } {
  const resolved = resolveRuleExceptions(rule, lists);
  const compiled = compileExceptionItems(resolved.lists.flatMap((l) => l.items), opts);
  return { ...compiled, missing: resolved.missing };
}

class ExceptionCompileError extends Error {}

function compileItem(item: ExceptionItem, valueLists: Map<string, Set<string>> | undefined): ExceptionPredicate {
  const parts = item.entries.map((e) => compileEntry(e, valueLists, ''));
  if (item.os_types && item.os_types.length > 0) {
    const os = new Set(item.os_types);
    const type = fieldAccessor('host.os.type');
    const caseless = fieldAccessor('host.os.name.caseless');
    parts.unshift((src) => leafValues(type(src)).some((v) => os.has(v as string)) ||
      leafValues(caseless(src)).some((v) => os.has(v as string)));
  }
  return and(parts);
}

function and(parts: ExceptionPredicate[]): ExceptionPredicate {
  if (parts.length === 1) return parts[0]!;
  return (src) => {
    for (const p of parts) if (!p(src)) return false;
    return true;
  };
}

function compileEntry(
  entry: ExceptionEntry,
  valueLists: Map<string, Set<string>> | undefined,
  parent: string,
): ExceptionPredicate {
  if (entry.type === 'nested') {
    const get = fieldAccessor(entry.field);
    const inner = and(entry.entries.map((e) => compileEntry(e, valueLists, entry.field)));
    return (src) => {
      for (const el of leafValues(get(src))) {
        if (el !== null && typeof el === 'object' && inner(el as Record<string, unknown>)) return true;
      }
      return false;
    };
  }
  const get = fieldAccessor(entry.field);
  const test = compileValueTest(entry, valueLists, parent);
  const included: ExceptionPredicate = (src) => test(leafValues(get(src)));
  return entry.operator === 'excluded' ? (src) => !included(src) : included;
}

/** The non-negated clause of an entry, as a test over the field's values. */
function compileValueTest(
  entry: Exclude<ExceptionEntry, { type: 'nested' }>,
  valueLists: Map<string, Set<string>> | undefined,
  parent: string,
): (values: unknown[]) => boolean {
  switch (entry.type) {
    case 'match': {
      const eq = phraseEquals(entry.value);
      return (values) => values.some(eq);
    }
    case 'match_any': {
      const eqs = entry.value.map(phraseEquals);
      return (values) => values.some((v) => eqs.some((eq) => eq(v)));
    }
    case 'wildcard': {
      let test: (v: string) => boolean;
      try {
        test = compileEscapedWildcard(entry.value);
      } catch (e) {
        if (e instanceof TooComplexError) throw new ExceptionCompileError(`wildcard ${e.message}`);
        throw e;
      }
      return (values) => values.some((v) => typeof v === 'string' && test(v));
    }
    case 'exists':
      return (values) => values.some((v) => typeof v !== 'object' || v === null || Object.keys(v).length > 0);
    case 'list': {
      const list = valueLists?.get(entry.list.id);
      if (!list) {
        const where = parent ? `${parent}.${entry.field}` : entry.field;
        throw new ExceptionCompileError(`value list "${entry.list.id}" (entry on ${where}) was not loaded`);
      }
      return compileListTest(entry.list.type, list);
    }
  }
}

/** match_phrase on a keyword or numeric/boolean field. */
function phraseEquals(value: string): (v: unknown) => boolean {
  const num = value.trim() !== '' ? Number(value) : NaN;
  return (v) => {
    if (typeof v === 'string') return v === value;
    if (typeof v === 'number') return v === num;
    if (typeof v === 'boolean') return String(v) === value;
    return false;
  };
}

/**
 * Elasticsearch wildcard syntax (`*`, `?`, `\` escapes) as an anchored, case-sensitive test, linear
 * in the value (see engine/wildcard.ts). Throws TooComplexError for a pattern Lucene would refuse.
 */
export function wildcardMatcher(pattern: string): (v: string) => boolean {
  return compileEscapedWildcard(pattern);
}

// ---------------------------------------------------------------------------------------------
// Value lists

function compileListTest(type: string, list: Set<string>): (values: unknown[]) => boolean {
  if (type === 'ip' || type === 'ip_range') {
    // A terms query on an ip field accepts CIDR blocks as well as single addresses; ip_range
    // lists also hold `from-to` ranges (Kibana turns those into range queries).
    const exact = new Set<string>();
    const ranges: [bigint, bigint, 4 | 6][] = [];
    for (const raw of list) {
      const value = raw.trim();
      const dash = value.indexOf('-');
      if (type === 'ip_range' && dash > 0) {
        const a = parseIp(value.slice(0, dash).trim());
        const b = parseIp(value.slice(dash + 1).trim());
        if (a && b && a.family === b.family) ranges.push([a.value, b.value, a.family]);
      } else if (value.includes('/')) {
        const r = parseCidr(value);
        if (r) ranges.push(r);
      } else {
        const ip = parseIp(value);
        if (ip) exact.add(`${ip.family}:${ip.value}`);
      }
    }
    return (values) =>
      values.some((v) => {
        if (typeof v !== 'string') return false;
        const ip = parseIp(v);
        if (!ip) return false;
        if (exact.has(`${ip.family}:${ip.value}`)) return true;
        return ranges.some(([lo, hi, fam]) => fam === ip.family && ip.value >= lo && ip.value <= hi);
      });
  }
  if (type === 'text') {
    // Kibana builds `match: {query: value, operator: 'and'}` per list value: every token of the
    // list value must occur in the (standard-analysed) field text.
    const wanted = [...list].map(tokens).filter((t) => t.length > 0);
    return (values) =>
      values.some((v) => {
        if (typeof v !== 'string') return false;
        const have = new Set(tokens(v));
        return wanted.some((w) => w.every((t) => have.has(t)));
      });
  }
  // keyword, long, double, date, ... : a terms query, exact value.
  return (values) =>
    values.some((v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && list.has(String(v)));
}

function tokens(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}_']+/u).filter((t) => t !== '');
}

interface Ip {
  family: 4 | 6;
  value: bigint;
}

/** Parses an IPv4 or IPv6 address (IPv4-mapped IPv6 addresses become IPv4). */
export function parseIp(s: string): Ip | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    let v = 0n;
    for (const p of s.split('.')) {
      const n = Number(p);
      if (n > 255) return null;
      v = (v << 8n) | BigInt(n);
    }
    return { family: 4, value: v };
  }
  if (!s.includes(':')) return null;
  let text = s.replace(/%.*$/, '');
  let tail: bigint[] = [];
  const v4 = /(\d{1,3}(\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const ip4 = parseIp(v4[1]!);
    if (!ip4) return null;
    tail = [ip4.value >> 16n, ip4.value & 0xffffn];
    text = text.slice(0, -v4[1]!.length) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (h: string) => (h === '' ? [] : h.split(':'));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail.length) v = (v & ~0xffffffffn) | (tail[0]! << 16n) | tail[1]!;
  if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
  return { family: 6, value: v };
}

function parseCidr(s: string): [bigint, bigint, 4 | 6] | null {
  const [addr, bitsText] = s.split('/');
  const ip = parseIp(addr!.trim());
  let bits = Number(bitsText);
  if (!ip || !Number.isInteger(bits)) return null;
  // An IPv4-mapped IPv6 block (::ffff:a.b.c.d/120) is an IPv4 block with 96 fewer prefix bits.
  if (ip.family === 4 && addr!.includes(':')) bits -= 96;
  const width = ip.family === 4 ? 32 : 128;
  if (bits < 0 || bits > width) return null;
  const hostBits = BigInt(width - bits);
  const lo = (ip.value >> hostBits) << hostBits;
  return [lo, lo | ((1n << hostBits) - 1n), ip.family];
}

/**
 * Reads value-list files into a map by list id:
 *  * plain text, one value per line (Kibana's list import format); the list id is the file name
 *    without its extension, as Kibana names imported lists, unless `listId` is given;
 *  * NDJSON of Kibana list items (`{"list_id": ..., "value": ..., "type": ...}` per line); each
 *    line goes to its own list_id. Other JSON lines (e.g. the list container) are ignored.
 */
export function loadValueLists(files: string[], into: Map<string, Set<string>> = new Map()): Map<string, Set<string>> {
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = readFileCapped(file);
    } catch (e) {
      // One line naming the option and the file, not Node's "ENOENT: no such file or directory, open …".
      throw new Error(`cannot read value list ${file}: ${ioReason(e)}`);
    }
    const text = decodeText(bytes);
    const fallbackId = path.basename(file).replace(/\.[^.]*$/, '');
    for (const rawLine of text.split('\n')) {
      const line = rawLine.replace(/\r$/, '');
      if (line.trim() === '') continue;
      if (line.startsWith('{')) {
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          obj = undefined;
        }
        if (obj !== null && typeof obj === 'object') {
          const rec = obj as Record<string, unknown>;
          if (typeof rec['value'] === 'string' && typeof rec['list_id'] === 'string') addTo(into, rec['list_id'], rec['value']);
          continue;
        }
      }
      addTo(into, fallbackId, line.trim());
    }
  }
  return into;
}

function addTo(map: Map<string, Set<string>>, id: string, value: string): void {
  let set = map.get(id);
  if (!set) {
    set = new Set();
    map.set(id, set);
  }
  set.add(value);
}
