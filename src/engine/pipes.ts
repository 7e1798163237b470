// `| head N` / `| tail N` and the request's `size`, applied while results stream in: the first
// head only keeps N results (and tells the producer to stop), the first tail keeps a ring of N;
// later pipes work on that bounded list.
import type { Pipe } from '../eql/ast.js';

export class ResultWindow<T> {
  private readonly items: T[] = [];
  private readonly first: Pipe | null;
  private readonly rest: Pipe[];
  private readonly size: number;
  private total = 0;
  /** With only heads (or none), results are final as they come: streamed to the sink. */
  private readonly streamLimit: number | null;
  private streamed = 0;
  /** With a leading tail: index of the oldest item in the ring. */
  private ringStart = 0;

  constructor(
    pipes: Pipe[],
    size?: number,
    private readonly sink?: (item: T) => void,
  ) {
    this.first = pipes[0] ?? null;
    this.rest = pipes.slice(1);
    this.size = size ?? Infinity;
    this.streamLimit = sink && pipes.every((p) => p.kind === 'head') ? Math.min(this.size, ...pipes.map((p) => p.count)) : null;
  }

  /** True once more input cannot change the output (a leading head is full). */
  get full(): boolean {
    if (this.streamLimit !== null) return this.streamed >= this.streamLimit;
    if (this.first?.kind === 'head') return this.items.length >= this.first.count;
    if (!this.first && this.size !== Infinity) return this.items.length >= this.size;
    return false;
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
    if (this.first?.kind === 'tail') {
      const n = this.first.count;
      if (n === 0) return;
      // A ring of the last n items: O(1) per item however long the stream.
      if (this.items.length < n) this.items.push(item);
      else {
        this.items[this.ringStart] = item;
        this.ringStart = (this.ringStart + 1) % n;
      }
      return;
    }
    if (!this.full) this.items.push(item);
  }

  /** Items offered so far, including those a pipe dropped. */
  get seen(): number {
    return this.total;
  }

  /** The final results; when streaming to a sink they were already delivered and this is empty. */
  result(): T[] {
    if (this.streamLimit !== null) return [];
    let out = this.ringStart === 0 ? this.items : [...this.items.slice(this.ringStart), ...this.items.slice(0, this.ringStart)];
    for (const p of this.rest) out = p.kind === 'head' ? out.slice(0, p.count) : p.count === 0 ? [] : out.slice(-p.count);
    return out.length > this.size ? out.slice(0, this.size) : out;
  }
}
