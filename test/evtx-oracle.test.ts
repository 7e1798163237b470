// Every record of every sample in ../shared/corpus/evtx against the libevtx oracle
// (NAME.oracle.xml, primary) and the python-evtx dump (NAME.pyevtx.xml, secondary).
//
// Normalisation applied to the oracles before comparing (see corpus README):
// * HexInt32/64: libevtx and python-evtx zero-pad (0x0000000000000ae8); Windows writes the
//   minimal form (0xae8), which is what we render and what Elastic rules compare against.
// * FILETIME: libevtx writes 9 fractional digits whose last two are always 00; we write the
//   7 digits of 100 ns precision, as the RawWindowsEvent contract asks.
// * python-evtx only: lower-case GUIDs (we follow Windows/Event Viewer upper case, like
//   libevtx), Bool as True/False (Windows writes true/false), SystemTime rounded to µs.
// Where the two oracles disagree we follow Windows, which here is libevtx: bad-chunk-magic has
// 3 truncated records that python-evtx prints with cut-off or empty values; Windows (and
// libevtx) cannot render a record whose size and trailing size copy differ, so we drop and
// count them (recordsSkipped = 3).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readEvtx, type EvtxRecord, type EvtxStats, type EvtxWarning, type RawWindowsEvent } from '../src/evtx/index.js';
import { parseEvents, type El } from './evtx-xml.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(repoRoot, '..', 'shared', 'corpus', 'evtx');

/** Exact counts per sample; records match evtxexport's item count in the corpus README. */
const EXPECTED: Record<string, Omit<EvtxStats, 'warnings'> & { warnings: number }> = {
  'application-v3.2-no-crc32': { recordsRead: 17, recordsSkipped: 0, chunksRead: 1, chunksSkipped: 0, chunksEmpty: 0, warnings: 0 },
  // 3 data-CRC warnings, 3 truncated records, 2 garbage slots.
  'bad-chunk-magic': { recordsRead: 267, recordsSkipped: 3, chunksRead: 4, chunksSkipped: 2, chunksEmpty: 10, warnings: 8 },
  'security-4624-4688-wmi': { recordsRead: 8, recordsSkipped: 0, chunksRead: 1, chunksSkipped: 0, chunksEmpty: 0, warnings: 0 },
  // Header says 1 chunk; 9 real chunks are read, then 8 garbage slots are reported.
  'sysmon-dirty': { recordsRead: 358, recordsSkipped: 0, chunksRead: 9, chunksSkipped: 8, chunksEmpty: 0, warnings: 8 },
  'sysmon-uacme64-dns-filedelete': { recordsRead: 530, recordsSkipped: 0, chunksRead: 12, chunksSkipped: 0, chunksEmpty: 5, warnings: 0 },
  'sysmon-wmi-cscript-comsvcs': { recordsRead: 6, recordsSkipped: 0, chunksRead: 1, chunksSkipped: 0, chunksEmpty: 0, warnings: 0 },
};

interface Norm {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: Norm[];
}

type Source = 'self' | 'libevtx' | 'py';

function normValue(v: string, src: Source): string {
  // libevtx writes a value that is only "\n" as empty (application record 441, ExtraInfo);
  // Windows keeps the newline, and so do we: compare our side with libevtx's quirk applied.
  if (src === 'self') return v === '\n' ? '' : v;
  let s = v.replace(/^0x0+(?=[0-9a-fA-F])/, '0x');
  if (src === 'py') {
    if (s === 'True' || s === 'False') s = s.toLowerCase();
    if (/^\{[0-9a-f-]{36}\}$/.test(s)) s = s.toUpperCase();
  }
  return s;
}

function norm(el: El, src: Source): Norm {
  const py = src === 'py';
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(el.attrs)) {
    // python-evtx writes attributes of Null values as "" where Windows omits them.
    if (py && v === '') continue;
    if (k === 'SystemTime' && src !== 'self') {
      if (py) continue; // rounded to microseconds and space-separated: not comparable
      const m = /^(.*\.\d{7})00Z$/.exec(v);
      if (!m) throw new Error(`oracle SystemTime ${v} is not 9-digit with trailing 00`);
      attrs[k] = m[1] + 'Z';
      continue;
    }
    attrs[k] = normValue(v, src);
  }
  return { name: el.name, attrs, text: normValue(el.text, src), children: el.children.map((c) => norm(c, src)) };
}

