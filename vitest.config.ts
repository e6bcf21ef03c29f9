import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // the spawned CLI runs dist/: build it from the current sources first
    globalSetup: ['./test/package/build-dist.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests open real sockets and spawn processes; on 2 cores, two files at a time.
    maxWorkers: 2,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'bugzapp', include: ['test/**/*.test.ts', 'test/**/*.test.tsx', 'src/**/*.test.ts'], exclude: ['test/package/**'] },
      },
      {
        // npm pack/install and nested vitest runs are CPU-heavy: they run after the rest, so that the
        // load tests (which mark a run invalid when their event loop lags) never share the CPU with them
        extends: true,
        test: { name: 'package', include: ['test/package/**/*.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
