// readEvtxFilesParallel under vitest: the workers load worker.ts through tsx, records arrive
// per file in file order, and the transform runs inside the workers.

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readEvtx, readEvtxFilesParallel, type EvtxWarning, type RawWindowsEvent } from '../src/evtx/index.js';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v } from './evtx-build.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
const corpus = path.resolve(repoRoot, '..', 'shared', 'corpus', 'evtx');
const mapper = path.join(repoRoot, 'src', 'events', 'windows', 'index.ts');

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-evtxp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `chunks` chunks × `per` records with EventRecordIDs base+1.. */
function synthetic(name: string, base: number, chunks: number, per: number): string {
  const bufs: Buffer[] = [];
  for (let c = 0; c < chunks; c++) {
    const w = new ChunkWriter();
    for (let i = 0; i < per; i++) {
      const id = base + c * per + i + 1;
      w.record(id, 132000000000000000n + BigInt(id), (w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        w.templateInstance('e', EVENT_TEMPLATE, [
          v.str('P'), v.null(), v.u16(1), v.u64(132000000000000000n, 0x11), v.u64(BigInt(id)), v.null(), v.str('C'), v.str(name), v.null(),
        ]);
        w.u8(0x00);
      });
    }
    bufs.push(w.finish());
  }
  const p = path.join(dir, name + '.evtx');
  writeFileSync(p, buildFile(bufs));
  return p;
}

async function sequential(p: string): Promise<RawWindowsEvent[]> {
  const out: RawWindowsEvent[] = [];
  for await (const r of readEvtx(p)) out.push(r.toRaw());
  return out;
}

describe('readEvtxFilesParallel', () => {
  const files = [synthetic('a', 0, 3, 50), synthetic('b', 1000, 1, 7), synthetic('c', 2000, 2, 120)];

  it('yields each file in file order, identical to the sequential reader', async () => {
    // Small batches and credits force many flow-control round trips.
    const par = readEvtxFilesParallel(files, { workers: 2, batchSize: 16, maxBufferedBatches: 2 });
    const got = await Promise.all(
      par.files.map(async (f) => {
        const recs: RawWindowsEvent[] = [];
        for await (const r of f.records) recs.push(r.value);
        return { recs, stats: await f.stats };
      }),
    );
    for (let i = 0; i < files.length; i++) expect(got[i]!.recs).toEqual(await sequential(files[i]!));
    expect(got.map((g) => g.stats.recordsRead)).toEqual([150, 7, 240]);
    await par.close();
  });

  it('lets a caller k-way merge files consumed one record at a time', async () => {
    const par = readEvtxFilesParallel(files, { workers: 1, batchSize: 8, maxBufferedBatches: 1 });
    const its = par.files.map((f) => f.records[Symbol.asyncIterator]());
    const heads = await Promise.all(its.map((it) => it.next()));
    const merged: number[] = [];
    for (;;) {
      let best = -1;
      heads.forEach((h, i) => {
        if (!h.done && (best < 0 || h.value.timestamp < heads[best]!.value!.timestamp)) best = i;
      });
      if (best < 0) break;
      merged.push(Number(heads[best]!.value!.value.System.EventRecordID));
      heads[best] = await its[best]!.next();
    }
    expect(merged.length).toBe(397);
    expect(merged).toEqual([...merged].sort((x, y) => x - y));
    await par.close();
  });

  it('runs the transform inside the workers and reports its failures with the position', async () => {
    const warnings: EvtxWarning[] = [];
    const par = readEvtxFilesParallel<{ id: string; main: boolean }>([files[1]!], {
      transform: { module: pathToFileURL(path.join(here, 'evtx-transform-fixture.ts')).href, export: 'tag', options: { prefix: 'x', failOn: '1003' } },
      onWarning: (w) => warnings.push(w),
    });
    const out: { id: string; main: boolean }[] = [];
    for await (const r of par.files[0]!.records) out.push(r.value);
    expect(out.map((o) => o.id)).toEqual(['x:1001', 'x:1002', 'x:1004', 'x:1005', 'x:1006', 'x:1007']);
    expect(out.every((o) => o.main === false)).toBe(true);
    expect(warnings.map((w) => [w.kind, w.recordId, w.reason])).toEqual([['transform', 1003, 'transform failed: refusing 1003']]);
    await par.close();
  });

  it('fails a missing file without affecting the others', async () => {
    const par = readEvtxFilesParallel([path.join(dir, 'nope.evtx'), files[1]!], { workers: 2 });
    await expect(
      (async () => {
        for await (const _ of par.files[0]!.records);
      })(),
    ).rejects.toThrow(/nope\.evtx: cannot open: ENOENT/);
    let n = 0;
    for await (const _ of par.files[1]!.records) n++;
    expect(n).toBe(7);
    await par.close();
  });

  it('reports a transform module without the export', async () => {
    const par = readEvtxFilesParallel([files[1]!], {
      transform: { module: path.join(here, 'evtx-transform-fixture.ts'), export: 'missing' },
    });
    await expect(
      (async () => {
        for await (const _ of par.files[0]!.records);
      })(),
    ).rejects.toThrow(/evtx-transform-fixture\.ts has no function export "missing"/);
    await par.close();
  });

  it.skipIf(!existsSync(corpus))('matches the sequential reader on the shared corpus', async () => {
    const paths = readdirSync(corpus).filter((f) => f.endsWith('.evtx')).sort().map((f) => path.join(corpus, f));
    const par = readEvtxFilesParallel(paths, { workers: 2 });
    const got = await Promise.all(
      par.files.map(async (f) => {
        const ids: string[] = [];
        for await (const r of f.records) ids.push(r.value.System.EventRecordID + '/' + r.recordId);
        return ids;
      }),
    );
    for (let i = 0; i < paths.length; i++) {
      const seq: string[] = [];
      for await (const r of readEvtx(paths[i]!)) seq.push(r.toRaw().System.EventRecordID + '/' + r.recordId);
      expect(got[i]).toEqual(seq);
    }
    expect(got.reduce((n, g) => n + g.length, 0)).toBe(1186);
    await par.close();
  });

  it.skipIf(!existsSync(mapper) || !existsSync(corpus))('maps to ECS in the workers with mapRawWindowsEvent', async () => {
    const p = path.join(corpus, 'security-4624-4688-wmi.evtx');
    const par = readEvtxFilesParallel<{ source: Record<string, unknown>; index: string }>([p], {
      transform: { module: pathToFileURL(mapper).href, export: 'mapRawWindowsEvent' },
    });
    let n = 0;
    for await (const r of par.files[0]!.records) {
      expect(typeof r.value.index).toBe('string');
      expect(typeof r.value.source).toBe('object');
      n++;
    }
    expect(n).toBe(8);
    await par.close();
  });
});
