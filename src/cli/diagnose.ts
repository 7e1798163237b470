// "What to do" diagnostics after a hunt or query: inputs whose documents all lack event.category
// or a time are named with the shape they were read as and the fix, instead of leaving the user
// with "events were handed to no rule".
import { describeShape, type InputShape } from '../events/inputs.js';
import type { SkippedItem } from '../events/types.js';

/** Counts, per input file, the events skipped for having no usable time, and one hint. */
export class TimelessCounter {
  readonly byFile = new Map<string, { count: number; hint?: string }>();
  readonly add = (item: SkippedItem): void => {
    if (!/ has no \S+; skipped| has an unparseable /.test(item.reason)) return;
    let e = this.byFile.get(item.position.file);
    if (!e) this.byFile.set(item.position.file, (e = { count: 0 }));
    e.count++;
    const m = /give --timestamp-field (\S+?)\)/.exec(item.reason);
    if (m && e.hint === undefined) e.hint = m[1];
  };
}

const WINDOWS = new Set(['EVTX', 'Windows XML', 'NXLog JSON', 'Winlogbeat/Agent (winlog.*)', 'RawWindowsEvent JSON']);

export function shapeWarnings(inputs: { file: string; shape: InputShape }[], timeless: TimelessCounter, timestampField: string): string[] {
  const out: string[] = [];
  for (const { file, shape } of inputs) {
    if (shape.docs === 0) continue;
    const as = describeShape(shape);
    if (shape.noCategory === shape.docs) {
      const windows = Object.keys(shape.shapes).every((k) => WINDOWS.has(k));
      out.push(
        `${file}: none of its ${shape.docs} document(s) has event.category (read as ${as}); EQL rules and queries select events by category, so only "any where …" sees them — ` +
          (windows
            ? "Elastic's pipelines give these channels no category either: query them with any where and the winlog.* fields"
            : 'give ECS documents (as Elastic Agent, Beats or their ingest pipelines write them), or Windows events as EVTX, XML, NXLog JSON or Winlogbeat documents, which eqlite maps to ECS'),
      );
    }
    const t = timeless.byFile.get(file);
    if (t && t.count >= shape.docs) {
      out.push(
        `${file}: none of its ${shape.docs} document(s) has a usable ${timestampField} (read as ${as}); every one was skipped — ` +
          (t.hint ? `their time seems to be in ${t.hint}: add --timestamp-field ${t.hint}` : 'name the field holding their time with --timestamp-field FIELD'),
      );
    }
  }
  return out;
}
