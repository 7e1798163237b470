// Nesting depth of parsed JSON-like values, measured without recursion (a value nested 100,000
// levels, which JSON.parse accepts, must not overflow the stack of the code that checks it).

/** Whether `v` nests objects or arrays more than `limit` levels deep (a scalar is depth 0). */
export function nestedDeeperThan(v: unknown, limit: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  const stack: [object, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [o, d] = stack.pop()!;
    if (d > limit) return true;
    const children = Array.isArray(o) ? o : Object.values(o);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return false;
}
