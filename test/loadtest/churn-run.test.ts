// Resilience runs end to end, scaled down from the command-line examples: connections cut abruptly
// (--churn, --storm) and tokens that expire mid-run (--token-ttl). Against the reference server every
// delivery stays exact through the cuts; against a server without resume, what was fired in each gap
// is reported as lost while reconnecting and fails the run unless a gate allows it.
import { afterEach, describe, expect, it } from 'vitest';
import { startGuideServer } from '../../fixtures/servers/guide-server.ts';
import { parseGate } from '../../src/loadtest/gates.ts';
import { formatHtmlReport } from '../../src/loadtest/report-html.ts';
import { buildLoadReport } from '../../src/loadtest/report-json.ts';
import { formatMarkdownSummary } from '../../src/loadtest/report-markdown.ts';
import { runLoadTest, type LoadTestResult } from '../../src/loadtest/index.ts';
import { run } from '../helpers/cli.ts';
import { TEST_SECRET, startTestServer } from '../helpers/server.ts';

// these runs judge delivery through cuts, not the generator: on a loaded CI machine its lag must not
// turn the verdict into 'invalid' (the saturation check has its own tests)
const SATURATION_LAG_MS = 2000;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

function expectExact(r: LoadTestResult): void {
  const t = r.delivery.total;
  expect(t.expected).toBeGreaterThan(0);
  expect({ delivered: t.delivered, missing: t.missing, duplicated: t.duplicated, late: t.late, lost: t.lostInGaps }).toEqual({
    delivered: t.expected,
    missing: 0,
    duplicated: 0,
    late: 0,
    lost: 0,
  });
}

