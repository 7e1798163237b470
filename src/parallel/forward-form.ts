// How a whole event travels from an input worker to the main thread (worker.ts): as a structured
// clone, or as JSON text that the main thread parses. JSON.parse of an Agent document costs about
// half of deserialising its structured clone (about 9 against 18 µs per document, measured on
// generated Agent data with node:v8's serializer, which postMessage uses), and JSON.stringify on
// the worker about what serialising it costs; so text is used whenever it gives back exactly the
// same document. Documents nested too deeply for the main thread's deserialiser travel as text
// too (see WorkerConfig.cloneDepth).

export const CLONE = 0;
export const JSON_TEXT = 1;
export const TOO_DEEP = 2;

/**
 * How a whole event travels to the main thread: TOO_DEEP when `v` nests objects or arrays more
 * than `budget` levels deep (stops at the first such path); JSON_TEXT when JSON.parse of its
 * JSON.stringify gives back an equal document — only plain objects, dense arrays, strings,
 * booleans, null and finite numbers other than -0, as JSON.parse makes them (documents mapped on
 * read may hold a bigint or an undefined, which JSON would change); CLONE otherwise.
 */
export function forwardForm(v: unknown, budget: number): number {
  if (budget < 0) return TOO_DEEP;
  let form = JSON_TEXT;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const f = valueForm(v[i], budget);
      if (f === TOO_DEEP) return TOO_DEEP;
      if (f === CLONE) form = CLONE;
    }
    return form;
  }
  const o = v as Record<string, unknown>;
  if (Object.getPrototypeOf(o) !== Object.prototype) form = CLONE;
  for (const k in o) {
    const f = valueForm(o[k], budget);
    if (f === TOO_DEEP) return TOO_DEEP;
    if (f === CLONE) form = CLONE;
  }
  return form;
}

function valueForm(x: unknown, budget: number): number {
  switch (typeof x) {
    case 'string':
    case 'boolean':
      return JSON_TEXT;
    case 'number':
      return Number.isFinite(x) && !(x === 0 && 1 / x < 0) ? JSON_TEXT : CLONE;
    case 'object':
      return x === null ? JSON_TEXT : forwardForm(x, budget - 1);
    default:
      return CLONE;
  }
}
