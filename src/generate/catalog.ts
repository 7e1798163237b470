// Static knowledge about a Windows estate: the binaries that run, the libraries they load and
// where they connect. Paths, original file names and version resources are the real ones, because
// detection rules match on them (e.g. process.pe.original_file_name : "RUNDLL32.EXE").
import { stableHex } from './prng.js';

export interface Binary {
  /** File name as it is on disk (case as Windows shows it). */
  name: string;
  /** Full path; `{user}` is replaced by the user's profile name for per-user installs. */
  path: string;
  /** PE OriginalFileName from the version resource (case as Microsoft ships it). */
  ofn: string;
  description: string;
  company: string;
  product: string;
  version: string;
  signer: string;
  md5: string;
  sha1: string;
  sha256: string;
  imphash: string;
}

const MS = 'Microsoft Corporation';
const WINPROD = 'Microsoft® Windows® Operating System';
const WINVER = '10.0.19041.3636 (WinBuild.160101.0800)';
const MSSIGN = 'Microsoft Windows';

function bin(
  path: string,
  ofn: string,
  description: string,
  opts: { company?: string; product?: string; version?: string; signer?: string } = {},
): Binary {
  const name = path.slice(path.lastIndexOf('\\') + 1);
  const version = opts.version ?? WINVER;
  // Hashes depend on the file identity only, so a binary hashes the same on every host and run.
  const id = `${path.toLowerCase()}|${version}`;
  return {
    name,
    path,
    ofn,
    description,
    company: opts.company ?? MS,
    product: opts.product ?? WINPROD,
    version,
    signer: opts.signer ?? MSSIGN,
    md5: stableHex(`md5:${id}`, 32),
    sha1: stableHex(`sha1:${id}`, 40),
    sha256: stableHex(`sha256:${id}`, 64),
    imphash: stableHex(`imp:${id}`, 32),
  };
}

const S32 = 'C:\\Windows\\System32\\';

