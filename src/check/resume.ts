// Section 6: resume. A reconnect with `since` replays what the user missed, in order, then goes live
// with no gap and no duplicate; a `since` the server cannot serve is answered "Resume window exceeded"
// with `oldest`, which is itself a `since` the server accepts.
import { ErrorCode, ErrorText, type ServerMessage } from '../protocol/index.ts';
import { brief, seqOf, type CheckContext } from './context.ts';
import type { WireConn } from './wire.ts';
import type { CheckCase, CaseVerdict } from './types.ts';
import { fail, judge, unsupported } from './verdict.ts';

const titleOf = (m: ServerMessage): string | undefined => (m.type === 'bug_report' && m.action === 'created' ? m.payload.title : undefined);
const isWindowExceeded = (m: ServerMessage): boolean => m.type === 'error' && m.payload.message === ErrorText.ResumeWindowExceeded;
const isErrorMsg = (m: ServerMessage): boolean => m.type === 'error';

/** The cursor of a fresh connection, or why resume cannot be checked. */
async function cursorOf(ctx: CheckContext, conn: WireConn): Promise<string | undefined> {
  const first = conn.messages[0];
  return first?.type === 'connection_established' ? first.payload?.cursor : undefined;
}

/** Fires a broadcast and waits for it on `conn`: once it is there, everything sent before it is too. */
async function fence(ctx: CheckContext, user: string, conn: WireConn): Promise<boolean> {
  const title = ctx.title('fence');
  await ctx.createReport(user, { title });
  return (await conn.waitFor((m) => titleOf(m) === title, ctx.waitMs)) !== undefined;
}

/** The cursor with its last decimal field pushed far ahead: a seq the server has not issued yet. */
export function futureSeq(cursor: string): string | undefined {
  const m = /^(.*?)(\d+)(\D*)$/.exec(cursor);
  if (!m) return undefined;
  return `${m[1]}${(BigInt(m[2]!) + 1_000_000_000n).toString()}${m[3]}`;
}

async function refusedSince(ctx: CheckContext, since: (cursor: string) => string | undefined, what: string): Promise<CaseVerdict> {
  const user = ctx.user('resume');
  const first = await ctx.connect(user);
  const cursor = await cursorOf(ctx, first);
  const expected = `${what}: error {message: "${ErrorText.ResumeWindowExceeded}", code: "${ErrorCode.ResumeWindowExceeded}", oldest}, then live events`;
  if (cursor === undefined) return unsupported(expected, 'no cursor in connection_established: no resume');
  const s = since(cursor);
  if (s === undefined) return unsupported(expected, `cannot derive such a since from the cursor ${brief(cursor)}`);
  const conn = await ctx.connect(user, { since: s });
  const err = await conn.waitFor(isErrorMsg, ctx.waitMs);
  const live = await fence(ctx, user, conn);
  if (err?.type !== 'error') return fail(expected, `since=${brief(s, 40)}: no error${live ? ', live events flow' : ''}`);
  const ok = isWindowExceeded(err) && err.payload.code === ErrorCode.ResumeWindowExceeded && typeof err.payload.oldest === 'string' && live;
  return judge(ok, expected, `since=${brief(s, 40)}: ${brief(err.payload, 100)}${live ? ', then live events' : ', no live event after'}`);
}

