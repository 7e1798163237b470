// The lazy EVTX path (records and nested BinXml values kept as template instances, their size
// measured instead of resolved) must charge the expansion budget exactly as resolving does:
// same nodes and characters after every record, same records refused with the same reasons,
// same XML and RawWindowsEvent. Checked record by record on the hostile constructions of
// scripts/hostile.ts (expansion bombs), on random files of the fuzzer's generator and, when ../shared is present, on the EVTX corpus.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng, randomEvtx } from '../scripts/fuzz.js';
import { writeHostileCases } from '../scripts/hostile.js';
import { BinXmlError, ChunkContext, Instance, parseRecord, parseRecordXml, type XNode } from '../src/evtx/binxml.js';
import { renderInstance } from '../src/evtx/direct.js';
import { readEvtx } from '../src/evtx/index.js';
import { toRawEvent, toXmlText } from '../src/evtx/render.js';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v, type ElSpec, type ValueSpec } from './evtx-build.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-evtx-measure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hostile = [...new Set((await writeHostileCases(dir)).flatMap((c) => c.args.filter((a) => a.endsWith('.evtx'))))];
const corpusDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'shared', 'corpus', 'evtx');
const corpus = existsSync(corpusDir) ? readdirSync(corpusDir).filter((f) => f.endsWith('.evtx')).sort().map((f) => path.join(corpusDir, f)) : [];

// Random templates, values, nested BinXml and arrays (the fuzzer's generator), fixed seeds.
const random = Array.from({ length: 30 }, (_, i) => {
  const file = path.join(dir, `random-${i + 1}.evtx`);
  writeFileSync(file, randomEvtx(prng(1000 + i)));
  return file;
});

// Records whose EventData holds string arrays (classic Application/System events): the arrays'
// lengths and empty items vary record to record, an array repeats its element and also fills an
// attribute of it, one is too long for a shape, and two arrays repeat nested elements.
const ARRAY_DATA: ElSpec = {
  name: 'EventData',
  children: [
    { name: 'Data', children: [{ sub: 0 }] },
    { name: 'Data', attrs: [['Name', ['Extra']]], children: [{ sub: 1 }] },
    { name: 'Binary', children: [{ sub: 2, opt: true }] },
  ],
};
const ARRAY_ATTR_DATA: ElSpec = {
  name: 'EventData',
  children: [{ name: 'Item', attrs: [['Value', ['<', { sub: 0 }, '>']]], children: [{ name: 'Inner', children: [{ sub: 1 }, 'x'] }] }],
};
const ARRAY_CASES: string[][] = [['a', 'b'], ['c', 'dd'], ['', 'x'], ['x'], [], ['a', 'b'], Array.from({ length: 65 }, (_, i) => `i${i}`), ['x', ''], ['', '']];
function systemWith(id: number, nested: ValueSpec): ValueSpec[] {
  return [v.str('Prov'), v.null(), v.u16(1000 + (id % 3)), v.u64(133_500_000_000_000_000n + BigInt(id), 0x11), v.u64(BigInt(id)), v.null(), v.str('Application'), v.str('HOST'), nested];
}
const arrays = path.join(dir, 'arrays.evtx');
{
  const w = new ChunkWriter();
  let id = 1;
  for (const items of ARRAY_CASES) {
    for (const extra of ['e', '']) {
      w.record(id, 133_500_000_000_000_000n, (w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        const nested = v.nested((w) => w.templateInstance('data', ARRAY_DATA, [v.strArray(items), v.str(extra), id % 2 ? v.null() : v.raw(0x0e, Buffer.from([1, 2]))]));
        w.templateInstance('event', EVENT_TEMPLATE, systemWith(id, nested));
        w.u8(0x00);
      });
      id++;
    }
    w.record(id, 133_500_000_000_000_000n, (w) => {
      w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      const nested = v.nested((w) => w.templateInstance('attr', ARRAY_ATTR_DATA, [v.strArray(items), v.strArray(items.slice().reverse())]));
      w.templateInstance('event', EVENT_TEMPLATE, systemWith(id, nested));
      w.u8(0x00);
    });
    id++;
  }
  writeFileSync(arrays, buildFile([w.finish()]));
}

type Outcome = { nodes: number; chars: number; error: string | null; xml: string | null; raw: string | null };

