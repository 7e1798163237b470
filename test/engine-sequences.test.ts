// Sequences (docs/eql-language.md §7): stage matching, maxspan, join keys, until, runs, missing
// events, output order, pipes; plus the seed rule on hand-built events and a streaming-memory bound.
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/engine/index.js';
import { compilePredicate, compileValue } from '../src/engine/expr.js';
import { SequenceMatcher, type SequenceSpec, type StageSpec } from '../src/engine/sequence.js';
import { parseExpression } from '../src/eql/index.js';
import { parseInstant } from '../src/events/time.js';
import type { EventDoc } from '../src/events/types.js';

type Src = Record<string, unknown>;

const BASE = Date.UTC(2024, 0, 1, 12, 0, 0);

/** Documents with ids 1..n; `t` (ms after BASE) becomes @timestamp. */
function docs(rows: (Src & { t: number })[]): EventDoc[] {
  return rows.map(({ t, ...rest }, i) => ({
    source: { '@timestamp': new Date(BASE + t).toISOString(), ...rest },
    index: 'test',
    id: String(i + 1),
  }));
}

interface Seq {
  ids: (number | null)[];
  keys: unknown[];
}

function run(query: string, rows: (Src & { t: number })[], options: CompileOptions = {}): Seq[] {
  return compile(query, options)
    .run(docs(rows))
    .map((r) => {
      if (r.kind !== 'sequence') throw new Error('expected sequences');
      return { ids: r.events.map((e) => (e ? Number(e.id) : null)), keys: r.joinKeys };
    });
}

const ids = (query: string, rows: (Src & { t: number })[], options: CompileOptions = {}) =>
  run(query, rows, options).map((s) => s.ids);

