// Constructed hostile inputs (issue 14): EVTX expansion bombs, JSON nested or long beyond the
// caps, a gzip decompression bomb, hostile patterns, queries, rules and terminal escapes. Each
// case is a CLI invocation with what it must print; the good data placed around the bad must
// still be read. The files are generated here, never committed.
//
//   npx tsx scripts/hostile.ts DIR [--heavy]   writes the cases into DIR and lists them
//
// test/hostile.test.ts runs the light cases in `npm test`; test/hostile.heavy.ts runs all of
// them (`npm run test:hostile`, called by .ci/run), each CLI run in a child process with a
// time and a memory bound.

import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v, type ElSpec, type ValueSpec } from '../test/evtx-build.js';

export interface HostileCase {
  name: string;
  /** What the input is, as in the issue's table. */
  what: string;
  /** Arguments after `eqlite`. */
  args: string[];
  exit: number;
  /** Number of lines the command must print on stdout (the good data around the bad). */
  stdoutLines?: number;
  /** Patterns stderr must match. */
  stderr?: RegExp[];
  /** Patterns stdout must match. */
  stdout?: RegExp[];
  /** Characters stdout and stderr must not contain (raw terminal controls). */
  forbidden?: RegExp;
  /** Large inputs (hundreds of MB, gigabytes decompressed): only in `npm run test:hostile`. */
  heavy: boolean;
}

const FRAGMENT = Buffer.from([0x0f, 0x01, 0x01, 0x00]);
const FILETIME0 = 133500000000000000n; // 2024-01-20

/** The System element of the synthetic event template (substitutions 0–7). */
const SYSTEM: ElSpec = EVENT_TEMPLATE.children![0] as ElSpec;

function systemValues(id: number, host: string): ValueSpec[] {
  const ft = FILETIME0 + BigInt(id) * 10_000_000n;
  return [v.str('Hostile-Test'), v.null(), v.u16(1), v.u64(ft, 0x11), v.u64(BigInt(id)), v.null(), v.str('Application'), v.str(host)];
}

/** An Event template: System plus an EventData element built by `data`. */
function eventTemplate(data: ElSpec | { sub: number; opt?: boolean }): ElSpec {
  return { name: 'Event', attrs: EVENT_TEMPLATE.attrs, children: [SYSTEM, data] };
}

function record(w: ChunkWriter, id: number, key: string, tpl: ElSpec, values: ValueSpec[]): void {
  w.record(id, FILETIME0 + BigInt(id) * 10_000_000n, (w) => {
    w.bytes(FRAGMENT);
    w.templateInstance(key, tpl, values);
    w.u8(0x00);
  });
}

/** A chunk of `n` ordinary records (Computer "good"). */
function goodChunk(firstId: number, n: number): Buffer {
  const w = new ChunkWriter();
  const tpl = eventTemplate({ name: 'EventData', children: [{ name: 'Data', attrs: [['Name', ['Message']]], children: [{ sub: 8 }] }] });
  for (let i = 0; i < n; i++) record(w, firstId + i, 'good', tpl, [...systemValues(firstId + i, 'good'), v.str(`ordinary record ${firstId + i}`)]);
  return w.finish();
}

/** Good chunk, hostile chunks, good chunk: 20 good records around the bad ones. */
function evtxFile(file: string, hostile: Buffer[], firstHostileId = 1000): void {
  void firstHostileId;
  writeFileSync(file, buildFile([goodChunk(1, 10), ...hostile, goodChunk(1_000_001, 10)]));
}

/** Two arrays of `n` items substituted into nested elements: n × n elements if unbounded. */
function arrayBlowup(n: number): Buffer {
  const w = new ChunkWriter();
  const tpl = eventTemplate({ name: 'EventData', children: [{ name: 'Data', children: [{ sub: 8 }, { name: 'Inner', children: [{ sub: 9 }] }] }] });
  record(w, 1000, 'arrays', tpl, [...systemValues(1000, 'bad'), v.raw(0x84, Buffer.alloc(n, 7)), v.raw(0x84, Buffer.alloc(n, 9))]);
  return w.finish();
}

/**
 * "Billion laughs": a BinXml value holding a template instance whose template uses its value
 * twice, that value being the same construction one level down.
 */
