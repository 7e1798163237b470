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
    expect(anchors('process where host.os.type == "linux" and process.args_count > 3')).toEqual([
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
      { field: 'file.path', values: [], prefixes: ['x'], caseInsensitive: false },
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
});
