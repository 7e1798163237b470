// The simulated estate: hosts with their boot-time process trees, and the background activities
// (users starting programs, services, browsing, WMI management, logons) that produce telemetry.
import { B, D, DOCUMENT_NAMES, OFFICE, ONEDRIVE, USER_NAMES, VSCODE, WEB, WINDOWS, librariesFor, type Binary, type Destination } from './catalog.js';
import type { Account, Host, Proc, Shape, SimEvent } from './model.js';
import { Rng } from './prng.js';
import { splitWindowsCommandLine } from './winargs.js';

export const SYSTEM: Account = { name: 'SYSTEM', domain: 'NT AUTHORITY', sid: 'S-1-5-18', system: true };
export const LOCAL_SERVICE: Account = { name: 'LOCAL SERVICE', domain: 'NT AUTHORITY', sid: 'S-1-5-19', system: true };
export const NETWORK_SERVICE: Account = { name: 'NETWORK SERVICE', domain: 'NT AUTHORITY', sid: 'S-1-5-20', system: true };

export const AD_DOMAIN = 'CORP';
const DOMAIN_SID = 'S-1-5-21-3623811015-3361044348-30300820';
const DC_IP = '10.0.0.10';

const OS_CHOICES = [
  { name: 'Windows', full: 'Windows 10 Enterprise 22H2', version: '22H2', build: '19045.5131', kernel: '22H2 (10.0.19045.5131)' },
  { name: 'Windows', full: 'Windows 11 Enterprise 23H2', version: '23H2', build: '22631.4460', kernel: '23H2 (10.0.22631.4460)' },
  { name: 'Windows', full: 'Windows Server 2022 Datacenter 21H2', version: '21H2', build: '20348.2849', kernel: '21H2 (10.0.20348.2849)' },
] as const;

const DEPARTMENTS = ['fin', 'hr', 'eng', 'ops', 'mkt', 'it', 'sales', 'legal'];

/**
 * Mixes shapes across hosts: host i gets shape i mod (number of shapes), so any few consecutive
 * hosts cover all of them. By default the three shapes rotate (Defend, Winlogbeat, Agent).
 */
export function shapeOfHost(index: number, shapes: readonly Shape[] = ALL_SHAPES): Shape {
  return shapes[index % shapes.length]!;
}

const ALL_SHAPES: readonly Shape[] = ['defend', 'winlogbeat', 'agent'];

/** Winlogbeat hosts alternate between a 7.17 beat (JS module) and an 8.x beat (ingest pipeline). */
export function winlogbeatVersion(index: number): string {
  return Math.floor(index / 3) % 2 === 0 ? '8.15.3' : '7.17.25';
}

export class World {
  readonly hosts: Host[] = [];

  constructor(
    private readonly rng: Rng,
    hostCount: number,
    private readonly startUs: number,
    private readonly emit: (ev: SimEvent) => void,
    private readonly shapes: readonly Shape[] = ALL_SHAPES,
  ) {
    for (let i = 0; i < hostCount; i++) this.hosts.push(this.makeHost(i));
  }

  /** Sysmon and the Security log record milliseconds; Defend keeps microseconds. Rounding up keeps order. */
  align(host: Host, t: number): number {
    return host.shape === 'defend' ? t : Math.ceil(t / 1000) * 1000;
  }

