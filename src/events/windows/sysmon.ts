// Sysmon (Microsoft-Windows-Sysmon/Operational) → ECS, step for step as the Elastic Agent
// "windows" integration pipeline (sysmon_operational default.yml) does it, plus the newer
// `dll.*` block for event 7 (integrations PR #16442). The `winlogbeat` profile switches the few
// places where the older Winlogbeat module (winlogbeat-sysmon.js) differs.
import {
  DNS_RECORD_TYPES,
  DNS_STATUS,
  REGISTRY_HIVES,
  SYSMON_INTEGRATION,
  SYSMON_WINLOGBEAT,
} from './tables.js';
import {
  type Doc,
  appendUnique,
  baseName,
  child,
  communityId,
  dropEmpty,
  dropStageFields,
  obj,
  rename,
  setFileParts,
  splitCommandLineWindows,
  splitUser,
  str,
  toBool,
  toIp,
  toLong,
} from './common.js';
import { setOwn } from '../../util/own.js';
import { strictFields } from '../time.js';

export interface SysmonOptions {
  profile: 'integration' | 'winlogbeat';
  /**
   * event.type of Sysmon 7 in the integration profile: `elastic` (current Elastic, ["change",
   * "start"]) or `change` (["change"] only, so loose `event.type == "start"` process rules do not
   * match image loads).
   */
  imageLoadType: 'elastic' | 'change';
}

// Digits only, so case does not matter: a plain comparison is exact.
const ZERO_GUID = '{00000000-0000-0000-0000-000000000000}';

// Keys the pipeline's cleanup step removes from event_data after mapping.
const CLEANUP = [
  'ProcessId', 'ParentProcessId', 'SourceProcessId', 'SourceThreadId', 'SourceIp', 'SourcePort', 'SourcePortName',
  'DestinationIp', 'DestinationPort', 'DestinationPortName', 'RuleName', 'User', 'Initiated', 'SourceIsIpv6',
  'DestinationIsIpv6', 'QueryStatus', 'Archived', 'IsExecutable', 'QueryResults', 'UtcTime', 'Hash', 'Hashes',
  'TargetObject',
];

// Events whose User the old Winlogbeat module splits into user.* (winlogbeat-sysmon.js addUser).
const WINLOGBEAT_USER_EVENTS = new Set(['1', '3', '19', '20', '21', '23', '24', '25']);

const PROCESS_HASH_EVENTS = new Set(['1', '23', '24', '25']);
const FILE_HASH_EVENTS = new Set(['6', '7', '15', '26', '29']);

