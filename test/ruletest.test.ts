// `eqlite test`: rule test cases next to the rules or in --tests folders, pass/fail with diffs,
// JUnit XML, --update; the seed rule's shipped tests.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTestCommand } from '../src/cli/test.js';
import { readCaseFile } from '../src/ruletest/cases.js';
import { compare } from '../src/ruletest/run.js';
import { buildFile, ChunkWriter, EVENT_TEMPLATE, v, type ElSpec } from './evtx-build.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'eqlite-ruletest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SEED_DIR = 'rules/windows/initial_access_scripts_process_started_via_wmi.test';
const SEED_ID = 'b64b183e-1a76-422d-9179-7b389513e74d';

function io() {
  let out = '';
  let err = '';
  return { io: { out: (s: string) => (out += s), err: (s: string) => (err += s) }, out: () => out, err: () => err };
}

/** A copy of the bundled rules (with their tests) to edit. */
function rulesCopy(): string {
  const d = mkdtempSync(path.join(tmp, 'rules-'));
  cpSync('rules', d, { recursive: true });
  return d;
}

describe('the seed rule tests shipped next to it', () => {
  it('all pass, one line per case', async () => {
    const c = io();
    expect(await runTestCommand(['rules/'], {}, c.io)).toBe(0);
    expect(c.err()).toBe('');
    expect(c.out()).toBe(
      [
        `rules/windows/initial_access_scripts_process_started_via_wmi.toml: Windows Script Interpreter Executing Process via WMI (${SEED_ID})`,
        '  PASS  cscript loads wmiutils.dll, WmiPrvSE starts rundll32 for a user 2 s later  (1 alert)',
        "  PASS  Sysmon via Winlogbeat 7.17 (Elasticsearch hits): wscript's image load is a process event with file.name  (1 alert)",
        '  PASS  maxspan edge: the child exactly 5 s after the load still matches (maxspan is inclusive)  (1 alert)',
        '  PASS  maxspan edge: the child 5.001 s after the load does not  (0 alerts)',
        '  PASS  the child runs as NT AUTHORITY\\SYSTEM: management tooling, not an attack  (0 alerts)',
        '  PASS  user.domain != is case-sensitive: a lower-case "nt authority" is not excluded  (1 alert)',
        '  PASS  near-miss: no process.pe.original_file_name and the executable is in System32  (0 alerts)',
        '  PASS  no process.pe.original_file_name, but the executable is under C:\\Users  (1 alert)',
        '  PASS  index not covered: the same events in logs-custom.* indices are never searched  (0 alerts)',
        "  PASS  capitalised field values: ':' ignores case (CSCRIPT.EXE, WMIUTILS.DLL, WMIPRVSE.EXE, rundll32.exe)  (1 alert)",
        '  PASS  the child starts on another host: the sequence is joined by host.id  (0 alerts)',
        '  PASS  the child starts before the library load: sequence order matters  (0 alerts)',
        'test: 12 case(s) of 1 rule(s): 12 passed, 0 failed',
        '',
      ].join('\n'),
    );
  });

  it('--junit into a missing directory: one line, exit 2, before any case runs; a written report is whole (FILE.partial renamed)', async () => {
    const c = io();
    const missing = path.join(tmp, 'no-such-dir', 'report.xml');
    expect(await runTestCommand(['rules/'], { junit: missing }, c.io)).toBe(2);
    expect(c.err()).toBe(`error: cannot write ${missing}: directory ${path.join(tmp, 'no-such-dir')} does not exist\n`);
    expect(c.out()).toBe('');
    const c2 = io();
    const report = path.join(tmp, 'report.xml');
    expect(await runTestCommand(['rules/'], { junit: report }, c2.io)).toBe(0);
    expect(readFileSync(report, 'utf8')).toMatch(/^<\?xml [^\n]*\n<testsuites [^]*<\/testsuites>\n?$/);
    expect(existsSync(`${report}.partial`)).toBe(false);
  });

  it('fail when the rule changes: a maxspan of 4s breaks the 5 s cases, with a diff and exit 1', async () => {
    const d = rulesCopy();
    const ruleFile = path.join(d, 'windows/initial_access_scripts_process_started_via_wmi.toml');
    writeFileSync(ruleFile, readFileSync(ruleFile, 'utf8').replace('with maxspan = 5s', 'with maxspan = 4s'));
    const junit = path.join(tmp, 'junit.xml');
    const c = io();
    expect(await runTestCommand([d], { junit }, c.io)).toBe(1);
    const out = c.out();
    expect(out).toContain(
      [
        '  FAIL  maxspan edge: the child exactly 5 s after the load still matches (maxspan is inclusive)',
        '        expected 1 alert, got 0: 1 expected alert(s) not raised',
        '        - [maxspan-exactly-5s.ndjson:1, maxspan-exactly-5s.ndjson:2]  (expected, not raised)',
        `        case: ${path.join(d, 'windows/initial_access_scripts_process_started_via_wmi.test/cases.toml')}:18`,
        `        why: eqlite explain --rule ${SEED_ID} ${path.join(d, 'windows/initial_access_scripts_process_started_via_wmi.test/maxspan-exactly-5s.ndjson')}`,
      ].join('\n'),
    );
    expect(out).toContain('  PASS  maxspan edge: the child 5.001 s after the load does not  (0 alerts)\n');
    expect(out).toMatch(/\ntest: 12 case\(s\) of 1 rule\(s\): 11 passed, 1 failed\nJUnit report written to .*junit\.xml\n$/);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="eqlite test" tests="12" failures="1" errors="0" time="\d+\.\d{3}">\n/);
    expect(xml).toContain(`<testsuite name="Windows Script Interpreter Executing Process via WMI" id="${SEED_ID}" tests="12" failures="1" errors="0"`);
    expect(xml.match(/<testcase /g)).toHaveLength(12);
    expect(xml).toContain(
      '<failure message="expected 1 alert, got 0: 1 expected alert(s) not raised" type="AlertMismatch">- [maxspan-exactly-5s.ndjson:1, maxspan-exactly-5s.ndjson:2]  (expected, not raised)</failure>',
    );
  });

  it('--update records the current alerts of failing cases and of cases without an expectation, keeping comments', async () => {
    const d = rulesCopy();
    const casesFile = path.join(d, 'windows/initial_access_scripts_process_started_via_wmi.test/cases.toml');
    const original = readFileSync(casesFile, 'utf8');
    const edited = original
      .replace('matches = [["positive-defend.ndjson:2", "positive-defend.ndjson:3"]]', 'matches = [\n  ["positive-defend.ndjson:1"],  # wrong\n  ["x:1", "x:2"],\n]')
      .replace('events = ["nt-authority.ndjson"]\nexpect = "none"\n', 'events = ["nt-authority.ndjson"]\n')
      .replace('events = ["nt-authority-lower-case.ndjson"]\nalerts = 1', 'events = ["nt-authority-lower-case.ndjson"]\nalerts = 3');
    writeFileSync(casesFile, edited);
    const c = io();
    expect(await runTestCommand([d], {}, c.io)).toBe(1);
    expect(c.out()).toContain('test: 12 case(s) of 1 rule(s): 9 passed, 2 failed, 1 error(s)\n');
    expect(c.out()).toContain('  ERROR the child runs as NT AUTHORITY\\SYSTEM: management tooling, not an attack\n        no expectation: add expect = "none", alerts = N or matches = [...] (or run with --update to record the 0 alerts raised now)\n');
    const u = io();
    expect(await runTestCommand([d], { update: true }, u.io)).toBe(0);
    expect(u.out()).toContain(`recorded the current alerts of 3 case(s) in ${casesFile}\n`);
    // Back to the shipped file: same expectations, in the form each case used.
    expect(readFileSync(casesFile, 'utf8')).toBe(original);
    const again = io();
    expect(await runTestCommand([d], {}, again.io)).toBe(0);
  });
});