/** The RawWindowsEvent a record must produce, derived from the oracle's XML. */
function expectedRaw(ev: Norm): RawWindowsEvent {
  const sys = ev.children.find((c) => c.name === 'System')!;
  const get = (n: string): Norm | undefined => sys.children.find((c) => c.name === n);
  const raw: RawWindowsEvent = {
    System: {
      Provider: { ...get('Provider')!.attrs },
      EventID: get('EventID')!.text,
      TimeCreated: get('TimeCreated')!.attrs.SystemTime!,
      EventRecordID: get('EventRecordID')!.text,
      Channel: get('Channel')!.text,
      Computer: get('Computer')!.text,
    },
  };
  const q = get('EventID')!.attrs.Qualifiers;
  if (q !== undefined) raw.System.Qualifiers = q;
  for (const k of ['Version', 'Level', 'Task', 'Opcode', 'Keywords'] as const) {
    const e = get(k);
    if (e) raw.System[k] = e.text;
  }
  for (const k of ['Correlation', 'Execution', 'Security'] as const) {
    const e = get(k);
    if (e) (raw.System as Record<string, unknown>)[k] = { ...e.attrs };
  }
  const ed = ev.children.find((c) => c.name === 'EventData');
  if (ed) {
    const data: Record<string, string | string[] | null> = {};
    ed.children.forEach((c, i) => {
      const key = c.name === 'Data' ? (c.attrs.Name ?? `param${i + 1}`) : c.name;
      const prev = data[key];
      data[key] = prev === undefined ? c.text : Array.isArray(prev) ? [...prev, c.text] : [prev ?? '', c.text];
    });
    raw.EventData = data;
  }
  return raw;
}

const samples = existsSync(corpus)
  ? readdirSync(corpus)
      .filter((f) => f.endsWith('.evtx'))
      .map((f) => f.slice(0, -5))
      .sort()
  : [];

async function readAll(name: string): Promise<{ recs: EvtxRecord[]; stats: EvtxStats; warnings: EvtxWarning[] }> {
  const warnings: EvtxWarning[] = [];
  const r = readEvtx(path.join(corpus, name + '.evtx'), { onWarning: (w) => warnings.push(w) });
  const recs: EvtxRecord[] = [];
  for await (const rec of r) recs.push(rec);
  return { recs, stats: r.stats, warnings };
}

