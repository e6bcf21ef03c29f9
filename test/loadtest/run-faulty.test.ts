// The checks can fail: against a server with known faults, each is reported with its exact count.
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultyServer } from '../../fixtures/servers/faulty-server.ts';
import { runLoadTest, type LoadTestResult } from '../../src/loadtest/index.ts';
import { buildLoadReport } from '../../src/loadtest/report-json.ts';

const SECRET = 'faulty-secret';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const USERS = 10;
const CONNS = 2;

async function runAgainstFaulty(workers: number): Promise<{ r: LoadTestResult; stats: Record<string, number> }> {
  const server = await startFaultyServer({
    secret: SECRET,
    faultsFromConnections: USERS * CONNS,
    dropBroadcasts: [3, 7],
    dropTo: 2,
    duplicateBroadcast: 5,
    misrouteNotification: 1,
    reorderBroadcast: 10,
    lateBroadcast: 13,
  });
  closers.push(() => server.close());
  const r = await runLoadTest({
    urls: [server.url],
    secret: SECRET,
    users: USERS,
    connsPerUser: CONNS,
    events: 30,
    rate: 200,
    // creates only: the same options then fire the same events, whatever the timing
    mix: { bug_report: 1 },
    assignRatio: 0.5,
    drainTimeoutMs: 1500,
    workers,
  });
  return { r, stats: server.stats };
}

/** A small run (3 users x 2 connections, faults from the first load connection) against a faulty server. */
async function runSmall(
  faults: Parameters<typeof startFaultyServer>[0],
  input: Parameters<typeof runLoadTest>[0],
): Promise<{ r: LoadTestResult; server: Awaited<ReturnType<typeof startFaultyServer>> }> {
  const server = await startFaultyServer({ secret: SECRET, faultsFromConnections: 6, ...faults });
  closers.push(() => server.close());
  const r = await runLoadTest({
    urls: [server.url],
    secret: SECRET,
    users: 3,
    connsPerUser: 2,
    rate: 200,
    mix: { bug_report: 1 },
    skipRateLimit: true,
    ...input,
  });
  return { r, server };
}

describe('runLoadTest against a faulty server', () => {
  it('reports each fault with its exact count and names the offending events', async () => {
    const { r, stats } = await runAgainstFaulty(0);
    expect(stats).toMatchObject({ dropped: 4, duplicated: 1, misrouted: 1, reordered: 1, late: 1 });
    const t = r.delivery.total;
    expect(t.missing).toBe(4);
    expect(t.duplicated).toBe(1);
    expect(t.misrouted).toBe(1);
    expect(r.delivery.byType.notification.misrouted).toBe(1);
    expect(r.delivery.byType.notification.missing).toBe(0);
    expect(r.delivery.byType.bug_report.missing).toBe(4);
    expect(r.delivery.byType.bug_report.duplicated).toBe(1);
    // the swapped pair, and the held-back one (its seq is older than everything after it)
    expect(t.outOfOrder).toBe(2);
    expect(t.late).toBe(1);
    expect(t.unmatched).toBe(0);
    // a loss and a duplicate never cancel out; a late one is not delivered
    expect(t.delivered).toBe(t.expected - 4 - 1);
    expect(r.delivery.ratio).toBeLessThan(1);
    expect(r.drainComplete).toBe(false);
    const kinds = r.delivery.firstOffenders.map((o) => `${o.kind}:${o.count}`);
    expect(kinds).toEqual(['missing:2', 'missing:2', 'misrouted:1', 'duplicated:1', 'outOfOrder:1', 'outOfOrder:1', 'late:1']);
    expect(r.delivery.firstOffenders[0]!.event).toMatch(/^bug_report:created:\d+$/);
    expect(r.delivery.firstOffenders[0]!.connections).toHaveLength(2);
    // advertised 10 per second, enforced nothing
    expect(r.rateLimit.status).toBe('fail');
    expect(r.rateLimit.details[0]).toMatchObject({ name: 'exactly max per window', pass: false });
    expect(r.rateLimit.details[0]!.detail).toMatch(/no limit enforced/);
  });

  it('2 workers produce the same ledger as 1', async () => {
    const one = await runAgainstFaulty(0);
    const two = await runAgainstFaulty(2);
    expect(two.r.generator.threads.map((x) => x.thread)).toEqual(['main', 'worker-0', 'worker-1']);
    expect(two.r.connections.opened).toBe(USERS * CONNS);
    expect(two.r.delivery.byType).toEqual(one.r.delivery.byType);
    expect(two.r.delivery.firstOffenders.map((o) => [o.kind, o.count, o.event])).toEqual(
      one.r.delivery.firstOffenders.map((o) => [o.kind, o.count, o.event]),
    );
    // histograms merged from the workers hold every receipt
    expect(two.r.latency.broadcast.count).toBe(two.r.delivery.byType.bug_report.delivered);
    expect(two.r.latency.notification.count).toBe(two.r.delivery.byType.notification.delivered);
    expect(two.r.latency.connect.count).toBe(USERS * CONNS);
  });
});

