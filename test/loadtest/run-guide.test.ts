// Against a server like the guide's FastAPI one (no seq, cursor, REST auth, PATCH, DELETE or rate
// limit) the run completes and reports what is missing as findings.
import { afterEach, describe, expect, it } from 'vitest';
import { startGuideServer } from '../../fixtures/servers/guide-server.ts';
import { runLoadTest } from '../../src/loadtest/index.ts';

const SECRET = 'guide-secret';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('runLoadTest against a guide-like server', () => {
  it('completes and reports seq, cursor, resume, REST auth, PATCH and DELETE as unsupported', async () => {
    const server = await startGuideServer({ secret: SECRET });
    closers.push(() => server.close());
    const r = await runLoadTest({
      urls: [server.url],
      secret: SECRET,
      users: 5,
      connsPerUser: 2,
      events: 20,
      rate: 200,
      mix: { bug_report: 60, update: 20, delete: 20 },
      drainTimeoutMs: 3000,
      localAddresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3'],
    });
    // connections came from three loopback source addresses
    expect(r.connections.localAddresses).toBe(3);
    for (const name of ['seq', 'cursor', 'resume', 'restAuth', 'patch', 'delete', 'rateLimitAdvertised'] as const) {
      expect(r.capabilities[name].status, name).toBe('unsupported');
    }
    expect(r.aborted).toBe(false);
    expect(r.connections.opened).toBe(10);
    // updates and deletes it can't do were replaced by creates, and counted
    expect(r.throughput.skipped).toBeGreaterThan(0);
    expect(r.throughput.eventsAccepted).toBe(20);
    expect(r.throughput.restErrors).toBe(0);
    expect(r.delivery.byType.bug_report.events).toBe(20);
    expect(r.delivery.byType.bug_report.delivered).toBe(20 * 10);
    expect(r.delivery.total.outOfOrder).toBe(0);
    // no limit advertised and none enforced: measured, and failed
    expect(r.rateLimit.status).toBe('fail');
    expect(r.rateLimit.advertised).toBeUndefined();
    expect(r.rateLimit.details[0]!.detail).toMatch(/no limit enforced/);
  });
});

describe('runLoadTest against the guide\'s real FastAPI server', async () => {
  const { fastApiUnavailableReason, startFastApiGuideServer } = await import('../../fixtures/servers/fastapi-guide.ts');
  const reason = fastApiUnavailableReason();
  it.skipIf(reason !== undefined)(`completes and reports the missing features${reason ? ` (skipped: ${reason})` : ''}`, async () => {
    const server = await startFastApiGuideServer({ secret: SECRET });
    closers.push(() => server.close());
    const r = await runLoadTest({
      urls: [server.url],
      secret: SECRET,
      users: 5,
      connsPerUser: 2,
      events: 20,
      rate: 100,
      mix: { bug_report: 80, comment: 20 },
      drainTimeoutMs: 3000,
    });
    expect(r.connections.opened).toBe(10);
    expect(r.throughput.eventsAccepted).toBe(20);
    for (const name of ['seq', 'cursor', 'resume', 'restAuth', 'patch', 'delete'] as const) {
      expect(r.capabilities[name].status, name).toBe('unsupported');
    }
    expect(r.delivery.byType.bug_report.expected).toBe(r.delivery.byType.bug_report.events * 10);
    expect(r.rateLimit.status).toBe('fail');
  });
});
