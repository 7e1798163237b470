// NXLog `im_msvistalog` documents (the shape of OTRF Security-Datasets / Mordor and of many WEC
// pipelines): one flat JSON object per event, NXLog's own fields (EventID, Channel, Hostname,
// EventTime, SourceName, …) beside the event's data fields at the top level, often with the
// fields Logstash adds (@timestamp, @version, host, port, tags). Brought to Winlogbeat's
// beat-stage shape here, then mapped like any other Windows event.
import { renderKeywords, normalizeSystemTime } from './beat.js';
import { type Doc, obj } from './common.js';
import { isNxlogDocument } from './shape.js';

export { isNxlogDocument };
import { lookupTable, setOwn } from '../../util/own.js';

/** NXLog's own fields (im_msvistalog and the core); everything else at the top level is event data. */
const NXLOG_FIELDS = new Set([
  'EventTime', 'EventTimeWritten', 'EventReceivedTime', 'SourceModuleName', 'SourceModuleType', 'Hostname',
  'EventType', 'SeverityValue', 'Severity', 'EventID', 'SourceName', 'ProviderGuid', 'Version', 'Task',
  'OpcodeValue', 'RecordNumber', 'ActivityID', 'RelatedActivityID', 'ProcessID', 'ThreadID', 'Channel',
  'Domain', 'AccountName', 'UserID', 'AccountType', 'Message', 'Category', 'Opcode', 'Keywords', 'Level',
  'Qualifiers', 'ERROR_EVT_UNRESOLVED', 'EventXML', 'MessageSourceAddress', 'Raw',
]);

/** Fields Logstash (or Filebeat) adds when it relays NXLog's output; kept or mapped, never event data. */
const SHIPPER_FIELDS = new Set(['@timestamp', '@version', 'host', 'port', 'tags', 'type', 'path', 'log', 'agent', 'ecs', 'input', 'fields']);

/** NXLog's EventType: Windows level as a name (audit events are level 0, "information"). */
const LEVEL_OF_TYPE: Readonly<Record<string, string>> = lookupTable({
  AUDIT_SUCCESS: 'information',
  AUDIT_FAILURE: 'information',
  INFO: 'information',
  WARNING: 'warning',
  ERROR: 'error',
  CRITICAL: 'critical',
  VERBOSE: 'verbose',
});

/**
 * NXLog writes Keywords as a signed 64-bit integer (-9214364837600034816 for Audit Success); as
 * a JSON number it is a double, exact in the high bits that carry the standard keywords.
 */
export function keywordsMask(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^0[xX][0-9a-fA-F]{1,16}$/.test(s)) return s;
    if (!/^-?\d+$/.test(s)) return undefined;
    v = BigInt(s);
  }
  let n: bigint;
  if (typeof v === 'number' && Number.isFinite(v) && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === 'bigint') n = v;
  else return undefined;
  if (n < 0n) n += 1n << 64n;
  if (n < 0n || n >= 1n << 64n) return undefined;
  return '0x' + n.toString(16);
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Event data values as Winlogbeat ships them: strings (NXLog may type numbers); empty ones dropped. */
function eventDataValue(v: unknown): unknown {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v;
}

