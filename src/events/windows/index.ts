// Windows event → ECS. Two inputs reach the same mapping:
//  * RawWindowsEvent (System + EventData as Windows renders them), produced by the EVTX reader;
//  * raw Winlogbeat / Elastic Agent documents (winlog.* without ECS fields, because Elastic maps
//    them in ingest pipelines) read from NDJSON.
// Both are first brought to the "beat stage" shape Winlogbeat ships, then the pipeline of the
// event's channel is applied (Sysmon, Security, PowerShell). Pure, deterministic functions with
// no top-level work beyond constant tables, so the module loads cheaply inside worker threads.
import type { RawWindowsEvent } from '../../evtx/types.js';
import { SECURITY_PROVIDER, SYSMON_PROVIDER, normalizeBeatDocument, rawToBeatDocument } from './beat.js';
import { type Doc, child, dropStageFields, hostIdFor, hostNameOf, obj } from './common.js';
import { mapPowerShellOperational, mapWindowsPowerShell } from './powershell.js';
import { mapSecurity } from './security.js';
import { mapSysmon } from './sysmon.js';
import { nxlogToBeatDocument } from './nxlog.js';
import type { WindowsShape } from './shape.js';
import type { HostAddressBook } from './host-ip.js';
import { own, setOwn } from '../../util/own.js';

export { hostIdFor, hostNameOf } from './common.js';
export { isNxlogDocument, isRawWindowsEvent, isUnmappedWinlogDocument, windowsShapeOf, type WindowsShape } from './shape.js';
export { rawToBeatDocument } from './beat.js';
export { HostAddressBook, hostAddress, mayRevealHostAddress, revealedHostAddress } from './host-ip.js';

export type WindowsProfile = 'integration' | 'winlogbeat';

export interface WindowsMappingOptions {
  /**
   * `integration` (default): the Elastic Agent integrations' shape (windows / system packages),
   * indexes `logs-<dataset>-<namespace>`. `winlogbeat`: the older Winlogbeat-module shape, index
   * `winlogbeat-<version>`.
   */
  profile?: WindowsProfile;
  /** Data stream namespace for the integration profile (default `default`). */
  namespace?: string;
  /** Version in the winlogbeat index name (default `7.17.0`, the last release with the JS module shape). */
  winlogbeatVersion?: string;
  /** Sysmon 7 event.type: `elastic` = ["change","start"] as current Elastic (default), `change` = ["change"]. */
  imageLoadType?: 'elastic' | 'change';
  /**
   * The machines' own addresses (see host-ip.ts): an event without host.ip gets its host's, as
   * add_host_metadata would add them. Without a book, host.ip is left as the input has it.
   */
  hostAddresses?: HostAddressBook;
}

export interface MappedWindowsEvent {
  source: Record<string, unknown>;
  index: string;
  /** host.ip was set from opts.hostAddresses. */
  hostIpAdded?: boolean;
}

type Kind = 'sysmon' | 'security' | 'powershell_operational' | 'powershell' | 'system' | 'application' | 'other';

interface Route {
  dataset: string;
  module: string;
  winlogbeatModule?: string;
}

const ROUTES: Record<Kind, Route> = {
  sysmon: { dataset: 'windows.sysmon_operational', module: 'windows', winlogbeatModule: 'sysmon' },
  security: { dataset: 'system.security', module: 'system', winlogbeatModule: 'security' },
  powershell_operational: { dataset: 'windows.powershell_operational', module: 'windows', winlogbeatModule: 'powershell' },
  powershell: { dataset: 'windows.powershell', module: 'windows', winlogbeatModule: 'powershell' },
  system: { dataset: 'system.system', module: 'system' },
  application: { dataset: 'system.application', module: 'system' },
  other: { dataset: 'winlog.winlog', module: 'winlog' },
};

