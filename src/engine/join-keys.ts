// Join keys of one event for one term. A multi-valued key field gives one key per value, and
// several multi-valued fields give their Cartesian product — Elasticsearch's QA suite fixes that
// semantics (test_extra: sequenceWithMultivalue_CartesianProduct, …_Duplicates, …_NullValues:
// duplicates count once, nulls inside an array are ignored, an array of only nulls is null).
//
// The product is bounded per event and term: one crafted event whose host.id, source.ip and
// user.name each hold 300 values would otherwise expand to 27,000,000 keys (and a rule with
// `runs = 60` would do that 60 times). Past MAX_JOIN_KEY_COMBINATIONS only the first combinations
// (in the order of the values in the document) are used, and the run reports what it cut.
import type { EventDoc } from '../events/types.js';
import { formatPosition } from '../events/position.js';
import type { ValueFn } from './expr.js';

/** Key combinations used per event and term at most; the rest are reported as cut. */
export const MAX_JOIN_KEY_COMBINATIONS = 1000;

export interface JoinKey {
  /** Encoded key, for maps. */
  key: string;
  values: unknown[];
}

export interface KeySpec {
  keys: ValueFn[];
  keyOptional: boolean[];
  /** Key expressions as written (for reports). */
  keyNames: string[];
}

/** Work a run left out to stay within MAX_JOIN_KEY_COMBINATIONS. */
export class KeyCuts {
  events = 0;
  combinations = 0;
  private first: string | null = null;
  private lastEvent: EventDoc | null = null;

  note(ev: EventDoc, spec: KeySpec, counts: number[], product: number): void {
    if (ev === this.lastEvent) return; // runs=N terms share a spec: one event counts once
    this.lastEvent = ev;
    this.events++;
    this.combinations += product - MAX_JOIN_KEY_COMBINATIONS;
    if (this.first === null) {
      const where = ev.position ? ` (${formatPosition(ev.position)})` : '';
      this.first =
        `event ${ev.id}${where}: join keys ${spec.keyNames.join(', ')} hold ${counts.join(' × ')} values ` +
        `(${product.toLocaleString('en-US')} combinations)`;
    }
  }

  /** One line for the run's report, or null when nothing was cut. */
  message(): string | null {
    if (this.events === 0) return null;
    return (
      `${this.events} event(s) had more join-key value combinations than ${MAX_JOIN_KEY_COMBINATIONS.toLocaleString('en-US')}; ` +
      `only the first ${MAX_JOIN_KEY_COMBINATIONS.toLocaleString('en-US')} of each were used ` +
      `(${this.combinations.toLocaleString('en-US')} left out), e.g. ${this.first}`
    );
  }
}

/** The distinct non-null values of a key (or [null] when there are none). */
function valuesOf(raw: unknown): unknown[] {
  if (!Array.isArray(raw)) return [raw === undefined ? null : raw];
  const seen = new Set<unknown>();
  for (const x of raw) if (x !== null && x !== undefined) seen.add(x);
  return seen.size === 0 ? [null] : [...seen];
}

/**
 * The event's join keys for a term, or null when a required key is missing. `encode` turns one
 * value into its part of the map key (sequences and samples encode differently).
 */
export function joinKeys(
  spec: KeySpec,
  ev: EventDoc,
  encode: (v: unknown) => string,
  cuts: KeyCuts,
): JoinKey[] | null {
  const n = spec.keys.length;
  if (n === 0) return NO_KEYS;
  // Fast path: every key single-valued (nearly every event).
  const singles = singleKeyValues(spec, ev);
  if (singles === null) return null;
  if (singles !== undefined) return keysOfValues(singles, encode);
  // Some key holds several values (rare): its keys are read again, each as its distinct values.
  const src = ev.source;
  const lists: unknown[][] = [];
  for (let i = 0; i < n; i++) {
    const vals = valuesOf(spec.keys[i]!(src));
    if (vals.length === 1 && vals[0] === null && !spec.keyOptional[i]) return null;
    lists.push(vals);
  }

  let product = 1;
  for (const l of lists) product *= l.length;
  const take = Math.min(product, MAX_JOIN_KEY_COMBINATIONS);
  if (product > take) cuts.note(ev, spec, lists.map((l) => l.length), product);
  // Odometer over the lists, last key fastest: combinations in document order, no full product.
  const parts = lists.map((l) => l.map((v) => (n > 1 ? keyPart(encode(v)) : encode(v))));
  const idx = new Array<number>(n).fill(0);
  const out: JoinKey[] = [];
  for (let c = 0; c < take; c++) {
    let key = '';
    const values = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      key += (i ? '\u0001' : '') + parts[i]![idx[i]!]!;
      values[i] = lists[i]![idx[i]!];
    }
    out.push({ key, values });
    for (let i = n - 1; i >= 0; i--) {
      if (++idx[i]! < lists[i]!.length) break;
      idx[i] = 0;
    }
  }
  return out;
}

