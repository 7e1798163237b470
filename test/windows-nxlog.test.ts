// NXLog im_msvistalog documents (the OTRF Security-Datasets / Mordor shape) mapped through the
// same Windows → ECS mapping as EVTX records, and one host per machine across channels. The
// documents are written here in NXLog's shape (flat, typed numbers, signed 64-bit Keywords).
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import { readEvents } from '../src/events/sources.js';
import { compile } from '../src/engine/index.js';
import { hostIdFor, isNxlogDocument, mapNxlogDocument, mapRawWindowsEvent, windowsShapeOf } from '../src/events/windows/index.js';
import { keywordsMask } from '../src/events/windows/nxlog.js';
import type { RawWindowsEvent } from '../src/evtx/types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Src = Record<string, any>;

const SYSMON_1 = {
  EventTime: '2020-09-21 19:04:42',
  Hostname: 'WORKSTATION6.theshire.local',
  Keywords: -9223372036854775808,
  EventType: 'INFO',
  SeverityValue: 2,
  Severity: 'INFO',
  EventID: 1,
  SourceName: 'Microsoft-Windows-Sysmon',
  ProviderGuid: '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}',
  Version: 5,
  Task: 1,
  OpcodeValue: 0,
  RecordNumber: 118753,
  ProcessID: 3332,
  ThreadID: 4080,
  Channel: 'Microsoft-Windows-Sysmon/Operational',
  Domain: 'NT AUTHORITY',
  AccountName: 'SYSTEM',
  UserID: 'S-1-5-18',
  AccountType: 'User',
  Message: 'Process Create:\r\nRuleName: -\r\nUtcTime: 2020-09-21 23:04:42.655',
  Category: 'Process Create (rule: ProcessCreate)',
  Opcode: 'Info',
  RuleName: '-',
  UtcTime: '2020-09-21 23:04:42.655',
  ProcessGuid: '{4f2d3a6b-3a1a-5f69-7c01-000000000a00}',
  ProcessId: 5740,
  Image: 'C:\\Windows\\System32\\rundll32.exe',
  OriginalFileName: 'RUNDLL32.EXE',
  CommandLine: 'rundll32.exe C:\\Users\\pgustavo\\AppData\\Local\\Temp\\d.dll,Start',
  CurrentDirectory: 'C:\\Windows\\system32\\',
  User: 'THESHIRE\\pgustavo',
  LogonId: '0x5b3c1',
  IntegrityLevel: 'Medium',
  Hashes: 'SHA1=0A5E8B4B1C3A3A1C0B2F6D1F6A8E0C5B7D9E1F20,MD5=839F1E7C5E6A4B2F9E3D0A8C7B6E5D4F',
  ParentProcessGuid: '{4f2d3a6b-3a19-5f69-7b01-000000000a00}',
  ParentProcessId: '3384',
  ParentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe',
  ParentCommandLine: 'C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding',
  EventReceivedTime: '2020-09-21 19:04:43',
  SourceModuleName: 'eventlog',
  SourceModuleType: 'im_msvistalog',
  // Added by Logstash on the way to the dataset.
  '@timestamp': '2020-09-21T23:04:42.655Z',
  '@version': '1',
  host: 'wec.internal.cloudapp.net',
  port: 61927,
  tags: ['mordorDataset'],
};

const SECURITY_4624 = {
  EventTime: '2020-09-21T23:04:40.118Z',
  Hostname: 'WORKSTATION6',
  Keywords: -9214364837600034816,
  EventType: 'AUDIT_SUCCESS',
  SeverityValue: 2,
  Severity: 'INFO',
  EventID: 4624,
  SourceName: 'Microsoft-Windows-Security-Auditing',
  ProviderGuid: '{54849625-5478-4994-A5BA-3E3B0328C30D}',
  Version: 2,
  Task: 12544,
  OpcodeValue: 0,
  RecordNumber: 2381044,
  ProcessID: 652,
  ThreadID: 3756,
  Channel: 'Security',
  Message: 'An account was successfully logged on.',
  Category: 'Logon',
  Opcode: 'Info',
  SubjectUserSid: 'S-1-0-0',
  SubjectUserName: '-',
  SubjectDomainName: '-',
  SubjectLogonId: '0x0',
  TargetUserSid: 'S-1-5-21-4228717743-1032521047-1810997296-1104',
  TargetUserName: 'pgustavo',
  TargetDomainName: 'THESHIRE',
  TargetLogonId: '0x5b3c1',
  LogonType: '3',
  LogonProcessName: 'NtLmSsp ',
  AuthenticationPackageName: 'NTLM',
  WorkstationName: 'WORKSTATION5',
  IpAddress: '172.18.39.5',
  IpPort: '51232',
  SourceModuleName: 'eventlog',
  SourceModuleType: 'im_msvistalog',
};

