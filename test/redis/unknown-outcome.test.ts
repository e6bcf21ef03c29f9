// A change whose outcome Redis did not confirm in time is answered as unknown, never reverted blindly:
// the script may still run (here: once CLIENT PAUSE ends), and then its events are in the stream.
import { pollUntil } from '../helpers/events.ts';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { createRedisMetrics, RedisChanges } from '../../src/server/redis/index.ts';
import { createRedisConnection } from '../../src/server/redis/connection.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';

const keys = { stream: 'u:events', epoch: 'u:events:epoch', trim: 'u:events:trimmed' };

describe.skipIf(skipRedis())('a change with an unknown outcome', () => {
  let redis: RedisServer;
  beforeEach(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await redis.stop();
  });

  it('is answered ERR_BACKEND_UNAVAILABLE saying the outcome is unknown, and is not reverted', async () => {
    const conn = createRedisConnection({ url: redis.url, name: 'unknown-outcome', commandTimeoutMs: 200 });
    await conn.connect();
    const admin = new Redis(redis.url);
    onTestFinished(() => {
      conn.disconnect();
      admin.disconnect();
    });
    const changes = new RedisChanges({ redis: conn, prefix: 'u:', keys, history: 100, metrics: createRedisMetrics() });
    const bug = await changes.createBugReport({ title: 'paused' }, 'r');
    // writes wait while the pause lasts; the client's 200 ms timeout passes first
    await admin.call('CLIENT', 'PAUSE', '1000', 'WRITE');
    const err = await changes.updateBugReport(bug.id, { description: 'maybe' }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('ERR_BACKEND_UNAVAILABLE');
    expect(err?.message).toMatch(/outcome unknown/);
    // the script ran once the pause ended: the change and its event are both there, nothing undone
    let stored: { description: string } | undefined;
    await pollUntil(async () => {
      stored = JSON.parse((await admin.hget('u:bugs', String(bug.id)))!) as { description: string };
      return stored.description === 'maybe';
    }, 'the paused script to run').catch(() => undefined);
    expect(stored?.description).toBe('maybe');
    const entries = (await admin.xrange(keys.stream, '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('m') + 1]!) as { action: string });
    expect(entries.map((e) => e.action)).toEqual(['created', 'updated']);
  });

  it('says nothing was changed when the request never left (Redis down)', async () => {
    const conn = createRedisConnection({ url: redis.url, name: 'known-failure', commandTimeoutMs: 200 });
    await conn.connect();
    onTestFinished(() => conn.disconnect());
    const changes = new RedisChanges({ redis: conn, prefix: 'u:', keys, history: 100, metrics: createRedisMetrics() });
    await redis.stop('SIGKILL');
    await pollUntil(() => conn.status !== 'ready', 'the connection to notice Redis is gone').catch(() => undefined);
    const err = await changes.deleteBugReport(1).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('ERR_BACKEND_UNAVAILABLE');
    expect(err?.message).toMatch(/nothing was changed/);
  });
});
