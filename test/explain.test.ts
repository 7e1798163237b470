// `eqlite explain`: why a rule did (not) fire — per stage and condition, near misses, and how
// partial sequences ended — computed with the engine's own compiled conditions.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainRule, type Explanation } from '../src/explain/explain.js';
import { formatExplanation } from '../src/explain/format.js';
import { hunt } from '../src/detect/hunt.js';
import { buildRule, defaultRulesDir, loadRules } from '../src/rules/load.js';
import type { ExceptionList, Rule } from '../src/rules/types.js';
import { runExplain } from '../src/cli/explain.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'eqlite-explain-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SEED = loadRules([defaultRulesDir()]).rules[0]!;
const T = 'rules/windows/initial_access_scripts_process_started_via_wmi.test';
const shared = path.resolve(import.meta.dirname, '../../shared');

function rule(query: string, extra: Record<string, unknown> = {}): Rule {
  const r = buildRule({ rule_id: 'r-test', name: 'Test rule', type: 'eql', language: 'eql', index: ['logs-*'], severity: 'low', risk_score: 21, query, ...extra }, { file: 'test.toml' });
  if (typeof r === 'string') throw new Error(r);
  return r;
}

let n = 0;
function events(docs: Record<string, unknown>[]): string {
  const f = path.join(tmp, `e${++n}.ndjson`);
  writeFileSync(f, docs.map((d) => JSON.stringify({ data_stream: { type: 'logs', dataset: 'test', namespace: 'default' }, ...d })).join('\n') + '\n');
  return f;
}
const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, 0) + s * 1000).toISOString();
const proc = (s: number, name: string, more: Record<string, unknown> = {}) => ({ '@timestamp': at(s), event: { category: 'process', type: 'start' }, host: { id: 'h1' }, process: { name }, ...more });

