// The pure parts of a sharded run: K/N and auto/N, each shard's share of the operations, the global
// numbering of events (unit + property tests), and the sharding flags' errors (in-process CLI).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.ts';
import { globalIdx, parseShardSpec, shareOf } from '../../src/loadtest/distributed.ts';
import { captureIO } from '../helpers/cli.ts';
import { startTestServer, TEST_SECRET } from '../helpers/server.ts';

describe('parseShardSpec', () => {
  it('reads K/N, and auto/N from JOB_COMPLETION_INDEX + 1', () => {
    expect(parseShardSpec('2/3', {})).toEqual({ shard: 2, shards: 3 });
    expect(parseShardSpec(' 1 / 1 ', {})).toEqual({ shard: 1, shards: 1 });
    expect(parseShardSpec('auto/4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ shard: 4, shards: 4 });
    expect(parseShardSpec('auto/4', { JOB_COMPLETION_INDEX: '0' })).toEqual({ shard: 1, shards: 4 });
  });

  it('refuses what is not a shard of the run', () => {
    for (const [text, env, why] of [
      ['0/3', {}, /K must be from 1 to 3/],
      ['4/3', {}, /K must be from 1 to 3/],
      ['1/0', {}, /N must be/],
      ['2', {}, /expected K\/N/],
      ['a/b', {}, /expected K\/N/],
      ['auto/3', {}, /JOB_COMPLETION_INDEX/],
      ['auto/3', { JOB_COMPLETION_INDEX: 'x' }, /JOB_COMPLETION_INDEX/],
      ['auto/3', { JOB_COMPLETION_INDEX: '3' }, /K must be from 1 to 3, got 4/],
    ] as const) {
      const r = parseShardSpec(text, env);
      expect('error' in r && r.error, text).toMatch(why);
    }
  });
});

describe('the shards share the work', () => {
  it('shares add up to the whole and differ by at most one', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.integer({ min: 1, max: 64 }), (total, n) => {
        const shares = Array.from({ length: n }, (_, i) => shareOf(total, i + 1, n));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('global event numbers never collide and are dense when the shards fire alike', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 50 }), (n, perShard) => {
        const seen = new Set<number>();
        for (let k = 1; k <= n; k++) for (let i = 0; i < perShard; i++) seen.add(globalIdx(i, k, n));
        expect(seen.size).toBe(n * perShard);
        // brute force: the numbers are exactly 0 .. n * perShard - 1
        for (let g = 0; g < n * perShard; g++) expect(seen.has(g)).toBe(true);
      }),
    );
  });
});

describe('bugzapp load sharding flags', () => {
  const cases: [string[], RegExp][] = [
    [['--coordinator', 'redis://127.0.0.1:1', '--shard', '1/2'], /--run-id/],
    [['--run-id', 'x', '--shard', '1/2'], /--coordinator/],
    [['--coordinator', 'redis://127.0.0.1:1', '--run-id', 'x'], /--shard/],
    [['--coordinator', 'http://127.0.0.1:1', '--run-id', 'x', '--shard', '1/2'], /--coordinator.*redis:\/\//],
    [['--coordinator', 'redis://127.0.0.1:1', '--run-id', 'a b', '--shard', '1/2'], /--run-id/],
    [['--coordinator', 'redis://127.0.0.1:1', '--run-id', 'x', '--shard', '3/2'], /--shard.*K must be from 1 to 2/],
    [['--coordinator', 'redis://127.0.0.1:1', '--run-id', 'x', '--shard', 'auto/2'], /--shard.*JOB_COMPLETION_INDEX/],
    [['--coordinator', 'redis://127.0.0.1:1', '--run-id', 'x', '--shard', '1/2', '--shard-wait', 'soon'], /--shard-wait/],
    [['--shard-wait', '20s'], /--shard-wait.*only with/],
  ];
  it.each(cases)('%j exits 2 naming the flag', async (args, why) => {
    const c = captureIO();
    const code = await runCli(['load', '--url', 'http://127.0.0.1:1', ...args], c.io);
    expect(code).toBe(2);
    expect(c.err()).toMatch(why);
  });

  it('a coordinator that cannot be reached is a harness error (exit 2), not a verdict', async () => {
    const server = await startTestServer();
    const c = captureIO();
    const code = await runCli(
      ['load', '--url', server.url, '--secret', TEST_SECRET, '--coordinator', 'redis://127.0.0.1:1', '--run-id', 'x', '--shard', '1/2', '--skip-rate-limit'],
      c.io,
    );
    expect(code, c.err()).toBe(2);
    expect(c.err()).toMatch(/coordinator at redis:\/\/127\.0\.0\.1:1.*ERR_BACKEND_UNAVAILABLE/);
    expect(c.out()).toBe('');
  });
});
