// Field access that behaves like Elasticsearch's view of a document: `process.name` finds the value
// whether the source nests objects (`{"process":{"name":…}}`), uses flat dotted keys
// (`{"process.name":…}`) or mixes both, and arrays of objects along the path are flattened into
// one multi-valued field (`{"a":[{"b":1},{"b":2}]}` gives a.b = [1, 2]).

export type Accessor = (source: Record<string, unknown>) => unknown;

const cache = new Map<string, Accessor>();

/**
 * Returns a function reading `name` from a source document: the value, an array when the field is
 * multi-valued, or undefined when absent. Accessors are cached per name.
 */
export function fieldAccessor(name: string): Accessor {
  let fn = cache.get(name);
  if (!fn) {
    fn = buildAccessor(name);
    cache.set(name, fn);
  }
  return fn;
}

/** One-off read; prefer `fieldAccessor` on hot paths. */
export function getField(source: Record<string, unknown>, name: string): unknown {
  return fieldAccessor(name)(source);
}

function buildAccessor(name: string): Accessor {
  const parts = name.split('.');
  if (parts.length === 1) {
    return (source) => (Object.prototype.hasOwnProperty.call(source, name) ? source[name] : undefined);
  }
  // Fast path: plain nested objects with no arrays on the way, which is what most JSON logs are.
  // Anything unusual (missing step, flat key, array) falls back to the general lookup.
  return (source) => {
    let cur: unknown = source;
    for (let i = 0; i < parts.length; i++) {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return lookup(source, parts, 0);
      const rec = cur as Record<string, unknown>;
      const key = parts[i]!;
      // Own properties only: `constructor` or `toString` must not resolve to Object.prototype's.
      const next: unknown = Object.prototype.hasOwnProperty.call(rec, key) ? rec[key] : undefined;
      if (next === undefined) return lookup(source, parts, 0);
      cur = next;
    }
    return cur;
  };
}

/** General lookup: tries every split of the remaining path into a key and a rest. */
function lookup(obj: unknown, parts: string[], from: number): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  if (Array.isArray(obj)) {
    const out: unknown[] = [];
    for (const el of obj) {
      const v = lookup(el, parts, from);
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) out.push(...v);
      else out.push(v);
    }
    return out.length === 0 ? undefined : out.length === 1 ? out[0] : out;
  }
  const rec = obj as Record<string, unknown>;
  let key = '';
  for (let i = from; i < parts.length; i++) {
    key = i === from ? parts[i]! : key + '.' + parts[i]!;
    if (!Object.prototype.hasOwnProperty.call(rec, key)) continue;
    const v = rec[key];
    if (i === parts.length - 1) {
      if (v !== undefined) return v;
      continue;
    }
    const found = lookup(v, parts, i + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