describe('resilience runs', () => {
  it('churn and a storm against the reference server: every connection cut comes back and resumes, nothing missing, nothing twice', async () => {
    const server = await startTestServer();
    // how the server saw each connection end: a cut is a network drop (1006, no close frame)
    let abrupt = 0;
    server.events.on('disconnect', ({ code }) => {
      if (code === 1006) abrupt++;
    });
    const r = await runLoadTest({
      urls: [server.url],
      secret: TEST_SECRET,
      users: 30,
      events: 90,
      rate: 30,
      churn: { percent: 20, intervalMs: 500 },
      storms: [{ percent: 100, atMs: 1500 }],
      seed: 7,
      skipRateLimit: true,
      saturationLagMs: SATURATION_LAG_MS,
      drainTimeoutMs: 8000,
    });
    expectExact(r);
    const x = r.resilience!;
    expect(x.seed).toBe(7);
    // a 100% storm cuts every open connection; churn comes on top
    expect(x.storms[0]!.cut).toBeGreaterThan(0);
    expect(x.stormCuts).toBe(x.storms[0]!.cut);
    expect(x.churnCuts).toBeGreaterThan(0);
    expect(x.cuts).toBe(x.churnCuts + x.stormCuts);
    expect(abrupt).toBe(x.cuts);
    // every cut came back (a cut is a loss the ledger sees as a reconnect) and the storm's all back
    expect(x.reconnectingAtEnd).toBe(0);
    expect(x.gaveUp).toBe(0);
    expect(x.reconnects).toBe(x.cuts);
    expect(x.reconnectMs.count).toBe(x.cuts);
    expect(x.storms[0]!.back).toBe(x.storms[0]!.cut);
    expect(x.storms[0]!.allBackMs).not.toBeNull();
    // events fired while away came back through the replay
    expect(x.replayed).toBeGreaterThan(0);
    expect(x.resumeMs.count).toBeGreaterThan(0);
    // the first replayed event comes after connection_established
    expect(x.resumeMs.min).toBeGreaterThanOrEqual(x.reconnectMs.min);
    // every loss was resumable: no gap the ledger had to excuse
    expect(r.connections.dropped).toBe(0);
    const report = buildLoadReport(r, [parseGate('reconnect_p99<=10s'), parseGate('cuts>=10')]);
    expect(report.checks.find((c) => c.name === 'lost_in_gaps')!.status).toBe('pass');
    expect(report.figures.cuts).toBe(x.cuts);
    expect(report.verdict).toBe('pass');
  });

  it('without resume (a server with no seq): the events fired in each gap are lost while reconnecting, per connection and per event, and fail the run', async () => {
    const server = await startGuideServer({ secret: TEST_SECRET });
    closers.push(() => server.close());
    const r = await runLoadTest({
      urls: [server.url],
      secret: TEST_SECRET,
      users: 30,
      events: 90,
      rate: 30,
      mix: { bug_report: 100 },
      churn: { percent: 20, intervalMs: 500 },
      storms: [{ percent: 100, atMs: 1500 }],
      skipRateLimit: true,
      saturationLagMs: SATURATION_LAG_MS,
      drainTimeoutMs: 5000,
    });
    expect(r.capabilities.resume.status).toBe('unsupported');
    const x = r.resilience!;
    expect(x.cuts).toBeGreaterThan(0);
    expect(x.replayed).toBe(0);
    expect(x.lostInGaps).toBeGreaterThan(0);
    expect(r.delivery.total.lostInGaps).toBe(x.lostInGaps);
    // lost is not missing: what the connections were owed (outside their gaps) all came
    expect(r.delivery.total.missing).toBe(0);
    expect(x.lostInGapsByConnection.length).toBeGreaterThan(0);
    expect(x.lostInGapsByConnection.reduce((s, c) => s + c.count, 0)).toBeLessThanOrEqual(x.lostInGaps);
    expect(x.lostInGapsByConnection[0]!.connection).toMatch(/^u\d+#1$/);
    const report = buildLoadReport(r);
    expect(report.verdict).toBe('fail');
    expect(report.checks.find((c) => c.name === 'lost_in_gaps')!.status).toBe('fail');
    // every view says it, with the first connection named
    const first = x.lostInGapsByConnection[0]!.connection;
    for (const text of [formatHtmlReport(report), formatMarkdownSummary(report)]) {
      expect(text).toMatch(/LOST WHILE RECONNECTING: \d+ events at \d+ connections/);
      expect(text).toContain(first);
    }
    // a gate that allows the losses judges them instead
    const allowed = buildLoadReport(r, [parseGate(`lost_in_gaps<=${x.lostInGaps}`)]);
    expect(allowed.checks.find((c) => c.name === 'lost_in_gaps')!.status).toBe('pass');
    expect(allowed.verdict).toBe('pass');
    const tight = buildLoadReport(r, [parseGate(`lost_in_gaps<=${x.lostInGaps - 1}`)]);
    expect(tight.verdict).toBe('fail');
  });

  it('the CLI: --churn and --storm against a server without resume exits 1 and names the connections that lost events', async () => {
    const server = await startGuideServer({ secret: TEST_SECRET });
    closers.push(() => server.close());
    const { code, out } = await run(
      ['load', '--url', server.url, '--users', '20', '--events', '60', '--rate', '30', '--mix', 'bug_report:100', '--churn', '20%/500ms', '--storm', '100%@1s', '--seed', '3', '--skip-rate-limit', '--drain-timeout', '5s'],
      { BUGZAPP_JWT_SECRET: TEST_SECRET },
    );
    expect(code).toBe(1);
    expect(out).toMatch(/seed 3/);
    expect(out).toMatch(/LOST WHILE RECONNECTING: \d+ events at \d+ connections \(no resume\); first: u\d+#1 \d+/);
    expect(out).toMatch(/lost while reconnecting .*u\d+#1/);
    expect(out).toMatch(/check lost_in_gaps failed/);
  });

  it('a bad --churn or --storm names the flag and exits 2', async () => {
    const churn = await run(['load', '--churn', '5%']);
    expect(churn.code).toBe(2);
    expect(churn.err).toMatch(/--churn/);
    const storm = await run(['load', '--storm', '50%@']);
    expect(storm.code).toBe(2);
    expect(storm.err).toMatch(/--storm/);
  });

  it('--token-ttl: tokens expire mid-run (4001), every connection mints a fresh one and resumes, nothing missing', async () => {
    const server = await startTestServer();
    const r = await runLoadTest({
      urls: [server.url],
      secret: TEST_SECRET,
      users: 10,
      durationMs: 4500,
      rate: 20,
      tokenTtlMs: 2000,
      skipRateLimit: true,
      saturationLagMs: SATURATION_LAG_MS,
      drainTimeoutMs: 8000,
    });
    expectExact(r);
    const x = r.resilience!;
    expect(x.cuts).toBe(0);
    expect(x.tokenRefreshes).toBeGreaterThanOrEqual(10);
    expect(x.tokenRefreshedConnections).toBe(10);
    expect(x.gaveUp).toBe(0);
    expect(buildLoadReport(r).verdict).toBe('pass');
  });
});
