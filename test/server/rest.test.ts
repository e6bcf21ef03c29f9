// protocol.md section 7: the REST endpoints, their 422/404 shapes, trailing slashes, and the events each pushes.
import { describe, expect, it } from 'vitest';
import type { BugReport, BugReportEvent, Comment, CommentEvent, NotificationEvent } from '../../src/protocol/index.ts';
import { BugzappError } from '../../src/errors.ts';
import { MemoryEventEngine, MemoryStore, SlidingWindowRateLimiter, type UnsequencedEvent } from '../../src/server/index.ts';
import { connectClient, metricValue, rest, startTestServer } from '../helpers/server.ts';

/** The real in-memory engine with a switch that makes the log unreachable, as a Redis outage does. */
class SwitchableEngine extends MemoryEventEngine {
  down = false;
  override publish(event: UnsequencedEvent, target: string | null) {
    if (this.down) return Promise.reject(new BugzappError('ERR_BACKEND_UNAVAILABLE', 'event log unreachable'));
    return super.publish(event, target);
  }
  override isReady() {
    return Promise.resolve(!this.down);
  }
}


/** Publishes a bug report after everything before it and waits until each connection has it. */
async function barrier(server: Parameters<typeof rest>[0], ...conns: Awaited<ReturnType<typeof connectClient>>[]): Promise<void> {
  expect((await rest(server, 'POST', '/bug-reports/', 'barrier', { title: 'barrier' })).status).toBe(201);
  for (const c of conns) await c.recorder.waitFor((m) => m.type === 'bug_report' && m.payload.title === 'barrier');
}

describe('bug reports', () => {
  it('creates, lists, reads, patches and deletes, with and without the trailing slash', async () => {
    const server = await startTestServer();
    const created = await rest(server, 'POST', '/bug-reports', 'u1', { title: 'Crash on save', severity: 'high' });
    expect(created.status).toBe(201);
    const bug = created.body as BugReport;
    expect(bug).toMatchObject({
      id: 1,
      title: 'Crash on save',
      description: '',
      severity: 'high',
      status: 'open',
      assignee_id: null,
      reporter_id: 'u1',
    });
    expect(Date.parse(bug.created_at)).not.toBeNaN();
    expect((await rest(server, 'POST', '/bug-reports/', 'u1', { title: 'second' })).status).toBe(201);
    for (const path of ['/bug-reports', '/bug-reports/']) {
      const list = await rest(server, 'GET', path, 'u1');
      expect(list.status).toBe(200);
      expect((list.body as BugReport[]).map((b) => b.id)).toEqual([1, 2]);
    }
    for (const path of ['/bug-reports/1', '/bug-reports/1/']) {
      expect((await rest(server, 'GET', path, 'u1')).body).toEqual(bug);
    }
    const patched = await rest(server, 'PATCH', '/bug-reports/1/', 'u1', { status: 'resolved', assignee_id: 7 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: 1, status: 'resolved', assignee_id: '7', title: 'Crash on save' });
    expect((await rest(server, 'DELETE', '/bug-reports/1', 'u1')).status).toBe(204);
    expect((await rest(server, 'GET', '/bug-reports/1', 'u1')).status).toBe(404);
  });

  it('answers unknown ids with 404 and non-integer ids with a FastAPI 422', async () => {
    const server = await startTestServer();
    for (const [method, path, body] of [
      ['GET', '/bug-reports/99', undefined],
      ['PATCH', '/bug-reports/99', { title: 'x' }],
      ['DELETE', '/bug-reports/99/', undefined],
      ['POST', '/bug-reports/99/comments/', { body: 'hi' }],
    ] as const) {
      const r = await rest(server, method, path, 'u', body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body).toHaveProperty('detail');
    }
    const r = await rest(server, 'GET', '/bug-reports/abc', 'u');
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ detail: [{ loc: ['path', 'bug_id'], type: 'int_parsing' }] });
    expect((await rest(server, 'GET', '/nowhere', 'u')).status).toBe(404);
  });

  it('answers bad bodies with 422 and a FastAPI-style detail, and pushes nothing', async () => {
    const server = await startTestServer();
    const { recorder } = await connectClient(server, 'watcher');
    const cases: [string, unknown, string, (string | number)[]][] = [
      ['POST', {}, 'missing', ['body', 'title']],
      ['POST', { title: '' }, 'string_too_short', ['body', 'title']],
      ['POST', { title: 'x'.repeat(201) }, 'string_too_long', ['body', 'title']],
      ['POST', { title: 'x', severity: 'urgent' }, 'enum', ['body', 'severity']],
      ['POST', [1], 'model_attributes_type', ['body']],
      ['POST', '{"title": ', 'json_invalid', ['body', 0]],
      ['POST', undefined, 'missing', ['body']],
      ['PATCH', undefined, 'missing', ['body']],
    ];
    await rest(server, 'POST', '/bug-reports/', 'u', { title: 'target of the PATCH cases' });
    for (const [method, body, type, loc] of cases) {
      const r = await rest(server, method, method === 'PATCH' ? '/bug-reports/1' : '/bug-reports/', 'u', body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body).toMatchObject({ detail: [{ type, loc }] });
      expect(typeof (r.body as { detail: { msg: unknown }[] }).detail[0]!.msg).toBe('string');
    }
    const patch = await rest(server, 'PATCH', '/bug-reports/1', 'u', { status: 'done' });
    expect(patch.status).toBe(422);
    expect(patch.body).toMatchObject({ detail: [{ type: 'enum', loc: ['body', 'status'] }] });
    const comment = await rest(server, 'POST', '/bug-reports/1/comments', 'u', { body: '' });
    expect(comment.status).toBe(422);
    // sent last, so that an event pushed by any bad request before it would be seen first
    const updated = await rest(server, 'PATCH', '/bug-reports/1', 'u', { title: 'ok' });
    // the only events are the valid creation and the valid update
    await recorder.waitFor((m) => m.type === 'bug_report' && m.action === 'updated');
    expect(updated.status).toBe(200);
    expect(recorder.messages.map((m) => (m.type === 'bug_report' ? `${m.type}:${m.action}` : m.type))).toEqual([
      'connection_established',
      'bug_report:created',
      'bug_report:updated',
    ]);
  });
});