function kindOf(channel: string, provider: string): Kind {
  const ch = channel.toLowerCase();
  if (provider === SYSMON_PROVIDER || ch === 'microsoft-windows-sysmon/operational') return 'sysmon';
  // The security pipeline only runs on these two providers (1102 comes from Eventlog).
  if (ch === 'security' && (provider === SECURITY_PROVIDER || provider === 'Microsoft-Windows-Eventlog')) return 'security';
  if (provider === SECURITY_PROVIDER) return 'security';
  if (ch === 'microsoft-windows-powershell/operational') return 'powershell_operational';
  if (ch === 'windows powershell') return 'powershell';
  if (ch === 'system') return 'system';
  if (ch === 'application') return 'application';
  return 'other';
}

/** Maps one EVTX record (RawWindowsEvent) to an ECS document and the index it belongs to. */
export function mapRawWindowsEvent(raw: RawWindowsEvent, opts: WindowsMappingOptions = {}): MappedWindowsEvent {
  return mapBeatStage(rawToBeatDocument(raw), opts);
}

/**
 * Maps a raw Winlogbeat / Elastic Agent document (winlog.* present, ECS fields not yet derived)
 * to the same ECS shape. The input is not modified. Collector metadata the document already
 * carries (host.id, host.os.*, agent.*) is kept.
 */
export function mapWinlogbeatDocument(doc: Record<string, unknown>, opts: WindowsMappingOptions = {}): MappedWindowsEvent {
  return mapBeatStage(normalizeBeatDocument(expandDotted(doc)), opts);
}

/**
 * Maps an NXLog im_msvistalog document (flat: EventID, Channel, Hostname, EventTime, event data at
 * the top level) to the same ECS shape. The input is not modified.
 */
export function mapNxlogDocument(doc: Record<string, unknown>, opts: WindowsMappingOptions = {}): MappedWindowsEvent {
  return mapBeatStage(nxlogToBeatDocument(doc), opts);
}

/** Maps a document of a shape windowsShapeOf recognised. */
export function mapWindowsDocument(shape: WindowsShape, doc: Record<string, unknown>, opts: WindowsMappingOptions = {}): MappedWindowsEvent {
  if (shape === 'nxlog') return mapNxlogDocument(doc, opts);
  if (shape === 'raw') return mapRawWindowsEvent(doc as unknown as RawWindowsEvent, opts);
  return mapWinlogbeatDocument(doc, opts);
}

/** Object levels a flat dotted key expands into at most (Elasticsearch's mapping depth limit is 20). */
const MAX_EXPANDED_DEPTH = 32;

/**
 * Flat dotted keys ("winlog.event_data.Image") expanded into nested objects; the input itself
 * otherwise. Keys come from the input, so every step reads and writes own properties only: a key
 * such as "__proto__.x" becomes a field named "__proto__" (as Elasticsearch would index it), never
 * a write into a prototype.
 */
function expandDotted(doc: Doc): Doc {
  let hasDotted = false;
  for (const k in doc) {
    if (k.includes('.')) {
      hasDotted = true;
      break;
    }
  }
  if (!hasDotted) return doc;
  const out: Doc = {};
  for (const k of Object.keys(doc)) {
    const v = doc[k];
    if (!k.includes('.')) {
      const cur = obj(own(out, k));
      const vo = obj(v);
      setOwn(out, k, cur && vo ? { ...vo, ...cur } : v);
      continue;
    }
    const parts = k.split('.');
    // Everything after winlog.event_data / winlog.user_data is one Windows field name. A key of
    // thousands of dots must not become a document thousands of levels deep: past
    // MAX_EXPANDED_DEPTH the rest stays one dotted key, which field access reads all the same.
    const split = Math.min(parts[0] === 'winlog' && (parts[1] === 'event_data' || parts[1] === 'user_data') ? 2 : parts.length - 1, MAX_EXPANDED_DEPTH);
    let o = out;
    for (let i = 0; i < split; i++) o = child(o, parts[i]!);
    setOwn(o, parts.slice(split).join('.'), v);
  }
  return out;
}

