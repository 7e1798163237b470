// Samples: for each join key, events matching every filter, time order ignored. Like ES's
// SampleIterator, candidate documents are kept per key and filter (a bounded number, enough to
// form max_samples_per_key samples of distinct documents), then samples are built per key in
// key order (null first, then ascending), each filter taking a document no earlier filter of
// the same sample took.
import type { EventDoc } from '../events/types.js';
import type { StageSpec } from './sequence.js';
import { compareValues } from './values.js';
import { joinKeys, KeyCuts } from './join-keys.js';

/** A key part: type and value, so that 1 and "1" stay different keys. */
const encodeSampleValue = (v: unknown): string => JSON.stringify(v === null ? null : [typeof v, v]);

interface KeyState {
  values: unknown[];
  perFilter: EventDoc[][];
}

export class SampleCollector {
  private readonly keys = new Map<string, KeyState>();
  private readonly cap: number;
  /** Key combinations left out (see join-keys.ts). */
  readonly cuts = new KeyCuts();

  constructor(
    private readonly filters: StageSpec[],
    private readonly maxSamplesPerKey: number,
  ) {
    // A filter never needs more candidates than the samples it serves plus the documents the
    // other filters of one sample could take from it.
    this.cap = maxSamplesPerKey + filters.length;
  }

  push(ev: EventDoc): void {
    for (let f = 0; f < this.filters.length; f++) {
      const stage = this.filters[f]!;
      if (!stage.filter(ev)) continue;
      // A multi-valued key puts the event in one bucket per value (per combination of values
      // with several keys), as ES's composite aggregation over the keys does.
      const combos = joinKeys(stage, ev, encodeSampleValue, this.cuts);
      if (!combos) continue;
      for (const { key, values } of combos) {
        let st = this.keys.get(key);
        if (!st) {
          st = { values, perFilter: this.filters.map(() => []) };
          this.keys.set(key, st);
        }
        const list = st.perFilter[f]!;
        if (list.length < this.cap) list.push(ev);
      }
    }
  }

  /** Samples in key order, at most max_samples_per_key per key. */
  results(): { keyValues: unknown[]; events: EventDoc[] }[] {
    const states = [...this.keys.values()].filter((s) => s.perFilter.every((l) => l.length > 0));
    states.sort((a, b) => compareKeys(a.values, b.values));
    const out: { keyValues: unknown[]; events: EventDoc[] }[] = [];
    for (const st of states) {
      let made = 0;
      const chosen: EventDoc[] = [];
      const walk = (f: number): boolean => {
        if (f === st.perFilter.length) {
          out.push({ keyValues: st.values, events: [...chosen] });
          return ++made >= this.maxSamplesPerKey;
        }
        for (const ev of st.perFilter[f]!) {
          if (chosen.includes(ev)) continue;
          chosen.push(ev);
          const stop = walk(f + 1);
          chosen.pop();
          if (stop) return true;
        }
        return false;
      };
      walk(0);
    }
    return out;
  }
}

function compareKeys(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    const c = compareValues(x, y, typeof x === typeof y ? 'auto' : 'string');
    if (c) return c;
  }
  return 0;
}