describe('stages', () => {
  it('[x<5][x<5] over events 1..4 gives 1,2 / 2,3 / 3,4', () => {
    const rows = [1, 2, 3, 4].map((x) => ({ t: x * 1000, x }));
    expect(ids('sequence [any where x < 5] [any where x < 5]', rows)).toEqual([
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
  });
  it('a later stage needs a strictly later event', () => {
    const rows = [{ t: 0, s: 2 }, { t: 0, s: 1 }, { t: 1, s: 2 }];
    expect(ids('sequence [any where s == 1] [any where s == 2]', rows)).toEqual([[2, 3]]);
  });
  it('categories are checked per stage', () => {
    const rows = [
      { t: 0, event: { category: 'process' }, n: 1 },
      { t: 1, event: { category: 'file' }, n: 1 },
      { t: 2, event: { category: 'network' }, n: 1 },
    ];
    expect(ids('sequence [process where n == 1] [network where n == 1]', rows)).toEqual([[1, 3]]);
  });
  it('the newest pending sequence of a stage and key wins', () => {
    const rows = [{ t: 0, s: 1 }, { t: 1, s: 1 }, { t: 2, s: 2 }, { t: 3, s: 2 }];
    expect(ids('sequence [any where s == 1] [any where s == 2]', rows)).toEqual([[2, 3]]);
  });
  it('three stages advance independently', () => {
    const rows = [{ t: 0, s: 1 }, { t: 1, s: 2 }, { t: 2, s: 1 }, { t: 3, s: 3 }, { t: 4, s: 2 }, { t: 5, s: 3 }];
    expect(ids('sequence [any where s == 1] [any where s == 2] [any where s == 3]', rows)).toEqual([
      [1, 2, 4],
      [3, 5, 6],
    ]);
  });
});

describe('maxspan', () => {
  const q = 'sequence with maxspan=5s [any where s == 1] [any where s == 2]';
  it('is inclusive: exactly 5000 ms passes, 5001 fails', () => {
    expect(ids(q, [{ t: 0, s: 1 }, { t: 5000, s: 2 }])).toEqual([[1, 2]]);
    expect(ids(q, [{ t: 0, s: 1 }, { t: 5001, s: 2 }])).toEqual([]);
  });
  it('units: 500ms and 1m', () => {
    expect(ids('sequence with maxspan=500ms [any where s == 1] [any where s == 2]', [{ t: 0, s: 1 }, { t: 500, s: 2 }])).toEqual([[1, 2]]);
    expect(ids('sequence with maxspan=500ms [any where s == 1] [any where s == 2]', [{ t: 0, s: 1 }, { t: 501, s: 2 }])).toEqual([]);
    expect(ids('sequence with maxspan=1m [any where s == 1] [any where s == 2]', [{ t: 0, s: 1 }, { t: 60000, s: 2 }])).toEqual([[1, 2]]);
    expect(ids('sequence with maxspan=1m [any where s == 1] [any where s == 2]', [{ t: 0, s: 1 }, { t: 60001, s: 2 }])).toEqual([]);
  });
  it('is measured from the first event of the sequence', () => {
    const q3 = 'sequence with maxspan=5s [any where s == 1] [any where s == 2] [any where s == 3]';
    expect(ids(q3, [{ t: 0, s: 1 }, { t: 3000, s: 2 }, { t: 5000, s: 3 }])).toEqual([[1, 2, 3]]);
    expect(ids(q3, [{ t: 0, s: 1 }, { t: 3000, s: 2 }, { t: 6000, s: 3 }])).toEqual([]);
  });
  it('has nanosecond precision on a date_nanos timestamp field (a date field holds milliseconds: see below)', () => {
    const mk = (a: string, b: string): EventDoc[] => [
      { source: { '@timestamp': a, s: 1 }, index: 'i', id: '1' },
      { source: { '@timestamp': b, s: 2 }, index: 'i', id: '2' },
    ];
    const c = compile(q, { fieldType: (f) => (f === '@timestamp' ? 'date_nanos' : undefined) });
    expect(c.run(mk('2024-01-01T00:00:00.000000100Z', '2024-01-01T00:00:05.000000100Z'))).toHaveLength(1);
    expect(c.run(mk('2024-01-01T00:00:00.000000100Z', '2024-01-01T00:00:05.000000101Z'))).toHaveLength(0);
  });
  it('an expired candidate is dropped together with the event that found it; no fallback', () => {
    // 1 starts a sequence, 2 (after 5 s) kills it and is itself not matched; 3 starts anew.
    const rows = [{ t: 0, s: 1 }, { t: 6000, s: 2 }, { t: 6001, s: 1 }, { t: 7000, s: 2 }];
    expect(ids(q, rows)).toEqual([[3, 4]]);
  });
});

describe('join keys', () => {
  it('sequence-level keys', () => {
    const rows = [
      { t: 0, s: 1, host: 'a' },
      { t: 1, s: 1, host: 'b' },
      { t: 2, s: 2, host: 'a' },
      { t: 3, s: 2, host: 'c' },
    ];
    expect(run('sequence by host [any where s == 1] [any where s == 2]', rows)).toEqual([{ ids: [1, 3], keys: ['a'] }]);
  });
  it('compares values across differently named fields', () => {
    const rows = [
      { t: 0, s: 1, pid: 10 },
      { t: 1, s: 2, ppid: 11 },
      { t: 2, s: 2, ppid: 10 },
    ];
    expect(run('sequence [any where s == 1] by pid [any where s == 2] by ppid', rows)).toEqual([{ ids: [1, 3], keys: [10] }]);
  });
  it('sequence-level keys come before per-term keys in join_keys', () => {
    const rows = [
      { t: 0, s: 1, host: 'h', user: 'u1' },
      { t: 1, s: 2, host: 'h', owner: 'u1' },
    ];
    expect(run('sequence by host [any where s == 1] by user [any where s == 2] by owner', rows)).toEqual([
      { ids: [1, 2], keys: ['h', 'u1'] },
    ]);
  });
  it('null keys exclude the event unless the key is optional', () => {
    const rows = [{ t: 0, s: 1 }, { t: 1, s: 2 }, { t: 2, s: 1, k: null }, { t: 3, s: 2, k: [] }];
    expect(ids('sequence by k [any where s == 1] [any where s == 2]', rows)).toEqual([]);
    expect(run('sequence by ?k [any where s == 1] [any where s == 2]', rows)).toEqual([
      { ids: [1, 2], keys: [null] },
      { ids: [3, 4], keys: [null] },
    ]);
  });
  it('an optional key: null equals null but not a value', () => {
    const rows = [{ t: 0, s: 1 }, { t: 1, s: 2, k: 'x' }, { t: 2, s: 1, k: 'x' }, { t: 3, s: 2 }];
    expect(ids('sequence by ?k [any where s == 1] [any where s == 2]', rows)).toEqual([[1, 4]]);
  });
  it('multi-valued keys: each value is a key', () => {
    const rows = [{ t: 0, s: 1, k: ['a', 'b'] }, { t: 1, s: 2, k: 'b' }];
    expect(run('sequence by k [any where s == 1] [any where s == 2]', rows)).toEqual([{ ids: [1, 2], keys: ['b'] }]);
  });
  it('multi-valued keys: one event can complete one sequence per value', () => {
    const rows = [{ t: 0, s: 1, k: 'a' }, { t: 1, s: 1, k: 'b' }, { t: 2, s: 2, k: ['a', 'b', null] }];
    const out = run('sequence by k [any where s == 1] [any where s == 2]', rows);
    expect(out.map((s) => JSON.stringify(s)).sort()).toEqual(
      [{ ids: [1, 3], keys: ['a'] }, { ids: [2, 3], keys: ['b'] }].map((s) => JSON.stringify(s)).sort(),
    );
  });
  it('several multi-valued keys give the Cartesian product', () => {
    const rows = [
      { t: 0, s: 1, a: ['x', 'y'], b: [1, 2] },
      { t: 1, s: 2, a: 'y', b: 2 },
      { t: 2, s: 2, a: 'x', b: 3 },
    ];
    expect(run('sequence by a, b [any where s == 1] [any where s == 2]', rows)).toEqual([{ ids: [1, 2], keys: ['y', 2] }]);
  });
});

describe('until', () => {
  const q = 'sequence by k [any where s == 1] [any where s == 2] until [any where s == 9]';
  it('an until event between the stages kills the pending sequence', () => {
    expect(ids(q, [{ t: 0, s: 1, k: 'a' }, { t: 1, s: 9, k: 'a' }, { t: 2, s: 2, k: 'a' }])).toEqual([]);
  });
  it('an until event with another key does not', () => {
    expect(ids(q, [{ t: 0, s: 1, k: 'a' }, { t: 1, s: 9, k: 'b' }, { t: 2, s: 2, k: 'a' }])).toEqual([[1, 3]]);
  });
  it('an until event after completion does not matter and is never returned', () => {
    expect(ids(q, [{ t: 0, s: 1, k: 'a' }, { t: 1, s: 2, k: 'a' }, { t: 2, s: 9, k: 'a' }])).toEqual([[1, 2]]);
  });
  it('a new sequence after the until event can still complete', () => {
    const rows = [{ t: 0, s: 1, k: 'a' }, { t: 1, s: 9, k: 'a' }, { t: 2, s: 1, k: 'a' }, { t: 3, s: 2, k: 'a' }];
    expect(ids(q, rows)).toEqual([[3, 4]]);
  });
  it('an until event that is also the last matched event ends the sequence', () => {
    const q3 = 'sequence by k [any where s == 1] [any where s == 2] [any where s == 3] until [any where u == 1]';
    expect(ids(q3, [{ t: 0, s: 1, k: 'a' }, { t: 1, s: 2, u: 1, k: 'a' }, { t: 2, s: 3, k: 'a' }])).toEqual([]);
    expect(ids(q3, [{ t: 0, s: 1, k: 'a' }, { t: 1, s: 2, u: 0, k: 'a' }, { t: 2, s: 3, k: 'a' }])).toEqual([[1, 2, 3]]);
  });
  it('an until event that completes the sequence does not kill it', () => {
    const q2 = 'sequence by k [any where s == 1] [any where s == 2] until [any where u == 1]';
    expect(ids(q2, [{ t: 0, s: 1, k: 'a' }, { t: 1, s: 2, u: 1, k: 'a' }])).toEqual([[1, 2]]);
    expect(ids(q2, [{ t: 0, s: 1, u: 1, k: 'a' }, { t: 1, s: 2, k: 'a' }])).toEqual([]);
  });
});

describe('runs', () => {
  it('with runs=N is N copies of the term', () => {
    const q = 'sequence [any where s == 1] with runs=3 [any where s == 2]';
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1, s: 1 }, { t: 2, s: 1 }, { t: 3, s: 2 }])).toEqual([[1, 2, 3, 4]]);
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1, s: 1 }, { t: 3, s: 2 }])).toEqual([]);
  });
  it('overlapping runs share events', () => {
    const q = 'sequence [any where s == 1] with runs=2 [any where s == 2]';
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1, s: 1 }, { t: 2, s: 1 }, { t: 3, s: 2 }])).toEqual([[2, 3, 4]]);
  });
});