/** Every well-framed record of every chunk with an ElfChnk header, parsed by `parse`. */
function walk(file: string, lazy: boolean): Outcome[] {
  const data = readFileSync(file);
  const out: Outcome[] = [];
  for (let c = 4096; c + 0x10000 <= data.length; c += 0x10000) {
    const buf = data.subarray(c, c + 0x10000);
    if (buf.toString('latin1', 0, 8) !== 'ElfChnk\0') continue;
    const free = Math.min(buf.readUInt32LE(48), 0x10000);
    const ctx = new ChunkContext(buf, 'upper');
    let broken = false;
    for (let off = 512; off + 24 <= free && !broken; ) {
      if (buf.readUInt32LE(off) !== 0x2a2a) break;
      const size = buf.readUInt32LE(off + 4);
      if (size < 28 || off + size > 0x10000 || buf.readUInt32LE(off + size - 4) !== size) break;
      let error: string | null = null;
      let xml: string | null = null;
      let raw: string | null = null;
      try {
        let nodes: XNode[];
        if (lazy) {
          const p = parseRecord(ctx, off + 24, off + size - 4);
          const direct = p instanceof Instance ? renderInstance(p) : null;
          nodes = p instanceof Instance ? p.resolve() : p;
          raw = JSON.stringify(direct ?? toRawEvent(nodes));
        } else {
          nodes = parseRecordXml(ctx, off + 24, off + size - 4);
          raw = JSON.stringify(toRawEvent(nodes));
        }
        xml = toXmlText(nodes);
      } catch (e) {
        if (!(e instanceof BinXmlError)) throw e;
        error = `${e.constructor.name}: ${e.message}`;
        // A spent chunk budget ends the chunk (the reader skips the rest).
        broken = e.constructor.name === 'ChunkBudgetError';
      }
      out.push({ nodes: ctx.nodes, chars: ctx.chars, error, xml, raw });
      off += size;
    }
  }
  return out;
}

describe('lazy EVTX decoding charges the expansion budget exactly as resolving does', () => {
  it('covers the hostile EVTX constructions', () => {
    expect(hostile.length).toBeGreaterThanOrEqual(6);
  });
  for (const file of [arrays, ...hostile, ...random, ...corpus]) {
    it(path.basename(file), () => {
      const lazy = walk(file, true);
      const eager = walk(file, false);
      expect(lazy.length).toBe(eager.length);
      for (let i = 0; i < lazy.length; i++) expect(lazy[i], `record ${i}`).toEqual(eager[i]);
      if (hostile.includes(file)) expect(eager.some((o) => o.error !== null)).toBe(true);
    });
  }
});

describe('records with array values have shapes and compiled renderers', () => {
  it('renders each record as the resolved tree does, with a renderer for arrays of up to 64 items', async () => {
    const raws: string[] = [];
    const rendered: boolean[] = [];
    for await (const rs of readEvtx(arrays).chunks()) {
      for (const r of rs) {
        const raw = JSON.stringify(r.toRaw());
        expect(raw).toBe(JSON.stringify(toRawEvent(r.nodes)));
        raws.push(raw);
        rendered.push(typeof r.instance?.shape?.render === 'function');
      }
    }
    expect(raws.length).toBe(3 * ARRAY_CASES.length);
    // The 65-item array (the seventh case) has no shape; every other record is rendered.
    expect(rendered).toEqual(ARRAY_CASES.flatMap((items) => [items.length <= 64, items.length <= 64, items.length <= 64]));
    const data = (i: number): unknown => JSON.parse(raws[i]!).EventData;
    expect(data(0)).toEqual({ param1: 'a', param2: 'b', Extra: 'e' });
    expect(data(1)).toEqual({ param1: 'a', param2: 'b', Extra: '', Binary: '0102' });
    expect(data(3)).toEqual({ param1: 'c', param2: 'dd', Extra: 'e', Binary: '0102' });
    expect(data(6)).toEqual({ param1: '', param2: 'x', Extra: 'e' });
    expect(data(12)).toEqual({ param1: '', Extra: 'e' });
    expect(data(21)).toEqual({ param1: 'x', param2: '', Extra: 'e', Binary: '0102' });
    // The second array repeats <Inner> (its items reversed, each followed by "x").
    expect(data(2)).toEqual({ Item: 'bxax' });
    expect(data(14)).toEqual({ Item: 'x' });
  });
});
