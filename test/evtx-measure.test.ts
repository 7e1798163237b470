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
import { toRawEvent, toXmlText } from '../src/evtx/render.js';

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
  for (const file of [...hostile, ...random, ...corpus]) {
    it(path.basename(file), () => {
      const lazy = walk(file, true);
      const eager = walk(file, false);
      expect(lazy.length).toBe(eager.length);
      for (let i = 0; i < lazy.length; i++) expect(lazy[i], `record ${i}`).toEqual(eager[i]);
      if (hostile.includes(file)) expect(eager.some((o) => o.error !== null)).toBe(true);
    });
  }
});