describe('events pushed by REST', () => {
  it('pushes created/updated/deleted to all, a notification to the assignee on create and to a new assignee on PATCH', async () => {
    const server = await startTestServer();
    const reporter = await connectClient(server, 'r');
    const first = await connectClient(server, 'first');
    const second = await connectClient(server, 'second');
    const bug = (await rest(server, 'POST', '/bug-reports/', 'r', { title: 'Leak', assignee_id: 'first' })).body as BugReport;
    await rest(server, 'PATCH', `/bug-reports/${bug.id}`, 'r', { severity: 'low' }); // same assignee: no notification
    await rest(server, 'PATCH', `/bug-reports/${bug.id}`, 'r', { assignee_id: 'second' });
    expect((await rest(server, 'DELETE', `/bug-reports/${bug.id}`, 'r')).status).toBe(204);
    for (const c of [reporter, first, second]) {
      await c.recorder.waitFor((m) => m.type === 'bug_report' && m.action === 'deleted');
      const actions = c.recorder.ofType('bug_report').map((e: BugReportEvent) => e.action);
      expect(actions).toEqual(['created', 'updated', 'updated', 'deleted']);
      const deleted = c.recorder.ofType('bug_report')[3]!;
      expect(deleted.payload).toMatchObject({ id: bug.id, assignee_id: 'second' });
    }
    expect(first.recorder.ofType('notification').map((n: NotificationEvent) => n.payload)).toEqual([
      { message: 'New bug report assigned: Leak', bug_report_id: bug.id },
    ]);
    // barrier: published after everything above, so any notification that reached them came before it
    await barrier(server, reporter, second);
    expect(second.recorder.ofType('notification')).toHaveLength(1);
    expect(reporter.recorder.ofType('notification')).toHaveLength(0);
    // every pushed event carries a seq, increasing in log order
    const seqs = first.recorder.messages.flatMap((m) => ('seq' in m && m.seq ? [m.seq] : []));
    for (let i = 1; i < seqs.length; i++) expect(server.backends.engine.compareSeq(seqs[i - 1]!, seqs[i]!)).toBeLessThan(0);
  });

  it('pushes comment created to all and notifies the assignee unless they wrote it', async () => {
    const server = await startTestServer();
    const assignee = await connectClient(server, 'a');
    const other = await connectClient(server, 'o');
    const bug = (await rest(server, 'POST', '/bug-reports/', 'o', { title: 'T', assignee_id: 'a' })).body as BugReport;
    const mine = await rest(server, 'POST', `/bug-reports/${bug.id}/comments/`, 'a', { body: 'on it' });
    expect(mine.status).toBe(201);
    expect(mine.body).toMatchObject({ id: 1, bug_report_id: bug.id, author_id: 'a', body: 'on it' } satisfies Partial<Comment>);
    const theirs = await rest(server, 'POST', `/bug-reports/${bug.id}/comments`, 'o', { body: 'thanks' });
    expect(theirs.status).toBe(201);
    for (const c of [assignee, other]) {
      const comments = await c.recorder.waitForCount((m) => m.type === 'comment', 2);
      expect(comments.map((m) => (m as CommentEvent).payload.body)).toEqual(['on it', 'thanks']);
    }
    // assignment, then the notification for the comment by 'o'; none for the comment by 'a' themself
    await assignee.recorder.waitForCount(() => true, 6);
    expect(assignee.recorder.messages.map((m) => m.type)).toEqual([
      'connection_established',
      'bug_report',
      'notification',
      'comment',
      'comment',
      'notification',
    ]);
    // barrier: published after everything above, so any notification that reached them came before it
    await barrier(server, assignee, other);
    expect(assignee.recorder.ofType('notification')).toHaveLength(2);
    expect(other.recorder.ofType('notification')).toHaveLength(0);
  });
});

