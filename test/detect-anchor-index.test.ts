// The router's shared anchor index (src/detect/anchor-index.ts) and per-term slots narrow which
// rules evaluate an event; they must never change which rules keep it. Each case routes events
// through one RuleRouter over many rules and compares, event by event, with every rule's own
// relevance test — and states the exact expected rules.
import { describe, expect, it } from 'vitest';
import { FieldAnchorIndex } from '../src/detect/anchor-index.js';
import { prepareRule, RuleRouter, type PreparedRule } from '../src/detect/router.js';
import { fieldAccessor, markPlain } from '../src/engine/fields.js';
import type { EventDoc } from '../src/events/types.js';
import { makeRule } from './detect-helpers.js';

const QUERIES: Record<string, string> = {
  // case-insensitive `:` with a literal end, a literal start and a contained run
  suffix: 'process where process.executable : "?:\\\\Windows\\\\System32\\\\SVCHOST.exe"',
  prefix: 'process where process.executable : "C:\\\\Users\\\\*\\\\AppData\\\\*"',
  infix: 'process where process.command_line : ("*-EncodedCommand*", "*frombase64string*")',
  // case-sensitive like, `?` wildcards
  likeCase: 'file where file.name like ("Report??.DOCX", "*.PS1")',
  // in~ and == mixed with a wildcard list in one disjunction
  mixed: 'any where process.name in~ ("CMD.EXE") or file.path : "*\\\\startup\\\\*"',
  // a negation alone: no anchor, every process event is evaluated
  negated: 'process where not process.name : "*.exe"',
  // `!=` against null: no anchor
  notNull: 'process where process.parent.name != null and process.args : "*-nop*"',
  // a sequence whose terms have different categories and anchors
  seq: 'sequence by host.id [process where process.name : "winword.exe"] [network where destination.port == 443 and host.os.type == "windows"]',
  // regex~ of three letters and `.exe`: the five-character ends its letters fold to (regex-pieces.ts)
  regex: 'process where host.os.type == "windows" and process.name regex~ "[a-z]{3}\\\\.exe"',
  // function calls are evaluated by the rule (no anchor of their own)
  ends: 'process where endsWith~(process.name, ".SCR") and event.type == "start"',
  // two requirements: the name and the parent's name must both be met
  both: 'process where process.name : "both.exe" and process.parent.name : "parent.exe"',
  // a non-ASCII piece (folded by toLowerCase as the matcher folds it)
  unicode: 'file where file.name : "*ÄÖÜ*"',
  // a one-character piece (the RTLO rule) and a regex~ with a literal run (the ADS rule)
  rtlo: 'file where file.path : "*\\u{202E}*"',
  ads: 'file where file.path regex~ """[A-Z]:\\\\:.+"""',
  // gates: a term's test of host.os.type, checked per data stream and value
  linuxOnly: 'process where host.os.type == "linux" and process.name == "lx"',
  macCi: 'process where host.os.type : "MacOS" and process.name == "lx"',
  // a boolean anchor in a disjunction with names (the Local Scheduled Task Creation rule's first term)
  untrusted: 'process where process.name : "cmd.exe" or ?process.code_signature.trusted == false',
  // ranges of numbers (the recent-DLL rules) and an existence test (the DNS term of a sequence)
  recent: 'library where dll.Ext.relative_file_creation_time <= 500 or dll.Ext.relative_file_name_modify_time < -60',
  dns: 'network where dns.question.name != null',
  // checks on the value: a term's exclusions of the field (Program Files Directory Masquerading)
  // and a case-sensitive regular expression (the Unquoted Service Path rule)
  masq: 'process where process.executable : "C:\\\\*Program Files*\\\\*.exe" and not process.executable : ("?:\\\\Program Files\\\\*.exe", "?:\\\\Program Files (x86)\\\\*.exe")',
  unquoted: 'process where process.executable regex """C:\\\\Program Files\\\\\\w+.exe"""',
  // a condition on a field no rule anchors (a function's argument): the router's walk does not
  // go to it, so its accessor must find it under dotted keys by itself
  workdir: 'process where process.name == "wd.exe" and startsWith~(process.working_directory, "C:\\\\Temp")',
};

function prepared(): PreparedRule[] {
  return Object.entries(QUERIES).map(([name, query]) => {
    const p = prepareRule(makeRule({ name, index: ['logs-*'], query }), { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: false });
    if ('skip' in p) throw new Error(`${name}: ${p.skip}`);
    return p;
  });
}

let seq = 0;
function ev(category: string | string[], fields: Record<string, unknown>, index = 'logs-endpoint'): EventDoc {
  const source = { '@timestamp': `2024-01-01T00:00:${String(seq % 60).padStart(2, '0')}Z`, event: { category, type: 'start' }, host: { id: 'h', os: { type: 'windows' } }, ...fields };
  seq++;
  return { source, index, id: String(seq), ordinal: seq } as unknown as EventDoc;
}

