// The simulation's own view of hosts, processes and events. Formatters turn these into the three
// ECS shapes; nothing here is specific to one producer.
import type { Binary } from './catalog.js';

/** Which producer wrote the event; decides the document shape and the index it lands in. */
export type Shape = 'defend' | 'winlogbeat' | 'agent';
export const SHAPES: readonly Shape[] = ['defend', 'winlogbeat', 'agent'];

export interface Account {
  name: string;
  domain: string;
  sid: string;
  /** A well-known service account (domain "NT AUTHORITY"). */
  system: boolean;
}

export interface HostOs {
  name: string;
  full: string;
  version: string;
  build: string;
  kernel: string;
}

export interface Host {
  index: number;
  shape: Shape;
  /** Short lower-case name, as add_host_metadata and Elastic Defend report it. */
  name: string;
  /** Windows computer name as the event log records it (upper-case FQDN). */
  computerName: string;
  id: string;
  ip: string;
  mac: string;
  os: HostOs;
  agentId: string;
  agentVersion: string;
  ephemeralId: string;
  /** First 8 hex digits of every Sysmon ProcessGuid on this machine. */
  guidPrefix: string;
  user: Account;
  bootUs: number;
  /** Counters that only ever grow, in emission order. */
  counters: { sequence: number; sysmonRecord: number; securityRecord: number; logonId: number };
  pids: Set<number>;
  core: CoreProcs;
  /** Long-running user programs that later events (network, file, registry) are attributed to. */
  apps: Proc[];
  /** Cached JSON fragments per shape (host, agent blocks). */
  frag: Record<string, string>;
}

export interface CoreProcs {
  system: Proc;
  services: Proc;
  lsass: Proc;
  svcDcom: Proc;
  svcNet: Proc;
  svcSched: Proc;
  svcSysMain: Proc;
  /** Windows Search: the parent of SearchProtocolHost.exe and SearchFilterHost.exe. */
  searchIndexer: Proc;
  wmiprvse: Proc;
  explorer: Proc;
  msmpeng: Proc;
}

export interface Proc {
  host: Host;
  bin: Binary;
  /** Path the process really runs from (a renamed copy differs from bin.path). */
  exe: string;
  name: string;
  pid: number;
  cmd: string;
  args: string[];
  cwd: string;
  user: Account;
  parent: Proc | null;
  startUs: number;
  integrity: 'System' | 'High' | 'Medium' | 'Low';
  /** Sysmon before v10 did not write OriginalFileName; the event then has no pe.original_file_name. */
  omitOfn: boolean;
  entityId: string;
  guid: string;
  ended: boolean;
  /** Cached JSON fragments (process blocks) per shape and use. */
  frag: Record<string, string>;
}

/** Marks a planted event: the scenario it belongs to and its part in it. */
export interface PlantLabel {
  scenario: string;
  role: 'step1' | 'step2' | 'context';
}

interface Base {
  /** Microseconds since the Unix epoch. */
  t: number;
  host: Host;
  label?: PlantLabel;
}

export type SimEvent =
  | (Base & { kind: 'start'; proc: Proc })
  | (Base & { kind: 'end'; proc: Proc; exitCode: number })
  | (Base & { kind: 'load'; proc: Proc; dll: Binary })
  | (Base & { kind: 'net'; proc: Proc; srcPort: number; dstIp: string; dstPort: number; transport: 'tcp' | 'udp'; dstDomain: string | null })
  | (Base & { kind: 'dns'; proc: Proc; qname: string; ips: readonly string[] })
  | (Base & { kind: 'file'; proc: Proc; path: string; op: 'creation' | 'deletion' })
  | (Base & { kind: 'reg'; proc: Proc; path: string; dataType: 'REG_SZ' | 'REG_DWORD'; data: string })
  | (Base & { kind: 'auth'; proc: Proc; target: Account; logonType: number; srcIp: string | null; srcPort: number; package: 'Kerberos' | 'NTLM' | 'Negotiate'; logonId: number });

export type SimEventKind = SimEvent['kind'];
