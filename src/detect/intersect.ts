// The shell alert of a sequence carries what all its building blocks agree on: Kibana's
// objectArrayIntersection / objectPairIntersection (rule_types/eql/build_alert_group_from_sequence.ts).
//
// Pairwise, left to right over the building blocks' alert documents:
//  * dotted keys and nested objects are the same field (`'user.email'` meets `user: {email}`);
//  * objects are intersected field by field; equal values (===) are kept;
//  * when either side is an array, the result is lodash's `intersection` of both as arrays — the
//    distinct elements of the left one that the right one holds (SameValueZero, so objects match
//    only when they are the same object): disjoint arrays give `[]`, `1` against `[1, 2, 3]`
//    gives `[1]`;
//  * anything else that differs is dropped; objects left empty are removed, and an intersection
//    with nothing in it is `undefined`;
//  * the result is nested, except paths that were dotted keys on both sides, which stay dotted
//    (so the building blocks' `kibana.alert.original_event.*` keys remain as they were).
// A single document is returned as it is. Walk orders follow Kibana's (stack-based, last pushed
// first), so keys come out in the same order.

type Obj = Record<string, unknown>;

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);

function isIndex(key: string | undefined): boolean {
  return key !== undefined && /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < Number.MAX_SAFE_INTEGER;
}

/** lodash `set(obj, path, value)` for a path of keys (creates objects, or arrays before an index). */
function setPath(obj: Obj, path: string[], value: unknown): void {
  if (path.some((k) => UNSAFE.has(k))) return;
  let cur: Obj = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    if (next !== null && (typeof next === 'object' || typeof next === 'function')) cur = next as Obj;
    else {
      const made: Obj = isIndex(path[i + 1]) ? ([] as unknown as Obj) : {};
      cur[k] = made;
      cur = made;
    }
  }
  cur[path[path.length - 1]!] = value;
}

function flattenWithNotation(obj: object): { pathValues: [string[], unknown][]; dotPaths: Set<string> } {
  const pathValues: [string[], unknown][] = [];
  const dotPaths = new Set<string>();
  const stack: [object, string[]][] = [[obj, []]];
  while (stack.length > 0) {
    const [o, prefix] = stack.pop()!;
    for (const [k, v] of Object.entries(o)) {
      const dotted = k.includes('.');
      const path = prefix.concat(dotted ? k.split('.') : [k]);
      if (isPlainObject(v)) stack.push([v, path]);
      else {
        pathValues.push([path, v]);
        if (dotted) dotPaths.add(path.join('.'));
      }
    }
  }
  return { pathValues, dotPaths };
}

function unflatten(pathValues: [string[], unknown][]): Obj {
  const out: Obj = {};
  for (const [path, value] of pathValues) setPath(out, path, value);
  return out;
}

/** lodash `intersection(a, b)`: distinct values of `a` that `b` includes (SameValueZero). */
export function arrayIntersection(a: readonly unknown[], b: readonly unknown[]): unknown[] {
  const inB = new Set(b);
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  for (const v of a) {
    if (seen.has(v) || !inB.has(v)) continue;
    seen.add(v);
    out.push(v);
  }
  return out;
}

const emptyOrAllUndefined = (o: Obj) => {
  for (const k in o) if (o[k] !== undefined) return false;
  return true;
};

function pruneEmptyObjects(root: Obj): void {
  const found: [Obj | null, string | null, Obj][] = [];
  const stack: [Obj | null, string | null, Obj][] = [[null, null, root]];
  while (stack.length > 0) {
    const item = stack.pop()!;
    found.push(item);
    for (const [k, v] of Object.entries(item[2])) if (isPlainObject(v)) stack.push([item[2], k, v]);
  }
  for (let i = found.length - 1; i >= 0; i--) {
    const [parent, key, o] = found[i]!;
    if (parent !== null && key !== null && emptyOrAllUndefined(o)) delete parent[key];
  }
}

/** Kibana's objectPairIntersection. */
export function objectPairIntersection(a: object | undefined, b: object | undefined): Obj | undefined {
  if (a === undefined || b === undefined) return undefined;
  const fa = flattenWithNotation(a);
  const fb = flattenWithNotation(b);
  const na = unflatten(fa.pathValues);
  const nb = unflatten(fb.pathValues);
  const nested: Obj = {};
  const stack: [Obj, Obj, Obj][] = [[nested, na, nb]];
  while (stack.length > 0) {
    const [target, x, y] = stack.pop()!;
    for (const [key, xv] of Object.entries(x)) {
      if (!Object.prototype.hasOwnProperty.call(y, key)) continue;
      const yv = y[key];
      if (isPlainObject(xv) && isPlainObject(yv)) {
        const next: Obj = {};
        target[key] = next;
        stack.push([next, xv, yv]);
      } else if (xv === yv) target[key] = xv;
      else if (Array.isArray(xv) || Array.isArray(yv)) {
        target[key] = arrayIntersection(Array.isArray(xv) ? xv : [xv], Array.isArray(yv) ? yv : [yv]);
      }
    }
  }
  pruneEmptyObjects(nested);
  if (emptyOrAllUndefined(nested)) return undefined;
  // Paths dotted on both sides stay dotted; the rest is nested.
  const out: Obj = {};
  for (const [path, value] of flattenWithNotation(nested).pathValues) {
    const p = path.join('.');
    if (fa.dotPaths.has(p) && fb.dotPaths.has(p)) out[p] = value;
    else setPath(out, path, value);
  }
  return out;
}

/** Kibana's objectArrayIntersection: undefined for none, the document itself for one. */
export function objectArrayIntersection(objects: object[]): Obj | undefined {
  if (objects.length === 0) return undefined;
  if (objects.length === 1) return objects[0] as Obj;
  let acc: Obj | undefined = objects[0] as Obj;
  for (let i = 1; i < objects.length; i++) acc = objectPairIntersection(acc, objects[i]);
  return acc;
}
