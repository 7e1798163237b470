// Turns simulated events into NDJSON lines in the shape each Elastic producer writes:
//  - Elastic Defend (logs-endpoint.events.*), microsecond timestamps, dll.* for image loads;
//  - Winlogbeat's Sysmon/Security modules (winlogbeat-<version>): 7.17 keeps the rendered task name
//    as event.action ("Image loaded (rule: ImageLoad)") and adds process_start/process_end types,
//    8.x runs the ingest pipeline (event.action "Image loaded");
//  - the Elastic Agent windows integration (logs-windows.sysmon_operational-*), whose current
//    pipeline gives image loads category ["process","library"] with both file.* and dll.*.
// Lines are built from cached JSON fragments: per-host and per-process blocks are serialised once
// and reused by every event that refers to them, which is what makes a million events cheap.
import type { Binary } from './catalog.js';
import type { Account, Host, PlantLabel, Proc, SimEvent } from './model.js';
import type { Rng } from './prng.js';
import { TimeFormatter } from './timefmt.js';

const q = JSON.stringify;

const SYSMON_GUID = '{5770385f-c22a-43e0-bf4c-06f5698ffbd9}';
const SECURITY_GUID = '{54849625-5478-4994-a5ba-3e3b0328c30d}';
const SYSMON_CHANNEL = 'Microsoft-Windows-Sysmon/Operational';
const LOGON_TYPES: Record<number, string> = { 2: 'Interactive', 3: 'Network', 5: 'Service', 7: 'Unlock', 10: 'RemoteInteractive', 11: 'CachedInteractive' };

type Flavor = 'defend' | 'wlb7' | 'wlb8' | 'agent';

function flavorOf(host: Host): Flavor {
  if (host.shape === 'defend') return 'defend';
  if (host.shape === 'agent') return 'agent';
  return host.agentVersion.startsWith('7.') ? 'wlb7' : 'wlb8';
}

/** The index (data stream or Winlogbeat index) a document from this host and event kind lands in. */
export function indexFor(host: Host, kind: SimEvent['kind']): string {
  switch (host.shape) {
    case 'defend':
      return `logs-${defendDataset(kind)}-default`;
    case 'agent':
      return kind === 'auth' ? 'logs-system.security-default' : 'logs-windows.sysmon_operational-default';
    case 'winlogbeat':
      return `winlogbeat-${host.agentVersion}`;
  }
}

function defendDataset(kind: SimEvent['kind']): string {
  switch (kind) {
    case 'start':
    case 'end':
      return 'endpoint.events.process';
    case 'load':
      return 'endpoint.events.library';
    case 'net':
    case 'dns':
      return 'endpoint.events.network';
    case 'file':
      return 'endpoint.events.file';
    case 'reg':
      return 'endpoint.events.registry';
    case 'auth':
      return 'endpoint.events.security';
  }
}

function labelFrag(label: PlantLabel | undefined): string {
  return label ? `,"labels":{"eqlite_role":${q(label.role)},"eqlite_scenario":${q(label.scenario)}}` : '';
}

function splitPath(path: string): { dir: string; name: string; ext: string | null } {
  const slash = path.lastIndexOf('\\');
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  return { dir: path.slice(0, slash), name, ext: dot > 0 ? name.slice(dot + 1) : null };
}

function fileFrag(path: string): string {
  const p = splitPath(path);
  return `"directory":${q(p.dir)},${p.ext !== null ? `"extension":${q(p.ext)},` : ''}"name":${q(p.name)},"path":${q(path)}`;
}

function hashFrag(b: Binary): string {
  return `"hash":{"md5":"${b.md5}","sha1":"${b.sha1}","sha256":"${b.sha256}"}`;
}

