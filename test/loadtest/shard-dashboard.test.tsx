// The dashboard of one shard of a sharded run: its own progress, and the whole run's totals from the
// coordinator on a line of their own (and in the plain progress line on stderr).
import { render } from 'ink-testing-library';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LoadDashboard } from '../../src/cli/ui/load-dashboard.tsx';
import { formatProgressLine, initialLoadState, reduceLoadProgress, type LoadViewState } from '../../src/cli/ui/load-state.ts';

function frame(state: LoadViewState): string {
  const r = render(<LoadDashboard state={state} />);
  onTestFinished(() => r.unmount());
  return (r.lastFrame() ?? '').replace(/\u001b\[[0-9;]*m/g, '');
}

describe('LoadDashboard of a shard', () => {
  it("shows the shard's own bars and the whole run's totals, and no run line on one process", () => {
    const start = initialLoadState({ connections: 10, events: 10, targets: ['http://127.0.0.1:1'], saturationLagMs: 100 });
    expect(frame(start)).not.toContain('whole run');
    let s = reduceLoadProgress(start, { kind: 'connect', opened: 10, target: 10, errors: 0 });
    s = reduceLoadProgress(s, { kind: 'fire', fired: 4, target: 10, accepted: 4, restErrors: 0 });
    s = reduceLoadProgress(s, {
      kind: 'run',
      shard: 2,
      shards: 3,
      shardsConnected: 3,
      shardsDone: 1,
      opened: 30,
      fired: 17,
      target: 30,
      delivered: 450,
      expected: 500,
    });
    const f = frame(s);
    expect(f).toMatch(/whole run\s+shard 2\/3 · 3\/3 shards connected · 1\/3 done firing\n\s+30 connections · fired 17\/30 · delivered 450\/500 \(90\.0%\)\n/);
    // this shard's own figures stay in the bars
    expect(f).toMatch(/connections .* 10\/10/);
    expect(formatProgressLine(s)).toContain('run (shard 2/3: 3/3 shards connected, 30 connections, fired 17/30, delivered 450/500, 1/3 shards done)');
    expect(formatProgressLine(start)).not.toContain('run (');
  });
});
