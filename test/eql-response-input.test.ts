// Saved EQL search responses (`GET <index>/_eql/search`) as input: an event query's
// `hits.events`, a sequence query's `hits.sequences[].events`, each hit's `_source` an event with
// its `_index` and `_id` — read by the library reader (plain, gzip, stdin), by `eqlite hunt`, and
// round-tripped from eqlite serve's own `_eql/search` answers. Missing-event placeholders are no
// document (neither read nor skipped), a document listed in several sequences is read once, a hit
// without `_source` is skipped with its reason.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents, type ReadOptions } from '../src/events/sources.js';
import { eqlHitStarts, fieldNumberText } from '../src/events/number-time.js';
import type { EventDoc, SkippedItem } from '../src/events/types.js';
import { runCli, type CliResult } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';
import { ndjson, req, startService, type TestService } from './serve-helpers.js';

const BACKING = '.ds-logs-endpoint.events.process-default-2024.05.01-000001';
const RULE = '6f1d2c3b-0000-4000-8000-0000000000e1';

const proc = (id: string, ts: string, name: string, host = 'h1') => ({
  _index: BACKING,
  _id: id,
  _source: {
    '@timestamp': ts,
    event: { category: ['process'], type: ['start'], kind: 'event' },
    host: { name: host },
    process: { name },
  },
});
/** A missing event of a sequence as Elasticsearch 8.10+ writes it (EqlSearchResponse.Event.MISSING_EVENT). */
const MISSING = { _index: '', _id: '', _source: {}, missing: true };
/** The same placeholder as 8.9 wrote it, before the `missing` member. */
const MISSING_89 = { _index: '', _id: '', _source: {} };
const head = { is_partial: false, is_running: false, took: 4, timed_out: false };

/** An event query's response: two events and one hit whose `_source` was filtered out. */
const eventResponse = {
  ...head,
  hits: {
    total: { value: 3, relation: 'eq' },
    events: [proc('e1', '2024-05-01T10:00:00Z', 'a.exe'), { _index: BACKING, _id: 'e-nosrc', fields: { 'process.name': ['x.exe'] } }, proc('e2', '2024-05-01T10:00:05Z', 'b.exe')],
  },
};

/**
 * A sequence query's response: `b` ends the first sequence and starts the second, a missing event
 * in each of the last two (both forms), and a bad hit.
 */
const sequenceResponse = {
  ...head,
  hits: {
    total: { value: 3, relation: 'eq' },
    sequences: [
      { join_keys: ['h1'], events: [proc('a', '2024-05-01T10:00:00Z', 'a.exe'), proc('b', '2024-05-01T10:00:10Z', 'b.exe')] },
      { join_keys: ['h1'], events: [proc('b', '2024-05-01T10:00:10Z', 'b.exe'), MISSING, proc('c', '2024-05-01T10:00:20Z', 'c.exe')] },
      { join_keys: ['h2'], events: [MISSING_89, proc('d', '2024-05-01T10:00:30Z', 'd.exe', 'h2'), { _index: BACKING, _id: 'd-src', _source: 'oops' }] },
    ],
  },
};

let dir: string;
beforeAll(() => {
  dir = tempDir('eqlite-eqlresp-');
});

function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function readAll(input: string, opts: ReadOptions = {}) {
  const skipped: SkippedItem[] = [];
  const r = readEvents(input, { ...opts, onSkip: (s) => skipped.push(s) });
  const events: EventDoc[] = [];
  for await (const b of r.batches()) events.push(...b);
  const { read, skipped: nSkipped, missing, repeated } = r.counts;
  return { events, skipped, counts: { read, skipped: nSkipped, missing, repeated }, hits: events.map((e) => [e.index, e.id, e.source]) };
}

const hitOf = (h: { _index: string; _id: string; _source: unknown }) => [h._index, h._id, h._source];