export const B = {
  smss: bin(`${S32}smss.exe`, 'smss.exe', 'Windows Session Manager'),
  csrss: bin(`${S32}csrss.exe`, 'CSRSS.Exe', 'Client Server Runtime Process'),
  wininit: bin(`${S32}wininit.exe`, 'WinInit.exe', 'Windows Start-Up Application'),
  winlogon: bin(`${S32}winlogon.exe`, 'WINLOGON.EXE', 'Windows Logon Application'),
  services: bin(`${S32}services.exe`, 'services.exe', 'Services and Controller app'),
  lsass: bin(`${S32}lsass.exe`, 'lsass.exe', 'Local Security Authority Process'),
  svchost: bin(`${S32}svchost.exe`, 'svchost.exe', 'Host Process for Windows Services'),
  explorer: bin('C:\\Windows\\explorer.exe', 'EXPLORER.EXE', 'Windows Explorer'),
  sihost: bin(`${S32}sihost.exe`, 'sihost.exe', 'Shell Infrastructure Host'),
  taskhostw: bin(`${S32}taskhostw.exe`, 'taskhostw.exe', 'Host Process for Windows Tasks'),
  runtimebroker: bin(`${S32}RuntimeBroker.exe`, 'RuntimeBroker.exe', 'Runtime Broker'),
  searchprotocolhost: bin(`${S32}SearchProtocolHost.exe`, 'SearchProtocolHost.exe', 'Microsoft Windows Search Protocol Host'),
  searchindexer: bin(`${S32}SearchIndexer.exe`, 'SearchIndexer.exe', 'Microsoft Windows Search Indexer'),
  backgroundtaskhost: bin(`${S32}backgroundTaskHost.exe`, 'backgroundTaskHost.exe', 'Background Task Host'),
  wmiprvse: bin(`${S32}wbem\\WmiPrvSE.exe`, 'Wmiprvse.exe', 'WMI Provider Host'),
  wmiapsrv: bin(`${S32}wbem\\WmiApSrv.exe`, 'WmiApSrv.exe', 'WMI Performance Reverse Adapter'),
  cmd: bin(`${S32}cmd.exe`, 'Cmd.Exe', 'Windows Command Processor'),
  conhost: bin(`${S32}conhost.exe`, 'CONHOST.EXE', 'Console Window Host'),
  powershell: bin(`${S32}WindowsPowerShell\\v1.0\\powershell.exe`, 'PowerShell.EXE', 'Windows PowerShell'),
  cscript: bin(`${S32}cscript.exe`, 'cscript.exe', 'Microsoft ® Console Based Script Host'),
  wscript: bin(`${S32}wscript.exe`, 'wscript.exe', 'Microsoft ® Windows Based Script Host'),
  rundll32: bin(`${S32}rundll32.exe`, 'RUNDLL32.EXE', 'Windows host process (Rundll32)'),
  regsvr32: bin(`${S32}regsvr32.exe`, 'REGSVR32.EXE', 'Microsoft(C) Register Server'),
  mshta: bin(`${S32}mshta.exe`, 'MSHTA.EXE', 'Microsoft (R) HTML Application host', { version: '11.00.19041.3636 (WinBuild.160101.0800)', product: 'Internet Explorer' }),
  msiexec: bin(`${S32}msiexec.exe`, 'msiexec.exe', 'Windows® installer', { version: '5.0.19041.3636 (WinBuild.160101.0800)', product: 'Windows Installer - Unicode' }),
  notepad: bin(`${S32}notepad.exe`, 'NOTEPAD.EXE', 'Notepad'),
  whoami: bin(`${S32}whoami.exe`, 'whoami.exe', 'whoami - displays logged on user information'),
  ipconfig: bin(`${S32}ipconfig.exe`, 'ipconfig.exe', 'IP Configuration Utility'),
  net: bin(`${S32}net.exe`, 'net.exe', 'Net Command'),
  sc: bin(`${S32}sc.exe`, 'sc.exe', 'Service Control Manager Configuration Tool'),
  schtasks: bin(`${S32}schtasks.exe`, 'schtasks.exe', 'Task Scheduler Configuration Tool'),
  tasklist: bin(`${S32}tasklist.exe`, 'tasklist.exe', 'Lists the current running tasks'),
  gpupdate: bin(`${S32}gpupdate.exe`, 'GPUpdate.exe', 'Microsoft® Windows Group Policy Update Utility'),
  msbuild: bin('C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\MSBuild.exe', 'MSBuild.exe', 'MSBuild.exe', { version: '4.8.9037.0 built by: NET481REL1', product: 'Microsoft® .NET Framework' }),
  msmpeng: bin('C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe', 'MsMpEng.exe', 'Antimalware Service Executable', { version: '4.18.24090.11 (WinBuild.160101.0800)' }),
  mpcmdrun: bin('C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MpCmdRun.exe', 'MpCmdRun.exe', 'Microsoft Malware Protection Command Line Utility', { version: '4.18.24090.11 (WinBuild.160101.0800)' }),
  chrome: bin('C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', 'chrome.exe', 'Google Chrome', { company: 'Google LLC', product: 'Google Chrome', version: '131.0.6778.86', signer: 'Google LLC' }),
  msedge: bin('C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe', 'msedge.exe', 'Microsoft Edge', { product: 'Microsoft Edge', version: '131.0.2903.70', signer: MS }),
  outlook: bin('C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE', 'Outlook.exe', 'Microsoft Outlook', { product: 'Microsoft Outlook', version: '16.0.17928.20156', signer: MS }),
  winword: bin('C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE', 'WinWord.exe', 'Microsoft Word', { product: 'Microsoft Office', version: '16.0.17928.20156', signer: MS }),
  excel: bin('C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE', 'Excel.exe', 'Microsoft Excel', { product: 'Microsoft Office', version: '16.0.17928.20156', signer: MS }),
  onedrive: bin('C:\\Users\\{user}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe', 'OneDrive.exe', 'Microsoft OneDrive', { product: 'Microsoft OneDrive', version: '24.201.1006.0005', signer: MS }),
  code: bin('C:\\Users\\{user}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe', 'electron.exe', 'Visual Studio Code', { product: 'Visual Studio Code', version: '1.95.3', signer: MS }),
  teams: bin('C:\\Program Files\\WindowsApps\\MSTeams_24295.606.3238.6194_x64__8wekyb3d8bbwe\\ms-teams.exe', 'ms-teams.exe', 'Microsoft Teams', { product: 'Microsoft Teams', version: '24295.606.3238.6194', signer: MS }),
} satisfies Record<string, Binary>;

export type BinaryKey = keyof typeof B;

function dll(path: string, description: string, opts: { company?: string; product?: string; version?: string; signer?: string } = {}): Binary {
  const name = path.slice(path.lastIndexOf('\\') + 1);
  return bin(path, name, description, opts);
}

const NET = 'C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\';

