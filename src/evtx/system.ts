// The event's System object, built the same way whether the record was resolved to an XML
// tree (render.ts) or is read straight from its template instance (direct.ts): both hand over
// System's child elements and a reader for them.

import type { RawWindowsEvent } from './types.js';

/** How the builder reads a child element of System. */
export interface ElementReader<C> {
  name(c: C): string;
  /** Concatenated text content (nested elements contribute their text). */
  text(c: C): string;
  /** The first written attribute of that name. */
  attr(c: C, name: string): string | undefined;
  /** Each written attribute, in order. */
  eachAttr(c: C, fn: (name: string, value: string) => void): void;
}

export type RawSystem = RawWindowsEvent['System'];

/** System with its required keys empty: for a record without a System element. */
export function emptySystem(): RawSystem {
  return { Provider: {}, EventID: '', TimeCreated: '', EventRecordID: '', Channel: '', Computer: '' };
}

/**
 * System from its child elements, in document order. Key order follows the elements (and,
 * within Provider, the attributes), so both paths give the same JSON; a repeated element
 * overwrites the earlier one's value.
 */
export function buildSystem<C>(kids: readonly C[], r: ElementReader<C>): RawSystem {
  const out = emptySystem();
  for (const c of kids) {
    const name = r.name(c);
    switch (name) {
      case 'Provider': {
        const p: RawSystem['Provider'] = {};
        r.eachAttr(c, (n, v) => {
          if (n === 'Name') p.Name = v;
          else if (n === 'Guid') p.Guid = v;
          else if (n === 'EventSourceName') p.EventSourceName = v;
        });
        out.Provider = p;
        break;
      }
      case 'EventID': {
        out.EventID = r.text(c);
        const q = r.attr(c, 'Qualifiers');
        if (q !== undefined) out.Qualifiers = q;
        break;
      }
      case 'Version':
      case 'Level':
      case 'Task':
      case 'Opcode':
      case 'Keywords':
      case 'EventRecordID':
      case 'Channel':
      case 'Computer':
        out[name] = r.text(c);
        break;
      case 'TimeCreated':
        out.TimeCreated = r.attr(c, 'SystemTime') ?? '';
        break;
      case 'Correlation':
        out.Correlation = attrsOf(c, r, 'ActivityID', 'RelatedActivityID');
        break;
      case 'Execution':
        out.Execution = attrsOf(c, r, 'ProcessID', 'ThreadID');
        break;
      case 'Security':
        out.Security = attrsOf(c, r, 'UserID');
        break;
    }
  }
  return out;
}

/** The named attributes that are written, as name → value in the order named. */
function attrsOf<C>(c: C, r: ElementReader<C>, ...names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = r.attr(c, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}
