// The unit that flows from sources through ordering into the engine and detection.
import type { BuiltWalk, PlainScope } from '../engine/fields.js';
import type { TermAnswers } from '../engine/types.js';

/** Where an event came from, for error messages and alerts. */
export interface SourcePosition {
  file: string;
  /** 1-based line for NDJSON/JSON inputs. */
  line?: number;
  /** EVTX: 0-based chunk number and the record id. */
  chunk?: number;
  record?: number;
  /** Byte offset in the file, when known. */
  offset?: number;
}

export interface EventDoc {
  /** The document (Elasticsearch `_source`). Never mutated by the engine. */
  source: Record<string, unknown>;
  /** Index the event belongs to ('' when unknown); rules route on it. */
  index: string;
  /**
   * Document id (`_id`) given by the input; for events without one (`derivedId`), a placeholder
   * `<prefix>:<position>` naming the event in messages. The id of such an event, as alerts and
   * outputs carry it, is documentId(ev) (src/events/ids.ts): its content and position, whatever
   * the path it was read from.
   */
  id: string;
  /** The input gave no `_id`: `id` is a placeholder; use documentId(ev). */
  derivedId?: boolean;
  /**
   * `host.ip` was added from the addresses the machine revealed (events/windows/host-ip.ts), not
   * read: the derived id leaves it out, so an event has the same id whether or not the pass ran.
   */
  derivedHostIp?: boolean;
  position?: SourcePosition;
  /**
   * The event's time as parsed by the ordering stage, and the field it was read from: the engine
   * reuses it instead of parsing the timestamp a second time.
   */
  time?: { ms: number; ns: number };
  timeField?: string;
  /**
   * Set by parallel inputs (src/parallel): the consumers (rule indexes of a hunt, 0 for a single
   * query) that the worker thread found need this event; empty for events it found nobody needs
   * (those carry only their time, id and position, to keep the merge's order and checks exact).
   */
  routed?: readonly number[];
  /**
   * Set by parallel inputs beside `routed`: answers[k] is what the query of rule routed[k] says
   * about the event (CompiledQuery.answers, worked out on the worker; null where it cannot say),
   * so that the rules' runs need not read the event's fields again.
   */
  answers?: readonly (TermAnswers | null)[];
  /**
   * Set by parallel inputs: the values some fields of `source` hold (the rules' timestamp_override
   * fields), read on the worker with the same accessor; a field absent from it is read from `source`.
   */
  fieldValues?: Readonly<Record<string, unknown>>;
  /**
   * The text of each JSON number that a field of ReadOptions.numberTimeFields (the rules'
   * timestamp_override) holds, when the reader found it: Elasticsearch's date field parses a
   * number's text with its format, not its value (`2024.0` is 2,024 ms where the value 2024 reads
   * as a year; `1.7e12` is no time). A field of several values (an array, or reached through
   * one) has the texts of its numbers, in leafValues order. Absent for events holding no such number.
   */
  numberTexts?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * Set by the main thread's router when its walk marked the source plain: the mark's scope
   * (engine/fields.ts plainScopeOf), so the detection engine can mark it plain again without
   * walking it.
   */
  plain?: PlainScope;
  /**
   * The JSON text `source` was parsed from, kept only when the reader is asked to
   * (ReadOptions.keepText: an input worker sends it instead of JSON.stringify's).
   */
  text?: string;
  /**
   * With `text`, when the reader knows it (a part of a file other than its first, ReadOptions.range):
   * the line `text` came from is bytes [textAt, textAt + textBytes) of the file (without its
   * newline; blanks before `text` included).
   */
  textAt?: number;
  textBytes?: number;
  /**
   * A document read by a LinePicker (ReadOptions.pick): `source` holds only the fields that will
   * be read, so it must never stand for the event's document (an input worker sends the line's
   * place, textAt and textBytes); textChars is the length of the line's text.
   */
  picked?: true;
  textChars?: number;
  /**
   * A picked document's walk, made as it was built (LinePicker.walkWith): the router whose walker
   * made it reads the document's fields from it instead of walking the document.
   */
  walked?: BuiltWalk;
}

/** A malformed item that was skipped; sources report these instead of throwing. */
export interface SkippedItem {
  position: SourcePosition;
  reason: string;
}
