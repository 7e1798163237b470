// The ECS facts rule validation needs are kept in the cache directory (src/rules/validate.ts). That
// file lies outside the package: whatever it holds, a hunt must still validate and run its rules.
// A file of valid JSON but another shape once failed every rule ("Cannot read properties of
// undefined") and stopped the hunt.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keptEcsInfo } from '../src/rules/validate.js';
import { runCli } from './cli-helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'eqlite-ecs-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the kept ECS facts', () => {
  it('are taken only in their shape', () => {
    const good = keptEcsInfo({ version: '9.4.0', types: [['process.name', 'keyword']], containers: ['labels.'] });
    expect(good).toEqual({ version: '9.4.0', types: new Map([['process.name', 'keyword']]), containers: ['labels.'] });
    expect(keptEcsInfo({ terms: [], x: 1 })).toBeNull();
    expect(keptEcsInfo(null)).toBeNull();
    expect(keptEcsInfo([])).toBeNull();
    expect(keptEcsInfo({ version: 9, types: [], containers: [] })).toBeNull();
    expect(keptEcsInfo({ version: '9', types: [['a']], containers: [] })).toBeNull();
    expect(keptEcsInfo({ version: '9', types: [['a', 1]], containers: [] })).toBeNull();
    expect(keptEcsInfo({ version: '9', types: [], containers: [3] })).toBeNull();
    expect(keptEcsInfo({ version: '9', types: [] })).toBeNull();
  });

  it('of another shape are built again, and the hunt runs its rule', async () => {
    const cache = path.join(root, 'cache');
    mkdirSync(cache, { recursive: true });
    const { version } = createRequire(import.meta.url)('@elastic/ecs/package.json') as { version: string };
    const kept = path.join(cache, `ecs-types-${version}.json`);
    writeFileSync(kept, '{"terms":[],"x":1}');
    const rules = path.join(root, 'rules.ndjson');
    writeFileSync(
      rules,
      JSON.stringify({ rule_id: 'cmd-1', name: 'cmd started', type: 'eql', language: 'eql', risk_score: 21, severity: 'low', index: ['logs-*'], query: 'process where process.name == "cmd.exe"' }) + '\n',
    );
    const input = path.join(root, 'events.ndjson');
    writeFileSync(
      input,
      '{"@timestamp":"2025-03-10T08:00:00Z","event":{"category":"process","type":"start"},"process":{"name":"cmd.exe"},"data_stream":{"type":"logs","dataset":"x","namespace":"default"}}\n',
    );
    const r = await runCli(['hunt', '-r', rules, '--format', 'none', '--no-progress', input], { env: { EQLITE_CACHE_HOME: cache } });
    expect(r.stderr).not.toContain('Cannot read properties');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('rules: 1 loaded, 1 run');
    expect(r.stderr).toContain('alerts: 1');
    // Rewritten in its shape.
    const again = keptEcsInfo(JSON.parse(readFileSync(kept, 'utf8')));
    expect(again?.version).toBe(version);
    expect(again?.types.get('process.name')).toBe('keyword');
  });
});