describe('the library reader', () => {
  it('reads an event query’s response (pretty-printed): each event with its _index and _id, a hit without _source skipped', async () => {
    const p = file('events.json', JSON.stringify(eventResponse, null, 2));
    const r = await readAll(p);
    expect(r.hits).toEqual([hitOf(proc('e1', '2024-05-01T10:00:00Z', 'a.exe')), hitOf(proc('e2', '2024-05-01T10:00:05Z', 'b.exe'))]);
    expect(r.events.map((e) => [e.derivedId, e.position])).toEqual([
      [false, { file: p, line: 1 }],
      [false, { file: p, line: 1 }],
    ]);
    expect(r.skipped).toEqual([{ position: { file: p, line: 1 }, reason: 'EQL search response event without a _source object (was _source disabled?): hits.events[1]' }]);
    expect(r.counts).toEqual({ read: 2, skipped: 1, missing: 0, repeated: 0 });
  });

  it('reads a sequence query’s response: a document listed twice read once, missing events passed over, a bad hit skipped', async () => {
    const expected = [
      hitOf(proc('a', '2024-05-01T10:00:00Z', 'a.exe')),
      hitOf(proc('b', '2024-05-01T10:00:10Z', 'b.exe')),
      hitOf(proc('c', '2024-05-01T10:00:20Z', 'c.exe')),
      hitOf(proc('d', '2024-05-01T10:00:30Z', 'd.exe', 'h2')),
    ];
    const text = JSON.stringify(sequenceResponse);
    const plain = file('sequences.json', text);
    const gz = file('sequences.json.gz', gzipSync(Buffer.from(JSON.stringify(sequenceResponse, null, 1))));
    for (const input of [plain, gz]) {
      const r = await readAll(input);
      expect(r.hits).toEqual(expected);
      expect(r.skipped).toEqual([{ position: { file: input, line: 1 }, reason: 'EQL search response event without a _source object (was _source disabled?): hits.sequences[2].events[2]' }]);
      expect(r.counts).toEqual({ read: 4, skipped: 1, missing: 2, repeated: 1 });
    }
    // stdin, as NDJSON: two responses, one per line; the same document in two responses is two
    // events (as two `_search` responses' hits are), the positions their lines.
    const two = await readAll('-', { stdin: Readable.from([text + '\n' + JSON.stringify(eventResponse) + '\n']) });
    expect(two.hits).toEqual([...expected, hitOf(proc('e1', '2024-05-01T10:00:00Z', 'a.exe')), hitOf(proc('e2', '2024-05-01T10:00:05Z', 'b.exe'))]);
    expect(two.events.map((e) => e.position)).toEqual([1, 1, 1, 1, 2, 2].map((line) => ({ file: '<stdin>', line })));
    expect(two.skipped.map((s) => [s.position.line, s.reason])).toEqual([
      [1, 'EQL search response event without a _source object (was _source disabled?): hits.sequences[2].events[2]'],
      [2, 'EQL search response event without a _source object (was _source disabled?): hits.events[1]'],
    ]);
    expect(two.counts).toEqual({ read: 6, skipped: 2, missing: 2, repeated: 1 });
  });

  it('reads each hit’s numbers from its own text, in events and in every sequence', async () => {
    const text =
      '{"is_partial":false,"hits":{"total":{"value":2,"relation":"eq"},"sequences":[' +
      '{"join_keys":[],"events":[{"_index":"i","_id":"s0","_source":{"@timestamp":2024.0,"n":[1,{"x":"]"}]}},{"_index":"","_id":"","_source":{},"missing":true}]},' +
      '{"join_keys":[],"events":[{"_index":"","_id":"","_source":{},"missing":true},{"_index":"i","_id":"s1","_source":{"@timestamp":1714557600000.5,"event":{"ingested":1714557601000.25}}},{"_index":"i","_id":"s2","_source":{"@timestamp":1.7e12}}]}' +
      '],"events":[{"_index":"i","_id":"e0","_source":{"@timestamp":17E11}},{"_index":"i","_id":"e1","_source":{"@timestamp":5}}]}}';
    const starts = eqlHitStarts(text)!;
    expect(starts.map((g) => g.map((p) => text.slice(p, p + 24)))).toEqual([
      ['{"_index":"i","_id":"e0"', '{"_index":"i","_id":"e1"'],
      ['{"_index":"i","_id":"s0"', '{"_index":"","_id":"","_'],
      ['{"_index":"","_id":"","_', '{"_index":"i","_id":"s1"', '{"_index":"i","_id":"s2"'],
    ]);
    expect(fieldNumberText(text, '_source.@timestamp', starts[1]![0])).toBe('2024.0');
    expect(eqlHitStarts('{"hits":{"events":{},"sequences":[1,{"events":7}]}}')).toEqual([[], [], []]);
    expect(eqlHitStarts('{"hits":[]}')).toBeNull();

    const r = await readAll(file('numbers.json', text), { numberTimeFields: ['event.ingested'] });
    expect(r.events.map((e) => [e.id, e.time, e.numberTexts])).toEqual([
      ['e1', { ms: 5, ns: 0 }, undefined],
      ['s0', { ms: 2024, ns: 0 }, undefined],
      ['s1', { ms: 1714557600000, ns: 500_000 }, { 'event.ingested': '1714557601000.25' }],
    ]);
    const why = (raw: string) => `unparseable @timestamp ${raw} (Elasticsearch reads a number as its text: epoch milliseconds take no exponent and at most six decimals); skipped`;
    expect(r.skipped.map((s) => s.reason)).toEqual([why('17E11'), why('1.7e12')]);
    expect(r.counts).toEqual({ read: 3, skipped: 2, missing: 2, repeated: 0 });
  });

  it('an event whose hits field does not look like a response stays an event; a sequence whose events are no list is skipped', async () => {
    const p = file(
      'not-responses.ndjson',
      ndjson([{ hits: { events: [1, 2] } }, { hits: { sequences: [{ name: 'x' }] } }, { ...head, hits: { sequences: [{ join_keys: ['k'], events: { _id: 'x' } }, {}, { join_keys: ['k2'], events: [proc('z', '2024-05-01T10:00:00Z', 'z.exe')] }] } }]),
    );
    const r = await readAll(p);
    expect(r.events.map((e) => [e.id.includes(':') ? 'derived' : e.id, e.source])).toEqual([
      ['derived', { hits: { events: [1, 2] } }],
      ['derived', { hits: { sequences: [{ name: 'x' }] } }],
      ['z', proc('z', '2024-05-01T10:00:00Z', 'z.exe')._source],
    ]);
    expect(r.skipped).toEqual([{ position: { file: p, line: 3 }, reason: 'EQL search response sequence whose events are not an array: hits.sequences[0]' }]);
  });
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Kibana's generateId for an alert on one EQL hit (no _version), default space. */
const kibanaId = (index: string, id: string) => sha256(index + id + 'undefined' + 'default:' + RULE);

describe('eqlite hunt', () => {
  const rules = [
    {
      id: RULE,
      rule_id: 'any-process',
      type: 'eql',
      language: 'eql',
      name: 'Any process',
      severity: 'low',
      risk_score: 21,
      interval: '5m',
      from: 'now-6m',
      to: 'now',
      description: 'every process event',
      index: ['logs-endpoint.events.process-*'],
      query: 'process where true',
    },
  ];
  const alertIds = (r: CliResult) =>
    r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const a = JSON.parse(l) as Record<string, unknown>;
        return [(a['kibana.alert.ancestors'] as { id: string }[])[0]!.id, a['kibana.alert.uuid']];
      })
      .sort();

  it('alerts once per document of a sequence response (file, gzip, stdin), routed by its backing index, the bad hit reported', async () => {
    const rulesFile = file('rules.json', JSON.stringify(rules));
    const text = JSON.stringify(sequenceResponse, null, 2);
    const plain = file('hunt-seq.json', text);
    const gz = file('hunt-seq.json.gz', gzipSync(Buffer.from(text)));
    const args = ['hunt', '--no-progress', '--rules', rulesFile, '--format', 'ndjson'];
    const runs = await Promise.all([runCli([...args, plain]), runCli([...args, gz]), runCli([...args, '-'], { input: text })]);
    const want = ['a', 'b', 'c', 'd'].map((id) => [id, kibanaId(BACKING, id)]);
    for (const [r, name] of [
      [runs[0]!, plain],
      [runs[1]!, gz],
      [runs[2]!, '<stdin>'],
    ] as const) {
      expect(r.code).toBe(0);
      expect(alertIds(r)).toEqual(want);
      expect(r.stderr).toMatch(/^hunt: 4 events from 1 input\(s\)/m);
      expect(r.stderr).toContain(`${name}:1: EQL search response event without a _source object (was _source disabled?): hits.sequences[2].events[2]`);
    }
  }, 120_000);
});

