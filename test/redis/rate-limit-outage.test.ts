// A limit is never lifted by a failure: with Redis stopped, each instance keeps the exact sliding window
// per user on its own (counted in bugzapp_rate_limit_fallback_total), instead of letting every message through.
import { pollUntil } from '../helpers/events.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorText } from '../../src/protocol/index.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';
import { connectClient, metricValue, startTestServer } from '../helpers/server.ts';

const PING = JSON.stringify({ type: 'ping' });

describe.skipIf(skipRedis())('rate limit while Redis is down', () => {
  let redis: RedisServer | undefined;
  afterEach(async () => {
    await redis?.stop();
  });

  it('holds per instance: max pongs per window, the rest refused, the connection kept', async () => {
    redis = await RedisServer.start();
    const rateLimit = { max: 5, windowMs: 60_000 };
    const a = await startTestServer({ redisUrl: redis.url, rateLimit });
    const b = await startTestServer({ redisUrl: redis.url, rateLimit });
    const onA = await connectClient(a, 'u1');
    const onB = await connectClient(b, 'u1');
    await redis.stop('SIGKILL');
    // wait for both instances to see the outage (readyz answers 503), so every hit below meets it
    for (const s of [a, b]) await pollUntil(async () => (await fetch(`${s.url}/readyz`)).status === 503, 'readyz turning 503', 10_000, 20);
    for (const c of [onA, onB]) for (let i = 0; i < 12; i++) c.ws.send(PING);
    for (const c of [onA, onB]) {
      const isLimited = (m: { type: string; payload?: unknown }) =>
        m.type === 'error' && (m.payload as { message?: string }).message === ErrorText.RateLimitExceeded;
      await c.recorder.waitForCount(isLimited, 7);
      await c.recorder.waitForCount((m) => m.type === 'pong', 5);
      expect(c.recorder.ofType('pong')).toHaveLength(5);
      expect(c.recorder.messages.filter(isLimited)).toHaveLength(7);
      expect(c.ws.readyState).toBe(c.ws.OPEN);
    }
    expect(await metricValue(a, 'bugzapp_rate_limit_fallback_total')).toBe(12);
    expect(await metricValue(b, 'bugzapp_rate_limit_fallback_total')).toBe(12);
  });
});
