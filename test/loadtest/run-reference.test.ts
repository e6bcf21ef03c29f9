// runLoadTest against our reference server (in-process, small) and against one it starts itself.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/index.ts';
import { runLoadTest, type LoadProgressEvent } from '../../src/loadtest/index.ts';

const SECRET = 'load-test-secret';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('runLoadTest against the reference server', () => {
  it('delivers exactly 100%, passes the rate-limit check and finds every capability', async () => {
    const server = await createServer({ port: 0, secret: SECRET });
    closers.push(() => server.close());
    const progress: LoadProgressEvent[] = [];
    const r = await runLoadTest(
      {
        urls: [server.url],
        secret: SECRET,
        users: 20,
        connsPerUser: 2,
        events: 50,
        rate: 200,
        mix: { bug_report: 50, comment: 20, update: 20, delete: 10 },
        drainTimeoutMs: 10_000,
        progressIntervalMs: 50,
      },
      { onProgress: (e) => progress.push(e) },
    );
    expect(r.schemaVersion).toBe(1);
    expect(r.options.secret).toBe('<redacted>');
    expect(JSON.stringify(r)).not.toContain(SECRET);
    expect(r.aborted).toBe(false);
    expect(r.drainComplete).toBe(true);
    expect(r.connections).toMatchObject({ target: 40, opened: 40, connectErrors: 0 });
    expect(r.throughput.eventsFired).toBe(50);
    expect(r.throughput.eventsAccepted).toBe(50);
    expect(r.throughput.restErrors).toBe(0);
    expect(r.throughput.restUnanswered).toBe(0);
    expect(r.throughput.skipped).toBe(0);
    const t = r.delivery.total;
    expect(t.expected).toBeGreaterThan(50 * 40 - 1);
    expect(t.delivered).toBe(t.expected);
    expect({ missing: t.missing, duplicated: t.duplicated, misrouted: t.misrouted, outOfOrder: t.outOfOrder, late: t.late, unmatched: t.unmatched }).toEqual({
      missing: 0,
      duplicated: 0,
      misrouted: 0,
      outOfOrder: 0,
      late: 0,
      unmatched: 0,
    });
    expect(r.delivery.ratio).toBe(1);
    expect(r.delivery.firstOffenders).toEqual([]);
    // every broadcast reached all 40 connections; notifications only their assignee's 2
    expect(r.delivery.byType.bug_report.expected).toBe(r.delivery.byType.bug_report.events * 40);
    expect(r.delivery.byType.notification.expected).toBe(r.delivery.byType.notification.events * 2);
    expect(r.delivery.byType.notification.events).toBeGreaterThan(0);
    expect(r.latency.broadcast.count).toBe(r.delivery.byType.bug_report.delivered + r.delivery.byType.comment.delivered);
    expect(r.latency.notification.count).toBe(r.delivery.byType.notification.delivered);
    expect(r.latency.connect.count).toBe(40);
    expect(r.latency.rest.count).toBe(50);
    expect(r.latency.broadcastSpread.count).toBe(r.delivery.byType.bug_report.events + r.delivery.byType.comment.events);
    expect(r.latency.broadcast.p99).toBeGreaterThanOrEqual(r.latency.broadcast.p50);
    expect(r.rateLimit.status).toBe('pass');
    expect(r.rateLimit.advertised).toEqual({ max: 10, windowMs: 1000 });
    expect(r.rateLimit.measured?.max).toBe(10);
    expect(r.rateLimit.details.map((d) => d.pass)).toEqual([true, true, true, true]);
    for (const name of ['seq', 'cursor', 'resume', 'restAuth', 'patch', 'delete', 'rateLimitAdvertised'] as const) {
      expect(r.capabilities[name].status, name).toBe('supported');
    }
    // --workers auto (the default): 40 connections stay in the main thread
    expect(r.generator.threads.map((x) => x.thread)).toEqual(['main']);
    // the dashboard's feed: phases in order, and the connect/delivery figures it draws
    const phases = progress.filter((e) => e.kind === 'phase').map((e) => (e as { phase: string }).phase);
    expect(phases).toEqual(['starting', 'connect', 'fire', 'drain', 'rate-limit', 'closing', 'done']);
    expect(progress.some((e) => e.kind === 'connect' && e.opened === 40)).toBe(true);
    expect(progress.some((e) => e.kind === 'delivery' && e.expected > 0)).toBe(true);
  });

  it('starts the reference server as a child process when no URL is given', async () => {
    const events: LoadProgressEvent[] = [];
    const r = await runLoadTest(
      { users: 4, events: 8, rate: 100, drainTimeoutMs: 5000, skipRateLimit: true },
      { onProgress: (e) => events.push(e) },
    );
    expect(r.startedServer).toBe(true);
    expect(r.targets[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(events.some((e) => e.kind === 'server')).toBe(true);
    expect(r.delivery.total.delivered).toBe(r.delivery.total.expected);
    expect(r.delivery.total.expected).toBeGreaterThanOrEqual(8 * 4);
    expect(r.rateLimit.status).toBe('skipped');
    // the child is gone: its port refuses connections
    await expect(fetch(`${r.targets[0]}/healthz`)).rejects.toThrow();
  });

  it('runs against an IPv6 loopback target (IPv4 source addresses are not forced on it)', async () => {
    const server = await createServer({ port: 0, host: '::1', secret: SECRET });
    closers.push(() => server.close());
    const r = await runLoadTest({
      urls: [server.url],
      secret: SECRET,
      users: 3,
      events: 5,
      rate: 100,
      skipRateLimit: true,
      localAddresses: ['127.0.0.1', '127.0.0.2'],
    });
    expect(r.connections).toMatchObject({ opened: 3, connectErrors: 0 });
    expect(r.delivery.total.delivered).toBe(r.delivery.total.expected);
  });

  it('stops when aborted and still returns a result marked aborted', async () => {
    const server = await createServer({ port: 0, secret: SECRET });
    closers.push(() => server.close());
    const controller = new AbortController();
    const r = await runLoadTest(
      { urls: [server.url], secret: SECRET, users: 5, events: 100_000, rate: 50, drainTimeoutMs: 5000 },
      {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.kind === 'fire' && e.fired >= 3) controller.abort();
        },
      },
    );
    expect(r.aborted).toBe(true);
    expect(r.throughput.eventsFired).toBeGreaterThanOrEqual(3);
    expect(r.throughput.eventsFired).toBeLessThan(100_000);
    expect(r.rateLimit.status).toBe('skipped');
  });
});