function mapBeatStage(doc: Doc, opts: WindowsMappingOptions): MappedWindowsEvent {
  const profile: WindowsProfile = opts.profile ?? 'integration';
  const winlog = child(doc, 'winlog');
  const channel = typeof winlog.channel === 'string' ? winlog.channel : '';
  const provider = typeof winlog.provider_name === 'string' ? winlog.provider_name : '';
  const kind = kindOf(channel, provider);
  const route = ROUTES[kind];
  const timeCreated = typeof winlog.time_created === 'string' ? winlog.time_created : undefined;

  switch (kind) {
    case 'sysmon':
      mapSysmon(doc, { profile, imageLoadType: opts.imageLoadType ?? 'elastic' });
      break;
    case 'security':
      mapSecurity(doc);
      break;
    case 'powershell_operational':
      mapPowerShellOperational(doc);
      break;
    case 'powershell':
      mapWindowsPowerShell(doc);
      break;
    default:
      mapGeneric(doc);
  }
  if (doc['@timestamp'] === undefined && timeCreated) doc['@timestamp'] = timeCreated;

  // Host metadata that add_host_metadata would add on the collecting machine: one name and id per
  // machine, whether a channel names it WORKSTATION6 or WORKSTATION6.theshire.local (see hostNameOf).
  const host = child(doc, 'host');
  const computer = typeof winlog.computer_name === 'string' && winlog.computer_name.trim() !== '' ? winlog.computer_name : undefined;
  const machine = computer !== undefined ? hostNameOf(computer) : undefined;
  if (host.name === undefined && machine) host.name = machine;
  if (host.id === undefined || host.id === null || host.id === '') {
    const name = machine ?? (typeof host.name === 'string' && host.name !== '' ? hostNameOf(host.name) : undefined);
    if (name) host.id = hostIdFor(name);
  }
  let hostIpAdded = false;
  if (opts.hostAddresses !== undefined && typeof host.id === 'string' && isAbsent(host.ip)) {
    const ips = opts.hostAddresses.get(host.id);
    if (ips !== undefined) {
      host.ip = [...ips];
      hostIpAdded = true;
    }
  }
  const os = child(host, 'os');
  if (os.type === undefined) os.type = 'windows';
  if (os.family === undefined) os.family = 'windows';
  if (os.platform === undefined) os.platform = 'windows';

  const event = child(doc, 'event');
  const agent = child(doc, 'agent');
  if (agent.type === undefined) agent.type = profile === 'integration' ? 'filebeat' : 'winlogbeat';
  const ecs = child(doc, 'ecs');
  if (ecs.version === undefined) ecs.version = profile === 'integration' ? '8.17.0' : '1.12.0';

  let index: string;
  if (profile === 'integration') {
    const namespace = opts.namespace ?? 'default';
    event.module = route.module;
    event.dataset = route.dataset;
    doc.data_stream = { type: 'logs', dataset: route.dataset, namespace };
    index = `logs-${route.dataset}-${namespace}`;
  } else {
    if (route.winlogbeatModule) event.module = route.winlogbeatModule;
    index = `winlogbeat-${opts.winlogbeatVersion ?? '7.17.0'}`;
  }
  return hostIpAdded ? { source: doc, index, hostIpAdded } : { source: doc, index };
}

function isAbsent(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

/** Channels without a dedicated pipeline: the beat-stage fields, tidied like the other pipelines. */
function mapGeneric(doc: Doc): void {
  const winlog = child(doc, 'winlog');
  const event = child(doc, 'event');
  event.kind = 'event';
  if (winlog.event_id !== undefined) event.code = String(winlog.event_id);
  if (typeof winlog.level === 'string' && winlog.level !== '') child(doc, 'log').level = winlog.level;
  if (typeof winlog.time_created === 'string') event.created = winlog.time_created;
  dropStageFields(doc, winlog);
}
