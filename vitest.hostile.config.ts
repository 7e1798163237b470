import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// `npm run test:hostile`: every constructed hostile input, the large ones included
// (test/hostile/*.hostile.ts).
export default defineConfig({
  test: {
    include: ['test/hostile/**/*.hostile.ts'],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // As in vitest.config.ts: never the rule set a developer installed with `eqlite rules update`.
    env: { EQLITE_RULES_HOME: path.join(os.tmpdir(), `eqlite-test-rules-home-${process.pid}`) },
  },
});
