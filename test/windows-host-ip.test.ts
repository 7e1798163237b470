// host.ip for Windows events read offline (src/events/windows/host-ip.ts, src/events/host-discovery.ts):
// the addresses a machine shows as its own (the local side of its outbound connections) are set on
// every event of that machine, as add_host_metadata would, so rules that exclude local access by
// host.ip ("Potential Machine Account Relay Attack via SMB") stop alerting on the machine's own
// connections. Inputs are Windows XML events written here, in two files (Sysmon and Security), so
// the addresses cross files as they must.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { discoverHostAddresses } from '../src/events/host-discovery.js';
import { expandInputs, type InputFile } from '../src/events/sources.js';
import { HostAddressBook, hostAddress, hostIdFor, mapNxlogDocument, mapWinlogbeatDocument, revealedHostAddress } from '../src/events/windows/index.js';
import { MAX_ADDRESSES_PER_HOST } from '../src/events/windows/host-ip.js';
import { loadRules } from '../src/rules/load.js';
import { runCli } from './cli-helpers.js';
import { makeRule, tempDir } from './detect-helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Src = Record<string, any>;

const SYSMON = "<Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/>";
const SECURITY = "<Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/>";

function xmlEvent(provider: string, channel: string, id: number, time: string, computer: string, data: Record<string, string>): string {
  const ed = Object.entries(data)
    .map(([k, v]) => `<Data Name='${k}'>${v}</Data>`)
    .join('');
  return (
    `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>${provider}<EventID>${id}</EventID><Version>0</Version>` +
    `<Level>0</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='${time}'/>` +
    `<EventRecordID>1</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='8'/><Channel>${channel}</Channel>` +
    `<Computer>${computer}</Computer><Security/></System><EventData>${ed}</EventData></Event>`
  );
}

function sysmon3(time: string, computer: string, initiated: boolean, src: string, dst: string): string {
  return xmlEvent(SYSMON, 'Microsoft-Windows-Sysmon/Operational', 3, time, computer, {
    RuleName: '-',
    UtcTime: time.replace('T', ' ').replace(/\d{4}Z$/, ''),
    ProcessGuid: '{4f2d3a6b-3a1a-5f69-7c01-000000000a00}',
    ProcessId: '1234',
    Image: 'C:\\Windows\\System32\\svchost.exe',
    User: 'NT AUTHORITY\\NETWORK SERVICE',
    Protocol: 'tcp',
    Initiated: initiated ? 'true' : 'false',
    SourceIsIpv6: src.includes(':') ? 'true' : 'false',
    SourceIp: src,
    SourceHostname: '-',
    SourcePort: '50123',
    SourcePortName: '-',
    DestinationIsIpv6: dst.includes(':') ? 'true' : 'false',
    DestinationIp: dst,
    DestinationHostname: '-',
    DestinationPort: '445',
    DestinationPortName: 'microsoft-ds',
  });
}

function wfp(id: number, time: string, computer: string, direction: string, src: string, dst: string): string {
  return xmlEvent(SECURITY, 'Security', id, time, computer, {
    ProcessID: '4',
    Application: 'System',
    Direction: direction,
    SourceAddress: src,
    SourcePort: '52000',
    DestAddress: dst,
    DestPort: '445',
    Protocol: '6',
    FilterRTID: '0',
    LayerName: '%%14611',
    LayerRTID: '48',
  });
}

function share5145(time: string, computer: string, user: string, ip: string): string {
  return xmlEvent(SECURITY, 'Security', 5145, time, computer, {
    SubjectUserSid: 'S-1-5-21-1-2-3-1104',
    SubjectUserName: user,
    SubjectDomainName: 'THESHIRE',
    SubjectLogonId: '0x3e7a1',
    ObjectType: 'File',
    IpAddress: ip,
    IpPort: '49822',
    ShareName: '\\\\*\\IPC$',
    ShareLocalPath: '',
    RelativeTargetName: 'spoolss',
    AccessMask: '0x3',
    AccessList: '%%1538',
    AccessReason: '-',
  });
}