export const resumeCases: CheckCase[] = [
  {
    id: 'resume.replay',
    section: '6',
    title: 'a reconnect with since=cursor replays the missed events in order, the user\'s notifications and no one else\'s',
    run: async (ctx) => {
      const [ua, ub] = [ctx.user('resume'), ctx.user('other')];
      const conn = await ctx.connect(ua);
      const cursor = await cursorOf(ctx, conn);
      const expected = 'three missed broadcasts and the user\'s own notification, in order, once each; no other user\'s notification';
      if (cursor === undefined) return unsupported(expected, 'no cursor in connection_established: no resume');
      await conn.close();
      const titles = [ctx.title('missed 1'), ctx.title('missed 2'), ctx.title('missed 3')];
      for (const t of titles) await ctx.createReport(ub, { title: t });
      const mine = await ctx.createReport(ub, { title: ctx.title('mine'), assignee_id: ua });
      const theirs = await ctx.createReport(ua, { title: ctx.title('theirs'), assignee_id: ub });
      const back = await ctx.connect(ua, { since: cursor });
      const live = await fence(ctx, ua, back);
      const ours = back.messages.filter((m) => titles.includes(titleOf(m) ?? '') || (m.type === 'notification' && (m.payload.bug_report_id === mine.id || m.payload.bug_report_id === theirs.id)));
      const got = ours.map((m) => (m.type === 'notification' ? `notification ${m.payload.bug_report_id === mine.id ? 'mine' : 'theirs'}` : `missed ${titles.indexOf(titleOf(m)!) + 1}`));
      const want = ['missed 1', 'missed 2', 'missed 3', 'notification mine'];
      const errors = back.messages.filter(isErrorMsg);
      return judge(live && errors.length === 0 && got.join() === want.join(), expected, `replayed: ${got.join(', ') || 'nothing'}${errors.length ? `; error ${brief(errors[0])}` : ''}`);
    },
  },
  {
    id: 'resume.live',
    section: '6',
    title: 'a reconnect while events are fired loses none and duplicates none',
    timeoutMs: 20_000,
    run: async (ctx) => {
      const user = ctx.user('resume');
      const first = await ctx.connect(user);
      const expected = '20 events fired across a reconnect with since=<last seq received>: each received exactly once, in order';
      if ((await cursorOf(ctx, first)) === undefined) return unsupported(expected, 'no cursor in connection_established: no resume');
      const titles = Array.from({ length: 20 }, (_, i) => ctx.title(`live ${i + 1}`));
      let second: WireConn | undefined;
      let cutAfter = 0;
      for (let i = 0; i < titles.length; i++) {
        await ctx.createReport(user, { title: titles[i]! });
        if (i === 9) {
          // cut mid-stream: resume from whatever the first connection saw last
          await first.waitFor((m) => titleOf(m) === titles[5], ctx.waitMs);
          await first.close();
          const last = [...first.messages].reverse().find((m) => seqOf(m) !== undefined);
          cutAfter = first.messages.filter((m) => titles.includes(titleOf(m) ?? '')).length;
          if (!last) return fail(expected, 'the first connection received no event with a seq');
          second = await ctx.connect(user, { since: seqOf(last)! });
        }
      }
      await second!.waitFor((m) => titleOf(m) === titles[titles.length - 1], ctx.waitMs);
      const seen = [...first.messages, ...second!.messages].map(titleOf).filter((t): t is string => t !== undefined && titles.includes(t));
      const dups = seen.length - new Set(seen).size;
      const missing = titles.filter((t) => !seen.includes(t)).length;
      const inOrder = seen.every((t, i) => i === 0 || titles.indexOf(t) > titles.indexOf(seen[i - 1]!));
      return judge(dups === 0 && missing === 0 && inOrder, expected, `${cutAfter} before the cut, ${seen.length - cutAfter} after; ${missing} missing, ${dups} duplicated${inOrder ? '' : ', out of order'}`);
    },
  },
  {
    id: 'resume.since-malformed',
    section: '6',
    title: 'a malformed since is answered "Resume window exceeded" with oldest, then live events',
    run: (ctx) => refusedSince(ctx, () => 'not-a-seq!', 'since=not-a-seq!'),
  },
  {
    id: 'resume.since-future',
    section: '6',
    title: 'a since the server never issued is answered "Resume window exceeded"',
    run: (ctx) => refusedSince(ctx, futureSeq, 'a since past the newest seq'),
  },
  {
    id: 'resume.oldest-valid',
    section: '6',
    title: 'the oldest of a refusal is a since the server accepts',
    run: async (ctx) => {
      const user = ctx.user('resume');
      const expected = 'a reconnect with since=<oldest> gets no error and live events';
      if ((await cursorOf(ctx, await ctx.connect(user))) === undefined) return unsupported(expected, 'no cursor in connection_established: no resume');
      const first = await ctx.connect(user, { since: 'not-a-seq!' });
      const err = await first.waitFor(isErrorMsg, ctx.waitMs);
      const oldest = err?.type === 'error' ? err.payload.oldest : undefined;
      if (oldest === undefined) return fail(expected, `no oldest in ${brief(err ?? 'no error')}`);
      const again = await ctx.connect(user, { since: oldest });
      const live = await fence(ctx, user, again);
      const errors = again.messages.filter(isErrorMsg);
      return judge(live && errors.length === 0, expected, `since=${brief(oldest, 40)}: ${errors.length ? brief(errors[0]) : 'no error'}${live ? ', live events flow' : ', no live event'}`);
    },
  },
];
