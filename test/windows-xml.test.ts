// Windows events as XML text (wevtutil qe /f:xml, Get-WinEvent | ForEach-Object { $_.ToXml() }):
// split, bounded, mapped to ECS like EVTX records. The XML is written here in the layout those
// tools produce (single-quoted attributes, one event after another, optional <Events> root).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openInputs } from '../src/events/inputs.js';
import { readEvents } from '../src/events/sources.js';
import type { EventDoc, SkippedItem } from '../src/events/types.js';
import { XmlEventSplitter } from '../src/events/windows-xml.js';
import { hostIdFor, mapRawWindowsEvent } from '../src/events/windows/index.js';
import type { RawWindowsEvent } from '../src/evtx/types.js';
import { tempDir } from './detect-helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Src = Record<string, any>;

const NS = "xmlns='http://schemas.microsoft.com/win/2004/08/events/event'";

function sysmon1(record: number, time: string, image: string, extra = ''): string {
  return (
    `<Event ${NS}><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/>` +
    `<EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>` +
    `<TimeCreated SystemTime='${time}'/><EventRecordID>${record}</EventRecordID><Correlation/><Execution ProcessID='3332' ThreadID='4080'/>` +
    `<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WORKSTATION6.theshire.local</Computer><Security UserID='S-1-5-18'/></System>` +
    `<EventData><Data Name='RuleName'>-</Data><Data Name='UtcTime'>${time.slice(0, 10)} ${time.slice(11, 23)}</Data>` +
    `<Data Name='ProcessGuid'>{4f2d3a6b-3a1a-5f69-7c01-000000000a00}</Data><Data Name='ProcessId'>5740</Data>` +
    `<Data Name='Image'>${image}</Data><Data Name='CommandLine'>"${image}" /c echo &lt;done&gt; &amp; exit</Data>` +
    `<Data Name='User'>THESHIRE\\pgustavo</Data><Data Name='ParentImage'>C:\\Windows\\System32\\wbem\\WmiPrvSE.exe</Data>${extra}</EventData></Event>`
  );
}

const PS_400 =
  `<Event ${NS}>\r\n  <System>\r\n    <Provider Name='PowerShell'/>\r\n    <EventID Qualifiers='0'>400</EventID>\r\n    <Level>4</Level>\r\n    <Task>4</Task>\r\n` +
  `    <Keywords>0x80000000000000</Keywords>\r\n    <TimeCreated SystemTime='2020-09-21T23:04:41.0000000Z'/>\r\n    <EventRecordID>5012</EventRecordID>\r\n` +
  `    <Channel>Windows PowerShell</Channel>\r\n    <Computer>WORKSTATION6</Computer>\r\n    <Security/>\r\n  </System>\r\n  <EventData>\r\n` +
  `    <Data>Available</Data>\r\n    <Data>None</Data>\r\n    <Data>\tNewEngineState=Available\r\n\tPreviousEngineState=None\r\n\r\n\tSequenceNumber=13\r\n\r\n\tHostName=ConsoleHost\r\n\tHostApplication=powershell.exe -nop\r\n\tEngineVersion=5.1.18362.752</Data>\r\n` +
  `  </EventData>\r\n</Event>`;

function split(text: string, chunk: number, max = 1 << 20) {
  const events: { raw: RawWindowsEvent; line: number }[] = [];
  const bad: { line: number; reason: string }[] = [];
  const s = new XmlEventSplitter({ event: (raw, line) => events.push({ raw, line }), bad: (line, reason) => bad.push({ line, reason }) }, max);
  for (let i = 0; i < text.length; i += chunk) s.push(text.slice(i, i + chunk));
  s.end();
  return { events, bad };
}

const WEVTUTIL = [sysmon1(118753, '2020-09-21T23:04:42.6550000Z', 'C:\\Windows\\System32\\cmd.exe'), sysmon1(118754, '2020-09-21T23:04:43.0000000Z', 'C:\\Windows\\System32\\whoami.exe')].join('\r\n') + '\r\n';