const EVENTS: [string, EventDoc, string[]][] = [
  ['upper-case path, literal end', ev('process', { process: { name: 'svchost.exe', executable: 'C:\\WINDOWS\\system32\\svchost.EXE' } }), ['suffix']],
  ['a one-character longer end does not match', ev('process', { process: { name: 'svchost.exe', executable: 'C:\\Windows\\System32\\xsvchost.exe' } }), []],
  ['literal start', ev('process', { process: { name: 'a', executable: 'c:\\users\\bob\\appdata\\x' } }), ['prefix', 'negated']],
  ['contained run, in an array of args', ev('process', { process: { name: 'powershell.exe', command_line: 'powershell -nop -EncodedCommand AAA', args: ['powershell', '-NOP'] } }), ['infix']],
  ['args with -nop and a parent', ev('process', { process: { name: 'x.exe', parent: { name: 'p' }, args: ['a', '-nop'] } }), ['notNull']],
  ['like is case-sensitive', ev('file', { file: { name: 'report12.docx' } }), []],
  ['like with ? matches exactly one character', ev('file', { file: { name: 'Report12.DOCX' } }), ['likeCase']],
  ['like end', ev('file', { file: { name: 'evil.PS1', path: 'C:\\Users\\u\\Start Menu\\Programs\\Startup\\evil.PS1' } }), ['likeCase', 'mixed']],
  ['in~ in a disjunction', ev('process', { process: { name: 'cmd.EXE' } }), ['mixed', 'regex', 'untrusted']],
  ['multi-valued category and name', ev(['process', 'file'], { process: { name: ['winword.exe', 'x'] } }), ['seq']],
  ['second sequence term', ev('network', { destination: { port: 443 } }), ['seq']],
  ['network event without the port still matches the broad anchor only', ev('network', { destination: { port: 80 } }), []],
  ['missing field: negation is true', ev('process', {}), ['negated']],
  ['number where a string is expected', ev('process', { process: { name: 12345 } }), ['negated']],
  ['function on the name', ev('process', { process: { name: 'screen.scr' } }), ['negated', 'ends']],
  ['flat dotted keys', ev('process', { 'process.executable': 'D:\\Windows\\System32\\svchost.exe', 'process.name': 'svc.exe' }), ['suffix', 'regex']],
  ['dotted keys under an object', ev('process', { process: { 'parent.name': 'p', args: '-nop' } }), ['negated', 'notNull']],
  ['array of objects', ev('file', { file: [{ name: 'a' }, { name: 'Report99.DOCX' }] }), ['likeCase']],
  ['non-ASCII case folding', ev('file', { file: { name: 'xäöüy' } }), ['unicode']],
  ['another index', ev('process', { process: { name: 'cmd.exe' } }, 'winlogbeat-8'), []],
  ['both requirements met', ev('process', { process: { name: 'BOTH.exe', parent: { name: 'parent.exe' } } }), ['both']],
  ['a right-to-left override in a path', ev('file', { file: { path: 'C:\\Users\\u\\cod\u202Eexe.doc' } }), ['rtlo']],
  ['an alternate data stream at a lower-case volume root', ev('file', { file: { path: 'c:\\:stream' } }), ['ads']],
  ['a long s folds onto S: an ADS at volume ſ:', ev('file', { file: { path: 'ſ:\\:x' } }), ['ads']],
  ['the Kelvin sign is no upper-case form of A–Z', ev('file', { file: { path: '\u212A:\\:x' } }), []],
  ['a stream below the root', ev('file', { file: { path: 'C:\\x:y:\\' } }), []],
  ['a Linux event meets the Linux gate', ev('process', { process: { name: 'lx' }, host: { id: 'h', os: { type: 'linux' } } }), ['linuxOnly', 'negated']],
  ['a Windows event meets neither gate', ev('process', { process: { name: 'lx' } }), ['negated']],
  ['an event without host.os.type meets no gate', ev('process', { process: { name: 'lx' }, host: { id: 'h' } }), ['negated']],
  ['an array of OS types: any element', ev('process', { process: { name: 'lx' }, host: { id: 'h', os: { type: ['windows', 'linux'] } } }), ['linuxOnly', 'negated']],
  ['`:` folds the gate value', ev('process', { process: { name: 'lx' }, host: { id: 'h', os: { type: 'MACOS' } } }), ['macCi', 'negated']],
  ['== does not', ev('process', { process: { name: 'lx' }, host: { id: 'h', os: { type: 'Linux' } } }), ['negated']],
  ['an untrusted process', ev('process', { process: { name: 'x.exe', code_signature: { trusted: false } } }), ['untrusted']],
  ['a trusted one', ev('process', { process: { name: 'x.exe', code_signature: { trusted: true } } }), []],
  ['trusted in an array', ev('process', { process: { name: 'x.exe', code_signature: { trusted: [true, false] } } }), ['untrusted']],
  ['a trusted cmd.exe', ev('process', { process: { name: 'CMD.exe', code_signature: { trusted: true } } }), ['mixed', 'regex', 'untrusted']],
  ['one requirement of two met', ev('process', { process: { name: 'both.exe', parent: { name: 'other.exe' } } }), []],
  ['a DLL created 500 s ago: the bound is in', ev('library', { dll: { Ext: { relative_file_creation_time: 500 } } }), ['recent']],
  ['500.5 s ago is out', ev('library', { dll: { Ext: { relative_file_creation_time: 500.5 } } }), []],
  ['renamed before the process started', ev('library', { dll: { Ext: { relative_file_name_modify_time: -60.5 } } }), ['recent']],
  ['-60 is not below -60', ev('library', { dll: { Ext: { relative_file_name_modify_time: -60, relative_file_creation_time: 9000 } } }), []],
  ['a number in a string: the query compares it as a number', ev('library', { dll: { Ext: { relative_file_creation_time: '100' } } }), ['recent']],
  ['an array: any element', ev('library', { dll: { Ext: { relative_file_creation_time: [86400, 12] } } }), ['recent']],
  ['no times at all', ev('library', { dll: { name: 'a.dll' } }), []],
  ['a DNS question', ev('network', { dns: { question: { name: 'example.com' } } }), ['dns']],
  ['a null, an empty array and an all-null array are no value', ev('network', { dns: { question: { name: null } }, destination: { port: 1 } }), []],
  ['an empty array', ev('network', { dns: { question: { name: [] } } }), []],
  ['an array of nulls', ev('network', { dns: { question: { name: [null, null] } } }), []],
  ['a null and a name', ev('network', { dns: { question: { name: [null, 'a.com'] } } }), ['dns']],
  ['an object is a value (the walk reports none)', ev('network', { dns: { question: { name: { x: 1 } } } }), ['dns']],
  ['a number is a value', ev('network', { dns: { question: { name: 0 } } }), ['dns']],
  ['a flat dotted key', ev('network', { 'dns.question.name': 'a.com' }), ['dns']],
  ['too many keys to walk: every field is read by its accessor', ev('library', { dll: { Ext: { relative_file_creation_time: 3 } }, dns: { question: { name: 'a' } }, ...Object.fromEntries(Array.from({ length: 4100 }, (_, i) => [`k${i}`, i])) }), ['recent']],
  ['a program in Program Files: excluded, and a folder below it', ev('process', { process: { name: 'a.exe', executable: 'C:\\Program Files\\App\\a.exe' } }), []],
  ['directly in Program Files: excluded, and the regex matches', ev('process', { process: { name: 'app.exe', executable: 'C:\\Program Files\\app.exe' } }), ['regex', 'unquoted']],
  ['Program Files below another folder', ev('process', { process: { name: 'x.exe', executable: 'C:\\Tools\\Program Files\\x.exe' } }), ['masq']],
  ['lower case: `:` folds, regex does not', ev('process', { process: { name: 'x.exe', executable: 'c:\\tools\\program files\\APP.EXE' } }), ['masq']],
  ['an excluded path in an array excludes the event', ev('process', { process: { name: 'x.exe', executable: ['C:\\Program Files\\a\\b.exe', 'C:\\Tools\\Program Files\\y.exe'] } }), []],
  ['a .dll is no match of the anchor\'s own pattern', ev('process', { process: { name: 'x.exe', executable: 'C:\\Tools\\Program Files\\x.dll' } }), []],
  ['an unwalked field, nested', ev('process', { process: { name: 'wd.exe', working_directory: 'C:\\TEMP\\x' } }), ['workdir']],
  ['an unwalked field under a flat dotted key', ev('process', { 'process.working_directory': 'C:\\Temp\\x', process: { name: 'wd.exe' } }), ['workdir']],
  ['an unwalked field under a dotted key in an array of objects', ev('process', { process: [{ name: 'wd.exe' }, { 'working_directory': 'C:\\Temp\\y' }] }), ['workdir']],
  ['dotted keys in a subtree no field leads to', ev('process', { agent: { 'x.y': 1, z: [{ 'p.q': 2 }] }, process: { name: 'wd.exe', working_directory: 'D:\\Temp' } }), []],
  ['too many keys, a DNS event', ev('network', { dns: { question: { name: 'a' } }, ...Object.fromEntries(Array.from({ length: 4100 }, (_, i) => [`k${i}`, i])) }), ['dns']],
];

