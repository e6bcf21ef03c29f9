// Slow readers end to end (--slow): a share of the connections stop reading their socket from the start of
// the fire phase. Against a spawned `bugzapp serve` with a small slow-consumer limit each is closed with
// 4008, reconnects and resumes with nothing missing or twice, and their latency is reported apart from the
// others'. Loopback's kernel buffers take about 4 MB before the server's own buffer grows, so the runs pad
// their events (--event-bytes) to get there within seconds.
import { describe, expect, it } from 'vitest';
import type { LoadReport } from '../../src/loadtest/report-json.ts';
import { runLoadTest } from '../../src/loadtest/index.ts';
import { spawnCli } from '../client/cli-harness.ts';
import { run } from '../helpers/cli.ts';
import { TEST_SECRET, startTestServer } from '../helpers/server.ts';

const EXIT_WAIT_MS = 90_000;

/** `bugzapp serve` as its own process (the built CLI); resolves with its URL once it listens. */
async function spawnServe(args: string[]): Promise<string> {
  const serve = spawnCli(['serve', '--port', '0', '--log-level', 'warn', ...args], { BUGZAPP_JWT_SECRET: TEST_SECRET });
  const listening = (): RegExpExecArray | null => {
    for (const line of serve.lines) {
      const m = /^bugzapp listening on (http:\/\/\S+)$/.exec(line);
      if (m) return m;
    }
    return null;
  };
  await serve.until(() => listening() !== null, 'bugzapp serve listening', 20_000);
  return listening()![1]!;
}

/** `bugzapp load ...args` as its own process; resolves with its exit code and stdout. */
async function spawnLoad(args: string[]): Promise<{ code: number | string; out: string; err: string }> {
  const load = spawnCli(['load', ...args], { BUGZAPP_JWT_SECRET: TEST_SECRET });
  const code = await load.exit(EXIT_WAIT_MS);
  return { code, out: load.lines.join('\n'), err: load.stderr() };
}

describe('slow readers (--slow)', () => {
  // without a duration they read again when firing ends; with 11s, well after the server closed them (about
  // 4 MB in, some 4 s into the 8 s of firing) and past its 2 s close grace: still told 4008, not cut (1006)
  it.each([
    ['10%', null],
    ['10%:11s', 11_000],
  ])('--slow %s against bugzapp serve: the paused connections are closed with 4008, resume with nothing lost, and their p99 is reported apart', async (slowFlag, durationMs) => {
    const url = await spawnServe(['--slow-consumer-limit', '64kb']);
    const { code, out, err } = await spawnLoad([
      '--url', url, '--users', '20', '--events', '320', '--rate', '40', '--mix', 'bug_report:80,comment:20',
      '--slow', slowFlag, '--event-bytes', '32kb', '--seed', '5', '--skip-rate-limit', '--drain-timeout', '15s', '--json',
      '--gate', 'slow_consumer_closes>0', '--gate', 'slow_not_closed==0',
    ]);
    const r = JSON.parse(out) as LoadReport;
    expect({ code, verdict: r.verdict, reasons: r.reasons }, err).toEqual({ code: 0, verdict: 'pass', reasons: [] });
    const slow = r.resilience!.slow!;
    // 10% of 20, every one closed by the server with 4008 and back
    expect(slow).toMatchObject({ percent: 10, durationMs, paused: 2, closed4008: 2, closedOther: 0, notClosed: 0, back: 2 });
    // (not asserted: that no other connection was closed, which a loaded machine's generator may earn, nor
    // that the resume replayed something: the kernel took 4 to 9 MB here, so a close may come with the last event)
    expect(r.resilience!.slowConsumerCloses).toBeGreaterThanOrEqual(2);
    // nothing missing, nothing twice, nothing lost while reconnecting
    const t = r.delivery.total;
    expect(t.expected).toBeGreaterThan(0);
    expect({ delivered: t.delivered, missing: t.missing, duplicated: t.duplicated, late: t.late, lost: t.lostInGaps }).toEqual({
      delivered: t.expected, missing: 0, duplicated: 0, late: 0, lost: 0,
    });
    // every receipt in exactly one latency row: the paused connections' apart from the others'
    const l = r.latency;
    expect(l.slow!.count).toBeGreaterThan(0);
    expect(l.broadcast.count + l.notification.count + l.slow!.count).toBe(t.delivered);
    // a paused connection's first receipts waited for the server to give up on it
    expect(l.slow!.max).toBeGreaterThan(l.broadcast.max);
    expect(r.figures.slow_p99).toBe(l.slow!.p99);
    expect(r.gates.map((g) => g.pass)).toEqual([true, true]);
  });

  it('--slow P%:DURATION: paused for the duration, then read on; a server that never acts leaves them open, nothing lost', async () => {
    // small events and the default limit: the kernel's buffers hold all of it, the server never trips
    const server = await startTestServer();
    const pausedSeen = new Set<number>();
    const r = await runLoadTest({
      urls: [server.url],
      secret: TEST_SECRET,
      users: 20,
      events: 60,
      rate: 30,
      slow: { percent: 10, durationMs: 1500 },
      seed: 3,
      skipRateLimit: true,
      saturationLagMs: 2000,
      drainTimeoutMs: 8000,
      progressIntervalMs: 50,
    }, { onProgress: (e) => e.kind === 'churn' && e.paused !== undefined && pausedSeen.add(e.paused) });
    // the live view saw them not reading, then reading again
    expect([...pausedSeen]).toContain(2);
    expect([...pausedSeen]).toContain(0);
    expect(r.resilience!.slow).toMatchObject({ percent: 10, durationMs: 1500, paused: 2, closed4008: 0, closedOther: 0, notClosed: 2, back: 0 });
    const t = r.delivery.total;
    expect({ delivered: t.delivered, missing: t.missing, duplicated: t.duplicated }).toEqual({ delivered: t.expected, missing: 0, duplicated: 0 });
    // what was fired as the pause began waited for its end
    expect(r.latency.slow!.max).toBeGreaterThanOrEqual(1400);
    expect(r.latency.broadcast.count + r.latency.notification.count + r.latency.slow!.count).toBe(t.delivered);
  });

  it('--slow with a storm: paused connections the storm cuts are counted as cut, not as closed by the server', async () => {
    const server = await startTestServer();
    const r = await runLoadTest({
      urls: [server.url],
      secret: TEST_SECRET,
      users: 10,
      events: 40,
      rate: 20,
      slow: { percent: 20, durationMs: 3000 },
      storms: [{ percent: 100, atMs: 500 }],
      seed: 4,
      skipRateLimit: true,
      saturationLagMs: 2000,
      drainTimeoutMs: 8000,
    });
    expect(r.resilience!.slow).toMatchObject({ paused: 2, cut: 2, closed4008: 0, closedOther: 0, notClosed: 0, back: 0 });
    expect(r.resilience!.stormCuts).toBe(10);
    const t = r.delivery.total;
    expect({ delivered: t.delivered, missing: t.missing, duplicated: t.duplicated }).toEqual({ delivered: t.expected, missing: 0, duplicated: 0 });
  });

  it('a bad --slow or --event-bytes names the flag and exits 2', async () => {
    for (const [flag, value] of [
      ['--slow', '5'],
      ['--slow', '0%'],
      ['--slow', '2%:soon'],
      ['--event-bytes', 'huge'],
      ['--event-bytes', '1mb'],
    ] as const) {
      const res = await run(['load', flag, value]);
      expect(res.code, `${flag} ${value}`).toBe(2);
      expect(res.err).toContain(flag);
    }
  });
});