export const D = {
  ntdll: dll(`${S32}ntdll.dll`, 'NT Layer DLL'),
  kernel32: dll(`${S32}kernel32.dll`, 'Windows NT BASE API Client DLL'),
  kernelbase: dll(`${S32}KernelBase.dll`, 'Windows NT BASE API Client DLL'),
  user32: dll(`${S32}user32.dll`, 'Multi-User Windows USER API Client DLL'),
  advapi32: dll(`${S32}advapi32.dll`, 'Advanced Windows 32 Base API'),
  combase: dll(`${S32}combase.dll`, 'Microsoft COM for Windows'),
  ole32: dll(`${S32}ole32.dll`, 'Microsoft OLE for Windows'),
  oleaut32: dll(`${S32}oleaut32.dll`, 'OLEAUT32.DLL'),
  ws2_32: dll(`${S32}ws2_32.dll`, 'Windows Socket 2.0 32-Bit DLL'),
  mswsock: dll(`${S32}mswsock.dll`, 'Microsoft Windows Sockets 2.0 Service Provider'),
  dnsapi: dll(`${S32}dnsapi.dll`, 'DNS Client API DLL'),
  crypt32: dll(`${S32}crypt32.dll`, 'Crypto API32'),
  bcrypt: dll(`${S32}bcrypt.dll`, 'Windows Cryptographic Primitives Library'),
  wininet: dll(`${S32}wininet.dll`, 'Internet Extensions for Win32'),
  winhttp: dll(`${S32}winhttp.dll`, 'Windows HTTP Services'),
  amsi: dll(`${S32}amsi.dll`, 'Anti-Malware Scan Interface'),
  shell32: dll(`${S32}shell32.dll`, 'Windows Shell Common Dll'),
  vbscript: dll(`${S32}vbscript.dll`, 'Microsoft ® VBScript', { version: '5.812.10240.16384' }),
  jscript: dll(`${S32}jscript.dll`, 'Microsoft ® JScript', { version: '5.812.10240.16384' }),
  scrrun: dll(`${S32}scrrun.dll`, 'Microsoft ® Script Runtime', { version: '5.812.10240.16384' }),
  wshom: dll(`${S32}wshom.ocx`, 'Windows Script Host Runtime Library', { version: '5.812.10240.16384' }),
  wmiutils: dll(`${S32}wbem\\wmiutils.dll`, 'WMI'),
  fastprox: dll(`${S32}wbem\\fastprox.dll`, 'WMI Custom Marshaller'),
  wbemprox: dll(`${S32}wbem\\wbemprox.dll`, 'WMI'),
  wbemcomn: dll(`${S32}wbemcomn.dll`, 'WMI'),
  clr: dll(`${NET}clr.dll`, 'Microsoft .NET Runtime Common Language Runtime - WorkStation', { version: '4.8.9181.0 built by: NET481REL1LAST_C', product: 'Microsoft® .NET Framework' }),
  clrjit: dll(`${NET}clrjit.dll`, 'Microsoft .NET Runtime Just-In-Time Compiler', { version: '4.8.9181.0 built by: NET481REL1LAST_C', product: 'Microsoft® .NET Framework' }),
  sma: dll('C:\\Windows\\assembly\\NativeImages_v4.0.30319_64\\System.Manaa57fc8cc#\\4b2a1c5b0e0a2b1e8d4c3f6a7b9e0d1c\\System.Management.Automation.ni.dll', 'System.Management.Automation', { version: '10.0.19041.3636', product: WINPROD }),
  chromeElf: dll('C:\\Program Files\\Google\\Chrome\\Application\\131.0.6778.86\\chrome_elf.dll', 'Google Chrome', { company: 'Google LLC', product: 'Google Chrome', version: '131.0.6778.86', signer: 'Google LLC' }),
  chromeDll: dll('C:\\Program Files\\Google\\Chrome\\Application\\131.0.6778.86\\chrome.dll', 'Google Chrome', { company: 'Google LLC', product: 'Google Chrome', version: '131.0.6778.86', signer: 'Google LLC' }),
  msedgeElf: dll('C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\131.0.2903.70\\msedge_elf.dll', 'Microsoft Edge', { product: 'Microsoft Edge', version: '131.0.2903.70', signer: MS }),
  mso: dll('C:\\Program Files\\Common Files\\microsoft shared\\Office16\\mso20win32client.dll', 'Microsoft Office 2016 component', { product: 'Microsoft Office', version: '16.0.17928.20156', signer: MS }),
  mpclient: dll('C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MpClient.dll', 'Client Interface', { version: '4.18.24090.11 (WinBuild.160101.0800)' }),
  explorerframe: dll(`${S32}ExplorerFrame.dll`, 'ExplorerFrame'),
  taskschd: dll(`${S32}taskschd.dll`, 'Task Scheduler COM API'),
} satisfies Record<string, Binary>;

const BASE_DLLS: readonly Binary[] = [D.ntdll, D.kernel32, D.kernelbase, D.user32, D.advapi32, D.combase];

/**
 * Libraries each program loads right after it starts (a realistic subset: Sysmon configs and
 * Defend both report these). Script hosts load script engines but never wmiutils.dll in the
 * background, so only planted events can satisfy step 1 of the seed rule.
 */
