// Rule fields a hunt reads only when a rule alerts — investigation guides, setup notes,
// descriptions, MITRE mappings, references, authors, licence, tags — or when it reports a problem
// with a rule (its origin: file, line, and the query's text as written there, 1.2 MB of the
// Kibana export's snapshot) are most of a rule set's bytes (5 MB of the installed set's 10 MB
// snapshot are guides) and most of its objects (every MITRE mapping is a tree). A rule-set snapshot (snapshot.ts) keeps them apart: the rules are
// deserialized with these fields set to `undefined` in their places, and the first read of any of
// them, on any rule, deserializes them all at once and puts them back as plain data properties.
//
// Until then each such field is an own, enumerable accessor in its original place, so that
// `Object.keys`, spreading, `JSON.stringify`, structured cloning (worker threads) and `in` see the
// rule exactly as it was loaded; they read through the accessor, which fills the fields first.
// One deserialization for all rules, not one per rule: a hunt that raises an alert needs them
// for that alert, and most of a run's rules never alert.
import { deserialize, serialize } from 'node:v8';
import type { Rule } from './types.js';

/** The fields kept apart, in a fixed order (bit i of a mask is COLD_FIELDS[i]). */
export const COLD_FIELDS = ['description', 'note', 'setup', 'threat', 'references', 'author', 'license', 'tags', 'origin'] as const;

type ColdValues = Partial<Record<(typeof COLD_FIELDS)[number], unknown>>;

/**
 * Copies of the rules without their cold fields (each replaced by `undefined` in its place, so
 * key order is kept) and the serialized cold fields, one object per rule in the same order. The
 * rules themselves are not changed.
 */
export function splitColdFields(rules: readonly Rule[]): { core: Rule[]; cold: Buffer } {
  const cold: ColdValues[] = [];
  const core = rules.map((r) => {
    // A spread copy keeps the key order; a cold field then keeps its key with `undefined`.
    const copy = { ...r } as unknown as Record<string, unknown>;
    const c: ColdValues = {};
    for (let f = 0; f < COLD_FIELDS.length; f++) {
      const k = COLD_FIELDS[f]!;
      const v = copy[k];
      if (v === undefined) continue;
      c[k] = v;
      copy[k] = undefined;
    }
    cold.push(c);
    return copy as unknown as Rule;
  });
  return { core, cold: serialize(cold) };
}

/**
 * Makes the `undefined` cold fields of deserialized rules (splitColdFields' core) read their
 * values from `bytes` (its cold part) when first read. A field that was `undefined` when the
 * rules were split stays `undefined`.
 */
export function attachColdFields(rules: readonly Rule[], bytes: Buffer): void {
  // Dropped once filled: a long-lived process (serve) does not keep the serialized copy.
  let pending: Buffer | null = bytes;
  const getters: (() => unknown)[] = [];
  const fill = (): void => {
    if (pending === null) return;
    const values = deserialize(pending) as ColdValues[];
    pending = null;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const c = values[i] ?? {};
      for (let f = 0; f < COLD_FIELDS.length; f++) {
        const k = COLD_FIELDS[f]!;
        // Only fields still lazy: one deleted or redefined meanwhile is left as it is now.
        if (Object.getOwnPropertyDescriptor(r, k)?.get !== getters[f]) continue;
        Object.defineProperty(r, k, { value: c[k], writable: true, enumerable: true, configurable: true });
      }
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
    const r = rules[i]! as unknown as Record<string, unknown>;
    let mask = 0;
    for (let f = 0; f < COLD_FIELDS.length; f++) {
      const k = COLD_FIELDS[f]!;
      if (r[k] === undefined && Object.hasOwn(r, k)) mask |= 1 << f;
    }
    if (mask === 0) continue;
    let descriptors = byMask.get(mask);
    if (descriptors === undefined) {
      descriptors = {};
      for (let f = 0; f < COLD_FIELDS.length; f++) if (mask & (1 << f)) descriptors[COLD_FIELDS[f]!] = accessors[f]!;
      byMask.set(mask, descriptors);
    }
    Object.defineProperties(r, descriptors);
  }
}
