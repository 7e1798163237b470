// The route lists of whole events (EventDoc.routed) as the main thread makes them from a batch's
// columns (ForwardedColumns.routes): one array per distinct list, shared by every event with that
// list, instead of one per event. Events with the same rules recur all the time (the same kinds of
// events from the same data streams), and an event a rule keeps (a sequence's first stage, a
// rule's last matches) kept its own copy with it: about 70 bytes of every kept event, copied by
// each scavenge it survived.

/** Lists remembered at most; past it the table starts again (a few thousand occur in a hunt). */
export const MAX_ROUTE_LISTS = 16_384;

export class RouteLists {
  /** By hash of the list's numbers: the lists with that hash. */
  private readonly byHash = new Map<number, number[][]>();
  private count = 0;

  /** Lists remembered now (tests). */
  get size(): number {
    return this.count;
  }

  /**
   * The list routes[from], …, routes[to - 1], as an array shared with every earlier equal list
   * (its callers only read it).
   */
  take(routes: Int32Array, from: number, to: number): readonly number[] {
    let h = to - from;
    for (let i = from; i < to; i++) h = (Math.imul(h, 31) + routes[i]!) | 0;
    let lists = this.byHash.get(h);
    if (lists !== undefined) {
      for (const l of lists) if (same(l, routes, from, to)) return l;
    }
    if (this.count >= MAX_ROUTE_LISTS) {
      this.byHash.clear();
      this.count = 0;
      lists = undefined;
    }
    const l = new Array<number>(to - from);
    for (let i = from; i < to; i++) l[i - from] = routes[i]!;
    if (lists === undefined) this.byHash.set(h, [l]);
    else lists.push(l);
    this.count++;
    return l;
  }
}

function same(l: readonly number[], routes: Int32Array, from: number, to: number): boolean {
  if (l.length !== to - from) return false;
  for (let i = from; i < to; i++) if (l[i - from] !== routes[i]) return false;
  return true;
}
