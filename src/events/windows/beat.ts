// The "beat stage": what Winlogbeat / Elastic Agent put in a document before any ingest pipeline
// (beats winlogbeat/eventlog Record.ToEvent). Both inputs are brought to this shape first, so an
// EVTX record and the same event received raw from a shipper go through one mapping.
import type { RawWindowsEvent } from '../../evtx/types.js';
import { KEYWORD_BITS, LEVELS, OPCODES, SECURITY_TASKS, SYSMON_TASKS, WELL_KNOWN_SIDS } from './tables.js';
import { type Doc, obj, SECURITY_PROVIDER, str, SYSMON_PROVIDER, toLong } from './common.js';
import { copyData, setOwn } from '../../util/own.js';

export { SECURITY_PROVIDER, SYSMON_PROVIDER };

/** Rendered keyword names of a Keywords mask such as `0x8020000000000000`. */
export function renderKeywords(mask: string | undefined): string[] | undefined {
  if (mask === undefined || !/^0[xX][0-9a-fA-F]{1,16}$/.test(mask)) return undefined;
  const v = BigInt(mask);
  const out: string[] = [];
  for (const [bit, name] of KEYWORD_BITS) if ((v & bit) !== 0n) out.push(name);
  return out.length > 0 ? out : undefined;
}

/** Task name as Winlogbeat renders it from the manifest; the shipped tables cover Sysmon and Security. */
function renderTask(provider: string | undefined, task: string | undefined): string | undefined {
  if (task === undefined) return undefined;
  if (provider === SYSMON_PROVIDER) return SYSMON_TASKS[task];
  if (provider === SECURITY_PROVIDER) return SECURITY_TASKS[task];
  return undefined;
}

/**
 * TimeCreated as an ISO string: kept digit for digit (Windows writes 7 fractional digits, some
 * renderers 9); only a missing zone gets a `Z`, since SystemTime is always UTC.
 */
export function normalizeSystemTime(t: string | undefined): string | undefined {
  if (t === undefined || t === '') return undefined;
  const s = t.trim().replace(' ', 'T');
  return /(?:Z|[+-]\d{2}:?\d{2})$/i.test(s) ? s : s + 'Z';
}