describe('router: shared anchor index', () => {
  it('routes each event to exactly the rules whose own term filters accept it', () => {
    const rules = prepared();
    const router = new RuleRouter(rules);
    const names = rules.map((r) => r.rule.name);
    const got = EVENTS.map(([what, e]) => ({ what, routed: [...router.route(e)].map((i) => names[i]!).sort() }));
    const own = EVENTS.map(([what, e]) => ({
      what,
      routed: e.index === 'logs-endpoint' ? rules.filter((r) => r.query.relevant(e)).map((r) => r.rule.name).sort() : [],
    }));
    expect(got).toEqual(own);
    expect(got).toEqual(EVENTS.map(([what, , expected]) => ({ what, routed: [...expected].sort() })));
  });

  it('offers an event only to the rules one of whose terms it can meet', () => {
    const rules = prepared();
    const router = new RuleRouter(rules);
    const names = rules.map((r) => r.rule.name);
    const offered = () => names.filter((_, i) => router.counters.dispatched[i]! > 0).sort();
    const seq = names.indexOf('seq');
    // The sequence's network term needs port 443 (an integer anchor) on Windows: port 80 is
    // offered to nobody, port 443 only to the sequence, not to any process-only rule.
    router.route(ev('network', { destination: { port: 80 } }));
    expect(offered()).toEqual([]);
    router.route(ev('network', { destination: { port: 443 } }));
    expect(offered()).toEqual(['seq']);
    // A value that is not an integer is left to the query.
    router.route(ev('network', { destination: { port: '80' } }));
    router.route(ev('network', { destination: { port: 80.5 } }));
    expect(router.counters.dispatched[seq]).toBe(3);
    router.route(ev('process', { process: { name: 'notepad.exe', executable: 'C:\\Program Files\\x.exe' } }));
    // The regex rule (broad anchor), the negation and the function rule (no anchors), and the
    // Unquoted Service Path rule (x.exe directly in Program Files); not the suffix/prefix/infix/
    // sequence rules, whose anchors notepad misses, nor the masquerading rule, which excludes it.
    expect(offered()).toEqual(['ends', 'negated', 'regex', 'seq', 'unquoted']);
    expect(router.counters.dispatched[seq]).toBe(3);
    // Both of a term's requirements must be met for it to be offered the event.
    const both = names.indexOf('both');
    router.route(ev('process', { process: { name: 'both.exe', parent: { name: 'other.exe' } } }));
    router.route(ev('process', { process: { name: 'x.exe', parent: { name: 'parent.exe' } } }));
    expect(router.counters.dispatched[both]).toBe(0);
    router.route(ev('process', { process: { name: 'both.exe', parent: { name: 'PARENT.EXE' } } }));
    expect(router.counters.dispatched[both]).toBe(1);
    // A term whose gate the event's host.os.type misses is not offered it, whatever its anchors.
    const linux = names.indexOf('linuxOnly');
    router.route(ev('process', { process: { name: 'lx' } }));
    router.route(ev('process', { process: { name: 'lx' }, host: { id: 'h' } }));
    expect(router.counters.dispatched[linux]).toBe(0);
    router.route(ev('process', { process: { name: 'lx' }, host: { id: 'h', os: { type: 'linux' } } }));
    expect(router.counters.dispatched[linux]).toBe(1);
    // A boolean anchor: a trusted process is not offered to the rule that wants an untrusted one
    // (or cmd.exe); a value that is not a boolean is left to the rule.
    const untrusted = names.indexOf('untrusted');
    router.route(ev('process', { process: { name: 'x.exe', code_signature: { trusted: true } } }));
    expect(router.counters.dispatched[untrusted]).toBe(0);
    router.route(ev('process', { process: { name: 'x.exe', code_signature: { trusted: 'false' } } }));
    router.route(ev('process', { process: { name: 'x.exe', code_signature: { trusted: false } } }));
    expect(router.counters.dispatched[untrusted]).toBe(2);
    // A range: numbers outside it are offered to nobody; a string or a boolean is left to the rule
    // (offered), a missing field or null is not.
    const recent = names.indexOf('recent');
    router.route(ev('library', { dll: { Ext: { relative_file_creation_time: 501 } } }));
    router.route(ev('library', { dll: { Ext: { relative_file_creation_time: null } } }));
    router.route(ev('library', { dll: { name: 'x.dll' } }));
    router.route(ev('library', { dll: { Ext: { relative_file_name_modify_time: -60 } } }));
    router.route(ev('library', { dll: { Ext: { relative_file_creation_time: [501, 1e9] } } }));
    expect(router.counters.dispatched[recent]).toBe(0);
    router.route(ev('library', { dll: { Ext: { relative_file_creation_time: 'soon' } } }));
    router.route(ev('library', { dll: { Ext: { relative_file_creation_time: true } } }));
    router.route(ev('library', { dll: { Ext: { relative_file_creation_time: 0 } } }));
    expect(router.counters.dispatched[recent]).toBe(3);
    // Existence: a network event without a question is offered to nobody.
    const dns = names.indexOf('dns');
    router.route(ev('network', { destination: { port: 80 } }));
    for (const name of [null, [], [null], [undefined, null]]) router.route(ev('network', { dns: { question: { name } } }));
    expect(router.counters.dispatched[dns]).toBe(0);
    router.route(ev('network', { dns: { question: { name: '' } } }));
    expect(router.counters.dispatched[dns]).toBe(1);
    // Checks: values with the anchor's pieces that an exclusion, the anchor's own patterns or the
    // regular expression rule out are offered to nobody.
    const masq = names.indexOf('masq');
    const unquoted = names.indexOf('unquoted');
    for (const executable of ['C:\\Program Files\\App\\a.exe', 'D:\\PROGRAM FILES (X86)\\b.exe', 'C:\\Tools\\Program Files\\x.dll']) {
      router.route(ev('process', { process: { name: 'x.exe', executable } }));
    }
    // (The unquoted rule was offered C:\Program Files\x.exe above.)
    expect([router.counters.dispatched[masq], router.counters.dispatched[unquoted]]).toEqual([0, 1]);
    router.route(ev('process', { process: { name: 'x.exe', executable: ['C:\\Program Files\\x.exe', 'C:\\Tools\\Program Files\\y.exe'] } }));
    expect([router.counters.dispatched[masq], router.counters.dispatched[unquoted]]).toEqual([1, 2]);
  });

  it('mayDispatch agrees with route on which events some rule is offered', () => {
    const rules = prepared();
    const router = new RuleRouter(rules);
    for (const [, e] of EVENTS) {
      const before = router.counters.dispatched.reduce((a, b) => a + b, 0);
      router.route(e);
      const offered = router.counters.dispatched.reduce((a, b) => a + b, 0) > before;
      expect(router.mayDispatch(e.source, e.index)).toBe(offered);
    }
  });
});

