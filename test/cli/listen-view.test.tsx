// The Ink view of `bugzapp listen`: one frame per connection state, events, counts and delays.
import { render } from 'ink-testing-library';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  initialListenState,
  withClientState,
  withConnected,
  withEvent,
  withResume,
  withServerError,
  type ListenState,
} from '../../src/cli/ui/listen-state.ts';
import { ListenView } from '../../src/cli/ui/listen-view.tsx';
import { ClientError } from '../../src/errors.ts';
import type { BugReport, LoggedEvent } from '../../src/protocol/index.ts';

function frame(state: ListenState): string {
  const r = render(<ListenView state={state} />);
  onTestFinished(() => r.unmount());
  return r.lastFrame() ?? '';
}

const base = initialListenState('ws://127.0.0.1:8000/ws', '42');
const T0 = Date.parse('2026-11-26T10:00:00.000Z');

const report: BugReport = {
  id: 7,
  title: 'Crash on login',
  description: '',
  severity: 'high',
  status: 'open',
  assignee_id: '42',
  reporter_id: 'reporter-1',
  created_at: '2026-11-26T10:00:00.000Z',
  updated_at: '2026-11-26T10:00:00.000Z',
};

describe('ListenView', () => {
  it('connecting', () => {
    const f = frame(withClientState(base, { state: 'connecting', attempt: 0 }));
    expect(f).toContain('bugzapp listen');
    expect(f).toContain('user 42');
    expect(f).toContain('● connecting');
    expect(f).toContain('waiting for events');
  });

  it('live', () => {
    const f = frame(withConnected(base, { connectionId: 'c-1', userId: '42' }));
    expect(f).toContain('live as user 42 (c-1)');
    expect(f).toContain('connections 1');
  });

  it('reconnecting in 4 s (try 2/5)', () => {
    const live = withConnected(base, { connectionId: 'c-1', userId: '42' });
    const f = frame(withClientState(live, { state: 'reconnecting', attempt: 2, max: 5, delayMs: 4000, reason: 'abnormal closure (1006)' }));
    expect(f).toContain('reconnecting in 4 s (try 2/5)');
    expect(f).toContain('abnormal closure');
  });

  it('reconnecting forever shows ∞ and short delays in ms', () => {
    const f = frame(withClientState(base, { state: 'reconnecting', attempt: 3, max: 0, delayMs: 250, reason: 'x' }));
    expect(f).toContain('reconnecting in 250 ms (try 3/∞)');
  });

  it('resumed with 3 missed events', () => {
    const f = frame(withResume(withConnected(base, { connectionId: 'c-2', userId: '42' }), { kind: 'resumed', replayed: 3 }));
    expect(f).toContain('resumed with 3 missed events');
    expect(f).toContain('live as user 42');
  });

  it('resume unsupported, and resume window exceeded', () => {
    expect(frame(withResume(base, { kind: 'unsupported' }))).toContain('resume unsupported by this server');
    const f = frame(withResume(base, { kind: 'window-exceeded', oldest: 'abcd-17' }));
    expect(f).toContain('resume window exceeded');
    expect(f).toContain('abcd-17');
  });

  it('closed with the error that stopped it', () => {
    const err = new ClientError('ERR_RETRIES_EXHAUSTED', 'gave up after 5 retries; last: connect ECONNREFUSED');
    const f = frame(withClientState(base, { state: 'closed', error: err }));
    expect(f).toContain('stopped: gave up after 5 retries');
  });

  it('lists events with time, type, action, summary and delay, counts per type, keeps only the newest', () => {
    let s = withConnected({ ...base, keep: 3 }, { connectionId: 'c-1', userId: '42' });
    const events: LoggedEvent[] = [
      { type: 'bug_report', action: 'created', payload: report, seq: 'e-1' },
      { type: 'notification', payload: { message: 'New bug report assigned: Crash on login', bug_report_id: 7 }, seq: 'e-2' },
      {
        type: 'comment',
        action: 'created',
        payload: { id: 1, bug_report_id: 7, author_id: 'dev-7', body: 'Cannot reproduce\non 1.2.3', created_at: '2026-11-26T10:00:01.000Z' },
        seq: 'e-3',
      },
      { type: 'bug_report', action: 'updated', payload: { ...report, status: 'resolved', updated_at: '2026-11-26T10:00:02.000Z' }, seq: 'e-4' },
    ];
    events.forEach((e, i) => (s = withEvent(s, e, T0 + 1000 * i + 250)));
    s = withServerError(s, 'Rate limit exceeded');
    const f = frame(s);
    // the oldest of 4 scrolled out (keep 3)
    expect(f).not.toContain('10:00:00.250');
    expect(f).toContain('10:00:01.250 notification');
    expect(f).toContain('New bug report assigned: Crash on login');
    expect(f).toMatch(/10:00:02\.250 comment\s+created\s+#7 dev-7: Cannot reproduce on 1\.2\.3 \+1\.3s/);
    expect(f).toMatch(/bug_report\s+updated\s+#7 \[high\/resolved\] Crash on login → 42 \+1\.3s/);
    expect(f).toContain('bug_report 2');
    expect(f).toContain('comment 1');
    expect(f).toContain('notification 1');
    expect(f).toContain('total 4');
    expect(f).toContain('server error: Rate limit exceeded');
  });
});

describe('bugzapp listen in a terminal (in-process, Ink)', () => {
  it('renders the live view, then exits 0 on the abort signal', async () => {
    const { EventEmitter } = await import('node:events');
    const { runCli } = await import('../../src/cli/index.ts');
    const { startTestServer, TEST_SECRET } = await import('../helpers/server.ts');
    const { createRestClient } = await import('../../src/client/index.ts');
    const { mintTokenSync } = await import('../../src/protocol/index.ts');
    const server = await startTestServer();
    let out = '';
    let frames = 0;
    const tty = Object.assign(new EventEmitter(), {
      isTTY: true,
      columns: 120,
      rows: 40,
      write(s: string) {
        out += s;
        frames++;
        tty.emit('wrote');
        return true;
      },
    });
    const untilOut = (check: () => boolean, what: string) =>
      new Promise<void>((resolve, reject) => {
        if (check()) return resolve();
        const timer = setTimeout(() => reject(new Error(`no ${what} in: ${out.slice(-2000)}`)), 10_000);
        const on = () => {
          if (!check()) return;
          clearTimeout(timer);
          tty.off('wrote', on);
          resolve();
        };
        tty.on('wrote', on);
      });
    const controller = new AbortController();
    const io = { stdout: tty, stderr: { write: () => true }, env: {}, signal: controller.signal, exitCode: 0 };
    const done = runCli(['listen', '--user', '42', '--url', server.url, '--secret', TEST_SECRET], io);
    await untilOut(() => out.includes('live as user 42'), 'live state');
    const rest = createRestClient({ url: server.url, tokenProvider: () => mintTokenSync({ userId: 'r', secret: TEST_SECRET }) });
    onTestFinished(() => rest.close());
    await rest.createBugReport({ title: 'Shown in the view', assignee_id: '42' });
    await untilOut(() => out.includes('notification 1'), 'the notification count');
    expect(out).toContain('Shown in the view');
    expect(out).not.toContain('{"type"'); // no NDJSON in terminal mode
    expect(frames).toBeGreaterThan(1);
    controller.abort();
    expect(await done).toBe(0);
  });
});
