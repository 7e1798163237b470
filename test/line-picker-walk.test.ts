// A LinePicker that walks as it builds (LinePicker.walkWith, FieldWalker.walkBuilt): the router
// reads its anchored fields from the walk the picker made while building a document instead of
// walking the document. That walk must report exactly the values FieldWalker.walk reports for the
// line's whole parsed document — as a multiset, since the router only marks what it sees — and
// mark the document plain exactly when walk() would; where walk() would give up (too many keys,
// too deep) or where a key is given twice in one object (JSON.parse keeps its last value), the
// picker makes no walk and the router walks the document itself.
import { describe, expect, it } from 'vitest';
import { LinePicker } from '../src/events/line-picker.js';
import { FieldWalker, isMarkedPlain, type BuiltWalk } from '../src/engine/fields.js';
import { mulberry32 } from './prng.js';

// The picker's fields hold the walker's (as a hunt's do: every accessor is picked), and more:
// `data_stream` is wanted whole, so the walker's `data_stream.dataset` lies under a whole value.
const PICKED = ['process.name', 'process.args', 'process.parent.name', 'host.os.type', 'event.category', 'data_stream', 'user.id', 'a.b.c', 'a.x', 'n', 'z'];
const WALKED = ['process.name', 'process.args', 'process.parent.name', 'event.category', 'data_stream.dataset', 'a.b.c', 'n'];
const ALSO = ['host.os.type', 'user.id'];

const picker = LinePicker.create(PICKED)!;
const walker = new FieldWalker(WALKED, ALSO);
picker.walkWith(walker);

function pick(line: string): { doc: Record<string, unknown> | null; built: BuiltWalk | null } {
  const buf = Buffer.from(`${line}\n{"next":1}\n`);
  picker.load(buf, 0, buf.length);
  const doc = picker.pick(0, Buffer.byteLength(line));
  return { doc, built: picker.takeWalk() };
}

/** What walk() reports for a source, sorted, and whether it walked and marked the source plain. */
function walkOf(source: Record<string, unknown>): { ok: boolean; plain: boolean; visits: string[] } {
  const visits: string[] = [];
  const ok = walker.walk(source, (f, v) => visits.push(`${WALKED[f]}=${JSON.stringify(v)}`));
  return { ok, plain: isMarkedPlain(source), visits: visits.sort() };
}

function builtOf(doc: Record<string, unknown>, built: BuiltWalk): { plain: boolean; visits: string[] } {
  const visits: string[] = [];
  walker.walkBuilt(doc, built, (f, v) => visits.push(`${WALKED[f]}=${JSON.stringify(v)}`));
  return { plain: isMarkedPlain(doc), visits: visits.sort() };
}

/** 'walked': the picker's walk agrees with walk() on the parsed line; 'gave up': it made none; 'declined': no document. */
function agrees(line: string): 'walked' | 'gave up' | 'declined' {
  const { doc, built } = pick(line);
  if (doc === null) {
    expect(built, line).toBeNull();
    return 'declined';
  }
  if (built === null) return 'gave up';
  const what = line.slice(0, 160);
  expect(built.walker).toBe(walker);
  // The reference: what the router did before, walking the picked document.
  const before = walkOf(doc);
  expect(before.ok, what).toBe(true);
  const mine = builtOf(doc, built);
  expect(mine.visits, what).toEqual(before.visits);
  expect(mine.plain, what).toBe(before.plain);
  // And the values are those of the whole parsed line (which a walk may find too large).
  const whole = walkOf(JSON.parse(line) as Record<string, unknown>);
  if (whole.ok) expect(whole.visits, what).toEqual(mine.visits);
  return 'walked';
}