function laughs(levels: number, leaf: ValueSpec): Buffer {
  const w = new ChunkWriter();
  const laugh: ElSpec = { name: 'L', children: [{ sub: 0 }, { sub: 0 }] };
  const level = (k: number): ValueSpec =>
    k === 0
      ? leaf
      : v.nested((w) => {
          w.bytes(FRAGMENT);
          w.templateInstance('laugh', laugh, [level(k - 1)]);
          w.u8(0x00);
        });
  record(w, 1000, 'laughs', eventTemplate({ sub: 8, opt: true }), [...systemValues(1000, 'bad'), level(levels)]);
  return w.finish();
}

/** Tiny records expanding a template whose Data element repeats one value `times` times. */
function repeatedValueChunk(firstId: number, times: number): Buffer {
  const w = new ChunkWriter();
  const tpl = eventTemplate({ name: 'EventData', children: [{ name: 'Data', children: Array.from({ length: times }, () => ({ sub: 8 })) }] });
  for (let id = firstId; w.pos < 0x10000 - 400; id++) record(w, id, 'repeat', tpl, [...systemValues(id, 'bad'), v.str('0123456789')]);
  return w.finish();
}

/** Many attributes each flattening the same large BinXml value. */
function attributeWalk(attrs: number): Buffer {
  const w = new ChunkWriter();
  const big: ValueSpec = v.nested((w) => {
    w.bytes(FRAGMENT);
    w.templateInstance('fan', { name: 'F', children: [{ sub: 0 }] }, [v.raw(0x84, Buffer.alloc(20_000, 1))]);
    w.u8(0x00);
  });
  const tpl = eventTemplate({ name: 'EventData', attrs: Array.from({ length: attrs }, (): [string, { sub: number }[]] => ['A', [{ sub: 8 }]]) });
  record(w, 1000, 'walk', tpl, [...systemValues(1000, 'bad'), big]);
  return w.finish();
}

/** Elements nested deeper than any event. */
function deepElements(depth: number): Buffer {
  const w = new ChunkWriter();
  let el: ElSpec = { name: 'Leaf', children: [{ sub: 8 }] };
  for (let i = 0; i < depth; i++) el = { name: 'N', children: [el] };
  record(w, 1000, 'deep', eventTemplate({ name: 'EventData', children: [el] }), [...systemValues(1000, 'bad'), v.str('x')]);
  return w.finish();
}

const GOOD = (i: number) =>
  JSON.stringify({ '@timestamp': `2024-01-20T00:00:${String(i).padStart(2, '0')}Z`, event: { category: 'process' }, host: { name: 'good' }, process: { name: `p${i}.exe` } });

async function writeStream(file: string, parts: (write: (s: string | Buffer) => Promise<void>) => Promise<void>): Promise<void> {
  const out = createWriteStream(file);
  const write = (s: string | Buffer) => new Promise<void>((resolve, reject) => (out.write(s, (e) => (e ? reject(e) : resolve()))));
  await parts(write);
  await new Promise<void>((resolve) => out.end(resolve));
}

const RULE = (id: string, fields: Record<string, unknown>) =>
  JSON.stringify({ rule_id: id, name: id, description: id, risk_score: 21, severity: 'low', type: 'eql', language: 'eql', index: ['logs-*'], ...fields });

