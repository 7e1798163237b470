// Template definitions compiled in one chunk are reused by later chunks whose definition has the
// same bytes except the chunk offsets of its names (src/evtx/kept-templates.ts). A definition
// whose bytes are equal but whose names, referred to by offset, are different strings, or that
// sits elsewhere in its chunk, must still render as its own bytes say.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEvtx } from '../src/evtx/index.js';
import { buildFile, ChunkWriter, v, type ElSpec } from './evtx-build.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-evtx-kept-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 132000000000000000n;

/** Event/System/EventID holding value 0, then an element named `leaf` holding value 1. */
const body = (leaf: string): ElSpec => ({
  name: 'Event',
  children: [{ name: 'System', children: [{ name: 'EventID', children: [{ sub: 0 }] }] }, { name: leaf, children: [{ sub: 1 }] }],
});

async function xmlOf(chunks: Buffer[]): Promise<string[]> {
  const file = path.join(dir, `f${Math.random().toString(36).slice(2)}.evtx`);
  writeFileSync(file, buildFile(chunks));
  const out: string[] = [];
  for await (const r of readEvtx(file, { strict: true })) out.push(`${r.recordId}: ${r.toXml().replace(/\n\s*/g, '')} ${JSON.stringify(r.toRaw())}`);
  return out;
}

describe('templates kept across chunks', () => {
  it('equal bytes referring by offset to different names are different templates', async () => {
    // In each chunk, "first" writes its names inline; "second" then refers to them by offset.
    // Alpha and Bravo have the same length, so "second"'s definition is byte for byte the same
    // in both chunks, and only the name at the offset it refers to differs.
    const chunk = (leaf: string, firstId: number): Buffer => {
      const w = new ChunkWriter();
      w.record(firstId, T0, (x) => {
        x.u8(0x0f), x.u8(1), x.u8(1), x.u8(0);
        x.templateInstance('first', body(leaf), [v.str('1'), v.str('a')]);
      });
      w.record(firstId + 1, T0, (x) => {
        x.u8(0x0f), x.u8(1), x.u8(1), x.u8(0);
        x.templateInstance('second', { name: 'Event', children: [{ name: 'System', children: [{ name: 'EventID', children: [{ sub: 0 }] }] }, { name: leaf, children: [{ sub: 1 }, '!'] }] }, [v.str('2'), v.str('b')]);
      });
      return w.finish();
    };
    const a = chunk('Alpha', 1);
    const b = chunk('Bravo', 3);
    expect(await xmlOf([a, b, a])).toEqual([
      '1: <Event><System><EventID>1</EventID></System><Alpha>a</Alpha></Event> {"System":{"Provider":{},"EventID":"1","TimeCreated":"","EventRecordID":"","Channel":"","Computer":""}}',
      '2: <Event><System><EventID>2</EventID></System><Alpha>b!</Alpha></Event> {"System":{"Provider":{},"EventID":"2","TimeCreated":"","EventRecordID":"","Channel":"","Computer":""}}',
      '3: <Event><System><EventID>1</EventID></System><Bravo>a</Bravo></Event> {"System":{"Provider":{},"EventID":"1","TimeCreated":"","EventRecordID":"","Channel":"","Computer":""}}',
      '4: <Event><System><EventID>2</EventID></System><Bravo>b!</Bravo></Event> {"System":{"Provider":{},"EventID":"2","TimeCreated":"","EventRecordID":"","Channel":"","Computer":""}}',
      '1: <Event><System><EventID>1</EventID></System><Alpha>a</Alpha></Event> {"System":{"Provider":{},"EventID":"1","TimeCreated":"","EventRecordID":"","Channel":"","Computer":""}}',
      '2: <Event><System><EventID>2</EventID></System><Alpha>b!</Alpha></Event> {"System":{"Provider":{},"EventID":"2","TimeCreated":"","EventRecordID":"","Channel":"","Computer":""}}',
    ]);
  });

  it('the same definition at another offset, with its names inline or written before it', async () => {
    const event = (x: ChunkWriter, id: string, leaf: string): void => {
      x.u8(0x0f), x.u8(1), x.u8(1), x.u8(0);
      x.templateInstance('t', body('Data'), [v.str(id), v.str(leaf)]);
    };
    // Chunk 1: the definition first, its names inline. Chunk 2: another template first (other
    // names), so the same definition lies further on, names still inline. Chunk 3: a template
    // whose names the definition then refers to by offset (a different body size).
    const c1 = new ChunkWriter();
    c1.record(1, T0, (x) => event(x, '10', 'x'));
    c1.record(2, T0, (x) => event(x, '11', 'y'));
    const c2 = new ChunkWriter();
    c2.record(3, T0, (x) => {
      x.u8(0x0f), x.u8(1), x.u8(1), x.u8(0);
      x.templateInstance('other', { name: 'Other', children: [{ sub: 0 }] }, [v.str('o')]);
    });
    c2.record(4, T0, (x) => event(x, '12', 'z'));
    const c3 = new ChunkWriter();
    c3.record(5, T0, (x) => {
      x.u8(0x0f), x.u8(1), x.u8(1), x.u8(0);
      x.templateInstance('names', { name: 'Event', children: [{ name: 'System', children: [{ name: 'EventID' }] }, { name: 'Data' }] }, []);
    });
    c3.record(6, T0, (x) => event(x, '13', 'w'));
    const raw = (id: string): string => `{"System":{"Provider":{},"EventID":"${id}","TimeCreated":"","EventRecordID":"","Channel":"","Computer":""}}`;
    expect(await xmlOf([c1.finish(), c2.finish(), c3.finish(), c1.finish()])).toEqual([
      `1: <Event><System><EventID>10</EventID></System><Data>x</Data></Event> ${raw('10')}`,
      `2: <Event><System><EventID>11</EventID></System><Data>y</Data></Event> ${raw('11')}`,
      `3: <Other>o</Other> {"System":{"Provider":{},"EventID":"","TimeCreated":"","EventRecordID":"","Channel":"","Computer":""}}`,
      `4: <Event><System><EventID>12</EventID></System><Data>z</Data></Event> ${raw('12')}`,
      `5: <Event><System><EventID/></System><Data/></Event> ${raw('')}`,
      `6: <Event><System><EventID>13</EventID></System><Data>w</Data></Event> ${raw('13')}`,
      `1: <Event><System><EventID>10</EventID></System><Data>x</Data></Event> ${raw('10')}`,
      `2: <Event><System><EventID>11</EventID></System><Data>y</Data></Event> ${raw('11')}`,
    ]);
  });
});
