// The browser suite (npm run test:ui, also run by .ci/run): Chromium drives the web UI.
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    env: { EQLITE_RULES_HOME: path.join(os.tmpdir(), `eqlite-test-rules-home-${process.pid}`) },
  },
});
