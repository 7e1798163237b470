// `eqlite convert` reads every input shape hunt reads and writes ECS (or bulk pairs, or the
// records as read with --raw).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { convertFiles, type ConvertOptions } from '../src/cli/convert.js';
import { hostIdFor } from '../src/events/windows/index.js';
import { repoRoot, runCommand } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';

const dir = tempDir();
const nxlog = path.join(dir, 'nxlog.json');
writeFileSync(
  nxlog,
  [
    { EventTime: '2020-09-21T23:04:40.118Z', Hostname: 'WORKSTATION6', EventType: 'AUDIT_SUCCESS', EventID: 4624, SourceName: 'Microsoft-Windows-Security-Auditing', Channel: 'Security', Category: 'Logon', TargetUserName: 'pgustavo', TargetDomainName: 'THESHIRE', LogonType: '3', IpAddress: '172.18.39.5', SourceModuleType: 'im_msvistalog' },
    { '@timestamp': '2020-09-21T23:04:41Z', event: { category: ['process'] }, process: { name: 'ecs.exe' } },
  ]
    .map((d) => JSON.stringify(d))
    .join('\n') + '\n',
);
const xml = path.join(dir, 'events.xml');
writeFileSync(
  xml,
  "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='PowerShell'/><EventID Qualifiers='0'>403</EventID><Level>4</Level>" +
    "<TimeCreated SystemTime='2020-09-21T23:04:44.0000000Z'/><EventRecordID>5013</EventRecordID><Channel>Windows PowerShell</Channel><Computer>WORKSTATION6.theshire.local</Computer><Security/></System>" +
    '<EventData><Data>Stopped</Data><Data>Available</Data><Data>\tNewEngineState=Stopped\n\tPreviousEngineState=Available</Data></EventData></Event>\n',
);

async function convert(paths: string[], opts: ConvertOptions) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const warnings: string[] = [];
  const counts = await convertFiles(paths, opts, out, (m) => warnings.push(m));
  const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  return { counts, lines, warnings };
}

describe('eqlite convert', () => {
  it('maps NXLog, Windows XML and ECS documents to ECS, in input order', async () => {
    const { counts, lines, warnings } = await convert([nxlog, xml], {});
    expect(warnings).toEqual([]);
    expect(counts).toEqual({ files: 2, converted: 3, skipped: 0, failedFiles: 0, outputClosed: false, interrupted: false, partial: null });
    expect(lines.map((l) => [l.event.code ?? null, l.event.category, l.host?.id ?? null])).toEqual([
      ['4624', ['authentication'], hostIdFor('workstation6')],
      [null, ['process'], null],
      ['403', 'process', hostIdFor('workstation6')],
    ]);
    expect(lines[2].powershell.engine).toEqual({ new_state: 'Stopped', previous_state: 'Available' });
  });

  it('shows the first 20 skipped lines of a file that is not JSON, counts them all', async () => {
    const junk = path.join(dir, 'junk.ndjson');
    writeFileSync(junk, Array.from({ length: 30 }, (_, i) => `garbage ${i}`).join('\n') + '\n');
    const out = new PassThrough();
    out.resume();
    const warnings: string[] = [];
    const counts = await convertFiles([junk], {}, out, (m) => warnings.push(m));
    expect(counts).toEqual({ files: 1, converted: 0, skipped: 30, failedFiles: 0, outputClosed: false, interrupted: false, partial: null });
    expect(warnings.length).toBe(21);
    expect(warnings[19]).toBe(`${junk}:20: expected a JSON object or array, found "garbage 19"`);
    expect(warnings[20]).toBe('further skipped items are counted, not shown');
  });

  it('interrupted: counts the input being read when some of it was written, names it, and counts its skipped lines', async () => {
    const first = path.join(dir, 'first.ndjson');
    const second = path.join(dir, 'second.ndjson');
    const ev = (i: number) => JSON.stringify({ '@timestamp': '2020-09-21T23:04:41Z', event: { category: ['process'] }, process: { pid: i, name: 'x'.repeat(100) } });
    writeFileSync(first, ['{broken', ev(0), ev(1), ev(2)].join('\n') + '\n');
    // Many reads long: its batches come one after another.
    writeFileSync(second, ['{broken', ...Array.from({ length: 20_000 }, (_, i) => ev(i))].join('\n') + '\n');
    const stop = new AbortController();
    let lines = 0;
    // The output: Ctrl-C arrives with the first document of the second input.
    const out = new PassThrough();
    out.on('data', (c: Buffer) => {
      for (const b of c) if (b === 10 && ++lines === 4) stop.abort();
    });
    const counts = await convertFiles([first, second], { signal: stop.signal }, out, () => {});
    expect({ ...counts, converted: counts.converted > 3 && counts.converted < 20_003 }).toEqual({
      files: 2,
      converted: true,
      skipped: 2,
      failedFiles: 0,
      outputClosed: false,
      interrupted: true,
      partial: second,
    });
  });

  it('writes bulk pairs with each document index (--index for those without one)', async () => {
    const { lines, warnings } = await convert([nxlog, xml], { bulk: true, namespace: 'lab' });
    expect(lines.filter((_, i) => i % 2 === 0)).toEqual([{ create: { _index: 'logs-system.security-lab' } }, { create: {} }, { create: { _index: 'logs-windows.powershell-lab' } }]);
    expect(warnings).toEqual(['1 document(s) carry no index (no _index, data_stream.* or Beats agent fields): their bulk action has none; give --index NAME']);
    const withIndex = await convert([nxlog], { bulk: true, index: 'logs-app-default' });
    expect(withIndex.lines[2]).toEqual({ create: { _index: 'logs-app-default' } });
  });

  it('--raw writes XML events as RawWindowsEvent JSON and other documents as read', async () => {
    const { lines } = await convert([nxlog, xml], { raw: true });
    expect(lines[0].EventID).toBe(4624);
    expect(lines[2].System).toMatchObject({ EventID: '403', Channel: 'Windows PowerShell' });
    expect(lines[2].EventData.param1).toBe('Stopped');
  });

  it('an unreadable input is counted and the others are converted', async () => {
    const { counts, warnings } = await convert([path.join(dir, 'missing.evtx'), xml], {});
    expect(counts).toMatchObject({ files: 1, converted: 1, failedFiles: 1 });
    expect(warnings).toEqual([`cannot read ${path.join(dir, 'missing.evtx')}: no such file or directory`]);
  });

  it('`convert … | head` ends quietly, without a misleading count', async () => {
    const r = await runCommand('bash', ['-c', `node --import tsx src/cli/main.ts convert examples/windows-sample.ndjson | head -2 | wc -l`]);
    expect(r.stdout.trim()).toBe('2');
    expect(r.stderr).toBe('');
  });
});

describe('samples/', () => {
  it('are exactly what scripts/make-samples.ts writes', async () => {
    const { writeSamples } = await import('../scripts/make-samples.js');
    const out = tempDir();
    const { readFileSync } = await import('node:fs');
    for (const name of writeSamples(out)) {
      expect(readFileSync(path.join(out, name)).equals(readFileSync(path.join(repoRoot, 'samples', name))), name).toBe(true);
    }
  });
});