const map = (d: Record<string, unknown>) => mapNxlogDocument(d) as { source: Src; index: string };

describe('NXLog im_msvistalog documents', () => {
  it('are recognised per document', () => {
    expect(isNxlogDocument(SYSMON_1)).toBe(true);
    expect(windowsShapeOf(SYSMON_1)).toBe('nxlog');
    expect(windowsShapeOf(SECURITY_4624)).toBe('nxlog');
    expect(windowsShapeOf({ EventID: 4624, message: 'x' })).toBe(null);
    expect(windowsShapeOf({ ...SYSMON_1, event: { category: ['process'] } })).toBe(null);
    expect(windowsShapeOf(map(SYSMON_1).source)).toBe(null);
  });

  it('Sysmon 1 maps to the same ECS as the same event read from EVTX', () => {
    const { source, index } = map(SYSMON_1);
    expect(index).toBe('logs-windows.sysmon_operational-default');
    const raw: RawWindowsEvent = {
      System: {
        Provider: { Name: 'Microsoft-Windows-Sysmon', Guid: '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}' },
        EventID: '1',
        Version: '5',
        Level: '4',
        Task: '1',
        Opcode: '0',
        Keywords: '0x8000000000000000',
        TimeCreated: '2020-09-21 19:04:42',
        EventRecordID: '118753',
        Execution: { ProcessID: '3332', ThreadID: '4080' },
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Computer: 'WORKSTATION6.theshire.local',
        Security: { UserID: 'S-1-5-18' },
      },
      EventData: Object.fromEntries(
        Object.entries(SYSMON_1)
          .filter(([k]) => /^(RuleName|UtcTime|ProcessGuid|ProcessId|Image|OriginalFileName|CommandLine|CurrentDirectory|User|LogonId|IntegrityLevel|Hashes|Parent\w+)$/.test(k))
          .map(([k, v]) => [k, String(v)]),
      ),
    };
    const fromEvtx = mapRawWindowsEvent(raw).source as Src;
    // NXLog carries what EVTX has, plus the rendered message, the account NXLog resolved and
    // what Logstash added.
    const { message, tags, log, ...rest } = source;
    expect(message).toBe(SYSMON_1.Message);
    expect(tags).toEqual(['mordorDataset']);
    expect(log).toEqual({ level: 'information', source: { address: 'wec.internal.cloudapp.net:61927' } });
    const { log: evtxLog, ...evtxRest } = fromEvtx;
    expect(evtxLog).toEqual({ level: 'information' });
    expect(rest.winlog.user).toEqual({ identifier: 'S-1-5-18', name: 'SYSTEM', domain: 'NT AUTHORITY', type: 'User' });
    rest.winlog.user = evtxRest.winlog.user;
    expect(rest).toEqual(evtxRest);
    expect(source['@timestamp']).toBe('2020-09-21T23:04:42.655Z');
    expect(source.process.parent.name).toBe('WmiPrvSE.exe');
    expect(source.process.pe.original_file_name).toBe('RUNDLL32.EXE');
    expect(source.user).toEqual({ id: 'S-1-5-18', domain: 'THESHIRE', name: 'pgustavo' });
    expect(source.host).toEqual({ name: 'workstation6', id: hostIdFor('workstation6'), os: { type: 'windows', family: 'windows', platform: 'windows' } });
  });

  it('Security 4624: keywords from the signed 64-bit value, outcome, time from EventTime without @timestamp', () => {
    const { source, index } = map(SECURITY_4624);
    expect(index).toBe('logs-system.security-default');
    expect(source['@timestamp']).toBe('2020-09-21T23:04:40.118Z');
    expect(source.winlog.keywords).toEqual(['Audit Success']);
    expect(source.event).toMatchObject({ code: '4624', category: ['authentication'], type: ['start'], action: 'logged-in', outcome: 'success' });
    expect(source.user).toEqual({ id: 'S-1-5-21-4228717743-1032521047-1810997296-1104', name: 'pgustavo', domain: 'THESHIRE' });
    expect(source.source).toEqual({ ip: '172.18.39.5', port: 51232, domain: 'WORKSTATION5' });
    expect(source.winlog.logon.type).toBe('Network');
  });

  it('a zone-less EventTime (NXLog default format) is taken as UTC', () => {
    const { '@timestamp': _, ...noTs } = SYSMON_1;
    const { UtcTime: __, ...noUtc } = noTs;
    expect(map(noUtc).source['@timestamp']).toBe('2020-09-21T19:04:42Z');
  });

  it('keywordsMask reads NXLog signed integers, decimal strings and hex', () => {
    expect(keywordsMask(-9214364837600034816)).toBe('0x8020000000000000');
    expect(keywordsMask(-9218868437227405312)).toBe('0x8010000000000000');
    expect(keywordsMask('-9223372036854775808')).toBe('0x8000000000000000');
    expect(keywordsMask('0x8020000000000000')).toBe('0x8020000000000000');
    expect(keywordsMask('x')).toBeUndefined();
  });
});

