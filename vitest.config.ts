import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx', 'src/**/*.test.ts'],
    // the spawned CLI runs dist/: build it from the current sources first
    globalSetup: ['./test/package/build-dist.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests open real sockets and spawn processes; on 2 cores, two files at a time.
    maxWorkers: 2,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
