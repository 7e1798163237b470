// Writes the small sample files the README's examples use (samples/): an EVTX file of Sysmon
// events and a damaged copy (built byte by byte with the test suite's EVTX builder), NXLog JSON
// and Windows XML events in the shapes those tools write, a JSON file with bad lines and a rule
// file with a typo. Deterministic: the test suite rebuilds them and compares the bytes.
//
//   npx tsx scripts/make-samples.ts [OUTDIR]     (default: samples/)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFile, ChunkWriter, v, type ElSpec, type ValueSpec } from '../test/evtx-build.js';

const SYSMON_GUID = '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}';
const SECURITY_GUID = '{54849625-5478-4994-A5BA-3E3B0328C30D}';

/** Event/System as Windows writes it for a manifest-based provider; sub 15 is the EventData. */
const SYSTEM: ElSpec = {
  name: 'Event',
  attrs: [['xmlns', ['http://schemas.microsoft.com/win/2004/08/events/event']]],
  children: [
    {
      name: 'System',
      children: [
        { name: 'Provider', attrs: [['Name', [{ sub: 0 }]], ['Guid', [{ sub: 1 }]]] },
        { name: 'EventID', children: [{ sub: 2 }] },
        { name: 'Version', children: [{ sub: 3 }] },
        { name: 'Level', children: [{ sub: 4 }] },
        { name: 'Task', children: [{ sub: 5 }] },
        { name: 'Opcode', children: [{ sub: 6 }] },
        { name: 'Keywords', children: [{ sub: 7 }] },
        { name: 'TimeCreated', attrs: [['SystemTime', [{ sub: 8 }]]] },
        { name: 'EventRecordID', children: [{ sub: 9 }] },
        { name: 'Correlation' },
        { name: 'Execution', attrs: [['ProcessID', [{ sub: 10 }]], ['ThreadID', [{ sub: 11 }]]] },
        { name: 'Channel', children: [{ sub: 12 }] },
        { name: 'Computer', children: [{ sub: 13 }] },
        { name: 'Security', attrs: [['UserID', [{ sub: 14, opt: true }]]] },
      ],
    },
    { sub: 15, opt: true },
  ],
};