/** Sysmon UtcTime `yyyy-MM-dd HH:mm:ss.SSS` (UTC) → ISO 8601, or undefined when malformed. */
export function parseUtcTime(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})$/.exec(v.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  if (!strictFields(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s))) {
    return undefined;
  }
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`;
}

/** Registry fields from TargetObject and Details (events 12–14). */
function mapRegistry(doc: Doc, targetObject: string, details: unknown, profile: SysmonOptions['profile']): void {
  const registry: Doc = { path: targetObject };
  doc.registry = registry;
  const tokens = targetObject.split('\\');
  // Java's regex split drops trailing empty tokens.
  while (tokens.length > 1 && tokens[tokens.length - 1] === '') tokens.pop();
  const hive = REGISTRY_HIVES[tokens[0]!];
  if (hive !== undefined) {
    registry.hive = hive;
    if (tokens.length > 1) registry.key = tokens.slice(1).join('\\');
  }
  registry.value = tokens[tokens.length - 1];
  if (typeof details !== 'string' || details === '') return;
  const qword = /^QWORD \((0x[0-9A-F]{8})-(0x[0-9A-F]{8})\)$/i.exec(details);
  if (qword) {
    // Elastic computes (high << 8) + low, which is not the QWORD value; reproduced so that
    // values match what rules were tested against.
    const hi = BigInt(qword[1]!);
    const lo = BigInt(qword[2]!);
    registry.data = { strings: [((hi << 8n) + lo).toString()], type: 'SZ_QWORD' };
    return;
  }
  const dword = /^DWORD \((0x[0-9A-F]{8})\)$/i.exec(details);
  if (dword) {
    registry.data = { strings: [String(parseInt(dword[1]!, 16))], type: 'SZ_DWORD' };
    return;
  }
  // The old Winlogbeat module only decodes DWORD and QWORD values.
  if (profile === 'winlogbeat') return;
  if (details === 'Binary Data') {
    registry.data = { strings: [details], type: 'REG_BINARY' };
    return;
  }
  registry.data = { strings: [details], type: 'REG_SZ' };
}

/** Sysmon 22 QueryResults → dns.answers / dns.resolved_ip / related.hosts. */
function mapQueryResults(doc: Doc, results: string): void {
  const answers: Doc[] = [];
  const ips: string[] = [];
  const hosts: string[] = [];
  for (const item of results.split(';')) {
    if (item === '') continue;
    if (item.startsWith('type:')) {
      const parts = item.split(/\s+/);
      if (parts.length < 2) continue;
      const type = DNS_RECORD_TYPES[parts[1]!];
      if (parts.length === 3) {
        answers.push(type !== undefined ? { type, data: parts[2] } : { data: parts[2] });
        hosts.push(parts[2]!);
      } else {
        answers.push(type !== undefined ? { type } : {});
      }
    } else {
      ips.push(item);
    }
  }
  const dns = child(doc, 'dns');
  const resolved: string[] = [];
  for (const raw of ips) {
    // IPv4-mapped IPv6 answers are stored as plain IPv4; anything not an IP is dropped.
    const m = /^\[?::ffff:(\d+\.\d+\.\d+\.\d+)(?:\](?::\d+)?)?$/.exec(raw);
    const ip = toIp(m ? m[1]! : raw);
    if (ip !== undefined) resolved.push(ip);
  }
  for (const ip of resolved) answers.push({ type: ip.includes(':') ? 'AAAA' : 'A', data: ip });
  if (answers.length > 0) dns.answers = answers;
  if (resolved.length > 0) dns.resolved_ip = resolved;
  if (hosts.length > 0) child(doc, 'related').hosts = hosts;
}

/** Hashes `SHA1=…,MD5=…` → lower-case map without all-zero values; every value goes to related.hash. */
function parseHashes(doc: Doc, value: string): Doc | undefined {
  const hashes: Doc = {};
  const related: string[] = [];
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    const v = pair.slice(eq + 1).trim().toLowerCase();
    if (/^0*$/.test(v)) continue;
    setOwn(hashes, key, v);
    related.push(v);
  }
  if (related.length > 0) child(doc, 'related').hash = related;
  return Object.keys(hashes).length > 0 ? hashes : undefined;
}

/** Applies the Sysmon mapping to a beat-stage document in place. */
export function mapSysmon(doc: Doc, opts: SysmonOptions): void {
  const winlog = child(doc, 'winlog');
  const event = child(doc, 'event');
  const code = String(winlog.event_id ?? event.code ?? '');
  const ed: Doc = obj(winlog.event_data) ?? {};
  const profile = opts.profile;

  for (const k of Object.keys(ed)) {
    const v = ed[k];
    if (v === null || v === '' || v === '-' || v === ZERO_GUID) delete ed[k];
  }

  if (typeof winlog.level === 'string' && winlog.level !== '') child(doc, 'log').level = winlog.level;
  if (typeof winlog.time_created === 'string') event.created = winlog.time_created;
  const utc = parseUtcTime(ed.UtcTime);
  if (utc) doc['@timestamp'] = utc;
  event.kind = 'event';
  event.code = code;

  const cat = (profile === 'integration' ? SYSMON_INTEGRATION : SYSMON_WINLOGBEAT)[code];
  if (cat) {
    if (cat.category) event.category = [...cat.category];
    if (cat.type) event.type = [...cat.type];
    if (cat.outcome) event.outcome = cat.outcome;
    // The old module keeps the beat's rendered task name as the action.
    if (profile === 'integration' && cat.action !== undefined) event.action = cat.action;
  }

  if (code === '255' && ed.ID !== undefined) {
    rename(ed, 'ID', child(doc, 'error'), 'code');
  }
  if (typeof ed.RuleName === 'string' && ed.RuleName !== '-') {
    rename(ed, 'RuleName', child(doc, 'rule'), 'name');
  }
  if (code === '25') rename(ed, 'Type', doc, 'message');
  rename(ed, 'Hash', ed, 'Hashes');
  let hashes = typeof ed.Hashes === 'string' ? parseHashes(doc, ed.Hashes) : undefined;

  // Process fields.
  const process: Doc = obj(doc.process) ?? {};
  if (hashes && PROCESS_HASH_EVENTS.has(code)) {
    moveHashes(process, hashes);
    hashes = undefined;
  }
  rename(ed, 'ProcessGuid', process, 'entity_id');
  setLong(process, 'pid', ed.ProcessId);
  rename(ed, 'Image', process, 'executable');
  rename(ed, 'SourceProcessGuid', process, 'entity_id');
  rename(ed, 'SourceProcessGUID', process, 'entity_id');
  setLong(process, 'pid', ed.SourceProcessId);
  const tid = toLong(ed.SourceThreadId);
  if (tid !== undefined) child(process, 'thread').id = tid;
  rename(ed, 'SourceImage', process, 'executable');
  rename(ed, 'Destination', process, 'executable');
  rename(ed, 'CommandLine', process, 'command_line');
  rename(ed, 'CurrentDirectory', process, 'working_directory');
  const parent: Doc = obj(process.parent) ?? {};
  rename(ed, 'ParentProcessGuid', parent, 'entity_id');
  setLong(parent, 'pid', ed.ParentProcessId);
  rename(ed, 'ParentImage', parent, 'executable');
  rename(ed, 'ParentCommandLine', parent, 'command_line');
  if (code !== '7') {
    const pe: Doc = obj(process.pe) ?? {};
    rename(ed, 'OriginalFileName', pe, 'original_file_name');
    copyPe(ed, pe);
    if (Object.keys(pe).length > 0) process.pe = pe;
  }
  if (typeof process.command_line === 'string') {
    process.args = splitCommandLineWindows(process.command_line);
    process.args_count = (process.args as string[]).length;
  }
  if (typeof parent.command_line === 'string') {
    parent.args = splitCommandLineWindows(parent.command_line);
    parent.args_count = (parent.args as string[]).length;
  }
  setName(process);
  setName(parent);
  if (Object.keys(parent).length > 0) process.parent = parent;

  // File fields.
  const file: Doc = obj(doc.file) ?? {};
  if (hashes && FILE_HASH_EVENTS.has(code)) {
    moveHashes(file, hashes);
    hashes = undefined;
  }
  rename(ed, 'TargetFilename', file, 'path');
  rename(ed, 'Device', file, 'path');
  rename(ed, 'PipeName', file, 'name');
  rename(ed, 'ImageLoaded', file, 'path');
  const sig: Doc = obj(file.code_signature) ?? {};
  if (typeof ed.Signature === 'string') sig.subject_name = ed.Signature;
  if (typeof ed.SignatureStatus === 'string') sig.status = ed.SignatureStatus;
  if (code === '7') {
    const pe: Doc = obj(file.pe) ?? {};
    rename(ed, 'OriginalFileName', pe, 'original_file_name');
    copyPe(ed, pe);
    if (Object.keys(pe).length > 0) file.pe = pe;
  }
  if (profile === 'winlogbeat') {
    // winlogbeat-sysmon.js marks the file signed whenever Signed is present.
    if (ed.Signed !== undefined) sig.signed = true;
  } else if (code === '7') {
    // Current integration (PR #16442) writes `trusted` where it used to write `signed`; the
    // intent — Signed "true" — is applied to the rendered string (README: Windows events → ECS).
    const trusted = trustedOf(ed);
    if (trusted !== undefined) sig.trusted = trusted;
  }
  // Elastic's older `signed` step compares the string "true" with a boolean and never fires,
  // so the integration profile sets no `signed` at all.
  if (ed.SignatureStatus === 'Valid') sig.valid = true;
  if (Object.keys(sig).length > 0) file.code_signature = sig;
  if (typeof file.path === 'string') setFileParts(file, file.path);

  // Network, destination, source and DNS.
  const network: Doc = obj(doc.network) ?? {};
  rename(ed, 'Protocol', network, 'transport');
  if (code !== '22') {
    rename(ed, 'DestinationPortName', network, 'protocol');
    rename(ed, 'SourcePortName', network, 'protocol');
  } else {
    network.protocol = 'dns';
  }
  const source: Doc = obj(doc.source) ?? {};
  const destination: Doc = obj(doc.destination) ?? {};
  const sip = toIp(ed.SourceIp);
  if (sip !== undefined) source.ip = sip;
  rename(ed, 'SourceHostname', source, 'domain');
  setLong(source, 'port', ed.SourcePort);
  const dip = toIp(ed.DestinationIp);
  if (dip !== undefined) destination.ip = dip;
  rename(ed, 'DestinationHostname', destination, 'domain');
  setLong(destination, 'port', ed.DestinationPort);
  const dnsQuestion: Doc = {};
  rename(ed, 'QueryName', dnsQuestion, 'name');
  if (dnsQuestion.name !== undefined) child(child(doc, 'dns'), 'question').name = dnsQuestion.name;
  if (ed.Initiated === 'true') network.direction = 'egress';
  else if (ed.Initiated === 'false') network.direction = 'ingress';
  if (ed.SourceIsIpv6 === 'false') network.type = 'ipv4';
  else if (ed.SourceIsIpv6 === 'true') network.type = 'ipv6';
  if (typeof ed.QueryResults === 'string' && ed.QueryResults !== '') mapQueryResults(doc, ed.QueryResults);
  const qname = str(obj(obj(doc.dns)?.question)?.name);
  if (qname) appendUnique(child(doc, 'related'), 'hosts', qname);
  const resolved = obj(doc.dns)?.resolved_ip;
  if (Array.isArray(resolved)) for (const ip of resolved) appendUnique(child(doc, 'related'), 'ip', ip);
  if (
    typeof source.ip === 'string' &&
    typeof destination.ip === 'string' &&
    typeof source.port === 'number' &&
    typeof destination.port === 'number' &&
    typeof network.transport === 'string'
  ) {
    const cid = communityId(source.ip, source.port, destination.ip, destination.port, network.transport);
    if (cid) network.community_id = cid;
  }

  // User fields.
  const user: Doc = obj(doc.user) ?? {};
  const sid = str(obj(winlog.user)?.identifier);
  if (sid) user.id = sid;
  if (typeof ed.User === 'string' && (profile === 'integration' || WINLOGBEAT_USER_EVENTS.has(code))) {
    const parts = splitUser(ed.User);
    if (parts) {
      if (parts[0] !== '') user.domain = parts[0];
      if (parts[1] !== '') user.name = parts[1];
    }
  }

  // Sysmon-specific fields.
  if (typeof ed.QueryStatus === 'string') {
    child(child(doc, 'sysmon'), 'dns').status = DNS_STATUS[ed.QueryStatus] ?? ed.QueryStatus;
  }
  const archived = toBool(ed.Archived);
  if (archived !== undefined) child(child(doc, 'sysmon'), 'file').archived = archived;
  const isExe = toBool(ed.IsExecutable);
  if (isExe !== undefined) child(child(doc, 'sysmon'), 'file').is_executable = isExe;

  // Related fields.
  if (typeof user.name === 'string') appendUnique(child(doc, 'related'), 'user', user.name);
  if (typeof source.ip === 'string') appendUnique(child(doc, 'related'), 'ip', source.ip);
  if (typeof destination.ip === 'string') appendUnique(child(doc, 'related'), 'ip', destination.ip);

  if ((code === '12' || code === '13' || code === '14') && typeof ed.TargetObject === 'string') {
    mapRegistry(doc, ed.TargetObject, ed.Details, profile);
  }
  if (ed.TargetProcessGuid !== undefined) rename(ed, 'TargetProcessGuid', ed, 'TargetProcessGUID');

  // Event 7 in the current integration: a library event with the ECS dll.* fields.
  if (code === '7' && profile === 'integration') {
    event.category = ['process', 'library'];
    event.type = opts.imageLoadType === 'change' ? ['change'] : ['change', 'start'];
    event.action = ['Image loaded', 'load'];
    const dll = dllFrom(file);
    if (dll) doc.dll = dll;
  }

  for (const k of CLEANUP) delete ed[k];
  dropEmpty(ed, true);
  if (Object.keys(ed).length > 0) winlog.event_data = ed;
  else delete winlog.event_data;
  dropStageFields(doc, winlog);

  if (Object.keys(process).length > 0) doc.process = process;
  if (Object.keys(file).length > 0) doc.file = file;
  if (Object.keys(network).length > 0) doc.network = network;
  if (Object.keys(source).length > 0) doc.source = source;
  if (Object.keys(destination).length > 0) doc.destination = destination;
  if (Object.keys(user).length > 0) doc.user = user;
}

/** dll.* mirrors the loaded image: path, name, hashes, PE metadata and signature. */
function dllFrom(file: Doc): Doc | undefined {
  if (typeof file.path !== 'string') return undefined;
  const dll: Doc = { path: file.path };
  if (typeof file.name === 'string') dll.name = file.name;
  const hash = obj(file.hash);
  if (hash) dll.hash = { ...hash };
  const pe = obj(file.pe);
  if (pe) dll.pe = { ...pe };
  const sig = obj(file.code_signature);
  if (sig) {
    const s: Doc = {};
    if (sig.status !== undefined) s.status = sig.status;
    if (sig.subject_name !== undefined) s.subject_name = sig.subject_name;
    if (sig.trusted !== undefined) s.trusted = sig.trusted;
    if (Object.keys(s).length > 0) dll.code_signature = s;
  }
  return dll;
}

/** trusted = signed and the signature verified; undefined when Sysmon reported no signature data. */
function trustedOf(ed: Doc): boolean | undefined {
  const signed = toBool(ed.Signed);
  if (signed === undefined) return undefined;
  return signed && ed.SignatureStatus === 'Valid';
}

function moveHashes(target: Doc, hashes: Doc): void {
  const { imphash, ...rest } = hashes;
  if (Object.keys(rest).length > 0) target.hash = rest;
  if (imphash !== undefined) child(target, 'pe').imphash = imphash;
}

function copyPe(ed: Doc, pe: Doc): void {
  if (typeof ed.Company === 'string') pe.company = ed.Company;
  if (typeof ed.Description === 'string') pe.description = ed.Description;
  if (typeof ed.FileVersion === 'string') pe.file_version = ed.FileVersion;
  if (typeof ed.Product === 'string') pe.product = ed.Product;
}

function setLong(target: Doc, key: string, v: unknown): void {
  const n = toLong(v);
  if (n !== undefined) target[key] = n;
}

function setName(p: Doc): void {
  if (p.name !== undefined || typeof p.executable !== 'string' || p.executable.length <= 1) return;
  const name = baseName(p.executable);
  if (name) p.name = name;
}
