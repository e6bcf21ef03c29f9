// The lean WebSocket transport against real servers on port 0: a bare `ws` server, raw TCP servers
// that answer the handshake wrongly or not at all, and our own serve (its 403 refusal).
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { LeanTransport, maskedFrame } from '../../src/client/lean-transport.ts';
import type { Transport, TransportSink } from '../../src/client/transport.ts';
import { until, waitForEvent } from '../helpers/events.ts';
import { startTestServer } from '../helpers/server.ts';

/** What a transport reported, as events on an emitter (texts copied: the views are only valid in the call). */
class Recorder extends EventEmitter {
  texts: string[] = [];
  heard = 0;
  opened = false;
  closed: { code: number; reason: string; error: Error | undefined } | undefined;
  refused: { status: number; body: string } | undefined;
}

const sink: TransportSink<Recorder> = {
  open: (r) => {
    r.opened = true;
    r.emit('open');
  },
  text: (r, _t, data) => {
    r.texts.push(data.toString('utf8'));
    r.emit('text');
  },
  heard: (r) => {
    r.heard++;
    r.emit('heard');
  },
  refused: (r, _t, status, body) => {
    r.refused = { status, body };
    r.emit('refused');
  },
  closed: (r, _t, code, reason, error) => {
    r.closed = { code, reason, error };
    r.emit('closed');
  },
};

function open(url: string, handshakeTimeout = 5000): { t: Transport; r: Recorder } {
  const r = new Recorder();
  const t = new LeanTransport({ url, localAddress: undefined, handshakeTimeout }, sink, r);
  onTestFinished(() => t.terminate());
  return { t, r };
}

