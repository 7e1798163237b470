// The outline cache (engine/outline.ts): what the router needs of a query, kept on disk per
// engine build, so a known query compiles only when an event first reaches it.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../src/engine/index.js';
import { engineFingerprint, lazyQuery, outlineFile, OutlineCache, outlineOf, outlineTermsFile, type QueryOutline } from '../src/engine/outline.js';
import type { EventDoc } from '../src/events/types.js';
import { prepareRule, queryFieldNames, type PreparedRule } from '../src/detect/router.js';
import { makeRule } from './detect-helpers.js';
import { hasFastProperties, haveSameMap } from './v8-layout.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-outline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEQ = 'sequence by host.id with maxspan=5s [library where dll.name : "wmiutils.dll"] [process where process.parent.name : ("wmiprvse.exe", "scrcons.exe")]';

function ev(i: number, source: Record<string, unknown>): EventDoc {
  return { id: `e${i}`, index: 'logs-endpoint.events.process-default', source: { '@timestamp': `2025-03-10T08:00:0${i}Z`, host: { id: 'h1' }, ...source } };
}

describe('outline cache', () => {
  it('a lazy query routes like the compiled one, compiles on first use and finds the same results', () => {
    const real = compile(SEQ);
    let compiled = 0;
    const lazy = lazyQuery(outlineOf(real), () => {
      compiled++;
      return compile(SEQ);
    });
    expect([lazy.type, [...lazy.categories!], lazy.terms, lazy.needles]).toEqual([real.type, [...real.categories!], real.terms, real.needles]);
    expect(compiled).toBe(0);
    // The query's own anchors are not in the outline: asking for them compiles it.
    const again = lazyQuery(outlineOf(real), () => {
      compiled++;
      return compile(SEQ);
    });
    expect(again.anchors).toEqual(real.anchors);
    expect(compiled).toBe(1);
    compiled = 0;
    const events = [
      ev(1, { event: { category: ['library'] }, dll: { name: 'WMIUTILS.DLL' } }),
      ev(2, { event: { category: ['process'] }, process: { parent: { name: 'WmiPrvSE.exe' } } }),
    ];
    expect(lazy.relevant(events[0]!)).toBe(true);
    expect(compiled).toBe(1);
    expect(lazy.run(events)).toEqual(real.run(events));
    expect(lazy.run(events)).toHaveLength(1);
    expect(compiled).toBe(1);
  });

  it('keeps one file per engine build, and merges what other processes of the build saved', () => {
    const a1 = new OutlineCache(dir, 'build-a-0123456789');
    const a2 = new OutlineCache(dir, 'build-a-0123456789');
    const b = new OutlineCache(dir, 'build-b-0123456789');
    const outline = outlineOf(compile(SEQ));
    a1.set('x', outline);
    a1.save();
    a2.set('y', { error: 'bad query' });
    a2.save();
    b.set('z', outline);
    b.save();
    const a = new OutlineCache(dir, 'build-a-0123456789');
    expect([a.size, a.get('x'), a.get('y'), a.get('z')]).toEqual([2, outline, { error: 'bad query' }, undefined]);
    expect(new OutlineCache(dir, 'build-b-0123456789').get('z')).toEqual(outline);
    expect(readdirSync(dir).sort()).toEqual(
      [outlineFile('build-a-0123456789'), outlineFile('build-b-0123456789'), outlineTermsFile('build-a-0123456789'), outlineTermsFile('build-b-0123456789')].sort(),
    );
    // Each process's terms are kept too (merged as the outlines are).
    expect(a.get('x')).toEqual(outline);
  });

  it("keeps a query's terms as text in a file of their own, read when first asked for; terms missing or not parsing give the compiled query's terms", () => {
    const d = mkdtempSync(path.join(dir, 'terms-'));
    const real = compile(SEQ);
    const c = new OutlineCache(d, 'build-t-0123456789');
    c.set('q', outlineOf(real));
    c.save();
    const file = path.join(d, outlineFile('build-t-0123456789'));
    const termsFile = path.join(d, outlineTermsFile('build-t-0123456789'));
    expect(outlineTermsFile('build-t-0123456789')).toBe('outline-terms-build-t-01234567.json');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { outlines: Record<string, Record<string, unknown>> };
    expect(Object.keys(stored.outlines.q!)).toEqual(['type', 'categories', 'needles']);
    const storedTerms = JSON.parse(readFileSync(termsFile, 'utf8')) as { eqlite: string; terms: Record<string, string> };
    expect(storedTerms).toEqual({ eqlite: 'build-t-0123456789', terms: { q: JSON.stringify(real.terms) } });
    const known = new OutlineCache(d, 'build-t-0123456789').get('q')!;
    expect(known).toEqual(outlineOf(real));
    let compiled = 0;
    const lazy = lazyQuery(known as QueryOutline, () => {
      compiled++;
      return compile(SEQ);
    });
    expect(lazy.terms).toEqual(real.terms);
    expect(compiled).toBe(0);
    // The terms file is read when a term is first asked for, not when the outlines are.
    const early = new OutlineCache(d, 'build-t-0123456789').get('q') as QueryOutline;
    rmSync(termsFile);
    expect([early.type, early.categories, early.needles]).toEqual([real.type, [...real.categories!], real.needles]);
    const missing = lazyQuery(early, () => {
      compiled++;
      return compile(SEQ);
    });
    expect(missing.terms).toEqual(real.terms);
    expect(compiled).toBe(1);
    // Damaged text: the terms are those of the query compiled.
    writeFileSync(termsFile, JSON.stringify({ eqlite: 'build-t-0123456789', terms: { q: '[{"category":' } }));
    const damaged = lazyQuery(new OutlineCache(d, 'build-t-0123456789').get('q') as QueryOutline, () => {
      compiled++;
      return compile(SEQ);
    });
    expect(damaged.terms).toEqual(real.terms);
    expect(compiled).toBe(2);
    // Terms of another build are not used.
    writeFileSync(termsFile, JSON.stringify({ eqlite: 'build-x-0123456789', terms: { q: JSON.stringify(real.terms) } }));
    const foreign = lazyQuery(new OutlineCache(d, 'build-t-0123456789').get('q') as QueryOutline, () => {
      compiled++;
      return compile(SEQ);
    });
    expect(foreign.terms).toEqual(real.terms);
    expect(compiled).toBe(3);
    // An entry of another layout (its terms in the outline file) is not used.
    (stored.outlines.q as { terms: unknown }).terms = JSON.stringify(real.terms);
    writeFileSync(file, JSON.stringify(stored));
    expect(new OutlineCache(d, 'build-t-0123456789').get('q')).toBeUndefined();
  });

  it('gives lazy queries and stored outlines the keys they had, as fast-mode objects sharing one hidden class', () => {
    const d = mkdtempSync(path.join(dir, 'layout-'));
    const c = new OutlineCache(d, 'build-l-0123456789');
    c.set('a', outlineOf(compile(SEQ)));
    c.set('b', outlineOf(compile('process where process.name : "cmd.exe"')));
    c.save();
    const again = new OutlineCache(d, 'build-l-0123456789');
    const [a, b] = [again.get('a') as QueryOutline, again.get('b') as QueryOutline];
    expect(Object.keys(a)).toEqual(['type', 'categories', 'needles', 'fields', 'terms']);
    expect([hasFastProperties(a), hasFastProperties(b), haveSameMap(a, b)]).toEqual([true, true, true]);
    expect(a.terms).toEqual(compile(SEQ).terms);
    // The getter shared by all of them reads nothing from an object it was copied onto.
    const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(a)) as QueryOutline;
    expect(copy.terms).toBeUndefined();

    let compiled = 0;
    const make = (o: QueryOutline, text: string) =>
      lazyQuery(o, () => {
        compiled++;
        return compile(text);
      });
    const [la, lb] = [make(a, SEQ), make(b, 'process where process.name : "cmd.exe"')];
    expect(Object.keys(la)).toEqual(['type', 'categories', 'anchors', 'terms', 'needles', 'relevant', 'writeAnswers', 'createRun', 'run', 'runAsync']);
    expect([hasFastProperties(la), hasFastProperties(lb), haveSameMap(la, lb)]).toEqual([true, true, true]);
    expect(compiled).toBe(0);
    // A call taken off the query compiles it, and the query then holds the compiled query's own.
    const relevant = lb.relevant;
    expect(relevant(ev(1, { event: { category: ['process'] }, process: { name: 'CMD.EXE' } }))).toBe(true);
    expect(compiled).toBe(1);
    expect(lb.relevant).not.toBe(relevant);
    expect(lb.relevant(ev(2, { event: { category: ['process'] }, process: { name: 'other.exe' } }))).toBe(false);
    expect(compiled).toBe(1);
  });

  it("keeps each query's field names, which prepareRule then gives without parsing the query", () => {
    const d = mkdtempSync(path.join(dir, 'fields-'));
    const c = new OutlineCache(d, 'build-f-0123456789');
    c.set('a', { ...outlineOf(compile(SEQ)), fields: ['host.id', 'dll.name', 'process.parent.name'] });
    c.set('b', outlineOf(compile('process where true')));
    c.save();
    const again = new OutlineCache(d, 'build-f-0123456789');
    expect((again.get('a') as QueryOutline).fields).toEqual(['host.id', 'dll.name', 'process.parent.name']);
    // An outline stored without them has none (its query's text is parsed for them).
    expect((again.get('b') as QueryOutline).fields).toBeUndefined();
    expect(queryFieldNames(SEQ)).toEqual(['host.id', 'dll.name', 'process.parent.name']);
    expect(queryFieldNames('sequence by user.name [process where `odd name`.x == process.pid and process.pid > 1] by process.pid [file where true] by process.pid')).toEqual(['user.name', 'odd name.x', 'process.pid']);

    const opts = { timestampField: '@timestamp', exceptionLists: [], now: 0, replay: false, outlines: mkdtempSync(path.join(dir, 'prepare-')) };
    const rule = makeRule({ name: 'r', index: ['logs-*'], query: SEQ });
    // First seen: compiled now, its fields found from its text and kept with its outline.
    const first = prepareRule(rule, opts);
    expect('skip' in first).toBe(false);
    expect([(first as PreparedRule).outline, (first as PreparedRule).fields]).toEqual([undefined, ['host.id', 'dll.name', 'process.parent.name']]);
    // Seen again: made from the outline (not compiled), the fields taken from it.
    const second = prepareRule(rule, opts) as PreparedRule;
    expect(typeof second.outline).toBe('string');
    expect(second.fields).toEqual(['host.id', 'dll.name', 'process.parent.name']);
    // Without a cache the query is compiled and no fields are given.
    expect((prepareRule(rule, { ...opts, outlines: undefined }) as PreparedRule).fields).toBeUndefined();
  });

  it('keeps the files of the four most recent builds, and their terms files', () => {
    const d = mkdtempSync(path.join(dir, 'prune-'));
    const outline = outlineOf(compile(SEQ));
    for (let i = 0; i < 6; i++) {
      const c = new OutlineCache(d, `build-${i}-0123456789abcdef`);
      c.set('k', { error: String(i) });
      if (i % 2 === 0) c.set('o', outline);
      c.save();
    }
    expect(readdirSync(d).filter((f) => f.startsWith('outlines-'))).toHaveLength(4);
    // Builds that saved no outline (errors alone) wrote no terms file.
    expect(readdirSync(d).filter((f) => f.startsWith('outline-terms-'))).toEqual([outlineTermsFile('build-2-0123456789abcdef'), outlineTermsFile('build-4-0123456789abcdef')].sort());
    for (const i of [2, 3, 4, 5]) expect(existsSync(path.join(d, outlineFile(`build-${i}-0123456789abcdef`)))).toBe(true);
    expect(new OutlineCache(d, 'build-4-0123456789abcdef').get('o')).toEqual(outline);
  });

  it('the build fingerprint is stable within a process', () => {
    expect(engineFingerprint()).toBe(engineFingerprint());
    expect(engineFingerprint()).toMatch(/^[\w-]{43}$/);
  });
});
