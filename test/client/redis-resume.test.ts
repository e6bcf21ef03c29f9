// Resume across drops and across a failover between two reference servers sharing one Redis log.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createClient, createRestClient, type BugzappClient } from '../../src/client/index.ts';
import { mintTokenSync, type LoggedEvent } from '../../src/protocol/index.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';
import { startTestServer, TEST_SECRET } from '../helpers/server.ts';
import { startDropProxy } from './drop-proxy.ts';
import { until, waitForEvent } from '../helpers/events.ts';

describe.skipIf(skipRedis())('client resume with the Redis engine', () => {
  async function redis(): Promise<RedisServer> {
    const r = await RedisServer.start();
    onTestFinished(() => r.stop());
    return r;
  }

  function client(url: string): BugzappClient {
    const c = createClient({ url, tokenProvider: () => mintTokenSync({ userId: 42, secret: TEST_SECRET }), backoffBaseMs: 10, maxRetries: 0 });
    onTestFinished(() => c.close());
    return c;
  }

  it('fails over on 1001 to another instance and resumes: nothing lost, nothing twice, replay counted', async () => {
    const r = await redis();
    const a = await startTestServer({ redisUrl: r.url });
    const b = await startTestServer({ redisUrl: r.url });
    const proxy = await startDropProxy(a.url);
    const c = client(proxy.url);
    const events: LoggedEvent[] = [];
    c.on('event', (e) => events.push(e));
    const closes: number[] = [];
    c.on('state', (s) => {
      if (s.state === 'reconnecting' && s.closeCode !== undefined) closes.push(s.closeCode);
    });
    await c.connect();
    const restA = createRestClient({ url: a.url, tokenProvider: () => mintTokenSync({ userId: 'r', secret: TEST_SECRET }) });
    const restB = createRestClient({ url: b.url, tokenProvider: () => mintTokenSync({ userId: 'r', secret: TEST_SECRET }) });
    onTestFinished(() => restA.close());
    onTestFinished(() => restB.close());
    await restA.createBugReport({ title: 'before' });
    await until(c, 'event', () => events.length === 1);

    // hold the reconnect: the load balancer has no instance until B is in
    proxy.setTarget('http://127.0.0.1:1');
    await restA.close();
    const resumed = waitForEvent<[{ replayed: number }]>(c, 'resumed', () => true);
    const down = waitForEvent(c, 'state', (s: { state: string }) => s.state === 'reconnecting');
    await a.close(); // sends 1001 going away
    await down;
    await restB.createBugReport({ title: 'during 1', assignee_id: '42' });
    await restB.createBugReport({ title: 'during 2' });
    proxy.setTarget(b.url);
    const [{ replayed }] = await resumed;
    await restB.createBugReport({ title: 'after' });
    await until(c, 'event', () => events.some((e) => e.type === 'bug_report' && e.payload.title === 'after'));

    expect(closes[0]).toBe(1001);
    expect(replayed).toBe(3);
    const summary = events.map((e) => (e.type === 'bug_report' ? e.payload.title : e.type));
    expect(summary).toEqual(['before', 'during 1', 'notification', 'during 2', 'after']);
    expect(new Set(events.map((e) => e.seq)).size).toBe(events.length);
    expect(c.duplicates).toBe(0);
  });
});