async function wsServer(): Promise<{ url: string; next: () => Promise<WebSocket>; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  onTestFinished(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
  const queue: WebSocket[] = [];
  wss.on('connection', (ws) => queue.push(ws));
  return {
    wss,
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws?token=t`,
    next: async () => {
      if (queue.length === 0) await once(wss, 'connection');
      return queue.shift()!;
    },
  };
}

async function tcpServer(onSocket: (s: Socket) => void): Promise<{ url: string; server: Server }> {
  const server = createNetServer(onSocket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws` };
}

describe('lean transport against a bare ws server', () => {
  it('receives text frames of every length encoding, whole and split across reads, in order', async () => {
    const s = await wsServer();
    const { r } = open(s.url);
    const ws = await s.next();
    await until(r, 'open', () => r.opened);
    const sizes = [0, 1, 125, 126, 65_535, 65_536, 700_000, 3];
    const sent = sizes.map((n, i) => `${i}:`.padEnd(Math.max(n, 2), String.fromCharCode(97 + i)));
    for (const m of sent) ws.send(m);
    await until(r, 'text', () => r.texts.length >= sent.length);
    expect(r.texts).toEqual(sent);
  });

  it('joins fragmented messages, with a ping between the fragments answered by a pong', async () => {
    const s = await wsServer();
    const { r } = open(s.url);
    const ws = await s.next();
    await until(r, 'open', () => r.opened);
    const pong = waitForEvent<[Buffer]>(ws, 'pong');
    ws.send('{"type":"bug_', { fin: false });
    ws.ping('are you there');
    ws.send('report","x":', { fin: false });
    ws.send('1}', { fin: true });
    ws.send('after');
    await until(r, 'text', () => r.texts.length >= 2);
    expect(r.texts).toEqual(['{"type":"bug_report","x":1}', 'after']);
    const [payload] = await pong;
    expect(payload.toString()).toBe('are you there');
    expect(r.heard).toBeGreaterThanOrEqual(1);
  });

  it('sends masked text frames the server reads (short, 16-bit and 64-bit lengths)', async () => {
    const s = await wsServer();
    const { t, r } = open(s.url);
    const ws = await s.next();
    await until(r, 'open', () => r.opened);
    const got: string[] = [];
    ws.on('message', (d: Buffer) => got.push(d.toString()));
    const sent = ['{"type":"ping"}', 'x'.repeat(300), 'é'.repeat(40_000)];
    for (const m of sent) t.send(m);
    await until(ws, 'message', () => got.length >= sent.length);
    expect(got).toEqual(sent);
    // a frame from a client must be masked: the server (ws) closes with 1002 on an unmasked one
    expect(maskedFrame(0x1, Buffer.from('ab'))[1]! & 0x80).toBe(0x80);
  });

  it("reports the server's close code and reason, and answers with the same code", async () => {
    const s = await wsServer();
    const { t, r } = open(s.url);
    const ws = await s.next();
    await until(r, 'open', () => r.opened);
    const serverClosed = waitForEvent<[number, Buffer]>(ws, 'close');
    ws.close(4001, 'token expired');
    await until(r, 'closed', () => r.closed !== undefined);
    expect(r.closed).toMatchObject({ code: 4001, reason: 'token expired', error: undefined });
    expect(t.isOpen).toBe(false);
    const [code] = await serverClosed;
    expect(code).toBe(4001);
  });

  it('closes with its own code: the server sees it, and the close is reported when the server answers', async () => {
    const s = await wsServer();
    const { t, r } = open(s.url);
    const ws = await s.next();
    await until(r, 'open', () => r.opened);
    const serverClosed = waitForEvent<[number, Buffer]>(ws, 'close');
    t.close(1000);
    const [code] = await serverClosed;
    expect(code).toBe(1000);
    await until(r, 'closed', () => r.closed !== undefined);
    expect(r.closed!.code).toBe(1000);
  });

  it('pause() stops reading (the server backs up), resume() delivers everything in order', async () => {
    const s = await wsServer();
    const { t, r } = open(s.url);
    const ws = await s.next();
    await until(r, 'open', () => r.opened);
    t.pause();
    const chunk = 'p'.repeat(64 * 1024);
    let sent = 0;
    // one message per turn of the loop (the transport could read between any two): with reading
    // paused the kernel buffers fill and then the server holds bytes of its own; a transport that
    // kept reading would take everything and the server would never back up
    const backedUp = new EventEmitter();
    const pump = (): void => {
      if (ws.bufferedAmount >= 1024 * 1024 || sent >= 1000) {
        backedUp.emit('check');
        return;
      }
      ws.send(`${sent}:${chunk}`);
      sent++;
      setImmediate(pump);
    };
    pump();
    await until(backedUp, 'check', () => ws.bufferedAmount >= 1024 * 1024, 20_000);
    expect(r.texts.length).toBe(0);
    t.resume();
    await until(r, 'text', () => r.texts.length >= sent, 20_000);
    expect(r.texts.map((x) => Number(x.slice(0, x.indexOf(':'))))).toEqual([...Array(sent).keys()]);
  });

  it('terminate() drops the connection without a close frame (the server sees 1006)', async () => {
    const s = await wsServer();
    const { t, r } = open(s.url);
    const ws = await s.next();
    await until(r, 'open', () => r.opened);
    const serverClosed = waitForEvent<[number, Buffer]>(ws, 'close');
    t.terminate();
    expect(r.closed).toMatchObject({ code: 1006 });
    const [code] = await serverClosed;
    expect(code).toBe(1006);
  });
});

describe('lean transport handshake', () => {
  it('a 403 from our serve is refused with its status and JSON body', async () => {
    const server = await startTestServer();
    onTestFinished(() => server.close());
    const { r } = open(`${server.url.replace(/^http/, 'ws')}/ws?token=not-a-token`);
    await until(r, 'refused', () => r.refused !== undefined);
    expect(r.refused!.status).toBe(403);
    expect(JSON.parse(r.refused!.body)).toHaveProperty('detail');
    expect(r.closed).toBeUndefined();
  });

  it('a chunked 503 refusal body is read whole', async () => {
    const http = createHttpServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.write('{"detail":');
      res.end('"backend down"}');
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    onTestFinished(() => {
      http.closeAllConnections();
      http.close();
    });
    const { r } = open(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`);
    await until(r, 'refused', () => r.refused !== undefined);
    expect(r.refused).toEqual({ status: 503, body: '{"detail":"backend down"}' });
  });

  it('a server that never answers the handshake: closed with 1006 and a handshake timeout', async () => {
    const s = await tcpServer(() => undefined);
    const { r } = open(s.url, 200);
    await until(r, 'closed', () => r.closed !== undefined);
    expect(r.closed!.code).toBe(1006);
    expect(r.closed!.error?.message).toMatch(/handshake has timed out/);
    expect(r.opened).toBe(false);
  });

  it('a 101 with a wrong Sec-WebSocket-Accept is not opened', async () => {
    const s = await tcpServer((sock) => {
      sock.once('data', () =>
        sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'),
      );
    });
    const { r } = open(s.url);
    await until(r, 'closed', () => r.closed !== undefined);
    expect(r.opened).toBe(false);
    expect(r.closed!.code).toBe(1006);
    expect(r.closed!.error?.message).toMatch(/Sec-WebSocket-Accept/);
  });

  it('a head split across reads, with frames right behind it in the same read', async () => {
    const s = await tcpServer((sock) => {
      sock.once('data', (req: Buffer) => {
        const key = /Sec-WebSocket-Key: (\S+)/i.exec(req.toString())![1]!;
        const accept = createAccept(key);
        const head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
        sock.write(head.slice(0, 20));
        setImmediate(() => sock.write(Buffer.concat([Buffer.from(head.slice(20)), textFrame('one'), textFrame('two')])));
      });
    });
    const { r } = open(s.url);
    await until(r, 'text', () => r.texts.length >= 2);
    expect(r.texts).toEqual(['one', 'two']);
  });

  it('refuses a wss:// URL (ws:// only)', () => {
    expect(() => new LeanTransport({ url: 'wss://127.0.0.1:1/ws', localAddress: undefined, handshakeTimeout: 100 }, sink, new Recorder())).toThrow(/ws:\/\/ only/);
  });
});

function createAccept(key: string): string {
  // computed independently of the transport's own check
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}