describe('runLoadTest when updates fail', () => {
  it('a failed update does not leave a title or assignee the server never applied in the ledger (no false missing on a later delete or comment)', async () => {
    const { r } = await runSmall(
      { failLoadPatches: true },
      { events: 60, rate: 500, mix: { bug_report: 1, update: 2, delete: 2, comment: 2 }, assignRatio: 1, drainTimeoutMs: 1500 },
    );
    expect(r.throughput.restErrors).toBeGreaterThan(0);
    expect(r.errors.some((e) => /^update: /.test(e))).toBe(true);
    const t = r.delivery.total;
    expect(t.expected).toBeGreaterThan(0);
    expect(t.missing).toBe(0);
    expect(t.duplicated).toBe(0);
    expect(t.misrouted).toBe(0);
    expect(t.unmatched).toBe(0);
    expect(t.delivered).toBe(t.expected);
    expect(r.drainComplete).toBe(true);
  });
});

describe('runLoadTest draining', () => {
  it('receipts of a POST answered 500 do not make up for a missing delivery: the drain waits for it', async () => {
    // the rate-limit probe's first ping releases the held-back broadcast: after the drain
    const { r, server } = await runSmall({ failAfterBroadcast: 1, lateBroadcast: 2 }, { events: 4, assignRatio: 0, drainTimeoutMs: 300, skipRateLimit: false });
    expect(server.stats.late).toBe(1);
    expect(r.throughput.restErrors).toBe(1);
    const b = r.delivery.byType.bug_report;
    expect(b.events).toBe(3);
    expect(b.expected).toBe(18);
    // the held-back broadcast came only after the drain (at the rate-limit probe's first ping)
    expect(b.late).toBe(1);
    expect(b.delivered).toBe(17);
    expect(r.drainComplete).toBe(false);
  });
});

describe('runLoadTest and failed POSTs', () => {
  it('a notification sent to another user is misrouted even when its POST was answered 500', async () => {
    const { r, server } = await runSmall({ failAfterBroadcast: 1, misrouteNotification: 1 }, { events: 3, assignRatio: 1, drainTimeoutMs: 1000 });
    expect(server.stats.misrouted).toBe(1);
    expect(r.throughput.restErrors).toBe(1);
    expect(r.delivery.byType.notification.misrouted).toBe(1);
    expect(r.delivery.total.misrouted).toBe(1);
    expect(r.delivery.byType.notification.events).toBe(2);
    expect(r.delivery.byType.notification.missing).toBe(0);
    expect(r.delivery.firstOffenders.map((o) => o.kind)).toContain('misrouted');
  });
});

describe('runLoadTest against a server that closes the connections', () => {
  it('fails the run: the dropped connections are reported, not silently owed nothing', async () => {
    const { r } = await runSmall({ closeConnectionsAfter: 2 }, { events: 6, assignRatio: 0, drainTimeoutMs: 1000 });
    expect(r.connections.opened).toBe(6);
    expect(r.connections.dropped).toBe(6);
    const report = buildLoadReport(r);
    const connections = report.checks.find((c) => c.name === 'connections')!;
    expect(connections.status).toBe('fail');
    expect(connections.detail).toMatch(/6 dropped/);
    expect(report.verdict).toBe('fail');
    expect(report.exitCode).toBe(1);
  });
});

describe('runLoadTest against a server that never answers a POST', () => {
  it('ends after the drain with the POST counted unanswered, without waiting for the REST timeout', async () => {
    const { r } = await runSmall({ neverAnswerPost: 2 }, { events: 3, assignRatio: 0, drainTimeoutMs: 300 });
    expect(r.throughput.restUnanswered).toBe(1);
    expect(r.throughput.eventsAccepted).toBe(2);
    expect(r.throughput.restErrors).toBe(0);
    expect(r.drainComplete).toBe(false);
  }, 10_000);
});