/** Writes every case's files into `dir`; returns the cases (heavy ones only when asked). */
export async function writeHostileCases(dir: string, opts: { heavy?: boolean } = {}): Promise<HostileCase[]> {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const cases: HostileCase[] = [];
  const goodEvtx = ['query', 'any where host.name == "good"', '--threads', '0'];
  // hunt with a rule alerting on every good record: the 20 good records around the bad give 20 alerts.
  writeFileSync(f('rules-good-host.ndjson'), RULE('good-host', { index: ['logs-*', 'winlogbeat-*'], query: 'any where host.name == "good"' }) + '\n');
  const evtxCase = (name: string, what: string, chunks: Buffer[], stderr: RegExp[], heavy = false) => {
    evtxFile(f(`${name}.evtx`), chunks);
    cases.push({ name, what, args: [...goodEvtx, f(`${name}.evtx`)], exit: 0, stdoutLines: 20, stderr, heavy });
    cases.push({
      name: `${name}-hunt`,
      what: `${what}, through hunt`,
      args: ['hunt', '--format', 'ndjson', '--no-progress', '-r', f('rules-good-host.ndjson'), f(`${name}.evtx`)],
      exit: 0,
      stdoutLines: 20,
      stderr: [...stderr, /^alerts: 20$/m],
      heavy,
    });
  };

  // ---- EVTX ----------------------------------------------------------------------------------
  evtxCase('evtx-arrays-6000', 'EVTX template substituting two 6,000-item arrays into nested elements', [arrayBlowup(6000)], [
    /chunk 1 record 1000 offset \d+: record skipped: record expands to more than 65536 XML nodes \(limit\)/,
  ]);
  evtxCase('evtx-arrays-25000', 'the same with 25,000 items', [arrayBlowup(25_000)], [/chunk 1 record 1000 offset \d+: record skipped: record expands to more than 65536 XML nodes/]);
  evtxCase('evtx-laughs', 'EVTX "billion laughs": a BinXml value holding the same template, nested 40 levels, fan-out 2', [laughs(40, v.str('ha'))], [
    /chunk 1 record 1000 offset \d+: record skipped: record expands to more than/,
  ]);
  evtxCase('evtx-laughs-null', 'the same with null leaves', [laughs(40, v.null())], [/chunk 1 record 1000 offset \d+: record skipped: record expands to more than 65536 XML nodes/]);
  evtxCase(
    'evtx-repeat-template',
    '16 chunks of tiny records, each expanding a template that repeats a value 3,000 times',
    Array.from({ length: 16 }, (_, i) => repeatedValueChunk(10_000 + i * 1000, 3000)),
    [/the chunk's records expand to more than 131072 XML nodes \(limit\); the chunk's \d+ later record\(s\)/],
  );
  evtxCase('evtx-attribute-walk', '2,000 attributes each flattening one 20,000-node BinXml value', [attributeWalk(2000)], [/chunk 1 record 1000 offset \d+: record skipped: record expands to more than 65536 XML nodes/]);
  evtxCase('evtx-deep-elements', 'elements nested 200 deep', [deepElements(200)], [/chunk 1 record 1000 offset \d+: record skipped: elements nested deeper than 64/]);

  // ---- JSON ----------------------------------------------------------------------------------
  const D = 100_000;
  writeFileSync(
    f('json-deep.ndjson'),
    [GOOD(1), `{"a":${'{"a":'.repeat(D)}1${'}'.repeat(D)}}`, GOOD(2), `${'['.repeat(D)}${']'.repeat(D)}`, GOOD(3), `[${GOOD(4)},${'{"b":'.repeat(D)}2${'}'.repeat(D)},${GOOD(5)}]`, GOOD(6)].join('\n') + '\n',
  );
  const deepArgs = (threads: string) => ['query', 'any where true', '--threads', threads, f('json-deep.ndjson')];
  const deepStderr = [/json-deep\.ndjson:2: JSON nested deeper than 1000 levels/, /json-deep\.ndjson:4: JSON nested deeper than 1000 levels/, /json-deep\.ndjson:6: JSON nested deeper than 1000 levels/];
  cases.push({ name: 'json-deep', what: 'JSON lines nested 100,000 levels (object, array, array element)', args: deepArgs('0'), exit: 0, stdoutLines: 6, stderr: deepStderr, heavy: false });
  writeFileSync(f('json-deep-copy.ndjson'), GOOD(7) + '\n');
  cases.push({
    name: 'json-deep-workers',
    what: 'the same read on worker threads (two files)',
    args: ['query', 'any where true', '--threads', '2', f('json-deep.ndjson'), f('json-deep-copy.ndjson')],
    exit: 0,
    stdoutLines: 7,
    stderr: deepStderr,
    heavy: false,
  });
  cases.push({
    name: 'json-deep-hunt',
    what: 'the same through hunt with the bundled rule',
    args: ['hunt', '--format', 'none', '--no-progress', '--index', 'logs-x', f('json-deep.ndjson')],
    exit: 0,
    stderr: [/hunt: 6 events from 1 input/, /JSON nested deeper than 1000 levels/],
    heavy: false,
  });
  {
    // Events nested just under the cap go all the way: routing, sequences, alerts (Kibana's
    // source cleaning walks every path), the SQLite store and NDJSON output, on worker threads.
    const deepEvent = (i: number) =>
      `{"@timestamp":"2024-01-20T00:00:0${i}Z","data_stream":{"type":"logs","dataset":"x","namespace":"default"},"event":{"category":"process"},"host":{"id":"h"},"deep":${'{"a":'.repeat(998)}1${'}'.repeat(998)},"arr":${'['.repeat(998)}${']'.repeat(998)}}`;
    writeFileSync(f('json-deep-999-a.ndjson'), [deepEvent(1), deepEvent(2)].join('\n') + '\n');
    writeFileSync(f('json-deep-999-b.ndjson'), deepEvent(3) + '\n');
    writeFileSync(f('rules-sequence.ndjson'), RULE('pair', { query: 'sequence by host.id [process where true] [process where true]' }) + '\n');
    cases.push({
      name: 'json-deep-999-alerts',
      what: 'events nested 999 levels (just under the cap) alerted by a sequence rule, stored and printed',
      args: ['hunt', '--format', 'ndjson', '--no-progress', '--threads', '2', '-r', f('rules-sequence.ndjson'), '--db', f('deep.db'), f('json-deep-999-a.ndjson'), f('json-deep-999-b.ndjson')],
      exit: 0,
      stdoutLines: 6,
      stderr: [/hunt: 3 events from 2 input/, /alerts: 6/],
      heavy: false,
    });
  }
  {
    const lines = [GOOD(1)];
    for (let i = 0; i < 100_000; i++) lines.push(' {"a":');
    lines.push('"broken', GOOD(2));
    writeFileSync(f('json-rescan.ndjson'), lines.join('\n') + '\n');
    cases.push({
      name: 'json-rescan',
      what: '100,000 lines each opening an object that never closes, then a broken string',
      args: ['query', 'any where true', f('json-rescan.ndjson')],
      exit: 0,
      stdoutLines: 2,
      stderr: [/json-rescan\.ndjson:2: JSON nested deeper than 1000 levels/, /skipped 1 item/],
      heavy: false,
    });
  }
  {
    // A saved EQL search response listing one document in 100,000 sequences, each beside a
    // missing-event placeholder and a hit without _source: the document read once (its number
    // @timestamp read from its text), the placeholders passed over, each bad hit reported.
    const doc = '{"_index":".ds-logs-x-default-2024.01.20-000001","_id":"same","_source":{"@timestamp":1705708805000.5,"event":{"category":"process"},"host":{"name":"good"}}}';
    const sequences: string[] = [];
    for (let i = 0; i < 100_000; i++) sequences.push(`{"join_keys":["good"],"events":[${doc},{"_index":"","_id":"","_source":{},"missing":true},{"_index":"i","_id":"n${i}"}]}`);
    writeFileSync(
      f('json-eql-response.ndjson'),
      [GOOD(1), `{"is_partial":false,"is_running":false,"took":1,"timed_out":false,"hits":{"total":{"value":100000,"relation":"eq"},"sequences":[${sequences.join(',')}]}}`, GOOD(9)].join('\n') + '\n',
    );
    cases.push({
      name: 'json-eql-response',
      what: 'an EQL search response listing one document in 100,000 sequences, each with a missing event and a hit without _source',
      args: ['query', 'any where true', f('json-eql-response.ndjson')],
      exit: 0,
      stdoutLines: 3,
      stderr: [/json-eql-response\.ndjson:2: EQL search response event without a _source object \(was _source disabled\?\): hits\.sequences\[0\]\.events\[2\]/, /skipped 100000 item\(s\): 100000 EQL search response event without a _source object/],
      heavy: true,
    });
  }
  if (opts.heavy) {
    await writeStream(f('json-long-line.ndjson'), async (write) => {
      await write(GOOD(1) + '\n{"big":"');
      const mb = Buffer.alloc(1 << 20, 'x');
      for (let i = 0; i < 200; i++) await write(mb);
      await write(`"}\n${GOOD(2)}\n`);
    });
    cases.push({
      name: 'json-long-line',
      what: 'one 200 MB line between good lines',
      args: ['query', 'any where true', f('json-long-line.ndjson')],
      exit: 0,
      stdoutLines: 2,
      stderr: [/json-long-line\.ndjson:2: item longer than 64 MB/],
      heavy: true,
    });
    // 1 GiB of spaces without a newline, between two good lines, as gzip members.
    const spaces = gzipSync(Buffer.alloc(1 << 24, 0x20), { level: 9 });
    await writeStream(f('json-spaces.ndjson.gz'), async (write) => {
      await write(gzipSync(GOOD(1) + '\n'));
      for (let i = 0; i < 64; i++) await write(spaces);
      await write(gzipSync(`\n${GOOD(2)}\n`));
    });
    cases.push({
      name: 'json-gzip-spaces',
      what: 'a gzip file expanding to a gigabyte of spaces without a newline',
      args: ['query', 'any where true', f('json-spaces.ndjson.gz')],
      exit: 0,
      stdoutLines: 2,
      stderr: [/gzip data expands more than 100× .*a decompression bomb\? reading on/],
      heavy: true,
    });
    const xs = gzipSync(Buffer.alloc(1 << 24, 0x78), { level: 9 });
    await writeStream(f('json-gzip-line.ndjson.gz'), async (write) => {
      await write(gzipSync(`${GOOD(1)}\n{"a":"`));
      for (let i = 0; i < 64; i++) await write(xs);
      await write(gzipSync(`"}\n${GOOD(2)}\n`));
    });
    cases.push({
      name: 'json-gzip-line',
      what: 'a gzip file expanding to a 1 GiB line between good lines',
      args: ['query', 'any where true', f('json-gzip-line.ndjson.gz')],
      exit: 0,
      stdoutLines: 2,
      stderr: [/json-gzip-line\.ndjson\.gz:2: item longer than 64 MB/],
      heavy: true,
    });
    evtxCase(
      'evtx-repeat-template-256',
      '256 chunks (16 MiB) of tiny records expanding a template that repeats a value 3,000 times',
      Array.from({ length: 256 }, (_, i) => repeatedValueChunk(10_000 + i * 1000, 3000)),
      [/the chunk's records expand to more than 131072 XML nodes/],
      true,
    );
  }

  // ---- Patterns and queries -----------------------------------------------------------------
  writeFileSync(
    f('names.ndjson'),
    [0, 1, 2].map((i) => JSON.stringify({ '@timestamp': `2024-01-20T00:00:0${i}Z`, event: { category: 'process' }, process: { name: i === 1 ? 'a'.repeat(63) + 'x' : 'a'.repeat(64) } })).join('\n') + '\n',
  );
  const q = (name: string, what: string, query: string, exit: number, stderr: RegExp[], stdoutLines?: number) =>
    cases.push({ name, what, args: ['query', query, f('names.ndjson')], exit, stderr, stdoutLines, heavy: false });
  q('regex-stars', 'process.name regex ".*.*.*.*.*.*.*.*.*.*.*.*x" over 64-character values', 'process where process.name regex ".*.*.*.*.*.*.*.*.*.*.*.*x"', 0, [], 1);
  q('regex-nested-repeat', 'regex "(((a{1,1000}){1,1000}){1,1000})"', 'process where process.name regex "(((a{1,1000}){1,1000}){1,1000})"', 2, [
    /error: regular expression too complex to determinize: Determinizing "\(\(\(a\{1,1000\}\)\{1,1000\}\)\{1,1000\}\)" would require more than 10000 effort/,
  ]);
  q('regex-exponential-dfa', 'regex ".*a.{20}" (a DFA of 2^21 states)', 'process where process.name regex ".*a.{20}"', 2, [/too complex to determinize/]);
  q('wildcard-question-marks', 'process.name : "*a" followed by 24 "?" (a DFA of 2^25 states)', `process where process.name : "*a${'?'.repeat(24)}"`, 2, [/wildcard pattern too complex to determinize/]);
  q('wildcard-stars', '5,000 "*" then "x" in a like pattern over 64-character values', `process where process.name like "${'*'.repeat(5000)}x"`, 0, [], 1);
  q('query-parens', '1,000 nested parentheses', `process where ${'('.repeat(1000)}process.name == "x"${')'.repeat(1000)}`, 2, [/^query:1:\d+: error: expression nested too deeply: more than 200 levels/m]);
  q('query-not', '"not" repeated 5,000 times', `process where ${'not '.repeat(5000)}process.name == "x"`, 2, [/^query:1:\d+: error: expression nested too deeply/m]);
  q('query-minus', 'unary minus repeated 5,000 times', `process where process.pid == ${'-'.repeat(5000)}1`, 2, [/nested too deeply/]);
  q('query-calls', 'length( nested 2,000 times', `process where ${'length('.repeat(2000)}process.name${')'.repeat(2000)} == 1`, 2, [/nested too deeply/]);
  q('query-or-chain', '3,000 "or" terms (a long chain, not a deep one)', `process where ${Array.from({ length: 3000 }, (_, i) => `process.name == "n${i}"`).join(' or ')} or process.name == "${'a'.repeat(64)}"`, 0, [], 2);

  // ---- Rules ---------------------------------------------------------------------------------
  writeFileSync(f('rules-hostile.ndjson'), [
    RULE('stars', { index: ['*'.repeat(5000) + 'x'], query: 'process where true' }),
    RULE('complex-regex', { query: 'process where process.name regex "(((a{1,1000}){1,1000}){1,1000})"' }),
    RULE('deep', { query: `process where ${'('.repeat(1000)}true${')'.repeat(1000)}` }),
    RULE('fine', { query: 'process where process.name == "p1.exe"' }),
  ].join('\n') + '\n');
  writeFileSync(f('events.ndjson'), [1, 2, 3].map((i) => JSON.stringify({ ...JSON.parse(GOOD(i)), data_stream: { type: 'logs', dataset: 'x', namespace: 'default' } })).join('\n') + '\n');
  cases.push({
    name: 'rules-hostile',
    what: 'rules whose index pattern is 5,000 "*" then "x", whose regex is too complex, whose query nests 1,000 parentheses',
    args: ['hunt', '--format', 'ndjson', '--no-progress', '-r', f('rules-hostile.ndjson'), f('events.ndjson')],
    exit: 0,
    stderr: [
      /rules: 4 loaded, 2 run, 2 skipped/,
      // Named at the mistake in the rule file (line:column), as validate names it.
      /too complex to determinize: .* \(rule "complex-regex" in .*rules-hostile\.ndjson:2:205\)$/m,
      /nested too deeply: more than 200 levels \(rule "deep" in .*rules-hostile\.ndjson:3:359\)$/m,
      /alerts: 1/,
    ],
    stdoutLines: 1,
    heavy: false,
  });

  {
    // TOML nesting: a table header of 100,000 dotted keys (one level each; smol-toml bounds only
    // inline nesting), and arrays nested 100,000 deep, next to a fine rule.
    const d = f('rules-toml-deep');
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    writeFileSync(path.join(d, 'dotted.toml'), `[rule]\nname = "x"\n[${Array(100_000).fill('a').join('.')}]\nx = 1\n`);
    writeFileSync(path.join(d, 'arrays.toml'), `[rule]\nx = ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    // JSON.parse takes any depth: a Kibana export whose rule nests `meta` or `filters` 100,000 deep.
    const deepJson = (field: string, inner: string) => RULE(`deep-${field}`, { query: 'process where true' }).replace(/\}$/, `,"${field}":${inner}}`);
    writeFileSync(
      path.join(d, 'export.ndjson'),
      [
        deepJson('meta', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`),
        deepJson('filters', `[{"query":${'{"bool":{"must":'.repeat(100_000)}{"match_all":{}}${'}}'.repeat(100_000)}}]`),
      ].join('\n') + '\n',
    );
    writeFileSync(path.join(d, 'fine.ndjson'), RULE('fine', { query: 'process where process.name == "p1.exe"' }) + '\n');
    cases.push({
      name: 'rules-toml-deep',
      what: 'rule files nesting TOML or JSON 100,000 levels (a dotted table header, arrays, an export\'s meta and filters) next to a fine rule',
      args: ['hunt', '--format', 'ndjson', '--no-progress', '-r', d, f('events.ndjson')],
      exit: 0,
      stdoutLines: 1,
      stderr: [
        /rules: 1 loaded, 1 run; 4 rule file entries not loaded/,
        /not loaded \(invalid\): .*export\.ndjson:1: JSON nested deeper than 100 levels/,
        /not loaded \(invalid\): .*export\.ndjson:2: JSON nested deeper than 100 levels/,
        /not loaded \(invalid\): .*dotted\.toml: TOML nested deeper than 100 levels \(tables, arrays, inline tables\), at "a"\."a"\."a"\.…/,
        /not loaded \(invalid\): .*arrays\.toml:2:1005: TOML syntax error: document contains excessively nested structures/,
        /alerts: 1/,
      ],
      heavy: false,
    });
  }

  // ---- Files --------------------------------------------------------------------------------
  // A FIFO inside a rules folder and inside an input folder (opening one would wait for a writer
  // forever), and a symbolic link loop in both.
  {
    const rulesDir = f('rules-with-fifo');
    const logsDir = f('logs-with-fifo');
    for (const d of [rulesDir, logsDir]) {
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d);
      execFileSync('mkfifo', [path.join(d, d === rulesDir ? 'pipe.toml' : 'pipe.ndjson')]);
      symlinkSync('.', path.join(d, 'loop'));
    }
    writeFileSync(path.join(rulesDir, 'fine.ndjson'), RULE('fine', { query: 'process where process.name == "p1.exe"' }) + '\n');
    writeFileSync(path.join(logsDir, 'events.ndjson'), [1, 2, 3].map((i) => JSON.stringify({ ...JSON.parse(GOOD(i)), data_stream: { type: 'logs', dataset: 'x', namespace: 'default' } })).join('\n') + '\n');
    cases.push({
      name: 'rules-fifo',
      what: 'a FIFO (named pipe) and a symbolic link loop inside a rules folder and inside an input folder',
      args: ['hunt', '--format', 'ndjson', '--no-progress', '-r', rulesDir, logsDir],
      exit: 0,
      stdoutLines: 1,
      stderr: [
        /rules: 1 loaded, 1 run; 1 rule file entries not loaded/,
        /not loaded \(invalid\): .*rules-with-fifo\/pipe\.toml: a FIFO \(named pipe\), not a regular file; only regular files are read from rule directories/,
        /skipped .*logs-with-fifo\/pipe\.ndjson: a FIFO \(named pipe\); only regular files are read from directories/,
        /hunt: 3 events from 1 input/,
        /alerts: 1/,
      ],
      heavy: false,
    });
  }

  {
    // Wildcards outside EQL: a rule's Kibana `filters` (Query DSL) whose wildcard query would make
    // a backtracking RegExp try ~10^13 placements over a 64-character value.
    const pieces = `${'*a'.repeat(14)}*b`;
    writeFileSync(
      f('rules-filter-wildcard.ndjson'),
      [
        RULE('filtered', { query: 'process where true', filters: [{ meta: { disabled: false, negate: false }, query: { wildcard: { 'process.name': { value: pieces } } } }] }),
        RULE('fine', { query: 'process where process.name == "p1.exe"' }),
      ].join('\n') + '\n',
    );
    writeFileSync(
      f('events-long-names.ndjson'),
      [GOOD(1), JSON.stringify({ '@timestamp': '2024-01-20T00:00:02Z', event: { category: 'process' }, host: { name: 'good' }, process: { name: 'a'.repeat(64) } })]
        .map((l) => JSON.stringify({ ...JSON.parse(l), data_stream: { type: 'logs', dataset: 'x', namespace: 'default' } }))
        .join('\n') + '\n',
    );
    cases.push({
      name: 'rules-filter-wildcard',
      what: "a rule whose filters hold the wildcard query \"*a\" × 14 then \"*b\", over a 64-character value",
      args: ['hunt', '--format', 'ndjson', '--no-progress', '-r', f('rules-filter-wildcard.ndjson'), f('events-long-names.ndjson')],
      exit: 0,
      stdoutLines: 1,
      stderr: [/rules: 2 loaded, 2 run/, /2 events rejected by rule filters/, /alerts: 1/],
      heavy: false,
    });
  }

  if (opts.heavy) {
    // A device named as a rule file or value list (`-r /dev/zero`): read up to the cap of a file
    // read whole, then refused; the other rules still run.
    cases.push({
      name: 'rules-device',
      what: 'a rule "file" that never ends (/dev/zero) next to a fine rule',
      args: ['hunt', '--format', 'ndjson', '--no-progress', '-r', '/dev/zero', '-r', path.join(f('rules-with-fifo'), 'fine.ndjson'), f('events.ndjson')],
      exit: 0,
      stdoutLines: 1,
      stderr: [/not loaded \(invalid\): \/dev\/zero: cannot read: larger than 256 MiB \(the limit for a file read whole\)/, /alerts: 1/],
      heavy: true,
    });
    cases.push({
      name: 'value-list-device',
      what: 'a value list that never ends (/dev/zero)',
      args: ['hunt', '--format', 'ndjson', '--no-progress', '--value-list', '/dev/zero', f('events.ndjson')],
      exit: 2,
      stderr: [/^error: cannot read value list \/dev\/zero: larger than 256 MiB \(the limit for a file read whole\)$/m],
      heavy: true,
    });
  }

  // ---- Output --------------------------------------------------------------------------------
  const evil = '\u001b]0;owned\u0007\u001b[2J\u009b31m\u202eexe.txt';
  writeFileSync(
    f('escapes.ndjson'),
    JSON.stringify({
      '@timestamp': '2024-01-20T00:00:01Z',
      data_stream: { type: 'logs', dataset: 'x', namespace: 'default' },
      event: { category: 'process' },
      host: { name: `host${evil}` },
      user: { name: `user${evil}` },
      process: { name: 'p1.exe' },
    }) + '\n',
  );
  writeFileSync(f('rules-escapes.ndjson'), RULE(`rule${evil}`, { name: `rule${evil}`, query: 'process where process.name == "p1.exe"' }) + '\n');
  const RAW = /[\u001b\u0007\u009b\u202e]/;
  cases.push({
    name: 'output-table',
    what: 'event and rule values holding terminal escape sequences, hunt --format table',
    args: ['hunt', '--format', 'table', '--no-progress', '-r', f('rules-escapes.ndjson'), f('escapes.ndjson')],
    exit: 0,
    stdout: [/host\\u001b\]0;owned\\u0007\\u001b\[2J/],
    stderr: [/rule\\u001b\]0;owned/],
    forbidden: RAW,
    heavy: false,
  });
  cases.push({
    name: 'output-query',
    what: 'the same values printed by query',
    args: ['query', 'any where true', f('escapes.ndjson')],
    exit: 0,
    stdoutLines: 1,
    stdout: [/"name":"host\\u001b\]0;owned\\u0007\\u001b\[2J\\u009b31m\\u202eexe\.txt"/],
    forbidden: RAW,
    heavy: false,
  });
  // What other commands print of a rule file: validate's findings (name, query excerpt), rules
  // list and show, explain.
  writeFileSync(
    f('rules-escapes-bad.ndjson'),
    RULE('evil', { name: `rule${evil}`, query: `process where process.name == "${evil}" and process.name regex "(((a{1,1000}){1,1000}){1,1000})"` }) + '\n',
  );
  const ruleOutput = (name: string, what: string, args: string[], exit: number, stdout: RegExp[]) =>
    cases.push({ name, what, args, exit, stdout, forbidden: RAW, heavy: false });
  ruleOutput('output-validate', 'validate of a rule whose name and query hold terminal escapes', ['validate', f('rules-escapes-bad.ndjson')], 1, [
    /in rule "rule\\u001b\]0;owned\\u0007/,
    /^ {2}process where process\.name == " \]0;owned {2}\[2J 31m exe\.txt" and/m,
  ]);
  ruleOutput('output-rules-list', 'rules list of the same rule', ['rules', 'list', '-r', f('rules-escapes.ndjson')], 0, [/rule\\u001b\]0;owned/]);
  ruleOutput('output-rules-show', 'rules show of the same rule', ['rules', 'show', `rule${evil}`, '-r', f('rules-escapes.ndjson')], 0, [/rule\\u001b\]0;owned/]);
  ruleOutput('output-explain', 'explain of the same rule over the event', ['explain', '--rule', `rule${evil}`, '-r', f('rules-escapes.ndjson'), f('escapes.ndjson')], 0, [
    /rule\\u001b\]0;owned/,
  ]);
  // `query` returns 10 results unless told otherwise (as _eql/search): ask for all of them.
  for (const c of cases) if (c.args[0] === 'query') c.args.splice(2, 0, '--size', '10000');
  return cases.filter((c) => opts.heavy || !c.heavy);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: npx tsx scripts/hostile.ts DIR [--heavy]\n');
    process.exit(2);
  }
  const cases = await writeHostileCases(dir, { heavy: process.argv.includes('--heavy') });
  for (const c of cases) process.stdout.write(`${c.name}: ${c.what}\n  eqlite ${c.args.map((a) => (/^[\w./=-]+$/.test(a) ? a : JSON.stringify(a.length > 80 ? a.slice(0, 77) + '...' : a))).join(' ')}\n`);
}
