// FieldWalker (src/engine/fields.ts) reads the router's ~190 anchored fields in one walk of an
// event. It must find every value each field's accessor finds (nested, dotted, mixed, arrays along
// the path), and must never mark a source plain for an accessor that a dotted key would mislead:
// it walks only to the fields it knows, so its mark holds for their accessors alone.
import { describe, expect, it } from 'vitest';
import { fieldAccessor, FieldWalker, isMarkedPlain, plainScopeOf, remarkPlain } from '../src/engine/fields.js';

/** The values of a field as the router used them from its accessor: an array's own non-object elements. */
function accessorValues(name: string, source: Record<string, unknown>): unknown[] {
  const v = fieldAccessor(name)(source);
  const xs = Array.isArray(v) ? v : [v];
  return xs.filter((x) => x !== null && x !== undefined && typeof x !== 'object');
}

function walked(walker: FieldWalker, names: string[], source: Record<string, unknown>): { ok: boolean; values: Record<string, unknown[]> } {
  const values: Record<string, unknown[]> = Object.fromEntries(names.map((n) => [n, []]));
  const ok = walker.walk(source, (i, v) => values[names[i]!]!.push(v));
  return { ok, values };
}

const sortValues = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

describe('FieldWalker', () => {
  it('reports the values of nested, dotted and array-valued fields', () => {
    const names = ['process.name', 'process.args', 'process.parent.name', 'a.b', 'a', 'n', 'flag', 'x.y.z'];
    const walker = new FieldWalker(names);
    const source = {
      process: { name: 'cmd.exe', args: ['cmd', ['nested'], { o: 1 }, null, 7], 'parent.name': 'explorer.exe' },
      a: [{ b: 'one' }, [{ b: ['two', ['three']] }], 'own', { c: 'no' }],
      n: 12,
      flag: false,
      'x.y': { z: null },
      other: { deep: { 'dotted.key': 1 } },
    };
    const { ok, values } = walked(walker, names, source);
    expect(ok).toBe(true);
    expect(values).toEqual({
      'process.name': ['cmd.exe'],
      'process.args': ['cmd', 7],
      'process.parent.name': ['explorer.exe'],
      'a.b': ['one', 'two'],
      a: ['own'],
      n: [12],
      flag: [false],
      'x.y.z': [],
    });
    for (const n of names) expect(sortValues(values[n]!)).toEqual(sortValues(accessorValues(n, source)));
  });

  it('finds every value the accessors find, in random sources', () => {
    const segments = ['a', 'b', 'c'];
    const names: string[] = [];
    for (const x of segments) {
      names.push(x);
      for (const y of segments) {
        names.push(`${x}.${y}`);
        for (const z of segments) names.push(`${x}.${y}.${z}`);
      }
    }
    const walker = new FieldWalker(names);
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    const keys = ['a', 'b', 'c', 'd', 'a.b', 'b.c', 'a.b.c', 'c.a'];
    const value = (depth: number, dotted: boolean): unknown => {
      const r = rnd(depth > 3 ? 4 : 7);
      if (r === 0) return `v${rnd(5)}`;
      if (r === 1) return rnd(100);
      if (r === 2) return rnd(2) === 0;
      if (r === 3) return null;
      if (r === 4) return Array.from({ length: rnd(4) }, () => value(depth + 1, dotted));
      return object(depth + 1, dotted);
    };
    const object = (depth: number, dotted: boolean): Record<string, unknown> => {
      const o: Record<string, unknown> = {};
      for (let i = 1 + rnd(4); i > 0; i--) o[keys[rnd(dotted ? keys.length : 4)]!] = value(depth, dotted);
      return o;
    };
    let compared = 0;
    for (let round = 0; round < 2000; round++) {
      const dotted = round % 2 === 1;
      const source = object(0, dotted);
      const { ok, values } = walked(walker, names, source);
      expect(ok).toBe(true);
      const hasDots = JSON.stringify(source).match(/"[^"]*\.[^"]*":/) !== null;
      for (const n of names) {
        const want = sortValues(accessorValues(n, source));
        const got = sortValues(values[n]!);
        if (!hasDots) expect(got, `${n} in ${JSON.stringify(source)}`).toEqual(want);
        // With dotted keys an accessor returns the first spelling found; the walk reports all.
        else for (const w of new Set(want)) expect(got, `${n} in ${JSON.stringify(source)}`).toContain(w);
        compared += want.length;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('does not mark a source with dotted keys plain, and gives up on sources too large to walk', () => {
    const walker = new FieldWalker(['process.name']);
    const dotted = { process: { name: 'a', 'parent.name': 'p' } };
    expect(walker.walk(dotted, () => {})).toBe(true);
    // Marked plain, the accessor would answer "absent" without looking under the dotted key.
    expect(fieldAccessor('process.parent.name')(dotted)).toBe('p');
    const deepDotted = { x: { y: [{ 'z.w': 1 }] } };
    walker.walk(deepDotted, () => {});
    expect(fieldAccessor('x.y.z.w')(deepDotted)).toBe(1);
    const large: Record<string, unknown> = {};
    for (let i = 0; i < 5000; i++) large[`k${i}`] = i;
    large['process.name'] = 'x';
    expect(walker.walk(large, () => {})).toBe(false);
    expect(fieldAccessor('process.name')(large)).toBe('x');
    // Deeper than 64 levels along a wanted field: given up; elsewhere only not marked plain.
    let deep: Record<string, unknown> = { v: 1 };
    for (let i = 0; i < 70; i++) deep = { p: deep };
    expect(new FieldWalker([Array(71).fill('p').join('.')]).walk(deep, () => {})).toBe(false);
    expect(walker.walk(deep, () => {})).toBe(true);
  });
  it('remembers keys met outside the wanted fields without changing what it reports or marks', () => {
    const walker = new FieldWalker(['process.name', 'a.b']);
    const plainAfter = (source: Record<string, unknown>, missing: string): boolean => {
      walker.walk(source, () => {});
      // Marked plain, an accessor answers "absent" at once for a field that is only under a dotted key.
      return fieldAccessor(missing)(source) === undefined;
    };
    // First sight of `other`, `deep` and `list`: remembered as keys without a dot.
    expect(plainAfter({ process: { name: 'a', pid: 1 }, other: { deep: { x: 1 }, list: [{ y: 2 }] } }, 'other.deep.x.z')).toBe(true);
    // The same keys again, now holding dotted keys below them: not plain.
    const below = { process: { name: 'a', pid: 1 }, other: { deep: { 'x.z': 1 } } };
    expect(plainAfter(below, 'other.deep.x.z')).toBe(false);
    expect(fieldAccessor('other.deep.x.z')(below)).toBe(1);
    const inArray = { other: { list: [{ 'y.z': 3 }] } };
    expect(plainAfter(inArray, 'other.list.y.z')).toBe(false);
    expect(fieldAccessor('other.list.y.z')(inArray)).toBe(3);
    // A dotted key whose path runs through remembered keys reports nothing, as before.
    const values: unknown[] = [];
    expect(walker.walk({ 'other.deep': 'v', 'process.pid': 5, 'process.name': 'n', a: { b: 'w' } }, (i, v) => values.push([i, v]))).toBe(true);
    expect(values).toEqual([[0, 'n'], [1, 'w']]);
    // Past the bound on remembered keys, new keys are checked as before.
    for (let i = 0; i < 4200; i += 100) {
      const many: Record<string, unknown> = {};
      for (let j = i; j < i + 100; j++) many[`k${j}`] = { v: j };
      walker.walk({ many }, () => {});
    }
    expect(plainAfter({ many: { k9999: { 'v.w': 1 } } }, 'many.k9999.v.w')).toBe(false);
    expect(plainAfter({ many: { k9998: { w: 1 } } }, 'many.k9998.v.w')).toBe(true);
    expect(plainAfter({ fresh: { 'p.q': 1 } }, 'fresh.p.q')).toBe(false);
  });
  it('reports and marks the same after its memo of outside keys is full, with dotted and prototype-named keys', () => {
    const names = ['process.name', 'process.parent.name', 'a', 'a.b', '__proto__.x', 'constructor'];
    const walker = new FieldWalker(names);
    let seed = 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    // Keys of the wanted fields, keys outside them, keys named like Object.prototype's, and dotted
    // keys through wanted and outside keys; `k<n>` keys are always new (they fill the memo).
    const plain = ['process', 'name', 'parent', 'a', 'b', 'other', 'x', '__proto__', 'constructor', 'toString', ''];
    const dotted = ['process.name', 'parent.name', 'a.b', 'other.x', '__proto__.x', 'process.other', '.', 'a.', '.b', 'k1.name'];
    let fresh = 0;
    const key = (dots: boolean): string => {
      const r = rnd(20);
      if (r < 3) return `k${fresh++}`;
      if (dots && r < 6) return dotted[rnd(dotted.length)]!;
      return plain[rnd(plain.length)]!;
    };
    const json = (depth: number, dots: boolean): string => {
      const r = rnd(depth > 4 ? 4 : 7);
      if (r === 0) return JSON.stringify(`v${rnd(4)}`);
      if (r === 1) return String(rnd(100));
      if (r === 2) return 'null';
      if (r === 3) return '"a.b{[\\""';
      if (r === 4) return `[${Array.from({ length: rnd(3) }, () => json(depth + 1, dots)).join(',')}]`;
      return `{${Array.from({ length: 1 + rnd(4) }, () => `${JSON.stringify(key(dots))}:${json(depth + 1, dots)}`).join(',')}}`;
    };
    const hasDottedKey = (v: unknown): boolean =>
      v !== null && typeof v === 'object' && (Array.isArray(v) ? v.some(hasDottedKey) : Object.keys(v).some((k) => k.includes('.') || hasDottedKey((v as Record<string, unknown>)[k])));
    // The paths the walker knows (every prefix of its fields), and whether a dotted key spells one
    // of them from where it is: only such a key may keep the source from being marked plain.
    const known = new Set(names.flatMap((n) => n.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
    const misleads = (v: unknown, path: string): boolean => {
      if (v === null || typeof v !== 'object') return false;
      if (Array.isArray(v)) return v.some((x) => misleads(x, path));
      return Object.keys(v).some((k) => {
        const p = path === '' ? k : `${path}.${k}`;
        return known.has(p) && (k.includes('.') || misleads((v as Record<string, unknown>)[k], p));
      });
    };
    // Fields the walker knows and fields it does not, whose accessors must answer as on an unmarked copy.
    const probes = [...names, 'process', 'process.parent', 'k1.name', 'other.x', 'other.x.name', 'other.x.name.process.other', 'a.b.c', 'process.other', 'x', '.', 'a.', '.b', 'b'];
    let outside = 0;
    let marked = 0;
    let unmarked = 0;
    for (let round = 0; round < 4000; round++) {
      // Plain sources first (the memo fills past its 4,096 nodes), then dotted keys among them.
      const dots = round >= 2000 && round % 2 === 0;
      // JSON.parse makes `__proto__` an own key, as events have it.
      const source = JSON.parse(`{${Array.from({ length: 1 + rnd(6) }, () => `${JSON.stringify(key(dots))}:${json(0, dots)}`).join(',')}}`) as Record<string, unknown>;
      const { ok, values } = walked(walker, names, source);
      expect(ok).toBe(true);
      const hasDots = hasDottedKey(source);
      const misled = misleads(source, '');
      expect(isMarkedPlain(source), JSON.stringify(source)).toBe(!misled);
      if (misled) unmarked++;
      else marked++;
      if (hasDots && !misled) outside++;
      const copy = JSON.parse(JSON.stringify(source)) as Record<string, unknown>;
      for (const n of probes) expect(fieldAccessor(n)(source), `${n} in ${JSON.stringify(source)}`).toEqual(fieldAccessor(n)(copy));
      for (const n of names) {
        const want = sortValues(accessorValues(n, source));
        const got = sortValues(values[n]!);
        if (!hasDots) expect(got, `${n} in ${JSON.stringify(source)}`).toEqual(want);
        else for (const w of new Set(want)) expect(got, `${n} in ${JSON.stringify(source)}`).toContain(w);
      }
    }
    expect(fresh).toBeGreaterThan(4096);
    expect(marked).toBeGreaterThan(2000);
    expect(unmarked).toBeGreaterThan(100);
    // Marked although dotted keys lie where no known field can be spelled.
    expect(outside).toBeGreaterThan(300);
  });

  it('skips what leads to no field it knows, dotted keys there too, and marks plain for its own fields only', () => {
    const walker = new FieldWalker(['process.name', 'process.parent.name'], ['event.category']);
    const values: unknown[] = [];
    // A dotted key under a skipped subtree (`agent`) and one at a known object that spells no
    // known field (`process.pe.original_file_name` is not one): marked plain, nothing visited there.
    const skipped = { agent: { 'x.y': 1, deep: [{ 'a.b': 2 }] }, process: { name: 'cmd.exe', 'pe.original_file_name': 'CMD.EXE' }, event: { category: ['process'] } };
    expect(walker.walk(skipped, (i, v) => values.push([i, v]))).toBe(true);
    expect(values).toEqual([[0, 'cmd.exe']]);
    expect(isMarkedPlain(skipped)).toBe(true);
    // Accessors of fields the walker knows take the mark; the others still find dotted keys.
    expect(fieldAccessor('process.parent.name')(skipped)).toBeUndefined();
    expect(fieldAccessor('event.category')(skipped)).toEqual(['process']);
    expect(fieldAccessor('agent.x.y')(skipped)).toBe(1);
    expect(fieldAccessor('agent.deep.a.b')(skipped)).toBe(2);
    expect(fieldAccessor('process.pe.original_file_name')(skipped)).toBe('CMD.EXE');
  });

  it('reports and does not mark plain a dotted key that spells a known field, also in arrays of objects along the path', () => {
    const walker = new FieldWalker(['process.parent.name', 'a.b.c']);
    const cases: [Record<string, unknown>, unknown[]][] = [
      [{ process: { 'parent.name': 'p1' } }, [[0, 'p1']]],
      [{ 'process.parent': { name: 'p2' } }, [[0, 'p2']]],
      [{ 'process.parent.name': ['p3', 'p4'] }, [[0, 'p3'], [0, 'p4']]],
      [{ process: [{ 'parent.name': 'p5' }, { parent: { name: 'p6' } }] }, [[0, 'p5'], [0, 'p6']]],
      [{ a: [{ 'b.c': 1 }, [{ b: [{ c: 2 }] }]] }, [[1, 1], [1, 2]]],
      // A prefix of a known field spelled with a dot, holding nothing: still not plain for `a.b.c`.
      [{ 'a.b': { d: 1 } }, []],
    ];
    for (const [source, want] of cases) {
      const got: unknown[] = [];
      expect(walker.walk(source, (i, v) => got.push([i, v]))).toBe(true);
      expect(got, JSON.stringify(source)).toEqual(want);
      expect(isMarkedPlain(source), JSON.stringify(source)).toBe(false);
    }
    // Arrays of objects along a skipped path: plain, and an accessor outside the known fields finds the dotted key.
    const inArrays = { a: [{ x: [{ 'y.z': 3 }] }, { b: { c: 4 } }], process: [{ parent: [{ name: 'q' }] }] };
    const got: unknown[] = [];
    expect(walker.walk(inArrays, (i, v) => got.push([i, v]))).toBe(true);
    expect(got).toEqual([[1, 4], [0, 'q']]);
    expect(isMarkedPlain(inArrays)).toBe(true);
    expect(fieldAccessor('a.x.y.z')(inArrays)).toBe(3);
    expect(fieldAccessor('a.b.c')(inArrays)).toBe(4);
  });

  it('keeps the mark from an accessor made after the walk, and gives the scope back with remarkPlain', () => {
    const walker = new FieldWalker(['m1.n1.o1']);
    const first = { m1: { n1: { o1: 'v' }, 'q1.r1': 1 } };
    const second = { m1: { n1: { o1: 'w' } } };
    walker.walk(first, () => {});
    const scope = plainScopeOf(first);
    expect(scope).toBeDefined();
    walker.walk(second, () => {});
    expect(plainScopeOf(first)).toBeUndefined();
    remarkPlain(first, scope!);
    expect(isMarkedPlain(first)).toBe(true);
    // First made now, after the walks: `m1.q1.r1` is not a field the walker knows, `m1.n1` is.
    expect(fieldAccessor('m1.q1.r1')(first)).toBe(1);
    expect(fieldAccessor('m1.n1.p1')(first)).toBeUndefined();
    expect(fieldAccessor('m1.n1')(first)).toEqual({ o1: 'v' });
    // Taken in at the next walk: the walker knows `m1.n1`, not `m1.q1.r1`.
    const third = { m1: { 'q1.r1': 2, n1: {} } };
    walker.walk(third, () => {});
    expect(isMarkedPlain(third)).toBe(true);
    expect(fieldAccessor('m1.q1.r1')(third)).toBe(2);
    expect(fieldAccessor('m1.n1.o1')(third)).toBeUndefined();
  });
});