describe('missing events', () => {
  it('leading: kept when there is no earlier event, or it is older than maxspan before the last', () => {
    const q = 'sequence with maxspan=10s ![any where s == 0] [any where s == 1] [any where s == 2]';
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1000, s: 2 }])).toEqual([[null, 1, 2]]);
    expect(ids(q, [{ t: 0, s: 0 }, { t: 1000, s: 1 }, { t: 2000, s: 2 }])).toEqual([]);
    expect(ids(q, [{ t: 0, s: 0 }, { t: 9000, s: 1 }, { t: 10000, s: 2 }])).toEqual([]);
    expect(ids(q, [{ t: 0, s: 0 }, { t: 9000, s: 1 }, { t: 10001, s: 2 }])).toEqual([[null, 2, 3]]);
  });
  it('in-between: any such event strictly between the two stages rejects', () => {
    const q = 'sequence with maxspan=10s [any where s == 1] ![any where s == 0] [any where s == 2]';
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1000, s: 2 }])).toEqual([[1, null, 2]]);
    expect(ids(q, [{ t: 0, s: 1 }, { t: 500, s: 0 }, { t: 1000, s: 2 }])).toEqual([]);
    expect(ids(q, [{ t: 0, s: 0 }, { t: 500, s: 1 }, { t: 1000, s: 2 }])).toEqual([[2, null, 3]]);
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1000, s: 2 }, { t: 1500, s: 0 }])).toEqual([[1, null, 2]]);
  });
  it('trailing: rejected by an event within maxspan of the first event', () => {
    const q = 'sequence with maxspan=10s [any where s == 1] [any where s == 2] ![any where s == 0]';
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1000, s: 2 }])).toEqual([[1, 2, null]]);
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1000, s: 2 }, { t: 5000, s: 0 }])).toEqual([]);
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1000, s: 2 }, { t: 10000, s: 0 }])).toEqual([]);
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1000, s: 2 }, { t: 10001, s: 0 }])).toEqual([[1, 2, null]]);
  });
  it('missing events only count with the same key', () => {
    const q = 'sequence by k with maxspan=10s [any where s == 1] [any where s == 2] ![any where s == 0]';
    expect(ids(q, [{ t: 0, s: 1, k: 'a' }, { t: 1000, s: 2, k: 'a' }, { t: 2000, s: 0, k: 'b' }])).toEqual([[1, 2, null]]);
    expect(ids(q, [{ t: 0, s: 1, k: 'a' }, { t: 1000, s: 2, k: 'a' }, { t: 2000, s: 0, k: 'a' }])).toEqual([]);
  });
  it('leading and trailing: kept only if T − L > maxspan (or one is absent)', () => {
    const q = 'sequence with maxspan=10s ![any where s == 0] [any where s == 1] [any where s == 2] ![any where s == 3]';
    expect(ids(q, [{ t: 0, s: 0 }, { t: 5000, s: 1 }, { t: 6000, s: 2 }, { t: 10001, s: 3 }])).toEqual([[null, 2, 3, null]]);
    expect(ids(q, [{ t: 0, s: 0 }, { t: 5000, s: 1 }, { t: 6000, s: 2 }, { t: 10000, s: 3 }])).toEqual([]);
    expect(ids(q, [{ t: 5000, s: 1 }, { t: 6000, s: 2 }, { t: 7000, s: 3 }])).toEqual([[null, 1, 2, null]]);
    expect(ids(q, [{ t: 0, s: 0 }, { t: 5000, s: 1 }, { t: 6000, s: 2 }])).toEqual([[null, 2, 3, null]]);
  });
  it('a waiting trailing candidate holds back later output, keeping order by last event', () => {
    const q = 'sequence by k with maxspan=10s [any where s == 1] [any where s == 2] ![any where s == 0]';
    const rows = [
      { t: 0, s: 1, k: 'a' },
      { t: 1000, s: 2, k: 'a' },
      { t: 2000, s: 1, k: 'b' },
      { t: 3000, s: 2, k: 'b' },
      { t: 4000, s: 0, k: 'b' },
    ];
    expect(ids(q, rows)).toEqual([[1, 2, null]]);
  });
  it('missing terms with runs yield one placeholder per run', () => {
    const q = 'sequence with maxspan=10s [any where s == 1] ![any where s == 0] with runs=2 [any where s == 2]';
    expect(ids(q, [{ t: 0, s: 1 }, { t: 1000, s: 2 }])).toEqual([[1, null, null, 2]]);
  });
});

