import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    // At least two test files at a time, also on a two-core machine, where Vitest would run one: most suites
    // spend their time waiting for PostgreSQL, child servers, sockets and the browser rather than computing.
    // On two cores the whole suite took 22 minutes one file at a time and 11 two at a time.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
    env: { LOG_LEVEL: 'silent' },
  },
});
