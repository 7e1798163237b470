import { defineConfig } from 'vitest/config';

// `npm run test:hostile`: the large constructed hostile inputs (test/hostile/*.hostile.ts).
export default defineConfig({
  test: {
    include: ['test/hostile/**/*.hostile.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
