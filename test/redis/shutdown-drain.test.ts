// Shutdown in Redis mode delivers what it owes: an instance whose stream reader is behind reads to the
// head of the log and sends those events before its 1001, within the close grace.
import pino from 'pino';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { SlidingWindowRateLimiter } from '../../src/server/index.ts';
import { createRedisMetrics, RedisEventEngine, RedisStore } from '../../src/server/redis/index.ts';
import { createRedisConnection } from '../../src/server/redis/connection.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';
import { connectClient, startTestServer } from '../helpers/server.ts';
import { waitForClose } from '../helpers/ws.ts';
import { startPausableProxy } from './pausable-proxy.ts';
import { postBug } from './cluster.ts';

const prefix = 'bugzapp:';

describe.skipIf(skipRedis())('shutdown with a shared log', () => {
  let redis: RedisServer;
  beforeEach(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await redis.stop();
  });

  /** An instance whose reader talks to Redis through a proxy the test can hold. */
  async function laggingInstance(closeGraceMs: number) {
    const proxy = await startPausableProxy(redis.port);
    const commands = createRedisConnection({ url: redis.url, name: 'drain-commands', commandTimeoutMs: 5000 });
    const reader = createRedisConnection({ url: proxy.url, name: 'drain-reader' });
    const engine = new RedisEventEngine({
      redis: commands,
      reader,
      keys: { stream: `${prefix}events`, epoch: `${prefix}events:epoch`, trim: `${prefix}events:trimmed` },
      history: 1000,
      metrics: createRedisMetrics(),
      logger: pino({ level: 'silent' }),
      blockMs: 100,
    });
    onTestFinished(() => commands.disconnect());
    await commands.connect();
    await reader.connect();
    await engine.start();
    const server = await startTestServer({
      closeGraceMs,
      backends: {
        engine,
        store: new RedisStore({ redis: commands, prefix, metrics: createRedisMetrics() }),
        rateLimiter: new SlidingWindowRateLimiter(10, 1000),
        kind: 'redis',
      },
    });
    return { server, proxy };
  }

  it('sends every event answered 201 elsewhere before 1001, even when its reader was behind', async () => {
    const b = await startTestServer({ redisUrl: redis.url });
    const { server: a, proxy } = await laggingInstance(10_000);
    const client = await connectClient(a, 'watcher');
    const order: string[] = [];
    client.ws.on('message', (data) => order.push(JSON.parse(String(data)).type as string));
    client.ws.on('close', (code) => order.push(`close:${code}`));
    proxy.hold();
    const titles = Array.from({ length: 10 }, (_, i) => `owed-${i}`);
    for (const t of titles) expect((await postBug(b.url, t)).status).toBe(201);
    const closed = waitForClose(client.ws, 15_000);
    const closing = a.close();
    // the reader catches up only now, while the instance is shutting down
    proxy.release();
    expect((await closed).code).toBe(1001);
    await closing;
    const received = client.recorder.messages.filter((m) => m.type === 'bug_report').map((m) => (m as { payload: { title: string } }).payload.title);
    expect(received).toEqual(titles);
    expect(order.at(-1)).toBe('close:1001');
  });

  it('is bounded by the close grace when the reader cannot catch up', async () => {
    const b = await startTestServer({ redisUrl: redis.url });
    const { server: a, proxy } = await laggingInstance(300);
    const client = await connectClient(a, 'watcher');
    proxy.hold();
    expect((await postBug(b.url, 'never-read')).status).toBe(201);
    const closed = waitForClose(client.ws, 15_000);
    await a.close();
    expect((await closed).code).toBe(1001);
    expect(client.ws.readyState).toBe(WebSocket.CLOSED);
  });
});
