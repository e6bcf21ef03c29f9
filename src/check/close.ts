// Section 5, graceful close (destructive: it stops the server). Every event answered 2xx before the
// shutdown reaches an open connection before its close frame, and the close code is 1001.
import { CloseCode } from '../protocol/index.ts';
import { isBugCreated } from './context.ts';
import type { CheckCase } from './types.ts';
import { fail, judge } from './verdict.ts';


export const closeCases: CheckCase[] = [
  {
    id: 'close.going-away',
    section: '5',
    title: 'a server shutting down delivers what it answered, then closes with 1001',
    destructive: true,
    timeoutMs: 30_000,
    run: async (ctx) => {
      const user = ctx.user('close');
      const conn = await ctx.connect(user);
      const title = ctx.title('before shutdown');
      await ctx.createReport(user, { title });
      const stop = ctx.stop;
      if (!stop) return fail('close 1001', 'no way to stop the server was given');
      const stopping = stop();
      const closed = await conn.waitClosed(25_000);
      await stopping.catch(() => undefined);
      const delivered = conn.messages.some(isBugCreated(title));
      const expected = 'the event answered 201 before the shutdown arrives, then close 1001';
      if (!closed) return fail(expected, 'the connection stayed open');
      return judge(delivered && closed.code === CloseCode.GoingAway, expected, `event ${delivered ? 'delivered' : 'lost'}; closed ${closed.code} "${closed.reason}"`);
    },
  },
];