describe('one machine, one host', () => {
  it('the short and the DNS name of a machine give one host.name and host.id across channels', () => {
    const sysmon = map(SYSMON_1).source;
    const security = map(SECURITY_4624).source;
    expect(sysmon.winlog.computer_name).toBe('WORKSTATION6.theshire.local');
    expect(security.winlog.computer_name).toBe('WORKSTATION6');
    expect(security.host.name).toBe('workstation6');
    expect(security.host.id).toBe(sysmon.host.id);
    // So a rule joining the channels by host.id finds the pair.
    const q = compile(
      'sequence by host.id with maxspan=1m [authentication where event.outcome == "success" and winlog.logon.type == "Network"] [process where process.parent.name : "wmiprvse.exe"]',
    );
    const results = q.run([
      { id: 'a', index: 'logs-system.security-default', source: security },
      { id: 'b', index: 'logs-windows.sysmon_operational-default', source: sysmon },
    ]);
    expect(results.map((r) => (r.kind === 'sequence' ? [r.joinKeys, r.events.map((e) => e?.id)] : null))).toEqual([[[hostIdFor('workstation6')], ['a', 'b']]]);
  });

  it('different machines stay apart; IP addresses are kept whole', () => {
    expect(map({ ...SECURITY_4624, Hostname: 'WORKSTATION5.theshire.local' }).source.host.id).not.toBe(map(SECURITY_4624).source.host.id);
    expect(map({ ...SECURITY_4624, Hostname: '172.18.39.6' }).source.host.name).toBe('172.18.39.6');
  });
});

describe('the datasets as they are downloaded', () => {
  it('a ZIP archive is one skipped item that says how to read it, not its bytes as broken lines', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-zip-'));
    const file = path.join(dir, 'empire_wmi.zip');
    const zip = new ZipFile();
    zip.addBuffer(Buffer.from(JSON.stringify(SYSMON_1) + '\n' + JSON.stringify(SECURITY_4624) + '\n'), 'empire_wmi.json');
    zip.end();
    const out = createWriteStream(file);
    zip.outputStream.pipe(out);
    await once(out, 'close');
    const skipped: string[] = [];
    const events: unknown[] = [];
    for await (const e of readEvents(file, { onSkip: (s) => skipped.push(`${s.position.offset}: ${s.reason}`) })) events.push(e);
    rmSync(dir, { recursive: true, force: true });
    expect(events).toEqual([]);
    expect(skipped).toEqual([`0: a ZIP archive, not read: unzip it first (its JSON members can be piped: unzip -p ${file} | eqlite hunt -)`]);
  });
});
