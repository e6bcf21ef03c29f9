// Section 5: the rate limit, checked at exactly the limit the server advertises (or the protocol's
// default when it advertises none): a burst above it on one user passes exactly `max` and refuses the
// rest; the limit is per user across connections; other users are unaffected; the connection stays.
// The bursts go out in one tick, as the load tester's probe (src/loadtest/rate-limit.ts) sends them.
import { setTimeout as delay } from 'node:timers/promises';
import { ErrorText, type ServerMessage } from '../protocol/index.ts';
import type { CheckContext } from './context.ts';
import type { WireConn } from './wire.ts';
import type { CheckCase, CaseVerdict } from './types.ts';
import { judge } from './verdict.ts';

interface Burst {
  sent: number;
  pongs: number;
  limited: number;
  other: number;
}

/** Sends `n` pings at once on `conn`; resolves when each is answered (or after `ms`). */
function burst(conn: WireConn, n: number, ms: number): Promise<Burst> {
  const r: Burst = { sent: 0, pongs: 0, limited: 0, other: 0 };
  const start = conn.messages.length;
  const count = (): boolean => {
    r.pongs = r.limited = r.other = 0;
    for (const m of conn.messages.slice(start)) tally(r, m);
    return r.pongs + r.limited + r.other >= r.sent;
  };
  for (let i = 0; i < n && conn.isOpen(); i++) {
    conn.ws.send('{"type":"ping"}');
    r.sent++;
  }
  return conn.waitFor(() => count(), ms).then(() => (count(), r));
}

function tally(r: Burst, m: ServerMessage): void {
  if (m.type === 'pong') r.pongs++;
  else if (m.type === 'error') {
    if (m.payload.message === ErrorText.RateLimitExceeded) r.limited++;
    else r.other++;
  }
}

interface Limit {
  max: number;
  windowMs: number;
  text: string;
}

async function limitOf(ctx: CheckContext): Promise<Limit> {
  const rl = (await ctx.run.advertised(ctx))?.rate_limit;
  if (rl && Number.isInteger(rl.max) && rl.max > 0 && rl.window_ms > 0) {
    return { max: rl.max, windowMs: rl.window_ms, text: `${rl.max} per ${rl.window_ms} ms` };
  }
  return { max: 10, windowMs: 1000, text: '10 per 1000 ms (the protocol default: none advertised)' };
}

/**
 * Run `attempt` on a fresh window until its bursts fit in one window: a burst whose answers took
 * longer than the window may have straddled two, and then proves nothing either way.
 */
async function inOneWindow<T>(ctx: CheckContext, limit: Limit, attempt: () => Promise<T>): Promise<T> {
  let result!: T;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    result = await attempt();
    if (performance.now() - t0 < limit.windowMs) break;
    await delay(limit.windowMs + 50, undefined, { signal: ctx.signal });
  }
  return result;
}

const extra = (max: number): number => Math.min(1000, Math.max(3, Math.ceil(max / 2)));
const describe = (b: Burst): string =>
  `${b.pongs} answered, ${b.limited} refused "Rate limit exceeded"${b.other ? `, ${b.other} other errors` : ''}${b.sent - b.pongs - b.limited - b.other > 0 ? `, ${b.sent - b.pongs - b.limited - b.other} unanswered` : ''}`;

export const rateLimitCases: CheckCase[] = [
  {
    id: 'ratelimit.exact',
    section: '5',
    title: 'exactly the advertised max passes per window; the rest is refused',
    run: async (ctx): Promise<CaseVerdict> => {
      const limit = await limitOf(ctx);
      const conn = await ctx.connect(ctx.user('rl'));
      const n = limit.max + extra(limit.max);
      const b = await inOneWindow(ctx, limit, () => burst(conn, n, ctx.waitMs));
      return judge(b.pongs === limit.max && b.limited === n - limit.max, `${limit.text}: of ${n} pings at once, ${limit.max} answered, ${n - limit.max} refused`, `${n} sent: ${describe(b)}`);
    },
  },
  {
    id: 'ratelimit.per-user',
    section: '5',
    title: 'the limit is per user across all that user\'s connections',
    run: async (ctx) => {
      const limit = await limitOf(ctx);
      const user = ctx.user('rl');
      const [c1, c2] = await Promise.all([ctx.connect(user), ctx.connect(user)]);
      const n1 = limit.max;
      const n2 = extra(limit.max);
      const [b1, b2] = await inOneWindow(ctx, limit, () => Promise.all([burst(c1, n1, ctx.waitMs), burst(c2, n2, ctx.waitMs)]));
      const pongs = b1.pongs + b2.pongs;
      return judge(pongs === limit.max, `${limit.text}: ${n1} + ${n2} pings on two connections of one user, ${limit.max} answered together`, `first connection ${describe(b1)}; second ${describe(b2)}`);
    },
  },
  {
    id: 'ratelimit.other-users',
    section: '5',
    title: 'one user at the limit does not limit another',
    run: async (ctx) => {
      const limit = await limitOf(ctx);
      const [ca, cb] = await Promise.all([ctx.connect(ctx.user('rl')), ctx.connect(ctx.user('rl'))]);
      const nb = Math.min(3, limit.max);
      const [, b] = await inOneWindow(ctx, limit, () => Promise.all([burst(ca, limit.max + extra(limit.max), ctx.waitMs), burst(cb, nb, ctx.waitMs)]));
      return judge(b.pongs === nb, `${limit.text}: another user's ${nb} pings in the same window all answered`, `other user: ${describe(b)}`);
    },
  },
  {
    id: 'ratelimit.stays-open',
    section: '5',
    title: 'a refused connection stays open and is served again after the window',
    timeoutMs: 20_000,
    run: async (ctx) => {
      const limit = await limitOf(ctx);
      const conn = await ctx.connect(ctx.user('rl'));
      const b = await burst(conn, limit.max + extra(limit.max), ctx.waitMs);
      const expected = `${limit.text}: after refusals the connection is open and, ${limit.windowMs} ms later, a ping is answered`;
      if (b.limited === 0) return judge(false, expected, `nothing refused: ${describe(b)}`);
      await delay(limit.windowMs + 100, undefined, { signal: ctx.signal });
      const again = await burst(conn, 1, ctx.waitMs);
      return judge(conn.isOpen() && again.pongs === 1, expected, `${describe(b)}; after the window: ${conn.isOpen() ? describe(again) : `closed ${conn.closeInfo?.code}`}`);
    },
  },
];