/** Winlogbeat's `winlog.event_data`: named values; null and empty values are not sent. */
function eventDataOf(data: RawWindowsEvent['EventData']): Doc | undefined {
  if (!data) return undefined;
  const out: Doc = {};
  for (const k of Object.keys(data)) {
    const v = data[k];
    if (v === null || v === undefined || v === '') continue;
    setOwn(out, k, Array.isArray(v) ? [...v] : v);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The document Winlogbeat would ship for this record (before any pipeline): `winlog.*`,
 * `event.code/provider/action/kind/outcome`, `host.name`, `log.level`, `@timestamp`.
 */
export function rawToBeatDocument(raw: RawWindowsEvent): Doc {
  const sys = raw.System;
  const provider = sys.Provider?.Name;
  const winlog: Doc = { api: 'wineventlog', channel: sys.Channel, computer_name: sys.Computer };
  winlog.event_id = String(sys.EventID).trim();
  if (provider) winlog.provider_name = provider;
  if (sys.Provider?.Guid) winlog.provider_guid = sys.Provider.Guid;
  if (sys.EventRecordID !== undefined && sys.EventRecordID !== '') winlog.record_id = String(sys.EventRecordID);
  const version = toLong(sys.Version);
  if (version !== undefined) winlog.version = version;
  const task = renderTask(provider, sys.Task);
  if (task) winlog.task = task;
  const opcode = sys.Opcode !== undefined ? OPCODES[sys.Opcode] : undefined;
  if (opcode) winlog.opcode = opcode;
  const keywords = renderKeywords(sys.Keywords);
  if (keywords) winlog.keywords = keywords;
  if (sys.Correlation?.ActivityID) winlog.activity_id = sys.Correlation.ActivityID;
  if (sys.Correlation?.RelatedActivityID) winlog.related_activity_id = sys.Correlation.RelatedActivityID;
  const pid = toLong(sys.Execution?.ProcessID);
  const tid = toLong(sys.Execution?.ThreadID);
  if (pid !== undefined || tid !== undefined) {
    const p: Doc = {};
    if (pid !== undefined) p.pid = pid;
    if (tid !== undefined) p.thread = { id: tid };
    winlog.process = p;
  }
  const sid = sys.Security?.UserID;
  if (sid) {
    const known = WELL_KNOWN_SIDS[sid];
    winlog.user = known ? { identifier: sid, ...known } : { identifier: sid };
  }
  const time = normalizeSystemTime(sys.TimeCreated);
  if (time) winlog.time_created = time;
  const level = sys.Level !== undefined ? LEVELS[sys.Level] : undefined;
  if (level) winlog.level = level;
  const ed = eventDataOf(raw.EventData);
  if (ed) winlog.event_data = ed;
  if (raw.UserData && Object.keys(raw.UserData).length > 0) winlog.user_data = copyData(raw.UserData);

  const event: Doc = { kind: 'event', code: winlog.event_id };
  if (provider) event.provider = provider;
  if (task) event.action = task;
  const outcome = outcomeOf(keywords);
  if (outcome) event.outcome = outcome;
  const doc: Doc = {};
  if (time) doc['@timestamp'] = time;
  doc.event = event;
  // host.* is the collecting machine's metadata, set after the pipelines (see hostNameOf).
  if (level) doc.log = { level };
  doc.winlog = winlog;
  return doc;
}

/** The beat sets event.outcome from the Security audit keywords. */
function outcomeOf(keywords: string[] | undefined): string | undefined {
  if (!keywords) return undefined;
  if (keywords.includes('Audit Success')) return 'success';
  if (keywords.includes('Audit Failure')) return 'failure';
  return undefined;
}

/**
 * A shipper document (Winlogbeat or Agent output read from NDJSON) brought to the beat-stage shape:
 * deep-copied (the caller's object is never mutated), ids as strings, empty event_data values
 * dropped, missing beat fields filled from `winlog.*`.
 */
export function normalizeBeatDocument(input: Doc): Doc {
  const doc = copyData(input) as Doc;
  const winlog = obj(doc.winlog) ?? {};
  doc.winlog = winlog;
  for (const k of ['event_id', 'record_id'] as const) {
    if (typeof winlog[k] === 'number') winlog[k] = String(winlog[k]);
  }
  const ed = obj(winlog.event_data);
  if (ed) {
    for (const [k, v] of Object.entries(ed)) if (v === null || v === undefined || v === '') delete ed[k];
    if (Object.keys(ed).length === 0) delete winlog.event_data;
  }
  if (winlog.time_created === undefined && typeof doc['@timestamp'] === 'string') {
    winlog.time_created = doc['@timestamp'];
  }
  if (winlog.level === undefined) {
    const level = str(obj(doc.log)?.level);
    if (level) winlog.level = level;
  }
  if (!winlog.api) winlog.api = 'wineventlog';
  const event = obj(doc.event) ?? {};
  doc.event = event;
  if (event.code === undefined && winlog.event_id !== undefined) event.code = String(winlog.event_id);
  if (typeof event.code === 'number') event.code = String(event.code);
  if (event.provider === undefined && typeof winlog.provider_name === 'string') event.provider = winlog.provider_name;
  if (event.action === undefined && typeof winlog.task === 'string' && winlog.task !== '') event.action = winlog.task;
  if (event.kind === undefined) event.kind = 'event';
  if (event.outcome === undefined) {
    const kw = Array.isArray(winlog.keywords) ? (winlog.keywords as unknown[]).filter((x): x is string => typeof x === 'string') : undefined;
    const outcome = outcomeOf(kw);
    if (outcome) event.outcome = outcome;
  }
  // A shipper's host.* (add_host_metadata) is kept; what is missing is filled after the pipelines.
  if (obj(doc.host) === undefined) delete doc.host;
  return doc;
}
