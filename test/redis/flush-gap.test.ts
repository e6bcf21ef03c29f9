// A gap is always told: an instance paused (SIGSTOP) while Redis is flushed must not quietly read the
// new log from its start. Its clients (and every other instance's) are closed with 4009, resume with
// `since`, and are told "Resume window exceeded"; no client misses an event answered 201 untold, and
// none receives one twice.
import { pollUntil } from '../helpers/events.ts';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { CloseCode } from '../../src/protocol/index.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';
import { LedgerClient, postBug, spawnServer, WAIT_MS, type ServerChild } from './cluster.ts';

/** A LedgerClient that also counts its closes and their codes, so a test knows when it is connected again. */
function watched(userId: string, url: string): { client: LedgerClient; codes: number[]; connected: () => boolean } {
  const client = new LedgerClient(userId, [url]);
  const codes: number[] = [];
  client.onClose = (code) => codes.push(code);
  return { client, codes, connected: () => client.connections === codes.length + 1 };
}

describe.skipIf(skipRedis())('Redis flushed while an instance is paused', () => {
  let redis: RedisServer;
  beforeEach(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await redis.stop();
  });

  it('tells every client of the gap: each received every 201 event or was told "Resume window exceeded", none twice', async () => {
    const [a, b] = (await Promise.all([spawnServer(redis.url), spawnServer(redis.url)])) as [ServerChild, ServerChild];
    onTestFinished(() => {
      if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGCONT');
    });
    const onA = Array.from({ length: 20 }, (_, i) => watched(`a-${i}`, a.wsUrl));
    const onB = Array.from({ length: 20 }, (_, i) => watched(`b-${i}`, b.wsUrl));
    const all = [...onA, ...onB];
    await Promise.all(all.map((w) => w.client.connect()));
    const admin = new Redis(redis.url);
    onTestFinished(() => admin.disconnect());

    const answered: string[] = [];
    const post = async (n: number): Promise<void> => {
      const title = `gap-${n}`;
      const res = await postBug(b.url, title);
      expect(res.status).toBe(201);
      answered.push(`bug_report.created:${title}`);
    };
    for (let n = 1; n <= 40; n++) await post(n);
    a.child.kill('SIGSTOP');
    for (let n = 41; n <= 60; n++) await post(n);
    await admin.flushall();
    for (let n = 61; n <= 70; n++) await post(n);
    a.child.kill('SIGCONT');
    for (let n = 71; n <= 100; n++) await post(n);

    // settle: every client connected again, then one more event that every client must receive live
    await pollUntil(() => all.every((w) => w.connected()), 'every client connected', WAIT_MS);
    await post(101);
    await Promise.all(all.map((w) => w.client.untilHas([answered.at(-1)!])));

    const told = (w: (typeof all)[number]): boolean => w.client.windowExceeded > 0;
    const missing = (w: (typeof all)[number]): string[] => answered.filter((k) => !w.client.counts.has(k));
    for (const w of all) {
      expect(w.client.duplicates(), w.client.userId).toEqual([]);
      if (!told(w)) expect(missing(w), w.client.userId).toEqual([]);
    }
    // the paused instance's clients missed #41-#60 (trimmed by the flush): they must have been told
    for (const w of onA) {
      expect(told(w), w.client.userId).toBe(true);
      expect(w.codes, w.client.userId).toContain(CloseCode.DeliveryGap);
    }
    // and the instance counted it
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/websocket_gap_disconnects_total (\d+)/);
    expect(Number(/websocket_gap_disconnects_total (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(20);
  });
});
