import os from 'node:os';
import path from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Slow suites run separately (npm run test:slow and test:ui, called by .ci/run).
    exclude: [...configDefaults.exclude, 'test/slow/**', 'test/browser/**'],
    testTimeout: 60_000,
    // Set-up and clean-up (building the CLI, removing large work folders) can take long on a
    // loaded machine; 10 s (the default) failed whole suites there.
    hookTimeout: 120_000,
    pool: 'forks',
    // Tests never see the rule set a developer installed with `eqlite rules update`: commands
    // that default to it find an empty rules home and use the bundled seed rule.
    // Nor do they write the user's cache (outlines, ECS types): their own, per run.
    env: {
      EQLITE_RULES_HOME: path.join(os.tmpdir(), `eqlite-test-rules-home-${process.pid}`),
      EQLITE_CACHE_HOME: path.join(os.tmpdir(), `eqlite-test-cache-${process.pid}`),
    },
    // The default report, then one line naming what was skipped and why (see the reporter).
    reporters: ['default', './test/skip-summary-reporter.ts'],
  },
});
