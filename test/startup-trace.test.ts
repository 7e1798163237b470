// EQLITE_TRACE_STARTUP: the start-up figures README "Performance" quotes come from these lines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-helpers.js';

const EVENT = '{"@timestamp":"2025-03-10T08:00:00Z","event":{"category":"process","type":"start"},"process":{"name":"cmd.exe"}}\n';

async function traceSteps(mode: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-trace-'));
  const input = path.join(dir, 'one.ndjson');
  writeFileSync(input, EVENT);
  const r = await runCli(['hunt', '--format', 'none', '--no-progress', input], {
    env: { EQLITE_TRACE_STARTUP: mode, EQLITE_CACHE_HOME: path.join(dir, 'cache') },
  });
  expect(r.code).toBe(0);
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('startup: '))
    .map((l) => {
      const m = /^startup: (.+?) (\d+) ms CPU, (\d+) ms wall/.exec(l);
      expect(m, l).not.toBeNull();
      return m![1]!;
    });
}

describe('EQLITE_TRACE_STARTUP', () => {
  it('=1 prints one line, when the first event is read', async () => {
    expect(await traceSteps('1')).toEqual(['first event read']);
  });

  it('=phases prints each step of start-up in order, then the first event read', async () => {
    expect(await traceSteps('phases')).toEqual([
      'main module loaded',
      'command loaded',
      'hunt started',
      'rules loaded',
      'rules prepared',
      'first input opening',
      'router built',
      'first event read',
    ]);
  });
});
