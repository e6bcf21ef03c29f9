// Section 5: client messages. ping is answered with pong; every bad frame gets the protocol's answer
// and the connection keeps serving (or is closed with the code the protocol names).
import { CloseCode, ErrorCode, ErrorText, type ServerMessage } from '../protocol/index.ts';
import { brief, type CheckContext } from './context.ts';
import type { WireConn } from './wire.ts';
import type { CheckCase, CaseVerdict } from './types.ts';
import { judge, unsupported } from './verdict.ts';

const isError = (m: ServerMessage): boolean => m.type === 'error';
const isPong = (m: ServerMessage): boolean => m.type === 'pong';

/**
 * Sends `frame` and a ping right behind it: answers come in order, so the pong closes the wait, and an
 * error (if any) came before it. Returns that error and whether the ping was still answered.
 */
async function answerTo(ctx: CheckContext, conn: WireConn, frame: string | Buffer, binary = false): Promise<{ error: ServerMessage | undefined; served: boolean }> {
  const before = conn.messages.length;
  conn.ws.send(frame, { binary });
  if (conn.isOpen()) conn.ws.send(JSON.stringify({ type: 'ping' }));
  const fresh = (m: ServerMessage): boolean => conn.messages.indexOf(m) >= before;
  const pong = await conn.waitFor((m) => fresh(m) && isPong(m), ctx.waitMs);
  const error = conn.messages.find((m) => fresh(m) && isError(m));
  return { error, served: pong !== undefined };
}

function badFrameCase(id: string, title: string, frames: (string | Buffer)[], binary = false): CheckCase {
  return {
    id,
    section: '5',
    title,
    run: async (ctx) => {
      const seen: string[] = [];
      let ok = true;
      for (const f of frames) {
        // a user per frame: the frame and the ping after it stay within any rate limit of 2 or more
        const conn = await ctx.connect(ctx.user('frames'));
        const { error, served } = await answerTo(ctx, conn, f, binary);
        const message = error?.type === 'error' ? error.payload.message : undefined;
        ok &&= message === ErrorText.InvalidMessageFormat && served;
        seen.push(`${brief(binary ? `<${f.length} binary bytes>` : f.toString(), 24)} → ${message ? `"${message}"` : 'no error'}${served ? ', still served' : conn.closeInfo ? `, closed ${conn.closeInfo.code}` : ', no pong after'}`);
      }
      return judge(ok, `error "${ErrorText.InvalidMessageFormat}", connection keeps serving`, seen.join('; '));
    },
  };
}

