// Graceful shutdown and the /metrics names.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import pino from 'pino';
import type { BugReportCreate } from '../../src/protocol/index.ts';
import { createServer, MemoryEventEngine, MemoryStore, SlidingWindowRateLimiter } from '../../src/server/index.ts';
import { waitForClose } from '../helpers/ws.ts';
import { connectClient, expectRefusedHandshake, rest, startTestServer, TEST_SECRET, testToken } from '../helpers/server.ts';

describe('close()', () => {
  it('delivers every event answered 201 to every open socket, then closes them with 1001 and stops listening', async () => {
    const server = await startTestServer();
    const a = await connectClient(server, 'a');
    const b = await connectClient(server, 'b');
    const closedA = waitForClose(a.ws);
    const closedB = waitForClose(b.ws);
    expect((await rest(server, 'POST', '/bug-reports/', 'a', { title: 'last words', assignee_id: 'b' })).status).toBe(201);
    await server.close();
    expect((await closedA).code).toBe(1001);
    expect((await closedB).code).toBe(1001);
    expect(a.recorder.ofType('bug_report').map((e) => e.payload.title)).toEqual(['last words']);
    expect(b.recorder.ofType('notification')).toHaveLength(1);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    await server.close(); // idempotent
  });

  it('lets a change request already past its store write publish before the sockets get 1001', async () => {
    // the real in-memory store, held at the write so that close() starts while the request runs
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inWrite = new Promise<void>((resolve) => (entered = resolve));
    class HeldStore extends MemoryStore {
      override async createBugReport(input: BugReportCreate, reporterId: string) {
        const bug = await super.createBugReport(input, reporterId);
        entered();
        await gate;
        return bug;
      }
    }
    const server = await startTestServer({
      backends: { engine: new MemoryEventEngine(), store: new HeldStore(), rateLimiter: new SlidingWindowRateLimiter(10, 1000), kind: 'memory' },
    });
    const watcher = await connectClient(server, 'w');
    const closed = waitForClose(watcher.ws);
    const posted = rest(server, 'POST', '/bug-reports/', 'u', { title: 'in flight' });
    await inWrite;
    const closing = server.close();
    release();
    expect((await posted).status).toBe(201);
    expect((await closed).code).toBe(1001);
    await closing;
    expect(watcher.recorder.ofType('bug_report').map((e) => e.payload.title)).toEqual(['in flight']);
  });

  it('completes the close handshake of a socket closed while its start still waits for the cursor', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    class SlowCursorEngine extends MemoryEventEngine {
      override async cursor() {
        await gate;
        return super.cursor();
      }
    }
    const server = await startTestServer({
      closeGraceMs: 60_000,
      backends: { engine: new SlowCursorEngine(), store: new MemoryStore(), rateLimiter: new SlidingWindowRateLimiter(10, 1000), kind: 'memory' },
    });
    const ws = new WebSocket(`${server.wsUrl}?token=${await testToken('early')}`);
    onTestFinished(() => ws.terminate());
    await once(ws, 'open');
    const gone = once(server.events, 'disconnect', { signal: AbortSignal.timeout(10_000) });
    // the first bytes after the upgrade are the 1001 close frame: connection_established waits for the cursor
    const closeFrame = once((ws as unknown as { _socket: Socket })._socket, 'data', { signal: AbortSignal.timeout(10_000) });
    const closing = server.close();
    await closeFrame;
    release();
    const [info] = (await gone) as [{ code: number }];
    expect(info.code).toBe(1001);
    await closing;
  });

  it('finishes even when a peer never answers the close handshake', async () => {
    const server = await createServer({ port: 0, secret: TEST_SECRET, closeGraceMs: 100 });
    const stalled = await connectClient(server, 's');
    (stalled.ws as unknown as { _socket: Socket })._socket.pause();
    await server.close();
    expect(server.connectionCount()).toBe(0);
  });

  it('finishes even when an HTTP client never completes its request', async () => {
    const server = await createServer({ port: 0, secret: TEST_SECRET, closeGraceMs: 100 });
    const socket = connect(server.port, '127.0.0.1');
    onTestFinished(() => {
      socket.destroy();
    });
    await once(socket, 'connect');
    // headers that never end (a stalled or slowloris client): the request stays active
    socket.write('POST /bug-reports/ HTTP/1.1\r\nHost: x\r\n');
    const seen = once(socket, 'close', { signal: AbortSignal.timeout(10_000) });
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('close() hung')), 10_000);
    });
    try {
      await Promise.race([server.close(), hung]);
    } finally {
      clearTimeout(timer);
    }
    await seen;
  });

  it('refuses new connections once closing: the listener is gone', async () => {
    const server = await createServer({ port: 0, secret: TEST_SECRET, closeGraceMs: 500 });
    // a stalled socket holds close() open for the grace period, while the listener is already gone
    const stalled = await connectClient(server, 's');
    (stalled.ws as unknown as { _socket: Socket })._socket.pause();
    const closing = server.close();
    await expect(expectRefusedHandshake(server.wsUrl)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await closing;
  });

  it('answers 503 to a handshake that arrives on an open connection once closing', async () => {
    const server = await createServer({ port: 0, secret: TEST_SECRET, closeGraceMs: 500 });
    const stalled = await connectClient(server, 's');
    (stalled.ws as unknown as { _socket: Socket })._socket.pause();
    // the request starts before close() (the connection is busy, not idle) and ends after it began
    const url = new URL(server.wsUrl);
    const socket = connect(Number(url.port), url.hostname);
    onTestFinished(() => void socket.destroy());
    await once(socket, 'connect');
    const token = await testToken('late');
    socket.write(`GET ${url.pathname}?token=${token} HTTP/1.1\r\nHost: ${url.host}\r\n`);
    const response = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
      socket.on('close', () => resolve(text));
      socket.on('end', () => resolve(text));
    });
    const closing = server.close();
    socket.write('Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    const text = await response;
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toContain('Server shutting down');
    await closing;
  });
});

describe('logs', () => {
  it('writes one line per connection opened and closed, with user, connection id and close code', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
    const server = await startTestServer({ logger });
    const c = await connectClient(server, 'logged');
    const gone = once(server.events, 'disconnect');
    c.ws.close(1000, 'bye');
    await gone;
    await server.close();
    const opened = lines.filter((l) => l.msg === 'connection opened');
    const closed = lines.filter((l) => l.msg === 'connection closed');
    expect(opened).toHaveLength(1);
    expect(closed).toHaveLength(1);
    expect(opened[0]).toMatchObject({ user: 'logged', conn: expect.stringMatching(/^c-/) });
    expect(closed[0]).toMatchObject({ user: 'logged', conn: opened[0]!.conn, code: 1000, reason: 'bye' });
    // the missing secret was not the case here, so no dev-secret warning
    expect(lines.filter((l) => /development secret/.test(String(l.msg)))).toHaveLength(0);
  });
});

describe('/metrics', () => {
  it('exposes the connection, message, refusal, rate-limit, invalid, slow-consumer and process metrics', async () => {
    const server = await startTestServer();
    const c = await connectClient(server, 'm');
    c.ws.send('junk');
    await c.recorder.waitFor((m) => m.type === 'error');
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    for (const name of [
      'websocket_active_connections 1',
      'websocket_messages_total{type="connection_established"} 1',
      'websocket_messages_total{type="error"} 1',
      'websocket_refused_handshakes_total',
      'websocket_rate_limited_messages_total',
      'websocket_invalid_messages_total{reason="invalid_format"} 1',
      'websocket_slow_consumer_disconnects_total',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text, name).toContain(name);
    }
  });
});