const filetime = (iso: string): bigint => (BigInt(Date.parse(iso)) + 11644473600000n) * 10000n;
const SYSTEM_SID = Buffer.from([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);

interface SysmonEvent {
  id: number;
  time: string;
  data: [string, string][];
}

const HOST7 = 'WORKSTATION7.theshire.local';
const CSCRIPT = { guid: '{7d4f1c2a-9b1e-67cd-3c01-000000001e00}', pid: '4412', image: 'C:\\Windows\\System32\\cscript.exe' };
const RUNDLL = { guid: '{7d4f1c2a-9b1f-67cd-3e01-000000001e00}', pid: '5120', image: 'C:\\Windows\\System32\\rundll32.exe' };
const common = (t: string, p: { guid: string; pid: string; image: string }): [string, string][] => [
  ['RuleName', '-'],
  ['UtcTime', t.replace('T', ' ').replace('Z', '')],
  ['ProcessGuid', p.guid],
  ['ProcessId', p.pid],
  ['Image', p.image],
];

const EVTX_EVENTS: SysmonEvent[] = [
  {
    id: 1,
    time: '2025-03-10T09:15:00.100Z',
    data: [
      ...common('2025-03-10T09:15:00.100Z', CSCRIPT),
      ['FileVersion', '5.812.10240.16384'],
      ['Description', 'Microsoft ® Console Based Script Host'],
      ['OriginalFileName', 'cscript.exe'],
      ['CommandLine', 'cscript.exe //nologo C:\\Users\\mmidge\\Downloads\\invoice.vbs'],
      ['CurrentDirectory', 'C:\\Users\\mmidge\\Downloads\\'],
      ['User', 'THESHIRE\\mmidge'],
      ['IntegrityLevel', 'Medium'],
      ['Hashes', 'SHA256=0F2B8E1C6A9D4E7F3B5A1C8D2E6F9A0B4C7D1E5F8A2B6C9D3E7F0A4B8C1D5E9F'],
      ['ParentProcessGuid', '{7d4f1c2a-9a00-67cd-1a01-000000001e00}'],
      ['ParentProcessId', '3904'],
      ['ParentImage', 'C:\\Windows\\explorer.exe'],
      ['ParentCommandLine', 'C:\\Windows\\Explorer.EXE'],
    ],
  },
  {
    id: 7,
    time: '2025-03-10T09:15:00.500Z',
    data: [
      ...common('2025-03-10T09:15:00.500Z', CSCRIPT),
      ['ImageLoaded', 'C:\\Windows\\System32\\wbem\\wmiutils.dll'],
      ['OriginalFileName', 'wmiutils.dll'],
      ['Hashes', 'SHA256=5C1A9E3B7D2F6A0E4B8C1D5F9A3E7B2C6D0F4A8E1B5C9D3F7A2E6B0C4D8F1A5E'],
      ['Signed', 'true'],
      ['Signature', 'Microsoft Windows'],
      ['SignatureStatus', 'Valid'],
      ['User', 'THESHIRE\\mmidge'],
    ],
  },
  {
    id: 1,
    time: '2025-03-10T09:15:01.900Z',
    data: [
      ...common('2025-03-10T09:15:01.900Z', RUNDLL),
      ['OriginalFileName', 'RUNDLL32.EXE'],
      ['CommandLine', 'rundll32.exe C:\\Users\\mmidge\\AppData\\Local\\Temp\\p.dll,Start'],
      ['CurrentDirectory', 'C:\\Windows\\system32\\'],
      ['User', 'THESHIRE\\mmidge'],
      ['IntegrityLevel', 'Medium'],
      ['ParentProcessGuid', '{7d4f1c2a-9a10-67cd-2b01-000000001e00}'],
      ['ParentProcessId', '2816'],
      ['ParentImage', 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe'],
      ['ParentCommandLine', 'C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding'],
    ],
  },
  {
    id: 3,
    time: '2025-03-10T09:15:02.300Z',
    data: [
      ...common('2025-03-10T09:15:02.300Z', RUNDLL),
      ['User', 'THESHIRE\\mmidge'],
      ['Protocol', 'tcp'],
      ['Initiated', 'true'],
      ['SourceIsIpv6', 'false'],
      ['SourceIp', '172.18.39.7'],
      ['SourceHostname', HOST7],
      ['SourcePort', '50122'],
      ['DestinationIsIpv6', 'false'],
      ['DestinationIp', '203.0.113.10'],
      ['DestinationPort', '443'],
      ['DestinationPortName', 'https'],
    ],
  },
  {
    id: 11,
    time: '2025-03-10T09:15:02.800Z',
    data: [...common('2025-03-10T09:15:02.800Z', RUNDLL), ['TargetFilename', 'C:\\Users\\mmidge\\AppData\\Local\\Temp\\p.dat'], ['CreationUtcTime', '2025-03-10 09:15:02.800'], ['User', 'THESHIRE\\mmidge']],
  },
  { id: 5, time: '2025-03-10T09:15:03.000Z', data: [...common('2025-03-10T09:15:03.000Z', RUNDLL), ['User', 'THESHIRE\\mmidge']] },
];

const TASK_VERSION: Record<number, number> = { 1: 5, 3: 5, 5: 3, 7: 3, 11: 2 };

function sysmonChunk(events: SysmonEvent[], firstRecord: number, opts: { badDataCrc?: boolean } = {}): Buffer {
  const w = new ChunkWriter();
  events.forEach((e, i) => {
    const record = firstRecord + i;
    w.record(record, filetime(e.time), (w) => {
      w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      const body: ElSpec = { name: 'EventData', children: e.data.map(([name], k) => ({ name: 'Data', attrs: [['Name', [name]]], children: [{ sub: k }] })) };
      const eventData = v.nested((w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        w.templateInstance(`sysmon-${e.data.map(([n]) => n).join(",")}`, body, e.data.map(([, value]) => v.str(value)));
        w.u8(0x00);
      });
      const values: ValueSpec[] = [
        v.str('Microsoft-Windows-Sysmon'),
        v.str(SYSMON_GUID),
        v.u16(e.id),
        v.u8(TASK_VERSION[e.id] ?? 2),
        v.u8(4),
        v.u16(e.id),
        v.u8(0),
        v.u64(0x8000000000000000n, 0x15),
        v.u64(filetime(e.time) + 5123n, 0x11),
        v.u64(BigInt(record)),
        v.u32(2480),
        v.u32(3364),
        v.str('Microsoft-Windows-Sysmon/Operational'),
        v.str(HOST7),
        v.raw(0x13, SYSTEM_SID),
        eventData,
      ];
      w.templateInstance('system', SYSTEM, values);
      w.u8(0x00);
    });
  });
  return w.finish(opts);
}

// ---- NXLog JSON (im_msvistalog through Logstash, as in the public attack datasets) -------------

const nxBase = (time: string, host: string) => ({
  '@timestamp': time,
  '@version': '1',
  host: 'wec.theshire.local',
  port: 61927,
  tags: ['sample'],
  EventTime: time.replace('T', ' ').replace(/\.\d+Z$/, ''),
  EventReceivedTime: time.replace('T', ' ').replace(/\.\d+Z$/, ''),
  Hostname: host,
  SourceModuleName: 'eventlog',
  SourceModuleType: 'im_msvistalog',
});
const nxSysmon = (time: string, id: number, record: number, category: string) => ({
  ...nxBase(time, 'WORKSTATION6.theshire.local'),
  Keywords: -9223372036854775808,
  EventType: 'INFO',
  SeverityValue: 2,
  Severity: 'INFO',
  EventID: id,
  SourceName: 'Microsoft-Windows-Sysmon',
  ProviderGuid: SYSMON_GUID,
  Version: 5,
  Task: id,
  OpcodeValue: 0,
  RecordNumber: record,
  ProcessID: 2612,
  ThreadID: 3384,
  Channel: 'Microsoft-Windows-Sysmon/Operational',
  Domain: 'NT AUTHORITY',
  AccountName: 'SYSTEM',
  UserID: 'S-1-5-18',
  AccountType: 'User',
  Category: category,
  Opcode: 'Info',
  RuleName: '-',
  UtcTime: time.replace('T', ' ').replace('Z', ''),
});

const NXLOG = [
  {
    ...nxBase('2025-03-10T09:14:58.412Z', 'WORKSTATION6.theshire.local'),
    Keywords: -9214364837600034816,
    EventType: 'AUDIT_SUCCESS',
    SeverityValue: 2,
    Severity: 'INFO',
    EventID: 4624,
    SourceName: 'Microsoft-Windows-Security-Auditing',
    ProviderGuid: SECURITY_GUID,
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
  },
  {
    ...nxSysmon('2025-03-10T09:15:00.512Z', 7, 118752, 'Image loaded (rule: ImageLoad)'),
    ProcessGuid: '{4f2d3a6b-3a1a-5f69-7b01-000000000a00}',
    ProcessId: '6012',
    Image: 'C:\\Windows\\System32\\cscript.exe',
    ImageLoaded: 'C:\\Windows\\System32\\wbem\\wmiutils.dll',
    OriginalFileName: 'wmiutils.dll',
    Signed: 'true',
    Signature: 'Microsoft Windows',
    SignatureStatus: 'Valid',
    User: 'THESHIRE\\pgustavo',
  },
  {
    ...nxSysmon('2025-03-10T09:15:01.655Z', 1, 118753, 'Process Create (rule: ProcessCreate)'),
    ProcessGuid: '{4f2d3a6b-3a1a-5f69-7c01-000000000a00}',
    ProcessId: '5740',
    Image: 'C:\\Windows\\System32\\rundll32.exe',
    OriginalFileName: 'RUNDLL32.EXE',
    CommandLine: 'rundll32.exe C:\\Users\\pgustavo\\AppData\\Local\\Temp\\d.dll,Start',
    CurrentDirectory: 'C:\\Windows\\system32\\',
    User: 'THESHIRE\\pgustavo',
    IntegrityLevel: 'Medium',
    ParentProcessGuid: '{4f2d3a6b-3a19-5f69-7b01-000000000a00}',
    ParentProcessId: '3384',
    ParentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe',
    ParentCommandLine: 'C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding',
  },
  {
    ...nxBase('2025-03-10T09:15:02.010Z', 'WORKSTATION6'),
    EventType: 'INFO',
    SeverityValue: 2,
    Severity: 'INFO',
    EventID: 400,
    SourceName: 'PowerShell',
    Task: 4,
    RecordNumber: 5012,
    Channel: 'Windows PowerShell',
    Category: 'Engine Lifecycle',
    param1: 'Available',
    param2: 'None',
    param3:
      '\tNewEngineState=Available\r\n\tPreviousEngineState=None\r\n\r\n\tSequenceNumber=13\r\n\r\n\tHostName=ConsoleHost\r\n\tHostVersion=5.1.19041.1\r\n' +
      '\tHostId=a3bd36cd-3f2e-4c3b-9a7e-2f5d8f3f61a9\r\n\tHostApplication=powershell.exe -nop -w hidden -enc SQBFAFgA\r\n\tEngineVersion=5.1.19041.1\r\n' +
      '\tRunspaceId=6c8e1f4a-9d1b-4a55-b0f4-7d0f7b1c2e33\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine=',
  },
  {
    ...nxSysmon('2025-03-10T09:15:03.207Z', 3, 118754, 'Network connection detected (rule: NetworkConnect)'),
    ProcessGuid: '{4f2d3a6b-3a1a-5f69-7c01-000000000a00}',
    ProcessId: '5740',
    Image: 'C:\\Windows\\System32\\rundll32.exe',
    User: 'THESHIRE\\pgustavo',
    Protocol: 'tcp',
    Initiated: 'true',
    SourceIsIpv6: 'false',
    SourceIp: '172.18.39.6',
    SourceHostname: 'WORKSTATION6.theshire.local',
    SourcePort: '49722',
    DestinationIsIpv6: 'false',
    DestinationIp: '203.0.113.10',
    DestinationPort: '443',
    DestinationPortName: 'https',
  },
];

// ---- Windows XML (wevtutil qe … /f:xml) -------------------------------------------------------

const NS = "xmlns='http://schemas.microsoft.com/win/2004/08/events/event'";
const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
function xmlEvent(sys: { provider: string; guid?: string; id: number; version: number; level: number; task: number; keywords: string; time: string; record: number; channel: string; computer: string; sid?: string }, data: [string, string][]): string {
  return (
    `<Event ${NS}><System><Provider Name='${sys.provider}'${sys.guid ? ` Guid='${sys.guid.toLowerCase()}'` : ''}/><EventID>${sys.id}</EventID><Version>${sys.version}</Version>` +
    `<Level>${sys.level}</Level><Task>${sys.task}</Task><Opcode>0</Opcode><Keywords>${sys.keywords}</Keywords><TimeCreated SystemTime='${sys.time}'/>` +
    `<EventRecordID>${sys.record}</EventRecordID><Correlation/><Execution ProcessID='640' ThreadID='4012'/><Channel>${sys.channel}</Channel>` +
    `<Computer>${sys.computer}</Computer><Security${sys.sid ? ` UserID='${sys.sid}'` : ''}/></System><EventData>` +
    data.map(([k, v]) => `<Data Name='${k}'>${xmlEscape(v)}</Data>`).join('') +
    `</EventData></Event>`
  );
}
const WEVTUTIL = [
  xmlEvent(
    { provider: 'Microsoft-Windows-Security-Auditing', guid: SECURITY_GUID, id: 4688, version: 2, level: 0, task: 13312, keywords: '0x8020000000000000', time: '2025-03-10T09:20:11.4471530Z', record: 90211, channel: 'Security', computer: 'WORKSTATION5.theshire.local' },
    [
      ['SubjectUserSid', 'S-1-5-21-4228717743-1032521047-1810997296-1107'],
      ['SubjectUserName', 'sdanish'],
      ['SubjectDomainName', 'THESHIRE'],
      ['SubjectLogonId', '0x4d2a1'],
      ['NewProcessId', '0x1a2c'],
      ['NewProcessName', 'C:\\Windows\\System32\\whoami.exe'],
      ['TokenElevationType', '%%1938'],
      ['ProcessId', '0x12f0'],
      ['CommandLine', 'whoami /all'],
      ['TargetUserSid', 'S-1-0-0'],
      ['TargetUserName', '-'],
      ['TargetDomainName', '-'],
      ['TargetLogonId', '0x0'],
      ['ParentProcessName', 'C:\\Windows\\System32\\cmd.exe'],
      ['MandatoryLabel', 'S-1-16-8192'],
    ],
  ),
  xmlEvent(
    { provider: 'Microsoft-Windows-Sysmon', guid: SYSMON_GUID, id: 1, version: 5, level: 4, task: 1, keywords: '0x8000000000000000', time: '2025-03-10T09:20:11.4502201Z', record: 77102, channel: 'Microsoft-Windows-Sysmon/Operational', computer: 'WORKSTATION5.theshire.local', sid: 'S-1-5-18' },
    [
      ['RuleName', '-'],
      ['UtcTime', '2025-03-10 09:20:11.447'],
      ['ProcessGuid', '{9c1e2d3f-4a5b-67cd-6d01-000000001f00}'],
      ['ProcessId', '6700'],
      ['Image', 'C:\\Windows\\System32\\whoami.exe'],
      ['OriginalFileName', 'whoami.exe'],
      ['CommandLine', 'whoami /all'],
      ['User', 'THESHIRE\\sdanish'],
      ['ParentProcessId', '4848'],
      ['ParentImage', 'C:\\Windows\\System32\\cmd.exe'],
      ['ParentCommandLine', 'cmd.exe /c "whoami /all > %TEMP%\\w.txt"'],
    ],
  ),
].join('\r\n');

// ---- Other README examples ---------------------------------------------------------------------

const APP_NDJSON = [
  '{"@timestamp":"2025-01-01T00:00:00Z","event":{"category":"process"},"process":{"name":"a.exe"}}',
  '{"@timestamp":"2025-01-01T00:00:01Z","event":{"category":"process"}, true}',
  '{"@timestamp":"2025-01-01T00:00:02Z","event":{"category":"process"},"process":{"name":"b.exe"}}',
  '1',
].join('\n') + '\n';

const UNSORTED_NDJSON = [
  '{"@timestamp":"2025-01-01T00:00:03Z","event":{"category":"process"},"i":3}',
  '{"@timestamp":"2025-01-01T00:00:01Z","event":{"category":"process"},"i":1}',
  '{"@timestamp":"2025-01-01T00:00:02Z","event":{"category":"process"},"i":2}',
].join('\n') + '\n';

const TYPO_TOML = `[metadata]
creation_date = "2025/03/10"
maturity = "production"
updated_date = "2025/03/10"

[rule]
author = ["Example"]
description = "A rule with a misspelled field, to show what validate reports."
index = ["logs-*"]
language = "eql"
license = "Apache-2.0"
name = "Typo"
risk_score = 21
rule_id = "t-1"
severity = "low"
type = "eql"
query = '''
process where proces.name == "x" and destination.port == "443"
'''
`;

export function writeSamples(outDir: string): string[] {
  const files: [string, string | Buffer][] = [
    ['evtx/Sysmon.evtx', buildFile([sysmonChunk(EVTX_EVENTS, 30211)])],
    // A record-data checksum that does not match (a warning; the records are still read), then a
    // chunk slot overwritten with garbage (skipped and counted).
    ['evtx/damaged.evtx', buildFile([sysmonChunk(EVTX_EVENTS.slice(0, 3), 30211, { badDataCrc: true }), Buffer.alloc(0x10000, 0x5a)])],
    ['nxlog/workstation6.json', NXLOG.map((d) => JSON.stringify(d)).join('\n') + '\n'],
    ['xml/wevtutil.xml', WEVTUTIL + '\r\n'],
    ['app.ndjson', APP_NDJSON],
    ['unsorted.ndjson', UNSORTED_NDJSON],
    ['rules/typo.toml', TYPO_TOML],
  ];
  for (const [name, content] of files) {
    const p = path.join(outDir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return files.map(([name]) => name);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'samples');
  for (const f of writeSamples(out)) console.log(path.join(out, f));
}
