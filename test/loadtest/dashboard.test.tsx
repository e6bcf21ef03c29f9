// The load dashboard's frames (ink-testing-library) for each phase and each verdict, the terminal
// histogram, and the plain progress lines built from the same state.
import { render } from 'ink-testing-library';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LoadDashboard, progressBar } from '../../src/cli/ui/load-dashboard.tsx';
import { drawBar, histogramRows, LatencyHistogram } from '../../src/cli/ui/load-histogram.tsx';
import { createProgressPrinter, initialLoadState, reduceLoadProgress, withReport, type LoadViewState } from '../../src/cli/ui/load-state.ts';
import { parseGates } from '../../src/loadtest/gates.ts';
import { buildLoadReport } from '../../src/loadtest/report-json.ts';
import type { LoadProgressEvent } from '../../src/loadtest/types.ts';
import { counts, sampleResult } from './result-fixture.ts';

function frame(state: LoadViewState): string {
  const r = render(<LoadDashboard state={state} />);
  onTestFinished(() => r.unmount());
  return r.lastFrame() ?? '';
}

function plain(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

const START = initialLoadState({ connections: 20, events: 40, targets: [], saturationLagMs: 100, scenario: 'smoke' });

function apply(state: LoadViewState, events: LoadProgressEvent[]): LoadViewState {
  return events.reduce(reduceLoadProgress, state);
}

describe('LoadDashboard live frames', () => {
  it('starting: waits for the server, nothing measured yet', () => {
    const f = plain(frame(START));
    expect(f).toContain('bugzapp load');
    expect(f).toContain('(starting the reference server)');
    expect(f).toContain('scenario smoke');
    expect(f).toContain('[starting]');
    expect(f).toMatch(/connections\s+░{24}\s+0\/20/);
    expect(f).toContain('waiting for deliveries…');
    expect(f).toContain('measuring…');
  });

  it('connect: the connections bar fills, the server URL shows', () => {
    const s = apply(START, [
      { kind: 'server', url: 'http://127.0.0.1:40001' },
      { kind: 'phase', phase: 'connect', at: 0 },
      { kind: 'connect', opened: 10, target: 20, errors: 1 },
      { kind: 'generator', eventLoopLagMs: { p50: 1, p99: 3.25, max: 7 }, cpuPercent: 41.6 },
    ]);
    const f = plain(frame(s));
    expect(f).toContain('http://127.0.0.1:40001 (started by bugzapp)');
    expect(f).toContain('[connect]');
    expect(f).toMatch(/connections\s+█{12}░{12}\s+10\/20\s+1 errors/);
    expect(f).toContain('event-loop lag p99 3.25ms (bound 100ms)  CPU 42%');
  });

  it('fire and drain: events, delivered over expected and live percentiles', () => {
    const s = apply(START, [
      { kind: 'phase', phase: 'fire', at: 0 },
      { kind: 'connect', opened: 20, target: 20, errors: 0 },
      { kind: 'fire', fired: 10, target: 40, accepted: 10, restErrors: 0 },
      { kind: 'delivery', delivered: 150, expected: 200, duplicated: 0, misrouted: 0, latency: { p50: 1.5, p90: 3, p99: 12.34, max: 20, count: 150 } },
    ]);
    const f = plain(frame(s));
    expect(f).toContain('[fire]');
    expect(f).toMatch(/events\s+█{6}░{18}\s+10\/40\s+10 accepted, 0 REST errors/);
    expect(f).toMatch(/delivered\s+█{18}░{6}\s+150\/200\s+75\.0%, 0 duplicated, 0 misrouted/);
    expect(f).toContain('p50 1.5ms  p90 3ms  p99 12.3ms  max 20ms  (150 samples)');
    const drain = plain(frame(reduceLoadProgress(s, { kind: 'phase', phase: 'drain', at: 0 })));
    expect(drain).toContain('[drain]');
    expect(drain).not.toContain('[fire]');
  });

  it('rate-limit: shows errors as they come, keeping the newest three', () => {
    const s = apply(START, [
      { kind: 'phase', phase: 'rate-limit', at: 0 },
      ...[1, 2, 3, 4].map((n): LoadProgressEvent => ({ kind: 'error', message: `boom ${n}` })),
      { kind: 'generator', eventLoopLagMs: { p50: 50, p99: 150, max: 300 }, cpuPercent: 99 },
    ]);
    const f = plain(frame(s));
    expect(f).toContain('[rate-limit]');
    expect(f).toMatch(/errors\s+4/);
    expect(f).not.toContain('boom 1');
    expect(f).toContain('boom 4');
    expect(f).toContain('event-loop lag p99 150ms');
  });
});

describe('LoadDashboard final frames', () => {
  it('pass: verdict, per-type delivery, gate table and histogram', () => {
    const report = buildLoadReport(sampleResult(), parseGates(['delivery==100%', 'p99<=50ms']));
    const f = plain(frame(withReport(START, report)));
    expect(f).toContain('[done]');
    expect(f).toContain('verdict PASS  exit 0');
    expect(f).toMatch(/✓ bug_report\s+560\/560 delivered/);
    expect(f).toMatch(/✓ delivery==100%\s+100%\s+pass/);
    expect(f).toMatch(/✓ p99<=50ms\s+12ms\s+pass/);
    expect(f).toContain('push latency (broadcasts and notifications)');
    expect(f).toMatch(/≤ 2ms █{40}\s+400\s+54\.5%/);
    expect(f).toMatch(/delivered\s+█{24}\s+734\/734\s+100%/);
    expect(f).toContain('p99 12ms');
  });

  it('fail: the failing gate and check in red words, with the reasons', () => {
    const report = buildLoadReport(
      sampleResult((r) => {
        r.delivery.byType.notification = counts(14, 14, { delivered: 12, missing: 1, misrouted: 1 });
        r.delivery.total = counts(50, 734, { delivered: 732, missing: 1, misrouted: 1 });
        r.rateLimit.status = 'fail';
      }),
      parseGates(['misrouted==0']),
    );
    const f = plain(frame(withReport(START, report)));
    expect(f).toContain('verdict FAIL  exit 1');
    expect(f).toMatch(/✗ notification\s+12\/14 delivered, 1 missing, 1 misrouted/);
    expect(f).toMatch(/✗ rate limit\s+fail/);
    expect(f).toMatch(/✗ misrouted==0\s+1\s+FAIL/);
    expect(f).toContain('- gate misrouted==0 failed: actual 1');
  });

  it('fail: REST operations never answered are in the verdict', () => {
    const report = buildLoadReport(
      sampleResult((r) => {
        r.throughput.eventsFired = 100;
        r.throughput.restUnanswered = 4;
        r.throughput.restUnansweredOps = [25, 50, 75, 100];
      }),
    );
    const f = plain(frame(withReport(START, report)));
    expect(f).toContain('verdict FAIL  exit 1');
    expect(f).toContain('- check rest failed: 4 of 100 REST operations never answered: #25, #50, #75, #100');
  });

  it('invalid: says the generator saturated and exits 3', () => {
    const report = buildLoadReport(
      sampleResult((r) => {
        r.generator.saturated = true;
        r.generator.eventLoopLagMs.p99 = 180;
      }),
    );
    const f = plain(frame(withReport(START, report)));
    expect(f).toContain('verdict INVALID (the load generator saturated)  exit 3');
    expect(f).toContain('event-loop lag p99 180ms');
  });
});

describe('the terminal histogram', () => {
  it('scales bars to the fullest bucket in eighth blocks and never hides a non-empty bucket', () => {
    const rows = histogramRows(
      [
        { le: 1, count: 1 },
        { le: 2, count: 1000 },
        { le: 5, count: 0 },
        { le: 10, count: 500 },
      ],
      10,
    );
    expect(rows.map((r) => r.label)).toEqual(['≤ 1ms', '≤ 2ms', '≤ 5ms', '≤ 10ms']);
    expect(rows.map((r) => r.bar)).toEqual(['▏', '██████████', '', '█████']);
    expect(rows[1]!.percent).toBeCloseTo((1000 * 100) / 1501, 6);
    expect(drawBar(0.55, 10, true)).toBe('█████▌');
  });

  it('renders rows, or says there are no samples', () => {
    const empty = render(<LatencyHistogram buckets={[]} />);
    onTestFinished(() => empty.unmount());
    expect(plain(empty.lastFrame() ?? '')).toContain('no samples');
    expect(progressBar(0, 0, 4)).toBe('░░░░');
    expect(progressBar(5, 4, 4)).toBe('████');
  });
});

describe('plain progress lines (not a terminal, or --json)', () => {
  it('prints phases, server and errors at once and figures at most once per interval', () => {
    const lines: string[] = [];
    let clock = 0;
    const p = createProgressPrinter((l) => lines.push(l), START, { everyMs: 1000, now: () => clock });
    const tick = (opened: number, delivered: number): void => {
      p.onProgress({ kind: 'connect', opened, target: 20, errors: 0 });
      p.onProgress({ kind: 'fire', fired: 0, target: 40, accepted: 0, restErrors: 0 });
      p.onProgress({ kind: 'delivery', delivered, expected: 100, duplicated: 0, misrouted: 0, latency: { p50: 1, p90: 2, p99: 3, max: 4, count: delivered } });
    };
    p.onProgress({ kind: 'server', url: 'http://127.0.0.1:1234' });
    p.onProgress({ kind: 'phase', phase: 'connect', at: 0 });
    tick(5, 0);
    clock = 250;
    tick(10, 0); // within the interval: held back
    clock = 1000;
    tick(20, 0);
    clock = 1100;
    tick(20, 7); // held back, but flushed when the phase ends
    p.onProgress({ kind: 'phase', phase: 'fire', at: 0 });
    p.onProgress({ kind: 'error', message: 'POST /bug-reports: HTTP 500' });
    expect(lines).toEqual([
      'load: started the reference server at http://127.0.0.1:1234\n',
      'load: phase connect\n',
      'load: [connect] connections 5/20, fired 0/40, delivered 0/100\n',
      'load: [connect] connections 20/20, fired 0/40, delivered 0/100\n',
      'load: [connect] connections 20/20, fired 0/40, delivered 7/100, p99 3ms\n',
      'load: phase fire\n',
      'load: error: POST /bug-reports: HTTP 500\n',
    ]);
    expect(p.state.phase).toBe('fire');
  });

  it('does not repeat a line whose figures did not change (regression: a duplicate at every phase change)', () => {
    const lines: string[] = [];
    let clock = 0;
    const p = createProgressPrinter((l) => lines.push(l), START, { everyMs: 1000, now: () => clock });
    const delivery: LoadProgressEvent = { kind: 'delivery', delivered: 3, expected: 3, duplicated: 0, misrouted: 0, latency: { p50: 1, p90: 1, p99: 1, max: 1, count: 3 } };
    p.onProgress({ kind: 'phase', phase: 'drain', at: 0 });
    p.onProgress(delivery);
    clock = 2000;
    p.onProgress(delivery);
    p.onProgress({ kind: 'phase', phase: 'rate-limit', at: 0 });
    expect(lines).toEqual([
      'load: phase drain\n',
      'load: [drain] connections 0/20, fired 0/40, delivered 3/3, p99 1ms\n',
      'load: phase rate-limit\n',
    ]);
  });
});
