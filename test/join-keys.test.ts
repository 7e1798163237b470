// Multi-valued join keys: the Cartesian product Elasticsearch's QA suite defines, bounded per event
// and term (MAX_JOIN_KEY_COMBINATIONS), with what was cut reported (issue 16).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/engine/index.js';
import { MAX_JOIN_KEY_COMBINATIONS, singleKeyValues, writeKeyValues } from '../src/engine/join-keys.js';
import type { EventDoc } from '../src/events/types.js';
import { runCommand } from './cli-helpers.js';
import { tempDir } from './detect-helpers.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const sshRule = path.resolve(repoRoot, '..', 'shared', 'corpus', 'elastic-rules', 'toml', 'rules', 'linux', 'credential_access_potential_linux_ssh_bruteforce_external.toml');

const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
/** 300 public addresses (none in the rule's private and reserved ranges). */
const publicIps = range(300, (i) => `8.${Math.floor(i / 250)}.${i % 250}.1`);

/** The event: one system.auth failure whose host.id, source.ip and user.name hold 300 values each. */
function hostileAuthEvent(ts: string): Record<string, unknown> {
  return {
    '@timestamp': ts,
    event: { category: ['authentication'], action: 'ssh_login', outcome: 'failure', ingested: ts },
    data_stream: { type: 'logs', dataset: 'system.auth', namespace: 'default' },
    host: { os: { type: 'linux' }, id: range(300, (i) => `h${i}`) },
    source: { ip: publicIps },
    user: { name: range(300, (i) => `u${i}`) },
  };
}

const ev = (i: number, source: Record<string, unknown>): EventDoc => ({
  source: { '@timestamp': 1_700_000_000_000 + i * 1000, ...source },
  index: 'i',
  id: `e${i}`,
  position: { file: 'auth.ndjson', line: i + 1 },
});

describe('multi-valued join keys', () => {
  it('expand to the Cartesian product in document order (ES: sequenceWithMultivalue_CartesianProduct)', () => {
    const q = compile('sequence by tags, items [any where n == 1] [any where n == 2]');
    const results = q.run([ev(0, { n: 1, tags: ['t3', 't4', 't3', null], items: ['i1', 'i2'] }), ev(1, { n: 2, tags: ['t3', 't4'], items: ['i1', 'i2'] })]);
    expect(results.map((r) => (r.kind === 'event' ? [] : r.joinKeys))).toEqual([
      ['t3', 'i1'],
      ['t3', 'i2'],
      ['t4', 'i1'],
      ['t4', 'i2'],
    ]);
  });

  it('use at most MAX_JOIN_KEY_COMBINATIONS per event and term, and the run says what it left out', () => {
    // runs = 60: the product would otherwise be built 60 times for the same event.
    const q = compile('sequence by host.id, source.ip, user.name with maxspan=30s [authentication where true] with runs = 60');
    const run = q.createRun();
    run.push(ev(0, hostileAuthEvent('2025-01-01T00:00:00Z')));
    run.push(ev(1, { event: { category: 'authentication' }, host: { id: 'h0' }, source: { ip: '8.0.0.1' }, user: { name: 'u0' } }));
    expect(run.finish()).toEqual([]);
    expect(MAX_JOIN_KEY_COMBINATIONS).toBe(1000);
    expect(run.warnings()).toEqual([
      '1 event(s) had more join-key value combinations than 1,000; only the first 1,000 of each were used (26,999,000 left out), ' +
        'e.g. event e0 (auth.ndjson:1): join keys host.id, source.ip, user.name hold 300 × 300 × 300 values (27,000,000 combinations)',
    ]);
  });

  it('the first combinations still match: a sequence on the first values completes', () => {
    const q = compile('sequence by host.id, user.name [authentication where n == 1] [authentication where n == 2]');
    const big = { event: { category: 'authentication' }, n: 1, host: { id: range(100, (i) => `h${i}`) }, user: { name: range(100, (i) => `u${i}`) } };
    const r = q.run([ev(0, big), ev(1, { event: { category: 'authentication' }, n: 2, host: { id: 'h0' }, user: { name: 'u5' } }), ev(2, { event: { category: 'authentication' }, n: 2, host: { id: 'h99' }, user: { name: 'u99' } })]);
    // 10,000 combinations: the first 1,000 are h0–h9 with every user; (h99, u99) was cut.
    expect(r.map((x) => (x.kind === 'event' ? [] : x.joinKeys))).toEqual([['h0', 'u5']]);
  });

  it('samples are bounded the same way', () => {
    const q = compile('sample by host.id, user.name [authentication where true] [process where true]');
    const run = q.createRun();
    run.push(ev(0, { event: { category: 'authentication' }, host: { id: range(50, (i) => `h${i}`) }, user: { name: range(50, (i) => `u${i}`) } }));
    run.push(ev(1, { event: { category: 'process' }, host: { id: 'h0' }, user: { name: 'u0' } }));
    expect(run.finish().map((r) => (r.kind === 'event' ? [] : r.joinKeys))).toEqual([['h0', 'u0']]);
    expect(run.warnings()).toEqual([
      '1 event(s) had more join-key value combinations than 1,000; only the first 1,000 of each were used (1,500 left out), ' +
        'e.g. event e0 (auth.ndjson:1): join keys host.id, user.name hold 50 × 50 values (2,500 combinations)',
    ]);
  });

  it.skipIf(!existsSync(sshRule))(
    'the stock rule "Potential External Linux SSH Brute Force Detected" over the 300 × 300 × 300 event: bounded memory, reported (issue 16)',
    async () => {
      const dir = tempDir('eqlite-joinkeys-');
      const file = path.join(dir, 'auth.ndjson');
      writeFileSync(file, JSON.stringify(hostileAuthEvent('2025-01-01T00:00:00Z')) + '\n');
      // 256 MB of heap: the unbounded product needed over 4 GB and aborted the process.
      const r = await runCommand(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), 'hunt', '-r', sshRule, file, '--format', 'none', '--no-progress']);
      expect(r.code).toBe(0);
      // The event is in two overlapping runs of the rule's schedule (every 5 minutes over 9): each
      // run says what it cut, named by its time.
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
      expect(warnings.map((l) => l.replace(/e\.g\. event \S+ \(/, 'e.g. event ID ('))).toEqual(
        ['2025-01-01T00:00:00.000Z', '2025-01-01T00:05:00.000Z'].map(
          (run) =>
            `warning: rule "Potential External Linux SSH Brute Force Detected" (run at ${run}): 1 event(s) had more join-key value combinations than 1,000; ` +
            `only the first 1,000 of each were used (26,999,000 left out), e.g. event ID (${file}:1): join keys host.id, source.ip, user.name hold 300 × 300 × 300 values (27,000,000 combinations)`,
        ),
      );
      expect(r.stderr).toMatch(/^hunt: 1 events from 1 input/m);
    },
    60_000,
  );
});