describe('output order, pipes and size', () => {
  const q = 'sequence by k [any where s == 1] [any where s == 2]';
  // Sequence a starts first but completes last.
  const rows = [
    { t: 0, s: 1, k: 'a' },
    { t: 1, s: 1, k: 'b' },
    { t: 2, s: 2, k: 'b' },
    { t: 3, s: 1, k: 'c' },
    { t: 4, s: 2, k: 'c' },
    { t: 5, s: 2, k: 'a' },
  ];
  it('sequences are ordered by their last event', () => {
    expect(run(q, rows)).toEqual([
      { ids: [2, 3], keys: ['b'] },
      { ids: [4, 5], keys: ['c'] },
      { ids: [1, 6], keys: ['a'] },
    ]);
  });
  it('| head and | tail keep ascending order', () => {
    expect(ids(`${q} | head 2`, rows)).toEqual([[2, 3], [4, 5]]);
    expect(ids(`${q} | tail 2`, rows)).toEqual([[4, 5], [1, 6]]);
    expect(ids(`${q} | head 2 | tail 1`, rows)).toEqual([[4, 5]]);
    expect(ids(`${q} | tail 2 | head 1`, rows)).toEqual([[4, 5]]);
    expect(ids(`${q} | head 0`, rows)).toEqual([]);
  });
  it('size keeps the last sequences (result_position tail, the default) or the first (head)', () => {
    expect(ids(q, rows, { size: 1 })).toEqual([[1, 6]]);
    expect(ids(q, rows, { size: 2 })).toEqual([[4, 5], [1, 6]]);
    expect(ids(q, rows, { size: 1, resultPosition: 'head' })).toEqual([[2, 3]]);
    expect(ids(q, rows, { size: 2, resultPosition: 'head' })).toEqual([[2, 3], [4, 5]]);
  });
  it("with pipes, size is a limit of the first pipe's kind beneath it (LogicalPlanBuilder)", () => {
    // | tail 2 with size 1: Tail(1) then tail 2 → the last sequence, whatever the position.
    expect(ids(`${q} | tail 2`, rows, { size: 1, resultPosition: 'head' })).toEqual([[1, 6]]);
    // | head 2 with size 1: Head(1) then head 2 → the first sequence, whatever the position.
    expect(ids(`${q} | head 2`, rows, { size: 1 })).toEqual([[2, 3]]);
    expect(ids(`${q} | head 2 | tail 1`, rows, { size: 10 })).toEqual([[4, 5]]);
  });
  it('a tail run reports how many results it found before cutting; a head run stops one past its limit', () => {
    const tail = compile(q, { size: 1 }).createRun();
    const head = compile(q, { size: 1, resultPosition: 'head' }).createRun();
    for (const ev of docs(rows)) {
      tail.push(ev);
      if (!head.done) head.push(ev);
    }
    expect(tail.finish()).toHaveLength(1);
    expect(tail.found).toBe(3);
    expect(head.done).toBe(true);
    expect(head.finish()).toHaveLength(1);
    expect(head.found).toBe(2);
  });
});

