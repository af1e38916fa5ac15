import { defineConfig } from 'vitest/config';

// Unit, integration and fixed-seed fuzz tests (Node). The e2e suite has its own config.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'cli/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['tests/e2e/**', 'node_modules/**', 'dist/**'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
