// --url A --url B: clients and POSTs are spread over two instances behind one Redis, and the ledger
// proves cross-instance delivery (issue 5).
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/index.ts';
import { runLoadTest } from '../../src/loadtest/index.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';

const SECRET = 'multi-secret';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe.skipIf(skipRedis())('runLoadTest over two instances behind one Redis', () => {
  it('spreads connections and POSTs over both and delivers exactly once across them', async () => {
    const redis = await RedisServer.start();
    closers.push(() => redis.stop());
    const a = await createServer({ port: 0, secret: SECRET, redisUrl: redis.url });
    closers.push(() => a.close());
    const b = await createServer({ port: 0, secret: SECRET, redisUrl: redis.url });
    closers.push(() => b.close());
    const r = await runLoadTest({
      urls: [a.url, b.url],
      secret: SECRET,
      users: 10,
      connsPerUser: 2,
      events: 40,
      rate: 100,
      mix: { bug_report: 50, comment: 25, update: 15, delete: 10 },
      drainTimeoutMs: 10_000,
    });
    expect(r.targets).toEqual([a.url, b.url]);
    expect(r.connections.opened).toBe(20);
    // each user's two connections sit on different instances (round robin), so every notification
    // and every broadcast crossed instances for half its recipients
    expect(r.delivery.total.expected).toBeGreaterThan(40 * 20 - 1);
    expect(r.delivery.total.delivered).toBe(r.delivery.total.expected);
    expect(r.delivery.total.duplicated).toBe(0);
    expect(r.delivery.total.misrouted).toBe(0);
    expect(r.delivery.total.outOfOrder).toBe(0);
    expect(r.throughput.restErrors).toBe(0);
    // the limit holds per user with the user's two connections on two instances
    expect(r.rateLimit.status).toBe('pass');
    expect(r.rateLimit.details.find((d) => d.name === 'per user across connections')?.pass).toBe(true);
  });
});