  private makeHost(index: number): Host {
    const rng = this.rng;
    const shape = shapeOfHost(index, this.shapes);
    const dept = DEPARTMENTS[index % DEPARTMENTS.length]!;
    const server = index % 10 === 9;
    const short = server ? `srv-${dept}-${String(index + 1).padStart(2, '0')}` : `ws-${dept}-${String(100 + index * 7).padStart(3, '0')}`;
    const os = server ? OS_CHOICES[2] : OS_CHOICES[index % 4 === 1 ? 1 : 0];
    const userName = USER_NAMES[index % USER_NAMES.length]!;
    const rid = 1100 + index * 3 + rng.int(0, 2);
    const agentVersion = shape === 'defend' ? '8.16.1' : shape === 'agent' ? '8.17.1' : winlogbeatVersion(index);
    const host: Host = {
      index,
      shape,
      name: short,
      computerName: `${short.toUpperCase()}.corp.example.com`,
      id: rng.uuid(),
      ip: `10.${20 + (index >> 8)}.${index & 255}.${rng.int(20, 250)}`,
      mac: Array.from({ length: 6 }, (_, k) => (k === 0 ? '00' : rng.hex(2)).toUpperCase()).join('-'),
      os: { ...os },
      agentId: rng.uuid(),
      agentVersion,
      ephemeralId: rng.uuid(),
      guidPrefix: rng.hex(8),
      user: { name: userName, domain: AD_DOMAIN, sid: `${DOMAIN_SID}-${rid}`, system: false },
      bootUs: this.startUs - rng.int(2 * 3600, 72 * 3600) * 1_000_000,
      counters: { sequence: rng.int(10_000, 900_000), sysmonRecord: rng.int(1_000, 400_000), securityRecord: rng.int(10_000, 2_000_000), logonId: 0 },
      pids: new Set(),
      core: undefined as unknown as Host['core'],
      apps: [],
      frag: {},
    };
    host.counters.logonId = 0x3e7 + rng.int(0x10000, 0x900000);
    // Boot-time tree. These processes started before the time window, so no start events exist for them.
    const t0 = host.bootUs;
    const sec = 1_000_000;
    const system = this.makeProc(host, { ...B.smss, name: 'System', path: 'System', ofn: '' }, null, SYSTEM, t0, 'System', 'System');
    system.pid = 4;
    const smss = this.makeProc(host, B.smss, system, SYSTEM, t0 + 2 * sec, '\\SystemRoot\\System32\\smss.exe', 'System');
    const wininit = this.makeProc(host, B.wininit, smss, SYSTEM, t0 + 4 * sec, 'wininit.exe', 'System');
    const services = this.makeProc(host, B.services, wininit, SYSTEM, t0 + 5 * sec, 'C:\\Windows\\system32\\services.exe', 'System');
    const lsass = this.makeProc(host, B.lsass, wininit, SYSTEM, t0 + 5 * sec, 'C:\\Windows\\system32\\lsass.exe', 'System');
    const svc = (group: string, acct: Account, extra = ''): Proc =>
      this.makeProc(host, B.svchost, services, acct, t0 + 6 * sec + rng.int(0, 4 * sec), `C:\\Windows\\system32\\svchost.exe -k ${group}${extra}`, 'System');
    const svcDcom = svc('DcomLaunch', SYSTEM, ' -p');
    const svcNet = svc('NetworkService', NETWORK_SERVICE, ' -p');
    const svcSched = svc('netsvcs', SYSTEM, ' -p -s Schedule');
    const svcSysMain = svc('LocalSystemNetworkRestricted', SYSTEM, ' -p -s SysMain');
    const wmiprvse = this.makeProc(host, B.wmiprvse, svcDcom, NETWORK_SERVICE, t0 + 40 * sec, 'C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding', 'System');
    const msmpeng = this.makeProc(host, B.msmpeng, services, SYSTEM, t0 + 8 * sec, `"${B.msmpeng.path}"`, 'System');
    const winlogon = this.makeProc(host, B.winlogon, smss, SYSTEM, t0 + 4 * sec, 'winlogon.exe', 'System');
    const userinit = this.makeProc(host, { ...B.explorer, name: 'userinit.exe', path: 'C:\\Windows\\System32\\userinit.exe', ofn: 'USERINIT.EXE' }, winlogon, host.user, t0 + 60 * sec, 'C:\\Windows\\system32\\userinit.exe', 'Medium');
    const explorer = this.makeProc(host, B.explorer, userinit, host.user, t0 + 61 * sec, 'C:\\Windows\\Explorer.EXE', 'Medium');
    // Boot processes added after the first release draw from their own stream, so that a seed
    // keeps giving the same events as before.
    const late = new Rng(`${host.id}:late-boot`);
    const searchIndexer = this.makeProc(host, B.searchindexer, services, SYSTEM, t0 + 30 * sec, 'C:\\Windows\\system32\\SearchIndexer.exe /Embedding', 'System', undefined, late);
    host.core = { system, services, lsass, svcDcom, svcNet, svcSched, svcSysMain, wmiprvse, explorer, msmpeng, searchIndexer };
    return host;
  }

  private allocPid(host: Host, rng: Rng = this.rng): number {
    for (;;) {
      const pid = rng.int(100, 16_000) * 4;
      if (!host.pids.has(pid)) {
        host.pids.add(pid);
        return pid;
      }
    }
  }

