// The fan-out fast path writes pre-built frames; they must be byte-identical to what ws would send.
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import * as wsModule from 'ws';
import type { BugReport } from '../../src/protocol/index.ts';
import { buildTextFrame, directSocket, supportsDirectWrite } from '../../src/server/wire-frame.ts';
import { connectClient, startTestServer } from '../helpers/server.ts';

// ws's own framing, which @types/ws does not declare
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

describe('buildTextFrame', () => {
  for (const size of [0, 1, 125, 126, 127, 65535, 65536, 70_000]) {
    it(`matches ws's own framing for a ${size}-byte payload`, () => {
      const payload = Buffer.alloc(size, 0x61);
      const theirs = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
      expect(buildTextFrame(payload).equals(theirs)).toBe(true);
    });
  }
});

/** A plain ws server and one client of it: the server side of the pair is what the fast path writes to. */
async function socketPair(): Promise<{ serverSide: WebSocket; client: WebSocket }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
  await once(wss, 'listening');
  const { port } = wss.address() as { port: number };
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  onTestFinished(() => client.terminate());
  const [serverSide] = (await once(wss, 'connection')) as [WebSocket];
  await once(client, 'open');
  return { serverSide, client };
}

describe('direct writes', () => {
  it('are available on server-side sockets of the installed ws (else the server silently falls back)', async () => {
    const { serverSide } = await socketPair();
    expect(supportsDirectWrite(serverSide)).toBe(true);
  });

  it('are not used while a fragmented message is under way (a text frame there would break it)', async () => {
    const { serverSide, client } = await socketPair();
    expect(directSocket(serverSide)).toBeDefined();
    serverSide.send('{"type":', { fin: false });
    expect(directSocket(serverSide)).toBeUndefined();
    serverSide.send('"pong"}', { fin: true });
    expect(directSocket(serverSide)).toBeDefined();
    const [data] = (await once(client, 'message')) as [Buffer];
    expect(data.toString()).toBe('{"type":"pong"}');
  });

  it('deliver small, medium and 64-bit-length events intact and in order, interleaved with pongs', async () => {
    // which path carried the events: ws.send (the fallback) is counted for event frames, so a silent
    // fallback fails this test instead of passing it
    const wsSend = WebSocket.prototype.send;
    let eventsViaSend = 0;
    WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
      if ((Buffer.isBuffer(data) || typeof data === 'string') && data.toString().startsWith('{"type":"bug_report"')) eventsViaSend++;
      return (wsSend as (...a: unknown[]) => void).call(this, data, ...rest);
    } as typeof wsSend;
    onTestFinished(() => void (WebSocket.prototype.send = wsSend));
    const server = await startTestServer();
    const c = await connectClient(server, 'u');
    const sizes = [10, 200, 70_000, 5, 66_000];
    const at = new Date().toISOString();
    for (const [i, size] of sizes.entries()) {
      const payload: BugReport = {
        id: i + 1,
        title: `s${size}`,
        description: 'd'.repeat(size),
        severity: 'low',
        status: 'open',
        assignee_id: null,
        reporter_id: 'x',
        created_at: at,
        updated_at: at,
      };
      await server.backends.engine.publish({ type: 'bug_report', action: 'created', payload }, null);
      c.ws.send(JSON.stringify({ type: 'ping' }));
    }
    const events = await c.recorder.waitForCount((m) => m.type === 'bug_report', sizes.length);
    expect(events.map((e) => (e.type === 'bug_report' ? e.payload.description.length : -1))).toEqual(sizes);
    await c.recorder.waitForCount((m) => m.type === 'pong', sizes.length);
    expect(eventsViaSend).toBe(0);
  });
});