describe('explain: the seed rule on its test data', () => {
  it('a near miss: stage 1 matches, stage 2 fails only on the original-file-name/executable condition', async () => {
    const x = await explainRule({ rule: SEED, inputs: [`${T}/no-original-file-name-system32.ndjson`] });
    expect(x.results).toBe(0);
    expect(x.inconsistent).toBe(0);
    expect(x.stages.map((s) => [s.label, s.passed, s.inCategory])).toEqual([
      ['stage 1', 1, 2],
      ['stage 2', 0, 1],
    ]);
    const s2 = x.stages[1]!;
    expect(s2.conditions.map((c) => [c.condition, c.passed, c.failed, c.failedAlone])).toEqual([
      ['host.os.type == "windows"', 1, 0, 0],
      ['event.type == "start"', 1, 0, 0],
      ['process.parent.name : "wmiprvse.exe"', 1, 0, 0],
      ['user.domain != "NT AUTHORITY"', 1, 0, 0],
      [expect.stringMatching(/^\(process\.pe\.original_file_name : \( "cscript\.exe", .* "msiexec\.exe" \) or process\.executable : \("C:\\\\Users\\\\\*\.exe", "C:\\\\ProgramData\\\\\*\.exe"\)\)$/), 0, 1, 1],
    ]);
    expect(s2.nearMisses).toHaveLength(1);
    expect(s2.nearMisses[0]!.failed[0]!.values).toEqual([
      { field: 'process.pe.original_file_name' },
      { field: 'process.executable', value: 'C:\\Windows\\System32\\rundll32.exe' },
    ]);
    const best = x.sequences!.furthest[0]!;
    expect(best).toMatchObject({ matched: 1, waitingFor: 'stage 2', keyValues: ['3f1c9a52-0d6e-4f7a-9b1e-2c8d4e6f8a01'], reason: 'end' });
    expect(best.evidence.closest).toHaveLength(1);
    expect(best.evidence.closest[0]!.afterMs).toBe(1500);
    expect(x.verdict).toBe(
      'no alert: the furthest partial sequence matched 1 of 2 stages; stage 2 never matched before the data ended: the closest stage 2 event with the same key (+1.5 s) failed ' +
        '(process.pe.original_file_name : (…) or process.executable : (…)) [process.pe.original_file_name missing, process.executable = "C:\\Windows\\System32\\rundll32.exe"]',
    );
  });

  it('maxspan: the next stage came 1 ms too late', async () => {
    const x = await explainRule({ rule: SEED, inputs: [`${T}/maxspan-5001ms.ndjson`] });
    const d = x.sequences!.furthest[0]!;
    expect(d.reason).toBe('maxspan');
    expect(d.evidence.late).toMatchObject({ overMs: 1, event: { time: '2025-03-10T08:00:05.001Z' } });
    expect(x.sequences!.deadEnds).toEqual({ maxspan: 1, end: 0, until: 0, replaced: 0, missing: 0 });
    expect(x.verdict).toBe('no alert: the furthest partial sequence matched 1 of 2 stages; stage 2 never matched within maxspan: a stage 2 event with the same key came 1 ms too late');
  });

  it('join key mismatch, with both values; order of stages', async () => {
    const x = await explainRule({ rule: SEED, inputs: [`${T}/other-host.ndjson`] });
    const d = x.sequences!.furthest[0]!;
    expect(d.keyValues).toEqual(['3f1c9a52-0d6e-4f7a-9b1e-2c8d4e6f8a01']);
    expect(d.evidence.otherKey).toMatchObject({ keyValues: ['9a7d2e41-5b3c-4e8f-a6d0-1f2e3d4c5b6a'], afterMs: 1500 });
    expect(formatExplanation(x)).toContain(
      `     a stage 2 event came 1.5 s later with another join key: host.id = "9a7d2e41-5b3c-4e8f-a6d0-1f2e3d4c5b6a" (${T}/other-host.ndjson:2  2025-03-10T08:00:01.500Z)\n`,
    );
    const y = await explainRule({ rule: SEED, inputs: [`${T}/child-before-load.ndjson`] });
    expect(y.sequences!.furthest[0]!.evidence.before).toMatchObject({ beforeMs: 1500 });
  });

  it('events outside the rule indices are never searched, and the explanation says which stage they would match', async () => {
    const x = await explainRule({ rule: SEED, inputs: [`${T}/index-not-covered.ndjson`] });
    expect(x.input).toMatchObject({ events: 2, searched: 0, notInIndex: 2, otherIndices: [{ index: 'logs-custom.library-default', events: 1 }, { index: 'logs-custom.process-default', events: 1 }] });
    expect(x.stages.map((s) => s.outOfScope.index)).toEqual([1, 1]);
    expect(x.stages[1]!.outOfScope.examples[0]).toMatchObject({ reason: 'index', event: { index: 'logs-custom.process-default' } });
    expect(x.verdict).toMatch(/^no alert: the rule searched no event — none of the 2 events is in the rule's indices \(winlogbeat-\*, /);
  });

  it('a firing rule: the matches, and agreement with hunt on the sample data', async () => {
    const x = await explainRule({ rule: SEED, inputs: ['examples/windows-sample.ndjson'] });
    const h = await hunt({ rules: [SEED], inputs: ['examples/windows-sample.ndjson'], threads: 0 });
    expect(x.results).toBe(h.stats.perRule[0]!.results);
    expect(x.results).toBe(9);
    expect(x.inconsistent).toBe(0);
    expect(x.verdict).toBe('the rule fires: 9 matching sequences');
    expect(x.resultEvents).toHaveLength(5);
    expect(x.sequences!.completed).toBe(9);
    // Near-miss scenarios of the sample are explained: the maxspan one came too late.
    const late = x.sequences!.furthest.filter((d) => d.evidence.late);
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((d) => d.evidence.late!.overMs > 0)).toBe(true);
    expect(x.sequences!.furthest.length).toBeLessThanOrEqual(10);
  });
});