describe('router: one memo per walked field', () => {
  // process.name carries a case-sensitive, a case-insensitive and an integer group here; a string
  // value is looked up once for all three, and must mark what each group marks on its own.
  const MEMO_QUERIES: Record<string, string> = {
    exact: 'process where process.name == "Exact.exe"',
    folded: 'process where process.name : "*exact*"',
    numeric: 'process where process.name == 42',
    other: 'process where process.executable : "*\\\\tools\\\\*"',
  };
  const rules = Object.entries(MEMO_QUERIES).map(([name, query]) => {
    const p = prepareRule(makeRule({ name, index: ['logs-*'], query }), { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: false });
    if ('skip' in p) throw new Error(`${name}: ${p.skip}`);
    return p;
  });
  const names = rules.map((r) => r.rule.name);
  const events: [Record<string, unknown>, string[], string[]][] = [
    // fields, offered (dispatched), kept (routed)
    [{ process: { name: 'Exact.exe' } }, ['exact', 'folded', 'numeric'], ['exact', 'folded']],
    [{ process: { name: 'EXACT.EXE' } }, ['folded', 'numeric'], ['folded']],
    [{ process: { name: 'notepad.exe' } }, ['numeric'], []],
    // A number on a field string constants test is left to those rules' own conditions.
    [{ process: { name: 42 } }, ['exact', 'folded', 'numeric'], ['numeric']],
    [{ process: { name: 43 } }, ['exact', 'folded'], []],
    [{ process: { name: ['x', 'exact'], executable: 'C:\\Tools\\a.exe' } }, ['folded', 'numeric', 'other'], ['folded', 'other']],
  ];

  it('offers and keeps the same rules whether a value is remembered or not, past the memo bound too', () => {
    const router = new RuleRouter(rules);
    const offeredBy = (fields: Record<string, unknown>) => {
      const before = [...router.counters.dispatched];
      const kept = [...router.route(ev('process', fields))].map((i) => names[i]!).sort();
      const offered = names.filter((_, i) => router.counters.dispatched[i]! > before[i]!).sort();
      return { offered, kept };
    };
    const expected = events.map(([, offered, kept]) => ({ offered, kept }));
    for (let pass = 0; pass < 3; pass++) {
      expect(events.map(([fields]) => offeredBy(fields))).toEqual(expected);
      // Enough other names to empty the memo between passes (it holds at most 1,024 values).
      if (pass === 1) for (let i = 0; i < 1100; i++) expect(offeredBy({ process: { name: `p${i}.exe` } })).toEqual({ offered: ['numeric'], kept: [] });
    }
  });
});

