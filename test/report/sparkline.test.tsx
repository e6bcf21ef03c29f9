// The dashboard's last minute: the sparkline drawing, the state that keeps 60 seconds, and the frame.
import { render } from 'ink-testing-library';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LoadDashboard } from '../../src/cli/ui/load-dashboard.tsx';
import { initialLoadState, KEEP_SECONDS, reduceLoadProgress } from '../../src/cli/ui/load-state.ts';
import { sparkline } from '../../src/cli/ui/sparkline.tsx';
import type { LoadProgressEvent } from '../../src/loadtest/types.ts';

const START = initialLoadState({ connections: 4, events: 8, targets: ['http://127.0.0.1:1'], saturationLagMs: 100 });

describe('sparkline', () => {
  it('scales from zero to the largest value, one cell per value, null as a gap', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([10, null, 5, 0])).toBe('█ ▅▁');
    expect(sparkline([0, 0])).toBe('▁▁');
    expect(sparkline([])).toBe('');
  });
});

describe('the dashboard over the last minute', () => {
  const second = (deliveriesPerSec: number, p99Ms: number | null): LoadProgressEvent => ({ kind: 'second', deliveriesPerSec, p50Ms: p99Ms, p99Ms });

  it('keeps the newest 60 seconds, oldest first', () => {
    let s = START;
    for (let i = 1; i <= KEEP_SECONDS + 5; i++) s = reduceLoadProgress(s, second(i, i / 10));
    expect(s.seconds).toHaveLength(KEEP_SECONDS);
    expect(s.seconds[0]!.deliveriesPerSec).toBe(6);
    expect(s.seconds.at(-1)).toEqual({ deliveriesPerSec: KEEP_SECONDS + 5, p99Ms: 6.5 });
  });

  it('draws deliveries/s and p99 as sparklines with the newest figure, nothing before the first second', () => {
    const before = render(<LoadDashboard state={START} />);
    onTestFinished(() => before.unmount());
    expect(before.lastFrame()).not.toMatch(/deliveries\s+[▁▂▃▄▅▆▇█]/);
    expect(before.lastFrame()).not.toContain('p99 (1s)');
    const s = [second(100, 2), second(400, 8), second(0, null), second(200, 4)].reduce(reduceLoadProgress, START);
    const r = render(<LoadDashboard state={s} />);
    onTestFinished(() => r.unmount());
    const frame = (r.lastFrame() ?? '').replace(/\u001b\[[0-9;]*m/g, '');
    expect(frame).toMatch(/deliveries\s+▃█▁▅ 200\/s/);
    expect(frame).toMatch(/p99 \(1s\)\s+▃█ ▅ 4ms/);
  });
});
