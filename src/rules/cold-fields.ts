// Rule fields a hunt reads only when a rule alerts — investigation guides, setup notes,
// descriptions, MITRE mappings, references, authors, licence, tags, everything else the rule file
// had (`extra`: the TOML files' `[metadata]`, `[transform]`, investigation fields, …) — or when it
// reports a problem with a rule (its origin: file, line, and the query's text as written there,
// 1.2 MB of the Kibana export's snapshot) are most of a rule set's bytes (5 MB of the installed
// set's 10 MB snapshot are guides) and most of its objects (every MITRE mapping, every
// `[metadata]` is a tree). A rule-set snapshot (snapshot.ts) keeps them apart: the rules are
// deserialized with these fields set to `undefined` in their places, and the first read of any of
// them, on any rule, deserializes them all at once and puts them back as plain data properties.
//
// Until then each such field is an own, enumerable accessor in its original place, so that
// `Object.keys`, spreading, `JSON.stringify`, structured cloning (worker threads) and `in` see the
// rule exactly as it was loaded; they read through the accessor, which fills the fields first.
// One deserialization for all rules, not one per rule: a hunt that raises an alert needs them
// for that alert, and most of a run's rules never alert.
//
// Three keys of `extra` are read for every rule by every hunt: its `filters` and EQL
// `timestamp_field` by the router as it starts, and its Kibana `id` for each run's execution id
// as it ends. They are kept beside the rules, in the snapshot's first part, and `extraField`
// reads them there while `extra` is still cold. The accessor's getter for
// `extra` is not replaced by it: any other reader of `rule.extra` fills the fields as for the rest.
import { serialize } from 'node:v8';
import type { Rule } from './types.js';

/** The fields kept apart, in a fixed order (bit i of a mask is COLD_FIELDS[i]). */
export const COLD_FIELDS = ['description', 'note', 'setup', 'threat', 'references', 'author', 'license', 'tags', 'origin', 'extra'] as const;

/** The keys of `extra` kept beside the rules while `extra` is cold (read by extraField). */
export const HOT_EXTRA_KEYS = ['filters', 'timestamp_field', 'id'] as const;
export type HotExtraKey = (typeof HOT_EXTRA_KEYS)[number];

/**
 * What the core part carries beside the rules, per rule in the same order: which fields were
 * moved to the cold part (bit i: COLD_FIELDS[i]), and the hot keys of its `extra` that it has
 * (null: none). Recorded when the rules are split, so that attaching them reads no rule field.
 */
export interface ColdIndex {
  masks: number[];
  extras: (Partial<Record<HotExtraKey, unknown>> | null)[];
}

/** One rule's cold fields (those it has). */
export type ColdValues = Partial<Record<(typeof COLD_FIELDS)[number], unknown>>;

/** The cold fields a rule has, as splitColdFields stores them. */
export function coldValuesOf(rule: Rule): ColdValues {
  const r = rule as unknown as Record<string, unknown>;
  const c: ColdValues = {};
  for (let f = 0; f < COLD_FIELDS.length; f++) {
    const k = COLD_FIELDS[f]!;
    if (r[k] !== undefined) c[k] = r[k];
  }
  return c;
}

/**
 * Copies of the rules without their cold fields (each replaced by `undefined` in its place, so
 * key order is kept), the serialized cold fields (one object per rule, in the same order) and
 * the ColdIndex. The rules themselves are not changed.
 */
export function splitColdFields(rules: readonly Rule[]): { core: Rule[]; cold: Buffer; index: ColdIndex } {
  const cold: ColdValues[] = [];
  const index: ColdIndex = { masks: [], extras: [] };
  const core = rules.map((r) => {
    // A spread copy keeps the key order; a cold field then keeps its key with `undefined`.
    const copy = { ...r } as unknown as Record<string, unknown>;
    const c: ColdValues = {};
    let mask = 0;
    for (let f = 0; f < COLD_FIELDS.length; f++) {
      const k = COLD_FIELDS[f]!;
      const v = copy[k];
      if (v === undefined) continue;
      c[k] = v;
      copy[k] = undefined;
      mask |= 1 << f;
    }
    cold.push(c);
    index.masks.push(mask);
    const extra = r.extra as Record<string, unknown> | undefined;
    let hot: Partial<Record<HotExtraKey, unknown>> | null = null;
    if (extra !== null && typeof extra === 'object') for (const k of HOT_EXTRA_KEYS) if (Object.hasOwn(extra, k)) (hot ??= {})[k] = extra[k];
    index.extras.push(hot);
    return copy as unknown as Rule;
  });
  return { core, cold: serialize(cold), index };
}