describe('router: only the fields of the slots an event may be offered are looked up', () => {
  // Two category tables (event.category and a rule's event_category_override of event.type), a
  // sequence over two categories and a presence anchor: an event's values are looked up only for
  // fields some slot of its index, gate and categories reads, and routing is what it was.
  const Q: [string, string, Record<string, unknown>?][] = [
    ['proc', 'process where process.name == "p.exe"'],
    ['file', 'file where file.path : "*/evil/*"'],
    ['seq', 'sequence by host.id [process where process.name == "s.exe"] [network where destination.ip == "10.0.0.1"]'],
    ['dns', 'network where dns.question.name != null'],
    ['typed', 'start where file.path : "*/typed/*"', { event_category_override: 'event.type' }],
    ['other', 'process where process.name == "p.exe"', { index: ['winlogbeat-*'] }],
  ];
  const rules = Q.map(([name, query, extra]) => {
    const p = prepareRule(makeRule({ name, index: ['logs-*'], query, ...extra }), { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: false });
    if ('skip' in p) throw new Error(`${name}: ${p.skip}`);
    return p;
  });
  const names = rules.map((r) => r.rule.name);
  const both = { process: { name: ['p.exe', 's.exe'] }, file: { path: 'C:/evil/typed/x' }, destination: { ip: '10.0.0.1' }, dns: { question: { name: 'a.com' } } };
  const cases: [string, string | string[], string[], string[]][] = [
    // name, event.category, offered, fields looked up (memo entries made)
    ['a process event', 'process', ['proc', 'seq', 'typed'], ['file.path', 'process.name']],
    ['a file event', 'file', ['file', 'typed'], ['file.path']],
    ['a network event', 'network', ['dns', 'seq', 'typed'], ['file.path']],
    ['process and file', ['process', 'file'], ['file', 'proc', 'seq', 'typed'], ['file.path', 'process.name']],
    ['no category: only the override table', 'none', ['typed'], ['file.path']],
  ];
  for (const [name, category, offered, looked] of cases) {
    it(`${name}: offered ${offered.join(', ')}`, () => {
      const router = new RuleRouter(rules);
      const e = ev(category, both);
      (e.source as { event: { type: string } }).event.type = 'start';
      router.route(e);
      expect(names.filter((_, i) => router.counters.dispatched[i] === 1).sort()).toEqual(offered);
      // The router's per-field memos (private) show which fields' values were looked up.
      const r = router as unknown as { fieldGroups: { field: string }[][]; fieldMemos: { lists: Map<string, unknown> }[] };
      expect(r.fieldGroups.map((g, f) => (r.fieldMemos[f]!.lists.size > 0 ? g[0]!.field : '')).filter((f) => f !== '').sort()).toEqual(looked);
      // mayDispatch reads every field (destination.ip has no anchor: an ip field; dns.question.name is read by its accessor).
      expect(router.mayDispatch(e.source, e.index)).toBe(true);
      expect(r.fieldMemos.filter((m) => m.lists.size > 0).length).toBe(2);
    });
  }
});

