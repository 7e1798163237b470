import { describe, expect, it } from 'vitest';
import { compile } from '../src/engine/index.js';

const anchors = (q: string, fieldType?: (f: string) => string | undefined) => compile(q, { fieldType }).anchors;

describe('query anchors (necessary literal conditions for dispatch)', () => {
  it('prefers a specific field over a broad one', () => {
    expect(anchors('process where host.os.type == "windows" and event.type == "start" and process.name : ("A.exe", "b.exe")')).toEqual([
      { field: 'process.name', values: ['a.exe', 'b.exe'], caseInsensitive: true },
    ]);
  });

  it('falls back to a broad field when it is the only literal condition', () => {
    expect(anchors('process where host.os.type == "linux" and length(process.name) > 3')).toEqual([
      { field: 'host.os.type', values: ['linux'], caseInsensitive: false },
    ]);
  });

  it('takes in, in~ and wildcard-free like; never negations', () => {
    expect(anchors('file where file.extension in ("exe", "dll")')).toEqual([{ field: 'file.extension', values: ['exe', 'dll'], caseInsensitive: false }]);
    expect(anchors('file where file.extension in~ ("EXE")')).toEqual([{ field: 'file.extension', values: ['exe'], caseInsensitive: true }]);
    expect(anchors('file where file.name like "a.txt"')).toEqual([{ field: 'file.name', values: ['a.txt'], caseInsensitive: false }]);
    expect(anchors('file where file.name != "a.txt"')).toBeNull();
    expect(anchors('file where file.name not in ("a.txt")')).toBeNull();
  });

  it('takes a disjunction as alternatives when every branch has an anchor', () => {
    expect(anchors('file where file.name == "a" or file.path == "b"')).toEqual([
      { field: 'file.name', values: ['a'], caseInsensitive: false },
      { field: 'file.path', values: ['b'], caseInsensitive: false },
    ]);
    // A branch with a specific anchor and one with only a broad one: both alternatives are kept.
    expect(anchors('any where process.executable != null and ((event.category == "file" and file.path regex "x.*") or process.name in ("vi", "sed"))')).toEqual([
      { field: 'file.path', values: [], prefixes: ['x'], caseInsensitive: false, check: { regex: ['x.*'] } },
      { field: 'process.name', values: ['vi', 'sed'], caseInsensitive: false },
    ]);
    // A wildcard's literal end is more specific than a broad field.
    expect(anchors('any where process.executable != null and ((event.category == "file" and file.path : "?:*hosts") or process.name in ("vi", "sed"))')).toEqual([
      { field: 'file.path', values: [], suffixes: ['hosts'], caseInsensitive: true },
      { field: 'process.name', values: ['vi', 'sed'], caseInsensitive: false },
    ]);
    // Inside a conjunction, a specific anchor wins over a disjunction that has a broad branch.
    expect(anchors('process where (event.type == "start" or process.name : "a.exe") and process.parent.name : "b.exe"')).toEqual([
      { field: 'process.parent.name', values: ['b.exe'], caseInsensitive: true },
    ]);
    expect(anchors('file where file.name == "a" or file.path : "*"')).toBeNull();
    expect(anchors('file where not (file.name == "a" or file.path == "b")')).toBeNull();
  });

  it('takes the literal start, end or longest inner run of wildcard patterns', () => {
    expect(anchors('file where file.path : ("C:\\\\Users\\\\*", "*\\\\SVCHOST.exe", "?:\\\\x\\\\*\\\\Temp\\\\*.js", "exact.TXT")')).toEqual([
      { field: 'file.path', values: ['exact.txt'], prefixes: ['c:\\users\\'], suffixes: ['\\svchost.exe'], infixes: ['\\temp\\'], caseInsensitive: true },
    ]);
    // like is case-sensitive: pieces keep their case; `?` splits like `*`.
    expect(anchors('file where file.name like ("Ab?cdef*", "*XYZ")')).toEqual([{ field: 'file.name', values: [], suffixes: ['XYZ'], infixes: ['cdef'], caseInsensitive: false }]);
    // Runs shorter than three characters are pieces too (looked for by a scan of the value)…
    expect(anchors('file where file.name : ("*.js", "ab*")')).toEqual([{ field: 'file.name', values: [], prefixes: ['ab'], suffixes: ['.js'], caseInsensitive: true }]);
    expect(anchors('file where file.name : "?:\\\\*"')).toEqual([{ field: 'file.name', values: [], infixes: [':\\'], caseInsensitive: true }]);
    expect(anchors('file where file.name : ("*", "a*")')).toBeNull();
    // …but only over broad fields, and never as an extra requirement.
    expect(anchors('file where event.type == "creation" and file.path : "*\u{202E}*"')).toEqual([{ field: 'file.path', values: [], infixes: ['\u202e'], caseInsensitive: true }]);
    expect(anchors('file where event.action == "creation" and file.path : "*\u{202E}*"')).toEqual([{ field: 'event.action', values: ['creation'], caseInsensitive: false }]);
    expect(compile('file where file.name == "a" and file.path : "*\u{202E}*"').terms![0]!.anchors).toEqual([{ field: 'file.name', values: ['a'], caseInsensitive: false }]);
    // A literal piece beats a field like event.action whose values most events share…
    expect(anchors('library where event.action == "load" and process.executable : "?:\\\\Windows\\\\System32\\\\lsass.exe"')).toEqual([
      { field: 'process.executable', values: [], suffixes: [':\\windows\\system32\\lsass.exe'], caseInsensitive: true },
    ]);
    // …but an exact value of a specific field beats a piece.
    expect(anchors('process where process.executable : "*\\\\cmd.exe" and process.parent.name : "x.exe"')).toEqual([
      { field: 'process.parent.name', values: ['x.exe'], caseInsensitive: true },
    ]);
  });

  it('gives each term its category and anchors', () => {
    expect(compile('sequence by process.entity_id [process where process.name : "a.exe"] [network where host.os.type == "windows"] until [any where event.code == "1"]').terms).toEqual([
      { category: 'process', anchors: [{ field: 'process.name', values: ['a.exe'], caseInsensitive: true }] },
      // host.os.type is the term's gate too (the router tests it per data stream and value).
      { category: 'network', anchors: [{ field: 'host.os.type', values: ['windows'], caseInsensitive: false }], gate: [{ field: 'host.os.type', values: ['windows'], caseInsensitive: false }] },
      { category: null, anchors: [{ field: 'event.code', values: ['1'], caseInsensitive: false }] },
    ]);
    // The first top-level test of host.os.type with literal values only; never one inside a negation or beside another field.
    expect(compile('process where process.name : "a.exe" and host.os.type in~ ("Linux", "macos") and host.os.type == "linux"').terms![0]!.gate).toEqual([
      { field: 'host.os.type', values: ['linux', 'macos'], caseInsensitive: true },
    ]);
    expect(compile('process where host.os.type == "linux" or host.os.type : "MacOS"').terms![0]!.gate).toEqual([
      { field: 'host.os.type', values: ['linux'], caseInsensitive: false },
      { field: 'host.os.type', values: ['macos'], caseInsensitive: true },
    ]);
    expect(compile('process where not host.os.type == "linux"').terms![0]!.gate).toBeUndefined();
    expect(compile('process where host.os.type == "linux" or process.name == "x"').terms![0]!.gate).toBeUndefined();
    expect(compile('process where host.os.type : "lin*"').terms![0]!.gate).toBeUndefined();
    expect(compile('sequence [process where true] [process where process.name == "b"]').terms).toEqual([
      { category: 'process', anchors: null },
      { category: 'process', anchors: [{ field: 'process.name', values: ['b'], caseInsensitive: false }] },
    ]);
    // Every conjunct that gives anchors on a field not shared by most events is a requirement of
    // its own, the best first; alternatives of one requirement share its number.
    expect(
      compile('process where host.os.type == "windows" and process.executable : "*\\\\cmd.exe" and (process.parent.name : "x.exe" or process.parent.args == "-y") and event.action == "start"').terms,
    ).toEqual([
      {
        category: 'process',
        anchors: [
          { field: 'process.parent.name', values: ['x.exe'], caseInsensitive: true },
          { field: 'process.parent.args', values: ['-y'], caseInsensitive: false },
          { field: 'process.executable', values: [], suffixes: ['\\cmd.exe'], caseInsensitive: true, requirement: 1 },
          { field: 'event.action', values: ['start'], caseInsensitive: false, requirement: 2 },
        ],
        gate: [{ field: 'host.os.type', values: ['windows'], caseInsensitive: false }],
      },
    ]);
    // Integer comparisons give integer anchors, whatever the field's type (two integers are
    // equal under every comparison); fractions and `!=` give none.
    expect(compile('network where destination.port == 445 and process.pid in (4, 8) and source.port == 1.5 and event.code != 3', { fieldType: () => 'long' }).terms).toEqual([
      {
        category: 'network',
        anchors: [
          { field: 'destination.port', values: ['445'], caseInsensitive: false, numeric: true },
          { field: 'process.pid', values: ['4', '8'], caseInsensitive: false, numeric: true, requirement: 1 },
        ],
      },
    ]);
    // Boolean comparisons give boolean anchors, whatever the field's type: better than a broad
    // field, never an extra requirement (most events are trusted), the first on ties.
    expect(compile('process where host.os.type == "windows" and (process.name : "a.exe" or ?process.code_signature.trusted == false) and dll.code_signature.trusted == true').terms![0]!.anchors).toEqual([
      { field: 'process.name', values: ['a.exe'], caseInsensitive: true },
      { field: 'process.code_signature.trusted', values: ['false'], caseInsensitive: false, boolean: true },
    ]);
    expect(compile('process where host.os.type == "windows" and dll.code_signature.trusted == true and process.name : "a.exe"').terms![0]!.anchors).toEqual([
      { field: 'process.name', values: ['a.exe'], caseInsensitive: true },
    ]);
    // A term repeated with [runs=2] is one entry.
    expect(compile('sequence [process where process.name == "b"] with runs=2').terms).toHaveLength(1);
  });

  it('anchors ranges of numbers where numbers compare as numbers', () => {
    // The Unsigned DLL rule's shape: the recent-file disjunction is the best requirement (ranges
    // rate as a field of few values, like code_signature.status; the first on ties), and the
    // status an extra one; the negations and the function give nothing.
    expect(
      compile(
        'library where host.os.type == "windows" and (dll.Ext.relative_file_creation_time <= 500 or dll.Ext.relative_file_name_modify_time < 60 or dll.Ext.device.product_id : ("Virtual Disk")) and process.code_signature.status : "trusted" and not dll.code_signature.status : "trusted" and not startsWith(dll.name, "x")',
      ).terms![0]!.anchors,
    ).toEqual([
      { field: 'dll.Ext.relative_file_creation_time', values: [], caseInsensitive: false, range: { max: 500 } },
      { field: 'dll.Ext.relative_file_name_modify_time', values: [], caseInsensitive: false, range: { max: 60, maxOpen: true } },
      { field: 'dll.Ext.device.product_id', values: ['virtual disk'], caseInsensitive: true },
      { field: 'process.code_signature.status', values: ['trusted'], caseInsensitive: true, requirement: 1 },
    ]);
    // Either way round, all four comparisons; fractions and negative bounds too.
    expect(anchors('process where 3 < process.args_count and -1.5 >= process.parent.Ext.real.pid and process.pid > 0.25 and process.args_count >= 2')).toEqual([
      { field: 'process.args_count', values: [], caseInsensitive: false, range: { min: 3, minOpen: true } },
    ]);
    expect(compile('process where 3 < process.args_count and -1.5 >= process.parent.Ext.real.pid and process.pid > 0.25').terms![0]!.anchors).toEqual([
      { field: 'process.args_count', values: [], caseInsensitive: false, range: { min: 3, minOpen: true } },
      { field: 'process.parent.Ext.real.pid', values: [], caseInsensitive: false, range: { max: -1.5 }, requirement: 1 },
      { field: 'process.pid', values: [], caseInsensitive: false, range: { min: 0.25, minOpen: true }, requirement: 2 },
    ]);
    // Keyword fields compare "1000" < "500" as text, dates by time, the timestamp as a date: no
    // range; nor against a string constant, or under a negation (true when the field is missing).
    const types: Record<string, string> = { 'file.size': 'long', 'file.name': 'keyword', 'file.created': 'date', 'file.version': 'version' };
    expect(anchors('file where file.size > 10', (f) => types[f])).toEqual([{ field: 'file.size', values: [], caseInsensitive: false, range: { min: 10, minOpen: true } }]);
    expect(anchors('file where file.name > 10', (f) => types[f])).toBeNull();
    expect(anchors('file where file.created > 10', (f) => types[f])).toBeNull();
    expect(anchors('file where file.version > 10', (f) => types[f])).toBeNull();
    expect(anchors('file where @timestamp > 10')).toBeNull();
    expect(anchors('file where file.size > "10"')).toBeNull();
    expect(anchors('file where not file.size > 10')).toBeNull();
    expect(anchors('file where file.size != 10')).toBeNull();
  });

  it('anchors an existence test only where nothing else anchors the term', () => {
    expect(anchors('network where dns.question.name != null and not dns.question.name : "*.local"')).toEqual([
      { field: 'dns.question.name', values: [], caseInsensitive: false, exists: true },
    ]);
    expect(anchors('network where not null == dns.question.name')).toEqual([{ field: 'dns.question.name', values: [], caseInsensitive: false, exists: true }]);
    // Worse than a broad field, and never an extra requirement (a look-up per event).
    expect(compile('network where host.os.type == "windows" and dns.question.name != null').terms![0]!.anchors).toEqual([
      { field: 'host.os.type', values: ['windows'], caseInsensitive: false },
    ]);
    expect(compile('network where dns.question.name != null and destination.port == 53').terms![0]!.anchors).toEqual([
      { field: 'destination.port', values: ['53'], caseInsensitive: false, numeric: true },
    ]);
    // Negations other than of `== null` match events that lack the field (EQL §4): no anchor.
    expect(anchors('network where dns.question.name != "x"')).toBeNull();
    expect(anchors('network where not dns.question.name != null')).toBeNull();
    expect(anchors('network where dns.question.name == null')).toBeNull();
    expect(anchors('network where dns.question.name not in ("x")')).toBeNull();
    expect(anchors('network where not dns.question.name : "x*"')).toBeNull();
  });

  it('checks a term\'s exclusions of a field, and case-sensitive regular expressions, on the values its pieces find', () => {
    const terms = (q: string) => compile(q).terms![0]!.anchors;
    // The Program Files Directory Masquerading shape: the anchor's own patterns, and each negated
    // test of the field (the name's exclusion is on another field).
    expect(
      terms('process where process.executable : ("C:\\\\*Program Files*\\\\*.exe", "x") and not process.executable : ("?:\\\\Program Files\\\\*.exe", "?:\\\\Program Files (x86)\\\\*.exe") and not process.name in~ ("A.exe")'),
    ).toEqual([
      {
        field: 'process.executable',
        values: ['x'],
        infixes: ['program files'],
        caseInsensitive: true,
        check: {
          like: { patterns: ['c:\\*program files*\\*.exe', 'x'], folded: true, wildcard: true },
          unless: [{ patterns: ['?:\\program files\\*.exe', '?:\\program files (x86)\\*.exe'], folded: true, wildcard: true }],
        },
      },
    ]);
    // A case-sensitive anchor takes case-insensitive exclusions too (the value is lower-cased for
    // them), and each part of `not (… or …)`; a case-insensitive anchor (lower-cased values) takes
    // no case-sensitive one.
    expect(terms('file where file.name like "*.SCR" and not (file.name : "A*" or file.name in ("B.SCR") or file.path : "x") and not file.name in~ ("C.SCR")')).toEqual([
      {
        field: 'file.name',
        values: [],
        suffixes: ['.SCR'],
        caseInsensitive: false,
        check: {
          like: { patterns: ['*.SCR'], folded: false, wildcard: true },
          unless: [
            { patterns: ['a*'], folded: true, wildcard: true },
            { patterns: ['B.SCR'], folded: false, wildcard: false },
            { patterns: ['c.scr'], folded: true, wildcard: false },
          ],
        },
      },
    ]);
    expect(terms('process where process.name : ("*.scr") and not process.name like "X*" and process.name not in ("a.scr")')).toEqual([
      { field: 'process.name', values: [], suffixes: ['.scr'], caseInsensitive: true },
    ]);
    // Only a top-level conjunct excludes: under `or` a negation need not hold.
    expect(terms('process where process.name : "*.exe" and (not process.name : "a*" or process.pid == 1)')).toEqual([
      { field: 'process.name', values: [], suffixes: ['.exe'], caseInsensitive: true },
    ]);
    // The Unquoted Service Path shape: the regular expression itself, behind its 63 prefixes.
    const unquoted = terms('process where process.executable regex """C:\\\\Program Files\\\\\\w+.exe"""')!;
    expect(unquoted).toHaveLength(1);
    expect(unquoted[0]!.prefixes).toHaveLength(63);
    expect(unquoted[0]!.check).toEqual({ regex: ['C:\\\\Program Files\\\\\\w+.exe'] });
    // regex~ (folded inside the matcher) and an exact language get no check.
    expect(terms('process where process.executable regex~ """C:\\\\Program Files\\\\[a-z]+"""')![0]!.check).toBeUndefined();
    expect(terms('process where process.name regex """(cmd|pwsh)\\.exe"""')).toEqual([{ field: 'process.name', values: ['cmd.exe', 'pwsh.exe'], caseInsensitive: false }]);
  });

  it('needs an anchor for every term of a sequence, until included', () => {
    expect(anchors('sequence by host.id [process where process.name : "a.exe"] [file where file.name == "x"]')).toEqual([
      { field: 'process.name', values: ['a.exe'], caseInsensitive: true },
      { field: 'file.name', values: ['x'], caseInsensitive: false },
    ]);
    expect(anchors('sequence [process where process.name : "a.exe"] [file where true]')).toBeNull();
    expect(anchors('sequence [process where process.name : "a.exe"] [process where process.name : "b.exe"] until [process where true]')).toBeNull();
  });

  it('never anchors on the timestamp or on fields that do not compare as strings', () => {
    expect(anchors('any where @timestamp == "2024-01-01T00:00:00Z"')).toBeNull();
    expect(anchors('network where source.ip == "10.0.0.1"', (f) => (f === 'source.ip' ? 'ip' : undefined))).toBeNull();
    expect(anchors('network where source.ip == "10.0.0.1"', (f) => (f === 'source.ip' ? 'keyword' : undefined))).toEqual([
      { field: 'source.ip', values: ['10.0.0.1'], caseInsensitive: false },
    ]);
  });
  it('requires, of an `or` of conjunctions, each branch\'s best anchor, then unions of others', () => {
    const terms = (q: string) => compile(q).terms![0]!.anchors;
    // The Clearing Windows Event Logs shape: a name per branch, and an args value per branch.
    expect(
      terms('process where host.os.type == "windows" and ((process.name : "wevtutil.exe" and process.args : ("cl", "clear-log")) or (process.name : ("powershell.exe", "pwsh.exe") and process.args : "Clear-EventLog"))'),
    ).toEqual([
      { field: 'process.name', values: ['wevtutil.exe'], caseInsensitive: true },
      { field: 'process.name', values: ['powershell.exe', 'pwsh.exe'], caseInsensitive: true },
      { field: 'process.args', values: ['cl', 'clear-log'], caseInsensitive: true, requirement: 1 },
      { field: 'process.args', values: ['clear-eventlog'], caseInsensitive: true, requirement: 1 },
      // …and a name of one branch or the args value of the other (implied too).
      { field: 'process.name', values: ['wevtutil.exe'], caseInsensitive: true, requirement: 2 },
      { field: 'process.args', values: ['clear-eventlog'], caseInsensitive: true, requirement: 2 },
    ]);
    // A branch with one anchor gives it to every requirement; three branches, nested: those that
    // share the fewest anchors with the first come next.
    expect(terms('process where (process.name : "a" and process.args : "x") or process.name : "b" or (process.args : "y" and process.parent.name : "p")')).toEqual([
      { field: 'process.name', values: ['a'], caseInsensitive: true },
      { field: 'process.name', values: ['b'], caseInsensitive: true },
      { field: 'process.args', values: ['y'], caseInsensitive: true },
      { field: 'process.args', values: ['x'], caseInsensitive: true, requirement: 1 },
      { field: 'process.name', values: ['b'], caseInsensitive: true, requirement: 1 },
      { field: 'process.parent.name', values: ['p'], caseInsensitive: true, requirement: 1 },
      { field: 'process.name', values: ['a'], caseInsensitive: true, requirement: 2 },
      { field: 'process.name', values: ['b'], caseInsensitive: true, requirement: 2 },
      { field: 'process.parent.name', values: ['p'], caseInsensitive: true, requirement: 2 },
    ]);
    // A second requirement as weak as a broad field's is left out, as any such conjunct is.
    expect(terms('process where (host.os.type == "windows" and process.name : "w") or (host.os.type == "linux" and process.name : "l")')).toEqual([
      { field: 'process.name', values: ['w'], caseInsensitive: true },
      { field: 'process.name', values: ['l'], caseInsensitive: true },
    ]);
    // A negation gives no anchor: its branch's args value is in both requirements.
    expect(terms('process where (process.name : "a" and process.args : "x") or (not process.name : "b" and process.args : "y")')).toEqual([
      { field: 'process.name', values: ['a'], caseInsensitive: true },
      { field: 'process.args', values: ['y'], caseInsensitive: true },
      { field: 'process.args', values: ['x'], caseInsensitive: true, requirement: 1 },
      { field: 'process.args', values: ['y'], caseInsensitive: true, requirement: 1 },
    ]);
    expect(terms('process where (process.name : "a" and process.args : "x") or not process.name : "b"')).toBeNull();
    // The query's anchors (one requirement per term) are choose()'s, unchanged.
    expect(anchors('process where (process.name : "a" and process.args : "x") or (process.name : "b" and process.args : "y")')).toEqual([
      { field: 'process.name', values: ['a'], caseInsensitive: true },
      { field: 'process.name', values: ['b'], caseInsensitive: true },
    ]);
  });
  it('requires a character outside ASCII of a case-sensitive `regex ".*C+.*"`', () => {
    const terms = (q: string) => compile(q).terms![0]!.anchors;
    // The Unicode modifier letters rule's shape: the names first, the characters a requirement.
    expect(terms('process where process.name : ("cmd.exe", "Reg.exe") and process.command_line regex """.*[ʰ-˿ᴬ-ᶻ]+.*"""')).toEqual([
      { field: 'process.name', values: ['cmd.exe', 'reg.exe'], caseInsensitive: true },
      { field: 'process.command_line', values: [], caseInsensitive: false, chars: [0x2b0, 0x2ff, 0x1d2c, 0x1dbb], requirement: 1 },
    ]);
    // Several patterns: any of their ranges; alone, the characters are the anchor.
    expect(anchors('process where process.command_line regex (".*[\u{202E}].*", "@[é-ë]@")')).toEqual([
      { field: 'process.command_line', values: [], caseInsensitive: false, chars: [0x202e, 0x202e, 0xe9, 0xeb] },
    ]);
    // Not: regex~ (it folds: [À-Þ] holds the upper-case of à…), a class with ASCII, two in a row,
    // a negated class, a pattern of another shape among them (other anchors, if any, are pieces).
    const chars = (q: string) => (anchors(q) ?? []).filter((a) => a.chars !== undefined);
    expect(chars('process where process.command_line regex~ ".*[À-Þ].*"')).toEqual([]);
    expect(chars('process where process.command_line regex ".*[a-é].*"')).toEqual([]);
    expect(chars('process where process.command_line regex ".*[é]{2}.*"')).toEqual([]);
    expect(chars('process where process.command_line regex ".*[^é].*"')).toEqual([]);
    expect(chars('process where process.command_line regex (".*[é].*", ".*x")')).toEqual([]);
    expect(anchors('process where not process.command_line regex ".*[é].*"')).toBeNull();
  });
});
