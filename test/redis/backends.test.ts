// The Redis backends against a real redis-server: two "instances" (two createRedisBackends) in one process.
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { isBugzappError } from '../../src/errors.ts';
import { decodeServerMessage, type BugReport } from '../../src/protocol/index.ts';
import type { Backends, EventEngine, PublishedEvent, StoreChange, UnsequencedEvent } from '../../src/server/backends.ts';
import { createRedisBackends, createRedisMetrics, parseSeq, RedisEventEngine } from '../../src/server/redis/index.ts';
import { createRedisConnection } from '../../src/server/redis/connection.ts';
import { startPausableProxy } from './pausable-proxy.ts';
import { RedisServer, skipRedis } from '../helpers/redis.ts';

const WAIT_MS = 10_000;
const logger = pino({ level: 'silent' });

function bug(id: number, title = `bug ${id}`): BugReport {
  return {
    id,
    title,
    description: '',
    severity: 'low',
    status: 'open',
    assignee_id: null,
    reporter_id: '1',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  };
}

function created(id: number): UnsequencedEvent {
  return { type: 'bug_report', action: 'created', payload: bug(id) };
}

function notification(id: number): UnsequencedEvent {
  return { type: 'notification', payload: { message: `New bug report assigned: bug ${id}`, bug_report_id: id } };
}

/** Collects every event an engine delivers, and waits for a count of them. */
class Collector {
  readonly events: PublishedEvent[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor(engine: Pick<EventEngine, 'onEvent'>) {
    engine.onEvent((e) => {
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (this.events.length >= w.n ? (w.resolve(), false) : true));
    });
  }