describe('eqlite serve’s own _eql/search answers read back', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService();
    const docs: unknown[] = [];
    for (const [i, name] of ['a.exe', 'b.exe', 'c.exe'].entries()) {
      docs.push({ create: { _index: 'logs-endpoint.events.process-default' } });
      docs.push({ '@timestamp': `2024-05-01T10:00:0${i}Z`, event: { category: ['process'], type: ['start'] }, host: { name: 'h1' }, process: { name, pid: 100 + i } });
    }
    const bulk = await req(`${t.url}/_bulk?refresh=true`, 'POST', ndjson(docs), { 'content-type': 'application/x-ndjson' });
    expect(bulk.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await t.close();
  });

  it('event and sequence responses (a missing event, a document in two sequences) give their documents once each', async () => {
    const search = async (query: string) => {
      const r = await req(`${t.url}/logs-endpoint.events.*/_eql/search`, 'POST', { query, size: 10 });
      expect([r.status, r.status === 200 ? '' : r.text]).toEqual([200, '']);
      return r;
    };
    const events = await search('process where true');
    const sequences = await search('sequence by host.name with maxspan=1h [process where true] [process where true] ![process where process.name == "zzz.exe"]');
    type Hit = { _index: string; _id: string; _source?: unknown; missing?: boolean };
    const evHits = events.json.hits.events as Hit[];
    const seqs = sequences.json.hits.sequences as { events: Hit[] }[];
    expect(evHits.map((h) => (h._source as { process: { name: string } }).process.name)).toEqual(['a.exe', 'b.exe', 'c.exe']);
    // (a, b) and (b, c), each with its missing third event.
    expect(seqs.map((s) => s.events.map((h) => (h.missing ? 'missing' : (h._source as { process: { name: string } }).process.name)))).toEqual([
      ['a.exe', 'b.exe', 'missing'],
      ['b.exe', 'c.exe', 'missing'],
    ]);
    // Missing events as Elasticsearch writes them.
    expect(seqs.map((s) => s.events[2])).toEqual([MISSING, MISSING]);
    const evFile = file('serve-events.json', events.text);
    const seqFile = file('serve-sequences.json', sequences.text);
    const ev = await readAll(evFile);
    expect(ev.hits).toEqual(evHits.map((h) => [h._index, h._id, h._source]));
    expect(ev.skipped).toEqual([]);
    expect(ev.hits[0]![0]).toMatch(/^\.ds-logs-endpoint\.events\.process-default-\d{4}\.\d{2}\.\d{2}-000001$/);
    const seq = await readAll(seqFile);
    expect(seq.hits).toEqual(ev.hits);
    expect(seq.skipped).toEqual([]);
    expect(seq.counts).toEqual({ read: 3, skipped: 0, missing: 2, repeated: 1 });
  }, 60_000);
});