describe('explain: other query shapes', () => {
  it('an event query: events that failed exactly one condition, with the value', async () => {
    const r = rule('process where process.name : "whoami.exe" and process.parent.name == "cmd.exe" and user.name != "SYSTEM"');
    const f = events([
      proc(1, 'whoami.exe', { process: { name: 'whoami.exe', parent: { name: 'powershell.exe' } }, user: { name: 'bob' } }),
      proc(2, 'net.exe', { process: { name: 'net.exe', parent: { name: 'cmd.exe' } }, user: { name: 'bob' } }),
      proc(3, 'whoami.exe', { process: { name: 'whoami.exe', parent: { name: 'cmd.exe' } }, user: { name: 'SYSTEM' } }),
      { '@timestamp': at(4), event: { category: 'network' } },
    ]);
    const x = await explainRule({ rule: r, inputs: [f] });
    expect(x.results).toBe(0);
    const s = x.stages[0]!;
    expect([s.searched, s.inCategory, s.passed]).toEqual([4, 3, 0]);
    expect(s.conditions.map((c) => [c.condition, c.failed, c.failedAlone])).toEqual([
      ['process.name : "whoami.exe"', 1, 1],
      ['process.parent.name == "cmd.exe"', 1, 1],
      ['user.name != "SYSTEM"', 1, 1],
    ]);
    expect(s.nearMisses.map((m) => [m.event.where.replace(/^.*\//, ''), m.failed[0]!.condition, m.failed[0]!.values])).toEqual([
      ['e' + n + '.ndjson:1', 'process.parent.name == "cmd.exe"', [{ field: 'process.parent.name', value: 'powershell.exe' }]],
      ['e' + n + '.ndjson:2', 'process.name : "whoami.exe"', [{ field: 'process.name', value: 'net.exe' }]],
      ['e' + n + '.ndjson:3', 'user.name != "SYSTEM"', [{ field: 'user.name', value: 'SYSTEM' }]],
    ]);
    expect(x.sequences).toBe(null);
    expect(x.verdict).toBe('no alert: no event matched — 1 event failed only on process.name : "whoami.exe"');
  });

  it('until, replaced partials and missing-event terms', async () => {
    const r = rule('sequence by host.id with maxspan=1m [process where process.name == "a"] [process where process.name == "b"] until [process where process.name == "stop"]');
    const x = await explainRule({ rule: r, inputs: [events([proc(1, 'a'), proc(2, 'stop'), proc(3, 'b')])] });
    expect(x.results).toBe(0);
    expect(x.sequences!.furthest[0]).toMatchObject({ reason: 'until', detail: `an until event at ${at(2)} ended it before stage 2 matched` });

    const y = await explainRule({ rule: rule('sequence by host.id [process where process.name == "a"] [process where process.name == "b"]'), inputs: [events([proc(1, 'a'), proc(2, 'a'), proc(3, 'b')])] });
    expect(y.results).toBe(1);
    expect(y.sequences!.deadEnds.replaced).toBe(1);
    expect(y.sequences!.furthest[0]!.detail).toMatch(/^a newer partial sequence with the same join key started at 2025-01-01T00:00:02\.000Z \(.*:2\); only the newest per key can advance$/);

    const z = await explainRule({
      rule: rule('sequence by host.id with maxspan=1m [process where process.name == "a"] ![process where process.name == "x"] [process where process.name == "b"]'),
      inputs: [events([proc(1, 'a'), proc(2, 'x'), proc(3, 'b')])],
    });
    expect(z.results).toBe(0);
    expect(z.sequences!.completed).toBe(1);
    expect(z.sequences!.furthest[0]).toMatchObject({ reason: 'missing', matched: 2 });
    expect(z.stages.map((s) => [s.label, s.passed])).toEqual([
      ['stage 1', 1],
      ['missing stage 2', 1],
      ['stage 3', 1],
    ]);
  });

  it('events withheld by an exception name the exception item', async () => {
    const r = rule('process where process.name == "a"', { exceptions_list: [{ id: 'l1', list_id: 'l1', namespace_type: 'single', type: 'rule_default' }] });
    const lists: ExceptionList[] = [
      {
        list_id: 'l1',
        name: 'known tools',
        namespace_type: 'single',
        type: 'rule_default',
        items: [{ item_id: 'i1', list_id: 'l1', name: 'build server', namespace_type: 'single', entries: [{ type: 'match', field: 'host.id', operator: 'included', value: 'h1' }] }],
      },
    ];
    const x = await explainRule({ rule: r, exceptionLists: lists, inputs: [events([proc(1, 'a'), proc(2, 'a', { host: { id: 'h2' } })])] });
    expect(x.results).toBe(1);
    expect(x.input.excepted).toBe(1);
    expect(x.stages[0]!.outOfScope.exception).toBe(1);
    expect(x.stages[0]!.outOfScope.examples[0]!.exceptions).toEqual([{ list_id: 'l1', item_id: 'i1', name: 'build server' }]);
    expect(formatExplanation(x)).toMatch(/excepted by "build server" \(l1\/i1\)\n/);
  });

  it('keeps memory bounded on many partial sequences: examples and dead ends are capped, counts exact', async () => {
    const docs: Record<string, unknown>[] = [];
    for (let i = 0; i < 5000; i++) docs.push(proc(i, 'a', { host: { id: `h${i % 400}` } }), proc(i + 0.5, i % 2 ? 'c' : 'b', { host: { id: `h${(i + 1) % 400}` } }));
    const r = rule('sequence by host.id with maxspan=2s [process where process.name == "a"] [process where process.name == "b" and process.pid == 1]');
    const x = await explainRule({ rule: r, inputs: [events(docs)] });
    expect(x.results).toBe(0);
    expect(x.sequences!.reached[0]).toBe(5000);
    const ends = Object.values(x.sequences!.deadEnds).reduce((a, b) => a + b, 0);
    expect(ends).toBe(5000);
    expect(x.sequences!.furthest).toHaveLength(10);
    expect(x.stages[1]!.nearMisses.length).toBeLessThanOrEqual(5);
    expect(x.stages[1]!.conditions.map((c) => c.failed)).toEqual([7500, 10000]);
    for (const d of x.sequences!.furthest) expect(d.evidence.closest.length).toBeLessThanOrEqual(3);
  });
});

describe('explain: input order', () => {
  it('input out of order beyond the reorder window is sorted, not skipped: the same explanation', async () => {
    const r = rule('sequence by host.id with maxspan=5s [process where process.name == "a"] [process where process.name == "b"]');
    // 300 a/b pairs two seconds apart; then the first pair is moved to the end, far beyond the
    // merge's first reorder buffer (256 events).
    const docs = Array.from({ length: 600 }, (_, i) => proc(i * 2, i % 2 === 0 ? 'a' : 'b', { host: { id: `h${i >> 1}` } }));
    const sorted = await explainRule({ rule: r, inputs: [events(docs)] });
    const moved = await explainRule({ rule: r, inputs: [events([...docs.slice(2), ...docs.slice(0, 2)])] });
    expect([sorted.results, sorted.sequences!.completed]).toEqual([100, 300]);
    expect(moved.input.skipped).toBe(0);
    expect([moved.results, moved.input.events, moved.sequences!.completed, moved.verdict]).toEqual([100, 600, 300, sorted.verdict]);
    expect(moved.stages.map((s) => [s.passed, s.searched])).toEqual(sorted.stages.map((s) => [s.passed, s.searched]));
  });
});

describe('eqlite explain CLI', () => {
  it('prints text and JSON, and fails with exit 2 on an unknown rule', async () => {
    let out = '';
    let err = '';
    const io = { out: (s: string) => (out += s), err: (s: string) => (err += s) };
    expect(await runExplain([`${T}/no-original-file-name-system32.ndjson`], { rule: 'b64b183e' }, io)).toBe(0);
    expect(out.split('\n').slice(0, 3)).toEqual([
      'rule     Windows Script Interpreter Executing Process via WMI (b64b183e-1a76-422d-9179-7b389513e74d)',
      'query    sequence of 2 stages by host.id with maxspan 5 s',
      'input    2 events; 2 searched by the rule',
    ]);
    expect(out).toContain('\n  near misses (failed exactly one condition):\n');
    expect(out).toContain('\n         process.pe.original_file_name missing, process.executable = "C:\\Windows\\System32\\rundll32.exe"\n');
    out = '';
    expect(await runExplain([`${T}/positive-defend.ndjson`], { rule: 'Windows Script Interpreter Executing Process via WMI', json: true }, io)).toBe(0);
    const j = JSON.parse(out) as Explanation;
    expect(j.results).toBe(1);
    expect(j.resultEvents[0]!.map((e) => e.where)).toEqual([`${T}/positive-defend.ndjson:2`, `${T}/positive-defend.ndjson:3`]);
    err = '';
    expect(await runExplain([`${T}/positive-defend.ndjson`], { rule: 'nope' }, io)).toBe(2);
    expect(err).toBe('error: no rule with rule_id or name "nope" among 1 loaded rule(s)\n');
    err = '';
    expect(await runExplain(['missing.ndjson'], { rule: 'b64b183e' }, io)).toBe(2);
    expect(err).toBe('error: cannot read missing.ndjson: no such file or directory\n');
  });

  const evtx = path.join(shared, 'corpus/evtx/sysmon-wmi-cscript-comsvcs.evtx');
  it.skipIf(!existsSync(evtx))('the EVTX sample: stage 1 matches, stage 2 fails on the original file name / executable (needs ../shared)', async () => {
    const x = await explainRule({ rule: SEED, inputs: [evtx] });
    expect(x.results).toBe(0);
    expect(x.inconsistent).toBe(0);
    expect(x.stages[0]!.passed).toBe(1);
    expect(x.stages[1]!.passed).toBe(0);
    const best = x.sequences!.furthest[0]!;
    expect(best.matched).toBe(1);
    expect(best.keyValues).toEqual(['793f23ce-c4c7-5959-a51c-63fb1c8d65f0']);
    const c = best.evidence.closest[0]!;
    expect(c.event.where).toBe(`${evtx} record 4`);
    expect(c.afterMs).toBe(204);
    expect(c.failed).toHaveLength(1);
    expect(c.failed[0]!.condition).toMatch(/^\(process\.pe\.original_file_name : \(/);
    expect(c.failed[0]!.values).toEqual([{ field: 'process.pe.original_file_name' }, { field: 'process.executable', value: 'C:\\Windows\\System32\\rundll32.exe' }]);
    expect(x.verdict).toContain('the closest stage 2 event with the same key (+204 ms) failed (process.pe.original_file_name : (…) or process.executable : (…)) [process.pe.original_file_name missing, process.executable = "C:\\Windows\\System32\\rundll32.exe"]');
  });

  const toml = path.join(shared, 'corpus/elastic-rules/toml');
  it.skipIf(!existsSync(toml))('agrees with hunt for every Elastic EQL rule that sees the sample data (needs ../shared)', async () => {
    const rules = loadRules([toml]).rules.filter((r) => !r.unsupported);
    const inputs = ['examples/windows-sample.ndjson'];
    const h = await hunt({ rules, inputs, threads: 0 });
    const seen = h.stats.perRule.filter((s) => s.dispatched > 0);
    // The router hands an event only to rules one of whose terms it can meet (category and an
    // anchor of each of the term's requirements, wildcard pieces included): 65 rules are offered
    // some event of the sample (80 before the requirements an `or` of conjunctions implies and
    // characters outside ASCII; 82 before checks of exclusions and regular expressions on values;
    // 86 before ranges of numbers and existence tests; 119 before anchors
    // from short pieces, regular expressions, booleans and host.os.type gates; 194 when only a
    // term's best requirement was looked at).
    expect(seen.length).toBe(65);
    // A deterministic sample of them keeps the test short; the full check ran on all (see README).
    for (const s of seen.filter((_, i) => i % 9 === 0)) {
      const x = await explainRule({ rule: rules.find((r) => r.rule_id === s.rule_id)!, inputs });
      expect([s.name, x.results, x.inconsistent]).toEqual([s.name, s.results, 0]);
    }
  });
});
