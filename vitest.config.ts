import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // the spawned CLI runs dist/: build it from the current sources first
    globalSetup: ['./test/package/build-dist.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // One file at a time: the load tests judge their own generator (a run whose event loop lags past its
    // bound is invalid, exit 3), and the sharded, churn and CLI runs spawn several processes each; two
    // such files side by side on a 2-core machine made each other's runs invalid.
    maxWorkers: 1,
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