  /** Resolves per-user install paths (`{user}`) to the host user's profile. */
  userPath(host: Host, path: string): string {
    return path.replace('{user}', host.user.name);
  }

  makeProc(
    host: Host,
    bin: Binary,
    parent: Proc | null,
    user: Account,
    startUs: number,
    cmd: string,
    integrity: Proc['integrity'],
    exeOverride?: string,
    rng: Rng = this.rng,
  ): Proc {
    const exe = exeOverride ?? this.userPath(host, bin.path);
    const pid = this.allocPid(host, rng);
    const sec = Math.floor(startUs / 1_000_000);
    // Elastic Defend's entity id is base64 of "<agent id>-<pid>-<process start FILETIME>".
    const filetime = BigInt(startUs) * 10n + 116_444_736_000_000_000n;
    const entityId = Buffer.from(`${host.agentId}-${pid}-${filetime}`).toString('base64');
    // Sysmon ProcessGuid: machine part, then the start time, then a per-process sequence.
    const guid = `{${host.guidPrefix}-${hex4(sec >>> 16)}-${hex4(sec & 0xffff)}-${hex4(pid & 0xffff)}-${rng.hex(12)}}`;
    return {
      host,
      bin,
      exe,
      name: exe.slice(exe.lastIndexOf('\\') + 1),
      pid,
      cmd,
      args: splitWindowsCommandLine(cmd),
      cwd: user.system ? 'C:\\Windows\\system32\\' : `C:\\Users\\${user.name}\\`,
      user,
      parent,
      startUs,
      integrity,
      omitOfn: false,
      entityId,
      guid,
      ended: false,
      frag: {},
    };
  }

  /** Starts a process: the start event, then its library loads a few milliseconds apart. Returns the time after the loads. */
  start(proc: Proc, t: number): number {
    const host = proc.host;
    t = this.align(host, t);
    this.emit({ kind: 'start', t, host, proc });
    for (const dll of librariesFor(proc.bin)) {
      t = this.align(host, t + this.rng.int(300, 9_000));
      this.emit({ kind: 'load', t, host, proc, dll });
    }
    return t;
  }

  end(proc: Proc, t: number, exitCode = 0): void {
    if (proc.ended) return;
    proc.ended = true;
    proc.host.pids.delete(proc.pid);
    this.emit({ kind: 'end', t: this.align(proc.host, t), host: proc.host, proc, exitCode });
  }

  private dnsAndConnect(proc: Proc, t: number, dest: Destination): number {
    const host = proc.host;
    const ip = this.rng.pick(dest.ips);
    t = this.align(host, t);
    this.emit({ kind: 'dns', t, host, proc, qname: dest.domain, ips: dest.ips });
    t = this.align(host, t + this.rng.int(2_000, 60_000));
    this.emit({
      kind: 'net', t, host, proc, srcPort: this.rng.int(49_152, 65_535), dstIp: ip, dstPort: dest.port,
      transport: dest.port === 123 ? 'udp' : 'tcp', dstDomain: dest.domain,
    });
    return t;
  }

  private keepApp(host: Host, proc: Proc, t: number): void {
    host.apps.push(proc);
    if (host.apps.length > 10) {
      const old = host.apps.shift()!;
      this.end(old, t + this.rng.int(1_000, 400_000));
    }
  }