/** The beat-stage document (see beat.ts) for an NXLog im_msvistalog document. The input is not modified. */
export function nxlogToBeatDocument(doc: Doc): Doc {
  const winlog: Doc = { api: 'wineventlog' };
  const channel = text(doc.Channel);
  if (channel !== undefined) winlog.channel = channel;
  const computer = text(doc.Hostname);
  if (computer !== undefined) winlog.computer_name = computer;
  winlog.event_id = String(doc.EventID).trim();
  const provider = text(doc.SourceName);
  if (provider) winlog.provider_name = provider;
  const guid = text(doc.ProviderGuid);
  if (guid) winlog.provider_guid = guid;
  const record = text(doc.RecordNumber);
  if (record) winlog.record_id = record;
  const version = typeof doc.Version === 'number' ? doc.Version : Number.parseInt(text(doc.Version) ?? '', 10);
  if (Number.isInteger(version)) winlog.version = version;
  // Category is NXLog's rendering of the task name ("Process Creation", "Process Create (rule: ProcessCreate)").
  const task = text(doc.Category);
  if (task) winlog.task = task;
  const opcode = text(doc.Opcode);
  if (opcode) winlog.opcode = opcode;
  const keywords = renderKeywords(keywordsMask(doc.Keywords));
  if (keywords) winlog.keywords = keywords;
  const activity = text(doc.ActivityID);
  if (activity) winlog.activity_id = activity;
  const related = text(doc.RelatedActivityID);
  if (related) winlog.related_activity_id = related;
  const pid = typeof doc.ProcessID === 'number' ? doc.ProcessID : Number.parseInt(text(doc.ProcessID) ?? '', 10);
  const tid = typeof doc.ThreadID === 'number' ? doc.ThreadID : Number.parseInt(text(doc.ThreadID) ?? '', 10);
  if (Number.isInteger(pid) || Number.isInteger(tid)) {
    const p: Doc = {};
    if (Number.isInteger(pid)) p.pid = pid;
    if (Number.isInteger(tid)) p.thread = { id: tid };
    winlog.process = p;
  }
  const sid = text(doc.UserID);
  if (sid) {
    const user: Doc = { identifier: sid };
    if (typeof doc.AccountName === 'string' && doc.AccountName !== '') user.name = doc.AccountName;
    if (typeof doc.Domain === 'string' && doc.Domain !== '') user.domain = doc.Domain;
    if (typeof doc.AccountType === 'string' && doc.AccountType !== '') user.type = doc.AccountType;
    winlog.user = user;
  }
  const time = normalizeSystemTime(text(doc.EventTime));
  if (time) winlog.time_created = time;
  const eventType = text(doc.EventType)?.toUpperCase();
  const level = eventType !== undefined ? LEVEL_OF_TYPE[eventType] : undefined;
  if (level) winlog.level = level;

  const ed: Doc = {};
  const out: Doc = {};
  for (const k of Object.keys(doc)) {
    const v = doc[k];
    if (NXLOG_FIELDS.has(k)) continue;
    if (SHIPPER_FIELDS.has(k)) continue;
    if (v === null || v === undefined || v === '') continue;
    // Objects are not event data (NXLog's event data are scalars): keep them where they are. Keys
    // come from the input: own properties only (see util/own.ts).
    if (typeof v === 'object' && !Array.isArray(v)) setOwn(out, k, v);
    else setOwn(ed, k, Array.isArray(v) ? v.map(eventDataValue) : eventDataValue(v));
  }
  if (Object.keys(ed).length > 0) winlog.event_data = ed;

  const event: Doc = { kind: 'event', code: winlog.event_id };
  if (provider) event.provider = provider;
  if (task) event.action = task;
  if (eventType === 'AUDIT_SUCCESS' || keywords?.includes('Audit Success')) event.outcome = 'success';
  else if (eventType === 'AUDIT_FAILURE' || keywords?.includes('Audit Failure')) event.outcome = 'failure';

  // @timestamp: the shipper's, when it set one (Logstash parses the event time into it), else the
  // event's own time (EventTime; a time without a zone is taken as UTC).
  const ts = text(doc['@timestamp']);
  if (ts) out['@timestamp'] = ts;
  else if (time) out['@timestamp'] = time;
  out.event = event;
  if (level) out.log = { level };
  out.winlog = winlog;
  const message = text(doc.Message);
  if (message) out.message = message;
  if (Array.isArray(doc.tags)) out.tags = [...doc.tags];
  // Logstash's `host` is the address the events came from (the NXLog or WEC machine), not the
  // event's computer: it goes where Filebeat puts a network input's peer.
  const peer = text(doc.host) ?? text(obj(doc.host)?.name);
  if (peer) {
    const port = text(doc.port);
    out.log = { ...(obj(out.log) ?? {}), source: { address: port ? `${peer}:${port}` : peer } };
  }
  return out;
}
