// The load tester's simulated clients are BugzappClients, so they watch the line too: a WebSocket path
// that goes silent without closing is seen as a drop, reconnected and resumed, and the ledger shows
// nothing lost and nothing twice.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/index.ts';
import { runLoadTest } from '../../src/loadtest/index.ts';
import { startStallProxy } from './stall-proxy.ts';

const SECRET = 'line-watch-secret';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('runLoadTest through a WebSocket path that goes silent', () => {
  it('counts the silent connections as reconnects and still delivers every accepted event exactly once', async () => {
    const server = await createServer({ port: 0, secret: SECRET, heartbeatIntervalMs: 300 });
    closers.push(() => server.close());
    const proxy = await startStallProxy(server.port);
    let stalled = false;
    const r = await runLoadTest(
      {
        urls: [proxy.url],
        secret: SECRET,
        skipRateLimit: true,
        progressIntervalMs: 20,
        users: 5,
        connsPerUser: 2,
        events: 40,
        rate: 20,
        mix: { bug_report: 1 },
        assignRatio: 0,
        // the drain ends as soon as every delivery is in; the bound only matters on a loaded machine
        drainTimeoutMs: 30_000,
      },
      {
        onProgress: (e) => {
          if (e.kind === 'fire' && e.fired >= 10 && !stalled) {
            stalled = true;
            proxy.stall({ websocketsOnly: true });
          }
        },
      },
    );
    expect(stalled).toBe(true);
    expect(r.connections.reconnects).toBeGreaterThanOrEqual(10);
    expect(r.connections.dropped).toBe(0);
    const t = r.delivery.total;
    expect(t.expected).toBeGreaterThan(0);
    expect(t.missing).toBe(0);
    expect(t.duplicated).toBe(0);
    expect(t.delivered).toBe(t.expected);
    expect(r.throughput.eventsAccepted).toBe(40);
  });
});
