import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RawWindowsEvent } from '../src/evtx/types.js';
import {
  hostIdFor,
  isUnmappedWinlogDocument,
  mapRawWindowsEvent,
  mapWinlogbeatDocument,
} from '../src/events/windows/index.js';
import { communityId, decodeLong, splitCommandLineSecurity, splitCommandLineWindows } from '../src/events/windows/common.js';

const SHARED = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared');
const EVTX_DIR = join(SHARED, 'corpus', 'evtx');

type Data = Record<string, string | null>;
type Src = Record<string, any>;

const SYSMON_GUID = '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}';

function sysmonRaw(id: number, data: Data, version = '5'): RawWindowsEvent {
  return {
    System: {
      Provider: { Name: 'Microsoft-Windows-Sysmon', Guid: SYSMON_GUID },
      EventID: String(id),
      Version: version,
      Level: '4',
      Task: String(id),
      Opcode: '0',
      Keywords: '0x8000000000000000',
      TimeCreated: '2019-08-30T12:54:08.1718755Z',
      EventRecordID: '32152',
      Execution: { ProcessID: '3292', ThreadID: '4120' },
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Computer: 'MSEDGEWIN10',
      Security: { UserID: 'S-1-5-18' },
    },
    EventData: { RuleName: '-', UtcTime: '2019-08-30 12:54:08.127', ...data },
  };
}

function securityRaw(id: number, task: string, data: Data, keywords = '0x8020000000000000'): RawWindowsEvent {
  return {
    System: {
      Provider: { Name: 'Microsoft-Windows-Security-Auditing', Guid: '{54849625-5478-4994-A5BA-3E3B0328C30D}' },
      EventID: String(id),
      Version: '2',
      Level: '0',
      Task: task,
      Opcode: '0',
      Keywords: keywords,
      TimeCreated: '2019-03-18T22:15:49.6458894Z',
      EventRecordID: '563298',
      Execution: { ProcessID: '4', ThreadID: '3696' },
      Channel: 'Security',
      Computer: 'WIN-77LTAPHIQ1R.example.corp',
    },
    EventData: data,
  };
}

/** mapRawWindowsEvent with the document typed loosely for property access in assertions. */
const mapped = (raw: RawWindowsEvent, opts = {}): { source: Src; index: string } => mapRawWindowsEvent(raw, opts) as { source: Src; index: string };
const sysmon = (id: number, data: Data, opts = {}): Src => mapRawWindowsEvent(sysmonRaw(id, data), opts).source;
const security = (id: number, task: string, data: Data, keywords?: string): Src =>
  mapRawWindowsEvent(securityRaw(id, task, data, keywords)).source;

const CSCRIPT = {
  ProcessGuid: '{747f3d96-1c6f-5d69-0000-0010323c1f00}',
  ProcessId: '2576',
  Image: 'C:\\Windows\\System32\\cscript.exe',
};

