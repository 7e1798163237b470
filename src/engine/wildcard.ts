// EQL wildcard patterns: `*` is any run of characters, `?` exactly one; everything else, backslash
// included, is literal (Windows paths are written `C:\\Windows\\*` and must keep their backslashes).

export type StringTest = (value: string) => boolean;

/** Whether a pattern contains wildcard characters at all. */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/**
 * Compiles one pattern (already lower-cased by the caller for case-insensitive matching).
 * Common shapes get dedicated tests so that the hot path is a single string method call.
 */
export function compileWildcard(pattern: string): StringTest {
  if (!hasWildcard(pattern)) return (v) => v === pattern;
  if (!pattern.includes('?')) {
    const pieces = pattern.split('*');
    if (pieces.length === 2) {
      const [head, tail] = pieces as [string, string];
      if (tail === '') return head === '' ? () => true : (v) => v.startsWith(head);
      if (head === '') return (v) => v.endsWith(tail);
      const min = head.length + tail.length;
      return (v) => v.length >= min && v.startsWith(head) && v.endsWith(tail);
    }
    if (pieces.length === 3 && pieces[0] === '' && pieces[2] === '') {
      const mid = pieces[1]!;
      return (v) => v.includes(mid);
    }
    return (v) => matchStars(v, pieces);
  }
  return (v) => matchGeneral(v, pattern);
}

/** `a*b*c`: anchored first and last piece, greedy-leftmost search for the middle pieces. */
function matchStars(v: string, pieces: string[]): boolean {
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (v.length < first.length + last.length || !v.startsWith(first) || !v.endsWith(last)) return false;
  let pos = first.length;
  const end = v.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const p = pieces[i]!;
    if (p === '') continue;
    const at = v.indexOf(p, pos);
    if (at < 0 || at + p.length > end) return false;
    pos = at + p.length;
  }
  return true;
}

/**
 * Iterative matcher with single-star backtracking: O(len(v) × len(p)) at worst, never exponential,
 * whatever the pattern.
 */
function matchGeneral(v: string, p: string): boolean {
  let vi = 0;
  let pi = 0;
  let starP = -1;
  let starV = 0;
  while (vi < v.length) {
    const pc = pi < p.length ? p.charCodeAt(pi) : -1;
    if (pc === 63 /* ? */ || (pc !== 42 && pc === v.charCodeAt(vi))) {
      // A `?` consumes a whole surrogate pair, as Lucene counts code points.
      if (pc === 63 && isHighSurrogate(v.charCodeAt(vi)) && vi + 1 < v.length) vi++;
      vi++;
      pi++;
    } else if (pc === 42 /* * */) {
      starP = pi++;
      starV = vi;
    } else if (starP >= 0) {
      pi = starP + 1;
      vi = ++starV;
    } else {
      return false;
    }
  }
  while (pi < p.length && p.charCodeAt(pi) === 42) pi++;
  return pi === p.length;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/**
 * Compiles a list of patterns into one test: exact strings become a Set lookup, the rest are
 * tried in order.
 */
export function compileWildcardList(patterns: string[]): StringTest {
  const exact = new Set<string>();
  const tests: StringTest[] = [];
  for (const p of patterns) {
    if (hasWildcard(p)) tests.push(compileWildcard(p));
    else exact.add(p);
  }
  if (tests.length === 0) {
    if (exact.size === 1) {
      const only = [...exact][0]!;
      return (v) => v === only;
    }
    return (v) => exact.has(v);
  }
  if (exact.size === 0 && tests.length === 1) return tests[0]!;
  return (v) => {
    if (exact.has(v)) return true;
    for (let i = 0; i < tests.length; i++) if (tests[i]!(v)) return true;
    return false;
  };
}