// The query of the seed rule "Windows Script Interpreter Executing Process via WMI"
// (rule_id b64b183e-1a76-422d-9179-7b389513e74d), embedded as test data.
const SEED_RULE = `
sequence by host.id with maxspan = 5s
    [any where host.os.type == "windows" and
     (event.category : ("library", "driver") or (event.category == "process" and event.action : "Image loaded*")) and
     (?dll.name : "wmiutils.dll" or file.name : "wmiutils.dll") and process.name : ("wscript.exe", "cscript.exe")]
    [process where host.os.type == "windows" and event.type == "start" and
     process.parent.name : "wmiprvse.exe" and
     user.domain != "NT AUTHORITY" and
     (process.pe.original_file_name :
        (
          "cscript.exe",
          "wscript.exe",
          "PowerShell.EXE",
          "Cmd.Exe",
          "MSHTA.EXE",
          "RUNDLL32.EXE",
          "REGSVR32.EXE",
          "MSBuild.exe",
          "InstallUtil.exe",
          "RegAsm.exe",
          "RegSvcs.exe",
          "msxsl.exe",
          "CONTROL.EXE",
          "EXPLORER.EXE",
          "Microsoft.Workflow.Compiler.exe",
          "msiexec.exe"
        ) or
      process.executable : ("C:\\\\Users\\\\*.exe", "C:\\\\ProgramData\\\\*.exe")
     )
    ]
`;