describe('router: the order rules are offered and kept in', () => {
  // route() offers the event's category lists in the order of its categories, then the `any`
  // terms, table by table (tables in the order rules first use them: event.type's first here),
  // each list in its slots' order, and each rule once: that order is the
  // order of its answer (and of the answers written), whichever slots' requirements were marked.
  const Q: [string, string, Record<string, unknown>?][] = [
    ['typed', 'start where file.path : "*/x/*"', { event_category_override: 'event.type' }],
    ['proc', 'process where process.name == "p.exe"'],
    ['file', 'file where file.path : "*/x/*"'],
    ['anyName', 'any where process.name : "P.EXE"'],
    ['both', 'sequence by host.id [file where file.path : "*/x/*"] [process where process.name == "p.exe"]'],
    ['open', 'process where not process.name == "q.exe"'],
  ];
  const rules = Q.map(([name, query, extra]) => {
    const p = prepareRule(makeRule({ name, index: ['logs-*'], query, ...extra }), { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: false });
    if ('skip' in p) throw new Error(`${name}: ${p.skip}`);
    return p;
  });
  const names = rules.map((r) => r.rule.name);
  const fields = { process: { name: 'p.exe' }, file: { path: 'C:/x/y' } };
  const cases: [string | string[], string[]][] = [
    ['process', ['typed', 'proc', 'both', 'open', 'anyName']],
    ['file', ['typed', 'file', 'both', 'anyName']],
    [['file', 'process'], ['typed', 'file', 'both', 'proc', 'open', 'anyName']],
    [['process', 'file', 'process'], ['typed', 'proc', 'both', 'open', 'file', 'anyName']],
    ['network', ['typed', 'anyName']],
  ];
  for (const [category, kept] of cases) {
    it(`event.category ${JSON.stringify(category)}: ${kept.join(', ')}`, () => {
      const router = new RuleRouter(rules);
      const answers: unknown[] = [];
      const out = [...router.route(ev(category, fields), answers)].map((i) => names[i]!);
      expect(out).toEqual(kept);
      expect(router.counters.dispatched.reduce((a, b) => a + b, 0)).toBe(kept.length);
    });
  }
});

const marked = (idx: FieldAnchorIndex, v: string): number[] => {
  const hit = new Float64Array(8);
  idx.markString(v, hit, 1);
  return [...hit.keys()].filter((i) => hit[i] === 1);
};

