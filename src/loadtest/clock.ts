// The load tester's clock: absolute milliseconds that compare across the run's threads (the main
// thread, worker shards). Every time the ledger is fed comes from here.
import { performance } from 'node:perf_hooks';

/** Absolute time in ms that compares across threads. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