describe('seed rule: script interpreter executing a process via WMI', () => {
  const load = (t: number, host: string, extra: Src = {}) => ({
    t,
    host: { id: host, os: { type: 'windows' } },
    event: { category: 'library', action: 'load' },
    dll: { name: 'WMIUtils.dll' },
    process: { name: 'WScript.exe' },
    ...extra,
  });
  const start = (t: number, host: string, extra: Src = {}) => ({
    t,
    host: { id: host, os: { type: 'windows' } },
    event: { category: ['process'], type: ['start'] },
    user: { domain: 'CORP' },
    process: {
      name: 'powershell.exe',
      parent: { name: 'WmiPrvSE.exe' },
      pe: { original_file_name: 'PowerShell.EXE' },
      executable: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    },
    ...extra,
  });
  const fire = (rows: (Src & { t: number })[]) => run(SEED_RULE, rows);

  it('fires within 5 s on the same host.id, and at exactly 5 s', () => {
    expect(fire([load(0, 'h1'), start(4000, 'h1')])).toEqual([{ ids: [1, 2], keys: ['h1'] }]);
    expect(fire([load(0, 'h1'), start(5000, 'h1')])).toEqual([{ ids: [1, 2], keys: ['h1'] }]);
  });
  it('does not fire at 5.001 s', () => {
    expect(fire([load(0, 'h1'), start(5001, 'h1')])).toEqual([]);
  });
  it('does not fire for user.domain "NT AUTHORITY"', () => {
    expect(fire([load(0, 'h1'), start(1000, 'h1', { user: { domain: 'NT AUTHORITY' } })])).toEqual([]);
    // `!=` is case-sensitive, and a missing user.domain passes.
    expect(fire([load(0, 'h1'), start(1000, 'h1', { user: { domain: 'nt authority' } })])).toHaveLength(1);
    expect(fire([load(0, 'h1'), start(1000, 'h1', { user: {} })])).toHaveLength(1);
  });
  it('does not fire across hosts', () => {
    expect(fire([load(0, 'h1'), start(1000, 'h2')])).toEqual([]);
  });
  it('does not fire in reversed order', () => {
    expect(fire([start(0, 'h1'), load(1000, 'h1')])).toEqual([]);
  });
  it('matches through file.name, event.action and the executable path', () => {
    const viaFile = load(0, 'h1', { dll: undefined, file: { name: 'wmiutils.dll' }, event: { category: 'driver' } });
    const viaAction = load(0, 'h1', { event: { category: 'process', action: 'Image loaded (rule: ImageLoad)' } });
    const userExe = start(1000, 'h1', {
      process: { name: 'evil.exe', parent: { name: 'wmiprvse.exe' }, executable: 'C:\\Users\\bob\\evil.exe' },
    });
    const otherExe = start(1000, 'h1', {
      process: { name: 'evil.exe', parent: { name: 'wmiprvse.exe' }, executable: 'D:\\Users\\bob\\evil.exe' },
    });
    expect(fire([viaFile, start(1000, 'h1')])).toHaveLength(1);
    expect(fire([viaAction, start(1000, 'h1')])).toHaveLength(1);
    expect(fire([load(0, 'h1'), userExe])).toHaveLength(1);
    expect(fire([load(0, 'h1'), otherExe])).toEqual([]);
    expect(fire([load(0, 'h1', { process: { name: 'notepad.exe' } }), start(1000, 'h1')])).toEqual([]);
  });
});