describe('backing services down', () => {
  it('answers a POST with 503 and a clear detail when the log cannot be written, and /readyz with 503', async () => {
    const engine = new SwitchableEngine();
    const server = await startTestServer({
      backends: { engine, store: new MemoryStore(), rateLimiter: new SlidingWindowRateLimiter(10, 1000), kind: 'memory' },
    });
    const watcher = await connectClient(server, 'w');
    engine.down = true;
    const r = await rest(server, 'POST', '/bug-reports/', 'u', { title: 'lost?' });
    expect(r.status).toBe(503);
    expect((r.body as { detail: string }).detail).toMatch(/unavailable/i);
    expect((await rest(server, 'GET', '/readyz', null)).status).toBe(503);
    expect((await rest(server, 'GET', '/healthz', null)).status).toBe(200);
    engine.down = false;
    expect((await rest(server, 'GET', '/readyz', null)).status).toBe(200);
    expect((await rest(server, 'POST', '/bug-reports/', 'u', { title: 'back' })).status).toBe(201);
    await watcher.recorder.waitFor((m) => m.type === 'bug_report');
    expect(watcher.recorder.ofType('bug_report').map((e) => e.payload.title)).toEqual(['back']);
  });
});

describe('a change whose event cannot be published', () => {
  /** The real in-memory engine refusing the event types in `refuse`, as an outage between two calls does. */
  class RefusingEngine extends MemoryEventEngine {
    refuse = new Set<string>();
    override publish(event: UnsequencedEvent, target: string | null) {
      if (this.refuse.has(event.type)) return Promise.reject(new BugzappError('ERR_BACKEND_UNAVAILABLE', 'event log unreachable'));
      return super.publish(event, target);
    }
  }

  async function setup() {
    const engine = new RefusingEngine();
    const server = await startTestServer({
      backends: { engine, store: new MemoryStore(), rateLimiter: new SlidingWindowRateLimiter(10, 1000), kind: 'memory' },
    });
    return { engine, server };
  }

  it('is reverted: a 503 leaves the store as it was (create, update, delete, comment)', async () => {
    const { engine, server } = await setup();
    const kept = (await rest(server, 'POST', '/bug-reports/', 'u', { title: 'kept', assignee_id: '9' })).body as BugReport;
    const comment = (await rest(server, 'POST', `/bug-reports/${kept.id}/comments/`, 'u', { body: 'first' })).status;
    expect(comment).toBe(201);
    engine.refuse.add('bug_report').add('comment');

    const created = await rest(server, 'POST', '/bug-reports/', 'u', { title: 'half done?' });
    expect(created.status).toBe(503);
    expect((created.body as { detail: string }).detail).toMatch(/nothing was changed/);
    const patched = await rest(server, 'PATCH', `/bug-reports/${kept.id}`, 'u', { status: 'closed', title: 'renamed' });
    expect(patched.status).toBe(503);
    const commented = await rest(server, 'POST', `/bug-reports/${kept.id}/comments/`, 'u', { body: 'second' });
    expect(commented.status).toBe(503);
    const deleted = await rest(server, 'DELETE', `/bug-reports/${kept.id}`, 'u');
    expect(deleted.status).toBe(503);

    expect((await rest(server, 'GET', '/bug-reports/', 'u')).body).toEqual([kept]);
    expect(await metricValue(server, 'rest_unpublished_changes_total', { outcome: 'reverted' })).toBe(4);

    // once the log is back, the report is live again, as it was
    engine.refuse.clear();
    expect((await rest(server, 'POST', `/bug-reports/${kept.id}/comments/`, 'u', { body: 'third' })).status).toBe(201);
    const watcher = await connectClient(server, '9');
    expect((await rest(server, 'DELETE', `/bug-reports/${kept.id}`, 'u')).status).toBe(204);
    const event = await watcher.recorder.waitFor<BugReportEvent>((m) => m.type === 'bug_report' && m.action === 'deleted');
    expect(event.payload).toEqual(kept);
  });

  it('is not reverted when only its follow-up notification fails: 201, the broadcast went out, the loss is counted', async () => {
    const { engine, server } = await setup();
    const watcher = await connectClient(server, '42');
    engine.refuse.add('notification');
    const r = await rest(server, 'POST', '/bug-reports/', 'u', { title: 'assigned', assignee_id: '42' });
    expect(r.status).toBe(201);
    await watcher.recorder.waitFor((m) => m.type === 'bug_report');
    expect((await rest(server, 'GET', `/bug-reports/${(r.body as BugReport).id}`, 'u')).status).toBe(200);
    expect(await metricValue(server, 'rest_unpublished_changes_total', { outcome: 'notification_lost' })).toBe(1);
  });

  it('is kept, and the 503 says so, when the store cannot revert it', async () => {
    const engine = new RefusingEngine();
    const store = new MemoryStore();
    // a store without revert (what a store written before the seam had)
    const plain = {
      createBugReport: store.createBugReport.bind(store),
      listBugReports: store.listBugReports.bind(store),
      getBugReport: store.getBugReport.bind(store),
      updateBugReport: store.updateBugReport.bind(store),
      deleteBugReport: store.deleteBugReport.bind(store),
      createComment: store.createComment.bind(store),
      close: store.close.bind(store),
    };
    const server = await startTestServer({
      backends: { engine, store: plain, rateLimiter: new SlidingWindowRateLimiter(10, 1000), kind: 'memory' },
    });
    engine.refuse.add('bug_report');
    const r = await rest(server, 'POST', '/bug-reports/', 'u', { title: 'stuck' });
    expect(r.status).toBe(503);
    expect((r.body as { detail: string }).detail).toMatch(/stored but not published/);
    expect(await metricValue(server, 'rest_unpublished_changes_total', { outcome: 'kept' })).toBe(1);
  });
});

describe('MemoryStore.revert', () => {
  it('never clobbers a later change to the same record', async () => {
    const store = new MemoryStore();
    const bug = await store.createBugReport({ title: 'a' }, 'u');
    const first = (await store.updateBugReport(bug.id, { title: 'b' }))!;
    const second = (await store.updateBugReport(bug.id, { title: 'c' }))!;
    expect(await store.revert({ kind: 'bug_report_updated', ...first })).toBe(false);
    expect(await store.revert({ kind: 'bug_report_created', bug })).toBe(false);
    expect((await store.getBugReport(bug.id))!.title).toBe('c');
    expect(await store.revert({ kind: 'bug_report_updated', ...second })).toBe(true);
    expect((await store.getBugReport(bug.id))!.title).toBe('b');
    const comment = (await store.createComment(bug.id, 'hi', 'u'))!;
    expect(await store.revert({ kind: 'bug_report_created', bug: (await store.getBugReport(bug.id))! })).toBe(false);
    expect(await store.revert({ kind: 'comment_created', comment })).toBe(true);
    expect(await store.revert({ kind: 'comment_created', comment })).toBe(false);
  });
});