describe('FieldAnchorIndex', () => {

  it('marks the rules of exact values, literal starts and ends (short and long) and contained runs', () => {
    const idx = new FieldAnchorIndex();
    idx.add({ values: ['cmd.exe'] }, 0);
    idx.add({ values: [], suffixes: ['.exe'] }, 1);
    idx.add({ values: [], suffixes: ['\\system32\\svchost.exe'] }, 2);
    idx.add({ values: [], prefixes: ['c:\\users\\'] }, 3);
    idx.add({ values: [], infixes: ['-enc', 'base64'] }, 4);
    idx.add({ values: ['x'], prefixes: ['abc'] }, 5);
    expect(marked(idx, 'cmd.exe')).toEqual([0, 1]);
    expect(marked(idx, 'c:\\windows\\system32\\svchost.exe')).toEqual([1, 2]);
    expect(marked(idx, 'c:\\windows\\syswow64\\svchost.exe')).toEqual([1]);
    expect(marked(idx, 'c:\\users\\bob\\a.exe -enc')).toEqual([3, 4]);
    expect(marked(idx, 'frombase64')).toEqual([4]);
    expect(marked(idx, 'abc')).toEqual([5]);
    expect(marked(idx, 'ab')).toEqual([]);
    expect(marked(idx, 'x')).toEqual([5]);
    expect(marked(idx, '')).toEqual([]);
    // Characters beyond 7 bits share keys with others; the piece itself still has to be there.
    const wide = new FieldAnchorIndex();
    wide.add({ values: [], infixes: ['\u0141ab'] }, 0);
    expect(marked(wide, 'xAab')).toEqual([]);
    expect(marked(wide, 'x\u0141ab')).toEqual([0]);
  });
});

describe('FieldAnchorIndex memo', () => {
  it('marks from the event\'s string what markString marks from its folded form, whether remembered or not', () => {
    const fold = (v: string) => v.toLowerCase();
    const idx = new FieldAnchorIndex(fold);
    idx.add({ values: ['cmd.exe'], suffixes: ['\\svchost.exe'], infixes: ['-enc'] }, 0);
    idx.add({ values: [], prefixes: ['c:\\users\\'], infixes: ['-enc'] }, 1);
    const viaMark = (v: string, stamp: number): number[] => {
      const hit = new Float64Array(2);
      idx.mark(v, hit, stamp);
      return [...hit.keys()].filter((i) => hit[i] === stamp);
    };
    const values = ['CMD.EXE', 'C:\\Users\\x\\svchost.exe', 'powershell -ENC', 'notepad.exe', 'x'.repeat(300) + '-enc'];
    // 3,000 distinct values more than the memo holds (it is emptied and refilled) between repeats.
    for (let round = 0; round < 3; round++) {
      for (const v of values) expect(viaMark(v, round + 1), v).toEqual(marked(idx, fold(v)));
      for (let i = 0; i < 3000; i++) viaMark(`c:\\users\\u${i}\\a-enc`, 9);
    }
    expect(viaMark('C:\\Users\\x\\svchost.exe', 20)).toEqual([0, 1]);
    // An anchor added later is seen by values remembered before.
    idx.add({ values: ['notepad.exe'] }, 1);
    expect(viaMark('notepad.exe', 21)).toEqual([1]);
  });
});

describe('markPlain', () => {
  it('answers absent fields at once only for sources without dotted keys', () => {
    const get = fieldAccessor('process.parent.name');
    const plain = { process: { name: 'a', args: [{ x: 1 }] } };
    expect(markPlain(plain)).toBe(true);
    expect(get(plain)).toBeUndefined();
    const dotted = { process: { 'parent.name': 'p' } };
    expect(markPlain(dotted)).toBe(false);
    expect(get(dotted)).toBe('p');
    const deep = { a: [{ b: { 'c.d': 1 } }], process: { parent: null } };
    expect(markPlain(deep)).toBe(false);
    expect(fieldAccessor('a.b.c.d')(deep)).toBe(1);
    // Marking another source unmarks the previous one.
    const flat = { 'process.parent.name': 'q' };
    expect(markPlain(plain)).toBe(true);
    expect(get(flat)).toBe('q');
  });
});

