// Keys an attacker chooses — `__proto__`, `constructor`, `prototype`, `toString` — in events, EVTX
// data, rule files and exception lists are field names like any other: they never reach a
// prototype, never read an inherited member, and one such line changes nothing for the events
// after it (issue 16; issue 14's "JSON keys such as __proto__ never reach Object.prototype").
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runHunt, type HuntIo } from '../src/cli/hunt.js';
import { hunt } from '../src/detect/hunt.js';
import { objectArrayIntersection } from '../src/detect/intersect.js';
import { compile, getField } from '../src/engine/index.js';
import { readEvents } from '../src/events/sources.js';
import type { EventDoc } from '../src/events/types.js';
import { mapRawWindowsEvent, mapWinlogbeatDocument } from '../src/events/windows/index.js';
import { nxlogToBeatDocument } from '../src/events/windows/nxlog.js';
import { readEvtx } from '../src/evtx/index.js';
import { loadRules } from '../src/rules/load.js';
import { validateRules } from '../src/rules/validate.js';
import { lookupTable, setOwn, own, copyData, ownChild } from '../src/util/own.js';
import { runCli } from './cli-helpers.js';
import { makeRule, tempDir, writeNdjson } from './detect-helpers.js';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v } from './evtx-build.js';

const HOSTILE = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** Object.prototype and Array.prototype as they are before any test: nothing may be added. */
const protoKeys = (o: object) => Reflect.ownKeys(o).map(String).sort();
const OBJECT_KEYS = protoKeys(Object.prototype);
const ARRAY_KEYS = protoKeys(Array.prototype);
function expectPrototypesClean(): void {
  expect(protoKeys(Object.prototype)).toEqual(OBJECT_KEYS);
  expect(protoKeys(Array.prototype)).toEqual(ARRAY_KEYS);
  const probe: Record<string, unknown> = {};
  for (const k of ['x', '_source', 'polluted', 'message', 'winlog', 'rule']) expect(probe[k]).toBeUndefined();
}
afterEach(expectPrototypesClean);

function capture(): { io: HuntIo; out: () => string; err: () => string } {
  let o = '';
  let e = '';
  const stdout = new Writable({ write(c, _enc, cb) { o += String(c); cb(); } });
  const stderr = new Writable({ write(c, _enc, cb) { e += String(c); cb(); } });
  return { io: { stdout, stderr }, out: () => o, err: () => e };
}

const MIMIKATZ_RULE = `[metadata]
creation_date = "2025/01/01"
maturity = "production"
updated_date = "2025/01/01"

[rule]
author = ["eqlite"]
description = "mimikatz"
index = ["logs-*", "winlogbeat-*"]
language = "eql"
license = "Apache-2.0"
name = "Mimikatz Process"
risk_score = 73
rule_id = "6b3c1a7e-0000-4000-8000-000000000016"
severity = "high"
type = "eql"
query = '''
process where process.name == "mimikatz.exe"
'''
`;

function mimikatzEvent(ts: string): Record<string, unknown> {
  return {
    '@timestamp': ts,
    data_stream: { type: 'logs', dataset: 'endpoint.events.process', namespace: 'default' },
    event: { category: ['process'], type: ['start'] },
    process: { name: 'mimikatz.exe' },
    host: { name: 'victim' },
  };
}

