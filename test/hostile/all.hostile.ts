// Every constructed hostile input of issue 14 (scripts/hostile.ts), including the large ones
// (a 200 MB line, gzip members expanding to a gigabyte, 256 chunks of expanding EVTX records).
// Run by `npm run test:hostile` (and .ci/run), not by `npm test`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { writeHostileCases } from '../../scripts/hostile.js';
import { runHostileCase } from './run.js';

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-hostile-all-'));
const cases = await writeHostileCases(dir, { heavy: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('every hostile input ends in bounded time and memory, the good data around it read', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.what}`, () => runHostileCase(c, { seconds: c.heavy ? 60 : 20, rssMb: 768 }), 900_000);
  }
});
