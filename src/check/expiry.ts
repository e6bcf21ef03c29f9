// Section 2: a token that expires while its WebSocket is open ends the connection with 4001.
import { CloseCode } from '../protocol/index.ts';
import { brief } from './context.ts';
import type { CheckCase } from './types.ts';
import { fail, judge } from './verdict.ts';

const TTL_SECONDS = 2;

export const expiryCases: CheckCase[] = [
  {
    id: 'auth.token-expiry-close',
    section: '2',
    title: 'a connection whose token expires is closed with 4001',
    timeoutMs: 15_000,
    run: async (ctx) => {
      const expected = `close 4001 once exp passes (token valid for ${TTL_SECONDS} s)`;
      const h = await ctx.open(await ctx.token(ctx.user('expiry'), { ttlSeconds: TTL_SECONDS }));
      if (h.kind !== 'open') return fail(expected, h.kind === 'refused' ? `HTTP ${h.status} ${brief(h.text, 80)}` : h.error);
      const started = performance.now();
      const closed = await h.conn.waitClosed(TTL_SECONDS * 1000 + 5000);
      const after = Math.round(performance.now() - started);
      if (!closed) return fail(expected, `still open ${after} ms after connecting`);
      return judge(closed.code === CloseCode.TokenExpired, expected, `closed ${closed.code} "${closed.reason}" after ${after} ms`);
    },
  },
];