export function librariesFor(b: Binary): readonly Binary[] {
  switch (b) {
    case B.powershell:
      return [...BASE_DLLS, D.clr, D.clrjit, D.sma, D.amsi, D.wmiutils, D.fastprox];
    case B.cscript:
    case B.wscript:
      return [...BASE_DLLS, D.vbscript, D.jscript, D.scrrun, D.wshom, D.amsi];
    case B.wmiprvse:
      return [...BASE_DLLS, D.wmiutils, D.fastprox, D.wbemprox, D.wbemcomn];
    case B.chrome:
      return [...BASE_DLLS, D.chromeElf, D.chromeDll, D.ws2_32, D.mswsock, D.dnsapi, D.crypt32];
    case B.msedge:
      return [...BASE_DLLS, D.msedgeElf, D.ws2_32, D.mswsock, D.dnsapi, D.crypt32];
    case B.outlook:
    case B.winword:
    case B.excel:
      return [...BASE_DLLS, D.mso, D.ole32, D.oleaut32, D.wininet, D.shell32];
    case B.explorer:
      return [...BASE_DLLS, D.shell32, D.explorerframe];
    case B.msmpeng:
    case B.mpcmdrun:
      return [...BASE_DLLS, D.mpclient, D.bcrypt, D.crypt32];
    case B.msbuild:
      return [...BASE_DLLS, D.clr, D.clrjit];
    case B.onedrive:
    case B.teams:
    case B.code:
      return [...BASE_DLLS, D.winhttp, D.ws2_32, D.crypt32];
    case B.taskhostw:
      return [...BASE_DLLS, D.taskschd];
    default:
      return BASE_DLLS;
  }
}

export interface Destination {
  domain: string;
  ips: readonly string[];
  port: number;
}

/** Internet destinations per kind of program (addresses from the providers' real ranges). */
export const WEB: readonly Destination[] = [
  { domain: 'www.google.com', ips: ['142.250.185.68', '142.250.186.36'], port: 443 },
  { domain: 'update.googleapis.com', ips: ['142.250.74.99'], port: 443 },
  { domain: 'github.com', ips: ['140.82.121.4', '140.82.121.3'], port: 443 },
  { domain: 'www.wikipedia.org', ips: ['185.15.59.224'], port: 443 },
  { domain: 'login.microsoftonline.com', ips: ['20.190.159.2', '40.126.31.67'], port: 443 },
  { domain: 'www.bing.com', ips: ['13.107.21.200', '204.79.197.200'], port: 443 },
  { domain: 'stackoverflow.com', ips: ['104.18.32.7', '172.64.155.249'], port: 443 },
];

/** What programs that are not browsers talk to: their own vendor's services. */
export const ONEDRIVE: readonly Destination[] = [
  { domain: 'oneclient.sfx.ms', ips: ['13.107.42.12'], port: 443 },
  { domain: 'skydrive.wns.windows.com', ips: ['20.44.229.112'], port: 443 },
];

export const VSCODE: readonly Destination[] = [
  { domain: 'update.code.visualstudio.com', ips: ['13.107.246.40'], port: 443 },
  { domain: 'marketplace.visualstudio.com', ips: ['13.107.42.18'], port: 443 },
];

export const OFFICE: readonly Destination[] = [
  { domain: 'outlook.office365.com', ips: ['52.97.146.162', '40.99.10.34'], port: 443 },
  { domain: 'login.microsoftonline.com', ips: ['20.190.159.2'], port: 443 },
  { domain: 'officeclient.microsoft.com', ips: ['52.109.8.89'], port: 443 },
  { domain: 'teams.microsoft.com', ips: ['52.113.194.132'], port: 443 },
];

export const WINDOWS: readonly Destination[] = [
  { domain: 'settings-win.data.microsoft.com', ips: ['20.42.73.29'], port: 443 },
  { domain: 'ctldl.windowsupdate.com', ips: ['93.184.221.240'], port: 80 },
  { domain: 'wdcp.microsoft.com', ips: ['20.150.79.68'], port: 443 },
  { domain: 'time.windows.com', ips: ['168.61.215.74'], port: 123 },
];

export const USER_NAMES: readonly string[] = [
  'alice.martin', 'bob.nguyen', 'carol.jones', 'david.kim', 'emma.schmidt', 'farid.haddad', 'grace.obi',
  'hiro.tanaka', 'ines.garcia', 'jonas.berg', 'kate.wilson', 'liam.murphy', 'maria.rossi', 'noah.cohen',
  'olga.petrova', 'paul.dubois', 'qi.zhang', 'rosa.lopez', 'sam.taylor', 'tara.singh',
];

export const DOCUMENT_NAMES: readonly string[] = [
  'Q3-forecast', 'board-minutes', 'invoice', 'travel-policy', 'onboarding', 'vendor-list', 'roadmap',
  'budget-2025', 'meeting-notes', 'contract-draft', 'status-report', 'org-chart',
];