/** The reproduction: a raw Winlogbeat line with a hostile dotted key, then normal events. */
async function huntAfterPoison(poisonKey: string, poisonValue: string) {
  const dir = tempDir('eqlite-own-');
  mkdirSync(path.join(dir, 'rules'));
  writeFileSync(path.join(dir, 'rules', 'mimikatz.toml'), MIMIKATZ_RULE);
  const poison = `{"@timestamp":"2025-01-01T00:00:00Z","winlog.event_id":1,"winlog.channel":"x",${JSON.stringify(poisonKey)}:${JSON.stringify(poisonValue)}}`;
  const normal = [];
  for (let i = 0; i < 50; i++) normal.push(JSON.stringify({ '@timestamp': `2025-01-01T00:01:${String(i).padStart(2, '0')}Z`, data_stream: { type: 'logs', dataset: 'x', namespace: 'default' }, event: { category: ['network'] }, n: i }));
  normal.push(JSON.stringify(mimikatzEvent('2025-01-01T00:02:00Z')));
  const file = path.join(dir, 'events.ndjson');
  writeFileSync(file, [poison, ...normal].join('\n') + '\n');
  const c = capture();
  const code = await runHunt([file], { rules: [path.join(dir, 'rules')], format: 'ndjson', progress: false, threads: 0 }, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe('hostile dotted keys in raw Winlogbeat documents (issue 16 reproduction)', () => {
  it('"__proto__._source" does not turn later documents into ES hits: the mimikatz event alerts', async () => {
    const r = await huntAfterPoison('__proto__._source', 'x');
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/skipped/);
    expect(r.err).toMatch(/hunt: 52 events/);
    const alerts = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(alerts.map((a) => a['kibana.alert.rule.name'])).toEqual(['Mimikatz Process']);
  });

  it('"__proto__.polluted" adds no field to later alerts', async () => {
    const r = await huntAfterPoison('__proto__.polluted', 'yes');
    expect(r.code).toBe(0);
    const alert = JSON.parse(r.out.trim()) as Record<string, unknown>;
    expect('polluted' in alert).toBe(false);
    expect(r.out).not.toContain('polluted');
  });

  it('"__proto__._source.message" does not crash (no internal error)', async () => {
    const r = await huntAfterPoison('__proto__._source.message', 'x');
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/internal error/);
    expect(r.out.trim().split('\n')).toHaveLength(1);
  });

  it('the CLI as a child process, over the bundled sample: the first line changes nothing for the 1,801 events after it', async () => {
    // The reproduction as a user runs it: the hostile line first, then the sample (whose
    // events were skipped as "ES hits with a bad _source"), then a mimikatz.exe process start.
    const dir = tempDir('eqlite-own-');
    mkdirSync(path.join(dir, 'rules'));
    writeFileSync(path.join(dir, 'rules', 'mimikatz.toml'), MIMIKATZ_RULE);
    const repo = path.resolve(import.meta.dirname, '..');
    const sample = readFileSync(path.join(repo, 'examples', 'windows-sample.ndjson'), 'utf8');
    const rules = ['-r', path.join(dir, 'rules'), '-r', path.join(repo, 'rules')];
    for (const [key, value] of [['__proto__._source', 'x'], ['__proto__.polluted', 'yes'], ['__proto__._source.message', 'x']]) {
      const file = path.join(dir, `${key}.ndjson`);
      const poison = `{"@timestamp":"2025-03-10T08:00:00Z","winlog.event_id":1,"winlog.channel":"x",${JSON.stringify(key)}:${JSON.stringify(value)}}`;
      writeFileSync(file, `${poison}\n${sample}${JSON.stringify(mimikatzEvent('2025-03-10T08:02:00Z'))}\n`);
      const r = await runCli(['hunt', ...rules, '--format', 'ndjson', '--no-progress', '--threads', '0', file]);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/skipped|internal error/);
      expect(r.stderr).toMatch(/^hunt: 1802 events from 1 input/m);
      const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const byRule = new Map<string, number>();
      for (const a of alerts) byRule.set(String(a['kibana.alert.rule.name']), (byRule.get(String(a['kibana.alert.rule.name'])) ?? 0) + 1);
      expect([...byRule].sort()).toEqual([
        ['Mimikatz Process', 1],
        ['Windows Script Interpreter Executing Process via WMI', 27],
      ]);
      expect(r.stdout).not.toContain('polluted');
    }
  }, 120_000);

  it('keeps hostile keys as ordinary fields of the mapped document', () => {
    const doc: Record<string, unknown> = JSON.parse(
      '{"@timestamp":"2025-01-01T00:00:00Z","winlog.event_id":1,"winlog.channel":"x","__proto__.x":"a","constructor.name":"b",' +
        '"prototype.y":"c","winlog.event_data.__proto__":"d","winlog.event_data.toString":"e","toString":"f","__proto__":{"z":1}}',
    );
    const { source } = mapWinlogbeatDocument(doc);
    expect(Object.getPrototypeOf(source)).toBe(Object.prototype);
    expect(own(source, '__proto__')).toEqual({ z: 1, x: 'a' });
    expect(own(source, 'constructor')).toEqual({ name: 'b' });
    expect(own(source, 'prototype')).toEqual({ y: 'c' });
    expect(source.toString).toBe('f');
    const ed = (source.winlog as Record<string, unknown>).event_data as Record<string, unknown>;
    expect(own(ed, '__proto__')).toBe('d');
    expect(own(ed, 'toString')).toBe('e');
    expect(JSON.parse(JSON.stringify(source)).__proto__).toEqual({ z: 1, x: 'a' });
  });

  it('a dotted key of 5,000 segments expands 32 levels deep at most, and the field is still found', () => {
    const key = Array.from({ length: 5000 }, (_, i) => `k${i}`).join('.');
    const { source } = mapWinlogbeatDocument({ '@timestamp': '2025-01-01T00:00:00Z', 'winlog.event_id': 1, 'winlog.channel': 'x', [key]: 'v' });
    let depth = 0;
    let cur: unknown = source.k0;
    while (cur !== null && typeof cur === 'object') {
      cur = Object.values(cur as object)[0];
      depth++;
    }
    expect(depth).toBe(32);
    expect(compile(`any where ${key} == "v"`).run([{ source, index: 'i', id: '1' }])).toHaveLength(1);
  });

  it('hostile keys inside Windows fields (event_data, hashes, PowerShell context) stay own fields', () => {
    const sysmon = mapRawWindowsEvent({
      System: { Provider: { Name: 'Microsoft-Windows-Sysmon' }, EventID: '1', TimeCreated: '2025-01-01T00:00:00Z', EventRecordID: '1', Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: 'h', Level: 'constructor', Task: '__proto__', Opcode: 'toString' },
      EventData: { UtcTime: '2025-01-01 00:00:00.000', Image: 'C:\\x.exe', Hashes: '__proto__=abc,SHA256=DEF,constructor=1', __proto__x: 'n' },
    });
    const s = sysmon.source as Record<string, any>;
    expect(own(s.process.hash, '__proto__')).toBe('abc');
    expect(own(s.process.hash, 'constructor')).toBe('1');
    expect(s.process.hash.sha256).toBe('def');
    expect(own(s.winlog, 'level')).toBeUndefined();
    expect(own(s.winlog, 'opcode')).toBeUndefined();
    const ps = mapRawWindowsEvent({
      System: { Provider: { Name: 'Microsoft-Windows-PowerShell' }, EventID: '4103', TimeCreated: '2025-01-01T00:00:00Z', EventRecordID: '2', Channel: 'Microsoft-Windows-PowerShell/Operational', Computer: 'h' },
      EventData: { ContextInfo: '        __proto__ = evil\n        constructor = c\n        Host Application = powershell.exe' },
    });
    const ped = (ps.source as Record<string, any>).winlog.event_data as Record<string, unknown>;
    expect(own(ped, '__proto__')).toBe('evil');
    expect(own(ped, 'constructor')).toBe('c');
  });
});

