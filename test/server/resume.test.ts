// protocol.md section 6: resume with `since` replays what was missed, then goes live, with no gap and
// no duplicate at the seam, also while events are being fired; "Resume window exceeded" past the history.
import { describe, expect, it } from 'vitest';
import type { ErrorMessage, LoggedEvent, ServerMessage } from '../../src/protocol/index.ts';
import {
  MemoryEventEngine,
  MemoryStore,
  SlidingWindowRateLimiter,
  type EventEngine,
  type PublishedEvent,
  type ReadSinceResult,
  type UnsequencedEvent,
} from '../../src/server/index.ts';
import { waitForClose } from '../helpers/ws.ts';
import { connectClient, rest, startTestServer } from '../helpers/server.ts';

/** The real in-memory engine, with readSince held until the test releases it: a wide replay/live seam. */
class HeldReadEngine implements EventEngine {
  readonly inner = new MemoryEventEngine({ history: 1000 });
  private started!: () => void;
  readonly readStarted = new Promise<void>((r) => (this.started = r));
  release!: () => void;
  private readonly released = new Promise<void>((r) => (this.release = r));

  publish(event: UnsequencedEvent, target: string | null): Promise<PublishedEvent> {
    return this.inner.publish(event, target);
  }
  onEvent(listener: (event: PublishedEvent) => void): void {
    this.inner.onEvent(listener);
  }
  async readSince(since: string, userId: string): Promise<ReadSinceResult> {
    this.started();
    await this.released;
    return this.inner.readSince(since, userId);
  }
  cursor(): Promise<string> {
    return this.inner.cursor();
  }
  compareSeq(a: string, b: string): number {
    return this.inner.compareSeq(a, b);
  }
  isValidSeq(seq: string): boolean {
    return this.inner.isValidSeq(seq);
  }
  isReady(): Promise<boolean> {
    return this.inner.isReady();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const logged = (msgs: ServerMessage[]): LoggedEvent[] =>
  msgs.filter((m): m is LoggedEvent => m.type === 'bug_report' || m.type === 'comment' || m.type === 'notification');
const titleOf = (e: LoggedEvent): string => (e.type === 'bug_report' ? e.payload.title : `${e.type}:${JSON.stringify(e.payload)}`);

describe('resume with since', () => {
  it('replays after since, then live, dropping the live events the replay already held', async () => {
    const engine = new HeldReadEngine();
    const server = await startTestServer({
      backends: { engine, store: new MemoryStore(), rateLimiter: new SlidingWindowRateLimiter(100, 1000), kind: 'memory' },
    });
    const witness = await connectClient(server, 'b');
    const post = (title: string, assignee?: string) =>
      rest(server, 'POST', '/bug-reports/', 'x', { title, ...(assignee ? { assignee_id: assignee } : {}) });
    for (let i = 1; i <= 5; i++) await post(`e${i}`, i === 4 ? 'b' : i === 5 ? 'c' : undefined);
    const seen = logged(await witness.recorder.waitForCount((m) => m.type === 'bug_report', 5));
    const since = seen.find((e) => titleOf(e) === 'e3')!.seq!;

    const resuming = connectClient(server, 'b', { since });
    await engine.readStarted;
    // published while the log read is in flight: queued live AND in the replay
    for (let i = 6; i <= 8; i++) await post(`e${i}`, i === 7 ? 'b' : undefined);
    engine.release();
    const resumed = await resuming;
    for (let i = 9; i <= 10; i++) await post(`e${i}`, 'c');
    await resumed.recorder.waitFor((m) => m.type === 'bug_report' && m.payload.title === 'e10');
    await witness.recorder.waitFor((m) => m.type === 'bug_report' && m.payload.title === 'e10');

    const expected = logged(witness.recorder.messages);
    const cut = expected.findIndex((e) => e.seq === since);
    expect(logged(resumed.recorder.messages).map((e) => e.seq)).toEqual(expected.slice(cut + 1).map((e) => e.seq));
    // user b's notifications were replayed (e4) and delivered live (e7); c's never reach b
    expect(resumed.recorder.ofType('notification')).toHaveLength(2);
    expect(resumed.recorder.messages[0]?.type).toBe('connection_established');
  });

  it('loses nothing and duplicates nothing across a reconnect while events are being fired', async () => {
    const server = await startTestServer({ rateLimit: { max: 1000, windowMs: 1000 } });
    const TOTAL = 150;
    const first = await connectClient(server, 'u');
    let fired = 0;
    // three concurrent senders, so events land in the log while the resume is replaying
    const sender = async (lane: number): Promise<void> => {
      for (let i = lane; i <= TOTAL; i += 3) {
        const r = await rest(server, 'POST', '/bug-reports/', 'x', { title: `t${i}`, ...(i % 10 === 0 ? { assignee_id: 'u' } : {}) });
        if (r.status !== 201) throw new Error(`POST answered ${r.status}`);
        fired++;
      }
    };
    const firing = Promise.all([sender(1), sender(2), sender(3)]);
    await first.recorder.waitForCount((m) => m.type === 'bug_report', 30);
    const closed = waitForClose(first.ws);
    first.ws.terminate();
    await closed;
    const before = logged(first.recorder.messages);
    const since = before[before.length - 1]!.seq!;
    const second = await connectClient(server, 'u', { since });
    await firing;
    expect(fired).toBe(TOTAL);
    await rest(server, 'POST', '/bug-reports/', 'x', { title: 'marker' });
    await second.recorder.waitFor((m) => m.type === 'bug_report' && m.payload.title === 'marker');
    await second.recorder.waitForCount((m) => m.type === 'notification', TOTAL / 10 - before.filter((e) => e.type === 'notification').length);

    const all = [...before, ...logged(second.recorder.messages)];
    const seqs = all.map((e) => e.seq!);
    expect(new Set(seqs).size).toBe(seqs.length);
    for (let i = 1; i < seqs.length; i++) expect(server.backends.engine.compareSeq(seqs[i - 1]!, seqs[i]!)).toBeLessThan(0);
    const titles = all.filter((e) => e.type === 'bug_report').map(titleOf);
    expect(titles.pop()).toBe('marker');
    expect([...titles].sort()).toEqual(Array.from({ length: TOTAL }, (_, i) => `t${i + 1}`).sort());
    expect(all.filter((e) => e.type === 'notification')).toHaveLength(TOTAL / 10);
  });

  it('answers a since older than the history with "Resume window exceeded" and its oldest seq, then goes live', async () => {
    const server = await startTestServer({ history: 3 });
    const witness = await connectClient(server, 'w');
    for (let i = 1; i <= 6; i++) await rest(server, 'POST', '/bug-reports/', 'x', { title: `e${i}` });
    const seen = logged(await witness.recorder.waitForCount((m) => m.type === 'bug_report', 6));
    const late = await connectClient(server, 'w', { since: seen[0]!.seq! });
    const err = await late.recorder.waitFor<ErrorMessage>((m) => m.type === 'error');
    expect(err.payload).toEqual({ message: 'Resume window exceeded', code: 'resume_window_exceeded', oldest: seen[3]!.seq });
    expect(late.recorder.messages.map((m) => m.type)).toEqual(['connection_established', 'error']);
    await rest(server, 'POST', '/bug-reports/', 'x', { title: 'live' });
    await late.recorder.waitFor((m) => m.type === 'bug_report' && m.payload.title === 'live');
    expect(logged(late.recorder.messages)).toHaveLength(1);

    // the log now holds e5, e6, live: the seq of e4 is the oldest since that still replays without a gap
    const ok = await connectClient(server, 'w', { since: seen[3]!.seq! });
    await ok.recorder.waitFor((m) => m.type === 'bug_report' && m.payload.title === 'live');
    expect(logged(ok.recorder.messages).map(titleOf)).toEqual(['e5', 'e6', 'live']);
    expect(ok.recorder.ofType('error')).toHaveLength(0);
  });

  it('answers a malformed since, and one from another server (a restart), as too old', async () => {
    const old = await startTestServer();
    const w = await connectClient(old, 'w');
    await rest(old, 'POST', '/bug-reports/', 'x', { title: 'before restart' });
    const oldSeq = (await w.recorder.waitFor<LoggedEvent>((m) => m.type === 'bug_report')).seq!;
    const server = await startTestServer();
    for (const since of ['garbage', oldSeq]) {
      const c = await connectClient(server, 'w', { since });
      const err = await c.recorder.waitFor<ErrorMessage>((m) => m.type === 'error');
      expect(err.payload.message).toBe('Resume window exceeded');
      expect(server.backends.engine.isValidSeq(err.payload.oldest!)).toBe(true);
    }
  });

  it('replays everything from the cursor of an empty log', async () => {
    const server = await startTestServer();
    const first = await connectClient(server, 'w');
    const cursor = (first.recorder.messages[0] as { payload: { cursor: string } }).payload.cursor;
    await rest(server, 'POST', '/bug-reports/', 'x', { title: 'a' });
    await rest(server, 'POST', '/bug-reports/', 'x', { title: 'b' });
    const again = await connectClient(server, 'w', { since: cursor });
    await again.recorder.waitForCount((m) => m.type === 'bug_report', 2);
    expect(logged(again.recorder.messages).map(titleOf)).toEqual(['a', 'b']);
    expect(again.recorder.ofType('error')).toHaveLength(0);
  });
});