describe('a LinePicker walking as it builds', () => {
  it('reports what walk() reports: nested, dotted, through arrays, under a whole value, and marks plain as it does', () => {
    const line =
      '{"process":{"name":"cmd.exe","args":["a",["nested"],{"o":1},null,7,true],"parent":{"name":"explorer.exe"}},"host":{"os":{"type":"windows"}},' +
      '"event":{"category":["process","file"]},"data_stream":{"dataset":"endpoint.events.process","type":"logs"},' +
      '"a":[{"b":{"c":1}},[{"b":{"c":[2,[3]]}}],{"b":[{"c":"four"}]}],"n":-0,"user":{"id":"u"},"other":{"process":{"name":"no"}}}';
    expect(agrees(line)).toBe('walked');
    const { doc, built } = pick(line);
    expect(builtOf(doc!, built!)).toEqual({
      plain: true,
      visits: [
        'a.b.c="four"',
        'a.b.c=1',
        'a.b.c=2',
        'data_stream.dataset="endpoint.events.process"',
        'event.category="file"',
        'event.category="process"',
        'n=0',
        'process.args="a"',
        'process.args=7',
        'process.args=true',
        'process.name="cmd.exe"',
        'process.parent.name="explorer.exe"',
      ],
    });
    // A dotted key that spells a walked field: reported, and the document not marked plain.
    const dotted = '{"process.name":"flat","process":{"parent.name":"p","name":"nested"},"data_stream.dataset":"d"}';
    expect(agrees(dotted)).toBe('walked');
    const d = pick(dotted);
    expect(builtOf(d.doc!, d.built!)).toEqual({ plain: false, visits: ['data_stream.dataset="d"', 'process.name="flat"', 'process.name="nested"', 'process.parent.name="p"'] });
    // A dotted key under a whole value is followed as walk() follows it.
    expect(agrees('{"data_stream":{"x.y":1,"dataset":"d"},"n":1}')).toBe('walked');
  });

  it('makes no walk where walk() would see something else: a key given twice in one object, too many keys', () => {
    for (const line of [
      '{"process":{"name":"first","name":"last"}}',
      '{"n":1,"n":2}',
      '{"process.name":"a","process.name":"b"}',
      '{"process":{"name":"x"},"process":{"args":"y"}}',
      '{"data_stream":{"dataset":"a","dataset":"b"}}',
    ]) {
      expect(agrees(line), line).toBe('gave up');
      // The router then walks the document: what it sees is JSON.parse's last value.
      const { doc } = pick(line);
      expect(walkOf(doc!).visits, line).toEqual(walkOf(JSON.parse(line) as Record<string, unknown>).visits);
    }
    // More keys than walk()'s budget under a followed (whole) value: no walk, and walk() gives up too.
    const big = `{"data_stream":{${Array.from({ length: 4100 }, (_, i) => `"k${i}":${i}`).join(',')}}}`;
    expect(agrees(big)).toBe('gave up');
    expect(walkOf(pick(big).doc!).ok).toBe(false);
    // Skipped keys are not walked: as many under a key nobody reads cost the walk nothing.
    expect(agrees(`{"other":{${Array.from({ length: 4100 }, (_, i) => `"k${i}":${i}`).join(',')}},"n":1}`)).toBe('walked');
    // The same key in different objects (array elements, or nested and dotted spellings) is no duplicate.
    expect(agrees('{"a":[{"b":{"c":1}},{"b":{"c":2}}],"process":{"name":"x","parent":{"name":"y"}},"process.name":"z"}')).toBe('walked');
    // Keys not followed may repeat: walk() never looks at them.
    expect(agrees('{"other":1,"other":2,"n":3}')).toBe('walked');
    // A key given twice under a whole value the walker does not follow into.
    expect(agrees('{"data_stream":{"type":"a","type":"b"},"n":1}')).toBe('walked');
  });

  it('agrees with walk() on random lines', () => {
    const random = mulberry32(21);
    const int = (n: number) => Math.floor(random() * n);
    const keys = ['process', 'name', 'args', 'parent', 'a', 'b', 'c', 'x', 'n', 'z', 'data_stream', 'dataset', 'event', 'category', 'process.name', 'a.b', 'b.c', 'parent.name', 'data_stream.dataset', 'other', '__proto__', ''];
    const scalar = () => [() => `"v${int(4)}"`, () => String(int(100) - 50), () => 'true', () => 'false', () => 'null', () => '"é\\n\\u00e9"', () => '1.5e3'][int(7)]!();
    const value = (depth: number): string => {
      const r = int(depth > 5 ? 3 : 6);
      if (r < 3) return scalar();
      if (r === 3) return `[${Array.from({ length: int(4) }, () => value(depth + 1)).join(',')}]`;
      return object(depth + 1);
    };
    const object = (depth: number): string => `{${Array.from({ length: int(5) }, () => `"${keys[int(keys.length)]}":${value(depth)}`).join(',')}}`;
    const counts = { walked: 0, 'gave up': 0, declined: 0 };
    for (let i = 0; i < 5000; i++) counts[agrees(object(0))]++;
    expect(counts.walked).toBeGreaterThan(3500);
    expect(counts['gave up']).toBeGreaterThan(50);
    expect(counts.declined).toBe(0);
  });

  it('stops walking when told to, and a walk is taken once', () => {
    const line = '{"process":{"name":"cmd.exe"}}';
    expect(pick(line).built).not.toBeNull();
    const buf = Buffer.from(`${line}\n`);
    picker.load(buf, 0, buf.length);
    picker.pick(0, line.length);
    expect(picker.takeWalk()).not.toBeNull();
    expect(picker.takeWalk()).toBeNull();
    picker.walkWith(null);
    try {
      expect(pick(line).built).toBeNull();
    } finally {
      picker.walkWith(walker);
    }
  });
});