describe('router: requirements an `or` of conjunctions implies', () => {
  // (name a and args x) or (name b and args yés*): an event must meet a name of the two, an args
  // value of the two, and x or the name b.exe. The Clearing Windows Event Logs shape (a name from one list, an args
  // value from another, per branch), and one where a branch's only anchor is on the broad
  // host.os.type (no requirement beyond the names then).
  const Q: Record<string, string> = {
    pairs: 'process where (process.name : "a.exe" and process.args : "x") or (process.name : "b.exe" and process.args : "Yés*")',
    broad: 'process where (host.os.type == "windows" and process.name : "w.exe") or (host.os.type == "linux" and process.name : "l")',
  };
  const rules = Object.entries(Q).map(([name, query]) => {
    const p = prepareRule(makeRule({ name, index: ['logs-*'], query }), { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: false });
    if ('skip' in p) throw new Error(`${name}: ${p.skip}`);
    return p;
  });
  const names = rules.map((r) => r.rule.name);
  const cases: [string, Record<string, unknown>, string[], string[]][] = [
    // what, fields, offered, kept
    ['a name and its args value', { process: { name: 'a.exe', args: ['a.exe', 'x'] } }, ['pairs'], ['pairs']],
    ['`:` folds both', { process: { name: 'A.EXE', args: 'X' } }, ['pairs'], ['pairs']],
    ['a name with neither args value: not offered', { process: { name: 'a.exe', args: ['a.exe', 'zz'] } }, [], []],
    // (the args value of the other branch is one alternative of the second requirement, but x or
    // the name b.exe is a third)
    ['the other branch\'s args value: not offered either', { process: { name: 'a.exe', args: ['zz', 'yésno'] } }, [], []],
    ['b.exe with a.exe\'s args value: offered, not kept', { process: { name: 'b.exe', args: ['x'] } }, ['pairs'], []],
    ['b.exe and yés…, folded (non-ASCII too), in arrays', { process: { name: ['other', 'B.exe'], args: ['YÉSNO'] } }, ['pairs'], ['pairs']],
    ['yes without the accent: not offered', { process: { name: 'b.exe', args: ['yesno'] } }, [], []],
    ['b.exe without args: not offered', { process: { name: 'b.exe' } }, [], []],
    ['args null: not offered', { process: { name: 'b.exe', args: null } }, [], []],
    ['args of nulls: not offered', { process: { name: 'b.exe', args: [null] } }, [], []],
    ['args without a name: not offered', { process: { args: 'x' } }, [], []],
    ['a number in args is left to the query', { process: { name: 'a.exe', args: [7] } }, ['pairs'], []],
    ['args under a flat dotted key', { 'process.args': ['yésyés'], process: { name: 'b.exe' } }, ['pairs'], ['pairs']],
    ['the broad rule on Windows', { process: { name: 'W.EXE' } }, ['broad'], ['broad']],
    ['its Linux name on Windows: offered (host.os.type is no requirement), not kept', { process: { name: 'l' } }, ['broad'], []],
  ];
  it('offers an event only when it meets one alternative of each, and keeps what the rules keep', () => {
    const router = new RuleRouter(rules);
    const got = cases.map(([, fields]) => {
      const e = ev('process', fields);
      const before = [...router.counters.dispatched];
      const kept = [...router.route(e)].map((i) => names[i]!).sort();
      const offered = names.filter((_, i) => router.counters.dispatched[i]! > before[i]!).sort();
      // Never a rule its own filter would keep and the router did not offer.
      expect(rules.filter((r) => r.query.relevant(e)).map((r) => r.rule.name).sort()).toEqual(kept);
      return { offered, kept };
    });
    expect(got).toEqual(cases.map(([, , offered, kept]) => ({ offered, kept })));
  });
});

describe('router: a character outside ASCII a value must contain', () => {
  // The Unicode modifier letters rule's shape: offered only when the command line holds one.
  const rules = [['mod', 'process where process.name : "cmd.exe" and process.command_line regex """.*[ʰ-˿ᴬ-ᶻ]+.*"""']].map(([name, query]) => {
    const p = prepareRule(makeRule({ name: name!, index: ['logs-*'], query: query! }), { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: false });
    if ('skip' in p) throw new Error(`${name}: ${p.skip}`);
    return p;
  });
  const cases: [string, Record<string, unknown>, boolean, boolean][] = [
    // what, fields, offered, kept
    ['an ASCII command line', { process: { name: 'cmd.exe', command_line: 'cmd /c whoami' } }, false, false],
    ['a modifier letter', { process: { name: 'CMD.EXE', command_line: 'cmd /c wʰoami' } }, true, true],
    ['the first and last of the ranges', { process: { name: 'cmd.exe', command_line: ['x', 'a\u02B0', 'b\u1DBB'] } }, true, true],
    ['just outside them', { process: { name: 'cmd.exe', command_line: '\u02AF \u0300 \u1D2B \u1DBC' } }, false, false],
    ['in one value of an array', { process: { name: 'cmd.exe', command_line: ['cmd', 'net \u1D2C'] } }, true, true],
    ['a lone surrogate and an astral character', { process: { name: 'cmd.exe', command_line: '\uD83D \u{1F600}' } }, false, false],
    ['no command line', { process: { name: 'cmd.exe' } }, false, false],
    ['a null one', { process: { name: 'cmd.exe', command_line: null } }, false, false],
    ['a number: left to the query', { process: { name: 'cmd.exe', command_line: 7 } }, true, false],
    ['under a flat dotted key', { 'process.command_line': 'ˈcmd', process: { name: 'cmd.exe' } }, true, true],
    ['another name', { process: { name: 'x.exe', command_line: 'ʰ' } }, false, false],
  ];
  it('offers an event only when a value holds one, and keeps what the rule keeps', () => {
    const router = new RuleRouter(rules);
    const got = cases.map(([, fields]) => {
      const e = ev('process', fields);
      const before = router.counters.dispatched[0]!;
      const kept = router.route(e).length === 1;
      expect(rules[0]!.query.relevant(e)).toBe(kept);
      return [router.counters.dispatched[0]! > before, kept];
    });
    expect(got).toEqual(cases.map(([, , offered, kept]) => [offered, kept]));
  });
});