function ndjson(file: string, docs: unknown[]): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return file;
}

const eventRule = (id: string, query: string) =>
  [
    '[metadata]',
    'maturity = "production"',
    '[rule]',
    `rule_id = "${id}"`,
    `name = "Rule ${id}"`,
    'type = "eql"',
    'language = "eql"',
    'index = ["logs-*"]',
    'severity = "low"',
    'risk_score = 21',
    `query = '''${query}'''`,
    '',
  ].join('\n');

describe('case files', () => {
  it('event rules: counts, bare refs, _id refs, --tests folders naming their rule, --case', async () => {
    const d = mkdtempSync(path.join(tmp, 'event-'));
    writeFileSync(path.join(d, 'whoami.toml'), eventRule('r-whoami', 'process where process.name : "whoami.exe"'));
    writeFileSync(path.join(d, 'net.toml'), eventRule('r-net', 'process where process.name : "net.exe"'));
    const ev = (name: string, s: number) => ({ '@timestamp': `2025-01-01T00:00:0${s}Z`, data_stream: { type: 'logs', dataset: 'x', namespace: 'default' }, event: { category: 'process' }, process: { name } });
    ndjson(path.join(d, 'whoami.test/events.ndjson'), [ev('whoami.exe', 1), ev('cmd.exe', 2), ev('WHOAMI.EXE', 3)]);
    writeFileSync(
      path.join(d, 'whoami.test/cases.toml'),
      '[[case]]\nname = "two whoami starts"\nevents = "events.ndjson"\nmatches = ["events.ndjson:1", "events.ndjson:3"]\n\n[[case]]\nname = "count"\nevents = ["events.ndjson"]\nalerts = 2\n',
    );
    const t = path.join(d, 'more-tests');
    ndjson(path.join(t, 'hits.ndjson'), [{ _index: 'logs-x-default', _id: 'hit-1', _source: { ...ev('net.exe', 4) } }]);
    writeFileSync(path.join(t, 'net.toml'), 'rule = "r-net"\n\n[[case]]\nname = "net from a hit"\nevents = "hits.ndjson"\nmatches = [["hit-1"]]\n');
    const c = io();
    expect(await runTestCommand([d], { tests: [t] }, c.io)).toBe(0);
    expect(c.out()).toContain('  PASS  two whoami starts  (2 alerts)\n  PASS  count  (2 alerts)\n');
    expect(c.out()).toContain('  PASS  net from a hit  (1 alert)\n');
    expect(c.out()).toContain('test: 3 case(s) of 2 rule(s): 3 passed, 0 failed\n');
    const only = io();
    expect(await runTestCommand([d], { tests: [t], case: ['*whoami*'], verbose: true }, only.io)).toBe(0);
    expect(only.out()).toContain('  PASS  two whoami starts  (2 alerts)\n          [events.ndjson:1]  2025-01-01T00:00:01.000Z  process event with process whoami.exe, created low alert Rule r-whoami.\n');
    expect(only.out()).toContain('test: 1 case(s) of 1 rule(s): 1 passed, 0 failed\n');
  });

  it('reports broken case files and test data as errors, never as passes', async () => {
    const d = mkdtempSync(path.join(tmp, 'broken-'));
    writeFileSync(path.join(d, 'r.toml'), eventRule('r1', 'process where true'));
    ndjson(path.join(d, 'r.test/ok.ndjson'), [{ '@timestamp': '2025-01-01T00:00:00Z', data_stream: { type: 'logs', dataset: 'x', namespace: 'd' }, event: { category: 'process' } }]);
    writeFileSync(path.join(d, 'r.test/bad.ndjson'), '{"@timestamp":"2025-01-01T00:00:00Z","event":{"category":"process"}}\n{not json\n');
    writeFileSync(
      path.join(d, 'r.test/cases.toml'),
      [
        '[[case]]\nname = "typo"\nevents = "ok.ndjson"\nalert = 1\n',
        '[[case]]\nname = "missing file"\nevents = "nope.ndjson"\nexpect = "none"\n',
        '[[case]]\nname = "two expectations"\nevents = "ok.ndjson"\nexpect = "none"\nalerts = 0\n',
        '[[case]]\nname = "bad data"\nevents = "bad.ndjson"\nalerts = 1\n',
        '[[case]]\nname = "ok"\nevents = "ok.ndjson"\nalerts = 1\n',
      ].join('\n'),
    );
    const t = mkdtempSync(path.join(tmp, 'elsewhere-'));
    const okFile = JSON.stringify(path.join(d, 'r.test/ok.ndjson'));
    writeFileSync(path.join(t, 'x.toml'), `[[case]]\nname = "for whom"\nevents = ${okFile}\nexpect = "none"\n\n[[case]]\nname = "unknown rule"\nrule = "zzz"\nevents = ${okFile}\nexpect = "none"\n`);
    writeFileSync(path.join(d, 'other.toml'), eventRule('r2', 'process where false'));
    const c = io();
    expect(await runTestCommand([d], { tests: [t] }, c.io)).toBe(1);
    const cf = path.join(d, 'r.test/cases.toml');
    const xf = path.join(t, 'x.toml');
    expect(c.err()).toBe(
      [
        `error: ${cf}:4: case 1: unknown key "alert" (expected name, events, expect, alerts, matches, rule, index, description)`,
        `error: ${cf}:8: case 2: "missing file": events file nope.ndjson not found (looked for ${path.join(d, 'r.test/nope.ndjson')})`,
        `error: ${cf}:15: case 3: "two expectations": give one of expect, alerts or matches, not expect and alerts`,
        `error: ${xf}:1: case "for whom" does not say which rule it tests: add rule = "<rule_id>" to the case or the file`,
        `error: ${xf}:6: case "unknown rule" is for rule zzz, which is not among the 2 rule(s) given`,
        '',
      ].join('\n'),
    );
    expect(c.out()).toContain(`  ERROR bad data\n        1 event(s) of the test data could not be read: ${path.join(d, 'r.test/bad.ndjson')}:2: invalid JSON`);
    expect(c.out()).toContain('  PASS  ok  (1 alert)\n');
    expect(c.out()).toContain('test: 2 case(s) of 1 rule(s): 1 passed, 0 failed, 6 error(s); 1 rule(s) without tests\n');
    expect(readCaseFile(cf).cases.map((x) => x.name)).toEqual(['bad data', 'ok']);
    const none = io();
    expect(await runTestCommand([path.join(d, 'other.toml')], {}, none.io)).toBe(2);
    expect(none.err()).toContain('error: no test cases found for the 1 rule(s) given');
  });

  it('a problem with a key is reported at the line of the key, quoted or not, at the top level and in a case', () => {
    const d = mkdtempSync(path.join(tmp, 'keys-'));
    writeFileSync(path.join(d, 'ok.ndjson'), '{"@timestamp":"2025-01-01T00:00:00Z"}\n');
    const f = path.join(d, 'cases.toml');
    writeFileSync(
      f,
      [
        '# cases', // 1
        'rule = "r1"', // 2
        'ruel = "typo"', // 3
        '', // 4
        '[[case]]', // 5
        'name = "one"', // 6
        'events = "ok.ndjson"', // 7
        '"expcet" = "none"', // 8
        '', // 9
        '[[case]]', // 10
        'name = "two"', // 11
        'events = "ok.ndjson"', // 12
        '', // 13
        'alerts = 1.5', // 14
        '', // 15
        '[[case]]', // 16
        'name = "three"', // 17
        'events = "ok.ndjson"', // 18
        'matches = [["ok.ndjson:1"]]', // 19
        'expect = "none"', // 20
      ].join('\n') + '\n',
    );
    expect(readCaseFile(f).problems).toEqual([
      { file: f, line: 3, reason: 'unknown top-level key "ruel" (expected rule and [[case]] tables)' },
      { file: f, line: 8, reason: 'case 1: unknown key "expcet" (expected name, events, expect, alerts, matches, rule, index, description)' },
      { file: f, line: 14, reason: 'case 2: "two": alerts must be a whole number' },
      { file: f, line: 20, reason: 'case 3: "three": give one of expect, alerts or matches, not expect and matches' },
    ]);
  });

  it('EVTX event files: events are referred to by record id', async () => {
    const d = rulesCopy();
    const testDir = path.join(d, 'windows/initial_access_scripts_process_started_via_wmi.test');
    writeFileSync(path.join(testDir, 'sysmon.evtx'), sysmonEvtx());
    writeFileSync(
      path.join(testDir, 'evtx.toml'),
      '[[case]]\nname = "Sysmon EVTX: image load then WMI child"\nevents = "sysmon.evtx"\nmatches = [["sysmon.evtx:r501", "sysmon.evtx:r503"]]\n',
    );
    const c = io();
    expect(await runTestCommand([d], { case: ['Sysmon EVTX*'] }, c.io)).toBe(0);
    expect(c.out()).toContain('  PASS  Sysmon EVTX: image load then WMI child  (1 alert)\n');
  });

  it('compares matches as a multiset: order of alerts is free, order inside a sequence is not', () => {
    const a = (refs: string[]) => ({ refs, time: 't', reason: 'r' });
    expect(compare({ kind: 'matches', matches: [['b'], ['a']] }, [a(['a']), a(['b'])]).status).toBe('pass');
    expect(compare({ kind: 'matches', matches: [['a', 'b']] }, [a(['b', 'a'])]).diff).toEqual(['+ [b, a]  t  r', '- [a, b]  (expected, not raised)']);
    expect(compare({ kind: 'matches', matches: [['a'], ['a']] }, [a(['a'])]).message).toBe('expected 2 alerts, got 1: 1 expected alert(s) not raised');
    expect(compare({ kind: 'count', alerts: 0 }, []).status).toBe('pass');
  });
});

