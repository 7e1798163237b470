// Which Windows document shapes need mapping to ECS on read, decided from a few property reads.
// Kept apart from the mappings (index.ts and the modules it loads), so that reading ECS NDJSON
// loads only this: the mapping modules are imported the first time a document needs them.
import { type Doc, obj } from './common.js';

/**
 * True for an NXLog im_msvistalog document: EventID and Channel at the top level, with NXLog's
 * Hostname or SourceName, and no Winlogbeat `winlog` object or ECS categorisation.
 */
export function isNxlogDocument(doc: Doc): boolean {
  const id = doc.EventID;
  if ((typeof id !== 'number' && typeof id !== 'string') || id === '') return false;
  if (typeof doc.Channel !== 'string') return false;
  if (typeof doc.Hostname !== 'string' && typeof doc.SourceName !== 'string') return false;
  if (doc.winlog !== undefined || doc['winlog.event_id'] !== undefined) return false;
  const event = obj(doc.event);
  return (event ? event.category : doc['event.category']) === undefined;
}

/**
 * True for a document that carries Windows event data (winlog.event_id plus channel or provider)
 * but not the ECS categorisation the ingest pipelines add. A cheap check: a few property reads,
 * for nested or flat dotted documents.
 */
export function isUnmappedWinlogDocument(doc: Record<string, unknown>): boolean {
  const winlog = obj(doc.winlog);
  const eventId = winlog ? winlog.event_id : doc['winlog.event_id'];
  if (eventId === undefined || eventId === null || eventId === '') return false;
  const hasSource = winlog
    ? winlog.channel !== undefined || winlog.provider_name !== undefined
    : doc['winlog.channel'] !== undefined || doc['winlog.provider_name'] !== undefined;
  if (!hasSource) return false;
  const event = obj(doc.event);
  const category = event ? event.category : doc['event.category'];
  const type = event ? event.type : doc['event.type'];
  return category === undefined && type === undefined;
}

/**
 * True for a RawWindowsEvent as JSON (`eqlite convert --raw` output, or what the Windows XML reader
 * produces): System with EventID and Channel.
 */
export function isRawWindowsEvent(doc: Record<string, unknown>): boolean {
  const sys = obj(doc.System);
  return sys !== undefined && sys.EventID !== undefined && typeof sys.Channel === 'string' && doc.event === undefined;
}

/** The Windows shapes that are mapped to ECS on read; see windowsShapeOf. */
export type WindowsShape = 'winlogbeat' | 'nxlog' | 'raw';

/**
 * Which Windows document shape needs mapping to ECS, or null for a document that does not (ECS
 * already, or not a Windows event). Cheap: a few property reads.
 */
export function windowsShapeOf(doc: Record<string, unknown>): WindowsShape | null {
  if (doc.EventID !== undefined) return isNxlogDocument(doc) ? 'nxlog' : null;
  if (doc.System !== undefined) return isRawWindowsEvent(doc) ? 'raw' : null;
  return isUnmappedWinlogDocument(doc) ? 'winlogbeat' : null;
}