describe('join-key encoding', () => {
  it('keeps values of different kinds apart, whatever a string holds (a string is its own key unless it starts with U+0000)', () => {
    // Each pair holds a string that spells another value's encoding under some scheme: a number
    // and its text, null and U+0000, a boolean and "T", JSON and its text.
    const values: unknown[] = [1, '1', '\u0000n1', null, '\u0000', '', true, 'T', '\u0000T', 's1', 'n1', { a: 1 }, '{"a":1}', '\u0000j{"a":1}', '\u0000s1'];
    const q = compile('sequence by k [any where n == 1] [any where n == 2]');
    const events: EventDoc[] = [];
    values.forEach((k, i) => events.push(ev(2 * i, { n: 1, k })));
    values.forEach((k, i) => events.push(ev(2 * i + 1, { n: 2, k })));
    // Every first event pairs with the second event of the same value only (null is no key at all).
    const r = q.run(events);
    expect(r.map((x) => (x.kind === 'sequence' ? [x.joinKeys, x.events.map((e) => e!.id)] : []))).toEqual(
      values.flatMap((k, i) => (k === null ? [] : [[[k], [`e${2 * i}`, `e${2 * i + 1}`]]])),
    );
  });

  it('joins equal strings of two fields without mixing their parts with other kinds', () => {
    const q = compile('sequence by a, b [any where n == 1] [any where n == 2]');
    const r = q.run([
      ev(0, { n: 1, a: 'x', b: 1 }),
      ev(1, { n: 1, a: 'y', b: '1' }),
      ev(2, { n: 2, a: 'x', b: '1' }),
      ev(3, { n: 2, a: 'y', b: '1' }),
      ev(4, { n: 2, a: 'x', b: 1 }),
    ]);
    expect(r.map((x) => (x.kind === 'sequence' ? x.events.map((e) => e!.id) : []))).toEqual([
      ['e1', 'e3'],
      ['e0', 'e4'],
    ]);
  });
});

describe('writeKeyValues (the join keys of an answer, written in place)', () => {
  const spec = (keyOptional: boolean[]) => ({
    keys: keyOptional.map((_, i) => (s: Record<string, unknown>) => s[`k${i}`]),
    keyOptional,
    keyNames: keyOptional.map((_, i) => `k${i}`),
  });
  const write = (sp: ReturnType<typeof spec>, source: Record<string, unknown>) => {
    const out: unknown[] = ['before'];
    writeKeyValues(sp, ev(0, source), out, -1, -2);
    return out;
  };
  it('appends the count and the values, as singleKeyValues gives them', () => {
    expect(write(spec([false, false]), { k0: 'a', k1: 7 })).toEqual(['before', 2, 'a', 7]);
    expect(write(spec([false]), { k0: ['x', null, 'x'] })).toEqual(['before', 1, 'x']);
    expect(write(spec([]), {})).toEqual(['before', 0]);
    const s = spec([false, true]);
    expect(singleKeyValues(s, ev(0, { k0: 'a' }))).toEqual(['a', null]);
    expect(write(s, { k0: 'a' })).toEqual(['before', 2, 'a', null]);
  });
  it('writes only the marker, nothing of the values before it, when a required key is missing or a key holds several values', () => {
    expect(write(spec([false, false]), { k0: 'a' })).toEqual(['before', -1]);
    expect(write(spec([false, false]), { k0: 'a', k1: [null] })).toEqual(['before', -1]);
    expect(write(spec([false, false]), { k0: 'a', k1: ['b', 'c'] })).toEqual(['before', -2]);
    expect(write(spec([false, false]), { k0: ['b', 'c'], k1: null })).toEqual(['before', -2]);
  });
});
