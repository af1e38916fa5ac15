import { defineConfig } from 'vitest/config';

// End-to-end tests: the built page (dist/) in Debian's headless chromium. `npm run test:e2e` builds first.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