describe('NXLog and classic PowerShell documents', () => {
  it('top-level data fields named __proto__ or constructor become own event_data fields', () => {
    const doc = JSON.parse(
      '{"EventID":4624,"Channel":"Security","Hostname":"h","SourceName":"Microsoft-Windows-Security-Auditing","EventTime":"2025-01-01 00:00:00",' +
        '"__proto__":{"polluted":1},"constructor":"c","toString":"t","TargetUserName":"bob"}',
    );
    const beat = nxlogToBeatDocument(doc);
    const ed = (beat.winlog as Record<string, unknown>).event_data as Record<string, unknown>;
    expect(own(ed, 'constructor')).toBe('c');
    expect(own(ed, 'toString')).toBe('t');
    expect(own(beat, '__proto__')).toEqual({ polluted: 1 });
    expect(Object.getPrototypeOf(beat)).toBe(Object.prototype);
  });

  it('PowerShell 600/800 detail lines with hostile keys stay own fields', () => {
    const raw = (code: string, data: Record<string, string>) => ({
      System: { Provider: { Name: 'PowerShell' }, EventID: code, TimeCreated: '2025-01-01T00:00:00Z', EventRecordID: '1', Channel: 'Windows PowerShell', Computer: 'h' },
      EventData: data,
    });
    const s600 = mapRawWindowsEvent(raw('600', { param3: '\t__proto__=x\r\n\tconstructor=y\r\n\tProviderName=Registry' })).source as Record<string, any>;
    expect(own(s600.winlog.event_data, '__proto__')).toBe('x');
    expect(own(s600.winlog.event_data, 'constructor')).toBe('y');
    const s400 = mapRawWindowsEvent(raw('400', { param3: '\tNewEngineState=Available\r\n\t__proto__=a\r\n\t__proto__=b\r\n\ttoString=z' })).source as Record<string, any>;
    expect(own(s400.winlog.event_data, '__proto__')).toEqual(['a', 'b']);
    expect(own(s400.winlog.event_data, 'toString')).toBe('z');
  });
});

