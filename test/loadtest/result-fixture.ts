// A LoadTestResult with plausible figures, for the gate, report and dashboard tests (built by hand, so
// every figure a test asserts on is known). `tweak` edits a deep copy.
import { resolveLoadTestOptions } from '../../src/loadtest/options.ts';
import type { DeliveryCounts, LatencySummary, LoadTestResult } from '../../src/loadtest/types.ts';

export function counts(events: number, expected: number, over: Partial<DeliveryCounts> = {}): DeliveryCounts {
  return { events, expected, delivered: expected, missing: 0, duplicated: 0, misrouted: 0, outOfOrder: 0, late: 0, unmatched: 0, ...over };
}

export function latency(p50: number, p99: number, count = 100): LatencySummary {
  return { count, mean: p50 * 1.1, min: p50 / 2, p50, p90: (p50 + p99) / 2, p99, p999: p99 * 1.5, max: p99 * 2 };
}

export function sampleResult(tweak?: (r: LoadTestResult) => void): LoadTestResult {
  const r: LoadTestResult = {
    schemaVersion: 1,
    targets: ['http://127.0.0.1:8000'],
    startedServer: true,
    aborted: false,
    drainComplete: true,
    options: resolveLoadTestOptions({ users: 20, events: 40, rate: 20 }),
    connections: { target: 20, opened: 20, connectErrors: 0, reconnects: 0, dropped: 0, localAddresses: 1, errorSamples: [] },
    delivery: {
      byType: {
        bug_report: counts(28, 560),
        comment: counts(8, 160),
        notification: counts(14, 14),
      },
      total: counts(50, 734),
      ratio: 1,
      firstOffenders: [],
    },
    latency: {
      broadcast: latency(2, 8, 720),
      notification: latency(1.5, 12, 14),
      broadcastSpread: latency(0.5, 3, 36),
      connect: latency(4, 20, 20),
      rest: latency(1, 5, 40),
      sendLag: latency(0.1, 1, 40),
      buckets: [
        { le: 1, count: 100 },
        { le: 2, count: 400 },
        { le: 5, count: 200 },
        { le: 10, count: 30 },
        { le: 20, count: 4 },
      ],
    },
    throughput: { eventsFired: 40, eventsAccepted: 40, restErrors: 0, skipped: 0, fireRate: 19.8, deliveriesPerSec: 350.5, framesReceived: 760 },
    rateLimit: {
      status: 'pass',
      advertised: { max: 10, windowMs: 1000 },
      checked: { max: 10, windowMs: 1000 },
      measured: { max: 10, windowMs: 1000 },
      details: [
        { name: 'exactly max per window', pass: true, detail: '10 of 25 pings passed, 15 refused with "Rate limit exceeded" (expected 10 to pass)' },
        { name: 'other users unaffected', pass: true, detail: 'another user: 3 of 3 pings answered with pong (expected all)' },
      ],
    },
    capabilities: {
      seq: { status: 'supported', detail: 'events carry seq' },
      cursor: { status: 'supported', detail: 'cursor present' },
      resume: { status: 'supported', detail: 'since replays' },
      restAuth: { status: 'supported', detail: 'POST without token: 401' },
      patch: { status: 'supported', detail: 'PATCH answered 200' },
      delete: { status: 'supported', detail: 'DELETE answered 204' },
      rateLimitAdvertised: { status: 'supported', detail: 'connection_established advertises 10 per 1000 ms' },
    },
    generator: {
      cpuPercent: 35.5,
      eventLoopLagMs: { p50: 1, p99: 4.5, max: 9 },
      threads: [{ thread: 'main', cpuPercent: 35.5, eventLoopLagMs: { p50: 1, p99: 4.5, max: 9 } }],
      saturated: false,
      saturationLagMs: 100,
    },
    timings: { startedAt: 1_764_000_000_000, connectMs: 120, fireMs: 2000, drainMs: 15, rateLimitMs: 1100, totalMs: 3400 },
    errors: [],
  };
  const copy = structuredClone(r);
  tweak?.(copy);
  return copy;
}
