// Deterministic mutation fuzzing: byte flips, truncation, garbage and zero runs, hostile u32s
// over the samples (and a synthetic file, so this runs without ../shared). No exception other
// than a positioned EvtxError may escape, nothing may hang, and chunks left intact must still
// yield exactly their original records.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EvtxError, readEvtx } from '../src/evtx/index.js';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v } from './evtx-build.js';
import { mulberry32 as prng } from './prng.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(repoRoot, '..', 'shared', 'corpus', 'evtx');
const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-evtxf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function syntheticFile(): Buffer {
  const chunks: Buffer[] = [];
  for (let c = 0; c < 3; c++) {
    const w = new ChunkWriter();
    for (let i = 0; i < 40; i++) {
      const id = c * 40 + i + 1;
      w.record(id, 132000000000000000n, (w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        const nested = v.nested((w) => {
          w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
          w.templateInstance('d', { name: 'EventData', children: [{ name: 'Data', attrs: [['Name', ['A']]], children: [{ sub: 0 }] }, { name: 'Data', attrs: [['Name', ['B']]], children: [{ sub: 1 }] }] }, [v.str('value ' + id), v.strArray(['p', 'q'])]);
          w.u8(0x00);
        });
        w.templateInstance('e', EVENT_TEMPLATE, [v.str('P'), v.null(), v.u16(id), v.u64(132000000000000000n, 0x11), v.u64(BigInt(id)), v.null(), v.str('C'), v.str('H'), nested]);
        w.u8(0x00);
      });
    }
    chunks.push(w.finish());
  }
  return buildFile(chunks);
}

interface Outcome {
  byChunk: Map<number, string[]>;
  error: EvtxError | null;
  warnings: number;
}

async function readOutcome(file: string): Promise<Outcome> {
  const byChunk = new Map<number, string[]>();
  try {
    const r = readEvtx(file, { onWarning: () => undefined });
    let n = 0;
    for await (const rec of r) {
      n++;
      // Rendering must not throw either.
      const line = JSON.stringify(rec.toRaw()) + rec.toXml().length;
      const list = byChunk.get(rec.chunk) ?? [];
      list.push(line);
      byChunk.set(rec.chunk, list);
    }
    expect(r.stats.recordsRead).toBe(n);
    return { byChunk, error: null, warnings: r.stats.warnings };
  } catch (e) {
    if (e instanceof EvtxError) {
      expect(e.message.startsWith(file)).toBe(true);
      return { byChunk, error: e, warnings: 0 };
    }
    throw e;
  }
}

type Mutation = { desc: string; apply: (b: Buffer) => Buffer; chunk: number | null };

function mutations(rand: () => number, size: number): Mutation {
  const slots = Math.floor((size - 4096) / 65536);
  const ri = (n: number): number => Math.floor(rand() * n);
  // Confine most mutations to one chunk so the others can be checked as intact.
  const chunk = ri(slots);
  const base = 4096 + chunk * 65536;
  const kind = ri(6);
  switch (kind) {
    case 0: {
      const n = 1 + ri(64);
      return { desc: `flip ${n} bytes in chunk ${chunk}`, chunk, apply: (b) => { for (let i = 0; i < n; i++) b[base + ri(65536)] ^= 1 << ri(8); return b; } };
    }
    case 1: {
      const at = base + ri(65536), len = 1 + ri(4096);
      return { desc: `garbage ${len} at ${at}`, chunk, apply: (b) => { for (let i = at; i < Math.min(at + len, base + 65536); i++) b[i] = ri(256); return b; } };
    }
    case 2: {
      const at = base + 512 + ri(65024), len = 1 + ri(2048);
      return { desc: `zeros ${len} at ${at}`, chunk, apply: (b) => { b.fill(0, at, Math.min(at + len, base + 65536)); return b; } };
    }
    case 3: {
      const at = base + ri(65532);
      const val = [0xffffffff, 0x7fffffff, 0x10000, 0, 512, 24][ri(6)]!;
      return { desc: `u32 ${val} at ${at}`, chunk, apply: (b) => { b.writeUInt32LE(val, at); return b; } };
    }
    case 4: {
      const len = ri(size);
      return { desc: `truncate to ${len}`, chunk: null, apply: (b) => b.subarray(0, len) };
    }
    default: {
      const n = 1 + ri(8);
      return { desc: `flip ${n} header bytes`, chunk: null, apply: (b) => { for (let i = 0; i < n; i++) b[ri(4096)] ^= 0xff; return b; } };
    }
  }
}

const sources: [string, () => Buffer][] = [['synthetic', syntheticFile]];
if (existsSync(corpus)) {
  for (const n of ['security-4624-4688-wmi', 'sysmon-wmi-cscript-comsvcs', 'application-v3.2-no-crc32'])
    sources.push([n, () => readFileSync(path.join(corpus, n + '.evtx'))]);
}

describe('EVTX mutation fuzzing', () => {
  for (const [name, load] of sources) {
    it(`${name}: 100 seeded mutations`, async () => {
      const original = load();
      const origFile = path.join(dir, `${name}.evtx`);
      writeFileSync(origFile, original);
      const base = await readOutcome(origFile);
      expect(base.error).toBeNull();
      const rand = prng(0xe7c0 + name.length);
      const started = Date.now();
      let intactChecks = 0;
      let damaged = 0;
      for (let i = 0; i < 100; i++) {
        const m = mutations(rand, original.length);
        const file = path.join(dir, `${name}-${i}.evtx`);
        writeFileSync(file, m.apply(Buffer.from(original)));
        const t0 = Date.now();
        const out = await readOutcome(file).catch((e: unknown) => {
          throw new Error(`${name} #${i} (${m.desc}): ${(e as Error).stack}`);
        });
        expect(Date.now() - t0, `${name} #${i} (${m.desc}) took too long`).toBeLessThan(2000);
        if (out.error || out.warnings > 0) damaged++;
        if (m.chunk !== null && !out.error) {
          for (const [c, recs] of base.byChunk) {
            if (c === m.chunk) continue;
            expect(out.byChunk.get(c), `${name} #${i} (${m.desc}): chunk ${c} intact`).toEqual(recs);
            intactChecks++;
          }
        }
        rmSync(file);
      }
      expect(Date.now() - started).toBeLessThan(20_000);
      if (base.byChunk.size > 1) expect(intactChecks).toBeGreaterThan(50);
      // The mutations must actually hurt. Many land in chunk slack after the last record,
      // which no CRC covers and no reader looks at, so about 40% report damage.
      expect(damaged).toBeGreaterThan(25);
    });
  }
});
