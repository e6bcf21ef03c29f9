// Several server instances behind one real redis-server: cross-instance delivery, moving with `since`,
// an instance SIGKILLed mid-run, Redis restarted mid-run, and the rate limit across instances.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import { createClient } from '../../src/client/index.ts';
import { CloseCode, encode, ErrorText, mintTokenSync } from '../../src/protocol/index.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';
import { connectClient, startTestServer, TEST_SECRET } from '../helpers/server.ts';
import pino from 'pino';
import { SlidingWindowRateLimiter } from '../../src/server/index.ts';
import { createRedisMetrics, RedisEventEngine, RedisStore } from '../../src/server/redis/index.ts';
import { createRedisConnection } from '../../src/server/redis/connection.ts';
import { startPausableProxy } from './pausable-proxy.ts';
import { LedgerClient, postBug, spawnServer, until, WAIT_MS, waitForEvent, withTimeout } from './cluster.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));

describe.skipIf(skipRedis())('several instances behind one Redis', () => {
  let redis: RedisServer;

  beforeEach(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await redis.stop();
  });

  function instance(extra: Parameters<typeof startTestServer>[0] = {}): Promise<RunningServer> {
    return startTestServer({ redisUrl: redis.url, ...extra });
  }

  it('delivers every event POSTed to instance B to a client on instance A, exactly once and in order', async () => {
    const a = await instance();
    const b = await instance();
    expect(a.backends.kind).toBe('redis');
    const alice = new LedgerClient('alice', [a.wsUrl]);
    const bob = new LedgerClient('bob', [a.wsUrl]);
    await Promise.all([alice.connect(), bob.connect()]);

    const titles = Array.from({ length: 30 }, (_, i) => `cross-${i}`);
    for (const [i, title] of titles.entries()) {
      const res = await postBug(b.url, title, i % 3 === 0 ? 'alice' : null);
      expect(res.status).toBe(201);
    }
    const created = titles.map((t) => `bug_report.created:${t}`);
    await alice.untilHas(created);
    await bob.untilHas(created);
    const aliceNotifications = [...alice.counts.keys()].filter((k) => k.startsWith('notification:'));
    expect(aliceNotifications).toHaveLength(10);
    expect([...bob.counts.keys()].filter((k) => k.startsWith('notification:'))).toHaveLength(0);
    expect(alice.duplicates()).toEqual([]);
    expect(bob.duplicates()).toEqual([]);
    // in stream order: the seqs a client sees are strictly increasing
    for (let i = 1; i < bob.seqs.length; i++) expect(a.backends.engine.compareSeq(bob.seqs[i - 1]!, bob.seqs[i]!)).toBeLessThan(0);
  });

  it('lets a client move from A to B with since and miss nothing', async () => {
    const a = await instance();
    const b = await instance();
    const mover = new LedgerClient('mover', [a.wsUrl]);
    await mover.connect();
    const first = Array.from({ length: 10 }, (_, i) => `before-${i}`);
    for (const t of first) expect((await postBug(a.url, t)).status).toBe(201);
    await mover.untilHas(first.map((t) => `bug_report.created:${t}`));
    const since = mover.lastSeq!;
    mover.close();

    // while it is away, events go in through both instances
    const away = Array.from({ length: 10 }, (_, i) => `away-${i}`);
    for (const [i, t] of away.entries()) expect((await postBug(i % 2 ? a.url : b.url, t)).status).toBe(201);

    const moved = new LedgerClient('mover', [b.wsUrl]);
    moved.lastSeq = since;
    await moved.connect();
    const live = Array.from({ length: 5 }, (_, i) => `live-${i}`);
    for (const t of live) expect((await postBug(a.url, t)).status).toBe(201);
    const expected = [...away, ...live].map((t) => `bug_report.created:${t}`);
    await moved.untilHas(expected);
    expect([...moved.counts.keys()]).toEqual(expected);
    expect(moved.duplicates()).toEqual([]);
    expect(moved.windowExceeded).toBe(0);
    // the Redis metrics are served by /metrics with the server's own
    const text = await (await fetch(`${b.url}/metrics`)).text();
    expect(text).toMatch(/bugzapp_redis_resumes_total\{outcome="replayed"\} 1/);
    expect(text).toContain('bugzapp_redis_stream_lag_ms');
    expect(text).toContain('websocket_active_connections');
  });

  it('lets the protocol client resume on B from where it left A, with nothing replayed twice', async () => {
    const a = await instance();
    const b = await instance();
    const token = (): string => mintTokenSync({ userId: 'traveller', secret: TEST_SECRET });
    const onA = createClient({ url: a.url, tokenProvider: token, maxRetries: 0 });
    onTestFinished(() => onA.close());
    const seenOnA: string[] = [];
    onA.on('event', (e) => e.type === 'bug_report' && seenOnA.push(e.payload.title));
    await onA.connect();
    for (let i = 0; i < 5; i++) expect((await postBug(b.url, `client-before-${i}`)).status).toBe(201);
    await until(onA, 'event', () => seenOnA.length === 5);
    const since = onA.lastSeq!;
    await onA.close();
    for (let i = 0; i < 5; i++) expect((await postBug(i % 2 ? a.url : b.url, `client-away-${i}`)).status).toBe(201);

    const onB = createClient({ url: b.url, tokenProvider: token, since, maxRetries: 0 });
    onTestFinished(() => onB.close());
    const seenOnB: string[] = [];
    let duplicates = 0;
    let exceeded = 0;
    onB.on('event', (e) => e.type === 'bug_report' && seenOnB.push(e.payload.title));
    onB.on('duplicate', () => duplicates++);
    onB.on('resume-window-exceeded', () => exceeded++);
    const resumed = waitForEvent<[{ replayed: number }]>(onB, 'resumed');
    await onB.connect();
    expect((await resumed)[0].replayed).toBe(5);
    for (let i = 0; i < 3; i++) expect((await postBug(a.url, `client-live-${i}`)).status).toBe(201);
    await until(onB, 'event', () => seenOnB.length === 8);
    expect(seenOnB).toEqual([...Array.from({ length: 5 }, (_, i) => `client-away-${i}`), ...Array.from({ length: 3 }, (_, i) => `client-live-${i}`)]);
    expect(duplicates).toBe(0);
    expect(exceeded).toBe(0);
  });

  it('loses and duplicates nothing when instance A is SIGKILLed while events are fired at B', async () => {
    const a = await spawnServer(redis.url);
    const b = await instance();
    const clients = Array.from({ length: 8 }, (_, i) => new LedgerClient(`user-${i % 4}`, [a.wsUrl, b.wsUrl]));
    const watchers = Array.from({ length: 2 }, (_, i) => new LedgerClient(`watcher-${i}`, [b.wsUrl]));
    await Promise.all([...clients, ...watchers].map((c) => c.connect()));

    const titles = Array.from({ length: 120 }, (_, i) => `kill-${i}`);
    const accepted: string[] = [];
    let killed: Promise<void> | undefined;
    let next = 0;
    // four POSTs in flight at a time; A dies a third of the way in, while they go on
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < titles.length) {
          const i = next++;
          if (i === 40) killed = a.kill();
          const res = await postBug(b.url, titles[i]!, i % 10 === 0 ? 'user-1' : null);
          expect(res.status).toBe(201);
          accepted.push(`bug_report.created:${titles[i]}`);
        }
      }),
    );
    await killed;
    for (const c of [...clients, ...watchers]) await c.untilHas(accepted);
    for (const c of clients) {
      expect(c.connections, 'every client on A reconnected to B').toBe(2);
      expect(c.currentUrl).toBe(b.wsUrl);
      expect(c.windowExceeded).toBe(0);
      expect(c.duplicates()).toEqual([]);
      const bugs = [...c.counts.keys()].filter((k) => k.startsWith('bug_report.'));
      expect(bugs.sort()).toEqual([...accepted].sort());
      const notes = [...c.counts.keys()].filter((k) => k.startsWith('notification:'));
      expect(notes).toHaveLength(c.userId === 'user-1' ? 12 : 0);
    }
    for (const w of watchers) expect(w.duplicates()).toEqual([]);
  });

  it('across a Redis restart (an empty log): 201 or 503, and each client gets every 201 event or is told the window was exceeded', async () => {
    const a = await instance();
    const b = await instance();
    const onA = new LedgerClient('ra', [a.wsUrl]);
    const onB = new LedgerClient('rb', [b.wsUrl]);
    const closes = new Map<LedgerClient, number[]>([
      [onA, []],
      [onB, []],
    ]);
    for (const [c, codes] of closes) c.onClose = (code) => codes.push(code);
    await Promise.all([onA.connect(), onB.connect()]);
    const accepted: string[] = [];
    const fire = async (url: string, title: string): Promise<number> => {
      const res = await postBug(url, title);
      if (res.status === 201) accepted.push(`bug_report.created:${title}`);
      return res.status;
    };

    for (let i = 0; i < 20; i++) expect(await fire(i % 2 ? a.url : b.url, `pre-${i}`)).toBe(201);
    // fire continuously while Redis goes down and comes back: each answer is 201 or 503, nothing else
    let firing = true;
    const statuses: number[] = [];
    const background = (async () => {
      for (let i = 0; firing && i < 5000; i++) statuses.push(await fire(i % 2 ? a.url : b.url, `during-${i}`));
    })();
    await redis.stop('SIGKILL');
    const down = await postBug(b.url, 'while-down');
    expect(down.status).toBe(503);
    expect(JSON.stringify(down.body)).toMatch(/Redis/);
    const ready = await fetch(`${a.url}/readyz`);
    expect(ready.status).toBe(503);
    await redis.restart();
    await (a.backends.engine as unknown as { whenConnected(ms: number): Promise<boolean> }).whenConnected(WAIT_MS);
    await (b.backends.engine as unknown as { whenConnected(ms: number): Promise<boolean> }).whenConnected(WAIT_MS);
    firing = false;
    await background;
    for (let i = 0; i < 20; i++) expect(await fire(i % 2 ? a.url : b.url, `post-${i}`)).toBe(201);
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);

    expect(new Set(statuses)).toEqual(new Set(statuses.filter((s) => s === 201 || s === 503)));
    // the restarted Redis is a new, empty log: every connection is closed with 4009 and resumes
    for (const [c, codes] of closes) await c.until(() => codes.includes(CloseCode.DeliveryGap) && c.connections === codes.length + 1, 'resumed after 4009');
    expect(await fire(b.url, 'settled')).toBe(201);
    await onA.untilHas([accepted.at(-1)!]);
    await onB.untilHas([accepted.at(-1)!]);
    for (const c of [onA, onB]) {
      expect(c.duplicates()).toEqual([]);
      // only events that got a 201 were delivered: nothing half done
      expect([...c.counts.keys()].filter((k) => !accepted.includes(k))).toEqual([]);
      // told, since the old log's tail cannot be vouched for; and the events before the restart all came
      expect(c.windowExceeded).toBeGreaterThan(0);
      expect(accepted.filter((k) => k.includes(':pre-') && !c.counts.has(k))).toEqual([]);
    }
  });

  it('closes the connections of an instance whose reader fell behind the kept history, and their resume says so', async () => {
    const prefix = 'bugzapp:';
    const b = await instance({ history: 10 });
    const proxy = await startPausableProxy(redis.port);
    const commands = createRedisConnection({ url: redis.url, name: 'lag-commands' });
    const reader = createRedisConnection({ url: proxy.url, name: 'lag-reader' });
    const engine = new RedisEventEngine({
      redis: commands,
      reader,
      keys: { stream: `${prefix}events`, epoch: `${prefix}events:epoch`, trim: `${prefix}events:trimmed` },
      history: 10,
      metrics: createRedisMetrics(),
      logger: pino({ level: 'silent' }),
      blockMs: 100,
    });
    onTestFinished(async () => {
      await engine.close();
      commands.disconnect();
    });
    await commands.connect();
    await reader.connect();
    await engine.start();
    const a = await startTestServer({
      backends: {
        engine,
        store: new RedisStore({ redis: commands, prefix, metrics: createRedisMetrics() }),
        rateLimiter: new SlidingWindowRateLimiter(10, 1000),
        kind: 'redis',
      },
    });
    const client = new LedgerClient('behind', [a.wsUrl]);
    await client.connect();
    const closed = new Promise<number>((resolve) => {
      client.onClose = resolve;
    });
    proxy.hold();
    for (let i = 0; i < 40; i++) expect((await postBug(b.url, `lost-${i}`)).status).toBe(201);
    proxy.release();
    // the instance cannot deliver what was trimmed: it closes the socket instead of skipping silently
    expect(await withTimeout(closed, WAIT_MS, () => 'no close')).toBe(CloseCode.DeliveryGap);
    // the client resumes (on the same instance) and is told its window was exceeded
    await client.until(() => client.windowExceeded === 1, 'Resume window exceeded');
    expect(client.connections).toBe(2);
  });

  it('holds the rate limit for one user with connections on two instances', async () => {
    // the instances' clocks disagree by half a minute: the shared window reads Redis's TIME, not theirs
    const now = Date.now();
    const a = await instance({ rateLimit: { max: 5, windowMs: 60_000 }, clock: () => now });
    const b = await instance({ rateLimit: { max: 5, windowMs: 60_000 }, clock: () => now + 30_000 });
    const onA = await connectClient(a, 'limited');
    const onB = await connectClient(b, 'limited');
    const answered = (): number =>
      [onA, onB].reduce(
        (n, c) => n + c.recorder.messages.filter((m) => m.type === 'pong' || (m.type === 'error' && m.payload.message === ErrorText.RateLimitExceeded)).length,
        0,
      );
    // answers arrive on either socket: wait on both recorders for the total
    const untilAnswered = (n: number) =>
      Promise.race([onA.recorder.waitFor(() => answered() >= n), onB.recorder.waitFor(() => answered() >= n)]);
    for (let i = 0; i < 8; i++) (i % 2 ? onA : onB).ws.send(encode({ type: 'ping' }));
    await untilAnswered(8);
    const count = (type: 'pong' | 'error'): number => [onA, onB].reduce((n, c) => n + c.recorder.ofType(type).length, 0);
    expect(count('pong')).toBe(5);
    expect(count('error')).toBe(3);
    // (the window sliding on Redis's clock is tested in backends.test.ts)
  });

  it('bugzapp serve --redis exits 1 with a message naming the URL when Redis cannot be reached', async () => {
    const gone = await RedisServer.start();
    await gone.stop();
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--port', '0', '--log-level', 'silent'], {
      cwd: ROOT,
      env: { ...process.env, BUGZAPP_REDIS_URL: gone.url, BUGZAPP_JWT_SECRET: 'x' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    let stdout = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    const [code] = (await withTimeout(once(child, 'exit'), WAIT_MS, () => `serve did not exit: ${stderr}`)) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toContain('ERR_BACKEND_UNAVAILABLE');
    expect(stderr).toContain(gone.url);
    expect(stdout).not.toContain('listening');
  });
});