export const messageCases: CheckCase[] = [
  {
    id: 'messages.ping',
    section: '5',
    title: 'ping is answered with pong',
    run: async (ctx) => {
      const conn = await ctx.connect(ctx.user('ping'));
      conn.ws.send(JSON.stringify({ type: 'ping' }));
      const m = await conn.waitFor((x) => x.type === 'pong' || x.type === 'error', ctx.waitMs);
      return judge(m?.type === 'pong', '{"type":"pong"}', m ? brief(m) : `nothing within ${ctx.waitMs} ms`);
    },
  },
  badFrameCase('messages.invalid-json', 'a frame that is not JSON is answered "Invalid message format"', ['{"type": "ping"']),
  badFrameCase('messages.not-object', 'JSON that is not an object is answered "Invalid message format"', ['[1, 2]', '42', 'null']),
  badFrameCase('messages.no-type', 'an object without a string type is answered "Invalid message format"', ['{"payload": {}}', '{"type": 7}']),
  badFrameCase('messages.binary', 'a binary frame is answered "Invalid message format"', [Buffer.from('{"type":"ping"}')], true),
  {
    id: 'messages.unknown-type',
    section: '5',
    title: 'an unknown type is answered with an error naming it',
    run: async (ctx) => {
      const conn = await ctx.connect(ctx.user('frames'));
      const { error, served } = await answerTo(ctx, conn, JSON.stringify({ type: 'frobnicate' }));
      const message = error?.type === 'error' ? error.payload.message : undefined;
      return judge(Boolean(message?.includes('frobnicate')) && served, 'an error whose message names "frobnicate"; connection keeps serving', `${message ? `"${message}"` : 'no error'}${served ? ', still served' : ', not served after'}`);
    },
  },
  {
    id: 'messages.error-code',
    section: '5',
    title: 'every error payload carries a machine-readable code',
    run: async (ctx) => {
      const [c1, c2] = await Promise.all([ctx.connect(ctx.user('codes')), ctx.connect(ctx.user('codes'))]);
      const [invalid, unknown] = await Promise.all([answerTo(ctx, c1, 'nope'), answerTo(ctx, c2, JSON.stringify({ type: 'frobnicate' }))]);
      const code = (m: ServerMessage | undefined): unknown => (m?.type === 'error' ? m.payload.code : undefined);
      const want = { [ErrorCode.InvalidMessage]: code(invalid.error), [ErrorCode.UnknownType]: code(unknown.error) };
      // the rate limit's refusal: a burst well over any sane limit on a user of its own
      const limited = await ctx.connect(ctx.user('codes-limit'));
      const advertised = (await ctx.run.advertised(ctx))?.rate_limit?.max ?? 10;
      const n = Math.min(advertised + 5, 1000);
      for (let i = 0; i < n; i++) limited.ws.send('{"type":"ping"}');
      let pongs = 0;
      const refusal = await limited.waitFor((m) => isError(m) || (isPong(m) && ++pongs >= n), ctx.waitMs);
      const all: Record<string, unknown> = { ...want };
      // a server without a rate limit sends no refusal: that is the ratelimit cases' finding, not this one's
      if (refusal?.type === 'error') all[ErrorCode.RateLimited] = code(refusal);
      const ok = Object.entries(all).every(([k, v]) => k === v);
      const seen = Object.entries(all).map(([k, v]) => `${k}: ${v === undefined ? 'no code' : brief(v)}`);
      if (refusal?.type !== 'error') seen.push('rate_limited: no refusal to look at');
      return judge(ok, 'code invalid_message, unknown_type, rate_limited beside the message', seen.join(', '));
    },
  },
  {
    id: 'messages.too-big',
    section: '5',
    title: 'a frame over max_message_bytes closes the connection with 1009',
    run: async (ctx): Promise<CaseVerdict> => {
      const limit = (await ctx.run.advertised(ctx))?.max_message_bytes;
      const size = typeof limit === 'number' && limit > 0 ? limit + 1 : 1024 * 1024;
      const expected = limit ? `close 1009 for a ${size}-byte frame (limit ${limit} advertised)` : 'close 1009 for a frame over the limit';
      const conn = await ctx.connect(ctx.user('big'));
      const shell = '{"type":"ping","pad":""}';
      const frame = shell.replace('""', `"${'x'.repeat(Math.max(0, size - shell.length))}"`);
      conn.ws.send(frame);
      const closed = await conn.waitClosed(ctx.waitMs);
      if (!limit && !closed) return unsupported(expected, `no max_message_bytes advertised and a ${frame.length}-byte frame was accepted`);
      return judge(closed?.code === CloseCode.MessageTooBig, expected, closed ? `${frame.length} bytes sent: closed ${closed.code}` : `${frame.length} bytes sent: still open`);
    },
  },
  {
    id: 'messages.invalid-utf8',
    section: '5',
    title: 'a text frame that is not UTF-8 closes the connection with 1007',
    run: async (ctx) => {
      const conn = await ctx.connect(ctx.user('utf8'));
      conn.ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
      const closed = await conn.waitClosed(ctx.waitMs);
      return judge(closed?.code === 1007, 'close 1007 (invalid frame payload data)', closed ? `closed ${closed.code}` : 'still open');
    },
  },
];