/**
 * WORKSTATION6 as two channels name it; its Sysmon log shows its IPv4 address on an outbound
 * connection, its Security log its IPv6 link-local address (5156 outbound, written uncompressed
 * as Windows does) and two share accesses by its machine account: one over its own address
 * (local, before any outbound connection in time) and one from 10.0.2.99 (a relay). An inbound
 * connection and an inbound 5156 reveal nothing. WORKSTATION7 reveals nothing at all.
 */
function writeCapture(dir: string): { sysmon: string; security: string } {
  const sysmon = path.join(dir, 'sysmon.xml');
  const security = path.join(dir, 'security.xml');
  writeFileSync(
    sysmon,
    [
      sysmon3('2025-03-10T09:00:05.0000000Z', 'WORKSTATION6.theshire.local', true, '10.0.2.15', '10.0.2.10'),
      sysmon3('2025-03-10T09:00:06.0000000Z', 'WORKSTATION6.theshire.local', false, '10.0.2.50', '10.0.2.51'),
      sysmon3('2025-03-10T09:00:07.0000000Z', 'WORKSTATION7.theshire.local', true, '127.0.0.1', '127.0.0.1'),
    ].join('\n') + '\n',
  );
  writeFileSync(
    security,
    [
      share5145('2025-03-10T09:00:01.0000000Z', 'WORKSTATION6', 'WORKSTATION6$', '10.0.2.15'),
      wfp(5156, '2025-03-10T09:00:02.0000000Z', 'WORKSTATION6', '%%14593', 'fe80:0:0:0:b4f0:4a8a:6f28:b6d2', 'fe80:0:0:0:1:2:3:4'),
      wfp(5156, '2025-03-10T09:00:03.0000000Z', 'WORKSTATION6', '%%14592', '10.0.2.255', '10.0.2.60'),
      share5145('2025-03-10T09:00:04.0000000Z', 'WORKSTATION6', 'WORKSTATION6$', '10.0.2.99'),
      share5145('2025-03-10T09:00:08.0000000Z', 'WORKSTATION7', 'WORKSTATION7$', '10.0.2.16'),
    ].join('\n') + '\n',
  );
  return { sysmon, security };
}

const WS6 = hostIdFor('workstation6');
const WS7 = hostIdFor('workstation7');

// A rule written for this test in the shape of Elastic's machine-account relay rules: a share
// accessed by the machine's own account from an address that is not the machine's.
const RELAY_QUERY =
  'file where host.os.type == "windows" and event.code == "5145" and endswith(user.name, "$") and ' +
  'not endswith(string(source.ip), string(host.ip)) and source.ip != null and source.ip != "127.0.0.1"';

