import { defineConfig } from 'vitest/config';

// Slow suites (fault injection, kill -9 under load): `npm run test:slow`, run by .ci/run.
export default defineConfig({
  test: {
    include: ['test/slow/**/*.test.ts'],
    testTimeout: 600_000,
    pool: 'forks',
  },
});