/** Per rule whose `extra` is cold: its hot keys, and the getter that stands for `extra` until filled. */
const hotExtras = new WeakMap<object, { values: Partial<Record<HotExtraKey, unknown>> | null; getter: () => unknown }>();

/**
 * `rule.extra[key]`, for the keys a hunt reads from every rule while it starts: from the copy
 * kept beside the rule while its `extra` is cold (not filled yet), so that reading them does not
 * deserialize every rule's cold fields.
 */
export function extraField(rule: Rule, key: HotExtraKey): unknown {
  const hot = hotExtras.get(rule);
  if (hot !== undefined && Object.getOwnPropertyDescriptor(rule, 'extra')?.get === hot.getter) return hot.values?.[key];
  return rule.extra[key];
}

/**
 * Makes the cold fields of deserialized rules (splitColdFields' core, `index` its ColdIndex) read
 * their values from `cold` when first read: a function giving every rule's cold fields, in order
 * (a snapshot's cold part deserialized, see snapshot.ts); what it throws, the first read throws.
 */
export function attachColdFields(rules: readonly Rule[], cold: () => readonly ColdValues[], index: ColdIndex): void {
  // Dropped once filled: a long-lived process (serve) does not keep the serialized copy.
  let pending: (() => readonly ColdValues[]) | null = cold;
  const getters: (() => unknown)[] = [];
  const fill = (): void => {
    if (pending === null) return;
    const values = pending();
    pending = null;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const c = values[i] ?? {};
      const mask = index.masks[i]!;
      for (let f = 0; f < COLD_FIELDS.length; f++) {
        if ((mask & (1 << f)) === 0) continue;
        const k = COLD_FIELDS[f]!;
        // Only fields still lazy: one deleted or redefined meanwhile is left as it is now.
        if (Object.getOwnPropertyDescriptor(r, k)?.get !== getters[f]) continue;
        Object.defineProperty(r, k, { value: c[k], writable: true, enumerable: true, configurable: true });
      }
      hotExtras.delete(r);
    }
  };
  const accessors: PropertyDescriptor[] = COLD_FIELDS.map((k, f) => {
    getters[f] = function (this: Record<string, unknown>) {
      fill();
      const d = Object.getOwnPropertyDescriptor(this, k);
      // Not one of `rules` (an accessor copied onto another object): nothing to read.
      return d !== undefined && 'value' in d ? d.value : undefined;
    };
    return {
      get: getters[f],
      set(this: Record<string, unknown>, v: unknown) {
        fill();
        Object.defineProperty(this, k, { value: v, writable: true, enumerable: true, configurable: true });
      },
      enumerable: true,
      configurable: true,
    };
  });
  // Rules have a few combinations of cold fields: one descriptor map per combination.
  const byMask = new Map<number, PropertyDescriptorMap>();
  for (let i = 0; i < rules.length; i++) {
    const mask = index.masks[i]!;
    if (mask === 0) continue;
    let descriptors = byMask.get(mask);
    if (descriptors === undefined) {
      descriptors = {};
      for (let f = 0; f < COLD_FIELDS.length; f++) if (mask & (1 << f)) descriptors[COLD_FIELDS[f]!] = accessors[f]!;
      byMask.set(mask, descriptors);
    }
    const r = rules[i]!;
    Object.defineProperties(r, descriptors);
    if (mask & EXTRA_BIT) hotExtras.set(r, { values: index.extras[i] ?? null, getter: getters[EXTRA_FIELD]! });
  }
}

const EXTRA_FIELD = COLD_FIELDS.indexOf('extra');
const EXTRA_BIT = 1 << EXTRA_FIELD;