describe.skipIf(!existsSync(corpus))('EVTX corpus against the oracles', () => {
  it('covers every sample that has an expectation', () => {
    expect(samples).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const name of samples) {
    describe(name, () => {
      const loaded = readAll(name);

      it('reads and skips the expected number of records and chunks', async () => {
        const { recs, stats } = await loaded;
        expect(stats).toEqual(EXPECTED[name]);
        expect(recs.length).toBe(EXPECTED[name]!.recordsRead);
      });

      it('renders every record like evtxexport (after normalisation)', async () => {
        const { recs } = await loaded;
        const oracle = parseEvents(readFileSync(path.join(corpus, name + '.oracle.xml'), 'utf8')).map((e) => norm(e, 'libevtx'));
        expect(recs.length).toBe(oracle.length);
        recs.forEach((rec, i) => {
          const mine = parseEvents(rec.toXml());
          expect(mine.length).toBe(1);
          expect(norm(mine[0]!, 'self'), `record ${rec.recordId} (#${i})`).toEqual(oracle[i]);
          const raw = rec.toRaw();
          for (const [k, v] of Object.entries(raw.EventData ?? {})) if (v === '\n') raw.EventData![k] = '';
          expect(raw, `record ${rec.recordId} (#${i}) raw`).toEqual(expectedRaw(oracle[i]!));
        });
      });

      it('agrees with python-evtx on ids and EventData values', async () => {
        const { recs } = await loaded;
        const py = parseEvents(readFileSync(path.join(corpus, name + '.pyevtx.xml'), 'utf8')).map((e) => norm(e, 'py'));
        const pyById = new Map<string, Norm>();
        for (const ev of py) {
          const id = ev.children.find((c) => c.name === 'System')?.children.find((c) => c.name === 'EventRecordID')?.text;
          if (id) pyById.set(id, ev);
        }
        // python-evtx also prints the 3 truncated bad-chunk-magic records (one of them with an
        // empty System, so it has no id); Windows would not render them.
        expect(py.length - recs.length).toBe(name === 'bad-chunk-magic' ? 3 : 0);
        for (const rec of recs) {
          const raw = rec.toRaw();
          const other = pyById.get(raw.System.EventRecordID);
          expect(other, `record ${raw.System.EventRecordID} in python-evtx`).toBeDefined();
          const ed = other!.children.find((c) => c.name === 'EventData');
          const pyData: Record<string, string> = {};
          // python-evtx prints a string array as one <Data> holding <string>item</string> lines;
          // Windows (and libevtx) repeat the <Data> element once per item (MS-EVEN6 3.1.4.7.5).
          const items: Norm[] = [];
          for (const c of ed?.children ?? []) {
            const parts = /^(<string>[^]*?<\/string>\n)+$/.test(c.text) ? [...c.text.matchAll(/<string>([^]*?)<\/string>\n/g)] : null;
            if (parts) for (const m of parts) items.push({ ...c, text: m[1]! });
            else items.push(c);
          }
          items.forEach((c, i) => (pyData[c.name === 'Data' ? (c.attrs.Name ?? `param${i + 1}`) : c.name] = c.text));
          // python-evtx prints Binary as base64; Windows shows upper-case hex.
          if (pyData.Binary) pyData.Binary = Buffer.from(pyData.Binary, 'base64').toString('hex').toUpperCase();
          // python-evtx writes elements whose optional substitution is Null as empty elements
          // (application record 426: <Data></Data><Binary></Binary>); MS-EVEN6 and libevtx omit
          // the element, and so do we. Such extras must be empty.
          const mine = raw.EventData ?? {};
          for (const k of Object.keys(pyData)) if (!(k in mine)) expect(pyData[k], `python-evtx extra ${k}`).toBe('');
          for (const k of Object.keys(pyData)) if (!(k in mine)) delete pyData[k];
          expect(mine, `record ${raw.System.EventRecordID}`).toEqual(pyData);
        }
      });
    });
  }

  it('reports damage with file, chunk, record id, offset and reason', async () => {
    const { warnings } = await readAll('bad-chunk-magic');
    const file = path.join(corpus, 'bad-chunk-magic.evtx');
    const truncated = warnings.filter((w) => w.kind === 'record');
    expect(truncated.map((w) => [w.chunk, w.recordId, w.offset])).toEqual([
      [0, 46741, 0x2fc0],
      [7, 47640, 0x72e68],
      [9, 45933, 0x9ee40],
    ]);
    expect(truncated[0]!.message).toBe(
      `${file}, chunk 0, record 46741, offset 0x2fc0: record size 472 does not match its trailing copy 0 (truncated record); rest of chunk skipped`,
    );
    expect(warnings.filter((w) => w.kind === 'chunk').map((w) => [w.chunk, w.offset])).toEqual([
      [6, 0x61000],
      [10, 0xa1000],
    ]);
    expect(warnings.filter((w) => w.kind === 'data-crc').map((w) => w.chunk)).toEqual([0, 7, 9]);
  });

  it('strict mode rejects the first CRC mismatch with a positioned error', async () => {
    const r = readEvtx(path.join(corpus, 'bad-chunk-magic.evtx'), { strict: true });
    let n = 0;
    await expect(
      (async () => {
        for await (const _ of r) n++;
      })(),
    ).rejects.toThrow(/bad-chunk-magic\.evtx, chunk 0, offset 0x1034: record data CRC32 0xded42440 != computed 0x292f55e7$/);
    expect(n).toBe(0);
  });

  it('strict mode accepts no-CRC32 files (flag 0x4: checksums are not maintained)', async () => {
    let n = 0;
    for await (const _ of readEvtx(path.join(corpus, 'application-v3.2-no-crc32.evtx'), { strict: true })) n++;
    expect(n).toBe(17);
  });

  it('keeps the header record id apart from System/EventRecordID (saved logs renumber)', async () => {
    const { recs } = await readAll('sysmon-wmi-cscript-comsvcs');
    expect(recs.map((r) => r.recordId)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(recs.map((r) => r.toRaw().System.EventRecordID)).toEqual(['32151', '32152', '32153', '32154', '32155', '32156']);
    expect(recs[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    expect(recs[0]!.chunk).toBe(0);
    expect(recs[0]!.offset).toBe(0x1200);
  });

  it('renders Sysmon booleans and Binary/unnamed Data as Windows does', async () => {
    const { recs } = await readAll('sysmon-dirty');
    const net = recs.map((r) => r.toRaw()).find((r) => r.System.EventID === '3')!;
    expect(net.EventData!.Initiated).toMatch(/^(true|false)$/);
    const app = (await readAll('application-v3.2-no-crc32')).recs.map((r) => r.toRaw());
    expect(app[2]!.EventData).toEqual({ param1: 'WSearch', Binary: 'D9060000' });
    expect(app[2]!.System.Provider).toEqual({
      Name: 'Microsoft-Windows-Winlogon',
      Guid: '{DBE9B383-7CF3-4331-91CC-A3CB16A3B538}',
      EventSourceName: 'Wlclntfy',
    });
    expect(app[1]!.EventData).toEqual({ param1: 'Windows Defender', param2: 'SECURITY_PRODUCT_STATE_ON' });
    expect(app[0]!.EventData).toEqual({});
    expect(app[0]!.System.Qualifiers).toBe('0');
  });

  it('renders GUIDs in lower case when asked', async () => {
    const r = readEvtx(path.join(corpus, 'security-4624-4688-wmi.evtx'), { guidCase: 'lower' });
    for await (const rec of r) {
      const raw = rec.toRaw();
      expect(raw.System.Provider.Guid).toBe('{54849625-5478-4994-a5ba-3e3b0328c30d}');
      expect(raw.EventData!.LogonGuid).toBe('{5fdb15ee-2283-f23c-e23b-5e5ddb11bb9c}');
      break;
    }
  });
});