describe('helpers', () => {
  it('splits command lines like CommandLineToArgvW (Sysmon)', () => {
    expect(splitCommandLineWindows('cscript  c:\\ProgramData\\memdump.vbs notepad.exe')).toEqual([
      'cscript',
      'c:\\ProgramData\\memdump.vbs',
      'notepad.exe',
    ]);
    expect(splitCommandLineWindows('"C:\\Program Files\\a b.exe" -x "q \\"z\\"" c:\\dir\\\\ "a""b" \\\\"c d"')).toEqual([
      'C:\\Program Files\\a b.exe',
      '-x',
      'q "z"',
      'c:\\dir\\\\',
      'a"b \\c',
      'd',
    ]);
    // `""` inside quotes gives a quote and closes the quoted part (Go's pre-2008 rule).
    expect(splitCommandLineWindows('"in ""quoted"" text"')).toEqual(['in "quoted', 'text']);
    expect(splitCommandLineWindows('  \t ')).toEqual([]);
  });

  it('splits 4688 command lines the way the security pipeline does (quotes kept, empty runs)', () => {
    expect(splitCommandLineSecurity('"C:\\a b.exe"  -k x')).toEqual(['"C:\\a b.exe"', '', '-k', 'x']);
    expect(splitCommandLineSecurity('a ')).toEqual(['a', '']);
  });

  it('decodes hex, decimal and octal like Long.decode', () => {
    expect(decodeLong('0x00000000000003e7')).toBe(999);
    expect(decodeLong('0xae8')).toBe(2792);
    expect(decodeLong('49244')).toBe(49244);
    expect(decodeLong('010')).toBe(8);
    expect(decodeLong('-')).toBeUndefined();
  });

  it('derives a stable, case-insensitive UUIDv5 host.id from the computer name', () => {
    const id = hostIdFor('MSEDGEWIN10');
    expect(id).toBe(hostIdFor('msedgewin10'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id).not.toBe(hostIdFor('MSEDGEWIN11'));
    // The RFC 4122 DNS-namespace v5 UUID of "www.example.com", a published test value.
    expect(hostIdFor('www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('computes Community ID v1 (spec example flow, both directions)', () => {
    expect(communityId('128.232.110.120', 34855, '66.35.250.204', 80, 'tcp')).toBe('1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
    expect(communityId('66.35.250.204', 80, '128.232.110.120', 34855, 'tcp')).toBe('1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
  });
});

describe('Sysmon (integration profile)', () => {
  it('1 process create: full document', () => {
    const raw = sysmonRaw(1, {
      ...CSCRIPT,
      FileVersion: '5.812.10240.16384',
      Description: 'Microsoft ® Console Based Script Host',
      Product: 'Microsoft ® Windows Script Host',
      Company: 'Microsoft Corporation',
      OriginalFileName: 'cscript.exe',
      CommandLine: 'cscript  c:\\ProgramData\\memdump.vbs notepad.exe',
      CurrentDirectory: 'C:\\Windows\\system32\\',
      User: 'MSEDGEWIN10\\IEUser',
      LogonGuid: '{747f3d96-1b6a-5d69-0000-0020e5810e00}',
      LogonId: '0xe81e5',
      TerminalSessionId: '1',
      IntegrityLevel: 'High',
      Hashes: 'SHA1=0E3C0779D8EAAD3B00363D7890DDC8272B510D49,MD5=A45586B3A5A291516CD10EF4FD3EE768,IMPHASH=2B44D2206B9865383429E9C1524F1CAC',
      ParentProcessGuid: '{747f3d96-1b6c-5d69-0000-00106f060f00}',
      ParentProcessId: '2128',
      ParentImage: 'C:\\Windows\\System32\\cmd.exe',
      ParentCommandLine: 'C:\\Windows\\System32\\cmd.exe',
    });
    const { source, index } = mapRawWindowsEvent(raw);
    expect(index).toBe('logs-windows.sysmon_operational-default');
    expect(source).toEqual({
      '@timestamp': '2019-08-30T12:54:08.127Z',
      event: {
        kind: 'event',
        code: '1',
        provider: 'Microsoft-Windows-Sysmon',
        action: 'Process creation',
        created: '2019-08-30T12:54:08.1718755Z',
        category: ['process'],
        type: ['start'],
        module: 'windows',
        dataset: 'windows.sysmon_operational',
      },
      host: {
        name: 'msedgewin10',
        id: hostIdFor('msedgewin10'),
        os: { type: 'windows', family: 'windows', platform: 'windows' },
      },
      log: { level: 'information' },
      winlog: {
        api: 'wineventlog',
        channel: 'Microsoft-Windows-Sysmon/Operational',
        computer_name: 'MSEDGEWIN10',
        event_id: '1',
        provider_name: 'Microsoft-Windows-Sysmon',
        provider_guid: SYSMON_GUID,
        record_id: '32152',
        version: 5,
        task: 'Process Create (rule: ProcessCreate)',
        opcode: 'Info',
        process: { pid: 3292, thread: { id: 4120 } },
        user: { identifier: 'S-1-5-18', name: 'SYSTEM', domain: 'NT AUTHORITY', type: 'Well Known Group' },
        event_data: {
          FileVersion: '5.812.10240.16384',
          Description: 'Microsoft ® Console Based Script Host',
          Product: 'Microsoft ® Windows Script Host',
          Company: 'Microsoft Corporation',
          LogonGuid: '{747f3d96-1b6a-5d69-0000-0020e5810e00}',
          LogonId: '0xe81e5',
          TerminalSessionId: '1',
          IntegrityLevel: 'High',
        },
      },
      related: {
        hash: ['0e3c0779d8eaad3b00363d7890ddc8272b510d49', 'a45586b3a5a291516cd10ef4fd3ee768', '2b44d2206b9865383429e9c1524f1cac'],
        user: ['IEUser'],
      },
      process: {
        hash: { sha1: '0e3c0779d8eaad3b00363d7890ddc8272b510d49', md5: 'a45586b3a5a291516cd10ef4fd3ee768' },
        pe: {
          imphash: '2b44d2206b9865383429e9c1524f1cac',
          original_file_name: 'cscript.exe',
          company: 'Microsoft Corporation',
          description: 'Microsoft ® Console Based Script Host',
          file_version: '5.812.10240.16384',
          product: 'Microsoft ® Windows Script Host',
        },
        entity_id: '{747f3d96-1c6f-5d69-0000-0010323c1f00}',
        pid: 2576,
        executable: 'C:\\Windows\\System32\\cscript.exe',
        command_line: 'cscript  c:\\ProgramData\\memdump.vbs notepad.exe',
        working_directory: 'C:\\Windows\\system32\\',
        args: ['cscript', 'c:\\ProgramData\\memdump.vbs', 'notepad.exe'],
        args_count: 3,
        name: 'cscript.exe',
        parent: {
          entity_id: '{747f3d96-1b6c-5d69-0000-00106f060f00}',
          pid: 2128,
          executable: 'C:\\Windows\\System32\\cmd.exe',
          command_line: 'C:\\Windows\\System32\\cmd.exe',
          args: ['C:\\Windows\\System32\\cmd.exe'],
          args_count: 1,
          name: 'cmd.exe',
        },
      },
      user: { id: 'S-1-5-18', domain: 'MSEDGEWIN10', name: 'IEUser' },
      agent: { type: 'filebeat' },
      ecs: { version: '8.17.0' },
      data_stream: { type: 'logs', dataset: 'windows.sysmon_operational', namespace: 'default' },
    });
  });

  it('2 file creation time changed', () => {
    const s = sysmon(2, { ...CSCRIPT, TargetFilename: 'C:\\Users\\a\\x.txt', CreationUtcTime: '2019-01-01 00:00:00.000' });
    expect(s.event).toMatchObject({ category: ['file'], type: ['change'], action: 'A process changed a file creation time' });
    expect(s.file).toEqual({ path: 'C:\\Users\\a\\x.txt', name: 'x.txt', directory: 'C:\\Users\\a', extension: 'txt' });
    expect(s.winlog.event_data).toEqual({ CreationUtcTime: '2019-01-01 00:00:00.000' });
  });

  it('3 network connection: ips, ports, direction, type, community id, related.ip', () => {
    const s = sysmon(3, {
      ...CSCRIPT,
      User: 'NT AUTHORITY\\SYSTEM',
      Protocol: 'tcp',
      Initiated: 'true',
      SourceIsIpv6: 'false',
      SourceIp: '128.232.110.120',
      SourceHostname: 'ws.example.corp',
      SourcePort: '34855',
      SourcePortName: '-',
      DestinationIsIpv6: 'false',
      DestinationIp: '66.35.250.204',
      DestinationHostname: '',
      DestinationPort: '80',
      DestinationPortName: 'http',
    });
    expect(s.event).toMatchObject({ category: ['network'], type: ['start', 'connection', 'protocol'], action: 'Network connection' });
    expect(s.network).toEqual({
      transport: 'tcp',
      protocol: 'http',
      direction: 'egress',
      type: 'ipv4',
      community_id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    });
    expect(s.source).toEqual({ ip: '128.232.110.120', domain: 'ws.example.corp', port: 34855 });
    expect(s.destination).toEqual({ ip: '66.35.250.204', port: 80 });
    expect(s.user).toEqual({ id: 'S-1-5-18', domain: 'NT AUTHORITY', name: 'SYSTEM' });
    expect(s.related).toEqual({ user: ['SYSTEM'], ip: ['128.232.110.120', '66.35.250.204'] });
    expect(s.winlog.event_data).toBeUndefined();
  });

  it('5 process terminated', () => {
    const s = sysmon(5, { ...CSCRIPT, User: 'NT AUTHORITY\\NETWORK SERVICE' });
    expect(s.event).toMatchObject({ category: ['process'], type: ['end'], action: 'Process terminated' });
    expect(s.process).toEqual({ entity_id: CSCRIPT.ProcessGuid, pid: 2576, executable: CSCRIPT.Image, name: 'cscript.exe' });
    expect(s.user).toEqual({ id: 'S-1-5-18', domain: 'NT AUTHORITY', name: 'NETWORK SERVICE' });
  });

  it('6 driver loaded: file, hashes, signature', () => {
    const s = sysmon(6, {
      ImageLoaded: 'C:\\Windows\\System32\\drivers\\evil.sys',
      Hashes: 'SHA256=AB,IMPHASH=00000000000000000000000000000000',
      Signed: 'false',
      Signature: '',
      SignatureStatus: 'Unavailable',
    });
    expect(s.event).toMatchObject({ category: ['driver'], type: ['start'], action: 'Driver loaded' });
    expect(s.file).toEqual({
      hash: { sha256: 'ab' },
      path: 'C:\\Windows\\System32\\drivers\\evil.sys',
      code_signature: { status: 'Unavailable' },
      name: 'evil.sys',
      directory: 'C:\\Windows\\System32\\drivers',
      extension: 'sys',
    });
    expect(s.related).toEqual({ hash: ['ab'] });
    expect(s.dll).toBeUndefined();
  });

  it('7 image loaded: library category with both file.* and dll.* (current integration)', () => {
    const s = sysmon(7, {
      ...CSCRIPT,
      ImageLoaded: 'C:\\Windows\\System32\\wbem\\wmiutils.dll',
      FileVersion: '10.0.17763.1 (WinBuild.160101.0800)',
      Description: 'WMI',
      Product: 'Microsoft® Windows® Operating System',
      Company: 'Microsoft Corporation',
      OriginalFileName: 'wmiutils.dll',
      Hashes: 'SHA1=AA,MD5=BB,IMPHASH=CC',
      Signed: 'true',
      Signature: 'Microsoft Windows',
      SignatureStatus: 'Valid',
      User: 'MSEDGEWIN10\\IEUser',
    });
    expect(s.event).toMatchObject({
      category: ['process', 'library'],
      type: ['change', 'start'],
      action: ['Image loaded', 'load'],
    });
    const pe = {
      imphash: 'cc',
      original_file_name: 'wmiutils.dll',
      company: 'Microsoft Corporation',
      description: 'WMI',
      file_version: '10.0.17763.1 (WinBuild.160101.0800)',
      product: 'Microsoft® Windows® Operating System',
    };
    expect(s.file).toEqual({
      hash: { sha1: 'aa', md5: 'bb' },
      pe,
      path: 'C:\\Windows\\System32\\wbem\\wmiutils.dll',
      code_signature: { subject_name: 'Microsoft Windows', status: 'Valid', trusted: true, valid: true },
      name: 'wmiutils.dll',
      directory: 'C:\\Windows\\System32\\wbem',
      extension: 'dll',
    });
    expect(s.dll).toEqual({
      path: 'C:\\Windows\\System32\\wbem\\wmiutils.dll',
      name: 'wmiutils.dll',
      hash: { sha1: 'aa', md5: 'bb' },
      pe,
      code_signature: { status: 'Valid', subject_name: 'Microsoft Windows', trusted: true },
    });
    expect(s.process).toEqual({ entity_id: CSCRIPT.ProcessGuid, pid: 2576, executable: CSCRIPT.Image, name: 'cscript.exe' });
    expect(s.user).toEqual({ id: 'S-1-5-18', domain: 'MSEDGEWIN10', name: 'IEUser' });
    expect(s.winlog.event_data).toEqual({
      FileVersion: '10.0.17763.1 (WinBuild.160101.0800)',
      Description: 'WMI',
      Product: 'Microsoft® Windows® Operating System',
      Company: 'Microsoft Corporation',
      Signed: 'true',
      Signature: 'Microsoft Windows',
      SignatureStatus: 'Valid',
    });
    // The option for rules that treat any event.type == "start" as a process start.
    expect(sysmon(7, { ...CSCRIPT, ImageLoaded: 'C:\\x\\y.dll' }, { imageLoadType: 'change' }).event.type).toEqual(['change']);
  });

  it('8 CreateRemoteThread: source process is the actor, target stays in event_data', () => {
    const s = sysmon(8, {
      SourceProcessGuid: '{aaaaaaaa-0000-0000-0000-000000000001}',
      SourceProcessId: '100',
      SourceImage: 'C:\\evil.exe',
      TargetProcessGuid: '{aaaaaaaa-0000-0000-0000-000000000002}',
      TargetProcessId: '200',
      TargetImage: 'C:\\Windows\\explorer.exe',
      StartAddress: '0x7ff6a1b2c3d4',
    });
    expect(s.event).toMatchObject({ category: ['process'], type: ['change'], action: 'CreateRemoteThread' });
    expect(s.process).toEqual({ entity_id: '{aaaaaaaa-0000-0000-0000-000000000001}', pid: 100, executable: 'C:\\evil.exe', name: 'evil.exe' });
    expect(s.winlog.event_data).toEqual({
      TargetProcessGUID: '{aaaaaaaa-0000-0000-0000-000000000002}',
      TargetProcessId: '200',
      TargetImage: 'C:\\Windows\\explorer.exe',
      StartAddress: '0x7ff6a1b2c3d4',
    });
  });

  it('9 raw access read: Device becomes file.path', () => {
    const s = sysmon(9, { ...CSCRIPT, Device: '\\Device\\HarddiskVolume2' });
    expect(s.event).toMatchObject({ category: ['process'], type: ['access'], action: 'RawAccessRead' });
    expect(s.file).toEqual({ path: '\\Device\\HarddiskVolume2', name: 'HarddiskVolume2', directory: '\\Device' });
  });

  it('10 process access: SourceProcessGUID, thread id, GrantedAccess kept', () => {
    const s = sysmon(10, {
      SourceProcessGUID: '{aaaaaaaa-0000-0000-0000-000000000001}',
      SourceProcessId: '2576',
      SourceThreadId: '4321',
      SourceImage: 'C:\\Windows\\system32\\rundll32.exe',
      TargetProcessGUID: '{aaaaaaaa-0000-0000-0000-000000000003}',
      TargetProcessId: '624',
      TargetImage: 'C:\\Windows\\system32\\lsass.exe',
      GrantedAccess: '0x1fffff',
      CallTrace: 'C:\\Windows\\SYSTEM32\\ntdll.dll+9c584',
    });
    expect(s.event).toMatchObject({ category: ['process'], type: ['access'], action: 'ProcessAccess' });
    expect(s.process).toEqual({
      entity_id: '{aaaaaaaa-0000-0000-0000-000000000001}',
      pid: 2576,
      thread: { id: 4321 },
      executable: 'C:\\Windows\\system32\\rundll32.exe',
      name: 'rundll32.exe',
    });
    expect(s.winlog.event_data.GrantedAccess).toBe('0x1fffff');
    expect(s.winlog.event_data.TargetImage).toBe('C:\\Windows\\system32\\lsass.exe');
  });

  it('11 file create', () => {
    const s = sysmon(11, { ...CSCRIPT, TargetFilename: 'C:\\Windows\\Temp\\lsass.dmp', CreationUtcTime: '2019-08-30 12:54:09.000' });
    expect(s.event).toMatchObject({ category: ['file'], type: ['creation'], action: 'FileCreate' });
    expect(s.file).toEqual({ path: 'C:\\Windows\\Temp\\lsass.dmp', name: 'lsass.dmp', directory: 'C:\\Windows\\Temp', extension: 'dmp' });
  });

  it('12 registry create/delete: hive, key, value', () => {
    const s = sysmon(12, { ...CSCRIPT, EventType: 'CreateKey', TargetObject: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run' });
    expect(s.event).toMatchObject({
      category: ['configuration', 'registry'],
      type: ['change'],
      action: 'RegistryEvent (Object create and delete)',
    });
    expect(s.registry).toEqual({
      path: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run',
      hive: 'HKLM',
      key: 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run',
      value: 'Run',
    });
    expect(s.winlog.event_data).toEqual({ EventType: 'CreateKey' });
    // A root outside the map gives neither hive nor key.
    expect(sysmon(12, { TargetObject: 'HKCR2\\x' }).registry).toEqual({ path: 'HKCR2\\x', value: 'x' });
  });

  it('13 registry value set: DWORD, QWORD (Elastic arithmetic), binary, string', () => {
    const t = 'HKU\\S-1-5-21-1\\Software\\Foo\\Bar';
    expect(sysmon(13, { TargetObject: t, Details: 'DWORD (0x00000010)' }).registry).toEqual({
      path: t,
      hive: 'HKU',
      key: 'S-1-5-21-1\\Software\\Foo\\Bar',
      value: 'Bar',
      data: { strings: ['16'], type: 'SZ_DWORD' },
    });
    expect(sysmon(13, { TargetObject: t, Details: 'QWORD (0x00000001-0x00000002)' }).registry.data).toEqual({
      strings: ['258'],
      type: 'SZ_QWORD',
    });
    expect(sysmon(13, { TargetObject: t, Details: 'Binary Data' }).registry.data).toEqual({ strings: ['Binary Data'], type: 'REG_BINARY' });
    const s = sysmon(13, { TargetObject: t, Details: 'C:\\x.exe' });
    expect(s.registry.data).toEqual({ strings: ['C:\\x.exe'], type: 'REG_SZ' });
    expect(s.event.action).toBe('RegistryEvent (Value Set)');
    expect(s.winlog.event_data).toEqual({ Details: 'C:\\x.exe' });
  });

  it('14 registry rename: NewName stays', () => {
    const s = sysmon(14, { TargetObject: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\A', NewName: 'HKLM\\SOFTWARE\\B', EventType: 'RenameKey' });
    expect(s.event.action).toBe('RegistryEvent (Key and Value Rename)');
    expect(s.registry).toEqual({ path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\A', hive: 'HKLM', key: 'SOFTWARE\\A', value: 'A' });
    expect(s.winlog.event_data).toEqual({ NewName: 'HKLM\\SOFTWARE\\B', EventType: 'RenameKey' });
  });

  it('15 file stream created: Hash becomes file.hash', () => {
    const s = sysmon(15, { ...CSCRIPT, TargetFilename: 'C:\\Users\\a\\x.exe:Zone.Identifier', Hash: 'SHA256=CD' });
    expect(s.event).toMatchObject({ category: ['file'], type: ['access'], action: 'FileCreateStreamHash' });
    expect(s.file.hash).toEqual({ sha256: 'cd' });
    expect(s.file.extension).toBe('Identifier');
  });

  it('17/18 pipe created and connected: PipeName is file.name', () => {
    const a = sysmon(17, { ...CSCRIPT, EventType: 'CreatePipe', PipeName: '\\msagent_12' });
    expect(a.event).toMatchObject({ category: ['file'], type: ['creation'], action: 'PipeEvent (Pipe Created)' });
    expect(a.file).toEqual({ name: '\\msagent_12' });
    const b = sysmon(18, { ...CSCRIPT, EventType: 'ConnectPipe', PipeName: '\\msagent_12' });
    expect(b.event).toMatchObject({ category: ['file'], type: ['access'], action: 'PipeEvent (Pipe Connected)' });
  });

  it('19/20/21 WMI events', () => {
    const f = sysmon(19, { EventType: 'WmiFilterEvent', Operation: 'Created', User: 'CORP\\admin', EventNamespace: '"root\\cimv2"', Name: '"f"', Query: '"SELECT 1"' });
    expect(f.event).toMatchObject({ category: ['process'], type: ['info'], action: 'WmiEvent (WmiEventFilter activity detected)' });
    expect(f.user).toEqual({ id: 'S-1-5-18', domain: 'CORP', name: 'admin' });
    const c = sysmon(20, { EventType: 'WmiConsumerEvent', Type: 'Command Line', Destination: '"C:\\Windows\\System32\\cmd.exe /c x"' });
    expect(c.event).toMatchObject({ category: ['process'], type: ['change'] });
    // The pipeline moves Destination to process.executable (and derives the name after the last \).
    expect(c.process).toEqual({ executable: '"C:\\Windows\\System32\\cmd.exe /c x"', name: 'cmd.exe /c x"' });
    const b = sysmon(21, { EventType: 'WmiBindingEvent', Consumer: 'c', Filter: 'f' });
    expect(b.event).toMatchObject({ category: ['process'], type: ['access'], action: 'WmiEvent (WmiEventConsumerToFilter activity detected)' });
  });

  it('22 DNS query: question, answers, resolved ips, status, related', () => {
    const s = sysmon(22, {
      ...CSCRIPT,
      QueryName: 'www.example.com',
      QueryStatus: '0',
      QueryResults: 'type:  5 cdn.example.net;::ffff:93.184.216.34;2606:2800:220:1::1;',
    });
    expect(s.event).toMatchObject({ category: ['network'], type: ['connection', 'protocol', 'info'], action: 'DNSEvent (DNS query)' });
    expect(s.network).toEqual({ protocol: 'dns' });
    expect(s.dns).toEqual({
      question: { name: 'www.example.com' },
      answers: [
        { type: 'CNAME', data: 'cdn.example.net' },
        { type: 'A', data: '93.184.216.34' },
        { type: 'AAAA', data: '2606:2800:220:1::1' },
      ],
      resolved_ip: ['93.184.216.34', '2606:2800:220:1::1'],
    });
    expect(s.sysmon).toEqual({ dns: { status: 'SUCCESS' } });
    expect(s.related).toEqual({ hosts: ['cdn.example.net', 'www.example.com'], ip: ['93.184.216.34', '2606:2800:220:1::1'] });
    expect(sysmon(22, { QueryName: 'nx.example', QueryStatus: '9003' }).sysmon.dns.status).toBe('DNS_ERROR_RCODE_NAME_ERROR');
  });

  it('23 file delete archived: process.hash and sysmon.file booleans', () => {
    const s = sysmon(23, {
      ...CSCRIPT,
      User: 'MSEDGEWIN10\\IEUser',
      TargetFilename: 'C:\\Users\\IEUser\\AppData\\Local\\Temp\\x.exe',
      Hashes: 'SHA1=AB',
      IsExecutable: 'true',
      Archived: 'false',
    });
    expect(s.event).toMatchObject({ category: ['file'], type: ['deletion'], action: 'FileDelete (File Delete archived)' });
    expect(s.process.hash).toEqual({ sha1: 'ab' });
    expect(s.file.hash).toBeUndefined();
    expect(s.sysmon).toEqual({ file: { archived: false, is_executable: true } });
    expect(s.winlog.event_data).toBeUndefined();
  });

  it('24 clipboard change has no category', () => {
    const s = sysmon(24, { ...CSCRIPT, Session: '1', ClientInfo: 'user: IEUser', Hashes: 'SHA1=AB', Archived: 'true' });
    expect(s.event.category).toBeUndefined();
    expect(s.event).toMatchObject({ type: ['change'], action: 'ClipboardChange (New content in the clipboard)' });
    expect(s.process.hash).toEqual({ sha1: 'ab' });
  });

  it('25 process tampering: Type becomes message', () => {
    const s = sysmon(25, { ...CSCRIPT, Type: 'Image is replaced' });
    expect(s.event).toMatchObject({ category: ['process'], type: ['change'], action: 'ProcessTampering (Process image change)' });
    expect(s.message).toBe('Image is replaced');
  });

  it('26 file delete logged: file.hash', () => {
    const s = sysmon(26, { ...CSCRIPT, TargetFilename: 'C:\\t\\a.ps1', Hashes: 'MD5=EE', IsExecutable: 'false' });
    expect(s.event).toMatchObject({ category: ['file'], type: ['deletion'], action: 'FileDeleteDetected (File Delete logged)' });
    expect(s.file.hash).toEqual({ md5: 'ee' });
    expect(s.sysmon).toEqual({ file: { is_executable: false } });
  });

  it('27 file block executable: outcome failure', () => {
    const s = sysmon(27, { ...CSCRIPT, TargetFilename: 'C:\\t\\a.exe', Hashes: 'SHA1=AB' });
    expect(s.event).toMatchObject({ category: ['file'], type: ['creation'], outcome: 'failure', action: 'FileBlockExecutable' });
  });

  it('29 file executable detected: file.hash', () => {
    const s = sysmon(29, { ...CSCRIPT, TargetFilename: 'C:\\t\\a.exe', Hashes: 'SHA256=01' });
    expect(s.event).toMatchObject({ category: ['file'], type: ['creation'], action: 'FileExecutableDetected' });
    expect(s.file.hash).toEqual({ sha256: '01' });
  });

  it('drops empty, "-" and all-zero GUID values; RuleName becomes rule.name', () => {
    const s = sysmon(1, { ...CSCRIPT, RuleName: 'technique_id=T1059', ParentProcessGuid: '{00000000-0000-0000-0000-000000000000}', LogonGuid: '' });
    expect(s.rule).toEqual({ name: 'technique_id=T1059' });
    expect(s.process.parent).toBeUndefined();
    expect(s.winlog.event_data).toBeUndefined();
  });
});

describe('Security (system.security)', () => {
  const LOGON = {
    SubjectUserSid: 'S-1-5-18',
    SubjectUserName: 'WIN-77LTAPHIQ1R$',
    SubjectDomainName: 'EXAMPLE',
    SubjectLogonId: '0x3e7',
    TargetUserSid: 'S-1-5-21-1587066498-1489273250-1035260531-500',
    TargetUserName: 'Administrator',
    TargetDomainName: 'EXAMPLE',
    TargetLogonId: '0x10fbcc',
    LogonType: '3',
    LogonProcessName: 'Kerberos',
    AuthenticationPackageName: 'Kerberos',
    WorkstationName: '',
    ProcessId: '0x0',
    ProcessName: '-',
    IpAddress: '::ffff:10.0.2.17',
    IpPort: '49244',
  };

  it('4624 logon: full document', () => {
    const { source, index } = mapRawWindowsEvent(securityRaw(4624, '12544', LOGON));
    expect(index).toBe('logs-system.security-default');
    expect(source).toEqual({
      '@timestamp': '2019-03-18T22:15:49.6458894Z',
      event: {
        kind: 'event',
        code: '4624',
        provider: 'Microsoft-Windows-Security-Auditing',
        action: 'logged-in',
        outcome: 'success',
        category: ['authentication'],
        type: ['start'],
        module: 'system',
        dataset: 'system.security',
      },
      host: {
        // The machine's short name, lower-cased, as Elastic Agent names its host.
        name: 'win-77ltaphiq1r',
        id: hostIdFor('win-77ltaphiq1r'),
        os: { type: 'windows', family: 'windows', platform: 'windows' },
      },
      log: { level: 'information' },
      winlog: {
        api: 'wineventlog',
        channel: 'Security',
        computer_name: 'WIN-77LTAPHIQ1R.example.corp',
        event_id: '4624',
        provider_name: 'Microsoft-Windows-Security-Auditing',
        provider_guid: '{54849625-5478-4994-A5BA-3E3B0328C30D}',
        record_id: '563298',
        version: 2,
        task: 'Logon',
        opcode: 'Info',
        keywords: ['Audit Success'],
        process: { pid: 4, thread: { id: 3696 } },
        logon: { type: 'Network', id: '0x3e7' },
        event_data: {
          SubjectUserSid: 'S-1-5-18',
          SubjectUserName: 'WIN-77LTAPHIQ1R$',
          SubjectDomainName: 'EXAMPLE',
          SubjectLogonId: '0x3e7',
          TargetUserSid: 'S-1-5-21-1587066498-1489273250-1035260531-500',
          TargetUserName: 'Administrator',
          TargetDomainName: 'EXAMPLE',
          TargetLogonId: '0x10fbcc',
          LogonType: '3',
          LogonProcessName: 'Kerberos',
          AuthenticationPackageName: 'Kerberos',
        },
      },
      user: { id: 'S-1-5-21-1587066498-1489273250-1035260531-500', name: 'Administrator', domain: 'EXAMPLE' },
      related: { user: ['Administrator', 'WIN-77LTAPHIQ1R$'], ip: ['10.0.2.17'] },
      process: { pid: 0, executable: '-', name: '-' },
      source: { ip: '10.0.2.17', port: 49244 },
      agent: { type: 'filebeat' },
      ecs: { version: '8.17.0' },
      data_stream: { type: 'logs', dataset: 'system.security', namespace: 'default' },
    });
  });

  it('4625 failed logon: failure outcome, status texts, target user', () => {
    const s = security(4625, '12544', { ...LOGON, Status: '0xc000006d', SubStatus: '0xc000006a', TargetUserSid: 'S-1-0-0' }, '0x8010000000000000');
    expect(s.event).toMatchObject({ category: ['authentication'], type: ['start'], action: 'logon-failed', outcome: 'failure' });
    expect(s.winlog.keywords).toEqual(['Audit Failure']);
    expect(s.winlog.logon).toEqual({
      type: 'Network',
      failure: {
        status: 'This is either due to a bad username or authentication information',
        sub_status: 'User logon with misspelled or bad password',
      },
      id: '0x3e7',
    });
    expect(s.user).toEqual({ id: 'S-1-0-0', name: 'Administrator', domain: 'EXAMPLE' });
  });

  it('4634 logoff: logon id from TargetLogonId', () => {
    const s = security(4634, '12545', { TargetUserSid: 'S-1-5-21-9-500', TargetUserName: 'bob@corp.local', TargetDomainName: 'CORP', TargetLogonId: '0x5a5', LogonType: '10' });
    expect(s.event).toMatchObject({ category: ['authentication'], type: ['end'], action: 'logged-out' });
    expect(s.winlog.logon).toEqual({ type: 'RemoteInteractive', id: '0x5a5' });
    expect(s.user).toEqual({ id: 'S-1-5-21-9-500', name: 'bob', domain: 'CORP' });
    expect(s.related).toEqual({ user: ['bob'] });
  });

  it('4648 explicit credentials: subject is the user, target the effective user', () => {
    const s = security(4648, '12544', {
      SubjectUserSid: 'S-1-5-21-9-1001',
      SubjectUserName: 'alice',
      SubjectDomainName: 'CORP',
      SubjectLogonId: '0x1234',
      TargetUserName: 'admin',
      TargetDomainName: 'CORP',
      TargetServerName: 'dc01',
      ProcessId: '0x1f0',
      ProcessName: 'C:\\Windows\\System32\\svchost.exe',
      IpAddress: '10.0.0.5',
      IpPort: '0',
    });
    expect(s.event).toMatchObject({ category: ['authentication'], type: ['start'], action: 'logged-in-explicit' });
    expect(s.user).toEqual({ id: 'S-1-5-21-9-1001', name: 'alice', domain: 'CORP', effective: { name: 'admin', domain: 'CORP' } });
    expect(s.related).toEqual({ user: ['admin', 'alice'], ip: ['10.0.0.5'] });
    expect(s.process).toEqual({ pid: 496, executable: 'C:\\Windows\\System32\\svchost.exe', name: 'svchost.exe' });
    expect(s.source).toEqual({ ip: '10.0.0.5', port: 0 });
  });

  it('4672 special privileges: subject user, privilege list split', () => {
    const s = security(4672, '12548', {
      SubjectUserSid: 'S-1-5-18',
      SubjectUserName: 'SYSTEM',
      SubjectDomainName: 'NT AUTHORITY',
      SubjectLogonId: '0x3e7',
      PrivilegeList: 'SeAssignPrimaryTokenPrivilege\n\t\t\tSeTcbPrivilege\n\t\t\tSeDebugPrivilege',
    });
    expect(s.event).toMatchObject({ category: ['iam'], type: ['admin'], action: 'logged-in-special' });
    expect(s.user).toEqual({ id: 'S-1-5-18', name: 'SYSTEM', domain: 'NT AUTHORITY' });
    expect(s.winlog.event_data.PrivilegeList).toEqual(['SeAssignPrimaryTokenPrivilege', 'SeTcbPrivilege', 'SeDebugPrivilege']);
    expect(s.winlog.task).toBe('Special Logon');
  });

  it('4688 process creation: hex pids, parent, quote-aware args, effective user', () => {
    const s = security(4688, '13312', {
      SubjectUserSid: 'S-1-5-18',
      SubjectUserName: 'WIN-77LTAPHIQ1R$',
      SubjectDomainName: 'EXAMPLE',
      SubjectLogonId: '0x3e7',
      NewProcessId: '0xae8',
      NewProcessName: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe',
      TokenElevationType: '%%1936',
      ProcessId: '0x248',
      CommandLine: 'C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding',
      TargetUserSid: 'S-1-0-0',
      TargetUserName: '-',
      TargetDomainName: '-',
      TargetLogonId: '0x0',
      ParentProcessName: 'C:\\Windows\\System32\\svchost.exe',
      MandatoryLabel: 'S-1-16-16384',
    });
    expect(s.event).toMatchObject({ category: ['process'], type: ['start'], action: 'created-process', outcome: 'success' });
    expect(s.process).toEqual({
      pid: 2792,
      executable: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe',
      name: 'WmiPrvSE.exe',
      parent: { executable: 'C:\\Windows\\System32\\svchost.exe', name: 'svchost.exe', pid: 584 },
      args: ['C:\\Windows\\system32\\wbem\\wmiprvse.exe', '-secured', '-Embedding'],
      args_count: 3,
      command_line: 'C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding',
    });
    // Subject is the user; of the target only the SID is usable ("-" names are skipped).
    expect(s.user).toEqual({ id: 'S-1-5-18', name: 'WIN-77LTAPHIQ1R$', domain: 'EXAMPLE', effective: { id: 'S-1-0-0' } });
    expect(s.related).toEqual({ user: ['WIN-77LTAPHIQ1R$'] });
    expect(s.process.pe).toBeUndefined();
    expect(s.process.entity_id).toBeUndefined();
  });

  it('4689 process exit', () => {
    const s = security(4689, '13313', { SubjectUserSid: 'S-1-5-21-9-1001', SubjectUserName: 'alice', SubjectDomainName: 'CORP', SubjectLogonId: '0x1', Status: '0x0', ProcessId: '0x1a4', ProcessName: 'C:\\Windows\\notepad.exe' });
    expect(s.event).toMatchObject({ category: ['process'], type: ['end'], action: 'exited-process' });
    expect(s.process).toEqual({ pid: 420, executable: 'C:\\Windows\\notepad.exe', name: 'notepad.exe' });
    expect(s.user).toEqual({ id: 'S-1-5-21-9-1001', name: 'alice', domain: 'CORP' });
  });

  it('4697 service installed: service.name and service.type', () => {
    const s = security(4697, '12289', { SubjectUserSid: 'S-1-5-18', SubjectUserName: 'SYSTEM', SubjectDomainName: 'NT AUTHORITY', SubjectLogonId: '0x3e7', ServiceName: 'PSEXESVC', ServiceFileName: '%SystemRoot%\\PSEXESVC.exe', ServiceType: '0x10', ServiceStartType: '3', ServiceAccount: 'LocalSystem' });
    expect(s.event).toMatchObject({ category: ['iam', 'configuration'], type: ['admin', 'change'], action: 'service-installed' });
    expect(s.service).toEqual({ name: 'PSEXESVC', type: 'Win32 Own Process' });
    expect(s.winlog.task).toBe('Security System Extension');
  });

  it('4698 scheduled task created', () => {
    const s = security(4698, '12804', { SubjectUserSid: 'S-1-5-21-9-1001', SubjectUserName: 'alice', SubjectDomainName: 'CORP', SubjectLogonId: '0x1', TaskName: '\\Evil', TaskContent: '<Task/>' });
    expect(s.event).toMatchObject({ category: ['iam', 'configuration'], type: ['creation', 'admin'], action: 'scheduled-task-created' });
    expect(s.user).toEqual({ id: 'S-1-5-21-9-1001', name: 'alice', domain: 'CORP' });
    expect(s.winlog.event_data.TaskName).toBe('\\Evil');
  });

  it('4720 user account created: subject user and user.target', () => {
    const s = security(4720, '13824', { TargetUserName: 'eviladmin', TargetDomainName: 'CORP', TargetSid: 'S-1-5-21-9-1105', SubjectUserSid: 'S-1-5-21-9-500', SubjectUserName: 'Administrator', SubjectDomainName: 'CORP', SubjectLogonId: '0x2' });
    expect(s.event).toMatchObject({ category: ['iam'], type: ['user', 'creation'], action: 'added-user-account' });
    expect(s.user).toEqual({
      id: 'S-1-5-21-9-500',
      name: 'Administrator',
      domain: 'CORP',
      target: { id: 'S-1-5-21-9-1105', name: 'eviladmin', domain: 'CORP' },
    });
    expect(s.related).toEqual({ user: ['Administrator', 'eviladmin'] });
  });

  it('4732 member added to local group: group.* and user.target', () => {
    const s = security(4732, '13826', {
      MemberName: 'CN=Eve Evil,OU=Users,DC=corp,DC=local',
      MemberSid: 'S-1-5-21-9-1105',
      TargetUserName: 'Administrators',
      TargetDomainName: 'Builtin',
      TargetSid: 'S-1-5-32-544',
      SubjectUserSid: 'S-1-5-21-9-500',
      SubjectUserName: 'Administrator',
      SubjectDomainName: 'CORP',
      SubjectLogonId: '0x2',
    });
    expect(s.event).toMatchObject({ category: ['iam'], type: ['group', 'change'], action: 'added-member-to-group' });
    expect(s.group).toEqual({ id: 'S-1-5-32-544', name: 'Administrators', domain: 'Builtin' });
    expect(s.user).toEqual({
      id: 'S-1-5-21-9-500',
      name: 'Administrator',
      domain: 'CORP',
      target: { name: 'Eve Evil', domain: 'local', group: { id: 'S-1-5-32-544', name: 'Administrators', domain: 'Builtin' } },
    });
  });
});

describe('PowerShell Operational', () => {
  it('4104 script block: index, category and powershell.file fields', () => {
    const raw: RawWindowsEvent = {
      System: {
        Provider: { Name: 'Microsoft-Windows-PowerShell', Guid: '{A0C1853B-5C40-4B15-8766-3CF1C58F985A}' },
        EventID: '4104',
        Level: '5',
        TimeCreated: '2020-01-01T00:00:00.0000000Z',
        EventRecordID: '7',
        Channel: 'Microsoft-Windows-PowerShell/Operational',
        Computer: 'ws1',
        Security: { UserID: 'S-1-5-21-9-1001' },
      },
      EventData: { MessageNumber: '1', MessageTotal: '1', ScriptBlockText: 'IEX (New-Object Net.WebClient)', ScriptBlockId: 'b1', Path: 'C:\\t\\x.ps1' },
    };
    const { source, index } = mapped(raw);
    expect(index).toBe('logs-windows.powershell_operational-default');
    expect(source.event).toMatchObject({ category: ['process'], type: ['info'], code: '4104', dataset: 'windows.powershell_operational' });
    expect(source.powershell).toEqual({ sequence: 1, total: 1, file: { script_block_id: 'b1', script_block_text: 'IEX (New-Object Net.WebClient)' } });
    expect(source.file).toEqual({ name: 'x.ps1', directory: 'C:\\t', extension: 'ps1', path: 'C:\\t\\x.ps1' });
    expect(source.log).toEqual({ level: 'verbose' });
    expect(source.user).toEqual({ id: 'S-1-5-21-9-1001' });
  });
});

describe('winlogbeat profile (older Winlogbeat module shape)', () => {
  it('keeps the task-name action, legacy types and no dll.*; winlogbeat index', () => {
    const { source, index } = mapped(
      sysmonRaw(7, { ...CSCRIPT, ImageLoaded: 'C:\\Windows\\System32\\wbem\\wmiutils.dll', Signed: 'true', SignatureStatus: 'Valid' }),
      { profile: 'winlogbeat' },
    );
    expect(index).toBe('winlogbeat-7.17.0');
    expect(source.event).toEqual({
      kind: 'event',
      code: '7',
      provider: 'Microsoft-Windows-Sysmon',
      action: 'Image loaded (rule: ImageLoad)',
      created: '2019-08-30T12:54:08.1718755Z',
      category: ['process'],
      type: ['change'],
      module: 'sysmon',
    });
    expect(source.dll).toBeUndefined();
    expect(source.file.code_signature).toEqual({ status: 'Valid', signed: true, valid: true });
    expect(source.data_stream).toBeUndefined();
    const p = mapped(sysmonRaw(1, { ...CSCRIPT }), { profile: 'winlogbeat', winlogbeatVersion: '8.17.3' });
    expect(p.index).toBe('winlogbeat-8.17.3');
    expect(p.source.event.type).toEqual(['start', 'process_start']);
    expect(mapped(sysmonRaw(8, { SourceImage: 'C:\\a.exe' }), { profile: 'winlogbeat' }).source.event.category).toBeUndefined();
    // Old module: User only split for 1, 3, 19–21, 23–25.
    expect(mapped(sysmonRaw(11, { ...CSCRIPT, User: 'A\\b', TargetFilename: 'C:\\x' }), { profile: 'winlogbeat' }).source.user).toEqual({ id: 'S-1-5-18' });
  });
});

describe('raw Winlogbeat / Agent documents', () => {
  const beatDoc = (): Record<string, unknown> => ({
    '@timestamp': '2019-08-30T12:54:08.1718755Z',
    event: { kind: 'event', code: '7', provider: 'Microsoft-Windows-Sysmon', action: 'Image loaded (rule: ImageLoad)' },
    log: { level: 'information' },
    winlog: {
      api: 'wineventlog',
      channel: 'Microsoft-Windows-Sysmon/Operational',
      computer_name: 'MSEDGEWIN10',
      event_id: 7,
      provider_name: 'Microsoft-Windows-Sysmon',
      provider_guid: SYSMON_GUID,
      record_id: 32152,
      version: 5,
      task: 'Image loaded (rule: ImageLoad)',
      opcode: 'Info',
      process: { pid: 3292, thread: { id: 4120 } },
      user: { identifier: 'S-1-5-18', name: 'SYSTEM', domain: 'NT AUTHORITY', type: 'Well Known Group' },
      time_created: '2019-08-30T12:54:08.1718755Z',
      level: 'information',
      event_data: {
        RuleName: '-',
        UtcTime: '2019-08-30 12:54:08.127',
        ...CSCRIPT,
        ImageLoaded: 'C:\\Windows\\System32\\wbem\\wmiutils.dll',
        Hashes: 'SHA1=AA,MD5=BB',
        Signed: 'true',
        Signature: 'Microsoft Windows',
        SignatureStatus: 'Valid',
      },
    },
  });
  const raw = sysmonRaw(7, {
    ...CSCRIPT,
    ImageLoaded: 'C:\\Windows\\System32\\wbem\\wmiutils.dll',
    Hashes: 'SHA1=AA,MD5=BB',
    Signed: 'true',
    Signature: 'Microsoft Windows',
    SignatureStatus: 'Valid',
  });

  it('maps to the same ECS as the RawWindowsEvent path, for both profiles', () => {
    for (const profile of ['integration', 'winlogbeat'] as const) {
      expect(mapWinlogbeatDocument(beatDoc(), { profile })).toEqual(mapRawWindowsEvent(raw, { profile }));
    }
  });

  it('accepts flat dotted documents and does not modify its input', () => {
    const nested = beatDoc();
    const before = JSON.stringify(nested);
    const flat: Record<string, unknown> = { '@timestamp': nested['@timestamp'] };
    const w = nested.winlog as Record<string, any>;
    for (const [k, v] of Object.entries(w)) {
      if (k === 'event_data') for (const [ek, ev] of Object.entries(v as object)) flat[`winlog.event_data.${ek}`] = ev;
      else flat[`winlog.${k}`] = v;
    }
    flat['event.code'] = '7';
    expect(mapWinlogbeatDocument(flat)).toEqual(mapRawWindowsEvent(raw));
    mapWinlogbeatDocument(nested);
    expect(JSON.stringify(nested)).toBe(before);
  });

  it('keeps collector metadata (host.id) when the shipper sent it', () => {
    const d = beatDoc();
    d.host = { name: 'MSEDGEWIN10', id: 'b9f2c8e4-machine-guid' };
    expect((mapWinlogbeatDocument(d).source as Src).host).toEqual({
      name: 'MSEDGEWIN10',
      id: 'b9f2c8e4-machine-guid',
      os: { type: 'windows', family: 'windows', platform: 'windows' },
    });
  });

  it('isUnmappedWinlogDocument detects raw shipper documents only', () => {
    expect(isUnmappedWinlogDocument(beatDoc())).toBe(true);
    expect(isUnmappedWinlogDocument({ 'winlog.event_id': '4624', 'winlog.channel': 'Security' })).toBe(true);
    expect(isUnmappedWinlogDocument(mapRawWindowsEvent(raw).source)).toBe(false);
    expect(isUnmappedWinlogDocument({ event: { category: ['process'] }, process: { name: 'x' } })).toBe(false);
    expect(isUnmappedWinlogDocument({ winlog: { channel: 'Security' } })).toBe(false);
  });
});

describe('seed rule needs (Windows Script Interpreter Executing Process via WMI)', () => {
  it('Sysmon 7 cscript.exe loading wmiutils.dll satisfies step 1', () => {
    const s = sysmon(7, { ...CSCRIPT, ImageLoaded: 'C:\\Windows\\System32\\wbem\\wmiutils.dll' });
    expect(s.host.os.type).toBe('windows');
    expect(s.event.category).toContain('library');
    expect(s.dll.name).toBe('wmiutils.dll');
    expect(s.file.name).toBe('wmiutils.dll');
    expect(s.process.name).toBe('cscript.exe');
    expect(s.host.id).toBe(hostIdFor('MSEDGEWIN10'));
  });

  it('Sysmon 1 started by WmiPrvSE.exe gives parent name, user.domain and original file name', () => {
    const s = sysmon(1, {
      ProcessGuid: '{747f3d96-1c70-5d69-0000-001000000001}',
      ProcessId: '3000',
      Image: 'C:\\Windows\\System32\\rundll32.exe',
      OriginalFileName: 'RUNDLL32.EXE',
      CommandLine: 'rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 624 C:\\lsass.dmp full',
      User: 'MSEDGEWIN10\\IEUser',
      ParentProcessGuid: '{747f3d96-1b6c-5d69-0000-00106f060f01}',
      ParentProcessId: '1111',
      ParentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe',
      ParentCommandLine: 'C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding',
    });
    expect(s.event.type).toEqual(['start']);
    expect(s.process.parent.name).toBe('WmiPrvSE.exe');
    expect(s.user.domain).toBe('MSEDGEWIN10');
    expect(s.process.pe.original_file_name).toBe('RUNDLL32.EXE');
    expect(s.process.args).toEqual(['rundll32.exe', 'C:\\windows\\System32\\comsvcs.dll,', 'MiniDump', '624', 'C:\\lsass.dmp', 'full']);
    expect(s.host.id).toBe(hostIdFor('MSEDGEWIN10'));
  });
});

/** Minimal reader for the libevtx oracle XML: enough to rebuild RawWindowsEvent inputs. */
function oracleEvents(file: string): RawWindowsEvent[] {
  const xml = readFileSync(file, 'utf8');
  const un = (s: string) =>
    s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  // libevtx zero-pads hex values; Windows (and the reader) render them unpadded.
  const hex = (s: string) => (/^0x0+[0-9a-f]/i.test(s) ? '0x' + s.slice(2).replace(/^0+(?=.)/, '') : s);
  return xml
    .split('<Event xmlns')
    .slice(1)
    .map((e) => {
      const tag = (n: string) => /<(\w+)>([^<]*)<\/\1>/.exec(e.slice(e.indexOf(`<${n}>`)))?.[2];
      const attr = (n: string, a: string) => new RegExp(`<${n} [^>]*${a}="([^"]*)"`).exec(e)?.[1];
      const data: Record<string, string | null> = {};
      for (const m of e.matchAll(/<Data Name="([^"]*)"(?:\/>|>([^<]*)<\/Data>)/g)) data[m[1]!] = m[2] === undefined ? null : hex(un(m[2]));
      return {
        System: {
          Provider: { Name: attr('Provider', 'Name'), Guid: attr('Provider', 'Guid') },
          EventID: tag('EventID')!,
          Version: tag('Version'),
          Level: tag('Level'),
          Task: tag('Task'),
          Opcode: tag('Opcode'),
          Keywords: tag('Keywords'),
          TimeCreated: attr('TimeCreated', 'SystemTime')!,
          EventRecordID: tag('EventRecordID')!,
          Execution: { ProcessID: attr('Execution', 'ProcessID'), ThreadID: attr('Execution', 'ThreadID') },
          Channel: tag('Channel')!,
          Computer: tag('Computer')!,
          Security: { UserID: attr('Security', 'UserID') },
        },
        EventData: data,
      };
    });
}

const CSCRIPT_FILE = join(EVTX_DIR, 'sysmon-wmi-cscript-comsvcs.oracle.xml');
describe.skipIf(!existsSync(CSCRIPT_FILE))('oracle corpus (shared)', () => {
  it('sysmon-wmi-cscript-comsvcs: step 1 matches, step 2 is the documented near miss', () => {
    const docs = oracleEvents(CSCRIPT_FILE).map((r) => mapped(r).source);
    expect(docs.map((d) => d.event.code)).toEqual(['1', '7', '7', '1', '11', '10']);
    const load = docs[2]!;
    expect(load['@timestamp']).toBe('2019-08-30T12:54:08.127Z');
    expect(load.dll.name).toBe('wmiutils.dll');
    expect(load.file.name).toBe('wmiutils.dll');
    expect(load.rule).toEqual({ name: 'Execution - Suspicious WMI module load' });
    const start = docs[3]!;
    expect(start['@timestamp']).toBe('2019-08-30T12:54:08.331Z');
    expect(start.process.parent.name).toBe('WmiPrvSE.exe');
    expect(start.process.name).toBe('rundll32.exe');
    expect(start.user).toMatchObject({ domain: 'MSEDGEWIN10', name: 'IEUser' });
    // This Sysmon build wrote no OriginalFileName: the reason the current rule does not fire.
    expect(start.process.pe?.original_file_name).toBeUndefined();
    expect(new Set(docs.map((d) => d.host.id))).toEqual(new Set([hostIdFor('MSEDGEWIN10')]));
    const access = docs[5]!;
    expect(access.winlog.event_data.GrantedAccess).toBe('0x1fffff');
  });

  it('security-4624-4688-wmi: logons from IPv6 sources and WmiPrvSE 4688', () => {
    const docs = oracleEvents(join(EVTX_DIR, 'security-4624-4688-wmi.oracle.xml')).map((r) => mapped(r).source);
    expect(docs.map((d) => d.event.code)).toEqual(['4624', '4624', '4624', '4624', '4688', '4688', '4624', '4624']);
    expect(docs[0]!.source).toEqual({ ip: 'fe80::79bf:8ee2:433c:2567', port: 55585 });
    expect(docs[0]!.winlog.logon.type).toBe('Network');
    expect(docs[0]!.user).toEqual({ id: 'S-1-5-18', name: 'WIN-77LTAPHIQ1R$', domain: 'EXAMPLE' });
    const p = docs[4]!;
    expect(p.process).toMatchObject({ pid: 2792, name: 'WmiPrvSE.exe', parent: { pid: 584 } });
  });
});

const CSCRIPT_EVTX = join(EVTX_DIR, 'sysmon-wmi-cscript-comsvcs.evtx');
describe.skipIf(!existsSync(CSCRIPT_EVTX))('convert (shared EVTX)', () => {
  it('writes one ECS line per record and bulk pairs with the index', async () => {
    const { convertFiles } = await import('../src/cli/convert.js');
    const collect = async (opts: Parameters<typeof convertFiles>[1]) => {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const warnings: string[] = [];
      const counts = await convertFiles([CSCRIPT_EVTX], opts, out, (m) => warnings.push(m));
      return { counts, lines: Buffer.concat(chunks).toString('utf8').trimEnd().split('\n'), warnings };
    };
    const ecs = await collect({});
    expect(ecs.counts).toEqual({ files: 1, converted: 6, skipped: 0, failedFiles: 0, outputClosed: false, interrupted: false, partial: null });
    expect(ecs.lines.map((l) => JSON.parse(l).event.code)).toEqual(['1', '7', '7', '1', '11', '10']);
    const bulk = await collect({ bulk: true, profile: 'winlogbeat' });
    expect(bulk.lines).toHaveLength(12);
    expect(JSON.parse(bulk.lines[0]!)).toEqual({ create: { _index: 'winlogbeat-7.17.0' } });
    const raw = await collect({ raw: true });
    expect(JSON.parse(raw.lines[2]!).EventData.ImageLoaded).toBe('C:\\Windows\\System32\\wbem\\wmiutils.dll');
    const out = new PassThrough();
    const warnings: string[] = [];
    const counts = await convertFiles([join(EVTX_DIR, 'no-such-file.evtx')], {}, out, (m) => warnings.push(m));
    expect(counts).toEqual({ files: 0, converted: 0, skipped: 0, failedFiles: 1, outputClosed: false, interrupted: false, partial: null });
    expect(warnings).toHaveLength(1);
  });
});