describe('hostAddress: addresses as add_host_metadata prints them', () => {
  it('canonicalises and rejects what is not an interface address', () => {
    expect(hostAddress('10.0.2.15')).toBe('10.0.2.15');
    expect(hostAddress(' 10.0.2.15 ')).toBe('10.0.2.15');
    expect(hostAddress('fe80:0:0:0:b4f0:4a8a:6f28:b6d2')).toBe('fe80::b4f0:4a8a:6f28:b6d2');
    expect(hostAddress('FE80::1%12')).toBe('fe80::1');
    expect(hostAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(hostAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    for (const bad of ['127.0.0.1', '127.1.2.3', '::1', '0.0.0.0', '::', '224.0.0.251', 'ff02::fb', '255.255.255.255', '-', '', 'host', '10.0.2', 42]) {
      expect(hostAddress(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('revealedHostAddress: which events show the machine its own address', () => {
  const nx = (extra: Src): Src => mapNxlogDocument({ EventTime: '2025-03-10 09:00:00', Hostname: 'WORKSTATION6.theshire.local', ...extra }).source;
  const sysmon = (initiated: string) =>
    nx({ EventID: 3, SourceName: 'Microsoft-Windows-Sysmon', Channel: 'Microsoft-Windows-Sysmon/Operational', UtcTime: '2025-03-10 09:00:00.000', Initiated: initiated, SourceIp: '10.0.2.15', DestinationIp: '10.0.2.10', SourcePort: 5000, DestinationPort: 445, Protocol: 'tcp' });
  const security = (id: number, data: Src) => nx({ EventID: id, SourceName: 'Microsoft-Windows-Security-Auditing', Channel: 'Security', ...data });

  it('Sysmon 3: the source of an outbound connection only', () => {
    expect(revealedHostAddress(sysmon('true'))).toBe('10.0.2.15');
    expect(revealedHostAddress(sysmon('false'))).toBeUndefined();
  });

  it('Security 5156/5157: SourceAddress of outbound connections; 5158/5159: the bound address', () => {
    expect(revealedHostAddress(security(5156, { Direction: '%%14593', SourceAddress: '10.0.2.15', DestAddress: '10.0.2.10' }))).toBe('10.0.2.15');
    expect(revealedHostAddress(security(5157, { Direction: 'Outbound', SourceAddress: '10.0.2.16', DestAddress: '10.0.2.10' }))).toBe('10.0.2.16');
    expect(revealedHostAddress(security(5156, { Direction: '%%14592', SourceAddress: '10.0.2.15', DestAddress: '10.0.2.10' }))).toBeUndefined();
    expect(revealedHostAddress(security(5158, { SourceAddress: '10.0.2.17', SourcePort: 139 }))).toBe('10.0.2.17');
    expect(revealedHostAddress(security(5158, { SourceAddress: '0.0.0.0', SourcePort: 139 }))).toBeUndefined();
    // Other events with addresses say nothing about the machine's own.
    expect(revealedHostAddress(security(4624, { IpAddress: '10.0.2.15', LogonType: 3 }))).toBeUndefined();
    expect(revealedHostAddress(security(5145, { IpAddress: '10.0.2.15' }))).toBeUndefined();
  });
});

describe('HostAddressBook', () => {
  it('keeps each host\'s addresses once, IPv4 before IPv6, in byte order', () => {
    const book = new HostAddressBook();
    for (const ip of ['fe80::2', '10.0.2.15', '9.9.9.9', 'fe80::1', '10.0.2.15', '172.16.0.1']) book.add('h', ip);
    expect(book.get('h')).toEqual(['9.9.9.9', '10.0.2.15', '172.16.0.1', 'fe80::1', 'fe80::2']);
    expect(book.get('other')).toBeUndefined();
    expect(new HostAddressBook(book.entries()).get('h')).toEqual(book.get('h'));
  });

  it('bounds the addresses kept per host and counts the rest', () => {
    const book = new HostAddressBook();
    for (let i = 0; i < MAX_ADDRESSES_PER_HOST + 3; i++) book.add('h', `10.0.${i >> 8}.${i & 255}`);
    expect(book.get('h')!.length).toBe(MAX_ADDRESSES_PER_HOST);
    expect(book.dropped).toBe(3);
  });

  it('the mapping sets a host\'s addresses on events without host.ip and keeps a shipper\'s host.ip', () => {
    const book = new HostAddressBook([[WS6, ['10.0.2.15', 'fe80::1']]]);
    const fromNxlog = mapNxlogDocument(
      { EventID: 5145, SourceName: 'Microsoft-Windows-Security-Auditing', Channel: 'Security', Hostname: 'WORKSTATION6', EventTime: '2025-03-10 09:00:00', IpAddress: '10.0.2.99' },
      { hostAddresses: book },
    ).source as Src;
    expect(fromNxlog.host.id).toBe(WS6);
    expect(fromNxlog.host.ip).toEqual(['10.0.2.15', 'fe80::1']);
    const shipped = mapWinlogbeatDocument(
      { '@timestamp': '2025-03-10T09:00:00Z', host: { name: 'workstation6', ip: ['192.168.1.6'] }, winlog: { event_id: 5145, channel: 'Security', provider_name: 'Microsoft-Windows-Security-Auditing', computer_name: 'WORKSTATION6', event_data: {} } },
      { hostAddresses: book },
    ).source as Src;
    expect(shipped.host.ip).toEqual(['192.168.1.6']);
    const other = mapNxlogDocument(
      { EventID: 5145, SourceName: 'Microsoft-Windows-Security-Auditing', Channel: 'Security', Hostname: 'WORKSTATION7', EventTime: '2025-03-10 09:00:00' },
      { hostAddresses: book },
    ).source as Src;
    expect(other.host.ip).toBeUndefined();
    // Without a book nothing is added.
    const plain = mapNxlogDocument({ EventID: 5145, SourceName: 'Microsoft-Windows-Security-Auditing', Channel: 'Security', Hostname: 'WORKSTATION6', EventTime: '2025-03-10 09:00:00' }).source as Src;
    expect(plain.host.ip).toBeUndefined();
  });
});

describe('discovery pass and hunt', () => {
  it('finds each machine\'s addresses across files and channels', async () => {
    const dir = tempDir('eqlite-hostip-');
    writeCapture(dir);
    const found = await discoverHostAddresses(await expandInputs([path.join(dir, 'security.xml'), path.join(dir, 'sysmon.xml')]));
    expect(found.book.entries()).toEqual([[WS6, ['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2']]]);
    expect(found.revealing).toBe(2);
    expect(found.files).toBe(2);
  });

  for (const threads of [0, 1]) {
    it(`hunt (threads ${threads}) runs the pass when it first meets a document mapped on read, late in a file; over ECS documents alone, never`, async () => {
      const dir = tempDir('eqlite-hostip-');
      const t = (s: number) => `2024-05-01T10:00:${String(s).padStart(2, '0')}.000Z`;
      const ds = '"data_stream":{"type":"logs","dataset":"windows.sysmon_operational","namespace":"default"}';
      const egress = (s: number, ip: string) =>
        `{"@timestamp":"${t(s)}","event":{"category":["network"],"type":["connection"]},"winlog":{"provider_name":"Microsoft-Windows-Sysmon","event_id":"3"},"network":{"direction":"egress"},"source":{"ip":"${ip}"},"host":{"id":"h1"},${ds}}`;
      const process = (s: number) => `{"@timestamp":"${t(s)}","event":{"category":["process"],"type":["start"]},"process":{"name":"cmd.exe"},"host":{"id":"h1"},${ds}}`;
      const ecs = [egress(1, '10.1.2.3'), ...Array.from({ length: 40 }, (_, i) => process(i + 2)), egress(45, '10.9.9.9')];
      // A raw Winlogbeat document (mapped to ECS on read) after all of them: the first to need the book.
      const raw = `{"@timestamp":"${t(50)}","winlog":{"channel":"Security","provider_name":"Microsoft-Windows-Security-Auditing","event_id":"4624"},"host":{"id":"h1"}}`;
      const mixed = path.join(dir, 'mixed.ndjson');
      writeFileSync(mixed, [...ecs, raw].join('\n') + '\n');
      const ecsOnly = path.join(dir, 'ecs.ndjson');
      writeFileSync(ecsOnly, ecs.join('\n') + '\n');
      const byAddress = makeRule({ name: 'by address', index: ['logs-*'], query: 'any where cidrMatch(host.ip, "10.9.9.9/32")', from: 'now-9m', interval: '5m' });
      const withRaw = await hunt({ rules: [byAddress], inputs: [mixed], threads, singleWindow: true });
      expect(withRaw.stats.hostAddresses).toEqual({ files: 1, hosts: 1, addresses: 2 });
      expect(withRaw.alerts.map((a) => [(a as Src)['@timestamp'], (a as Src).host.ip])).toEqual([[t(50), ['10.1.2.3', '10.9.9.9']]]);
      const none = await hunt({ rules: [byAddress], inputs: [ecsOnly], threads, singleWindow: true });
      expect(none.stats.hostAddresses).toEqual({ files: 1, hosts: 0, addresses: 0 });
      expect(none.alerts).toEqual([]);
      expect(none.stats.events).toBe(42);
    });
  }

  it('parses only the NDJSON lines that can reveal an address: ECS lines without `egress` or a 5156–5159 code are decided from their bytes', async () => {
    const dir = tempDir('eqlite-hostip-');
    const t = (s: number) => `2024-05-01T10:00:0${s}.000Z`;
    const egress = (s: number, ip: string, provider: string) =>
      `{"@timestamp":"${t(s)}","event":{"category":["network"],"type":["connection"]},"winlog":{"provider_name":"${provider}","event_id":"3"},"network":{"direction":"egress"},"source":{"ip":"${ip}"},"host":{"id":"h1"}}`;
    const process = (s: number) => `{"@timestamp":"${t(s)}","event":{"category":["process"],"type":["start"]},"process":{"name":"cmd.exe"},"source":{"ip":"10.7.7.7"},"host":{"id":"h1"}}`;
    const lines = [
      process(1),
      egress(2, '10.1.2.3', 'Microsoft-Windows-Sysmon'),
      process(3),
      // An escape could spell any text: the filter parses such a line.
      egress(4, '10.9.9.9', '\\u004dicrosoft-Windows-Sysmon'),
      // The right provider but not a connection: `egress` is not in it, so it is not parsed.
      process(5).replace('"process":', '"winlog":{"provider_name":"Microsoft-Windows-Sysmon","event_id":"1"},"process":'),
      process(6),
    ];
    // A raw Winlogbeat document (mapped on read): it is what needs the book.
    const raw = `{"@timestamp":"${t(7)}","winlog":{"channel":"Security","provider_name":"Microsoft-Windows-Security-Auditing","event_id":"4624"},"host":{"id":"h1"}}`;
    const file = path.join(dir, 'agent.ndjson');
    writeFileSync(file, [...lines, raw].join('\n') + '\n');
    const found = await discoverHostAddresses(await expandInputs([file]));
    expect(found.needed).toBe(true);
    expect(found.book.entries()).toEqual([['h1', ['10.1.2.3', '10.9.9.9']]]);
    expect(found.revealing).toBe(2);
    // The two lines that can reveal an address, and the raw document (always parsed).
    expect(found.examined).toBe(3);

    // Without a document mapped on read no event can receive an address: nothing is collected,
    // and the lines that could reveal one are not parsed.
    const ecsOnly = path.join(dir, 'ecs.ndjson');
    writeFileSync(ecsOnly, lines.join('\n') + '\n');
    const none = await discoverHostAddresses(await expandInputs([ecsOnly]));
    expect(none).toEqual({ book: new HostAddressBook(), revealing: 0, files: 1, examined: 0, needed: false });
    // The raw document in another file: the ECS file's addresses are collected for it.
    const rawOnly = path.join(dir, 'raw.ndjson');
    writeFileSync(rawOnly, raw + '\n');
    const both = await discoverHostAddresses(await expandInputs([ecsOnly, rawOnly]));
    expect(both.needed).toBe(true);
    expect(both.book.entries()).toEqual([['h1', ['10.1.2.3', '10.9.9.9']]]);
    // Stdin's documents get the files' addresses, and stdin is not read in advance: needed.
    const withStdin = await discoverHostAddresses([...(await expandInputs([ecsOnly])), { path: '-', kind: 'json' } satisfies InputFile]);
    expect(withStdin.needed).toBe(true);
    expect(withStdin.book.entries()).toEqual([['h1', ['10.1.2.3', '10.9.9.9']]]);
  });

  const rule = () => makeRule({ name: 'Machine account share access from elsewhere', index: ['logs-system.security*'], query: RELAY_QUERY, from: 'now-9m', interval: '5m' });

  for (const threads of [0, 2]) {
    it(`hunt (threads ${threads}): local access is excluded by host.ip, the relay alerts, and every WORKSTATION6 event carries host.ip`, async () => {
      const dir = tempDir('eqlite-hostip-');
      const { sysmon, security } = writeCapture(dir);
      const r = await hunt({ rules: [rule()], inputs: [security, sysmon], threads, singleWindow: true });
      expect(r.stats.hostAddresses).toEqual({ files: 2, hosts: 1, addresses: 2 });
      const alerts = r.alerts.map((a) => a as Src);
      expect(alerts.map((a) => [a['source.ip'] ?? a.source?.ip, a['host.name'] ?? a.host?.name])).toEqual([
        ['10.0.2.99', 'workstation6'],
        ['10.0.2.16', 'workstation7'],
      ]);
      expect(alerts[0]!.host.ip).toEqual(['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2']);
      expect(alerts[1]!.host.ip).toBeUndefined();
    });
  }

  it('hunt --host-ip off (and auto without a rule that uses host.ip) leaves host.ip unset: the local access alerts too', async () => {
    const dir = tempDir('eqlite-hostip-');
    const { sysmon, security } = writeCapture(dir);
    const off = await hunt({ rules: [rule()], inputs: [security, sysmon], hostIp: 'off', singleWindow: true });
    expect(off.stats.hostAddresses).toBeUndefined();
    expect(off.alerts.map((a) => (a as Src).source.ip)).toEqual(['10.0.2.15', '10.0.2.99', '10.0.2.16']);
    const other = makeRule({ name: 'shares', index: ['logs-system.security*'], query: 'file where event.code == "5145"', from: 'now-9m', interval: '5m' });
    const auto = await hunt({ rules: [other], inputs: [security, sysmon], singleWindow: true });
    expect(auto.stats.hostAddresses).toBeUndefined();
    expect(auto.alerts.map((a) => (a as Src).host.ip)).toEqual([undefined, undefined, undefined]);
    const on = await hunt({ rules: [other], inputs: [security, sysmon], singleWindow: true, hostIp: 'on' });
    expect(on.alerts.map((a) => (a as Src).host.ip)).toEqual([['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2'], ['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2'], undefined]);
    // The added host.ip is not part of an event's derived id: the same alerts have the same ids
    // (and source event ids) whether or not the pass ran, on worker threads or not.
    const onThreads = await hunt({ rules: [other], inputs: [security, sysmon], singleWindow: true, hostIp: 'on', threads: 2 });
    const ids = (r: typeof on) => r.alerts.map((a) => [(a as Src)['kibana.alert.uuid'], (a as Src)['kibana.alert.ancestors'][0].id]);
    expect(ids(on)).toEqual(ids(auto));
    expect(ids(onThreads)).toEqual(ids(auto));
    expect(new Set(ids(on).map((x) => x[0])).size).toBe(3);
  });

  const elasticRule = path.resolve(__dirname, '../../shared/corpus/elastic-rules/toml/rules/windows/credential_access_machine_account_smb_relay.toml');
  it.skipIf(!existsSync(elasticRule))('Elastic\'s "Potential Machine Account Relay Attack via SMB" alerts on the relay only (needs ../shared)', async () => {
    const dir = tempDir('eqlite-hostip-');
    const { sysmon, security } = writeCapture(dir);
    const loaded = loadRules([elasticRule]);
    expect(loaded.rules.map((r) => r.name)).toEqual(['Potential Machine Account Relay Attack via SMB']);
    const r = await hunt({ rules: loaded.rules, inputs: [security, sysmon], singleWindow: true });
    expect(r.alerts.map((a) => [(a as Src).source.ip, (a as Src).host.name])).toEqual([
      ['10.0.2.99', 'workstation6'],
      ['10.0.2.16', 'workstation7'],
    ]);
    const off = await hunt({ rules: loaded.rules, inputs: [security, sysmon], singleWindow: true, hostIp: 'off' });
    expect(off.alerts.map((a) => (a as Src).source.ip)).toEqual(['10.0.2.15', '10.0.2.99', '10.0.2.16']);
  });

  it('eqlite hunt end to end: the summary says what was found, NDJSON alerts carry host.ip', async () => {
    const dir = tempDir('eqlite-hostip-');
    const { sysmon, security } = writeCapture(dir);
    const rulePath = path.join(dir, 'relay.toml');
    writeFileSync(
      rulePath,
      [
        '[rule]',
        'rule_id = "0d4f4a5c-5a77-4c4c-9a0b-0c5e0b7f8a10"',
        'name = "Machine account share access from elsewhere"',
        'description = "test rule"',
        'risk_score = 47',
        'severity = "medium"',
        'type = "eql"',
        'language = "eql"',
        'index = ["logs-system.security*"]',
        `query = '''${RELAY_QUERY}'''`,
        '',
      ].join('\n'),
    );
    const r = await runCli(['hunt', '--rules', rulePath, '--format', 'ndjson', '--single-window', '--no-progress', security, sysmon]);
    expect(r.code).toBe(0);
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Src);
    expect(alerts.map((a) => [a.source.ip, a.host.ip ?? null])).toEqual([
      ['10.0.2.99', ['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2']],
      ['10.0.2.16', null],
    ]);
    expect(r.stderr).toContain('host.ip: 2 address(es) of 1 machine(s) found in their own outbound connections (Sysmon 3, Security 5156-5159) and set on their Windows events');
    const off = await runCli(['hunt', '--rules', rulePath, '--format', 'ndjson', '--single-window', '--no-progress', '--host-ip', 'off', security, sysmon]);
    expect(off.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Src).source.ip)).toEqual(['10.0.2.15', '10.0.2.99', '10.0.2.16']);
    expect(off.stderr).not.toContain('host.ip:');
  }, 180_000);

  it('eqlite convert writes host.ip by default, not with --host-ip off', async () => {
    const dir = tempDir('eqlite-hostip-');
    const { sysmon, security } = writeCapture(dir);
    const r = await runCli(['convert', security, sysmon]);
    expect(r.code).toBe(0);
    const docs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Src);
    expect(docs.map((d) => [d.event.code, d.host.name, d.host.ip ?? null])).toEqual([
      ['5145', 'workstation6', ['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2']],
      ['5156', 'workstation6', ['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2']],
      ['5156', 'workstation6', ['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2']],
      ['5145', 'workstation6', ['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2']],
      ['5145', 'workstation7', null],
      ['3', 'workstation6', ['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2']],
      ['3', 'workstation6', ['10.0.2.15', 'fe80::b4f0:4a8a:6f28:b6d2']],
      ['3', 'workstation7', null],
    ]);
    expect(docs[0]!.host.id).toBe(WS6);
    expect(docs[4]!.host.id).toBe(WS7);
    const off = await runCli(['convert', '--host-ip', 'off', security]);
    expect(off.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Src).host.ip ?? null)).toEqual([null, null, null, null, null]);
  }, 180_000);

  it('eqlite query runs the pass when the query names host.ip', async () => {
    const dir = tempDir('eqlite-hostip-');
    const { sysmon, security } = writeCapture(dir);
    const r = await runCli(['query', 'file where event.code == "5145" and not endswith(string(source.ip), string(host.ip))', security, sysmon]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Src).source.ip)).toEqual(['10.0.2.99', '10.0.2.16']);
  }, 180_000);
});