describe('XmlEventSplitter', () => {
  it('splits wevtutil output (no root) into events, whatever the chunking', () => {
    for (const chunk of [1, 3, 64, 1 << 20]) {
      const { events, bad } = split(WEVTUTIL, chunk);
      expect(bad).toEqual([]);
      expect(events.map((e) => [e.line, e.raw.System.EventRecordID, e.raw.EventData?.Image])).toEqual([
        [1, '118753', 'C:\\Windows\\System32\\cmd.exe'],
        [2, '118754', 'C:\\Windows\\System32\\whoami.exe'],
      ]);
      expect(events[0]!.raw.EventData?.CommandLine).toBe('"C:\\Windows\\System32\\cmd.exe" /c echo <done> & exit');
    }
  });

  it('reads an <Events> root, a declaration, comments and pretty-printed events; unnamed Data become paramN', () => {
    const doc = `\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- exported <Event> list -->\n<Events>\n${PS_400}\n${sysmon1(7, '2020-09-21T23:04:42.6550000Z', 'C:\\a>b.exe', "<Data Name='Description'><![CDATA[x </Event> y]]></Data>")}\n</Events>\n`;
    for (const chunk of [1, 5, 1 << 20]) {
      const { events, bad } = split(doc, chunk);
      expect(bad).toEqual([]);
      expect(events.map((e) => e.line)).toEqual([4, 30]);
      const ps = events[0]!.raw;
      expect(ps.System).toMatchObject({ EventID: '400', Qualifiers: '0', Channel: 'Windows PowerShell', Computer: 'WORKSTATION6' });
      // The XML parser turns CRLF into LF, as it does for Winlogbeat.
      expect(ps.EventData).toEqual({
        param1: 'Available',
        param2: 'None',
        param3: '\tNewEngineState=Available\n\tPreviousEngineState=None\n\n\tSequenceNumber=13\n\n\tHostName=ConsoleHost\n\tHostApplication=powershell.exe -nop\n\tEngineVersion=5.1.18362.752',
      });
      expect(events[1]!.raw.EventData?.Description).toBe('x </Event> y');
      expect(events[1]!.raw.EventData?.Image).toBe('C:\\a>b.exe');
    }
  });

  it('reports a malformed event and an event without System, and goes on', () => {
    const broken = sysmon1(2, '2020-09-21T23:04:42.0000000Z', 'x.exe').replace('<EventID>1</EventID>', '<EventID>1</EventId>');
    const text = [sysmon1(1, '2020-09-21T23:04:41.0000000Z', 'a.exe'), broken, `<Event ${NS}><EventData/></Event>`, 'stray', sysmon1(3, '2020-09-21T23:04:43.0000000Z', 'c.exe')].join('\n');
    const { events, bad } = split(text, 7);
    expect(events.map((e) => e.raw.System.EventRecordID)).toEqual(['1', '3']);
    expect(bad.map((b) => b.line)).toEqual([2, 3, 4]);
    expect(bad[0]!.reason).toMatch(/^invalid XML in <Event> element: /);
    expect(bad[1]!.reason).toBe('<Event> element without System/EventID or System/Channel');
    expect(bad[2]!.reason).toBe('text outside an <Event> element');
  });

  it('skips an oversized or too deeply nested event without holding it', () => {
    const big = sysmon1(2, '2020-09-21T23:04:42.0000000Z', 'x'.repeat(5000));
    const deep = `<Event ${NS}>${'<a>'.repeat(70)}${'</a>'.repeat(70)}</Event>`;
    const text = [sysmon1(1, '2020-09-21T23:04:41.0000000Z', 'a.exe'), big, deep, sysmon1(3, '2020-09-21T23:04:43.0000000Z', 'c.exe')].join('\n');
    const { events, bad } = split(text, 100, 3000);
    expect(events.map((e) => e.raw.System.EventRecordID)).toEqual(['1', '3']);
    expect(bad).toEqual([
      { line: 2, reason: '<Event> element larger than 3000 characters; element skipped' },
      { line: 3, reason: 'elements nested deeper than 64 levels; element skipped' },
    ]);
    expect(split(sysmon1(1, 't', 'a.exe').slice(0, 200), 50).bad).toEqual([{ line: 1, reason: 'unterminated <Event> element (end of input before </Event>)' }]);
  });
});

describe('Windows XML files as inputs', () => {
  const dir = tempDir();
  it('are detected from the content, mapped to ECS like EVTX records, one host across channels', async () => {
    const file = path.join(dir, 'events.xml');
    writeFileSync(file, `<Events>${PS_400}${WEVTUTIL}</Events>`);
    const skipped: SkippedItem[] = [];
    // Named on the command line (directories are walked for .ndjson/.jsonl/.json/.gz/.evtx only).
    const [input] = await openInputs([file], { onSkip: (s) => skipped.push(s) });
    const docs: EventDoc[] = [];
    for await (const e of input!) docs.push(e);
    expect(skipped).toEqual([]);
    expect(docs.map((d) => [d.index, (d.source as Src).event.code, (d.source as Src).host.id])).toEqual([
      ['logs-windows.powershell-default', '400', hostIdFor('workstation6')],
      ['logs-windows.sysmon_operational-default', '1', hostIdFor('workstation6')],
      ['logs-windows.sysmon_operational-default', '1', hostIdFor('workstation6')],
    ]);
    // The same as mapping the RawWindowsEvent the XML describes.
    const raws: unknown[] = [];
    for await (const e of readEvents(file)) raws.push(e.source);
    expect(docs.map((d) => d.source)).toEqual(raws.map((r) => mapRawWindowsEvent(r as RawWindowsEvent).source));
    expect((docs[0]!.source as Src).process.command_line).toBe('powershell.exe -nop');
    expect((docs[1]!.source as Src).process.parent.name).toBe('WmiPrvSE.exe');
  });
});
