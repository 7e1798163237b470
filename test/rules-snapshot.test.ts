// Rule-set snapshots (src/rules/snapshot.ts): a load of rule files seen before comes from one
// snapshot file in the cache directory, and gives exactly what parsing the files gives — whatever
// happened to the files or to the snapshot in between.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { loadRuleSet } from '../src/rules/home.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { KEEP_SNAPSHOTS, lastSnapshotOutcome, lastSnapshotWalked, SNAPSHOT_DIR } from '../src/rules/snapshot.js';
import { extraField } from '../src/rules/cold-fields.js';

const SEED_TOML = path.join(defaultRulesDir(), 'windows', 'initial_access_scripts_process_started_via_wmi.toml');
const root = mkdtempSync(path.join(tmpdir(), 'eqlite-snapshot-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const fresh = (what: string) => {
  const d = path.join(root, `${what}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

const ruleJson = (id: string, name: string, extra: string = '') =>
  `{"rule_id":"${id}","name":"${name}","type":"eql","language":"eql","index":["logs-*"],"query":"process where process.name == \\"${id}.exe\\"","severity":"low","risk_score":21,"description":"d"${extra}}`;

/** A rules directory: an NDJSON export (rules, an exception list, an invalid line) and a TOML rule. */
function rulesDir(): string {
  const d = fresh('rules');
  writeFileSync(
    path.join(d, 'export.ndjson'),
    [
      ruleJson('a', 'Rule A', ',"exceptions_list":[{"id":"L","list_id":"L","namespace_type":"single","type":"detection"}]'),
      // An own "__proto__" key must stay an own key (not become the object's prototype).
      ruleJson('b', 'Rule B', ',"__proto__":{"polluted":true},"meta":{"x":[1,null,"y"]}'),
      '{"list_id":"L","type":"detection","name":"L","namespace_type":"single","description":"x"}',
      '{"item_id":"i1","list_id":"L","namespace_type":"single","name":"i1","type":"simple","entries":[{"field":"host.name","operator":"included","type":"match","value":"h1"}]}',
      '{"rule_id": broken',
      '{"exported_count":3}',
    ].join('\n') + '\n',
  );
  mkdirSync(path.join(d, 'toml'));
  writeFileSync(path.join(d, 'toml', 'c.toml'), readFileSync(SEED_TOML));
  return d;
}

/** Files changed less than 2 s before a snapshot are not trusted by their stat data (snapshot.ts): wait that long. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 2100));

const snapshots = (cache: string) => (existsSync(path.join(cache, SNAPSHOT_DIR)) ? readdirSync(path.join(cache, SNAPSHOT_DIR)).filter((f) => f.endsWith('.snap')) : []);

describe('rule-set snapshots', () => {
  it('give exactly what parsing the files gives: rules, exception lists, skipped lines, counts, key order', async () => {
    const dir = rulesDir();
    const cache = fresh('cache');
    const parsed = loadRules([dir]);
    expect(parsed.rules.map((r) => r.rule_id)).toEqual(['a', 'b', expect.any(String)]);
    expect(parsed.skipped).toHaveLength(1);
    expect(parsed.exceptionLists[0]!.items).toHaveLength(1);
    const cold = loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('written');
    const warm = loadRules([dir], { cache });
    // The files were written just now: their stat cannot be trusted yet, so the bytes are compared.
    expect(lastSnapshotOutcome()).toBe('hit-after-read');
    await settle();
    loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit-after-read');
    const hit = loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit');
    for (const r of [cold, warm, hit]) {
      expect(r).toEqual(parsed);
      expect(JSON.stringify(r)).toBe(JSON.stringify(parsed));
    }
    const b = hit.rules.find((r) => r.rule_id === 'b')!;
    expect(Object.hasOwn(b.extra, '__proto__')).toBe(true);
    expect((b.extra as { polluted?: boolean }).polluted).toBeUndefined();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(snapshots(cache)).toHaveLength(1);
  });

  it("give a warm load's seldom-read fields (guides, MITRE mappings, tags) as loaded, whether read, set, deleted or cloned first", async () => {
    const dir = fresh('rules');
    const threat = ',"threat":[{"framework":"MITRE ATT&CK","tactic":{"id":"TA0002","name":"Execution","reference":"r"},"technique":[{"id":"T1047","name":"WMI","reference":"t"}]}]';
    writeFileSync(
      path.join(dir, 'export.ndjson'),
      [
        ruleJson('a', 'Rule A', `,"note":"## Triage\\nlook","setup":"s","tags":["Domain: Endpoint"],"references":["https://x"],"author":["Elastic"],"license":"Elastic License v2"${threat}`),
        ruleJson('b', 'Rule B', ',"tags":["OS: Windows"]'),
        ruleJson('c', 'Rule C'),
      ].join('\n') + '\n',
    );
    const parsed = loadRules([dir]);
    const cache = fresh('cache');
    await settle();
    loadRules([dir], { cache });
    const warm = () => {
      const r = loadRules([dir], { cache });
      expect(lastSnapshotOutcome()).toBe('hit');
      return r;
    };
    // Read: one field of one rule, then every other rule's and field's.
    let w = warm();
    expect(w.rules[1]!.tags).toEqual(['OS: Windows']);
    expect(w).toEqual(parsed);
    expect(JSON.stringify(w)).toBe(JSON.stringify(parsed));
    // Keys in the order loaded, and only those the rule had.
    w = warm();
    expect(w.rules.map((r) => Object.keys(r))).toEqual(parsed.rules.map((r) => Object.keys(r)));
    expect('note' in w.rules[2]!).toBe(false);
    // Set or deleted before any was read: the change stands, the rest is as loaded.
    w = warm();
    w.rules[0]!.note = 'edited';
    delete (w.rules[1] as { tags?: string[] }).tags;
    expect(w.rules[0]!.note).toBe('edited');
    expect(Object.hasOwn(w.rules[1]!, 'tags')).toBe(false);
    expect(w.rules[0]!.threat).toEqual(parsed.rules[0]!.threat);
    expect(w.rules[2]).toEqual(parsed.rules[2]);
    // Copied whole before any was read (spread, structured clone as worker threads receive rules).
    w = warm();
    expect(structuredClone(w.rules)).toEqual(parsed.rules);
    w = warm();
    expect(w.rules.map((r) => ({ ...r }))).toEqual(parsed.rules);
  });

  it("give a warm load's filters and timestamp_field without reading the cold fields, and the rest of `extra` as loaded", async () => {
    const dir = fresh('rules');
    const filters = '[{"query":{"match_phrase":{"host.name":"h1"}}}]';
    writeFileSync(
      path.join(dir, 'export.ndjson'),
      [
        ruleJson('a', 'Rule A', `,"note":"guide","filters":${filters},"timestamp_field":"event.created","meta":{"integration":["endpoint"]}`),
        ruleJson('b', 'Rule B', ',"meta":{"maturity":"production"}'),
        ruleJson('c', 'Rule C'),
      ].join('\n') + '\n',
    );
    const parsed = loadRules([dir]);
    expect(parsed.rules.map((r) => Object.keys(r.extra))).toEqual([['filters', 'timestamp_field', 'meta'], ['meta'], []]);
    const cache = fresh('cache');
    await settle();
    loadRules([dir], { cache });
    const w = loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit');
    const stillCold = () => Object.getOwnPropertyDescriptor(w.rules[0]!, 'note')!.get !== undefined;
    expect(stillCold()).toBe(true);
    expect(extraField(w.rules[0]!, 'filters')).toEqual([{ query: { match_phrase: { 'host.name': 'h1' } } }]);
    expect(extraField(w.rules[0]!, 'timestamp_field')).toBe('event.created');
    expect(extraField(w.rules[1]!, 'filters')).toBeUndefined();
    expect(extraField(w.rules[2]!, 'timestamp_field')).toBeUndefined();
    // Read through the copy kept beside the rules: nothing was deserialized.
    expect(stillCold()).toBe(true);
    // Reading `extra` itself fills every rule's cold fields.
    expect(w.rules[1]!.extra).toEqual({ meta: { maturity: 'production' } });
    expect(stillCold()).toBe(false);
    expect(w).toEqual(parsed);
    expect(JSON.stringify(w)).toBe(JSON.stringify(parsed));
    // `extra` replaced (the setter fills first): extraField reads the new one.
    const v = loadRules([dir], { cache });
    v.rules[0]!.extra = { timestamp_field: 'other' };
    expect(extraField(v.rules[0]!, 'timestamp_field')).toBe('other');
    expect(extraField(v.rules[0]!, 'filters')).toBeUndefined();
    expect(v.rules[0]!.note).toBe('guide');
    // Without a snapshot, extraField is `rule.extra[key]`.
    expect(extraField(parsed.rules[0]!, 'timestamp_field')).toBe('event.created');
  });

  it('see an edited, added or removed file, and a touched file with the same bytes', async () => {
    const dir = rulesDir();
    const cache = fresh('cache');
    await settle();
    loadRules([dir], { cache });
    loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit');
    // Same length, one character changed, the modification time put back: the change time differs.
    const f = path.join(dir, 'export.ndjson');
    const text = readFileSync(f, 'utf8');
    const before = Date.now() / 1000 - 60;
    utimesSync(f, before, before);
    await settle();
    loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit-after-read');
    loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit');
    writeFileSync(f, text.replace('Rule A', 'Rule Z'));
    utimesSync(f, before, before);
    const edited = loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('written');
    expect(edited.rules.map((r) => r.name)).toContain('Rule Z');
    expect(edited).toEqual(loadRules([dir]));
    // Touched (new times, same bytes): the bytes are read and compared, not parsed.
    const t = Date.now() / 1000 - 30;
    utimesSync(f, t, t);
    expect(loadRules([dir], { cache })).toEqual(edited);
    expect(lastSnapshotOutcome()).toBe('hit-after-read');
    // A new file, then a removed one: another list of files, loaded from the files.
    writeFileSync(path.join(dir, 'more.ndjson'), ruleJson('d', 'Rule D') + '\n');
    expect(loadRules([dir], { cache }).rules.map((r) => r.rule_id)).toContain('d');
    expect(lastSnapshotOutcome()).toBe('written');
    rmSync(path.join(dir, 'toml', 'c.toml'));
    const fewer = loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('written');
    expect(fewer).toEqual(loadRules([dir]));
    expect(fewer.rules).toHaveLength(3);
  });

  it('replay the listing of an unchanged tree without walking it, and see a file edited in place, added, removed or renamed anywhere in it', async () => {
    const dir = fresh('rules');
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'one.ndjson'), ruleJson('a', 'Rule A') + '\n');
    writeFileSync(path.join(dir, 'sub', 'two.ndjson'), ruleJson('b', 'Rule B') + '\n');
    const cache = fresh('cache');
    const load = () => {
      const r = loadRules([dir], { cache });
      expect(r).toEqual(loadRules([dir]));
      return { outcome: lastSnapshotOutcome(), walked: lastSnapshotWalked(), ids: r.rules.map((x) => `${x.rule_id}:${x.name}`) };
    };
    await settle();
    expect(load()).toEqual({ outcome: 'written', walked: true, ids: ['a:Rule A', 'b:Rule B'] });
    expect(load()).toEqual({ outcome: 'hit', walked: false, ids: ['a:Rule A', 'b:Rule B'] });
    // Edited in place, same length, its modification time put back: no directory changed.
    const one = path.join(dir, 'one.ndjson');
    const old = Date.now() / 1000 - 60;
    writeFileSync(one, ruleJson('a', 'Rule Z') + '\n');
    utimesSync(one, old, old);
    expect(load()).toEqual({ outcome: 'written', walked: true, ids: ['a:Rule Z', 'b:Rule B'] });
    await settle();
    expect(load()).toEqual({ outcome: 'hit-after-read', walked: true, ids: ['a:Rule Z', 'b:Rule B'] });
    expect(load()).toEqual({ outcome: 'hit', walked: false, ids: ['a:Rule Z', 'b:Rule B'] });
    // Added in a subdirectory, in a new subdirectory; removed; renamed (files load in name order).
    writeFileSync(path.join(dir, 'sub', 'three.ndjson'), ruleJson('c', 'Rule C') + '\n');
    expect(load()).toEqual({ outcome: 'written', walked: true, ids: ['a:Rule Z', 'c:Rule C', 'b:Rule B'] });
    mkdirSync(path.join(dir, 'sub', 'deeper'));
    writeFileSync(path.join(dir, 'sub', 'deeper', 'four.ndjson'), ruleJson('d', 'Rule D') + '\n');
    expect(load()).toEqual({ outcome: 'written', walked: true, ids: ['a:Rule Z', 'd:Rule D', 'c:Rule C', 'b:Rule B'] });
    rmSync(path.join(dir, 'sub', 'two.ndjson'));
    expect(load()).toEqual({ outcome: 'written', walked: true, ids: ['a:Rule Z', 'd:Rule D', 'c:Rule C'] });
    renameSync(one, path.join(dir, 'sub', 'zz.ndjson'));
    expect(load()).toEqual({ outcome: 'written', walked: true, ids: ['d:Rule D', 'c:Rule C', 'a:Rule Z'] });
    await settle();
    load();
    expect(load()).toEqual({ outcome: 'hit', walked: false, ids: ['d:Rule D', 'c:Rule C', 'a:Rule Z'] });
    // A directory touched with nothing in it changed: walked, the same files. Its change time is
    // recent, so it is walked (and the bytes compared) until that is 2 s old, then replayed.
    const t = Date.now() / 1000 - 30;
    utimesSync(path.join(dir, 'sub'), t, t);
    expect(load()).toEqual({ outcome: 'hit', walked: true, ids: ['d:Rule D', 'c:Rule C', 'a:Rule Z'] });
    expect(load()).toEqual({ outcome: 'hit-after-read', walked: true, ids: ['d:Rule D', 'c:Rule C', 'a:Rule Z'] });
    await settle();
    expect(load()).toEqual({ outcome: 'hit-after-read', walked: true, ids: ['d:Rule D', 'c:Rule C', 'a:Rule Z'] });
    expect(load()).toEqual({ outcome: 'hit', walked: false, ids: ['d:Rule D', 'c:Rule C', 'a:Rule Z'] });
    // A symbolic link in the tree: its target can change with no directory of the tree changing,
    // so every load walks (and the snapshot still spares the parsing).
    const outside = fresh('outside');
    writeFileSync(path.join(outside, 'x.ndjson'), ruleJson('x', 'Rule X') + '\n');
    symlinkSync(path.join(outside, 'x.ndjson'), path.join(dir, 'link.ndjson'));
    expect(load()).toEqual({ outcome: 'written', walked: true, ids: ['x:Rule X', 'd:Rule D', 'c:Rule C', 'a:Rule Z'] });
    await settle();
    load();
    expect(load()).toEqual({ outcome: 'hit', walked: true, ids: ['x:Rule X', 'd:Rule D', 'c:Rule C', 'a:Rule Z'] });
    rmSync(path.join(outside, 'x.ndjson'));
    mkdirSync(path.join(outside, 'x.ndjson'));
    writeFileSync(path.join(outside, 'x.ndjson', 'y.ndjson'), ruleJson('y', 'Rule Y') + '\n');
    expect(load()).toEqual({ outcome: 'written', walked: true, ids: ['y:Rule Y', 'd:Rule D', 'c:Rule C', 'a:Rule Z'] });
  });

  it("give an installed release's description from the snapshot, and see its manifest edited, damaged or removed", async () => {
    const home = fresh('home');
    const release = path.join(home, 'rel-1');
    mkdirSync(path.join(release, 'rules'), { recursive: true });
    writeFileSync(path.join(home, 'current'), 'rel-1\n');
    writeFileSync(path.join(release, 'rules', 'c.toml'), readFileSync(SEED_TOML));
    const manifest = (name: string) => JSON.stringify({ format: 1, release: name, source: '/src/rules', installed_at: '2026-12-01T10:00:00.000Z', rules: { x: { name: 'X' } } });
    const manifestFile = path.join(release, 'manifest.json');
    writeFileSync(manifestFile, manifest('detection-rules-r1'));
    const cache = fresh('cache');
    const load = () => {
      const r = loadRuleSet(undefined, { home, cache });
      return { outcome: lastSnapshotOutcome(), walked: lastSnapshotWalked(), description: r.set.description, rules: r.rules.map((x) => x.rule_id), release: r.set.release!.manifest.release };
    };
    const seedId = loadRules([SEED_TOML]).rules[0]!.rule_id;
    const expected = (outcome: string, walked: boolean, name: string) => ({ outcome, walked, description: `${name} (installed 2026-12-01 from /src/rules; ${release})`, rules: [seedId], release: name });
    await settle();
    expect(load()).toEqual(expected('written', true, 'detection-rules-r1'));
    expect(load()).toEqual(expected('hit', false, 'detection-rules-r1'));
    // Edited in place, the same length: its stat differs, so it is read, and what it says is new.
    writeFileSync(manifestFile, manifest('detection-rules-r2'));
    expect(load()).toEqual(expected('written', true, 'detection-rules-r2'));
    // Damaged, then removed: the same error as without a snapshot.
    const damaged = /^the installed rule set .*rel-1 is missing or damaged \(no readable manifest\.json\); run `eqlite rules update` to reinstall/;
    writeFileSync(manifestFile, '{"format":1,');
    expect(() => loadRuleSet(undefined, { home, cache })).toThrow(damaged);
    expect(() => loadRuleSet(undefined, { home })).toThrow(damaged);
    rmSync(manifestFile);
    expect(() => loadRuleSet(undefined, { home, cache })).toThrow(damaged);
    writeFileSync(manifestFile, manifest('detection-rules-r1'));
    expect(load()).toEqual(expected('written', true, 'detection-rules-r1'));
  });

  it('ignore and replace a damaged, truncated or foreign snapshot file', async () => {
    const dir = rulesDir();
    const cache = fresh('cache');
    await settle();
    const parsed = loadRules([dir]);
    loadRules([dir], { cache });
    const [name] = snapshots(cache);
    const file = path.join(cache, SNAPSHOT_DIR, name!);
    const good = readFileSync(file);
    const nl = good.indexOf(0x0a);
    const { core } = (JSON.parse(good.toString('utf8', 0, nl)) as { payload: { core: number } }).payload;
    const flipped = (at: number) => Buffer.concat([good.subarray(0, at), Buffer.from([good[at]! ^ 0xff]), good.subarray(at + 1)]);
    const damage: [string, Buffer][] = [
      ['a flipped byte in the serialized rules', flipped(nl + 1 + (core >> 1))],
      ['cut short', good.subarray(0, Math.floor(good.length / 2))],
      ['empty', Buffer.alloc(0)],
      ['not ours', Buffer.from('{"format":"something else"}\nxyz')],
      ['no metadata line', Buffer.from('garbage without a newline')],
      ['metadata of another build', Buffer.concat([Buffer.from(good.toString('latin1').split('\n', 1)[0]!.replace(/"build":"[^"]*"/, '"build":"other"')), good.subarray(good.indexOf(0x0a))])],
    ];
    for (const [what, bytes] of damage) {
      writeFileSync(file, bytes);
      const r = loadRules([dir], { cache });
      expect(lastSnapshotOutcome(), what).toBe('written');
      expect(r, what).toEqual(parsed);
      expect(readFileSync(file).equals(good), what).toBe(true);
      loadRules([dir], { cache });
      expect(lastSnapshotOutcome(), what).toBe('hit');
    }
    expect(readdirSync(path.join(cache, SNAPSHOT_DIR)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it("check the rules' seldom-read fields when they are read: damaged, they come from the rule files, unless those changed since", async () => {
    const dir = rulesDir();
    const cache = fresh('cache');
    await settle();
    const parsed = loadRules([dir]);
    loadRules([dir], { cache });
    const [name] = snapshots(cache);
    const file = path.join(cache, SNAPSHOT_DIR, name!);
    const good = readFileSync(file);
    /** The snapshot with a byte in the middle of its cold part flipped. */
    const coldDamaged = (snap: Buffer) => {
      const nl = snap.indexOf(0x0a);
      const { core, bytes } = (JSON.parse(snap.toString('utf8', 0, nl)) as { payload: { core: number; bytes: number } }).payload;
      expect(bytes - core).toBeGreaterThan(100);
      const at = nl + 1 + core + ((bytes - core) >> 1);
      return Buffer.concat([snap.subarray(0, at), Buffer.from([snap[at]! ^ 0xff]), snap.subarray(at + 1)]);
    };
    const damaged = coldDamaged(good);
    // The files as they were: the fields are those the files give; the snapshot is removed, then written anew.
    writeFileSync(file, damaged);
    const r = loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit');
    expect(existsSync(file)).toBe(true);
    expect(r).toEqual(parsed);
    expect(JSON.stringify(r)).toBe(JSON.stringify(parsed));
    expect(existsSync(file)).toBe(false);
    loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('written');
    expect(readFileSync(file).equals(good)).toBe(true);
    // Damaged and unchanged stat data kept on a rewrite (a touched file): still found damaged.
    writeFileSync(file, damaged);
    const later = new Date(Date.now() - 10_000);
    utimesSync(path.join(dir, 'toml', 'c.toml'), later, later);
    await settle();
    loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit-after-read');
    const again = loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit');
    expect(existsSync(file)).toBe(true);
    expect(again.rules[0]!.description).toBe('d');
    expect(again).toEqual(parsed);
    expect(existsSync(file)).toBe(false);
    // The snapshot replaced (renamed over, as snapshots are written) after the load: the fields
    // are read from the file as it was loaded.
    loadRules([dir], { cache });
    const loaded = loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit');
    writeFileSync(`${file}.new`, 'another snapshot');
    renameSync(`${file}.new`, file);
    expect(loaded).toEqual(parsed);
    expect(readFileSync(file, 'utf8')).toBe('another snapshot');
    // The files changed after the load: the fields cannot be had; reading one says why.
    loadRules([dir], { cache });
    writeFileSync(file, coldDamaged(readFileSync(file)));
    const stale = loadRules([dir], { cache });
    expect(lastSnapshotOutcome()).toBe('hit');
    writeFileSync(path.join(dir, 'export.ndjson'), ruleJson('z', 'Rule Z') + '\n');
    expect(() => stale.rules[0]!.description).toThrow(/^the rule-set snapshot .* is damaged, and the rule files have changed since it was loaded/);
    expect(existsSync(file)).toBe(false);
  });

  it(`keep the ${KEEP_SNAPSHOTS} most recently written snapshots`, () => {
    const cache = fresh('cache');
    const dirs = Array.from({ length: KEEP_SNAPSHOTS + 3 }, () => rulesDir());
    for (const d of dirs) loadRules([d], { cache });
    expect(snapshots(cache)).toHaveLength(KEEP_SNAPSHOTS);
    // The newest is among them.
    loadRules([dirs[dirs.length - 1]!], { cache });
    expect(lastSnapshotOutcome()).not.toBe('written');
  });

  it('hunt: the same alerts with no cache, a cold cache, a warm cache and a damaged snapshot', async () => {
    const cache = fresh('cache');
    const sample = path.join(import.meta.dirname, '..', 'examples', 'windows-sample.ndjson');
    const run = async (withCache: boolean) => {
      const set = loadRuleSet([defaultRulesDir()], withCache ? { cache } : {});
      const r = await hunt({ rules: set.rules, exceptionLists: set.exceptionLists, inputs: [sample], outlines: withCache ? cache : undefined, now: Date.parse('2025-03-11T00:00:00Z') });
      return r.alerts.map((a) => a['kibana.alert.uuid']);
    };
    const none = await run(false);
    expect(none.length).toBeGreaterThan(0);
    expect(await run(true)).toEqual(none);
    expect(await run(true)).toEqual(none);
    for (const s of snapshots(cache)) writeFileSync(path.join(cache, SNAPSHOT_DIR, s), 'damaged');
    expect(await run(true)).toEqual(none);
  });

  const elastic = path.join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'elastic-rules', 'eql-rules.ndjson');
  it.skipIf(!existsSync(elastic))('hunt with every Elastic EQL rule: the same alerts with no cache, a cold cache, a warm cache and a damaged snapshot', async () => {
    const cache = fresh('cache');
    const sample = path.join(import.meta.dirname, '..', 'examples', 'windows-sample.ndjson');
    const run = async (withCache: boolean) => {
      const set = loadRuleSet([elastic], withCache ? { cache } : {});
      const r = await hunt({ rules: set.rules, exceptionLists: set.exceptionLists, inputs: [sample], outlines: withCache ? cache : undefined, now: Date.parse('2025-03-11T00:00:00Z') });
      return { rules: set.rules.length, alerts: r.alerts.map((a) => JSON.stringify(a)) };
    };
    const none = await run(false);
    expect(none.rules).toBeGreaterThan(1000);
    expect(none.alerts.length).toBeGreaterThan(0);
    expect(await run(true)).toEqual(none);
    expect(await run(true)).toEqual(none);
    for (const s of snapshots(cache)) writeFileSync(path.join(cache, SNAPSHOT_DIR, s), readFileSync(path.join(cache, SNAPSHOT_DIR, s)).subarray(0, 5000));
    expect(await run(true)).toEqual(none);
  }, 120_000);
});