  async waitFor(n: number): Promise<PublishedEvent[]> {
    if (this.events.length < n) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${this.events.length} of ${n} events`)), WAIT_MS);
        this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
    return this.events;
  }
}

function ids(events: PublishedEvent[]): number[] {
  return events.map((e) => {
    const msg = decodeServerMessage(e.frame);
    return msg && msg.type !== 'error' && msg.type !== 'pong' && msg.type !== 'connection_established'
      ? (msg.payload as { id?: number; bug_report_id?: number }).id ?? (msg.payload as { bug_report_id: number }).bug_report_id
      : -1;
  });
}

describe.skipIf(skipRedis())('Redis backends', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function instance(
    opts: { history?: number; prefix?: string; max?: number; windowMs?: number; registry?: Registry } = {},
  ): Promise<Backends> {
    const b = await createRedisBackends({
      url: redis.url,
      history: opts.history ?? 1000,
      rateLimit: { max: opts.max ?? 10, windowMs: opts.windowMs ?? 1000 },
      logger,
      prefix: opts.prefix ?? `t${Math.random().toString(36).slice(2)}:`,
      registry: opts.registry,
    });
    onTestFinished(async () => {
      await Promise.all([b.engine.close(), b.store.close(), b.rateLimiter.close()]);
    });
    return b;
  }

  /** An engine whose reader talks to Redis through a proxy the test can hold. */
  async function laggingInstance(prefix: string, history: number, registry?: Registry) {
    const proxy = await startPausableProxy(redis.port);
    const redisConn = createRedisConnection({ url: redis.url, name: 'lag-commands' });
    const reader = createRedisConnection({ url: proxy.url, name: 'lag-reader' });
    const lagging = new RedisEventEngine({
      redis: redisConn,
      reader,
      keys: { stream: `${prefix}events`, epoch: `${prefix}events:epoch`, trim: `${prefix}events:trimmed` },
      history,
      metrics: createRedisMetrics(registry),
      logger,
      blockMs: 100,
    });
    onTestFinished(async () => {
      await lagging.close();
      redisConn.disconnect();
    });
    await redisConn.connect();
    await reader.connect();
    await lagging.start();
    return { proxy, lagging };
  }

  it('delivers every event published on one instance to the other exactly once, in order, with its seq in the frame', async () => {
    const prefix = 'deliver:';
    const a = await instance({ prefix });
    const b = await instance({ prefix });
    const onA = new Collector(a.engine);
    const onB = new Collector(b.engine);
    const published: PublishedEvent[] = [];
    for (let i = 1; i <= 50; i++) published.push(await b.engine.publish(created(i), null));
    await onA.waitFor(50);
    await onB.waitFor(50);
    expect(ids(onA.events)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(onA.events.map((e) => e.seq)).toEqual(published.map((p) => p.seq));
    expect(onB.events.map((e) => e.seq)).toEqual(published.map((p) => p.seq));
    // the publishing instance delivers the very frame publish built: encoded once per instance
    expect(onB.events[0]).toBe(published[0]);
    const first = decodeServerMessage(onA.events[0]!.frame);
    expect(first).toMatchObject({ type: 'bug_report', action: 'created', seq: published[0]!.seq });
    for (let i = 1; i < published.length; i++) {
      expect(a.engine.compareSeq(published[i - 1]!.seq, published[i]!.seq)).toBeLessThan(0);
    }
    expect(a.engine.isValidSeq(published[0]!.seq)).toBe(true);
  });

  it('answers readSince on any instance with broadcasts and only that user\'s notifications', async () => {
    const prefix = 'resume:';
    const a = await instance({ prefix });
    const b = await instance({ prefix });
    const onB = new Collector(b.engine);
    const start = await b.engine.cursor();
    await a.engine.publish(created(1), null);
    const second = await a.engine.publish(notification(2), 'alice');
    await a.engine.publish(notification(3), 'bob');
    await a.engine.publish(created(4), null);
    await onB.waitFor(4);
    const forAlice = await b.engine.readSince(start, 'alice');
    expect(forAlice.kind).toBe('ok');
    if (forAlice.kind !== 'ok') return;
    expect(ids(forAlice.events)).toEqual([1, 2, 4]);
    const fromSecond = await b.engine.readSince(second.seq, 'bob');
    expect(fromSecond.kind === 'ok' && ids(fromSecond.events)).toEqual([3, 4]);
    expect(await b.engine.cursor()).toBe(onB.events[3]!.seq);
    const none = await b.engine.readSince(await b.engine.cursor(), 'alice');
    expect(none).toEqual({ kind: 'ok', events: [] });
  });

  it('starts a fresh log with a cursor that replays everything after it', async () => {
    const a = await instance();
    const cursor = await a.engine.cursor();
    expect(parseSeq(cursor)?.id).toBe('0-0');
    const onA = new Collector(a.engine);
    await a.engine.publish(created(1), null);
    await onA.waitFor(1);
    const r = await a.engine.readSince(cursor, 'u');
    expect(r.kind === 'ok' && ids(r.events)).toEqual([1]);
  });

  it('answers a malformed, trimmed, foreign-epoch or future since with window_exceeded and the oldest seq held', async () => {
    const a = await instance({ history: 10 });
    const onA = new Collector(a.engine);
    const published: PublishedEvent[] = [];
    for (let i = 1; i <= 40; i++) published.push(await a.engine.publish(created(i), null));
    await onA.waitFor(40);

    const trimmed = await a.engine.readSince(published[0]!.seq, 'u');
    expect(trimmed.kind).toBe('window_exceeded');
    if (trimmed.kind !== 'window_exceeded') return;
    const oldestIndex = published.findIndex((p) => p.seq === trimmed.oldest);
    expect(oldestIndex).toBeGreaterThan(0);
    expect(40 - oldestIndex).toBeGreaterThanOrEqual(10);
    // every since from the oldest held on is complete
    const fromOldest = await a.engine.readSince(trimmed.oldest, 'u');
    expect(fromOldest.kind === 'ok' && fromOldest.events.length).toBe(40 - oldestIndex - 1);
    // the seq just before the oldest held was the last trimmed: nothing after it was lost
    const fromLastTrimmed = await a.engine.readSince(published[oldestIndex - 1]!.seq, 'u');
    expect(fromLastTrimmed.kind === 'ok' && fromLastTrimmed.events.length).toBe(40 - oldestIndex);

    const epoch = parseSeq(published[39]!.seq)!.epoch;
    const otherEpoch = epoch === '00000000' ? '00000001' : '00000000';
    const [ms] = parseSeq(published[39]!.seq)!.id.split('-');
    for (const since of ['nonsense', '', `${otherEpoch}:${parseSeq(published[39]!.seq)!.id}`, `${epoch}:${Number(ms) + 60_000}-0`]) {
      const r = await a.engine.readSince(since, 'u');
      expect(r, since).toEqual({ kind: 'window_exceeded', oldest: trimmed.oldest });
    }
    expect(a.engine.isValidSeq('nonsense')).toBe(false);
  });

  it('replays only up to what this instance has delivered, and waits for its reader when the since is ahead of it', async () => {
    const prefix = 'lag:';
    const a = await instance({ prefix });
    const { proxy, lagging } = await laggingInstance(prefix, 1000);
    const collector = new Collector(lagging);
    const onLagging = collector.events;
    const start = await lagging.cursor();

    proxy.hold();
    const e1 = await a.engine.publish(created(1), null);
    const e2 = await a.engine.publish(created(2), null);
    // both are in the stream, but this instance has not delivered them: they will reach its
    // connections live, so a replay now must not include them
    expect(await lagging.readSince(start, 'u')).toEqual({ kind: 'ok', events: [] });
    expect(onLagging).toEqual([]);

    // a client that saw e1 on another instance: the replay waits for this reader to reach e1
    let settled = false;
    let deliveredWhenAnswered: string[] = [];
    const pending = lagging.readSince(e1.seq, 'u').finally(() => {
      settled = true;
      deliveredWhenAnswered = onLagging.map((e) => e.seq);
    });
    const e3 = await a.engine.publish(created(3), null);
    expect(await lagging.readSince(start, 'u')).toEqual({ kind: 'ok', events: [] });
    expect(settled).toBe(false);
    proxy.release();
    const r = await pending;
    expect(deliveredWhenAnswered[0]).toBe(e1.seq);
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    // the replay is exactly what this instance had delivered after e1 at that moment; the rest comes live
    expect(r.events.map((e) => e.seq)).toEqual(deliveredWhenAnswered.slice(1));
    const all = (await collector.waitFor(3)).map((e) => e.seq);
    expect(all).toEqual([e1.seq, e2.seq, e3.seq]);
  });

  it('reports a gap when this instance\'s reader falls more than history behind', async () => {
    const prefix = 'gap:';
    const a = await instance({ prefix, history: 10 });
    const registry = new Registry();
    const { proxy, lagging } = await laggingInstance(prefix, 10, registry);
    const gaps: { from: string; to: string }[] = [];
    lagging.onGap((g) => gaps.push(g));
    const collector = new Collector(lagging);
    const before = await lagging.cursor();
    proxy.hold();
    const published: PublishedEvent[] = [];
    for (let i = 1; i <= 40; i++) published.push(await a.engine.publish(created(i), null));
    proxy.release();
    // the reader goes on from the oldest event still held, up to the newest
    await collector.waitFor(1);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('reader did not reach the newest event')), WAIT_MS);
      const check = (): void => {
        if (collector.events.at(-1)?.seq === published[39]!.seq) {
          clearTimeout(timer);
          resolve();
        }
      };
      lagging.onEvent(check);
      check();
    });
    expect(gaps).toHaveLength(1);
    expect([before, published[0]!.seq]).toContain(gaps[0]!.from);
    expect(published.map((p) => p.seq)).toContain(gaps[0]!.to);
    expect(await registry.metrics()).toMatch(/bugzapp_redis_errors_total\{op="gap"\} 1/);
    // no event is delivered twice
    expect(new Set(collector.events.map((e) => e.seq)).size).toBe(collector.events.length);
  });

  it('resumes from its last id when its reader connection is killed mid-run: nothing skipped, nothing twice', async () => {
    const prefix = 'killreader:';
    const a = await instance({ prefix });
    const b = await instance({ prefix });
    const admin = new Redis(redis.url);
    onTestFinished(() => admin.disconnect());
    const onA = new Collector(a.engine);
    for (let i = 1; i <= 60; i++) {
      if (i === 20 || i === 40) {
        // the second kill hits a reader that is back and blocked in XREAD, the first one mid-stream
        if (i === 40) await onA.waitFor(39);
        const list = (await admin.client('LIST')) as string;
        const readers = list.split('\n').filter((l) => l.includes('name=bugzapp-reader'));
        expect(readers.length).toBeGreaterThanOrEqual(1);
        for (const line of readers) await admin.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
      }
      await b.engine.publish(created(i), null);
    }
    await onA.waitFor(60);
    expect(ids(onA.events)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('detects a flushed stream: a new epoch, old seqs answered as too old, delivery goes on', async () => {
    const prefix = 'flush:';
    const a = await instance({ prefix });
    const b = await instance({ prefix });
    const admin = new Redis(redis.url);
    onTestFinished(() => admin.disconnect());
    const onA = new Collector(a.engine);
    const first = await b.engine.publish(created(1), null);
    await onA.waitFor(1);
    await admin.flushall();
    const second = await b.engine.publish(created(2), null);
    const third = await a.engine.publish(created(3), null);
    await onA.waitFor(3);
    expect(ids(onA.events)).toEqual([1, 2, 3]);
    expect(parseSeq(second.seq)!.epoch).not.toBe(parseSeq(first.seq)!.epoch);
    const r = await b.engine.readSince(first.seq, 'u');
    expect(r).toEqual({ kind: 'window_exceeded', oldest: second.seq });
    const fromSecond = await a.engine.readSince(second.seq, 'u');
    expect(fromSecond.kind === 'ok' && fromSecond.events.map((e) => e.seq)).toEqual([third.seq]);
  });

  it('skips a stream entry it cannot read instead of stalling on it', async () => {
    const prefix = 'garbage:';
    const registry = new Registry();
    const a = await instance({ prefix, registry });
    const admin = new Redis(redis.url);
    onTestFinished(() => admin.disconnect());
    const onA = new Collector(a.engine);
    const first = await a.engine.publish(created(1), null);
    await admin.xadd(`${prefix}events`, '*', 'e', parseSeq(first.seq)!.epoch, 't', '', 'y', 'bug_report', 'm', '{not json');
    await a.engine.publish(created(2), null);
    await onA.waitFor(2);
    expect(ids(onA.events)).toEqual([1, 2]);
    const r = await a.engine.readSince(first.seq, 'u');
    expect(r.kind === 'ok' && ids(r.events)).toEqual([2]);
    expect(await registry.metrics()).toMatch(/bugzapp_redis_errors_total\{op="read"\} [1-9]/);
  });

  it('keeps bug reports and comments in Redis, with ids unique across instances', async () => {
    const prefix = 'store:';
    const a = await instance({ prefix });
    const b = await instance({ prefix });
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).store.createBugReport({ title: `t${i}`, assignee_id: '7' }, 'r')),
    );
    expect(new Set(made.map((m) => m.id)).size).toBe(20);
    const listed = await b.store.listBugReports();
    expect(listed.map((x) => x.id)).toEqual(made.map((m) => m.id).sort((x, y) => x - y));
    const one = made[0]!;
    expect(await a.store.getBugReport(one.id)).toEqual(one);
    expect(await a.store.getBugReport(99_999)).toBeUndefined();

    // concurrent PATCHes of different fields on two instances: both apply, none is lost
    const [p1, p2] = await Promise.all([
      a.store.updateBugReport(one.id, { status: 'in_progress' }),
      b.store.updateBugReport(one.id, { assignee_id: null, title: 'renamed' }),
    ]);
    expect(p1 && p2).toBeTruthy();
    const after = await a.store.getBugReport(one.id);
    expect(after).toMatchObject({ status: 'in_progress', assignee_id: null, title: 'renamed', id: one.id, reporter_id: 'r' });
    expect(p2!.before.assignee_id === '7' || p1!.before.assignee_id === '7').toBe(true);
    expect(await a.store.updateBugReport(99_999, { title: 'x' })).toBeUndefined();

    const c1 = await a.store.createComment(one.id, 'hello', 'u1');
    const c2 = await b.store.createComment(one.id, 'again', 'u2');
    expect(c1?.id).not.toBe(c2?.id);
    expect(c2).toMatchObject({ bug_report_id: one.id, author_id: 'u2', body: 'again' });
    expect(await a.store.createComment(99_999, 'x', 'u')).toBeUndefined();

    const deleted = await b.store.deleteBugReport(one.id);
    expect(deleted).toMatchObject({ id: one.id, title: 'renamed' });
    expect(await a.store.getBugReport(one.id)).toBeUndefined();
    expect(await a.store.deleteBugReport(one.id)).toBeUndefined();
    expect(await a.store.createComment(one.id, 'late', 'u')).toBeUndefined();
  });

  it('reverts an unpublished change atomically, and only when nothing changed after it', async () => {
    const prefix = 'revert:';
    const a = await instance({ prefix });
    const b = await instance({ prefix });
    const admin = new Redis(redis.url);
    onTestFinished(() => admin.disconnect());
    const store = a.store;
    const revert = (change: StoreChange) => b.store.revert!(change);

    const x = await store.createBugReport({ title: 'x', assignee_id: '3' }, 'r');
    expect(await revert({ kind: 'bug_report_created', bug: x })).toBe(true);
    expect(await store.getBugReport(x.id)).toBeUndefined();
    expect(await revert({ kind: 'bug_report_created', bug: x })).toBe(false);

    // a comment on a created report is a later change: both stay
    const y = await store.createBugReport({ title: 'y' }, 'r');
    await store.createComment(y.id, 'later', 'u');
    expect(await revert({ kind: 'bug_report_created', bug: y })).toBe(false);
    expect(await store.getBugReport(y.id)).toEqual(y);

    // an update is undone only while the record is as that update left it (PATCHed records are cjson-encoded)
    const z = await store.createBugReport({ title: 'z/slash "quoted"', description: 'd' }, 'r');
    const u1 = (await store.updateBugReport(z.id, { status: 'resolved', assignee_id: null }))!;
    expect(await revert({ kind: 'bug_report_updated', ...u1 })).toBe(true);
    expect(await store.getBugReport(z.id)).toEqual(z);
    const u2 = (await store.updateBugReport(z.id, { title: 'z2' }))!;
    await store.updateBugReport(z.id, { title: 'z3' });
    expect(await revert({ kind: 'bug_report_updated', ...u2 })).toBe(false);
    expect((await store.getBugReport(z.id))?.title).toBe('z3');

    // a delete comes back with its comments
    const w = await store.createBugReport({ title: 'w' }, 'r');
    await store.createComment(w.id, 'c1', 'u');
    await store.createComment(w.id, 'c2', 'u');
    const deleted = (await store.deleteBugReport(w.id))!;
    expect(await admin.hlen(`${prefix}comments:${w.id}`)).toBe(0);
    expect(await revert({ kind: 'bug_report_deleted', bug: deleted })).toBe(true);
    expect(await store.getBugReport(w.id)).toEqual(w);
    expect(await admin.hlen(`${prefix}comments:${w.id}`)).toBe(2);
    expect(await admin.ttl(`${prefix}comments:${w.id}`)).toBe(-1);
    expect(await revert({ kind: 'bug_report_deleted', bug: deleted })).toBe(false);

    const c = (await store.createComment(w.id, 'c3', 'u'))!;
    expect(await revert({ kind: 'comment_created', comment: c })).toBe(true);
    expect(await admin.hlen(`${prefix}comments:${w.id}`)).toBe(2);
    expect(await revert({ kind: 'comment_created', comment: c })).toBe(false);
  });

  it('holds the rate limit for one user across instances, on the clock of Redis (TIME), not of the callers', async () => {
    const prefix = 'rate:';
    const a = await instance({ prefix, max: 5, windowMs: 60_000 });
    const b = await instance({ prefix, max: 5, windowMs: 60_000 });
    // the callers' clocks disagree wildly; Redis's TIME decides
    const results: boolean[] = [];
    for (let i = 0; i < 8; i++) results.push(await (i % 2 ? a : b).rateLimiter.hit('u1', i % 2 ? 0 : 1e12));
    expect(results).toEqual([true, true, true, true, true, false, false, false]);
    // another user has a window of its own
    expect(await a.rateLimiter.hit('u2', 0)).toBe(true);
    // hits at the same instant on two instances are two messages
    const same = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).rateLimiter.hit('u3', 0)));
    expect(same.filter(Boolean).length).toBe(5);
  });

  it('frees a slot only once the window has passed since the first pass', async () => {
    const a = await instance({ max: 2, windowMs: 300 });
    const first = performance.now();
    expect(await a.rateLimiter.hit('u', 0)).toBe(true);
    expect(await a.rateLimiter.hit('u', 0)).toBe(true);
    expect(await a.rateLimiter.hit('u', 0)).toBe(false);
    // wait on the event (a pass), bounded; never a fixed sleep
    const deadline = first + 10_000;
    while (!(await a.rateLimiter.hit('u', 0))) {
      if (performance.now() > deadline) throw new Error('the window never slid');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(performance.now() - first).toBeGreaterThanOrEqual(300 - 5);
  });

  it('registers its metrics in the given registry', async () => {
    const registry = new Registry();
    const a = await instance({ registry });
    await a.engine.readSince('nonsense', 'u');
    const text = await registry.metrics();
    expect(text).toMatch(/bugzapp_redis_resumes_total\{outcome="window_exceeded"\} 1/);
    expect(text).toContain('bugzapp_redis_stream_lag_ms');
    expect(text).toContain('bugzapp_redis_errors_total');
  });

  it('refuses to start when Redis cannot be reached, naming the URL', async () => {
    const gone = await RedisServer.start();
    await gone.stop();
    const err = await createRedisBackends({ url: gone.url, history: 10, rateLimit: { max: 1, windowMs: 1 }, logger }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBugzappError(err) && err.code).toBe('ERR_BACKEND_UNAVAILABLE');
    expect(String((err as Error).message)).toContain(gone.url);
  });
});

describe.skipIf(skipRedis())('Redis backends across a Redis restart', () => {
  it('answers 503-style errors while Redis is down, reconnects, starts a new epoch and keeps delivering', async () => {
    const redis = await RedisServer.start();
    onTestFinished(() => redis.stop());
    const open = async () => {
      const b = await createRedisBackends({ url: redis.url, history: 100, rateLimit: { max: 10, windowMs: 1000 }, logger });
      onTestFinished(async () => {
        await Promise.all([b.engine.close(), b.store.close(), b.rateLimiter.close()]);
      });
      return b;
    };
    const a = await open();
    const b = await open();
    const onA = new Collector(a.engine);
    const before = await b.engine.publish(created(1), null);
    await onA.waitFor(1);
    expect(await a.engine.isReady()).toBe(true);

    await redis.stop('SIGKILL');
    const err = await b.engine.publish(created(2), null).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBugzappError(err) && err.code).toBe('ERR_BACKEND_UNAVAILABLE');
    const storeErr = await b.store.createBugReport({ title: 'x' }, 'r').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBugzappError(storeErr) && storeErr.code).toBe('ERR_BACKEND_UNAVAILABLE');
    expect(await a.engine.isReady()).toBe(false);

    await redis.restart();
    expect(await b.engine.whenConnected(WAIT_MS)).toBe(true);
    expect(await a.engine.whenConnected(WAIT_MS)).toBe(true);
    const after = await b.engine.publish(created(3), null);
    await onA.waitFor(2);
    expect(ids(onA.events)).toEqual([1, 3]);
    expect(parseSeq(after.seq)!.epoch).not.toBe(parseSeq(before.seq)!.epoch);
    expect(a.engine.compareSeq(after.seq, before.seq)).toBeGreaterThan(0);
    expect(a.engine.compareSeq(before.seq, after.seq)).toBeLessThan(0);
    // the old log is gone: its seqs are answered as too old, never as an empty replay
    const r = await a.engine.readSince(before.seq, 'u');
    expect(r.kind).toBe('window_exceeded');
    expect(await a.engine.isReady()).toBe(true);
  });
});