describe('EVTX data names', () => {
  it('<Data Name="__proto__">, constructor and toString are kept as plain values', async () => {
    const w = new ChunkWriter();
    const names = ['__proto__', 'constructor', 'toString', 'prototype', 'Image', 'constructor'];
    w.record(1, 132_000_000_000_000_000n, (w) => {
      w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      const nested = v.nested((w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        w.templateInstance(
          'data',
          { name: 'EventData', children: names.map((n, i) => ({ name: 'Data', attrs: [['Name', [n]]] as [string, string[]][], children: [{ sub: i }] })) },
          names.map((n, i) => v.str(`${n}-${i}`)),
        );
        w.u8(0x00);
      });
      w.templateInstance('event', EVENT_TEMPLATE, [
        v.str('Microsoft-Windows-Sysmon'), v.null(), v.u16(1), v.u64(132_000_000_000_000_000n, 0x11), v.u64(1n), v.null(),
        v.str('Microsoft-Windows-Sysmon/Operational'), v.str('HOST'), nested,
      ]);
      w.u8(0x00);
    });
    const file = path.join(tempDir('eqlite-own-'), 'proto.evtx');
    writeFileSync(file, buildFile([w.finish()]));
    const raws = [];
    for await (const rec of readEvtx(file)) raws.push(rec.toRaw());
    expect(raws).toHaveLength(1);
    const ed = raws[0]!.EventData as Record<string, unknown>;
    expect(Object.getPrototypeOf(ed)).toBe(Object.prototype);
    expect(Object.keys(ed)).toEqual(['__proto__', 'constructor', 'toString', 'prototype', 'Image']);
    expect(own(ed, '__proto__')).toBe('__proto__-0');
    expect(ed.constructor).toEqual(['constructor-1', 'constructor-5']);
    expect(ed.toString).toBe('toString-2');
    const mapped = mapRawWindowsEvent(raws[0]!).source as Record<string, any>;
    const wed = mapped.winlog.event_data as Record<string, unknown>;
    expect(own(wed, '__proto__')).toBe('__proto__-0');
    expect(own(wed, 'toString')).toBe('toString-2');
    expect(own(wed, 'constructor')).toEqual(['constructor-1', 'constructor-5']);
  });
});