function ancestry(p: Proc): string[] {
  const out: string[] = [];
  for (let a = p.parent; a && out.length < 5; a = a.parent) out.push(a.entityId);
  return out;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export class Formatter {
  private readonly tf = new TimeFormatter();

  /**
   * @param lean drop enrichment that no rule step here relies on (hashes, version resources,
   *   leftover winlog.event_data, related.*, host ip/mac) to make small fixtures; every field path
   *   that remains has the same name and value as in the full shape. Code signatures stay: Elastic's
   *   rules exclude signed software by them (without them, every Chrome start looks like a
   *   masquerading browser).
   */
  constructor(
    private readonly rng: Rng,
    private readonly lean = false,
  ) {}

  format(ev: SimEvent): string {
    const f = flavorOf(ev.host);
    return f === 'defend' ? this.defend(ev) : this.sysmonOrSecurity(ev, f);
  }

  // ---------------------------------------------------------------- Elastic Defend

  private defendHost(h: Host): string {
    if (this.lean) {
      return (h.frag.defendLean ??=
        `"agent":{"id":"${h.agentId}","type":"endpoint","version":"${h.agentVersion}"},` +
        `"host":{"id":"${h.id}","name":${q(h.name)},"os":{"type":"windows"}}`);
    }
    return (h.frag.defend ??=
      `"agent":{"id":"${h.agentId}","type":"endpoint","version":"${h.agentVersion}"},` +
      `"ecs":{"version":"8.10.0"},"elastic":{"agent":{"id":"${h.agentId}"}},` +
      `"host":{"architecture":"x86_64","hostname":${q(h.name)},"id":"${h.id}","ip":["${h.ip}","127.0.0.1","::1"],` +
      `"mac":["${h.mac.toLowerCase()}"],"name":${q(h.name)},"os":{"Ext":{"variant":${q(h.os.full.replace(/ \d\dH\d$/, ''))}},` +
      `"family":"windows","full":${q(h.os.full)},"kernel":${q(h.os.kernel)},"name":"Windows","platform":"windows","type":"windows","version":${q(h.os.version)}}}`);
  }

  private defendUser(a: Account): string {
    return `"user":{"domain":${q(a.domain)},"id":"${a.sid}","name":${q(a.name)}}`;
  }

  private defendSig(b: Binary): string {
    return `{"exists":true,"status":"trusted","subject_name":${q(b.signer)},"trusted":true}`;
  }

  private defendPe(b: Binary, omitOfn: boolean): string {
    if (this.lean) return omitOfn ? '' : `"pe":{"original_file_name":${q(b.ofn)}},`;
    return `"pe":{"company":${q(b.company)},"description":${q(b.description)},"file_version":${q(b.version)},"imphash":"${b.imphash}",` +
      `${omitOfn ? '' : `"original_file_name":${q(b.ofn)},`}"product":${q(b.product)}},`;
  }

  /** Full process block of start/end events (with parent, pe, hashes, token). */
  private defendProcFull(p: Proc): string {
    if (p.frag.dfull) return p.frag.dfull;
    const par = p.parent;
    if (this.lean) {
      const lp = par ? `,"parent":{"command_line":${q(par.cmd)},"entity_id":"${par.entityId}","executable":${q(par.exe)},"name":${q(par.name)},"pid":${par.pid}}` : '';
      return (p.frag.dfull =
        `"process":{"args":${q(p.args)},"args_count":${p.args.length},"code_signature":${this.defendSig(p.bin)},"command_line":${q(p.cmd)},"entity_id":"${p.entityId}",` +
        `"executable":${q(p.exe)},"name":${q(p.name)}${lp},${this.defendPe(p.bin, p.omitOfn)}"pid":${p.pid}`);
    }
    const tokenType = p.integrity === 'System' ? 'default' : p.integrity === 'High' ? 'full' : 'limited';
    const parent = par
      ? `,"parent":{"args":${q(par.args)},"args_count":${par.args.length},"command_line":${q(par.cmd)},"entity_id":"${par.entityId}",` +
        `"executable":${q(par.exe)},"name":${q(par.name)},"pid":${par.pid}}`
      : '';
    return (p.frag.dfull =
      `"process":{"Ext":{"ancestry":${q(ancestry(p))},"code_signature":[${this.defendSig(p.bin)}],` +
      `"token":{"elevation":${p.integrity === 'High' || p.integrity === 'System'},"elevation_type":"${tokenType}","integrity_level_name":"${p.integrity.toLowerCase()}"}},` +
      `"args":${q(p.args)},"args_count":${p.args.length},"code_signature":${this.defendSig(p.bin)},"command_line":${q(p.cmd)},` +
      `"entity_id":"${p.entityId}","executable":${q(p.exe)},${hashFrag(p.bin)},"name":${q(p.name)}${parent},` +
      `${this.defendPe(p.bin, p.omitOfn)}"pid":${p.pid},"working_directory":${q(p.cwd)}`);
    // (closing brace added by the caller so end events can append exit_code)
  }

  /** Short process block that library, network, file, registry and security events carry. */
  private defendProcShort(p: Proc): string {
    if (this.lean) return (p.frag.dshort ??= `"process":{"code_signature":${this.defendSig(p.bin)},"entity_id":"${p.entityId}","executable":${q(p.exe)},"name":${q(p.name)},"pid":${p.pid}}`);
    return (p.frag.dshort ??=
      `"process":{"Ext":{"ancestry":${q(ancestry(p))},"code_signature":[${this.defendSig(p.bin)}]},` +
      `"code_signature":${this.defendSig(p.bin)},"entity_id":"${p.entityId}","executable":${q(p.exe)},"name":${q(p.name)},"pid":${p.pid}}`);
  }

  private defendEvent(h: Host, ts: string, dataset: string, action: string, category: string, type: string, outcome: string): string {
    return `"data_stream":{"dataset":"${dataset}","namespace":"default","type":"logs"},${this.defendHost(h)},` +
      `"event":{"action":"${action}","category":${category},${this.lean ? '' : `"created":"${ts}",`}"dataset":"${dataset}",${this.lean ? '' : `"id":"${this.rng.hex(24)}",`}` +
      `"kind":"event","module":"endpoint","outcome":"${outcome}","sequence":${++h.counters.sequence},"type":${type}}`;
  }

  private defend(ev: SimEvent): string {
    const h = ev.host;
    const ts = this.tf.micros(ev.t);
    const head = `{"@timestamp":"${ts}"${labelFrag(ev.label)},`;
    switch (ev.kind) {
      case 'start':
        return `${head}${this.defendEvent(h, ts, 'endpoint.events.process', 'start', '["process"]', '["start"]', 'unknown')},` +
          `"message":"Endpoint process event",${this.defendProcFull(ev.proc)}},${this.defendUser(ev.proc.user)}}`;
      case 'end':
        return `${head}${this.defendEvent(h, ts, 'endpoint.events.process', 'end', '["process"]', '["end"]', 'unknown')},` +
          `"message":"Endpoint process event",${this.defendProcFull(ev.proc)},"exit_code":${ev.exitCode}},${this.defendUser(ev.proc.user)}}`;
      case 'load': {
        const d = ev.dll;
        const extra = this.lean ? `"code_signature":${this.defendSig(d)},` : `"code_signature":${this.defendSig(d)},${hashFrag(d)},`;
        return `${head}"dll":{${extra}"name":${q(d.name)},"path":${q(d.path)},${this.defendPe(d, false).slice(0, -1)}},` +
          `${this.defendEvent(h, ts, 'endpoint.events.library', 'load', '["library"]', '["start"]', 'unknown')},` +
          `"message":"Endpoint DLL load event",${this.defendProcShort(ev.proc)},${this.defendUser(ev.proc.user)}}`;
      }
      case 'net':
        return `${head}${this.defendEvent(h, ts, 'endpoint.events.network', 'connection_attempted', '["network"]', '["start"]', 'unknown')},` +
          `"destination":{"address":"${ev.dstIp}","ip":"${ev.dstIp}","port":${ev.dstPort}},"message":"Endpoint network event",` +
          `"network":{"direction":"egress","transport":"${ev.transport}","type":"ipv4"},${this.defendProcShort(ev.proc)},` +
          `"source":{"address":"${h.ip}","ip":"${h.ip}","port":${ev.srcPort}},${this.defendUser(ev.proc.user)}}`;
      case 'dns':
        return `${head}"dns":{"Ext":{"options":"0x0","status":0},"question":{"name":${q(ev.qname)},"type":"A"},"resolved_ip":${q(ev.ips)}},` +
          `${this.defendEvent(h, ts, 'endpoint.events.network', 'lookup_result', '["network"]', '["protocol","info"]', 'unknown')},` +
          `"message":"Endpoint DNS event","network":{"protocol":"dns"},${this.defendProcShort(ev.proc)},${this.defendUser(ev.proc.user)}}`;
      case 'file':
        return `${head}${this.defendEvent(h, ts, 'endpoint.events.file', ev.op, '["file"]', `["${ev.op}"]`, 'unknown')},` +
          `"file":{${fileFrag(ev.path)}},"message":"Endpoint file event",${this.defendProcShort(ev.proc)},${this.defendUser(ev.proc.user)}}`;
      case 'reg': {
        const hkeyu = ev.path.startsWith('HKEY_USERS\\');
        const rest = ev.path.slice(ev.path.indexOf('\\') + 1);
        const slash = rest.lastIndexOf('\\');
        return `${head}${this.defendEvent(h, ts, 'endpoint.events.registry', 'modification', '["registry"]', '["change"]', 'unknown')},` +
          `"message":"Endpoint registry event",${this.defendProcShort(ev.proc)},"registry":{"data":{"strings":[${q(ev.data)}],"type":"${ev.dataType}"},` +
          `"hive":"${hkeyu ? 'HKU' : 'HKLM'}","key":${q(rest.slice(0, slash))},"path":${q(ev.path)},"value":${q(rest.slice(slash + 1))}},` +
          `${this.defendUser(ev.proc.user)}}`;
      }
      case 'auth':
        return `${head}${this.defendEvent(h, ts, 'endpoint.events.security', 'log_on', '["authentication","session"]', '["start"]', 'success')},` +
          `"message":"Endpoint security event",${this.defendProcShort(ev.proc)},` +
          `${ev.srcIp ? `"source":{"ip":"${ev.srcIp}","port":${ev.srcPort}},` : ''}${this.defendUser(ev.target)}}`;
    }
  }

  // ---------------------------------------------------------------- Sysmon and Security via Beats / Agent

  private beatsHost(h: Host, f: Flavor): string {
    const key = `beats_${f}`;
    if (h.frag[key]) return h.frag[key]!;
    if (this.lean) {
      return (h.frag[key] =
        `"agent":{"id":"${h.agentId}","type":"${f === 'agent' ? 'filebeat' : 'winlogbeat'}","version":"${h.agentVersion}"},` +
        `"host":{"id":"${h.id}","name":${q(h.name)},"os":{"type":"windows"}}`);
    }
    const agent = f === 'agent'
      ? `"agent":{"ephemeral_id":"${h.ephemeralId}","id":"${h.agentId}","name":${q(h.name)},"type":"filebeat","version":"${h.agentVersion}"},` +
        `"ecs":{"version":"8.17.0"},"elastic_agent":{"id":"${h.agentId}","snapshot":false,"version":"${h.agentVersion}"},`
      : `"agent":{"ephemeral_id":"${h.ephemeralId}","hostname":${q(h.name)},"id":"${h.agentId}","name":${q(h.name)},"type":"winlogbeat","version":"${h.agentVersion}"},` +
        `"ecs":{"version":"${f === 'wlb7' ? '1.12.0' : '8.0.0'}"},`;
    const host = `"host":{"architecture":"x86_64","hostname":${q(h.name)},"id":"${h.id}","ip":["${h.ip}"],"mac":["${h.mac}"],"name":${q(h.name)},` +
      `"os":{"build":${q(h.os.build)},"family":"windows","kernel":${q(h.os.kernel.replace(/^.*\((.*)\)$/, '$1'))},"name":${q(h.os.full.replace(/ \d\dH\d$/, ''))},` +
      `"platform":"windows","type":"windows","version":"10.0"}}`;
    return (h.frag[key] = agent + host);
  }

  private userFrag(a: Account): string {
    return `"user":{"domain":${q(a.domain)},"name":${q(a.name)}}`;
  }

  /** Process block of Sysmon event 1 (with parent and pe), per flavor-independent pipeline mapping. */
  private sysProcStart(p: Proc): string {
    if (p.frag.sfull) return p.frag.sfull;
    const par = p.parent!;
    const b = p.bin;
    if (this.lean) {
      return (p.frag.sfull =
        `"process":{"args":${q(p.args)},"args_count":${p.args.length},"command_line":${q(p.cmd)},"entity_id":"${p.guid}","executable":${q(p.exe)},` +
        `"name":${q(p.name)},"parent":{"command_line":${q(par.cmd)},"entity_id":"${par.guid}","executable":${q(par.exe)},"name":${q(par.name)},"pid":${par.pid}},` +
        `${p.omitOfn ? '' : `"pe":{"original_file_name":${q(b.ofn)}},`}"pid":${p.pid}}`);
    }
    return (p.frag.sfull =
      `"process":{"args":${q(p.args)},"args_count":${p.args.length},"command_line":${q(p.cmd)},"entity_id":"${p.guid}","executable":${q(p.exe)},` +
      `${hashFrag(b)},"name":${q(p.name)},"parent":{"args":${q(par.args)},"args_count":${par.args.length},"command_line":${q(par.cmd)},` +
      `"entity_id":"${par.guid}","executable":${q(par.exe)},"name":${q(par.name)},"pid":${par.pid}},` +
      `"pe":{"company":${q(b.company)},"description":${q(b.description)},"file_version":${q(b.version)},"imphash":"${b.imphash}",` +
      `${p.omitOfn ? '' : `"original_file_name":${q(b.ofn)},`}"product":${q(b.product)}},"pid":${p.pid},"working_directory":${q(p.cwd)}}`);
  }

  private sysProcShort(p: Proc): string {
    return (p.frag.sshort ??= `"process":{"entity_id":"${p.guid}","executable":${q(p.exe)},"name":${q(p.name)},"pid":${p.pid}}`);
  }

  private logonId(p: Proc): number {
    // Well-known logon sessions of the service accounts; the interactive user's session is per host.
    if (!p.user.system) return 0x2a000 + p.host.index * 0x1f3;
    return p.user.sid === 'S-1-5-20' ? 0x3e4 : p.user.sid === 'S-1-5-19' ? 0x3e5 : 0x3e7;
  }

  private sysmonEventData(ev: SimEvent): string {
    switch (ev.kind) {
      case 'start': {
        const p = ev.proc;
        const b = p.bin;
        const lid = this.logonId(p);
        return `"Company":${q(b.company)},"Description":${q(b.description)},"FileVersion":${q(b.version)},"IntegrityLevel":"${p.integrity}",` +
          `"LogonGuid":"{${p.host.guidPrefix}-0000-0000-${hex(lid).slice(2).padStart(4, '0').slice(-4)}-000000000000}","LogonId":"${hex(lid)}",` +
          `"ParentUser":${q(`${p.parent!.user.domain}\\${p.parent!.user.name}`)},"Product":${q(b.product)},"TerminalSessionId":"${p.user.system ? 0 : 1}"`;
      }
      case 'load':
        return `"Company":${q(ev.dll.company)},"Description":${q(ev.dll.description)},"FileVersion":${q(ev.dll.version)},"Product":${q(ev.dll.product)},"Signed":"true"`;
      case 'file':
        return ev.op === 'creation' ? `"CreationUtcTime":"${this.tf.sysmon(ev.t)}"` : '';
      case 'reg':
        return `"Details":${q(ev.dataType === 'REG_DWORD' ? `DWORD (0x${Number(ev.data).toString(16).padStart(8, '0')})` : ev.data)},"EventType":"SetValue"`;
      default:
        return '';
    }
  }

  private sysmonOrSecurity(ev: SimEvent, f: Flavor): string {
    const h = ev.host;
    const ts = this.tf.millis(ev.t);
    const old = f === 'wlb7';
    const head = `{"@timestamp":"${ts}"${labelFrag(ev.label)},${this.beatsHost(h, f)},`;
    const ds = f === 'agent'
      ? (dataset: string, module: string) => `"data_stream":{"dataset":"${dataset}","namespace":"default","type":"logs"},"input":{"type":"winlog"},` +
        `"event":{"dataset":"${dataset}","module":"${module}",`
      : (_dataset: string, module: string) => `"event":{"module":"${module}",`;

    if (ev.kind === 'auth') {
      const tgt = ev.target;
      const lt = LOGON_TYPES[ev.logonType] ?? String(ev.logonType);
      const record = ++h.counters.securityRecord;
      const evId = old ? '4624' : '"4624"';
      const subj = ev.logonType === 3 ? { sid: 'S-1-0-0', name: '-', domain: '-', lid: '0x0' } : { sid: 'S-1-5-18', name: `${h.name.toUpperCase()}$`, domain: 'CORP', lid: '0x3e7' };
      const src = ev.srcIp ? `"source":{"ip":"${ev.srcIp}","port":${ev.srcPort}},` : '';
      const proc = ev.logonType === 3 ? '' : `"process":{"executable":${q(ev.proc.exe)},"name":${q(ev.proc.name)},"pid":${ev.proc.pid}},`;
      return head + ds('system.security', f === 'agent' ? 'system' : 'security') +
        `"action":"logged-in","category":["authentication"],"code":"4624",${this.lean ? '' : `"created":"${ts}",`}"kind":"event","outcome":"success",` +
        `"provider":"Microsoft-Windows-Security-Auditing","type":${old ? '["start","authentication_success"]' : '["start"]'}},` +
        `"log":{"level":"information"},${proc}${this.lean ? '' : `"related":{"user":${q(subj.name === '-' ? [tgt.name] : [subj.name, tgt.name])}},`}${src}` +
        `"user":{"domain":${q(tgt.domain)},"id":"${tgt.sid}","name":${q(tgt.name)}},` +
        (this.lean
          ? `"winlog":{"channel":"Security","event_id":${evId},"logon":{"id":"${hex(ev.logonId)}","type":"${lt}"},"record_id":${old ? record : `"${record}"`}}}`
          : `"winlog":{"api":"wineventlog","channel":"Security","computer_name":${q(h.computerName)},"event_data":{` +
        `"AuthenticationPackageName":"${ev.package}","ElevatedToken":"%%1843","ImpersonationLevel":"%%1833","IpAddress":"${ev.srcIp ?? '-'}",` +
        `"IpPort":"${ev.srcIp ? ev.srcPort : '-'}","KeyLength":"0","LogonProcessName":"${ev.package === 'Kerberos' ? 'Kerberos' : 'Advapi  '}",` +
        `"LogonType":"${ev.logonType}","ProcessId":"${ev.logonType === 3 ? '0x0' : hex(ev.proc.pid)}","ProcessName":${q(ev.logonType === 3 ? '-' : ev.proc.exe)},` +
        `"SubjectDomainName":"${subj.domain}","SubjectLogonId":"${subj.lid}","SubjectUserName":${q(subj.name)},"SubjectUserSid":"${subj.sid}",` +
        `"TargetDomainName":${q(tgt.domain)},"TargetLogonId":"${hex(ev.logonId)}","TargetUserName":${q(tgt.name)},"TargetUserSid":"${tgt.sid}",` +
        `"VirtualAccount":"%%1843","WorkstationName":"-"},"event_id":${evId},"keywords":["Audit Success"],` +
        `"logon":{"id":"${hex(ev.logonId)}","type":"${lt}"},"opcode":"Info","process":{"pid":${h.core.lsass.pid},"thread":{"id":${this.rng.int(500, 9000) * 4}}},` +
        `"provider_guid":"${SECURITY_GUID}","provider_name":"Microsoft-Windows-Security-Auditing","record_id":${old ? record : `"${record}"`},"task":"Logon","version":2}}`);
    }

    const p = ev.proc;
    const m = SYSMON[ev.kind === 'file' && ev.op === 'deletion' ? 'fileDel' : ev.kind];
    const action = f === 'agent' && ev.kind === 'load' ? '["Image loaded","load"]' : q(old ? m.task : m.action);
    const category = f === 'agent' && ev.kind === 'load' ? '["process","library"]' : m.category;
    const type = f === 'agent' && ev.kind === 'load' ? '["change","start"]' : old && m.typeOld ? m.typeOld : m.type;
    const record = ++h.counters.sysmonRecord;
    const evId = old ? String(m.id) : `"${m.id}"`;
    // Newer Sysmon writes User on most events; the 7.17 JS module only maps it for 1, 3 and 22-25.
    const withUser = ev.kind === 'start' || ev.kind === 'net' || !old;
    let body = '';
    const related: string[] = [];
    switch (ev.kind) {
      case 'start':
        body = `${this.sysProcStart(p)},`;
        related.push(`"hash":["${p.bin.sha1}","${p.bin.md5}","${p.bin.sha256}","${p.bin.imphash}"]`);
        break;
      case 'end':
      case 'reg':
      case 'dns':
      case 'net':
      case 'file':
        body = `${this.sysProcShort(p)},`;
        break;
      case 'load': {
        const d = ev.dll;
        const sig = f === 'agent' ? `"code_signature":{"status":"Valid","subject_name":${q(d.signer)},"trusted":true}` : `"code_signature":{"status":"Valid","subject_name":${q(d.signer)},"valid":true}`;
        const pe = this.lean
          ? `"pe":{"original_file_name":${q(d.ofn)}}`
          : `"pe":{"company":${q(d.company)},"description":${q(d.description)},"file_version":${q(d.version)},"imphash":"${d.imphash}","original_file_name":${q(d.ofn)},"product":${q(d.product)}}`;
        const fileExtra = `${sig},`;
        const hashes = this.lean ? '' : `${hashFrag(d)},`;
        const dllSig = `"code_signature":{"status":"Valid","subject_name":${q(d.signer)},"trusted":true},`;
        const sp = splitPath(d.path);
        body = `"file":{${fileExtra}"directory":${q(sp.dir)},"extension":${q(sp.ext ?? '')},${hashes}"name":${q(d.name)},"path":${q(d.path)},${pe}},` +
          (f === 'agent' ? `"dll":{${dllSig}${hashes}"name":${q(d.name)},"path":${q(d.path)},${pe}},` : '') +
          `${this.sysProcShort(p)},`;
        related.push(`"hash":["${d.sha1}","${d.md5}","${d.sha256}","${d.imphash}"]`);
        break;
      }
    }
    if (ev.kind === 'net') {
      body = `"destination":{"domain":${q(ev.dstDomain ?? '')},"ip":"${ev.dstIp}","port":${ev.dstPort}},` +
        `"network":{"direction":"egress","protocol":"${ev.dstPort === 443 ? 'https' : ev.dstPort === 80 ? 'http' : 'ntp'}","transport":"${ev.transport}","type":"ipv4"},` +
        body + `"source":{"domain":${q(h.computerName)},"ip":"${h.ip}","port":${ev.srcPort}},`;
      related.push(`"ip":["${h.ip}","${ev.dstIp}"]`);
    } else if (ev.kind === 'dns') {
      const labels = ev.qname.split('.');
      const reg = labels.slice(-2).join('.');
      body = `"dns":{"answers":${q(ev.ips.map((ip) => ({ data: ip, type: 'A' })))},"question":{"name":${q(ev.qname)},"registered_domain":${q(reg)},` +
        `${labels.length > 2 ? `"subdomain":${q(labels.slice(0, -2).join('.'))},` : ''}"top_level_domain":${q(labels[labels.length - 1]!)}},"resolved_ip":${q(ev.ips)}},` +
        `"network":{"protocol":"dns"},` + body;
      related.push(`"hosts":[${q(ev.qname)}]`, `"ip":${q(ev.ips)}`);
    } else if (ev.kind === 'file') {
      body = `"file":{${fileFrag(ev.path)}},` + body;
    } else if (ev.kind === 'reg') {
      // Sysmon abbreviates the hive in TargetObject; the pipeline derives hive/key/value from it.
      const sysPath = ev.path.replace(/^HKEY_USERS\\/, 'HKU\\').replace(/^HKEY_LOCAL_MACHINE\\/, 'HKLM\\');
      const hive = sysPath.slice(0, sysPath.indexOf('\\'));
      const rest = sysPath.slice(hive.length + 1);
      const value = rest.slice(rest.lastIndexOf('\\') + 1);
      const data = ev.dataType === 'REG_DWORD' ? `{"strings":["${ev.data}"],"type":"SZ_DWORD"}` : `{"strings":[${q(ev.data)}],"type":"REG_SZ"}`;
      body += `"registry":{"data":${data},"hive":"${hive}","key":${q(rest)},"path":${q(sysPath)},"value":${q(value)}},`;
    }
    if (withUser) related.push(`"user":[${q(p.user.name)}]`);
    const userField = withUser ? `${this.userFrag(p.user).slice(0, -1)},"id":"S-1-5-18"},` : '';
    const winlog = this.lean
      ? `"winlog":{"channel":"${SYSMON_CHANNEL}","event_id":${evId},"record_id":${old ? record : `"${record}"`}}}`
      : `"winlog":{"api":"wineventlog","channel":"${SYSMON_CHANNEL}","computer_name":${q(h.computerName)},"event_data":{${this.sysmonEventData(ev)}},` +
        `"event_id":${evId},"opcode":"Info","process":{"pid":${sysmonPid(h)},"thread":{"id":${sysmonPid(h) + 4 + (record % 7) * 4}}},` +
        `"provider_guid":"${SYSMON_GUID}","provider_name":"Microsoft-Windows-Sysmon","record_id":${old ? record : `"${record}"`},` +
        `"task":${q(m.task)},"user":{"domain":"NT AUTHORITY","identifier":"S-1-5-18","name":"SYSTEM","type":"Well Known Group"},"version":${m.version}}}`;
    return head + ds('windows.sysmon_operational', f === 'agent' ? 'windows' : 'sysmon') +
      `"action":${action},"category":${category},"code":"${m.id}",${this.lean ? '' : `"created":"${ts}",`}"kind":"event","provider":"Microsoft-Windows-Sysmon","type":${type}},` +
      `"log":{"level":"information"},${body}${this.lean ? '' : `"related":{${related.join(',')}},`}` +
      `${ev.kind === 'file' && ev.op === 'deletion' ? '"sysmon":{"file":{"is_executable":false}},' : ''}` +
      `${ev.kind === 'dns' ? '"sysmon":{"dns":{"status":"SUCCESS"}},' : ''}${userField}${winlog}`;
  }
}

function sysmonPid(h: Host): number {
  return h.core.services.pid + 1024;
}

interface SysmonMap {
  id: number;
  version: number;
  task: string;
  action: string;
  category: string;
  type: string;
  typeOld?: string;
}

const SYSMON: Record<'start' | 'end' | 'load' | 'net' | 'dns' | 'file' | 'fileDel' | 'reg', SysmonMap> = {
  start: { id: 1, version: 5, task: 'Process Create (rule: ProcessCreate)', action: 'Process creation', category: '["process"]', type: '["start"]', typeOld: '["start","process_start"]' },
  end: { id: 5, version: 3, task: 'Process terminated (rule: ProcessTerminate)', action: 'Process terminated', category: '["process"]', type: '["end"]', typeOld: '["end","process_end"]' },
  load: { id: 7, version: 3, task: 'Image loaded (rule: ImageLoad)', action: 'Image loaded', category: '["process"]', type: '["change"]' },
  net: { id: 3, version: 5, task: 'Network connection detected (rule: NetworkConnect)', action: 'Network connection', category: '["network"]', type: '["start","connection","protocol"]' },
  dns: { id: 22, version: 5, task: 'Dns query (rule: DnsQuery)', action: 'DNSEvent (DNS query)', category: '["network"]', type: '["connection","protocol","info"]' },
  file: { id: 11, version: 2, task: 'File created (rule: FileCreate)', action: 'FileCreate', category: '["file"]', type: '["creation"]' },
  fileDel: { id: 26, version: 5, task: 'File Delete logged (rule: FileDeleteDetected)', action: 'FileDeleteDetected (File Delete logged)', category: '["file"]', type: '["deletion"]' },
  reg: { id: 13, version: 2, task: 'Registry value set (rule: RegistryEvent)', action: 'RegistryEvent (Value Set)', category: '["configuration","registry"]', type: '["change"]' },
};
