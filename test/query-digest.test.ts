// Query digests (src/rules/query-digest.ts): a rule-set snapshot carries its rules' query digests,
// which key their outlines in the outline cache. A digest handed over must never stand for
// another query: a rule whose query was replaced, or a rule file edited since, gets the digest of
// the query it has, and a hunt then runs that query.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { loadRules } from '../src/rules/load.js';
import { queryDigest, queryDigestsOf, rememberQueryDigests, ruleQueryDigest } from '../src/rules/query-digest.js';
import { lastSnapshotOutcome } from '../src/rules/snapshot.js';
import type { Rule } from '../src/rules/types.js';
import { makeRule } from './detect-helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'eqlite-query-digest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (s: string) => createHash('sha256').update(s).digest('base64url');

describe('query digests', () => {
  it('are the sha256 of the query text, kept per rule, and computed again for a replaced query', () => {
    const rule = makeRule({ name: 'a', query: 'process where true' }) as Rule;
    expect(queryDigest('process where true')).toBe(sha('process where true'));
    expect(queryDigest('process where true')).toMatch(/^[\w-]{43}$/);
    expect(ruleQueryDigest(rule)).toBe(sha('process where true'));
    rule.query = 'file where true';
    expect(ruleQueryDigest(rule)).toBe(sha('file where true'));
  });

  it('handed over, are used for the query they were made of only', () => {
    const a = makeRule({ name: 'a', query: 'process where true' }) as Rule;
    const b = makeRule({ name: 'b', query: 'network where true' }) as Rule;
    const noQuery = makeRule({ name: 'n', query: 'x where true' }) as Rule;
    delete noQuery.query;
    expect(queryDigestsOf([a, noQuery, b])).toEqual([sha('process where true'), null, sha('network where true')]);
    // A digest handed over is believed (the snapshot checked its bytes) …
    expect(rememberQueryDigests([a, noQuery, b], ['handed-over-a', null, 'handed-over-b'])).toBe(true);
    expect([ruleQueryDigest(a), ruleQueryDigest(b)]).toEqual(['handed-over-a', 'handed-over-b']);
    // … while the rule's query is the text it was made of.
    b.query = 'network where false';
    expect(ruleQueryDigest(b)).toBe(sha('network where false'));
    expect(ruleQueryDigest(a)).toBe('handed-over-a');
    // Not one per rule, or not strings: nothing is kept.
    const c = makeRule({ name: 'c', query: 'file where true' }) as Rule;
    expect(rememberQueryDigests([c], [])).toBe(false);
    expect(rememberQueryDigests([c], [42])).toBe(false);
    expect(rememberQueryDigests([c], null)).toBe(false);
    expect(ruleQueryDigest(c)).toBe(sha('file where true'));
  });

  it('come with the rules from a snapshot, and follow an edited rule file: a hunt runs the query the file now holds', async () => {
    const dir = path.join(root, 'rules');
    const cache = path.join(root, 'cache');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'rules.ndjson');
    const write = (name: string) =>
      writeFileSync(file, `{"rule_id":"r1","name":"R1","type":"eql","language":"eql","index":["logs-*"],"query":"process where process.name == \\"${name}\\"","severity":"low","risk_score":21,"description":"d","interval":"5m","from":"now-6m"}\n`);
    const events = path.join(root, 'events.ndjson');
    writeFileSync(
      events,
      ['a.exe', 'b.exe'].map((n, i) => JSON.stringify({ '@timestamp': `2025-03-10T08:00:0${i}Z`, event: { category: ['process'], type: ['start'] }, host: { id: 'h', name: 'h' }, process: { name: n } })).join('\n') + '\n',
    );
    const names = async () => {
      const set = loadRules([dir], { cache });
      const r = await hunt({ rules: set.rules, inputs: [events], index: 'logs-endpoint.events.process-default', outlines: cache, now: Date.parse('2025-03-11T00:00:00Z') });
      return { outcome: lastSnapshotOutcome(), digests: set.rules.map((x) => ruleQueryDigest(x) === sha(x.query!)), alerts: r.alerts.map((a) => JSON.stringify(a).match(/[ab]\.exe/)![0]) };
    };
    write('a.exe');
    expect(await names()).toEqual({ outcome: 'written', digests: [true], alerts: ['a.exe'] });
    expect(await names()).toEqual({ outcome: 'hit-after-read', digests: [true], alerts: ['a.exe'] });
    // The same length, so that only the bytes tell (the stat data may be the same within a tick).
    write('b.exe');
    expect(await names()).toEqual({ outcome: 'written', digests: [true], alerts: ['b.exe'] });
    write('a.exe');
    const again = await names();
    expect([again.digests, again.alerts]).toEqual([[true], ['a.exe']]);
  });
});
