// Section 3: connection_established comes first, and what its payload carries.
import { type ConnectionEstablished } from '../protocol/index.ts';
import { brief, type CheckContext } from './context.ts';
import type { CheckCase, CaseVerdict } from './types.ts';
import { fail, judge, pass, unsupported } from './verdict.ts';

type Payload = NonNullable<ConnectionEstablished['payload']>;

/** The payload of a fresh connection's first message, or a failing verdict. */
async function established(ctx: CheckContext, userId = ctx.user('conn')): Promise<{ payload: Payload; raw: string } | CaseVerdict> {
  const conn = await ctx.connect(userId);
  const first = conn.messages[0];
  if (first?.type !== 'connection_established') {
    return fail('connection_established before anything else', `first message: ${brief(first ?? conn.invalid[0] ?? 'none', 100)}`);
  }
  return { payload: first.payload ?? {}, raw: brief(first.payload ?? {}, 120) };
}

const isVerdict = (v: unknown): v is CaseVerdict => typeof v === 'object' && v !== null && 'outcome' in v;
const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export const connectionCases: CheckCase[] = [
  {
    id: 'connection.established-first',
    section: '3',
    title: 'connection_established is the first message',
    run: async (ctx) => {
      const e = await established(ctx);
      return isVerdict(e) ? e : pass('connection_established before anything else', `first: connection_established ${e.raw}`);
    },
  },
  {
    id: 'connection.user-id',
    section: '3',
    title: 'payload.user_id is the token\'s sub, as a string',
    run: async (ctx) => {
      const user = ctx.user('conn');
      const e = await established(ctx, user);
      if (isVerdict(e)) return e;
      const expected = `user_id "${user}"`;
      if (e.payload.user_id === undefined) return unsupported(expected, 'no user_id in connection_established');
      return judge(e.payload.user_id === user, expected, `user_id ${brief(e.payload.user_id)}`);
    },
  },
  {
    id: 'connection.connection-id',
    section: '3',
    title: 'payload.connection_id differs between connections',
    run: async (ctx) => {
      const user = ctx.user('conn');
      const [a, b] = await Promise.all([established(ctx, user), established(ctx, user)]);
      if (isVerdict(a)) return a;
      if (isVerdict(b)) return b;
      const expected = 'a connection_id string, another one for the second connection of the same user';
      if (a.payload.connection_id === undefined) return unsupported(expected, 'no connection_id in connection_established');
      const ok = typeof a.payload.connection_id === 'string' && a.payload.connection_id !== b.payload.connection_id;
      return judge(ok, expected, `${brief(a.payload.connection_id)} and ${brief(b.payload.connection_id)}`);
    },
  },
  {
    id: 'connection.server-time',
    section: '3',
    title: 'payload.server_time is an ISO-8601 UTC time',
    run: async (ctx) => {
      const e = await established(ctx);
      if (isVerdict(e)) return e;
      const expected = 'server_time like 2026-01-01T00:00:00.000Z';
      const t = e.payload.server_time;
      if (t === undefined) return unsupported(expected, 'no server_time in connection_established');
      const ok = typeof t === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(t) && !Number.isNaN(Date.parse(t));
      return judge(ok, expected, `server_time ${brief(t)}`);
    },
  },
  {
    id: 'connection.rate-limit',
    section: '3',
    title: 'payload.rate_limit advertises {max, window_ms}',
    run: async (ctx) => {
      const e = await established(ctx);
      if (isVerdict(e)) return e;
      const expected = 'rate_limit {max: integer > 0, window_ms: integer > 0}';
      const rl = e.payload.rate_limit;
      if (rl === undefined) return unsupported(expected, 'no rate_limit in connection_established');
      return judge(positiveInt(rl.max) && positiveInt(rl.window_ms), expected, `rate_limit ${brief(rl)}`);
    },
  },
  {
    id: 'connection.cursor',
    section: '3',
    title: 'payload.cursor is a string (the newest seq)',
    run: async (ctx) => {
      const e = await established(ctx);
      if (isVerdict(e)) return e;
      const expected = 'cursor: a string';
      const c = e.payload.cursor;
      if (c === undefined) return unsupported(expected, 'no cursor in connection_established');
      return judge(typeof c === 'string' && c.length > 0, expected, `cursor ${brief(c)}`);
    },
  },
  {
    id: 'connection.limits',
    section: '3',
    title: 'payload advertises max_message_bytes and history_size',
    run: async (ctx) => {
      const e = await established(ctx);
      if (isVerdict(e)) return e;
      const expected = 'max_message_bytes and history_size: integers > 0';
      const { max_message_bytes: m, history_size: h } = e.payload;
      if (m === undefined && h === undefined) return unsupported(expected, 'neither advertised');
      return judge(positiveInt(m) && positiveInt(h), expected, `max_message_bytes ${brief(m)}, history_size ${brief(h)}`);
    },
  },
  {
    id: 'connection.heartbeat',
    section: '3',
    title: 'payload.heartbeat_ms advertises a positive heartbeat interval',
    run: async (ctx) => {
      const e = await established(ctx);
      if (isVerdict(e)) return e;
      const expected = 'heartbeat_ms: an integer > 0';
      const hb = e.payload.heartbeat_ms;
      if (hb === undefined) return unsupported(expected, 'not advertised (a client assumes 30000 ms)');
      return judge(positiveInt(hb), expected, `heartbeat_ms ${brief(hb)}`);
    },
  },
];
