// Section 8 (and the health endpoints of section 7): /healthz, /readyz and the Prometheus metrics.
import { brief } from './context.ts';
import type { CheckCase } from './types.ts';
import { fail, judge, unsupported } from './verdict.ts';

function metric(text: string, name: string, type: string): boolean {
  return new RegExp(`^# TYPE ${name} ${type}$`, 'm').test(text);
}

export const healthCases: CheckCase[] = [
  {
    id: 'health.healthz',
    section: '8',
    title: 'GET /healthz answers 200 {"status":"ok"}',
    run: async (ctx) => {
      const r = await ctx.http('GET', '/healthz');
      return judge(r.status === 200 && (r.json as { status?: unknown } | undefined)?.status === 'ok', '200 {"status":"ok"}', `${r.status} ${brief(r.text, 80)}`);
    },
  },
  {
    id: 'health.readyz',
    section: '8',
    title: 'GET /readyz answers 200 while the backing services are reachable',
    run: async (ctx) => {
      const r = await ctx.http('GET', '/readyz');
      if (r.status === 404) return unsupported('200 (or 503 when a backing service is down)', '404: no /readyz');
      return judge(r.status === 200, '200 (the server is serving, so its services are up)', `${r.status} ${brief(r.text, 80)}`);
    },
  },
  {
    id: 'metrics.active-connections',
    section: '8',
    title: '/metrics has the gauge websocket_active_connections',
    run: async (ctx) => {
      const r = await ctx.http('GET', '/metrics');
      const expected = 'Prometheus text with "# TYPE websocket_active_connections gauge"';
      if (r.status === 404) return unsupported(expected, '404: no /metrics');
      if (r.status !== 200) return fail(expected, `${r.status}`);
      return judge(metric(r.text, 'websocket_active_connections', 'gauge'), expected, metric(r.text, 'websocket_active_connections', 'gauge') ? 'present' : 'absent');
    },
  },
  {
    id: 'metrics.messages-total',
    section: '8',
    title: '/metrics counts websocket_messages_total by type',
    run: async (ctx) => {
      // a pong of our own makes sure there is at least one labelled sample
      const conn = await ctx.connect(ctx.user('metrics'));
      conn.ws.send('{"type":"ping"}');
      await conn.waitFor((m) => m.type === 'pong', ctx.waitMs);
      const r = await ctx.http('GET', '/metrics');
      const expected = 'a counter websocket_messages_total with a type label (e.g. type="pong")';
      if (r.status === 404) return unsupported(expected, '404: no /metrics');
      const ok = metric(r.text, 'websocket_messages_total', 'counter') && /^websocket_messages_total\{[^}]*type="[a-z_]+"/m.test(r.text);
      return judge(ok, expected, ok ? 'present with type labels' : `${r.status}, absent`);
    },
  },
];
