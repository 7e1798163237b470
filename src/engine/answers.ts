// TermAnswers between threads: an input worker that parsed an event works out what each of its
// rules' queries says about it (which term filters pass, and the passing terms' join keys), and
// the thread that runs the rules takes those answers instead of reading the event's fields again
// — so it need not parse the event at all unless something else reads it.
//
// On the wire the answers of one event's queries are one flat array of primitives, which the
// structured clone copies far more cheaply than an object per query: per query
//
//   mask            the TermAnswers mask; NOT_ANSWERED when the query cannot say (a sample, or
//                   more than MAX_ANSWERED_TERMS terms)
//   keyed           1 when join keys follow (sequences), else 0
//   per set bit of mask, lowest first, when keyed:
//     n, v1 … vn    the term's n join-key values; or KEYS_MISSING (a required key is missing:
//                   the term does not take the event), or KEYS_UNKNOWN (a key held several values)
import type { TermAnswers } from './types.js';

/** Terms a mask holds (bits 0–30). */
export const MAX_ANSWERED_TERMS = 31;
export const NOT_ANSWERED = -1;
export const KEYS_MISSING = -1;
export const KEYS_UNKNOWN = -2;

export const PASSED: TermAnswers = Object.freeze({ mask: 1 });

/**
 * Reads the answers of `count` queries from `flat`, starting at `at`, into `out` (null where a
 * query did not answer); returns where they end.
 */
export function readAnswers(flat: readonly unknown[], count: number, out: (TermAnswers | null)[], at = 0): number {
  for (let q = 0; q < count; q++) {
    const mask = flat[at++] as number;
    const keyed = flat[at++] === 1;
    if (mask === NOT_ANSWERED) {
      out[q] = null;
      continue;
    }
    if (!keyed) {
      out[q] = mask === 1 ? PASSED : { mask };
      continue;
    }
    const keys: (unknown[] | null | undefined)[] = [];
    for (let j = 0; j < MAX_ANSWERED_TERMS; j++) {
      if (((mask >>> j) & 1) === 0) {
        if (mask >>> j === 0) break;
        keys.push(undefined);
        continue;
      }
      const n = flat[at++] as number;
      if (n === KEYS_MISSING) keys.push(null);
      else if (n === KEYS_UNKNOWN) keys.push(undefined);
      else {
        const values = new Array<unknown>(n);
        for (let i = 0; i < n; i++) values[i] = flat[at++];
        keys.push(values);
      }
    }
    out[q] = { mask, keys };
  }
  return at;
}