/** A small Sysmon/Operational EVTX: wscript loads wmiutils.dll, an unrelated start, WmiPrvSE starts mshta. */
function sysmonEvtx(): Buffer {
  const w = new ChunkWriter();
  const ft = (iso: string) => BigInt(Date.parse(iso)) * 10_000n + 116_444_736_000_000_000n;
  const records: [number, number, string, Record<string, string>][] = [
    [501, 7, '2025-03-10T08:00:00.000Z', { UtcTime: '2025-03-10 08:00:00.000', ProcessGuid: '{aaaaaaaa-0000-0000-0000-000000000001}', ProcessId: '5124', Image: 'C:\\Windows\\System32\\wscript.exe', ImageLoaded: 'C:\\Windows\\System32\\wbem\\wmiutils.dll', OriginalFileName: 'wmiutils.dll', Signed: 'true', Signature: 'Microsoft Windows', SignatureStatus: 'Valid', User: 'CORP\\alice.martin' }],
    [502, 1, '2025-03-10T08:00:01.000Z', { UtcTime: '2025-03-10 08:00:01.000', ProcessGuid: '{aaaaaaaa-0000-0000-0000-000000000002}', ProcessId: '6000', Image: 'C:\\Windows\\System32\\notepad.exe', OriginalFileName: 'NOTEPAD.EXE', CommandLine: 'notepad.exe', User: 'CORP\\alice.martin', ParentImage: 'C:\\Windows\\explorer.exe', ParentCommandLine: 'explorer.exe', ParentProcessGuid: '{aaaaaaaa-0000-0000-0000-000000000009}', ParentProcessId: '900' }],
    [503, 1, '2025-03-10T08:00:02.500Z', { UtcTime: '2025-03-10 08:00:02.500', ProcessGuid: '{aaaaaaaa-0000-0000-0000-000000000003}', ProcessId: '7310', Image: 'C:\\Windows\\System32\\mshta.exe', OriginalFileName: 'MSHTA.EXE', CommandLine: 'mshta.exe http://x/a.hta', User: 'CORP\\alice.martin', ParentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', ParentCommandLine: 'wmiprvse.exe -Embedding', ParentProcessGuid: '{aaaaaaaa-0000-0000-0000-000000000008}', ParentProcessId: '2100' }],
  ];
  for (const [id, eventId, iso, data] of records) {
    const keys = Object.keys(data);
    const tpl: ElSpec = { name: 'EventData', children: keys.map((k, i) => ({ name: 'Data', attrs: [['Name', [k]]] as [string, string[]][], children: [{ sub: i }] })) };
    w.record(id, ft(iso), (w) => {
      w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      const nested = v.nested((w) => {
        w.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
        w.templateInstance(`sysmon${eventId}`, tpl, keys.map((k) => v.str(data[k]!)));
        w.u8(0x00);
      });
      w.templateInstance('event', EVENT_TEMPLATE, [
        v.str('Microsoft-Windows-Sysmon'),
        v.null(),
        v.u16(eventId),
        v.u64(ft(iso), 0x11),
        v.u64(BigInt(id)),
        v.null(),
        v.str('Microsoft-Windows-Sysmon/Operational'),
        v.str('WS-FIN-100.corp.example.com'),
        nested,
      ]);
      w.u8(0x00);
    });
  }
  return buildFile([w.finish()]);
}
