// The dashboard during a run with churn or storms: connections reconnecting now, live, and the cuts so far.
import { render } from 'ink-testing-library';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LoadDashboard } from '../../src/cli/ui/load-dashboard.tsx';
import { formatProgressLine, initialLoadState, reduceLoadProgress, type LoadViewState } from '../../src/cli/ui/load-state.ts';

function frame(state: LoadViewState): string {
  const r = render(<LoadDashboard state={state} />);
  onTestFinished(() => r.unmount());
  return (r.lastFrame() ?? '').replace(/\u001b\[[0-9;]*m/g, '');
}

describe('LoadDashboard with cuts', () => {
  it('shows the connections reconnecting now, the cuts and the reconnects, and nothing of it in a calm run', () => {
    const start = initialLoadState({ connections: 200, events: 300, targets: ['http://127.0.0.1:1'], saturationLagMs: 100 });
    expect(frame(start)).not.toContain('reconnecting');
    const storm = reduceLoadProgress(start, { kind: 'churn', cuts: 120, reconnecting: 100, reconnects: 20 });
    expect(frame(storm)).toMatch(/reconnecting 100 now, 120 cut, 20 reconnects/);
    const back = reduceLoadProgress(storm, { kind: 'churn', cuts: 120, reconnecting: 0, reconnects: 120 });
    expect(frame(back)).toMatch(/reconnecting 0 now, 120 cut, 120 reconnects/);
    // the plain progress line on stderr says it too
    expect(formatProgressLine(storm)).toContain('100 reconnecting (120 cut)');
    expect(formatProgressLine(start)).not.toContain('reconnecting');
  });

  it('with --slow, the connections not reading now', () => {
    const start = initialLoadState({ connections: 200, events: 300, targets: ['http://127.0.0.1:1'], saturationLagMs: 100 });
    const paused = reduceLoadProgress(start, { kind: 'churn', cuts: 0, reconnecting: 0, reconnects: 0, paused: 4 });
    expect(frame(paused)).toMatch(/reconnecting 0 now, 0 cut, 0 reconnects, 4 not reading \(--slow\)/);
    expect(formatProgressLine(paused)).toContain('0 reconnecting (0 cut, 4 paused)');
    const storm = reduceLoadProgress(start, { kind: 'churn', cuts: 120, reconnecting: 100, reconnects: 20 });
    expect(frame(storm)).not.toContain('not reading');
  });
});