describe('events read from JSON', () => {
  it('keep __proto__, constructor and prototype keys as own fields, and EQL sees only own fields', async () => {
    const dir = tempDir('eqlite-own-');
    const file = path.join(dir, 'e.ndjson');
    writeFileSync(
      file,
      [
        '{"@timestamp":"2025-01-01T00:00:00Z","__proto__":{"_source":"x","event":{"category":"process"}},"event":{"category":"process"},"constructor":"c1"}',
        '{"@timestamp":"2025-01-01T00:00:01Z","event":{"category":"process"},"prototype":{"name":"p"}}',
        '{"@timestamp":"2025-01-01T00:00:02Z","event":{"category":"process"}}',
      ].join('\n') + '\n',
    );
    const events: EventDoc[] = [];
    for await (const ev of readEvents(file)) events.push(ev);
    expect(events).toHaveLength(3);
    expect(own(events[0]!.source, '__proto__')).toEqual({ _source: 'x', event: { category: 'process' } });
    const ids = (q: string) => compile(q).run(events).map((r) => (r.kind === 'event' ? r.event.id : ''));
    expect(ids('process where constructor == "c1"')).toEqual([events[0]!.id]);
    expect(ids('process where constructor.name == "Object"')).toEqual([]);
    expect(ids('process where toString != null')).toEqual([]);
    expect(ids('process where prototype.name == "p"')).toEqual([events[1]!.id]);
    expect(ids('process where __proto__._source == "x"')).toEqual([events[0]!.id]);
  });

  it('hunts a sequence whose events carry hostile keys; no alert gains a field from them', async () => {
    const dir = tempDir('eqlite-own-');
    const base = (ts: string, name: string) => ({
      '@timestamp': ts,
      agent: { type: 'winlogbeat', version: '8.12.0' },
      host: { id: 'h1', name: 'host-1' },
      event: { category: ['process'], type: ['start'] },
      process: { name },
    });
    const docs = [base('2025-01-01T00:00:00Z', 'a.exe'), base('2025-01-01T00:00:01Z', 'b.exe')].map((d) => JSON.stringify(d).replace(/^\{/, '{"__proto__":{"polluted":1,"host":{"name":"forged"}},"constructor":{"x":1},'));
    const file = path.join(dir, 'seq.ndjson');
    writeFileSync(file, docs.join('\n') + '\n');
    const rule = makeRule({ name: 'Seq', index: ['winlogbeat-*'], query: 'sequence by host.id [process where process.name == "a.exe"] [process where process.name == "b.exe"]' });
    const { alerts } = await hunt({ rules: [rule], inputs: [file], threads: 0 });
    expect(alerts).toHaveLength(3);
    for (const a of alerts) {
      expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
      expect((a as Record<string, any>).host.name).toBe('host-1');
      expect('polluted' in a).toBe(false);
    }
    // The building blocks keep the events' own fields as traverseAndMutateDoc leaves them; the
    // shell holds what they share (lodash set, as in Kibana, skips __proto__ and constructor).
    expect(alerts.map((a) => [own(a, '__proto__'), own(a, 'constructor')])).toEqual([
      [{ polluted: 1, host: { name: 'forged' } }, { x: 1 }],
      [{ polluted: 1, host: { name: 'forged' } }, { x: 1 }],
      [undefined, undefined],
    ]);
  });

  it('the shell intersection of documents with hostile keys changes no prototype (lodash set skips them, as in Kibana)', () => {
    const a = JSON.parse('{"__proto__":{"p":1},"constructor":"x","k":1}');
    const b = JSON.parse('{"__proto__":{"p":1},"k":1}');
    const r = objectArrayIntersection([a, b])!;
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(r).toEqual({ k: 1 });
    expect(objectArrayIntersection([{ k: 1 }, JSON.parse('{"constructor":"x"}')])).toBeUndefined();
  });
});

describe('rule files and exception lists', () => {
  it('TOML, JSON and NDJSON rules with hostile keys load without touching prototypes', () => {
    const dir = tempDir('eqlite-own-');
    writeFileSync(
      path.join(dir, 'a.toml'),
      MIMIKATZ_RULE.replace('[rule]', '[__proto__]\npolluted = 1\n\n[constructor]\nx = 1\n\n[rule]\nprototype = "p"\n') +
        '\n[rule.constructor]\nprototype = 2\n\n[[rule.threat]]\nframework = "MITRE ATT&CK"\n[rule.threat.tactic]\nid = "TA0006"\nname = "Credential Access"\nreference = "https://attack.mitre.org/tactics/TA0006/"\n[rule.threat.tactic.__proto__]\nx = 1\n',
    );
    const json = { rule_id: 'j1', name: 'J', type: 'eql', language: 'eql', severity: 'low', risk_score: 1, query: 'any where true' };
    writeFileSync(path.join(dir, 'a2.toml'), MIMIKATZ_RULE.replace('[rule]', '[rule]\n__proto__ = { rule = 1 }').replace(/rule_id = "[^"]*"/, 'rule_id = "a2"'));
    writeFileSync(path.join(dir, 'b.json'), JSON.stringify(json).replace('{', '{"__proto__":{"polluted":1,"type":"query"},"constructor":{"a":1},'));
    writeFileSync(
      path.join(dir, 'c.ndjson'),
      [
        JSON.stringify({ ...json, rule_id: 'n1', exceptions_list: [{ id: 'L', list_id: 'L', namespace_type: 'single', type: 'detection' }] }).replace('{', '{"__proto__":{"x":1},'),
        '{"__proto__":{"polluted":1},"list_id":"L","id":"L","name":"L","namespace_type":"single","type":"detection","description":"d","constructor":"c"}',
        '{"__proto__":{"polluted":1},"item_id":"i1","list_id":"L","namespace_type":"single","type":"simple","name":"i","entries":[{"__proto__":{"x":1},"field":"constructor","operator":"included","type":"match","value":"c"}],"prototype":"p"}',
        '{"rule_id":"t1","name":"T","type":"__proto__","severity":"low","risk_score":1,"query":"x"}',
        '{"rule_id":"t2","name":"T2","type":"constructor","severity":"low","risk_score":1,"query":"x"}',
      ].join('\n') + '\n',
    );
    const r = loadRules([dir]);
    expect(r.skipped.filter((s) => s.kind === 'invalid')).toEqual([]);
    expect(r.rules.map((x) => x.rule_id)).toEqual(['6b3c1a7e-0000-4000-8000-000000000016', 'a2', 'j1', 'n1', 't1', 't2']);
    const toml = r.rules[0]!;
    expect(Object.getPrototypeOf(toml.extra)).toBe(Object.prototype);
    expect(own(toml.extra, '__proto__')).toEqual({ polluted: 1 });
    expect(own(toml.extra, 'constructor')).toEqual({ prototype: 2 });
    expect(own(toml.extra, 'prototype')).toBe('p');
    expect(own(toml.threat[0]!.tactic as unknown as Record<string, unknown>, '__proto__')).toEqual({ x: 1 });
    expect(own(r.rules[1]!.extra, '__proto__')).toEqual({ rule: 1 });
    expect(r.rules[2]!.type).toBe('eql');
    expect(own(r.rules[2]!.extra, '__proto__')).toEqual({ polluted: 1, type: 'query' });
    expect(Object.keys(r.counts.byType)).toEqual(['eql', '__proto__', 'constructor']);
    expect(own(r.counts.byType, '__proto__')).toBe(1);
    expect(own(r.counts.byType, 'constructor')).toBe(1);
    const list = r.exceptionLists[0]!;
    expect(own(list.extra!, '__proto__')).toEqual({ polluted: 1 });
    expect(own(list.extra!, 'constructor')).toBe('c');
    expect(own(list.items[0]!.extra!, 'prototype')).toBe('p');
    const report = validateRules(r);
    expect(own(report.skippedByType, '__proto__')).toBe(1);
    expect(own(report.skippedByType, 'constructor')).toBe(1);
  });

  it('an exception on a field named constructor excepts only events that have that own field', async () => {
    const dir = tempDir('eqlite-own-');
    const file = writeNdjson(dir, 'e.ndjson', [
      { '@timestamp': '2025-01-01T00:00:00Z', data_stream: { type: 'logs', dataset: 'x' }, event: { category: ['process'] }, constructor: 'c', n: 1 },
      { '@timestamp': '2025-01-01T00:00:01Z', data_stream: { type: 'logs', dataset: 'x' }, event: { category: ['process'] }, n: 2 },
    ]);
    const rule = makeRule({ name: 'E', index: ['logs-*'], query: 'process where true', exceptions_list: [{ id: 'L', list_id: 'L', namespace_type: 'single', type: 'detection' }] });
    const { alerts } = await hunt({
      rules: [rule],
      exceptionLists: [{ list_id: 'L', name: 'L', namespace_type: 'single', type: 'detection', items: [
        { item_id: 'i', list_id: 'L', name: 'i', namespace_type: 'single', entries: [{ type: 'exists', field: 'constructor', operator: 'included' }] },
      ] }],
      inputs: [file],
      threads: 0,
    });
    expect(alerts.map((a) => a.n)).toEqual([2]);
  });
});

describe('very long field names', () => {
  it('are read like short ones (nested, flat dotted and mixed, through arrays) without a cubic table', () => {
    const seg = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `s${i + from}`).join('.');
    const long = seg(40);
    const nest = (keys: string[], v: unknown): unknown => keys.reduceRight<unknown>((acc, k) => ({ [k]: acc }), v);
    const docs: Record<string, unknown>[] = [
      nest(long.split('.'), 1) as Record<string, unknown>,
      { [long]: 2 },
      { [seg(10)]: { [seg(30, 10)]: 3 } },
      nest(seg(5).split('.'), { [seg(35, 5)]: 4 }) as Record<string, unknown>,
      { s0: [{ [seg(39, 1)]: 5 }, { [seg(39, 1)]: 6 }] },
      { [seg(10)]: { x: 1 }, [seg(11)]: { [seg(29, 11)]: 7 } },
      { [seg(39)]: 8 },
    ];
    expect(docs.map((d) => getField(d, long))).toEqual([1, 2, 3, 4, [5, 6], 7, undefined]);
    // A 20-segment name (the table path) reads the same shapes the same way.
    const short = seg(20);
    const shortDocs = [nest(short.split('.'), 1), { [short]: 2 }, { [seg(10)]: { [seg(10, 10)]: 3 } }, { s0: [{ [seg(19, 1)]: 5 }, { [seg(19, 1)]: 6 }] }];
    expect(shortDocs.map((d) => getField(d as Record<string, unknown>, short))).toEqual([1, 2, 3, [5, 6]]);
  });
});

describe('the helpers', () => {
  it('setOwn, own, ownChild, copyData and lookupTable never touch a prototype', () => {
    const o: Record<string, unknown> = {};
    for (const k of HOSTILE) setOwn(o, k, k);
    expect(Object.keys(o)).toEqual(HOSTILE);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    const p: Record<string, unknown> = {};
    ownChild(ownChild(p, '__proto__'), 'x').y = 1;
    expect(JSON.stringify(p)).toBe('{"__proto__":{"x":{"y":1}}}');
    expect(own({}, 'constructor')).toBeUndefined();
    const c = copyData(JSON.parse('{"__proto__":{"a":[{"__proto__":1}]}}')) as Record<string, unknown>;
    expect(JSON.stringify(c)).toBe('{"__proto__":{"a":[{"__proto__":1}]}}');
    const t = lookupTable({ a: 1 });
    expect(t['constructor']).toBeUndefined();
    expect(t['__proto__']).toBeUndefined();
    expect(t['a']).toBe(1);
  });
});