describe('streaming memory', () => {
  /**
   * A matcher spec timed by `@timestamp` (epoch millis, from T0: as in Elasticsearch, a number of
   * four digits would be a year).
   */
  const T0 = 1_741_593_600_000;
  const spec = (stages: StageSpec[], maxspanMs: number): SequenceSpec => ({
    stages,
    until: null,
    maxspanMs,
    time: (ev: EventDoc) => parseInstant(ev.source['@timestamp']),
  });
  it('a sequence with maxspan over 200k events on 500 keys keeps liveSequences bounded', () => {
    const KEYS = 500;
    const N = 200_000;
    const stage = (cond: string): StageSpec => {
      const pred = compilePredicate(parseExpression(cond));
      return { filter: (ev) => pred(ev.source), keys: [compileValue(parseExpression('k'))], keyOptional: [false], keyNames: ['k'], missing: false };
    };
    let emitted = 0;
    const matcher = new SequenceMatcher(spec([stage('s == 0'), stage('s == 1'), stage('s == 2')], 1000), () => emitted++);
    // Event i: key i % 500, one event per millisecond. Stage s = floor(i / 500) % 4, so each key
    // sees s = 0, 1, 2, 3 in turn 500 ms apart: every key completes a sequence every 2000 ms
    // (0 → 1 → 2 spans 1000 ms, the maxspan, inclusive), and stage 3 matches nothing.
    let max = 0;
    const samples: number[] = [];
    for (let i = 0; i < N; i++) {
      const s = Math.floor(i / KEYS) % 4;
      matcher.push({ source: { '@timestamp': T0 + i, k: i % KEYS, s }, index: 'i', id: String(i) });
      const live = matcher.liveSequences;
      if (live > max) max = live;
      // i % 20000 == 999: the end of a block with s = 1, when every key is pending at stage 1.
      if (i % 20_000 === 999) samples.push(live);
    }
    matcher.finish();
    // At most one pending sequence per (non-final stage, key): 2 stages × 500 keys.
    expect(max).toBeLessThanOrEqual(2 * KEYS);
    // It is reached (all keys pending at stage 1 at once) and stays there: no growth with input.
    expect(max).toBe(KEYS);
    expect(samples).toEqual(Array<number>(N / 20_000).fill(KEYS));
    // Each 2000-event block of one key's life completes one sequence: N / 2000 blocks × 500 keys.
    expect(emitted).toBe((N / (4 * KEYS)) * KEYS);
  });

  it('with unique keys, maxspan expiry bounds the pending state', () => {
    const N = 200_000;
    const pred0 = compilePredicate(parseExpression('s == 0'));
    const pred1 = compilePredicate(parseExpression('s == 1'));
    const key = compileValue(parseExpression('k'));
    const matcher = new SequenceMatcher(
      spec(
        [
          { filter: (ev) => pred0(ev.source), keys: [key], keyOptional: [false], keyNames: ['k'], missing: false },
          { filter: (ev) => pred1(ev.source), keys: [key], keyOptional: [false], keyNames: ['k'], missing: false },
        ],
        100,
      ),
      () => undefined,
    );
    // Every event starts a sequence under a fresh key that never completes. Expired sequences
    // (start < now − maxspan) are swept after every 4096th push, leaving the 101 sequences that
    // started in [now − 100, now]; the next 4095 pushes add one each before the next sweep:
    // 101 + 4095 = 4196 at most, whatever N is.
    let max = 0;
    for (let i = 0; i < N; i++) {
      matcher.push({ source: { '@timestamp': T0 + i, k: i, s: 0 }, index: 'i', id: String(i) });
      if (matcher.liveSequences > max) max = matcher.liveSequences;
    }
    expect(max).toBe(4196);
    expect(matcher.liveSequences).toBeLessThanOrEqual(4196);
  });
});

