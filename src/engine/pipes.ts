// `| head N` / `| tail N` and the request's `size`/`result_position`, applied while results
// stream in. Elasticsearch's LogicalPlanBuilder turns the request into limits:
//   * no pipe: Head(size) for result_position=head, Tail(size) for tail (the default);
//   * otherwise the first head/tail pipe gets a default limit OF ITS OWN KIND beneath it
//     (`| tail 5` with size 3 keeps the last 3), then the pipes apply left to right.
// The first limit decides the streaming state: a head keeps the first N (and tells the producer to
// stop), a tail keeps a ring of the last N, so memory stays bounded however many results come.
// Later limits work on that bounded list.
import type { Pipe } from '../eql/ast.js';

export type ResultPosition = 'head' | 'tail';

interface Limit {
  kind: 'head' | 'tail';
  count: number;
}

export class ResultWindow<T> {
  private readonly items: T[] = [];
  private readonly first: Limit | null;
  private readonly rest: Limit[];
  private total = 0;
  /** With only heads (or none), results are final as they come: streamed to the sink. */
  private readonly streamLimit: number | null;
  private streamed = 0;
  /** With a leading tail: index of the oldest item in the ring. */
  private ringStart = 0;

  /**
   * `size` undefined means no default limit (a library caller that wants every result); `position`
   * is the request's result_position (default tail, as Elasticsearch).
   */
  constructor(
    pipes: Pipe[],
    size?: number,
    position: ResultPosition = 'tail',
    private readonly sink?: (item: T) => void,
  ) {
    const limits: Limit[] = pipes.map((p) => ({ kind: p.kind, count: p.count }));
    if (size !== undefined && size !== Infinity) limits.unshift({ kind: limits[0]?.kind ?? position, count: size });
    this.first = limits[0] ?? null;
    this.rest = limits.slice(1);
    this.streamLimit = sink && limits.every((l) => l.kind === 'head') ? Math.min(Infinity, ...limits.map((l) => l.count)) : null;
  }

  /**
   * True once more input cannot change the output: a leading head is full and one more result
   * came (so `cut` can tell that results were dropped).
   */
  get full(): boolean {
    if (this.streamLimit !== null) return this.total > this.streamLimit;
    if (this.first?.kind === 'head') return this.total > this.first.count;
    return false;
  }

  /** True when a limit dropped results. */
  get cut(): boolean {
    if (this.streamLimit !== null) return this.total > this.streamLimit;
    return this.total > this.result().length;
  }

  add(item: T): void {
    this.total++;
    if (this.streamLimit !== null) {
      if (this.streamed < this.streamLimit) {
        this.streamed++;
        this.sink!(item);
      }
      return;
    }
    const first = this.first;
    if (first?.kind === 'tail') {
      const n = first.count;
      if (n === 0) return;
      // A ring of the last n items: O(1) per item however long the stream.
      if (this.items.length < n) this.items.push(item);
      else {
        this.items[this.ringStart] = item;
        this.ringStart = (this.ringStart + 1) % n;
      }
      return;
    }
    if (this.items.length < (first ? first.count : Infinity)) this.items.push(item);
  }

  /** Items offered so far, including those a limit dropped (a full head stops counting when its producer stops). */
  get seen(): number {
    return this.total;
  }

  /** The final results; when streaming to a sink they were already delivered and this is empty. */
  result(): T[] {
    if (this.streamLimit !== null) return [];
    let out = this.ringStart === 0 ? this.items : [...this.items.slice(this.ringStart), ...this.items.slice(0, this.ringStart)];
    for (const l of this.rest) out = l.kind === 'head' ? out.slice(0, l.count) : l.count === 0 ? [] : out.slice(-l.count);
    return out;
  }
}