const NO_KEYS: JoinKey[] = [{ key: '', values: [] }];

/**
 * The one join key of single-valued key values, as joinKeys() makes it from an event whose every
 * key held one value (TermAnswers.keys carries those values between threads).
 */
export function keysOfValues(values: unknown[], encode: (v: unknown) => string): JoinKey[] {
  if (values.length === 0) return NO_KEYS;
  if (values.length === 1) return [{ key: encode(values[0]), values }];
  let key = keyPart(encode(values[0]));
  for (let i = 1; i < values.length; i++) key += '\u0001' + keyPart(encode(values[i]));
  return [{ key, values }];
}

/**
 * One value's part of a key of several fields, which are joined with \u0001: a value that holds
 * \u0001 (or the escape \u0002) is escaped (\u0002 → \u0002\u0002, \u0001 → \u0002\u0003), so that
 * ("a\u0001b", "c") and ("a", "b\u0001c") stay two keys, as Elasticsearch compares the values.
 */
function keyPart(part: string): string {
  return SEPARATOR_OR_ESCAPE.test(part) ? part.replace(SEPARATOR_OR_ESCAPE_ALL, (c) => (c === '\u0001' ? '\u0002\u0003' : '\u0002\u0002')) : part;
}

const SEPARATOR_OR_ESCAPE = /[\u0001\u0002]/;
const SEPARATOR_OR_ESCAPE_ALL = /[\u0001\u0002]/g;

/**
 * What TermAnswers.keys says for a term whose filter passed: the values of its one join key, null
 * when a required key is missing, undefined when a key held several values (the run then reads
 * them from the event, and reports any combinations it cuts).
 */
export function singleKeyValues(spec: KeySpec, ev: EventDoc): unknown[] | null | undefined {
  // Without the encoded key: joinKeys makes it with keysOfValues, and so does the thread the answers go to.
  const n = spec.keys.length;
  const src = ev.source;
  const values = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const raw = spec.keys[i]!(src);
    let v: unknown;
    if (Array.isArray(raw)) {
      const vals = valuesOf(raw);
      if (vals.length > 1) return undefined;
      v = vals[0];
    } else v = raw === undefined ? null : raw;
    if (v === null && !spec.keyOptional[i]) return null;
    values[i] = v;
  }
  return values;
}

/**
 * Appends to `out` what singleKeyValues says of the event for a term, as TermAnswers' wire form
 * (engine/answers.ts) has it: the count and the values, or `missing` (a required key is missing)
 * or `unknown` (a key held several values). The same answer without the array singleKeyValues
 * makes: an input worker writes one for nearly every term that keeps an event.
 */
export function writeKeyValues(spec: KeySpec, ev: EventDoc, out: unknown[], missing: number, unknown: number): void {
  const n = spec.keys.length;
  const src = ev.source;
  const at = out.length;
  out.push(n);
  for (let i = 0; i < n; i++) {
    const raw = spec.keys[i]!(src);
    let v: unknown;
    if (Array.isArray(raw)) {
      const vals = valuesOf(raw);
      if (vals.length > 1) {
        out.length = at;
        out.push(unknown);
        return;
      }
      v = vals[0];
    } else v = raw === undefined ? null : raw;
    if (v === null && !spec.keyOptional[i]) {
      out.length = at;
      out.push(missing);
      return;
    }
    out.push(v);
  }
}
