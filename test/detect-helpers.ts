// Fixtures for the detection tests: rules built through the real loader path, NDJSON inputs in a
// temporary directory.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildRule } from '../src/rules/load.js';
import type { Rule } from '../src/rules/types.js';

export function makeRule(fields: Record<string, unknown>): Rule {
  const r = buildRule(
    { rule_id: String(fields.name ?? 'r'), severity: 'low', risk_score: 21, type: 'eql', language: 'eql', ...fields },
    { file: 'test-rule' },
  );
  if (typeof r === 'string') throw new Error(r);
  return r;
}

export function tempDir(prefix = 'eqlite-detect-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function writeNdjson(dir: string, name: string, docs: unknown[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return p;
}

/** A winlogbeat-shipped event (index inferred as winlogbeat-8.12.0). */
export function wlb(ts: string, category: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@timestamp': ts,
    agent: { type: 'winlogbeat', version: '8.12.0' },
    host: { id: 'h1', name: 'host-1', os: { type: 'windows' } },
    event: { category: [category], type: ['start'], kind: 'event' },
    ...extra,
  };
}

/** The seed rule's two steps on host h1, 2 s apart: a wmiutils.dll load by wscript, then cmd via WMI. */
export function seedPair(t0: string, t1: string, host = 'h1', user = 'alice'): Record<string, unknown>[] {
  const h = () => ({ id: host, name: host === 'h1' ? 'host-1' : host, os: { type: 'windows' } });
  return [
    {
      '@timestamp': t0,
      agent: { type: 'winlogbeat', version: '8.12.0' },
      host: h(),
      event: { category: ['library'], type: ['start'], kind: 'event', action: 'load' },
      dll: { name: 'wmiutils.dll' },
      process: { name: 'wscript.exe' },
      user: { name: user, domain: 'CORP' },
    },
    {
      '@timestamp': t1,
      agent: { type: 'winlogbeat', version: '8.12.0' },
      host: h(),
      event: { category: ['process'], type: ['start'], kind: 'event', action: 'start' },
      process: { name: 'cmd.exe', pe: { original_file_name: 'Cmd.Exe' }, parent: { name: 'wmiprvse.exe' }, executable: 'C:\\Windows\\System32\\cmd.exe' },
      user: { name: user, domain: 'CORP' },
    },
  ];
}
