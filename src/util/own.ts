// Objects built from input — events, EVTX data, rule files, exception lists, request bodies —
// have keys chosen by whoever wrote the input. Two JavaScript rules make such keys dangerous:
//  * assigning `o[k] = v` with k = "__proto__" calls Object.prototype's setter: it replaces o's
//    prototype (and `o.__proto__.x = v` writes x into Object.prototype, for every object of the
//    process);
//  * reading `o[k]` with k = "constructor", "toString", "__proto__", … finds an inherited member
//    when o has no such own key.
// JSON.parse itself is safe (it defines own properties, "__proto__" included), and so is object
// spread. Everything else that copies or builds objects from input keys goes through these
// helpers: one guarded setter (a single string comparison on the hot path) and own-property
// reads. Plain objects are kept (no null-prototype objects), so the shapes V8 optimises for and
// the code that prints or compares documents stay as they are.

const hasOwnProperty = Object.prototype.hasOwnProperty;

export type Dict = Record<string, unknown>;

/** True when `o` has its own property `k` (never an inherited one). */
export function hasOwn(o: object, k: string): boolean {
  return hasOwnProperty.call(o, k);
}

/** The own property `k` of `o`, or undefined (inherited members such as `constructor` are not read). */
export function own(o: Dict, k: string): unknown {
  return hasOwnProperty.call(o, k) ? o[k] : undefined;
}

/**
 * Sets the own, enumerable property `k` of `o` — also for k = "__proto__", which a plain
 * assignment would turn into a prototype change.
 */
export function setOwn(o: Dict, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

/** A plain (non-array) object, or undefined. */
function asObject(v: unknown): Dict | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Dict) : undefined;
}

/** The object held by own property `k` of `parent`, created (replacing a non-object) when missing. */
export function ownChild(parent: Dict, k: string): Dict {
  const cur = hasOwnProperty.call(parent, k) ? asObject(parent[k]) : undefined;
  if (cur) return cur;
  const created: Dict = {};
  setOwn(parent, k, created);
  return created;
}

/**
 * A deep copy of JSON-like data (objects, arrays, primitives) into plain objects, keys copied as
 * own properties whatever they are. Depth is bounded by the caller's data (parsed JSON, rendered
 * EVTX), which the readers bound.
 */
export function copyData(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyData);
  if (v !== null && typeof v === 'object') {
    const src = v as Dict;
    const out: Dict = {};
    for (const k of Object.keys(src)) setOwn(out, k, copyData(src[k]));
    return out;
  }
  return v;
}

/**
 * A constant lookup table that input keys may index: no prototype, so `TABLE["constructor"]` is
 * undefined rather than Object, and frozen.
 */
export function lookupTable<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

/**
 * Counts by a key taken from input (rule types, reasons): a plain object for printing and JSON,
 * filled with own properties only.
 */
export function countInto(counts: Record<string, number>, k: string): void {
  setOwn(counts, k, ((own(counts, k) as number | undefined) ?? 0) + 1);
}
