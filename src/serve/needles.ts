// Which documents of a wanted index no rule can use, told from their bytes without scanning them.
// The rules' needles (RuleRouter.needles, engine/needles.ts) are strings that the JSON text of
// every event some rule can use contains, compared case-insensitively: a document holding none of
// them cannot pass any rule's filter, so it is stored without its dispatch fields being picked
// and without being checked on the main thread — the store's writer thread checks it, as it
// checks the documents of indices no rule reads. The reasoning is the one of `eqlite hunt`'s
// line filter (events/prefilter.ts), minus what only a hunt needs (a time to merge by): a
// document is left to the usual path when it holds a needle, a `\uXXXX` or `\/` escape (either
// could spell a needle's characters otherwise), or a character outside ASCII whose lower case
// holds an ASCII letter (EQL's case-insensitive comparison folds them into a needle's letters).
//
// A document is searched with one regular expression over a latin1 view of its bytes (one
// character per byte, made without decoding UTF-8; every pattern is ASCII, and in UTF-8 an ASCII
// byte is always that character). The search costs about a third of the scan it spares (2.6 µs
// against 7–9 for a 2.6 KB document), so it is made only where it can spare the whole scan: not
// on a document that may be a raw Windows event (it holds a winlog event id key), which is
// scanned whatever the needles say, to be mapped to ECS if it is one. When most documents hold a
// needle anyway the search costs more than it saves: the filter follows the share it spared, per
// rule generation, and stops searching when under a quarter were.
import { caseless, escapeAt, FOLDS_TO_ASCII_LATIN1, MAX_NEEDLES } from '../events/prefilter.js';

/** Documents a filter is tried on, and how many of them it must spare to stay on. */
const TRIAL = 4096;
const MIN_SPARED = TRIAL / 4;

/** Per rule generation (its needles array): the search and whether it still pays. */
export class NeedleFilter {
  private readonly search: RegExp;
  /** Documents looked up, and those found without a needle, since the trial began. */
  private seen = 0;
  private spared = 0;
  /** Turned off after a trial that spared too few documents. */
  off = false;

  constructor(needles: readonly string[]) {
    // The needles, and an escape `\u` or `\/` (its backslashes are counted apart).
    this.search = new RegExp([...needles.map(caseless), '\\\\[u/]'].join('|'), 'g');
  }

  /**
   * Whether bytes [start, end) of `buf` hold a needle, an escape `\u` or `\/`, or a character
   * folding to ASCII (then the document may be of use to a rule).
   */
  holds(buf: Buffer, start: number, end: number): boolean {
    // (A view of this document only: one of the whole part, megabytes long, would be made in
    // the old generation and cost the garbage collector's helper threads more than it saves.)
    const doc = buf.toString('latin1', start, end);
    const re = this.search;
    re.lastIndex = 0;
    for (let m = re.exec(doc); m !== null; m = re.exec(doc)) {
      // (`\u` or `\/`: an escape unless its backslash is itself escaped.)
      // (The view's positions are the bytes': a document starts after a newline, so no
      // backslash before it can escape one inside it.)
      if (m[0].length !== 2 || escapeAt(doc, m.index)) return true;
      re.lastIndex = m.index + 1;
    }
    for (const c of FOLDS_TO_ASCII_LATIN1) if (doc.includes(c)) return true;
    return false;
  }

  /** Counts a document looked up (spared: no hit in it); turns the filter off when it does not pay. */
  record(spared: boolean): void {
    if (spared) this.spared++;
    if (++this.seen === TRIAL) {
      if (this.spared < MIN_SPARED) this.off = true;
      this.seen = this.spared = 0;
    }
  }
}

const filters = new WeakMap<readonly string[], NeedleFilter | null>();

/** The filter for a rule generation's needles; null when there is none to use (a rule has no needle, or there are too many). */
export function needleFilter(needles: readonly string[] | null): NeedleFilter | null {
  if (needles === null || needles.length > MAX_NEEDLES) return null;
  let f = filters.get(needles);
  if (f === undefined) filters.set(needles, (f = new NeedleFilter(needles)));
  return f;
}
