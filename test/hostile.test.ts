// A few of the constructed hostile inputs of issue 14 (scripts/hostile.ts), run through the CLI
// in child processes with time and memory bounds. The whole set, with the large inputs, runs in
// `npm run test:hostile` (test/hostile/all.hostile.ts), which .ci/run calls.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeHostileCases } from '../scripts/hostile.js';
import { runHostileCase } from './hostile/run.js';

const LIGHT = new Set(['evtx-laughs', 'evtx-repeat-template', 'json-deep', 'json-deep-999-alerts', 'regex-nested-repeat', 'query-not', 'rules-hostile', 'rules-fifo', 'rules-toml-deep', 'rules-filter-wildcard', 'output-table', 'output-validate']);

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-hostile-'));
const cases = (await writeHostileCases(dir)).filter((c) => LIGHT.has(c.name));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hostile inputs end quickly, in bounded memory, with the good data around them read', () => {
  it('covers the chosen cases', () => {
    expect(cases.map((c) => c.name).sort()).toEqual([...LIGHT].sort());
  });
  for (const c of cases) {
    it(`${c.name}: ${c.what}`, () => runHostileCase(c, { seconds: 20, rssMb: 512 }), 180_000);
  }
});