describe('pipes over long streams', () => {
  it('tail keeps the last N in order with a ring (and head after tail slices it)', async () => {
    const { compile } = await import('../src/engine/index.js');
    const events = Array.from({ length: 1000 }, (_, i) => ({
      source: { '@timestamp': i, event: { category: 'process' }, n: i },
      index: 'x',
      id: String(i),
    }));
    const ids = (q: string) => compile(q).run(events).map((r) => (r.kind === 'event' ? r.event.id : ''));
    expect(ids('process where true | tail 3')).toEqual(['997', '998', '999']);
    expect(ids('process where n % 7 == 0 | tail 4 | head 2')).toEqual(['973', '980']);
    expect(ids('process where n < 5 | tail 10')).toEqual(['0', '1', '2', '3', '4']);
  });
});

describe('maxspan counts what the timestamp field holds', () => {
  // Elastic Defend writes microseconds; a `date` field (ECS @timestamp, and what dynamic mapping
  // makes of an ISO string) keeps milliseconds, so these two are 5,000 ms apart for Elasticsearch.
  const evs: EventDoc[] = [
    { source: { '@timestamp': '2024-01-01T12:00:00.000500Z', event: { category: 'a' }, k: 'x' }, index: 'test', id: '1' },
    { source: { '@timestamp': '2024-01-01T12:00:05.000900Z', event: { category: 'b' }, k: 'x' }, index: 'test', id: '2' },
  ];
  const q = 'sequence by k with maxspan=5s [a where true] [b where true]';
  const found = (options: CompileOptions) => compile(q, options).run(evs).length;
  it('a date field: milliseconds, so the sequence is within 5s', () => {
    expect(found({})).toBe(1);
    expect(found({ fieldType: (f) => (f === '@timestamp' ? 'date' : undefined) })).toBe(1);
  });
  it('a date_nanos field: 5,000.4 ms is past 5s', () => {
    expect(found({ fieldType: (f) => (f === '@timestamp' ? 'date_nanos' : undefined) })).toBe(0);
  });
});
