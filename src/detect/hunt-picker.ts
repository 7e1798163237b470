// The LinePicker (events/line-picker.ts) of a thread that reads and routes a hunt's parts of a
// file: an input worker's (parallel/worker.ts) and the main thread's own parts (hunt.ts,
// parallel/chunks.ts LocalParts). Its fields are those anything reads from a picked document on
// that thread: every accessor made once the router is built (the rules' anchors, conditions,
// exceptions, filters, timestamp overrides), the fields of every rule's query (a query taken from
// the outline cache compiles when an event first reaches it, making its accessors only then), the
// rules' time, category and tiebreaker fields, and the reader's own (PICK_READER_FIELDS).
import { accessorNames, fieldAccessor, type FieldWalker } from '../engine/fields.js';
import { LinePicker } from '../events/line-picker.js';
import { PICK_READER_FIELDS } from '../events/sources.js';
import { queryFieldNames, ruleCompileOptions, type PrepareOptions, type PreparedRule } from './router.js';

export class HuntPicker {
  private constructor(
    readonly picker: LinePicker,
    /** Accessors made when the picker was built: one made later must read a field it picks (check). */
    private accessors: number,
  ) {}

  /**
   * The picker of a thread whose router for `prepared` is built, or null when lines are read
   * whole (EQLITE_PICK=off, or no WebAssembly here). A query's fields come from its outline
   * (PreparedRule.fields) or, without one, from its text parsed now (0.2–0.4 s for every rule).
   */
  static create(prepared: readonly PreparedRule[], prepare: Pick<PrepareOptions, 'timestampField' | 'maxSignals' | 'mapping'>, timestampField: string, tiebreakerField: string | null): HuntPicker | null {
    if (process.env.EQLITE_PICK === 'off') return null;
    if (tiebreakerField !== null) fieldAccessor(tiebreakerField);
    fieldAccessor(timestampField);
    const names = new Set(accessorNames());
    const made = accessorNames().length;
    for (const p of prepared) {
      const rule = p.rule;
      const o = ruleCompileOptions(rule, prepare);
      names.add(o.timestampField ?? '@timestamp');
      names.add(o.eventCategoryField ?? 'event.category');
      if (o.tiebreakerField) names.add(o.tiebreakerField);
      if (p.fields !== undefined) {
        for (const f of p.fields) names.add(f);
        continue;
      }
      try {
        for (const f of queryFieldNames(rule.query!)) names.add(f);
      } catch {
        // (A query that does not parse was not prepared.)
      }
    }
    const picker = LinePicker.create([...names, ...PICK_READER_FIELDS]);
    return picker === null ? null : new HuntPicker(picker, made);
  }

  /**
   * Has the picker make `walker`'s walk of each document as it builds it (LinePicker.walkWith):
   * the walker of the router that routes this thread's picked events. EQLITE_BUILT_WALK=off leaves
   * the walking to the router (to compare).
   */
  walkWith(walker: FieldWalker): void {
    if (process.env.EQLITE_BUILT_WALK !== 'off') this.picker.walkWith(walker);
  }

  /**
   * Fails (throws) when an accessor was made since the picker was built for a field it does not
   * pick (a field read lazily): documents picked before then may lack it. Nothing in eqlite does
   * so; this keeps it so. Only where every accessor may read the picked documents (an input
   * worker): the main thread makes accessors for alerts and its rules' runs, which read the
   * events' whole documents.
   */
  check(): void {
    const names = accessorNames();
    if (names.length === this.accessors) return;
    for (let i = this.accessors; i < names.length; i++) {
      if (!this.picker.picks(names[i]!)) throw new Error(`internal: field ${names[i]} is read but was not picked from the lines (EQLITE_PICK=off reads them whole)`);
    }
    this.accessors = names.length;
  }
}
