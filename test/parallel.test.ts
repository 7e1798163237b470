// Parallel inputs (src/parallel): files read, mapped and routed on worker threads must give exactly
// what reading them on the main thread gives — the same events in the same order, the same skips,
// the same alerts and the same hunt statistics. Under vitest the workers load worker.ts via tsx.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hunt, type HuntOptions } from '../src/detect/hunt.js';
import { openInput } from '../src/events/inputs.js';
import { mergeOrdered, timeOrSkip } from '../src/events/order.js';
import { fileIdPrefix, type InputFile } from '../src/events/sources.js';
import type { EventDoc, SkippedItem } from '../src/events/types.js';
import { generateEvents } from '../src/generate/generator.js';
import { openParallelInputs } from '../src/parallel/pool.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v } from './evtx-build.js';
import { makeRule, seedPair, tempDir, wlb, writeNdjson } from './detect-helpers.js';
import { runCli } from './cli-helpers.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const shared = path.resolve(repoRoot, '..', 'shared');
const dir = tempDir('eqlite-parallel-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A synthetic .evtx of `chunks` × `per` records with EventRecordIDs base+1…, one second apart. */
function syntheticEvtx(name: string, base: number, chunks: number, per: number): string {
  const bufs: Buffer[] = [];
  for (let c = 0; c < chunks; c++) {
    const w = new ChunkWriter();
    for (let i = 0; i < per; i++) {
      const id = base + c * per + i + 1;
      const filetime = 132000000000000000n + BigInt(id) * 10_000_000n;
      w.record(id, filetime, (w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        w.templateInstance('e', EVENT_TEMPLATE, [
          v.str('P'), v.null(), v.u16(1), v.u64(filetime, 0x11), v.u64(BigInt(id)), v.null(), v.str('C'), v.str(name), v.null(),
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

/** Generated telemetry split round-robin over `n` files: their times interleave. */
function generatedFiles(n: number, events: number, seed: string): string[] {
  const parts: Record<string, unknown>[][] = Array.from({ length: n }, () => []);
  let i = 0;
  for (const doc of generateEvents({ events, hosts: 12, seed, start: '2026-11-01T00:00:00Z' })) parts[i++ % n]!.push(doc);
  return parts.map((docs, k) => writeNdjson(dir, `gen-${seed}-${k}.ndjson`, docs));
}

interface Read {
  events: EventDoc[];
  skips: string[];
}

function shape(ev: EventDoc) {
  return { id: ev.id, index: ev.index, position: ev.position, time: ev.time, source: ev.source };
}

async function readSerial(files: InputFile[]): Promise<Read[]> {
  return Promise.all(
    files.map(async (f) => {
      const skips: string[] = [];
      const events: EventDoc[] = [];
      for await (const b of openInput(f, { onSkip: (s) => skips.push(s.reason) }).batches()) {
        // Workers time each event and report those without a time, as hunt's routing stage does.
        for (const ev of b) if (timeOrSkip(ev, '@timestamp', (s) => skips.push(s.reason))) events.push(ev);
      }
      return { events, skips };
    }),
  );
}

describe('openParallelInputs', () => {
  const ndjson = writeNdjson(dir, 'mixed.ndjson', [
    wlb('2024-05-01T10:00:00Z', 'process', { n: 1 }),
    wlb('2024-05-01T10:00:01Z', 'network', { n: 2 }),
    { message: 'no time' },
    wlb('2024-05-01T10:00:02Z', 'process', { n: 3 }),
  ]);
  writeFileSync(ndjson, '{broken\n', { flag: 'a' });
  const evtxA = syntheticEvtx('a', 0, 3, 50);
  const evtxB = syntheticEvtx('b', 1000, 1, 7);

  it('route "all": every event whole, in file order, with the skips of the main-thread reader', async () => {
    const files: InputFile[] = [
      { path: ndjson, kind: 'json' },
      { path: evtxA, kind: 'evtx' },
      { path: evtxB, kind: 'evtx' },
    ];
    const skips: string[] = [];
    // Tiny batches and one credit force a flow-control round trip every few events.
    const par = openParallelInputs(files, { threads: 2, route: { kind: 'all' }, batchEvents: 5, credits: 1, onSkip: (s) => skips.push(s.reason) });
    const got = await Promise.all(
      par.inputs.map(async (input) => {
        const out: EventDoc[] = [];
        for await (const b of input.batches()) out.push(...b);
        return out;
      }),
    );
    await par.close();
    const want = await readSerial(files);
    for (let i = 0; i < files.length; i++) {
      expect(got[i]!.map(shape)).toEqual(want[i]!.events.map(shape));
      expect(got[i]!.every((e) => e.routed!.length === 1 && e.routed![0] === 0)).toBe(true);
    }
    expect(got.map((g) => g.length)).toEqual([3, 150, 7]);
    expect(skips.sort()).toEqual(want.flatMap((w) => w.skips).sort());
    expect(par.inputs.map((i) => i.counts())).toEqual([
      { read: 4, skipped: 1 },
      { read: 150, skipped: 0 },
      { read: 7, skipped: 0 },
    ]);
  });

  it('route "none": stubs carrying time, id and position merge in the same order as whole events', async () => {
    const files: InputFile[] = [
      { path: evtxA, kind: 'evtx' },
      { path: evtxB, kind: 'evtx' },
      { path: ndjson, kind: 'json' },
    ];
    const par = openParallelInputs(files, { threads: 2, route: { kind: 'none' }, batchEvents: 16, credits: 2 });
    const merged: EventDoc[] = [];
    for await (const b of mergeOrdered(par.inputs).batches()) merged.push(...b);
    await par.close();
    const serial: EventDoc[] = [];
    for await (const b of mergeOrdered(files.map((f) => openInput(f))).batches()) serial.push(...b);
    expect(merged.map((e) => [e.id, e.position, e.time])).toEqual(serial.map((e) => [e.id, e.position, e.time]));
    expect(merged.length).toBe(160);
    expect(merged.every((e) => e.routed!.length === 0 && Object.keys(e.source).length === 0)).toBe(true);
  });

  it('ids: given, derived from the line (made on the main thread) and derived with a suffix arrive as the reader gives them', async () => {
    const t = (s: number) => `2024-05-01T10:00:0${s}Z`;
    const lines = [
      JSON.stringify(wlb(t(0), 'process', { n: 1 })),
      JSON.stringify({ _id: 'given-1', _index: 'x', _source: { '@timestamp': t(1) } }),
      JSON.stringify([wlb(t(2), 'process', { n: 2 }), wlb(t(3), 'process', { n: 3 })]),
      JSON.stringify({ _id: 42, _source: { '@timestamp': t(4) } }),
      JSON.stringify(wlb(t(5), 'network', { n: 4 })),
    ];
    const p = path.join(dir, 'ids.ndjson');
    writeFileSync(p, lines.join('\n') + '\n');
    const files: InputFile[] = [{ path: p, kind: 'json' }];
    const prefix = fileIdPrefix(p);
    const want = [`${prefix}:1`, 'given-1', `${prefix}:3`, `${prefix}:3.1`, '42', `${prefix}:5`];
    expect((await readSerial(files))[0]!.events.map((e) => [e.id, e.derivedId === true])).toEqual(want.map((id) => [id, id.startsWith(prefix)]));
    for (const route of [{ kind: 'all' }, { kind: 'none' }] as const) {
      // Batches of 4: the explicit ids fall in both batches.
      const par = openParallelInputs(files, { threads: 1, route, batchEvents: 4, credits: 1 });
      const got: EventDoc[] = [];
      for await (const b of par.inputs[0]!.batches()) got.push(...b);
      await par.close();
      expect(got.map((e) => [e.id, e.derivedId === true, e.position])).toEqual(want.map((id, i) => [id, id.startsWith(prefix), { file: p, line: [1, 2, 3, 3, 4, 5][i] }]));
    }
  });

  it('fails a file that cannot be opened without stopping the others', async () => {
    const par = openParallelInputs(
      [
        { path: path.join(dir, 'nope.evtx'), kind: 'evtx' },
        { path: evtxB, kind: 'evtx' },
      ],
      { threads: 2, route: { kind: 'all' } },
    );
    await expect(
      (async () => {
        for await (const _ of par.inputs[0]!.batches());
      })(),
    ).rejects.toThrow(/nope\.evtx/);
    let n = 0;
    for await (const b of par.inputs[1]!.batches()) n += b.length;
    expect(n).toBe(7);
    await par.close();
  });
});

describe('hunt with worker threads equals hunt on the main thread', () => {
  const rules = [
    ...loadRules([defaultRulesDir()]).rules,
    makeRule({ name: 'net', index: ['winlogbeat-*', 'logs-*'], query: 'network where destination.port == 443' }),
    makeRule({
      name: 'proc-excepted',
      index: ['winlogbeat-*', 'logs-*'],
      query: 'process where event.type == "start"',
      exceptions_list: [{ id: 'l', list_id: 'l', namespace_type: 'single', type: 'detection' }],
    }),
    makeRule({ name: 'any-seq', index: ['logs-*', 'winlogbeat-*'], query: 'sequence by host.id with maxspan=1m [any where true] ![network where true] [process where true]' }),
    makeRule({ name: 'sample', index: ['logs-*', 'winlogbeat-*'], query: 'sample by host.id [process where true] [network where true]' }),
  ];
  const exceptionLists = [
    {
      list_id: 'l',
      namespace_type: 'single' as const,
      type: 'detection',
      name: 'l',
      items: [{ item_id: 'i', list_id: 'l', namespace_type: 'single' as const, name: 'i', entries: [{ field: 'process.name', type: 'match' as const, operator: 'included' as const, value: 'chrome.exe' }] }],
    },
  ];

  async function both(inputs: string[], extra: Partial<HuntOptions> = {}) {
    const run = async (threads: number) => {
      const skipped: SkippedItem[] = [];
      const r = await hunt({ rules, exceptionLists, inputs, threads, now: Date.parse('2026-11-02T00:00:00Z'), onSkip: (s) => skipped.push(s), ...extra });
      return { r, skipped };
    };
    return { serial: await run(0), parallel: await run(2) };
  }

  it('generated telemetry over four files, with an out-of-order event, a timeless event and a broken line', async () => {
    const files = generatedFiles(4, 6000, 'p1');
    const messy = path.join(dir, 'messy.ndjson');
    writeFileSync(
      messy,
      [
        JSON.stringify(seedPair('2026-11-01T00:10:00Z', '2026-11-01T00:10:02Z', 'hx', 'eve')[0]),
        JSON.stringify(seedPair('2026-11-01T00:10:00Z', '2026-11-01T00:10:02Z', 'hx', 'eve')[1]),
        JSON.stringify({ message: 'no time' }),
        '{broken',
      ].join('\n') + '\n',
    );
    // After the last event of a file, far older than what the merge has emitted by then: late.
    writeFileSync(files[0]!, JSON.stringify(wlb('2026-10-01T00:00:00Z', 'process', { process: { name: 'x.exe' } })) + '\n', { flag: 'a' });
    const { serial, parallel } = await both([...files, messy], { reorderWindow: 4 });
    expect(parallel.r.alerts).toEqual(serial.r.alerts);
    expect(parallel.r.stats).toEqual(serial.r.stats);
    expect(parallel.skipped.map((s) => s.reason).sort()).toEqual(serial.skipped.map((s) => s.reason).sort());
    const s = serial.r.stats;
    // The late event is not skipped: the inputs are sorted instead (and the same either way).
    expect(s.events).toBe(6003);
    expect([...s.skipped.values()].reduce((n, x) => n + x.count, 0)).toBe(2);
    expect(s.sorted).toMatchObject({ events: 6003, runs: 0 });
    // 9 planted seed-rule sequences + the one in messy.ndjson, 3 alerts each (2 building blocks + shell).
    // The other rules' schedules (default: every 5m over now-6m) are replayed: each run keeps
    // its most recent 100 matches.
    expect(s.perRule.map((r) => [r.name, r.dispatched, r.excepted, r.alerts])).toEqual([
      // Dispatched: the events of a term's category that meet an anchor of each of the term's
      // requirements (dll.name/file.name, or process.parent.name and process.name; port 443).
      ['Windows Script Interpreter Executing Process via WMI', 84, 0, 30],
      ['net', 560, 0, 100],
      ['proc-excepted', 1619, 187, 102], // with the out-of-order x.exe start
      ['any-seq', 6003, 0, 309],
      ['sample', 4423, 0, 54],
    ]);
  }, 120_000);

  it('schedule replay (--from/--to) gives the same windows and alerts', async () => {
    const files = generatedFiles(3, 3000, 'p2');
    const { serial, parallel } = await both(files, { from: '2026-11-01T00:00:00Z', to: '2026-11-01T06:00:00Z' });
    expect(parallel.r.alerts).toEqual(serial.r.alerts);
    expect(parallel.r.stats).toEqual(serial.r.stats);
    expect(serial.r.stats.perRule.map((r) => [r.name, r.dispatched, r.excepted, r.alerts, r.runs])).toEqual([
      ['Windows Script Interpreter Executing Process via WMI', 72, 0, 27, 2],
      ['net', 252, 0, 100, 1],
      ['proc-excepted', 817, 124, 100, 1],
      ['any-seq', 3000, 0, 300, 1],
      ['sample', 2163, 0, 36, 1],
    ]);
    expect(serial.r.stats.duplicates).toBe(9);
  }, 120_000);

  it('a stray file that is not EVTX is reported and skipped; the other files are hunted', async () => {
    const junk = path.join(dir, 'stray.evtx');
    writeFileSync(junk, Buffer.alloc(8192, 0x41));
    const good = writeNdjson(dir, 'good.ndjson', seedPair('2024-05-01T10:00:00Z', '2024-05-01T10:00:02Z'));
    const { serial, parallel } = await both([junk, good]);
    expect(parallel.r.alerts).toEqual(serial.r.alerts);
    expect(serial.r.stats.perRule[0]!.alerts).toBe(3);
    for (const x of [serial, parallel]) {
      expect(x.skipped).toEqual([{ position: { file: junk, offset: 0 }, reason: 'not an EVTX file (no ElfFile or ElfChnk magic); file skipped' }]);
    }
  });

  const evtxDir = path.join(shared, 'corpus', 'evtx');
  const corpusRules = path.join(shared, 'corpus', 'elastic-rules', 'eql-rules.ndjson');
  it.skipIf(!existsSync(evtxDir) || !existsSync(corpusRules))('the EVTX corpus with every Elastic EQL rule', async () => {
    const loaded = loadRules([corpusRules]);
    const inputs = readdirSync(evtxDir).filter((f) => f.endsWith('.evtx')).map((f) => path.join(evtxDir, f));
    const run = (threads: number) => hunt({ rules: loaded.rules, exceptionLists: loaded.exceptionLists, inputs, threads, now: 0 });
    const serial = await run(0);
    const parallel = await run(2);
    expect(parallel.alerts).toEqual(serial.alerts);
    expect(parallel.stats).toEqual(serial.stats);
    expect(serial.alerts.length).toBeGreaterThan(0);
  }, 180_000);
});

/** A JSON document whose field `deep` nests `depth` objects (written as text: no recursion here). */
function deepLine(ts: string, depth: number, extra = ''): string {
  return `{"@timestamp":"${ts}","agent":{"type":"winlogbeat","version":"8.12.0"},"host":{"id":"h1","name":"host-1"},"event":{"category":["process"],"type":["start"]},"process":{"name":"deep.exe"}${extra},"deep":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
}

/** `n` process events one second apart from `start`, with the line numbers in `deepAt` nested `depth` deep. */
function fileWithDeepEvents(name: string, start: number, n: number, deepAt: number[], depth: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const ts = new Date(start + i * 1000).toISOString();
    lines.push(deepAt.includes(i + 1) ? deepLine(ts, depth) : JSON.stringify(wlb(ts, 'process', { process: { name: 'p.exe' }, n: i })));
  }
  const p = path.join(dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

describe('hostile data: worker threads lose nothing and equal the main thread', () => {
  // Forwards every process event whole (its first term) and never completes (no network
  // events): the deep documents cross the thread boundary but build no alert.
  const watch = makeRule({ name: 'watch-process', index: ['winlogbeat-*'], query: 'sequence by host.id [process where true] [network where true]' });
  const notDeep = makeRule({ name: 'not-deep', index: ['winlogbeat-*'], query: 'process where process.name != "deep.exe"', max_signals: 10_000 });

  /** Deep lines are read, or reported as too deep with their line — in both modes alike. */
  const tooDeep = (skipped: SkippedItem[]) => skipped.filter((x) => /nested/.test(x.reason)).map((x) => `${path.basename(x.position.file)}:${x.position.line}`);

  it('two files of 2,000 events, each with one event nested 3,000 deep: every event read or reported, either way (issue 16)', async () => {
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    const a = fileWithDeepEvents('deep-a.ndjson', t0, 2000, [1000], 3000);
    const b = fileWithDeepEvents('deep-b.ndjson', t0 + 500, 2000, [1500], 3000);
    const run = async (threads: number) => {
      const skipped: SkippedItem[] = [];
      const r = await hunt({ rules: [watch, notDeep], inputs: [a, b], threads, onSkip: (x) => skipped.push(x) });
      return { r, skipped };
    };
    const serial = await run(0);
    const parallel = await run(2);
    expect(parallel.r.alerts).toEqual(serial.r.alerts);
    expect(parallel.r.stats).toEqual(serial.r.stats);
    expect(parallel.skipped).toEqual(serial.skipped);
    // 3,000 levels is past the JSON nesting limit (1,000, Jackson's default, which Elasticsearch
    // enforces): both lines are reported with their place in both modes, never silently lost.
    expect(tooDeep(serial.skipped)).toEqual(['deep-a.ndjson:1000', 'deep-b.ndjson:1500']);
    expect(serial.skipped.map((x) => x.reason)).toEqual(['JSON nested deeper than 1000 levels', 'JSON nested deeper than 1000 levels']);
    expect(serial.r.stats.events).toBe(3998);
    expect(serial.r.stats.perRule.map((r) => [r.name, r.dispatched, r.alerts])).toEqual([
      ['watch-process', 3998, 0],
      ['not-deep', 3998, 3998],
    ]);
  }, 120_000);

  it('the same with the deepest events the reader accepts (1,000 levels): all 4,000 events, either way', async () => {
    // The main thread's deserialiser fails near 2,000 levels; past 256 whole events travel as
    // JSON text, so a batch holding a 1,000-deep event arrives whole.
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    const a = fileWithDeepEvents('deep1k-a.ndjson', t0, 2000, [1000], 999);
    const b = fileWithDeepEvents('deep1k-b.ndjson', t0 + 500, 2000, [1500], 999);
    const run = async (threads: number) => {
      const skipped: SkippedItem[] = [];
      const r = await hunt({ rules: [watch, notDeep], inputs: [a, b], threads, onSkip: (x) => skipped.push(x) });
      return { r, skipped };
    };
    const serial = await run(0);
    const parallel = await run(2);
    expect(serial.skipped).toEqual([]);
    expect(parallel.skipped).toEqual([]);
    expect(parallel.r.alerts).toEqual(serial.r.alerts);
    expect(parallel.r.stats).toEqual(serial.r.stats);
    expect(serial.r.stats.events).toBe(4000);
    expect(serial.r.stats.perRule.map((r) => [r.name, r.dispatched, r.alerts])).toEqual([
      ['watch-process', 4000, 0],
      ['not-deep', 4000, 3998],
    ]);
  }, 120_000);

  it('a batch that cannot be received (messageerror) is reported with its place, and reading goes on', async () => {
    // The worker is told to make its third batch undeserialisable here (a value nested 5,000
    // deep, as a document could be): the gap is reported, the other batches arrive, and the lost
    // credit is given back (one credit per file would otherwise stall the file).
    const f = fileWithDeepEvents('plain-60.ndjson', Date.parse('2025-01-01T00:00:00Z'), 60, [], 0);
    const skips: SkippedItem[] = [];
    const par = openParallelInputs([{ path: f, kind: 'json' }], { threads: 1, route: { kind: 'all' }, batchEvents: 10, credits: 1, unclonableBatch: 2, onSkip: (x) => skips.push(x) });
    const got: EventDoc[] = [];
    for await (const b of par.inputs[0]!.batches()) got.push(...b);
    await par.close();
    expect(got.map((e) => e.position!.line)).toEqual([...Array.from({ length: 20 }, (_, i) => i + 1), ...Array.from({ length: 30 }, (_, i) => i + 31)]);
    expect(skips).toEqual([
      {
        position: { file: f },
        reason: expect.stringMatching(/^10 event\(s\) after line 20 and before line 31 lost: 1 batch\(es\) from the input worker could not be received \(.+\)$/),
      },
    ]);
    expect(par.inputs[0]!.counts()).toEqual({ read: 60, skipped: 10 });
  }, 60_000);

  it('whole events nested deeper than the clone guard travel as JSON text and arrive intact', async () => {
    const f = fileWithDeepEvents('deep-600.ndjson', Date.parse('2025-01-01T00:00:00Z'), 30, [5, 17], 600);
    const par = openParallelInputs([{ path: f, kind: 'json' }], { threads: 1, route: { kind: 'all' }, batchEvents: 8 });
    const got: EventDoc[] = [];
    for await (const b of par.inputs[0]!.batches()) got.push(...b);
    await par.close();
    const serial = (await readSerial([{ path: f, kind: 'json' }]))[0]!;
    expect(got.map(shape)).toEqual(serial.events.map(shape));
    expect(got.length).toBe(30);
  }, 60_000);

  it('hostile lines (prototype keys, deep nesting, broken JSON, no time, late events) give equal hunts', async () => {
    const t0 = Date.parse('2025-02-01T00:00:00Z');
    const seq = makeRule({ name: 'seq', index: ['winlogbeat-*', 'logs-*'], query: 'sequence by host.id with maxspan=1m [process where process.name == "p.exe"] [process where n == 3]' });
    const keyed = makeRule({ name: 'keyed', index: ['winlogbeat-*', 'logs-*'], query: 'any where (constructor == "c" or __proto__.x == 1) and process.name != "deep.exe"' });
    const files: string[] = [];
    for (let k = 0; k < 3; k++) {
      const lines: string[] = [];
      for (let i = 0; i < 400; i++) {
        const ts = new Date(t0 + i * 1000 + k * 333).toISOString();
        const m = i % 50;
        if (m === 7) lines.push(`{"@timestamp":"${ts}","winlog.event_id":1,"winlog.channel":"x","__proto__._source":"x","__proto__.polluted":"y"}`);
        else if (m === 11) lines.push(deepLine(ts, 2500 + k * 100, ',"constructor":"c"'));
        else if (m === 13) lines.push('{"@timestamp":"' + ts + '","__proto__":{"x":1},"agent":{"type":"winlogbeat","version":"8.12.0"},"event":{"category":["process"]}}');
        else if (m === 17) lines.push('{broken');
        else if (m === 19) lines.push('{"no":"time","constructor":"c"}');
        else lines.push(JSON.stringify(wlb(ts, 'process', { process: { name: 'p.exe' }, n: i, k })));
      }
      // Older than anything the merge has passed on by then: late, so the inputs are read again
      // sorted (events/ordered.ts) and the event is hunted, not skipped.
      lines.push(JSON.stringify(wlb('2025-01-01T00:00:00Z', 'process', { process: { name: 'p.exe' } })));
      const p = path.join(dir, `hostile-${k}.ndjson`);
      writeFileSync(p, lines.join('\n') + '\n');
      files.push(p);
    }
    const run = async (threads: number) => {
      const skipped: SkippedItem[] = [];
      const r = await hunt({ rules: [watch, notDeep, seq, keyed], inputs: files, threads, reorderWindow: 8, onSkip: (x) => skipped.push(x) });
      return { r, skipped };
    };
    const serial = await run(0);
    const parallel = await run(2);
    expect(parallel.r.alerts).toEqual(serial.r.alerts);
    expect(parallel.r.stats).toEqual(serial.r.stats);
    expect(parallel.skipped.map((x) => x.reason).sort()).toEqual(serial.skipped.map((x) => x.reason).sort());
    const deep = tooDeep(serial.skipped).length;
    expect(deep).toBe(24); // 2,500–2,700 levels: past the 1,000-level limit, reported in both modes
    expect(serial.r.stats.events).toBe(3 * (400 - 16) + 3 - deep);
    expect(serial.r.stats.sorted?.events).toBe(3 * (400 - 16) + 3 - deep);
    expect(serial.r.stats.perRule.map((r) => [r.name, r.alerts])).toEqual([
      ['watch-process', 0],
      // Not the deep lines, nor the __proto__ ones (no process.name: != is false on a missing field).
      // The three late lines are the same event at the same line of each file: one document (ids
      // come from content and position, not from the path), so one alert.
      ['not-deep', 3 * (400 - 16 - 8 - 8) + 1],
      ['seq', 3 * 3],
      ['keyed', 3 * 8],
    ]);
  }, 120_000);
});

describe('eqlite query --threads', () => {
  const files = generatedFiles(3, 1500, 'p3');
  // Asynchronously: a blocking spawn keeps the test worker from answering vitest on a loaded machine.
  const cli = async (args: string[]) => {
    const r = await runCli(['query', ...args]);
    if (r.code !== 0) throw new Error(`eqlite query exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  it('prints the same results as the main-thread read', async () => {
    for (const q of ['sequence by host.id with maxspan=5s [library where dll.name == "wmiutils.dll"] [process where true]', 'network where destination.port == 443 | tail 5']) {
      const [serial, parallel] = await Promise.all([cli([q, ...files, '--threads', '0']), cli([q, ...files, '--threads', '2'])]);
      expect(parallel).toBe(serial);
      expect(serial.split('\n').filter(Boolean).length).toBeGreaterThan(4);
    }
  }, 120_000);

  it('stops early with head and exits', async () => {
    const out = await cli(['process where true | head 3', ...files, '--threads', '2']);
    expect(out.split('\n').filter(Boolean).length).toBe(3);
  }, 120_000);
});

describe('openParallelInputs: timestamp_override values (EventDoc.fieldValues)', () => {
  it('gives every event its override values, with one shared object for the events that hold none', async () => {
    const f = writeNdjson(dir, 'override.ndjson', [
      wlb('2024-05-01T10:00:00Z', 'process', { n: 1 }),
      wlb('2024-05-01T10:00:01Z', 'process', { n: 2, event: { category: ['process'], type: ['start'], kind: 'event', ingested: '2024-05-01T10:05:00Z' } }),
      wlb('2024-05-01T10:00:02Z', 'process', { n: 3 }),
      wlb('2024-05-01T10:00:03Z', 'process', { n: 4, event: { category: ['process'], type: ['start'], kind: 'event', ingested: null } }),
    ]);
    const rules = [
      makeRule({ name: 'ingested', query: 'process where true', index: ['winlogbeat-*'], timestamp_override: 'event.ingested' }),
      makeRule({ name: 'plain', query: 'process where true', index: ['winlogbeat-*'] }),
    ];
    const par = openParallelInputs([{ path: f, kind: 'json' }], {
      threads: 1,
      route: { kind: 'hunt', rules, prepare: { timestampField: '@timestamp', exceptionLists: [], now: Date.parse('2024-05-02T00:00:00Z'), replay: true } },
      batchEvents: 2,
    });
    const events: EventDoc[] = [];
    try {
      for await (const b of par.inputs[0]!.batches()) events.push(...b);
    } finally {
      await par.close();
    }
    expect(events.map((e) => (e.source as { n: number }).n)).toEqual([1, 2, 3, 4]);
    const values = events.map((e) => e.fieldValues!);
    expect(values.map((v) => Object.entries(v))).toEqual([
      [['event.ingested', undefined]],
      [['event.ingested', '2024-05-01T10:05:00Z']],
      [['event.ingested', undefined]],
      [['event.ingested', null]],
    ]);
    // Absent, the field was still read on the worker: the key is there (the engine then does not
    // read the document), and events 1 and 3 (in two batches) share one frozen object.
    expect(Object.hasOwn(values[0]!, 'event.ingested')).toBe(true);
    expect(values[2]).toBe(values[0]);
    expect(Object.isFrozen(values[0])).toBe(true);
    expect(values[1]).not.toBe(values[0]);
  });
});