  /** Runs one background activity on a random host at time t. */
  activity(t: number): void {
    const rng = this.rng;
    const host = rng.pick(this.hosts);
    const c = host.core;
    const kind = rng.weighted(ACTIVITIES, ACTIVITY_WEIGHTS);
    const s = 1_000_000;
    switch (kind) {
      case 'userApp': {
        const app = rng.weighted(USER_APPS, USER_APP_WEIGHTS);
        const proc = this.makeProc(host, app.bin, c.explorer, host.user, t, app.cmd(this, host), 'Medium');
        const after = this.start(proc, t);
        if (app.shortLived) {
          if (proc.bin === B.cmd || proc.bin === B.powershell) {
            const tool = rng.pick(SHELL_TOOLS);
            const child = this.makeProc(host, tool.bin, proc, host.user, after + rng.int(200_000, 5 * s), tool.cmd, 'Medium');
            const tc = this.start(child, child.startUs);
            this.end(child, tc + rng.int(20_000, 900_000));
            if (proc.bin === B.powershell) {
              const n = `__PSScriptPolicyTest_${rng.hex(8)}.${rng.hex(3)}.ps1`;
              this.emit({ kind: 'file', t: this.align(host, after + rng.int(50_000, 400_000)), host, proc, path: `C:\\Users\\${host.user.name}\\AppData\\Local\\Temp\\${n}`, op: 'creation' });
            }
          }
          this.end(proc, after + rng.int(2 * s, 300 * s));
        } else {
          this.keepApp(host, proc, after);
        }
        break;
      }
      case 'browse': {
        // Each program talks to its own kind of destination: only browsers browse the web (a
        // shell resolving stackoverflow.com is what "Connection to Commonly Abused Web Services"
        // looks for). With no program open, the shell reaches Windows' own services.
        const proc = host.apps.length > 0 ? rng.pick(host.apps) : c.explorer;
        const tt = this.dnsAndConnect(proc, t, rng.pick(destinationsOf(proc.bin)));
        if ((proc.bin === B.chrome || proc.bin === B.msedge) && rng.chance(0.15)) {
          const doc = `${rng.pick(DOCUMENT_NAMES)}-${rng.int(1, 999)}.${rng.pick(['pdf', 'zip', 'docx', 'xlsx'])}`;
          this.emit({ kind: 'file', t: this.align(host, tt + rng.int(100_000, 3 * s)), host, proc, path: `C:\\Users\\${host.user.name}\\Downloads\\${doc}`, op: 'creation' });
        }
        break;
      }
      case 'netsvc': {
        const proc = rng.chance(0.3) ? c.msmpeng : rng.pick([c.svcNet, c.svcDcom, c.svcSched]);
        this.dnsAndConnect(proc, t, rng.pick(WINDOWS));
        break;
      }
      case 'service': {
        const svc = rng.weighted(SERVICE_CHILDREN, SERVICE_CHILD_WEIGHTS);
        const parent = svc.parent === 'sched' ? c.svcSched : svc.parent === 'dcom' ? c.svcDcom : svc.parent === 'search' ? c.searchIndexer : c.msmpeng;
        const proc = this.makeProc(host, svc.bin, parent, svc.user, t, svc.cmd, 'System');
        const after = this.start(proc, t);
        this.end(proc, after + rng.int(s / 2, 40 * s));
        break;
      }
      case 'wmi': {
        // Management tooling (SCCM, monitoring agents) runs commands through WMI as SYSTEM. These
        // are children of WmiPrvSE.exe but with user.domain "NT AUTHORITY", so the seed rule ignores them.
        const job = rng.pick(WMI_JOBS);
        const proc = this.makeProc(host, job.bin, c.wmiprvse, SYSTEM, t, job.cmd, 'System');
        const after = this.start(proc, t);
        this.end(proc, after + rng.int(s / 2, 20 * s));
        break;
      }
      case 'script': {
        // Logon and inventory scripts: cscript/wscript load their engines but not wmiutils.dll.
        const bin = rng.chance(0.5) ? B.cscript : B.wscript;
        const script = rng.pick(['\\\\corp.example.com\\NETLOGON\\logon.vbs', 'C:\\ProgramData\\CorpIT\\inventory.js', '\\\\corp.example.com\\NETLOGON\\drives.vbs']);
        const cmd = bin === B.cscript ? `C:\\Windows\\System32\\cscript.exe //nologo "${script}"` : `"C:\\Windows\\System32\\WScript.exe" "${script}"`;
        const proc = this.makeProc(host, bin, c.explorer, host.user, t, cmd, 'Medium');
        const after = this.start(proc, t);
        if (rng.chance(0.5)) {
          const child = this.makeProc(host, B.net, proc, host.user, after + rng.int(50_000, 800_000), 'C:\\Windows\\system32\\net.exe use H: \\\\fs01.corp.example.com\\home', 'Medium');
          const tc = this.start(child, child.startUs);
          this.end(child, tc + rng.int(100_000, 2 * s));
        }
        this.end(proc, after + rng.int(s, 10 * s));
        break;
      }
      case 'file': {
        const r = rng.int(0, 3);
        if (r === 0) {
          this.emit({ kind: 'file', t: this.align(host, t), host, proc: c.svcSysMain, path: `C:\\Windows\\Prefetch\\${rng.pick(PREFETCH)}-${rng.hex(8).toUpperCase()}.pf`, op: rng.chance(0.8) ? 'creation' : 'deletion' });
        } else if (r === 1) {
          this.emit({ kind: 'file', t: this.align(host, t), host, proc: c.explorer, path: `C:\\Users\\${host.user.name}\\AppData\\Roaming\\Microsoft\\Windows\\Recent\\${rng.pick(DOCUMENT_NAMES)}.lnk`, op: 'creation' });
        } else {
          const office = host.apps.find((p) => p.bin === B.winword || p.bin === B.excel || p.bin === B.outlook);
          const proc = office ?? c.explorer;
          this.emit({ kind: 'file', t: this.align(host, t), host, proc, path: `C:\\Users\\${host.user.name}\\AppData\\Local\\Temp\\~DF${rng.hex(12).toUpperCase()}.TMP`, op: rng.chance(0.6) ? 'creation' : 'deletion' });
        }
        break;
      }
      case 'registry': {
        const r = rng.int(0, 2);
        if (r === 0) {
          this.emit({ kind: 'reg', t: this.align(host, t), host, proc: c.explorer, path: `HKEY_USERS\\${host.user.sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\MRUListEx`, dataType: 'REG_SZ', data: 'Binary Data' });
        } else if (r === 1) {
          const app = host.apps.length > 0 ? rng.pick(host.apps) : c.explorer;
          this.emit({ kind: 'reg', t: this.align(host, t), host, proc: c.svcSched, path: `HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\bam\\State\\UserSettings\\${host.user.sid}\\\\Device\\HarddiskVolume3${app.exe.slice(2)}`, dataType: 'REG_SZ', data: 'Binary Data' });
        } else {
          this.emit({ kind: 'reg', t: this.align(host, t), host, proc: c.msmpeng, path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignaturesLastUpdated', dataType: 'REG_DWORD', data: String(rng.int(1, 0x7fffffff)) });
        }
        break;
      }
      case 'auth': {
        const r = rng.int(0, 3);
        const logonId = ++host.counters.logonId;
        if (r <= 1) {
          // Machine account and users authenticating over the network (file shares, GPO) from the DC.
          const target: Account = r === 0 ? { name: `${host.name.toUpperCase()}$`, domain: AD_DOMAIN, sid: `${DOMAIN_SID}-${2000 + host.index}`, system: false } : host.user;
          this.emit({ kind: 'auth', t: this.align(host, t), host, proc: c.lsass, target, logonType: 3, srcIp: DC_IP, srcPort: rng.int(49_152, 65_535), package: 'Kerberos', logonId });
        } else if (r === 2) {
          this.emit({ kind: 'auth', t: this.align(host, t), host, proc: c.services, target: SYSTEM, logonType: 5, srcIp: null, srcPort: 0, package: 'Negotiate', logonId });
        } else {
          this.emit({ kind: 'auth', t: this.align(host, t), host, proc: c.lsass, target: host.user, logonType: rng.chance(0.5) ? 7 : 11, srcIp: '127.0.0.1', srcPort: 0, package: 'Negotiate', logonId });
        }
        break;
      }
      case 'dllload': {
        const proc = host.apps.length > 0 ? rng.pick(host.apps) : c.explorer;
        this.emit({ kind: 'load', t: this.align(host, t), host, proc, dll: rng.pick(LATE_DLLS) });
        break;
      }
    }
  }
}

function hex4(n: number): string {
  return (n & 0xffff).toString(16).padStart(4, '0');
}

const ACTIVITIES = ['userApp', 'browse', 'netsvc', 'service', 'wmi', 'script', 'file', 'registry', 'auth', 'dllload'] as const;
const ACTIVITY_WEIGHTS = [8, 22, 8, 6, 2, 1, 10, 8, 4, 6];

interface AppSpec {
  bin: Binary;
  cmd: (w: World, h: Host) => string;
  shortLived: boolean;
}

const USER_APPS: readonly AppSpec[] = [
  { bin: B.chrome, cmd: () => '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"', shortLived: false },
  { bin: B.msedge, cmd: () => '"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe" --single-argument https://intranet.corp.example.com/', shortLived: false },
  { bin: B.outlook, cmd: () => '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"', shortLived: false },
  { bin: B.winword, cmd: (_w, h) => `"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "C:\\Users\\${h.user.name}\\Documents\\status-report.docx" /o ""`, shortLived: false },
  { bin: B.excel, cmd: () => '"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE"', shortLived: false },
  { bin: B.teams, cmd: () => '"C:\\Program Files\\WindowsApps\\MSTeams_24295.606.3238.6194_x64__8wekyb3d8bbwe\\ms-teams.exe"', shortLived: false },
  { bin: B.onedrive, cmd: (w, h) => `"${w.userPath(h, B.onedrive.path)}" /background`, shortLived: false },
  { bin: B.code, cmd: (w, h) => `"${w.userPath(h, B.code.path)}"`, shortLived: false },
  { bin: B.notepad, cmd: (_w, h) => `"C:\\Windows\\system32\\NOTEPAD.EXE" C:\\Users\\${h.user.name}\\Desktop\\notes.txt`, shortLived: true },
  { bin: B.cmd, cmd: () => '"C:\\Windows\\system32\\cmd.exe" ', shortLived: true },
  { bin: B.powershell, cmd: () => '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" ', shortLived: true },
];
const USER_APP_WEIGHTS = [5, 3, 2, 2, 2, 2, 1, 1, 2, 2, 2];

const SHELL_TOOLS: readonly { bin: Binary; cmd: string }[] = [
  { bin: B.whoami, cmd: 'whoami  /groups' },
  { bin: B.ipconfig, cmd: 'ipconfig  /all' },
  { bin: B.net, cmd: 'net  use' },
  { bin: B.tasklist, cmd: 'tasklist  /v' },
  { bin: B.gpupdate, cmd: 'gpupdate  /force' },
];

const SERVICE_CHILDREN: readonly { bin: Binary; cmd: string; parent: 'sched' | 'dcom' | 'defender' | 'search'; user: Account }[] = [
  { bin: B.taskhostw, cmd: 'taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly', parent: 'sched', user: SYSTEM },
  { bin: B.backgroundtaskhost, cmd: '"C:\\Windows\\system32\\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider', parent: 'dcom', user: SYSTEM },
  { bin: B.searchprotocolhost, cmd: '"C:\\Windows\\system32\\SearchProtocolHost.exe" Global\\UsGthrFltPipeMssGthrPipe1_ Global\\UsGthrCtrlFltPipeMssGthrPipe1 1 -2147483646 "Software\\Microsoft\\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" "C:\\ProgramData\\Microsoft\\Search\\Data\\Temp\\usgthrsvc" "DownLevelDaemon" ', parent: 'search', user: SYSTEM },
  { bin: B.mpcmdrun, cmd: '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MpCmdRun.exe" SignaturesUpdateService -ScheduleJob -UnmanagedUpdate', parent: 'defender', user: SYSTEM },
  { bin: B.gpupdate, cmd: 'gpupdate.exe /target:computer', parent: 'sched', user: SYSTEM },
  { bin: B.runtimebroker, cmd: 'C:\\Windows\\System32\\RuntimeBroker.exe -Embedding', parent: 'dcom', user: SYSTEM },
];
const SERVICE_CHILD_WEIGHTS = [4, 3, 3, 1, 1, 3];

const WMI_JOBS: readonly { bin: Binary; cmd: string }[] = [
  { bin: B.powershell, cmd: 'powershell.exe -NoLogo -NonInteractive -ExecutionPolicy Bypass -File C:\\Windows\\CCM\\SystemTemp\\inventory.ps1' },
  { bin: B.cmd, cmd: 'cmd.exe /c "C:\\Windows\\CCM\\ccmeval.exe"' },
  { bin: B.wmiapsrv, cmd: 'C:\\Windows\\system32\\wbem\\WmiApSrv.exe' },
];

const PREFETCH = ['CHROME.EXE', 'SVCHOST.EXE', 'CONHOST.EXE', 'TASKHOSTW.EXE', 'RUNTIMEBROKER.EXE', 'MSEDGE.EXE', 'WINWORD.EXE'];
const LATE_DLLS: readonly Binary[] = [D.winhttp, D.wininet, D.crypt32, D.bcrypt, D.ole32, D.oleaut32, D.dnsapi, D.mswsock, D.shell32];

/** The destinations a program's own traffic goes to. */
function destinationsOf(bin: Binary): readonly Destination[] {
  switch (bin) {
    case B.chrome:
    case B.msedge:
      return WEB;
    case B.outlook:
    case B.winword:
    case B.excel:
    case B.teams:
      return OFFICE;
    case B.onedrive:
      return ONEDRIVE;
    case B.code:
      return VSCODE;
    default:
      return WINDOWS;
  }
}
