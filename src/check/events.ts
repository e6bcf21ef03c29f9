// Section 4: routing of server events. Broadcasts reach every connection, a notification every
// connection of its one user and no one else; each event carries its seq.
import { assignmentNotificationText, type ServerMessage } from '../protocol/index.ts';
import { brief, isBugCreated, seqOf, type CheckContext } from './context.ts';
import { bugReportProblems } from './shapes.ts';
import type { CheckCase } from './types.ts';
import { fail, judge, pass, unsupported } from './verdict.ts';

const isNotificationFor = (id: number) => (m: ServerMessage) => m.type === 'notification' && m.payload.bug_report_id === id;
const isBugEvent = (action: string, id: number) => (m: ServerMessage) =>
  m.type === 'bug_report' && m.action === action && m.payload.id === id;

export const eventCases: CheckCase[] = [
  {
    id: 'events.broadcast',
    section: '4',
    title: 'a bug_report created reaches every connection of every user',
    run: async (ctx) => {
      const [ua, ub] = [ctx.user('a'), ctx.user('b')];
      const conns = await Promise.all([ctx.connect(ua), ctx.connect(ua), ctx.connect(ub)]);
      const title = ctx.title('broadcast');
      await ctx.createReport(ua, { title });
      const got = await Promise.all(conns.map((c) => c.waitFor(isBugCreated(title), ctx.waitMs)));
      const n = got.filter(Boolean).length;
      return judge(n === 3, 'bug_report created on all 3 connections (2 of the poster, 1 of another user)', `received on ${n} of 3`);
    },
  },
  {
    id: 'events.notification',
    section: '4',
    title: 'a notification reaches every connection of its user, with bug_report_id and message',
    run: async (ctx) => {
      const [ua, ub] = [ctx.user('a'), ctx.user('b')];
      const conns = await Promise.all([ctx.connect(ub), ctx.connect(ub)]);
      const title = ctx.title('assigned');
      const bug = await ctx.createReport(ua, { title, assignee_id: ub });
      const got = await Promise.all(conns.map((c) => c.waitFor(isNotificationFor(bug.id), ctx.waitMs)));
      const text = assignmentNotificationText(title);
      const ok = got.every((m) => m?.type === 'notification' && m.payload.message === text);
      return judge(ok, `notification {message: "${text.slice(0, 40)}…", bug_report_id: ${bug.id}} on both of the assignee's connections`, `${got.filter(Boolean).length} of 2 received; ${brief(got[0]?.type === 'notification' ? got[0].payload : 'none', 100)}`);
    },
  },
  {
    id: 'events.notification-private',
    section: '4',
    title: 'a notification never reaches another user',
    run: async (ctx) => {
      const [ua, ub] = [ctx.user('a'), ctx.user('b')];
      const [other, assignee] = await Promise.all([ctx.connect(ua), ctx.connect(ub)]);
      const bug = await ctx.createReport(ua, { title: ctx.title('private'), assignee_id: ub });
      const delivered = await assignee.waitFor(isNotificationFor(bug.id), ctx.waitMs);
      // a broadcast after it is the fence: once it arrived, anything sent before it has too
      const fence = ctx.title('fence');
      await ctx.createReport(ua, { title: fence });
      const fenced = await other.waitFor(isBugCreated(fence), ctx.waitMs);
      if (!delivered || !fenced) return fail('the assignee gets it, the other user does not', `assignee got it: ${Boolean(delivered)}; later broadcast seen by the other user: ${Boolean(fenced)}`);
      const leaked = other.messages.filter(isNotificationFor(bug.id)).length;
      return judge(leaked === 0, 'no notification for the assignee on another user\'s connection', leaked ? `${leaked} leaked to user ${ua}` : 'none leaked');
    },
  },
  {
    id: 'events.update',
    section: '4',
    title: 'PATCH broadcasts bug_report updated with the new state',
    run: async (ctx) => {
      const ua = ctx.user('a');
      const absent = await ctx.methodAbsent('PATCH', ua);
      if (absent) return unsupported('bug_report updated with status in_progress', absent);
      const conn = await ctx.connect(ua);
      const bug = await ctx.createReport(ua, { title: ctx.title('update') });
      const r = await ctx.http('PATCH', `/bug-reports/${bug.id}`, { token: await ctx.token(ua), body: { status: 'in_progress' } });
      if (r.status === 404 || r.status === 405) return unsupported('bug_report updated with status in_progress', `PATCH answered ${r.status}`);
      const m = await conn.waitFor(isBugEvent('updated', bug.id), ctx.waitMs);
      const ok = m?.type === 'bug_report' && m.payload.status === 'in_progress';
      return judge(ok, 'bug_report updated with status in_progress', m ? brief(m, 120) : `PATCH answered ${r.status}, no event`);
    },
  },
  {
    id: 'events.delete',
    section: '4',
    title: 'DELETE broadcasts bug_report deleted with the last state',
    run: async (ctx) => {
      const ua = ctx.user('a');
      const absent = await ctx.methodAbsent('DELETE', ua);
      if (absent) return unsupported('bug_report deleted with the last state', absent);
      const conn = await ctx.connect(ua);
      const title = ctx.title('delete');
      const bug = await ctx.createReport(ua, { title });
      const r = await ctx.http('DELETE', `/bug-reports/${bug.id}`, { token: await ctx.token(ua) });
      if (r.status === 404 || r.status === 405) return unsupported('bug_report deleted with the last state', `DELETE answered ${r.status}`);
      const m = await conn.waitFor(isBugEvent('deleted', bug.id), ctx.waitMs);
      const ok = m?.type === 'bug_report' && m.payload.title === title;
      return judge(ok, 'bug_report deleted, payload the last state', m ? brief(m, 120) : `DELETE answered ${r.status}, no event`);
    },
  },
  {
    id: 'events.comment',
    section: '4',
    title: 'a comment is broadcast, and notifies the assignee unless they wrote it',
    run: async (ctx) => {
      const [ua, ub] = [ctx.user('a'), ctx.user('b')];
      const [ca, cb] = await Promise.all([ctx.connect(ua), ctx.connect(ub)]);
      const bug = await ctx.createReport(ua, { title: ctx.title('comment'), assignee_id: ub });
      await cb.waitFor(isNotificationFor(bug.id), ctx.waitMs);
      const body = ctx.title('comment body');
      const r = await ctx.http('POST', `/bug-reports/${bug.id}/comments/`, { token: await ctx.token(ua), body: { body } });
      const isComment = (m: ServerMessage): boolean => m.type === 'comment' && m.action === 'created' && m.payload.body === body;
      const [seenA, seenB] = await Promise.all([ca.waitFor(isComment, ctx.waitMs), cb.waitFor(isComment, ctx.waitMs)]);
      const notified = await cb.waitFor((m) => isNotificationFor(bug.id)(m) && cb.messages.filter(isNotificationFor(bug.id)).length >= 2, ctx.waitMs);
      const ok = Boolean(seenA && seenB && notified);
      return judge(ok, 'comment created on both users\' connections; a notification to the assignee', `POST answered ${r.status}; comment seen by author ${Boolean(seenA)}, by assignee ${Boolean(seenB)}; assignee notified ${Boolean(notified)}`);
    },
  },
  {
    id: 'events.seq',
    section: '4',
    title: 'every event carries a string seq, the same on every connection, new per event',
    run: async (ctx) => {
      const [ua, ub] = [ctx.user('a'), ctx.user('b')];
      const [ca, cb] = await Promise.all([ctx.connect(ua), ctx.connect(ub)]);
      const [t1, t2] = [ctx.title('seq one'), ctx.title('seq two')];
      await ctx.createReport(ua, { title: t1 });
      await ctx.createReport(ua, { title: t2 });
      const [a1, b1, a2] = await Promise.all([ca.waitFor(isBugCreated(t1), ctx.waitMs), cb.waitFor(isBugCreated(t1), ctx.waitMs), ca.waitFor(isBugCreated(t2), ctx.waitMs)]);
      const expected = 'seq a string; equal on both connections for one event; different for the next';
      if (!a1 || !b1 || !a2) return fail(expected, 'events did not arrive');
      const [s1, s1b, s2] = [seqOf(a1), seqOf(b1), seqOf(a2)];
      if (s1 === undefined && !('seq' in a1)) return unsupported(expected, 'events carry no seq');
      return judge(s1 !== undefined && s1 === s1b && s2 !== undefined && s2 !== s1, expected, `one: ${brief(s1)} / ${brief(s1b)}, two: ${brief(s2)}`);
    },
  },
  {
    id: 'events.payload',
    section: '4',
    title: 'an event\'s payload is the BugReport of section 7',
    run: async (ctx) => {
      const ua = ctx.user('a');
      const conn = await ctx.connect(ua);
      const title = ctx.title('payload');
      await ctx.createReport(ua, { title });
      const m = await conn.waitFor(isBugCreated(title), ctx.waitMs);
      if (!m) return fail('a BugReport payload', 'no event');
      const problems = bugReportProblems(m.type === 'bug_report' ? m.payload : undefined);
      return judge(problems.length === 0, 'a BugReport payload', problems.length ? problems.join('; ') : 'all fields present and typed');
    },
  },
];
