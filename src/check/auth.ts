// Section 2: every bad token of `bugzapp token` is refused, on the WebSocket handshake and on REST.
import { ErrorText, type TokenFlavour } from '../protocol/index.ts';
import { brief, type CheckContext } from './context.ts';
import type { CheckCase, CaseVerdict } from './types.ts';
import { fail, judge } from './verdict.ts';

async function wsRefusal(ctx: CheckContext, token: string | null, detail: string): Promise<CaseVerdict> {
  const expected = `HTTP 403 {"detail":"${detail}"} before the upgrade`;
  const h = await ctx.open(token);
  if (h.kind === 'open') {
    const first = await h.conn.waitFor(() => true, 1000);
    const closed = await h.conn.waitClosed(first ? 0 : 1000);
    return fail(expected, `upgraded (101)${first ? `, then ${brief(first, 80)}` : ''}${closed ? `, closed ${closed.code}` : ''}`);
  }
  if (h.kind === 'failed') return fail(expected, `handshake failed: ${h.error}`);
  const d = (h.body as { detail?: unknown } | undefined)?.detail;
  return judge(h.status === 403 && d === detail, expected, `HTTP ${h.status} ${h.text ? brief(h.text, 100) : 'with no body'}`);
}

const badToken = (id: string, title: string, flavour: TokenFlavour): CheckCase => ({
  id,
  section: '2',
  title,
  run: async (ctx) => wsRefusal(ctx, await ctx.token(ctx.user('auth'), { flavour }), ErrorText.InvalidToken),
});

async function restRefusal(ctx: CheckContext, token: string | undefined): Promise<CaseVerdict> {
  const expected = '401 {"detail": ...}, nothing created';
  const r = await ctx.http('POST', '/bug-reports/', { ...(token ? { token } : {}), body: { title: ctx.title('unauthenticated') } });
  const d = (r.json as { detail?: unknown } | undefined)?.detail;
  return judge(r.status === 401 && d !== undefined, expected, `POST /bug-reports/ answered ${r.status} ${brief(r.text, 100)}`);
}

export const authCases: CheckCase[] = [
  {
    id: 'auth.no-token',
    section: '2',
    title: 'a handshake without a token is refused with 403 "Not authenticated"',
    run: (ctx) => wsRefusal(ctx, null, ErrorText.NotAuthenticated),
  },
  badToken('auth.bad-signature', 'a token signed with another secret is refused', 'bad-signature'),
  badToken('auth.alg-none', 'an unsigned token (alg none) is refused', 'alg-none'),
  badToken('auth.expired-token', 'an expired token is refused', 'expired'),
  badToken('auth.no-sub', 'a token without sub is refused', 'no-sub'),
  badToken('auth.no-exp', 'a token that never expires (no exp) is refused', 'no-exp'),
  {
    id: 'auth.malformed-token',
    section: '2',
    title: 'a token that is not a JWT is refused',
    run: (ctx) => wsRefusal(ctx, 'not-a-jwt', ErrorText.InvalidToken),
  },
  {
    id: 'auth.valid-token',
    section: '2',
    title: 'a valid token opens the WebSocket',
    run: async (ctx) => {
      const h = await ctx.openAs(ctx.user('auth'));
      return judge(h.kind === 'open', 'HTTP 101 upgrade', h.kind === 'open' ? '101 upgrade' : h.kind === 'refused' ? `HTTP ${h.status} ${brief(h.text, 80)}` : h.error);
    },
  },
  {
    id: 'auth.rest-no-token',
    section: '2',
    title: 'a REST change without a token is refused with 401',
    run: (ctx) => restRefusal(ctx, undefined),
  },
  {
    id: 'auth.rest-bad-token',
    section: '2',
    title: 'a REST change with a bad or expired token is refused with 401',
    run: async (ctx) => {
      const bad = await restRefusal(ctx, await ctx.token(ctx.user('rest'), { flavour: 'bad-signature' }));
      if (bad.outcome !== 'pass') return { ...bad, observed: `bad signature: ${bad.observed}` };
      const expired = await restRefusal(ctx, await ctx.token(ctx.user('rest'), { flavour: 'expired' }));
      return { ...expired, observed: `bad signature: 401; expired: ${expired.observed}` };
    },
  },
];
