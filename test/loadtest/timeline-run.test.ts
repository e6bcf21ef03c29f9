// The timeline of a real run (the reference server in-process, connections in two worker threads):
// one entry per second, no gaps, sums equal to the run's totals, p99 >= p50, the gate figure.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/index.ts';
import { runLoadTest } from '../../src/loadtest/index.ts';
import { buildLoadReport } from '../../src/loadtest/report-json.ts';
import { parseGates } from '../../src/loadtest/gates.ts';

const SECRET = 'timeline-secret';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('the timeline of a run', () => {
  it('steps by one second from the connect phase to the drain and adds up to the totals', async () => {
    const server = await createServer({ port: 0, secret: SECRET });
    closers.push(() => server.close());
    const r = await runLoadTest({
      urls: [server.url],
      secret: SECRET,
      users: 20,
      events: 60,
      rate: 40,
      workers: 2,
      drainTimeoutMs: 10_000,
      skipRateLimit: true,
    });
    expect(r.drainComplete).toBe(true);
    const tl = r.timeline!;
    expect(tl.length).toBeGreaterThan(1);
    tl.forEach((e, i) => i > 0 && expect(e.t).toBe(tl[i - 1]!.t + 1));
    expect(tl[0]!.t).toBeLessThanOrEqual(0);
    // 60 operations at 40/s take 1.5 s: seconds 0 and 1 at least
    expect(tl[tl.length - 1]!.t).toBeGreaterThanOrEqual(1);
    const sum = (k: 'fired' | 'accepted' | 'delivered' | 'errors'): number => tl.reduce((s, e) => s + e[k], 0);
    expect(sum('fired')).toBe(r.throughput.eventsFired);
    expect(sum('accepted')).toBe(r.throughput.eventsAccepted);
    expect(sum('delivered')).toBe(r.delivery.total.delivered);
    expect(sum('delivered')).toBe(r.latency.broadcast.count + r.latency.notification.count);
    expect(sum('errors')).toBe(r.throughput.restErrors + r.connections.connectErrors + r.connections.dropped);
    // nothing fired before the fire phase; everything connected from it on
    expect(tl.filter((e) => e.t < 0).every((e) => e.fired === 0 && e.delivered === 0)).toBe(true);
    expect(tl.find((e) => e.t === 0)!.connections).toBe(20);
    for (const e of tl) {
      expect(e.p50Ms === null).toBe(e.delivered === 0);
      expect(e.p99Ms === null).toBe(e.delivered === 0);
      if (e.p50Ms !== null && e.p99Ms !== null) expect(e.p99Ms).toBeGreaterThanOrEqual(e.p50Ms);
    }
    const worst = Math.max(...tl.map((e) => e.p99Ms ?? 0));
    expect(worst).toBeGreaterThan(0);
    const report = buildLoadReport(r, parseGates([`p99_max_1s<=${worst}ms`, `p99_max_1s<${worst}ms`]));
    expect(report.figures.p99_max_1s).toBe(worst);
    expect(report.gates.map((g) => g.pass)).toEqual([true, false]);
    expect(report.timeline).toEqual(tl);
  });
});
